#!/bin/sh
# herald run on two hosts at once, three times, on a scheduled campaign
# with a daily cap of 40 (issue 23): the day's 40 go out, not 40 a host,
# each recipient once (the two runs share the released rows by claims;
# the release itself is decided under the campaign's start lock, though
# this test did not fail with that lock removed: the release reads what
# was released already).
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t2302/hosts.sh"	# and t0400/common.sh; PostgreSQL or SKIP
plan 4

hosts_start 300 "connections = 2" "rate = 100"
host_add b
HERALD_NOW="2014-08-01 06:00:00"; export HERALD_NOW
t "schedule a campaign with a daily cap of 40" 0 herald send summit \
    --list xen-users --segment users --yes --at "2014-08-06 10:00" --daily-cap 40
HERALD_NOW="2014-08-06 12:00:00"
for round in 1 2 3; do
	host_bg a run --once; A=$!
	host_bg b run --once; B=$!
	wait $A $B
done
is "$(sql "SELECT count(*) FROM deliveries WHERE campaign_id = 1 AND state = 'sent'")" 40 \
    "three rounds of two passes at once send the day's 40"
wait_for 20 sink_holds "$T/sink" 40
sink_got "$T/sink" > "$T/got"
is "$(wc -l < "$T/got")" 40 "40 messages at the sink"
is "$(sort -u "$T/got" | wc -l)" 40 "to 40 recipients"
finish
