#!/bin/sh
# t0902-readme-examples.sh - every example in the README runs as printed
# on a fresh checkout. An example is an indented line that starts with
# "./herald " (it must exit 0), or a "$ " line (a shown session: the
# indented lines after it, up to the next "$ " or the end of the block,
# are its output, stderr and stdout together, compared exactly; any exit
# status). Text after two spaces and a "#" is a comment. Synopses
# ("herald sub add LIST EMAIL …") are neither. They run in order, in one
# copy of the tracked files (README, etc, lists, templates) with the
# binary as ./herald, HOME in the test's folder (so the data folder,
# ~/.local/share/herald, is a throwaway one) and no HERALD_CONFIG, so
# ./etc/herald.conf is read as on a fresh checkout.
. "${TOP:-.}/tests/lib.sh"
CO=$T/checkout
mkdir -p "$CO" "$T/home" "$T/ex"
cp -R "$TOP/README" "$TOP/etc" "$TOP/lists" "$TOP/templates" "$CO/"
cp "$HERALD" "$CO/herald"

$PY - "$TOP/README" "$T/ex" <<'EOP'
import re, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
n = 0
def emit(lineno, cmd, output):
    global n
    n += 1
    base = "%s/%03d" % (sys.argv[2], n)
    open(base + ".cmd", "w").write(cmd + "\n")
    open(base + ".line", "w").write(str(lineno) + "\n")
    if output is not None:
        open(base + ".out", "w").write("".join(l + "\n" for l in output))
strip = lambda c: re.sub(r"\s{2,}#.*$", "", c).strip()
i = 0
while i < len(lines):
    l = lines[i]
    if l.startswith("    ./herald "):
        emit(i + 1, strip(l), None)
    elif l.startswith("    $ "):
        start, cmd, out = i + 1, strip(l[6:]), []
        while i + 1 < len(lines) and lines[i + 1].startswith("    ") and \
                not lines[i + 1].startswith("    $ "):
            i += 1
            out.append(lines[i][4:])
        emit(start, cmd, out)
    i += 1
EOP
count=$(ls "$T/ex" | grep -c '\.cmd$')
plan $((count + 1))
[ "$count" -ge 8 ]; ok $? "the README has examples ($count found)"

unset HERALD_CONFIG
for c in "$T"/ex/*.cmd; do
	b=${c%.cmd}
	cmd=$(cat "$c")
	line=$(cat "$b.line")
	(cd "$CO" && HOME=$T/home sh -c "$cmd") >"$b.got" 2>"$b.err"
	rc=$?
	if [ -f "$b.out" ]; then
		cat "$b.err" "$b.got" >"$b.both"
		cmp -s "$b.out" "$b.both"
		r=$?
		[ $r -eq 0 ] || diff "$b.out" "$b.both" | sed 's/^/#   /'
		ok $r "README:$line: $cmd prints what the README shows"
	else
		[ $rc -eq 0 ] || { echo "#   exit $rc"; sed 's/^/#   err: /' "$b.err" | head -5; }
		ok $rc "README:$line: $cmd"
	fi
done
finish
