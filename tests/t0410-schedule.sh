#!/bin/sh
# Scheduled campaigns under herald maintain --campaigns, with the clock
# moved by HERALD_NOW (the local zone is UTC here, the list's Berlin):
# --at starts at its time and not before, cancel works on a scheduled
# campaign, a sending window is respected (nothing sent outside it, the
# rest goes in the next window), a daily cap stops at N and goes on the
# next day.
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0400/common.sh"
HERALD_TEMPLATES=$TOP/templates; export HERALD_TEMPLATES
TZ=UTC; export TZ
plan 47

PORT=$(free_port)
relay_conf "$PORT" "send {" "connections = 2" "rate = 40" "batch = 10" "}"
printf 'timezone = "Europe/Berlin"\n' >> "$T/lists/xen-users.conf"
subs_csv "$T/subs.csv" 250
herald sub import xen-users "$T/subs.csv" >/dev/null
start_sink "$PORT" "$T/sink"
users=$(sql "SELECT count(*) FROM attributes WHERE key = 'role' AND value = 'user'")
sunk() { ls "$T/sink" | wc -l; }
# now BERLIN-TIME CMD… - run CMD with herald's clock at that Berlin time
# (summer: UTC+2)
now() {
	_utc=$(date -u -d "$1 CEST" '+%Y-%m-%d %H:%M:%S'); shift
	HERALD_NOW=$_utc "$@"
}

# --at: recorded, shown, not started before its time
HERALD_NOW="2014-08-01 06:00:00"; export HERALD_NOW
t "send --at records a scheduled campaign" 0 herald send summit \
    --list xen-users --segment users --yes --at "2014-08-01 09:00"
like "$out" 'campaign 1 scheduled: starts 2014-08-01 09:00 CEST'; ok $? "says when, in the list's zone"
[ "$(sql "SELECT scheduled_at FROM campaigns WHERE id = 1")" = 1406876400 ]
ok $? "09:00 in Berlin is 07:00 UTC"
[ "$(sql "SELECT count(*) FROM deliveries WHERE campaign_id = 1")" = "$users" ]
ok $? "the deliveries are made at once ($users)"
[ "$(sql "SELECT count(*) FROM deliveries WHERE campaign_id = 1 AND state = 'queued' AND next_attempt = 253402300799")" = "$users" ]
ok $? "every one of them held until the start"
# written once: the snapshot inserts them held, scheduling does not
# rewrite them (on PostgreSQL an UPDATE rewrites a row even to the same
# value). The server's counts come when herald's session ends: wait for
# the inserts to show
if [ "$(test_store)" = postgresql ]; then
	i=0
	while [ "$(sql "SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = 'deliveries'")" != "$users" ] && [ $i -lt 50 ]; do
		sleep 0.1; i=$((i + 1))
	done
	upd=$(sql "SELECT n_tup_ins || ' inserted, ' || n_tup_upd || ' updated' FROM pg_stat_user_tables WHERE relname = 'deliveries'")
	[ "$upd" = "$users inserted, 0 updated" ]
	ok $? "each delivery written once (deliveries: $upd)"
else
	skip "SQLite keeps no count of the rows an UPDATE wrote"
fi
t "campaigns lists it" 0 herald campaigns
like "$out" '^ +1 .* scheduled ' && like "$out" 'starts 2014-08-01 09:00 CEST'
ok $? "state scheduled, with its start"
herald campaigns --json | $PY -c 'import json, sys
c = json.load(sys.stdin)[0]
assert c["state"] == "scheduled" and c["scheduled_at"] == "2014-08-01T07:00:00Z", c
assert c["schedule"].startswith("starts 2014-08-01 09:00 CEST"), c'
ok $? "campaigns --json: scheduled_at (UTC) and the schedule line"
t "a pass at 08:59 Berlin" 0 now "2014-08-01 08:59:00" herald maintain --campaigns
like "$out" 'campaigns: 0 run'; ok $? "starts nothing before its time"
[ "$(sunk)" = 0 ] && [ "$(sql "SELECT count(*) FROM deliveries WHERE state <> 'queued'")" = 0 ]
ok $? "nothing sent, nothing attempted"
t "a pass at 09:00:01" 0 now "2014-08-01 09:00:01" herald maintain --campaigns
[ "$(sql "SELECT count(*) FROM deliveries WHERE campaign_id = 1 AND state = 'sent'")" = "$users" ]
ok $? "every delivery sent"
[ "$(sql "SELECT CASE WHEN min(first_attempt) >= min(scheduled_at) THEN 1 ELSE 0 END FROM deliveries d JOIN campaigns c ON c.id = d.campaign_id WHERE c.id = 1")" = 1 ]
ok $? "none attempted before the scheduled time"

# cancel a scheduled campaign: nothing is ever sent for it
HERALD_NOW="2014-08-01 06:00:00"
t "schedule another" 0 herald send talks --list xen-users --segment users \
    --yes --at "2014-08-05 10:00"
t "cancel the scheduled campaign" 0 herald campaign cancel 2
n=$(sunk)
t "a pass after its start time" 0 now "2014-08-05 10:30:00" herald maintain --campaigns
[ "$(sunk)" = "$n" ] && [ "$(sql "SELECT count(*) FROM deliveries WHERE campaign_id = 2 AND state = 'sent'")" = 0 ]
ok $? "a cancelled scheduled campaign sends nothing"

# a window: Friday 16:59:57, 3 s of sending at 40/s before 17:00 (5 s worth)
HERALD_NOW="2014-08-01 06:00:00"
t "send with a window, starting now" 0 now "2014-08-01 16:59:57" herald send \
    sponsorship --list xen-users --segment users --segment developers \
    --yes --window "Mon-Fri 09:00-17:00"
