#!/bin/sh
# A host killed -9 while two hosts share a campaign on PostgreSQL (issue
# 23): its connection closes with it, and with it its run's advisory
# lock, so the other host frees and sends the rows it held at its next
# look, long before their lease (send.lease, ten minutes here) would
# have run out; then a run killed -9 alone is resumed, and the resume
# sends its rows at once too. Before the lock, each waited out the lease
# (on make test-pg's default of 60 s, every crash test's resume did).
# Every recipient reached; twice at most the killed run's messages in
# flight (20 per connection: CAMPAIGN_COMMIT_EVERY).
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t2302/hosts.sh"	# and t0400/common.sh; PostgreSQL or SKIP
plan 10

hosts_start 1000 "connections = 2" "batch = 50" "rate = 80" \
    "lease = 600"
host_add b

# held_by PID - ids of queued rows claimed by the run of process PID
held_by() {
	sql "SELECT id FROM deliveries WHERE campaign_id = 1 AND state = 'queued'
	    AND split_part(claim_owner, ':', 2) = '$1' ORDER BY id"
}
# waited PID - PID ended within two minutes (else killed: it waited for
# a lease)
waited() {
	wait_for 120 gone "$1" || { kill -9 "$1"; wait "$1"; return 1; }
	wait "$1"
}

host_bg a send summit --list xen-users --segment users --segment developers --yes
A=$!
wait_for 60 sink_messages "$T/sink" 20
host_bg b campaign resume 1
B=$!
wait_for 60 sink_messages "$T/sink" 200
kill -9 $A; wait $A 2>/dev/null
held_by $A > "$T/held"
held=$(wc -l < "$T/held")
[ "$held" -gt 0 ]; ok $? "host A died holding claimed rows ($held)"
ids=$(paste -sd, "$T/held")
until=$(sql "SELECT min(claim_until) FROM deliveries WHERE id IN ($ids)")
# B goes on to the end of the queue and then frees A's rows
waited $B; is "$?" 0 "host B ends well, without waiting for A's lease"
is "$(sql "SELECT count(*) FROM deliveries WHERE id IN ($ids) AND state = 'sent'
    AND split_part(claim_owner, ':', 2) = '$B' AND last_attempt < $until")" "$held" \
    "host B sent every row host A held, before A's lease would have run out"
is "$(sql "SELECT state FROM campaigns WHERE id = 1")" "done" "the campaign is done"

# the same on one host: a run killed -9, then "campaign resume"
host_bg a send summit --list xen-users --segment users --segment developers --yes --again
A2=$!
wait_for 60 sink_messages "$T/sink" 1200
kill -9 $A2; wait $A2 2>/dev/null
id=$(sql "SELECT max(id) FROM campaigns")
sql "SELECT id FROM deliveries WHERE campaign_id = $id AND state = 'queued'
    AND split_part(claim_owner, ':', 2) = '$A2'" > "$T/held2"
held=$(wc -l < "$T/held2")
[ "$held" -gt 0 ]; ok $? "the second run died holding claimed rows ($held)"
host_bg a campaign resume "$id"
R=$!
waited $R; is "$?" 0 "its resume ends well, without waiting for the lease"
is "$(sql "SELECT count(*) FROM deliveries WHERE id IN ($(paste -sd, "$T/held2"))
    AND state = 'sent' AND split_part(claim_owner, ':', 2) = '$R'")" "$held" \
    "the resume sent every row the dead run held"
total=$(sql "SELECT count(*) FROM deliveries")
is "$(sql "SELECT count(*) FROM deliveries WHERE state = 'sent'")" "$total" \
    "every delivery of both campaigns sent"
sink_reached "$((total / 2))" "$total" 80 \
    "the killed runs' messages in flight, 20 per connection"
finish
