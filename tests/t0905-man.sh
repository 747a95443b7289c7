#!/bin/sh
# t0905-man.sh - the man pages (doc/*.scd, built into roff by make with
# scdoc): mandoc -T lint finds nothing but scdoc's own harmless habits,
# make install puts them under share/man, and herald(1) cannot drift from
# the program: every command of "herald help" has an entry in its
# COMMANDS section (a line starting "*herald CMD…*"), every entry names a
# real command, and each entry names exactly the long options that
# "herald CMD… --help" lists. The manual's synopses (indented lines
# "    herald CMD …" and their continuation lines, in README and
# doc/**/*.md) must cover every command, and name no option its --help
# lacks. A new command fails here until it is documented: add its entry
# to doc/herald.1.scd (see the others) and its synopsis to the manual
# page under doc/ that describes it.
. "${TOP:-.}/tests/lib.sh"
if ! command -v mandoc >/dev/null 2>&1 || ! command -v scdoc >/dev/null 2>&1; then
	echo "1..0 # SKIP needs scdoc and mandoc"
	exit 0
fi
plan 9
MAN=$BUILD/man
[ -s "$MAN/herald.1" ] && [ -s "$MAN/herald.conf.5" ] && [ -s "$MAN/herald-list.5" ] &&
    [ -s "$MAN/herald-announcement.5" ]
ok $? "make built herald(1), herald.conf(5), herald-list(5), herald-announcement(5)"
mandoc -T lint "$MAN"/* 2>&1 | grep -v -e 'skipping paragraph macro: PP' \
    -e 'lower case character in document title' \
    -e 'input text line longer than 80 bytes' >"$T/lint"
[ ! -s "$T/lint" ]
ok $? "mandoc -T lint: clean (but scdoc's empty paragraphs, lower-case titles, long lines)"
sed 's/^/#   /' "$T/lint" | head -10
for p in herald.1 herald.conf.5 herald-list.5 herald-announcement.5; do
	# dated as make dates it: the source's modification time
	SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(stat -c %Y "$TOP/doc/$p.scd")} \
	    scdoc <"$TOP/doc/$p.scd" >"$T/$p.new" && cmp -s "$MAN/$p" "$T/$p.new" || echo "$p"
done >"$T/stale"
[ ! -s "$T/stale" ]
ok $? "the built pages are those of doc/*.scd (stale: $(cat "$T/stale"))"

make_install "$T/root"
ok $? "make install"
M=$T/root/opt/herald/share/man
[ -f "$M/man1/herald.1" ] && [ -f "$M/man5/herald.conf.5" ] &&
    [ -f "$M/man5/herald-list.5" ] && [ -f "$M/man5/herald-announcement.5" ]
ok $? "installed under share/man/man1 and man5"
if command -v man >/dev/null 2>&1; then
	[ "$(man -M "$M" -w 5 herald-list 2>/dev/null)" = "$M/man5/herald-list.5" ]
	ok $? "man -M share/man finds herald-list(5) there"
else
	skip "no man(1) to look them up"
fi

# the drift check: herald help and each --help against doc/herald.1.scd
$PY - "$HERALD" "$TOP/doc/herald.1.scd" >"$T/drift" 2>&1 <<'EOP'
import re, subprocess, sys
herald, scd = sys.argv[1:3]
def run(*a):
    return subprocess.run([herald] + list(a), capture_output=True, text=True).stdout
cmds, on = [], False
for l in run("help").splitlines():
    if l.startswith("Commands:"): on = True; continue
    if on and not l.strip(): break
    if on: cmds.append(l.split()[0])
cmds = [c for c in cmds if c != "help"]
text = open(scd, encoding="utf-8").read()
sec = text.split("\n# COMMANDS\n", 1)[1].split("\n# ", 1)[0]
entries, cur = {}, None
for l in sec.splitlines():
    m = re.match(r"\*herald ([a-z][a-z0-9 -]*?)\*", l)
    if m:
        cur = m.group(1); entries[cur] = ""
    if cur: entries[cur] += l + "\n"
bad = []
for c in cmds:
    if not any(e.split()[0] == c for e in entries):
        bad.append("'herald %s' (herald help) has no entry in doc/herald.1.scd: add a line "
                   "'*herald %s* ...' under COMMANDS naming its options as *--opt*" % (c, c))
for e, block in entries.items():
    if e.split()[0] not in cmds:
        bad.append("doc/herald.1.scd documents 'herald %s', which herald help does not list" % e)
        continue
    helpopts = set(re.findall(r"^ +(?:-[a-zA-Z], )?(--[a-z][a-z0-9-]*)", run(*(e.split() + ["--help"])), re.M)) - {"--help"}
    manopts = set(re.findall(r"\*(--[a-z][a-z0-9-]*)\*", block))
    if helpopts != manopts:
        bad.append("herald %s: --help has %s, the man page %s" % (e, sorted(helpopts - manopts) or "no more", sorted(manopts - helpopts) or "no more"))
    print("# herald %s: %s" % (e, " ".join(sorted(helpopts)) or "(no options)"))
for b in bad: print("DRIFT " + b)
print("%d commands, %d entries" % (len(cmds), len(entries)))
sys.exit(1 if bad else 0)
EOP
rc=$?
grep -v '^# ' "$T/drift" | sed 's/^/# /'
ok $rc "herald(1) names every command of herald help and exactly the options of each --help"
grep -q '^# herald sub add: --allow-erased --attr --name$' "$T/drift" && grep -q '^# herald mta: .*--postfix-dir' "$T/drift"
ok $? "the check read the options (sub add: --allow-erased --attr --name; mta: … --postfix-dir)"

# the manual's synopses (README and doc/**/*.md) against herald help
( cd "$TOP" && echo README && find doc -name '*.md' | LC_ALL=C sort ) >"$T/manual"
$PY - "$HERALD" "$TOP" "$T/manual" >"$T/readme" 2>&1 <<'EOP'
import os, re, subprocess, sys
herald, top, manual = sys.argv[1:4]
def run(*a):
    return subprocess.run([herald] + list(a), capture_output=True, text=True).stdout
