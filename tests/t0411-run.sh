#!/bin/sh
# herald run, the dispatcher: a scheduled campaign starts at its time
# (not before) with the clock moved by HERALD_NOW (it advances from
# there); SIGTERM stops it cleanly after the messages in flight, the
# campaign waits (not paused), and the next herald run finishes it.
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0400/common.sh"
HERALD_TEMPLATES=$TOP/templates; export HERALD_TEMPLATES
TZ=UTC; export TZ
plan 22

PORT=$(free_port)
relay_conf "$PORT" "send {" "connections = 2" "rate = 200" "batch = 20" "}"
subs_csv "$T/subs.csv" 1000
herald sub import xen-users "$T/subs.csv" >/dev/null
start_sink "$PORT" "$T/sink"
users=$(sql "SELECT count(*) FROM attributes WHERE key = 'role' AND value = 'user'")
# until SQL gives VALUE, 60 s at most
wait_sql() {
	_i=0
	while [ "$(sql "$1")" != "$2" ] && [ $_i -lt 600 ]; do
		sleep 0.1; _i=$((_i + 1))
	done
	[ "$(sql "$1")" = "$2" ]
}
sent() { sql "SELECT count(*) FROM deliveries WHERE campaign_id = $1 AND state = 'sent'"; }

HERALD_NOW="2014-08-01 08:59:00"; export HERALD_NOW
t "schedule for 09:00" 0 herald send summit --list xen-users \
    --segment users --yes --at "2014-08-01 09:00"
# the dispatcher starts 3 s before; its clock runs on from there
HERALD_NOW="2014-08-01 08:59:57" "$HERALD" run --interval 1 2>"$T/run1.err" &
run=$!
at_exit "kill $run"
wait_sql "SELECT state FROM campaigns WHERE id = 1" done
ok $? "herald run sends it"
[ "$(sent 1)" = "$users" ]; ok $? "to every recipient ($users)"
[ "$(sql "SELECT min(first_attempt) >= 1406883600 FROM deliveries WHERE campaign_id = 1")" = 1 ]
ok $? "nothing attempted before 09:00 by herald's clock"
like "$(cat "$T/run1.err")" 'campaign 1: starting'; ok $? "it says it starts the campaign"

# a second campaign, sent by the running dispatcher: SIGTERM mid-send
t "schedule a second, due at once" 0 herald send talks --list xen-users \
    --segment users --segment developers --yes --at "2014-08-01 08:59"
total=$(sql "SELECT count(*) FROM deliveries WHERE campaign_id = 2")
i=0
while [ "$(sent 2)" -lt 60 ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
kill -TERM $run
wait $run; rc=$?
[ $rc = 0 ]; ok $? "herald run exits 0 on SIGTERM ($rc)"
like "$(cat "$T/run1.err")" 'stopped by SIGTERM'; ok $? "and says so"
s2=$(sent 2)
[ "$s2" -gt 0 ] && [ "$s2" -lt "$total" ]; ok $? "stopped mid-campaign ($s2 of $total)"
[ "$(sql "SELECT state FROM campaigns WHERE id = 2")" = waiting ]
ok $? "the campaign waits for the next pass, not paused"
[ "$(sql "SELECT count(*) FROM deliveries WHERE campaign_id = 2 AND state = 'queued' AND attempts > 0")" = 0 ]
ok $? "nothing was left half-done (no queued delivery attempted)"

"$HERALD" run --interval 1 2>"$T/run2.err" &
run=$!
at_exit "kill $run"
wait_sql "SELECT state FROM campaigns WHERE id = 2" done
ok $? "the next herald run finishes it"
kill -TERM $run; wait $run
# (messages, not recipients: the users got both campaigns; waiting for
# 1,200 distinct recipients of 800 gave up only after 10 s of reading
# every file a hundred times, 60 to 80 s)
wait_for 10 sink_messages "$T/sink" $((users + total))
[ "$(cat "$T/sink"/* | grep -c '^X-Rcpt-Args:')" = $((users + total)) ]
ok $? "the sink got one message per delivery, none twice ($((users + total)))"

# a campaign whose announcement cannot be read pauses alone; the
# dispatcher goes on with the others
cp "$TOP/templates/sponsorship/example.conf" "$T/gone.conf"
t "schedule one from a file" 0 herald send "$T/gone.conf" --list xen-users \
    --segment users --yes --at "2014-08-01 08:59"
rm -f "$T/gone.conf"
"$HERALD" run --once >/dev/null 2>"$T/run3.err"; rc=$?
[ $rc = 0 ] && [ "$(sql "SELECT state FROM campaigns WHERE id = 3")" = paused ]
ok $? "herald run pauses it, says why and exits 0 ($rc)"
like "$(sql "SELECT reason FROM campaigns WHERE id = 3")" 'not sent: '
ok $? "the reason names the failure: $(sql "SELECT reason FROM campaigns WHERE id = 3")"

# herald maintain --campaigns stops the same way on SIGTERM
t "schedule a fourth" 0 herald send sponsorship --list xen-users \
    --segment users --yes --at "2014-08-01 08:59"
"$HERALD" maintain --campaigns >/dev/null 2>&1 &
m=$!
i=0
while [ "$(sent 4)" -lt 30 ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
kill -TERM $m; wait $m; rc=$?
[ $rc = 0 ] && [ "$(sql "SELECT state FROM campaigns WHERE id = 4")" = waiting ] &&
    [ "$(sent 4)" -lt "$users" ]
ok $? "maintain --campaigns on SIGTERM: exit 0, the campaign waits ($rc, $(sent 4) of $users sent)"

t "--interval out of bounds is refused" 64 herald run --interval 0
t "HERALD_NOW that is not a time is refused" 64 env HERALD_NOW=soon "$HERALD" run --once
# the shipped unit
if command -v systemd-analyze >/dev/null 2>&1; then
	mkdir -p "$T/units"
	sed 's|^ExecStart=.*|ExecStart=/bin/true|' "$TOP/etc/systemd/herald-run.service" \
	    > "$T/units/herald-run.service"
	w=$(cd "$T/units" && systemd-analyze verify ./herald-run.service 2>&1)
	[ $? = 0 ] && [ -z "$w" ]; ok $? "systemd-analyze verify finds nothing in herald-run.service"
else
	skip "systemd-analyze is not installed"
fi
grep -q '^\*/5 .*herald maintain --campaigns' "$TOP/etc/cron.d/herald"
ok $? "the cron.d file has the campaign pass every five minutes"
finish
