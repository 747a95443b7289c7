#!/bin/sh
# The test harness itself: at_exit runs whole command lines, so a server a
# test starts ("kill $pid") is stopped when the test ends (it used to split
# on spaces and run "kill" and the pid as two commands, leaving servers).
. "${TOP:-.}/tests/lib.sh"
plan 2

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
finish
