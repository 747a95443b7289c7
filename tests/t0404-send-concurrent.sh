#!/bin/sh
# One campaign, one sender (SQLite; on PostgreSQL several share it, t2302):
# a second resume while the first runs is a clear error, not double mail; another send of the same announcement is pointed
# at the open campaign; campaign pause from elsewhere and SIGTERM both stop
# a run cleanly, and the next resume finishes with nobody mailed twice.
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0400/common.sh"
HERALD_TEMPLATES=$TOP/templates; export HERALD_TEMPLATES
plan 14

PORT=$(free_port)
relay_conf "$PORT" "send {" "connections = 2" "rate = 250" "}"
subs_csv "$T/subs.csv" 2000
herald sub import xen-users "$T/subs.csv" >/dev/null
start_sink "$PORT" "$T/sink"
want=$(sql "SELECT count(*) FROM attributes WHERE key = 'role' AND value = 'user'")

"$HERALD" send summit --list xen-users --segment users --yes \
    >"$T/first.out" 2>&1 &
pid=$!
# the first sender runs (it holds the campaign) once it has sent one
wait_for 30 sent_over 0
if [ "$(test_store)" = sqlite ]; then
	t "a second sender of the same campaign is refused" 75 herald campaign resume 1
	like "$err" 'campaign 1 is being sent by another herald \(process [0-9]+\)'
	ok $? "and the error names the running process"
else
	skip "on PostgreSQL a second sender joins the first (chunk claims: t2302)"
	skip "no refusal to name the running process in"
fi
t "a new send of the same announcement points at it" 64 herald send summit \
    --list xen-users --segment users --yes
like "$err" 'herald campaign resume 1'; ok $? "with the command to use"
t "campaign pause from elsewhere" 0 herald campaign pause 1
like "$out" 'running sender stops'; ok $? "says the running sender stops"
wait $pid; rc=$?
[ $rc = 75 ] && grep -q 'paused by "herald campaign pause"' "$T/first.out" &&
    grep -q 'Resume with: herald campaign resume 1' "$T/first.out"
ok $? "the running send stops, paused, and says how to resume"
[ "$(sql "SELECT state FROM campaigns WHERE id = 1")" = paused ]; ok $? "state paused"

s0=$(sql "SELECT count(*) FROM deliveries WHERE state = 'sent'")
"$HERALD" campaign resume 1 >"$T/second.out" 2>&1 &
pid=$!
wait_for 30 sent_over "$s0"
kill -TERM $pid; wait $pid; rc=$?
[ $rc = 75 ] && grep -q 'interrupted by SIGTERM' "$T/second.out"
ok $? "SIGTERM pauses cleanly (exit 75, says why)"
s=$(sql "SELECT count(*) FROM deliveries WHERE state = 'sent'")
[ "$s" -gt 0 ] && [ "$s" -lt "$want" ]; ok $? "part sent ($s of $want)"

t "resume finishes" 0 herald campaign resume 1
[ "$(sql "SELECT count(*) FROM deliveries WHERE state = 'sent'")" = "$want" ]
ok $? "all sent"
wait_for 10 sink_holds "$T/sink" "$want"
got=$(cat "$T/sink"/* | grep -c '^X-Rcpt-Args:')
uniq=$(cat "$T/sink"/* | grep '^X-Rcpt-Args:' | sort -u | wc -l)
[ "$got" = "$want" ] && [ "$uniq" = "$want" ]
ok $? "each recipient mailed exactly once ($got messages)"
t "cancelling a finished campaign is refused" 64 herald campaign cancel 1
finish
