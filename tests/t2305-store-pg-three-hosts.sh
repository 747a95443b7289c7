#!/bin/sh
# Issue 23's test of several hosts: three hosts (three configurations and
# data folders, one PostgreSQL database) send one campaign of 3,000
# while one host is killed -9 and PostgreSQL is restarted once. The
# hosts share the queue by claimed chunks (send.lease 5 s here): A by
# herald send, B by campaign resume, C by herald run --once; a run
# that loses the database pauses the campaign with the reason or carries
# on, and "campaign resume" on the hosts left finishes it. Every
# recipient reached; twice at most 20 messages per connection of each
# host that died or lost the database (3 hosts x 2 connections x 20 =
# 120, the window doc/admin/postgresql.md states); each host sent a
# share (deliveries.claim_owner names the run that sent a row).
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t2302/hosts.sh"	# and t0400/common.sh; PostgreSQL or SKIP
pg_private	# it restarts the server
plan 8

hosts_start 3800 "connections = 2" "batch = 50" "rate = 100" \
    "lease = 5"
host_add b
host_add c
at_sink() { [ "$(ls "$T/sink" | wc -l)" -ge "$1" ]; }

host_bg a send summit --list xen-users --segment users --segment developers --yes
A=$!
wait_for 60 at_sink 30
host_bg b campaign resume 1
B=$!
host_bg c run --once	# herald run joins a campaign other hosts send
C=$!
wait_for 60 at_sink 600
kill -9 $C; wait $C 2>/dev/null
echo "# host C killed at $(ls "$T/sink" | wc -l) at the sink"
wait_for 60 at_sink 1200
pg_restart; rs=$?
echo "# PostgreSQL restarted ($rs) at $(ls "$T/sink" | wc -l) at the sink"
wait $A; sa=$?; wait $B; sb=$?
echo "# host A's send ended $sa, host B's resume $sb"
# the runs that lost the database paused the campaign (or carried on):
# resume on the two hosts left, both at once, until nothing is queued
for round in 1 2 3; do
	left=$(sql "SELECT count(*) FROM deliveries WHERE campaign_id = 1 AND state = 'queued'")
	echo "# round $round: $left queued, state $(sql "SELECT state FROM campaigns WHERE id = 1")"
	[ "$left" -gt 0 ] || break
	host_bg a campaign resume 1
	A=$!
	host_bg b campaign resume 1
	wait $A $!
done
total=$(sql "SELECT count(*) FROM deliveries WHERE campaign_id = 1")
[ "$total" -ge 3000 ]; ok $? "a campaign of 3,000 at least ($total)"
is "$(sql "SELECT count(*) FROM deliveries WHERE campaign_id = 1 AND state = 'sent'")" "$total" \
    "every delivery sent"
is "$(sql "SELECT state FROM campaigns WHERE id = 1")" "done" "the campaign is done"
na=$(host_sent a 1); nb=$(host_sent b 1); nc=$(host_sent c 1)
[ "$na" -gt 0 ] && [ "$nb" -gt 0 ] && [ "$nc" -gt 0 ]
ok $? "each host sent a share (A $na, B $nb, C $nc)"
is "$((na + nb + nc))" "$total" "the three shares are every delivery"
sink_reached "$total" "$total" 120 "20 per connection of each host"
is "$(sql "SELECT count(*) FROM deliveries WHERE campaign_id = 1 AND claim_owner IS NULL")" 0 \
    "no row left unclaimed and unsent"
finish
