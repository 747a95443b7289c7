#!/bin/sh
# kill -9 in the middle of a send, twice, then resume: every recipient is
# delivered, and the duplicates stay within the stated bound
# (send.connections x CAMPAIGN_COMMIT_EVERY = 4 x 20 per kill).
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0400/common.sh"
HERALD_TEMPLATES=$TOP/templates; export HERALD_TEMPLATES
plan 9

N=3000
PORT=$(free_port)
relay_conf "$PORT" "send {" "connections = 4" "rate = 2500" "}"
subs_csv "$T/subs.csv" $N
herald sub import xen-users "$T/subs.csv" >/dev/null
start_sink "$PORT" "$T/sink"
want=$(sql "SELECT count(*) FROM memberships m JOIN attributes a ON
    a.subscriber_id = m.subscriber_id AND a.key = 'role'
    WHERE a.value IN ('user', 'developer', 'maintainer')")

"$HERALD" send summit --list xen-users --segment users --segment developers \
    --yes >/dev/null 2>&1 &
pid=$!
# the sending threads are batch work for the scheduler (SCHED_BATCH = 3),
# the main thread is not. Each thread sets its policy when it starts, so
# wait (10 s at most, the process alive) for a first one with every
# herald-send thread at 3: a slow start (ASan) is not a failure.
n=0
while :; do
	pol=
	for task in /proc/$pid/task/*; do
		[ "$(cat "$task/comm" 2>/dev/null)" = herald-send ] &&
		    pol="$pol $(awk '{ print $41 }' "$task/stat" 2>/dev/null)"
	done
	[ -n "$pol" ] && [ -z "$(echo $pol | tr -d ' 3')" ] && break
	kill -0 $pid 2>/dev/null && [ $n -lt 200 ] || break
	sleep 0.05; n=$((n + 1))
done
[ -n "$pol" ] && [ -z "$(echo $pol | tr -d ' 3')" ] &&
    [ "$(awk '{ print $41 }' /proc/$pid/stat)" = 0 ]
ok $? "sending threads run as SCHED_BATCH, the main thread does not (policies:$pol)"
# kill it once some deliveries are recorded sent
wait_for 20 sent_over 0
kill -9 $pid; wait $pid 2>/dev/null
n1=$(sql "SELECT count(*) FROM deliveries WHERE state = 'sent'")
[ "$n1" -gt 0 ] && [ "$n1" -lt "$want" ]; ok $? "killed halfway ($n1 of $want recorded sent)"
# on PostgreSQL the lock goes when the server sees the connection closed,
# a moment after the kill (the killed backend's exit): wait for that
interrupted() { "$HERALD" campaigns 2>/dev/null | grep -q ' interrupted '; }
wait_for 10 interrupted
t "campaigns says the run was interrupted" 0 herald campaigns
like "$out" ' interrupted '; ok $? "state interrupted (the lock died with the process)"

"$HERALD" campaign resume 1 >/dev/null 2>&1 &
pid=$!
# kill it once it has recorded progress (not after a fixed time: a loaded
# machine may take longer than any guess to get going)
_i=0
while [ $_i -lt 400 ] && [ "$(sql "SELECT count(*) FROM deliveries WHERE state = 'sent'")" -le "$n1" ]; do
	sleep 0.05; _i=$((_i + 1))
done
kill -9 $pid; wait $pid 2>/dev/null
n2=$(sql "SELECT count(*) FROM deliveries WHERE state = 'sent'")
[ "$n2" -gt "$n1" ] && [ "$n2" -lt "$want" ]; ok $? "killed again ($n2 sent)"

t "the last resume finishes the job" 0 herald campaign resume 1
[ "$(sql "SELECT count(*) FROM deliveries WHERE state = 'sent'")" = "$want" ]
ok $? "every delivery is sent"
wait_for 10 sink_holds "$T/sink" "$want"
cat "$T/sink"/* | sed -n 's/^X-Rcpt-Args: <\(.*\)>.*/\1/p' | sort > "$T/got"
[ "$(sort -u "$T/got" | wc -l)" = "$want" ]; ok $? "the sink got every recipient"
dups=$(( $(wc -l < "$T/got") - want ))
echo "# duplicates after 2 kills: $dups (bound 2 x 4 x 20 = 160)"
[ "$dups" -le 160 ]; ok $? "duplicates within the bound ($dups)"
finish
