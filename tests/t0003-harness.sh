#!/bin/sh
# The test harness itself: at_exit runs whole command lines, so a server a
# test starts ("kill $pid") is stopped when the test ends (it used to split
# on spaces and run "kill" and the pid as two commands, leaving servers).
# like and unlike fail on a regex grep cannot read, and on one of several
# lines (grep would take each line alone); wait_for and wait_file
# are bounded. And the suite catches a faulty herald: under
# tests/tools/fault-exit0 (a herald that refuses input in words but exits
# 0) t0300 fails point after point, not only where it reads the words.
. "${TOP:-.}/tests/lib.sh"
plan 12

cat > "$T/child.sh" <<'CHILD'
. "$TOP/tests/lib.sh"
sleep 300 &
echo $! > "$1"
at_exit "kill $!"
at_exit "touch '$2'"
CHILD
TOP=$TOP sh "$T/child.sh" "$T/pid" "$T/touched"
wait_for 10 gone "$(cat "$T/pid")"; ok $? "a process registered with at_exit \"kill \$pid\" is gone"
[ -e "$T/touched" ]; ok $? "a quoted command line runs whole"

like abc 'a(' >/dev/null 2>&1; [ $? = 2 ]; ok $? "like: a bad regex is an error (2), not a match or not"
unlike abc 'a(' >/dev/null 2>&1; [ $? = 2 ]; ok $? "unlike: a bad regex is an error (2), not a non-match"
unlike abc 'x' && ! unlike abc 'b'; ok $? "unlike: 0 without a match, 1 with one"
# grep -E takes a pattern of two lines as two patterns: "b" alone matched
like "a
b" '^a
c$' >/dev/null 2>&1; [ $? = 2 ]; ok $? "like: a regex of several lines is an error (2), not any line's match"
unlike "a" 'x
a' >/dev/null 2>&1; [ $? = 2 ]; ok $? "unlike: a regex of several lines is an error (2)"
wait_for 1 false >/dev/null; [ $? = 1 ]; ok $? "wait_for gives up after its bound"
sh -c 'exit 0' &
wait_file 30 "$T/never" $! >/dev/null; r=$?
[ $r = 1 ] && [ ! -e "$T/never" ]; ok $? "wait_file gives up once the helper that should write the file has ended"

# free_port: below the ephemeral range, claimed for this shell, and a
# port claimed by a live test is never handed out again (HERALD_PORT_DIR
# of our own, every port of a small range claimed but one)
low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range)
p1=$(free_port); p2=$(free_port)
[ "$p1" -lt "$low" ] && [ "$p2" -lt "$low" ] && [ "$p1" != "$p2" ] &&
    [ "$(cat "${HERALD_PORT_DIR:-/tmp/herald-test-ports}/$p1")" = $$ ]
ok $? "free_port: two ports below $low, each claimed for this test ($p1, $p2)"
mkdir "$T/ports"
i=$((low - 12000)); [ $i -ge 1024 ] || i=1024
while [ $i -lt $((low - 1)) ]; do echo $$ > "$T/ports/$i"; i=$((i + 1)); done
echo 999999999 > "$T/ports/$((low - 5))"	# a claim whose test is gone
got=$(for k in 1 2 3; do HERALD_PORT_DIR=$T/ports free_port 2>/dev/null; done | sort -n | tr '\n' ' ')
[ "$got" = "$((low - 5)) $((low - 1)) " ]
ok $? "free_port: the unclaimed port and the one whose test is gone, then none ($got)"

# t0300 under a herald that exits 0 where it refuses: each refusal point
# checks the status, so most fail (before issue 28: 4 of 35 failed)
TMPDIR=$T HERALD_REAL=$HERALD HERALD=$TOP/tests/tools/fault-exit0 \
    sh "$TOP/tests/t0300-announce-data.sh" >"$T/fault.tap" 2>&1
rc=$?
nf=$(grep -c '^not ok ' "$T/fault.tap")
[ $rc != 0 ] && [ "$nf" -ge 20 ]
ok $? "t0300 fails under tests/tools/fault-exit0 ($nf points fail)"
finish
