#!/bin/sh
# t0902-readme-examples.sh - every example of the README and of the manual
# (doc/**/*.md) runs as printed on a fresh checkout. An example is an
# indented line that starts with "./herald " (it must exit 0), or a "$ "
# line (a shown session: the indented lines after it, up to the next "$ "
# or the end of the block, are its output, stderr and stdout together,
# compared exactly; any exit status). Text after two spaces and a "#" is
# a comment. Synopses ("herald sub add LIST EMAIL …") are neither.
# Each file's examples run in order, in a copy of the tracked files of its
# own (README, doc, etc, lists, templates) with the binary as ./herald,
# HOME in that copy's folder (so the data folder, ~/.local/share/herald,
# is a fresh throwaway one per file) and no HERALD_CONFIG, so
# ./etc/herald.conf is read as on a fresh checkout. A failure names the
# file and the line of the example. doc/README.md, the index, must link
# every page of doc/.
. "${TOP:-.}/tests/lib.sh"
mkdir -p "$T/ex"

# the files, README first, then doc/ in path order
( cd "$TOP" && echo README && find doc -name '*.md' | LC_ALL=C sort ) >"$T/files"

$PY - "$TOP" "$T/files" "$T/ex" <<'EOP'
import os, re, sys
top, files, outdir = sys.argv[1:4]
strip = lambda c: re.sub(r"\s{2,}#.*$", "", c).strip()
for f, name in enumerate(open(files).read().split()):
    lines = open(os.path.join(top, name), encoding="utf-8").read().split("\n")
    d = "%s/%03d" % (outdir, f)
    os.makedirs(d)
    open(d + "/name", "w").write(name + "\n")
    n = 0
    def emit(lineno, cmd, output):
        global n
        n += 1
        base = "%s/%03d" % (d, n)
        open(base + ".cmd", "w").write(cmd + "\n")
        open(base + ".line", "w").write(str(lineno) + "\n")
        if output is not None:
            open(base + ".out", "w").write("".join(l + "\n" for l in output))
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
count=$(find "$T/ex" -name '*.cmd' | wc -l)
readme=$(ls "$T/ex/000" | grep -c '\.cmd$')
guide=$(grep -l '^doc/guide/' "$T"/ex/*/name | wc -l)
plan $((count + 3))
[ "$readme" -ge 8 ]; ok $? "the README has examples ($readme found)"
# the index lists every page: doc/README.md links each doc/**/*.md
unlisted=$(cd "$TOP/doc" && find . -name '*.md' ! -path ./README.md | sed 's|^\./||' |
	while read -r f; do grep -qF "]($f)" README.md || echo "$f"; done)
[ -z "$unlisted" ] || echo "# not in doc/README.md: $unlisted"
[ -z "$unlisted" ]; ok $? "doc/README.md links every page of doc/"
[ "$count" -gt "$readme" ] && [ "$guide" -ge 3 ]
ok $? "the manual has examples too ($((count - readme)) in doc/, $guide guide files)"

unset HERALD_CONFIG
for d in "$T"/ex/*/; do
	name=$(cat "$d/name")
	ls "$d" | grep -q '\.cmd$' || continue
	# a fresh checkout for each file
	CO=$d/checkout
	mkdir -p "$CO" "$d/home"
	cp -R "$TOP/README" "$TOP/doc" "$TOP/etc" "$TOP/lists" "$TOP/templates" "$CO/"
	cp "$HERALD" "$CO/herald"
	for c in "$d"/*.cmd; do
		b=${c%.cmd}
		cmd=$(cat "$c")
		line=$(cat "$b.line")
		(cd "$CO" && HOME=$d/home sh -c "$cmd") >"$b.got" 2>"$b.err"
		rc=$?
		if [ -f "$b.out" ]; then
			cat "$b.err" "$b.got" >"$b.both"
			cmp -s "$b.out" "$b.both"
			r=$?
			[ $r -eq 0 ] || diff "$b.out" "$b.both" | sed 's/^/#   /'
			ok $r "$name:$line: $cmd prints what $name shows"
		else
			[ $rc -eq 0 ] || { echo "#   exit $rc"; sed 's/^/#   err: /' "$b.err" | head -5; }
			ok $rc "$name:$line: $cmd"
		fi
	done
done
finish