total=$(sql "SELECT count(*) FROM deliveries WHERE campaign_id = 3")
s1=$(sql "SELECT count(*) FROM deliveries WHERE campaign_id = 3 AND state = 'sent'")
[ "$s1" -gt 0 ] && [ "$s1" -lt "$total" ]; ok $? "the run stopped when the window closed ($s1 of $total)"
like "$out" 'window closed' && [ "$(sql "SELECT state FROM campaigns WHERE id = 3")" = waiting ]
ok $? "the campaign waits for the next window (not paused)"
n=$(sunk)
t "a pass on Friday evening" 0 now "2014-08-01 18:00:00" herald maintain --campaigns
t "a pass on Saturday" 0 now "2014-08-02 10:00:00" herald maintain --campaigns
[ "$(sunk)" = "$n" ] && [ "$(sql "SELECT count(*) FROM deliveries WHERE campaign_id = 3 AND state = 'sent'")" = "$s1" ]
ok $? "nothing sent outside the window"
t "a pass on Monday 09:00" 0 now "2014-08-04 09:00:00" herald maintain --campaigns
[ "$(sql "SELECT count(*) FROM deliveries WHERE campaign_id = 3 AND state = 'sent'")" = "$total" ] &&
    [ "$(sql "SELECT state FROM campaigns WHERE id = 3")" = done ]
ok $? "the rest goes in the next window"
# Friday 17:00:10 to Monday 09:00 Berlin, in UTC: no attempt in between
[ "$(sql "SELECT count(*) FROM deliveries WHERE campaign_id = 3 AND last_attempt BETWEEN 1406905210 AND 1407135599")" = 0 ]
ok $? "no attempt recorded between the windows"

# a daily cap of 40: 40 on the first day, 40 more the next, the rest after
HERALD_NOW="2014-08-01 06:00:00"
t "send with a daily cap" 0 herald send summit --list xen-users --again \
    --segment users --yes --at "2014-08-06 10:00" --daily-cap 40
id=4
c() { sql "SELECT count(*) FROM deliveries WHERE campaign_id = $id AND state = 'sent'"; }
now "2014-08-06 10:00:00" herald maintain --campaigns >/dev/null 2>&1
now "2014-08-06 15:00:00" herald maintain --campaigns >/dev/null 2>&1
[ "$(c)" = 40 ]; ok $? "day 1: stops at 40 ($(c))"
now "2014-08-07 00:00:30" herald maintain --campaigns >/dev/null 2>&1
now "2014-08-07 12:00:00" herald maintain --campaigns >/dev/null 2>&1
[ "$(c)" = 80 ]; ok $? "day 2: 40 more ($(c))"
t "campaigns says the cap is reached" 0 now "2014-08-07 13:00:00" herald campaigns
like "$out" 'daily cap of 40 reached .* goes on 2014-08-08 00:00 CEST'; ok $? "and when it goes on"
now "2014-08-08 09:00:00" herald maintain --campaigns >/dev/null 2>&1
[ "$(c)" = "$users" ] && [ "$(sql "SELECT state FROM campaigns WHERE id = $id")" = done ]
ok $? "day 3: the rest ($(c) of $users), done"

# a cap and a window together: the next day's share waits for Monday
HERALD_NOW="2014-08-01 06:00:00"
t "send with a cap and a window" 0 herald send talks --list xen-users --again \
    --segment users --yes --at "2014-08-08 10:00" --daily-cap 10 \
    --window "Mon-Fri 09:00-17:00"
id=5
now "2014-08-08 10:00:00" herald maintain --campaigns >/dev/null 2>&1
now "2014-08-09 10:00:00" herald maintain --campaigns >/dev/null 2>&1
[ "$(c)" = 10 ]; ok $? "10 on Friday, none on Saturday ($(c))"
t "campaigns says when it goes on" 0 now "2014-08-08 11:00:00" herald campaigns
like "$out" 'daily cap of 10 reached .* goes on 2014-08-11 09:00 CEST'; ok $? "Monday 09:00, not Saturday midnight"

# the list's own window and cap apply to a send without --at: outside
# the window it records the campaign and sends nothing
printf 'window = "Sat-Sun 10:00-12:00"\ndaily_cap = 7\n' >> "$T/lists/xen-users.conf"
n=$(sunk)
t "a send outside the list's window" 0 now "2014-08-08 15:00:00" herald send \
    sponsorship --list xen-users --again --segment users --yes
like "$out" 'campaign 6 scheduled: due since 2014-08-08 15:00 CEST, window Sat-Sun 10:00-12:00, at most 7 a day; the window is closed; it opens 2014-08-09 10:00 CEST'
ok $? "says it waits for the list's window"
[ "$(sunk)" = "$n" ]; ok $? "and sends nothing now"
id=6
now "2014-08-09 10:00:00" herald maintain --campaigns >/dev/null 2>&1
[ "$(c)" = 7 ]; ok $? "Saturday 10:00: the list's cap of 7 ($(c))"
sed -i '/^window = /d; /^daily_cap = /d' "$T/lists/xen-users.conf"

# bad schedules: a clear error, nothing recorded
t "--at that is not a time" 64 herald send talks --list xen-users --again \
    --segment users --yes --at "next tuesday"
like "$err" "not a time: YYYY-MM-DD HH:MM.*Europe/Berlin"; ok $? "names the format and the list's zone"
t "--at in the past" 64 herald send talks --list xen-users --again \
    --segment users --yes --at "2014-07-31 10:00"
t "a --window that is not one" 64 herald send talks --list xen-users --again \
    --segment users --yes --window "Mon-Fry 09:00-17:00"
printf 'window = "9 to 5"\n' >> "$T/lists/xen-users.conf"
t "a list window that is not one" 78 herald campaigns
finish
