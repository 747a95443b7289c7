#!/bin/sh
# Quotas per relay (relay NAME { quota { per_hour, per_day } }), counted
# in the store with the clock of $HERALD_NOW: a quota of 5 an hour stops
# at 5 and goes on in the next window, across runs; per_day holds across
# hours; with on_quota = wait the run waits and says until when; with
# two relays, one at its quota leaves the rest to the other. Nothing
# fails because of a quota.
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0400/common.sh"
HERALD_TEMPLATES=$TOP/templates; export HERALD_TEMPLATES
plan 22

PA=$(free_port); PB=$(free_port)
start_sink "$PA" "$T/sink-a"
# conf ON_QUOTA PER_HOUR PER_DAY [EXTRA…]
conf() {
	_q=$1; _h=$2; _d=$3; shift 3
	write_conf "send {" "on_quota = \"$_q\"" "}" \
	    "relay a {" "host = \"127.0.0.1\"" "port = $PA" \
	    "starttls = \"off\"" "timeout = 3" \
	    "quota {" "per_hour = $_h" "per_day = $_d" "}" "}" "$@"
}
conf pause 5 12
herald init >/dev/null
subs_csv "$T/subs.csv" 16
herald sub import xen-users "$T/subs.csv" >/dev/null
sent() { sql "SELECT count(*) FROM deliveries WHERE campaign_id = ${1:-1} AND state = 'sent'"; }

HERALD_NOW="2026-01-01 10:00:00"; export HERALD_NOW
t "a quota of 5 an hour: the run pauses (75)" 75 herald send summit \
    --list xen-users --segment us-east --yes
[ "$(sent)" = 5 ] && [ "$(ls "$T/sink-a" | wc -l)" = 5 ]; ok $? "5 sent, no more"
like "$err" 'every relay is at its quota .*opens at 2026-01-01 11:00:00'
ok $? "and says when the window opens"
[ "$(sql "SELECT count(*) FROM deliveries WHERE state = 'failed'")" = 0 ] &&
    [ "$(sql "SELECT sum(attempts) FROM deliveries WHERE state = 'queued'")" = 0 ]
ok $? "nothing failed, no attempt counted against the rest"
HERALD_NOW="2026-01-01 10:59:00"
t "later in the same hour: still at the quota" 75 herald campaign resume 1
[ "$(sent)" = 5 ]; ok $? "still 5"
HERALD_NOW="2026-01-01 11:00:30"
t "the next window" 75 herald campaign resume 1
[ "$(sent)" = 10 ] && [ "$(ls "$T/sink-a" | wc -l)" = 10 ]; ok $? "5 more"
HERALD_NOW="2026-01-01 12:01:00"
t "the next hour: the day's quota of 12 stops it" 75 herald campaign resume 1
[ "$(sent)" = 12 ]; ok $? "12 sent in the day"
like "$err" 'opens at 2026-01-02 10:00:00'; ok $? "until the day's window opens"
HERALD_NOW="2026-01-02 10:00:30"
t "the next day: the rest" 0 herald campaign resume 1
[ "$(sent)" = 16 ] && [ "$(ls "$T/sink-a" | wc -l)" = 16 ]
ok $? "all 16 sent, each once"

# on_quota = wait: the run waits, saying until when; a stop pauses it
conf wait 5 0
HERALD_NOW="2026-01-03 09:00:00"
"$HERALD" send summit --list xen-users --segment us-east --yes --again \
    >"$T/out" 2>"$T/err" &
send=$!
for i in $(seq 1 100); do
	grep -q 'waiting until' "$T/err" 2>/dev/null && break
	sleep 0.1
done
like "$(cat "$T/err")" 'every relay is at its quota; waiting until 2026-01-03 10:00:00'
ok $? "on_quota = wait: it waits and says until when"
kill -TERM "$send"; wait "$send"; rc=$?
[ "$rc" = 75 ] && [ "$(sent 2)" = 5 ]
ok $? "a stop while waiting pauses it (exit $rc), 5 sent"

# two relays: a at its quota, b carries the rest
start_sink "$PB" "$T/sink-b"
conf pause 5 0 "relay b {" "host = \"127.0.0.1\"" "port = $PB" \
    "starttls = \"off\"" "timeout = 3" "}"
HERALD_NOW="2026-01-03 09:30:00"
t "relay a at its quota, relay b without one: the rest goes through b" 0 \
    herald campaign resume 2
[ "$(sent 2)" = 16 ] && [ "$(sql "SELECT count(*) FROM deliveries WHERE
    campaign_id = 2 AND relay = 'a'")" = 5 ]
ok $? "16 sent, a's 5 from before and the rest through b"
t "campaign show" 0 herald campaign show 2
like "$out" '^a +5 +0 +0  at quota$' && like "$out" '^b +11 +0 +0  up$'
ok $? "lists a at its quota and b up"

# relay settings out of bounds name the file and the relay (78)
conf pause 5 0 "relay b {" "weight = 0" "}"
t "weight = 0: a configuration error" 78 herald campaigns
like "$err" 'herald.conf: relay "b": weight must be between 1 and 1000'
ok $? "naming the relay"
conf maybe 5 0
t "on_quota must be wait or pause" 78 herald campaigns
finish