cmds, on = [], False
for l in run("help").splitlines():
    if l.startswith("Commands:"): on = True; continue
    if on and not l.strip(): break
    if on: cmds.append(l.split()[0])
cmds = [c for c in cmds if c != "help"]
verbs = {"sub": {"add", "rm", "show", "import", "export", "erase"}, "reply": {"show"}, "bounce": {"scan"}}
seen, bad, doc = set(), [], []
for name in open(manual).read().split():
    lines = open(os.path.join(top, name), encoding="utf-8").read().split("\n")
    doc += [(name, i, l, lines) for i, l in enumerate(lines)]
for name, i, l, lines in doc:
    m = re.match(r"^    herald ([a-z]+)(?: ([a-z]+))?(?![:a-z])(.*)", l)
    if not m or m.group(1) not in cmds + ["help"]:
        continue
    cmd, verb, rest = m.group(1), m.group(2), m.group(3)
    seen.add(cmd)
    text = rest
    for c in lines[i + 1:]:
        if re.match(r"^ {12,}[\[(-]", c): text += " " + c
        else: break
    entry = [cmd] + ([verb] if verb in verbs.get(cmd, ()) else [])
    helpopts = set(re.findall(r"^ +(?:-[a-zA-Z], )?(--[a-z][a-z0-9-]*)", run(*(entry + ["--help"])), re.M))
    for o in set(re.findall(r"(?<![a-z-])(--[a-z][a-z0-9-]*)", text)) - helpopts - {"--version", "--help", "--config"}:
        bad.append("%s:%d: 'herald %s' names %s, which its --help does not have" % (name, i + 1, " ".join(entry), o))
for c in cmds:
    if c not in seen:
        bad.append("'herald %s' (herald help) has no synopsis line '    herald %s …' in README or doc/**/*.md" % (c, c))
for b in bad: print("DRIFT " + b)
sys.exit(1 if bad else 0)
EOP
rc=$?
sed 's/^/# /' "$T/readme"
ok $rc "the manual (README, doc/**/*.md) has a synopsis for every command, naming only real options"
finish
