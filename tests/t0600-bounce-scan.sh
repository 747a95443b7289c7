#!/bin/sh
# t0600-bounce-scan.sh - "herald bounce scan": the shared corpus score,
# focused fixtures (folded DSN, auto-reply, ARF, delay warning, stdin,
# qmail), herald's own samples (tests/t0600/samples, expected.tsv), exit
# statuses, and replay of every fuzz crash input. Needs no configuration
# or database. The corpus is $HERALD_BOUNCE_CORPUS, else
# ../shared/corpus/bounces; without it (a bare clone) its two points are
# skipped, saying what is missing, and the samples still run.

. "$(dirname "$0")/lib.sh"
SCORER=${SCORER:-$SHARED/tools/score-bounces}
CORPUS=${HERALD_BOUNCE_CORPUS:-${CORPUS:-$SHARED/corpus/bounces}}
F=$TOP/tests/t0600
SAMPLES=$F/samples
tmp=$T
out= err=

# scan ARG…: herald bounce scan ARG…'s lines; a scan that does not exit 0
# (a crash) prints "exit N" instead, so no comparison passes on it
scan() {
	_s=$("$HERALD" bounce scan "$@") || { echo "exit $?"; return 1; }
	printf '%s\n' "$_s"
}
# field FILE N: field N (cut -f) of herald's scan line for FILE
field() {
	scan "$1" | cut -f"$2"
}

plan $((16 + $(($(wc -l <"$TOP/tests/t0600/samples/expected.tsv") - 1))))

# 1-2: the corpus score
if [ -x "$SCORER" ] && [ -d "$CORPUS" ]; then
	"$SCORER" --herald "$HERALD" "$CORPUS" >"$tmp/score" 2>&1
	score=$(tail -n 1 "$tmp/score")
	sed 's/^/# /' "$tmp/score"
	awk -v s="$score" 'BEGIN { exit !(s + 0 >= 0.95) }'
	ok $? "corpus lenient score $score >= 0.95"
	kind=$(awk '$1 == "ALL" { for (i = 1; i <= NF; i++)
	    if ($i ~ /^addr\+kind=/) { sub(/.*=/, "", $i); print $i } }' \
	    "$tmp/score")
	awk -v s="$kind" 'BEGIN { exit !(s + 0 >= 0.93) }'
	ok $? "corpus address+kind score $kind >= 0.93"
else
	why=
	[ -d "$CORPUS" ] || why="bounce corpus $CORPUS not found (set HERALD_BOUNCE_CORPUS)"
	[ -x "$SCORER" ] || why="${why:+$why; }scorer $SCORER not found (set SCORER)"
	skip "$why"
	skip "$why"
fi

# 3-5: a DSN whose Diagnostic-Code is folded over three lines
[ "$(field $F/dsn-folded.eml 2)" = "alice.smith@example.com" ]
ok $? "folded DSN: recipient, lowercase"
[ "$(field $F/dsn-folded.eml 3)" = "hard" ] &&
    [ "$(field $F/dsn-folded.eml 4)" = "5.1.1" ] &&
    [ "$(field $F/dsn-folded.eml 5)" = "user_unknown" ]
ok $? "folded DSN: hard 5.1.1 user_unknown"
scan -v $F/dsn-folded.eml | cut -f7 |
    grep -q "does not exist\. please check the address and try again"
ok $? "folded DSN: the unfolded remote reply"

# 6-7: what is no bounce reports nothing
[ -z "$(field $F/autoreply.eml 2)" ]
ok $? "auto-reply reports nothing"
[ -z "$(field $F/arf.eml 2)" ]
ok $? "ARF complaint reports nothing"

# 8: a delay warning is soft
[ "$(field $F/delayed.eml 2)	$(field $F/delayed.eml 3)" = \
    "bob@slow.example.com	soft" ]
ok $? "delayed DSN is soft"

# 9: a qmail notice, no DSN
[ "$(field $F/qmail.eml 2-5)" = \
    "frank@example.org	hard	5.1.1	user_unknown" ]
ok $? "qmail notice: recipient, hard, status from (#5.1.1)"

# 10: stdin
[ "$(scan - <$F/dsn-folded.eml | cut -f1,2)" = \
    "-	alice.smith@example.com" ]
ok $? "'-' reads stdin"

# 11-13: a missing file: named on stderr, the rest still scanned, exit 66
"$HERALD" bounce scan $F/qmail.eml "$tmp/missing.eml" $F/delayed.eml \
    >"$tmp/out" 2>"$tmp/err"
[ $? -eq 66 ]
ok $? "unreadable file: exit 66"
grep -q "missing.eml" "$tmp/err"
ok $? "unreadable file: named on stderr"
[ "$(wc -l <"$tmp/out")" -eq 2 ]
ok $? "unreadable file: the other files are still scanned"

# 14-15: usage errors
"$HERALD" bounce frobnicate >/dev/null 2>"$tmp/err"
[ $? -eq 64 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ]
ok $? "unknown subcommand: exit 64, one-line hint"
"$HERALD" bounce scan --no-such-option $F/qmail.eml >/dev/null 2>&1
[ $? -eq 64 ]
ok $? "bad option: exit 64"

# 16: every kept fuzz crash input is scanned without a crash
"$HERALD" bounce scan $F/crashes/* >/dev/null 2>&1
ok $? "fuzz crash inputs replay cleanly (exit 0)"

# 17-: herald's own samples, each line of expected.tsv (fields 1-5)
tail -n +2 "$SAMPLES/expected.tsv" | while IFS= read -r want; do
	f=${want%%	*}
	got=$(cd "$SAMPLES" && scan "$f" | cut -f1-5)
	[ "$got" = "$want" ] && echo "ok - sample $f" ||
	    echo "not ok - sample $f: got '$got', want '$want'"
done >"$tmp/samples"
while IFS= read -r line; do
	case $line in
	ok*) ok 0 "${line#ok - }" ;;
	*) echo "# ${line#not ok - }"; ok 1 "${line#not ok - }" ;;
	esac
done <"$tmp/samples"

finish
