#!/bin/sh
# A paced send (send.rate = 5, chunks of up to 200) stops after the
# message in flight on each connection when it is paused, cancelled or
# interrupted (SIGINT, SIGTERM), against Postfix's smtp-sink: what the sink
# got is what the store says was sent, and every other delivery is still
# queued. The bound below is a count of messages, not a time: at 5 a
# second, a run that only stopped at its chunk's end would send dozens
# more.
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0400/common.sh"
HERALD_TEMPLATES=$TOP/templates; export HERALD_TEMPLATES
plan 17

CONN=2
SLACK=$((CONN + 3))	# in flight on each connection, and one tick's worth
PORT=$(free_port)
relay_conf "$PORT" "send {" "connections = $CONN" "rate = 5" "batch = 200" "}"
subs_csv "$T/subs.csv" 200
herald sub import xen-users "$T/subs.csv" >/dev/null
start_sink "$PORT" "$T/sink"

got() { ls "$T/sink" | wc -l; }
# wait_got N - until the sink has N messages (30 s at most)
wait_got() {
	_i=0
	while [ "$(got)" -lt "$1" ] && [ $_i -lt 300 ]; do sleep 0.1; _i=$((_i + 1)); done
}
sent() { sql "SELECT count(*) FROM deliveries WHERE campaign_id = $1 AND state = 'sent'"; }
queued() { sql "SELECT count(*) FROM deliveries WHERE campaign_id = $1 AND state = 'queued'"; }
total() { sql "SELECT count(*) FROM deliveries WHERE campaign_id = $1"; }

# stop_check C N0 WHAT - after the stop, at most SLACK more reached the
# sink than the N0 it had when the stop was asked for; the store agrees
# with the sink; nothing failed; the rest is queued
stop_check() {
	_n1=$(got)
	echo "# $3: $2 at the sink when asked, $_n1 after"
	[ "$_n1" -le $(($2 + SLACK)) ]; ok $? "$3: stops after the messages in flight ($2 then $_n1)"
	[ "$(sql "SELECT count(*) FROM deliveries WHERE state = 'sent'")" = "$_n1" ] &&
	    [ "$(sql "SELECT count(*) FROM deliveries WHERE state = 'failed'")" = 0 ]
	ok $? "$3: the store's sent rows are the messages the sink got"
	[ $(( $(sent $1) + $(queued $1) )) = "$(total $1)" ] && [ "$(queued $1)" -gt 100 ]
	ok $? "$3: every delivery not sent is still queued ($(queued $1))"
}

# pause from another command
"$HERALD" send summit --list xen-users --segment users --segment developers \
    --yes >"$T/out1" 2>&1 &
pid=$!
wait_got 4
n0=$(got)
t "campaign pause" 0 herald campaign pause 1
wait $pid; rc=$?
[ "$rc" = 75 ] && grep -q 'paused by "herald campaign pause"' "$T/out1"
ok $? "the sender pauses (75) and says who paused it"
stop_check 1 "$n0" "pause"
[ "$(sql "SELECT state FROM campaigns WHERE id = 1")" = paused ]; ok $? "state paused"

# cancel from another command, during a resume
before=$(got)
"$HERALD" campaign resume 1 >"$T/out2" 2>&1 &
pid=$!
wait_got $((before + 4))
n0=$(got)
t "campaign cancel" 0 herald campaign cancel 1
wait $pid; rc=$?
[ "$rc" = 75 ] && grep -q 'cancelled by "herald campaign cancel"' "$T/out2"
ok $? "the sender stops (75) and says who cancelled it"
stop_check 1 "$n0" "cancel"
[ "$(sql "SELECT state FROM campaigns WHERE id = 1")" = cancelled ]; ok $? "state cancelled"

# SIGINT and SIGTERM, each on a campaign of its own
c=2
for sig in INT TERM; do
	before=$(got)
	"$HERALD" send summit --list xen-users --segment users \
	    --segment developers --yes --again >"$T/out3" 2>&1 &
	pid=$!
	wait_got $((before + 4))
	n0=$(got)
	kill -$sig $pid
	wait $pid; rc=$?
	[ "$rc" = 75 ] && grep -q "interrupted by SIG$sig" "$T/out3"
	ok $? "SIG$sig: the sender pauses (75) and says why"
	n1=$(got)
	[ "$n1" -le $((n0 + SLACK)) ] && [ $(( $(sent $c) + $(queued $c) )) = "$(total $c)" ] &&
	    [ "$(queued $c)" -gt 100 ]
	ok $? "SIG$sig: stops after the messages in flight ($n0 then $n1), the rest queued"
	c=$((c + 1))
done
[ "$(sql "SELECT count(*) FROM deliveries WHERE state = 'sent'")" = "$(got)" ]
ok $? "over all four stops, the store's sent rows are exactly the messages sent"
finish
