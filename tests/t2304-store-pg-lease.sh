#!/bin/sh
# A host that hangs while two hosts share a campaign on PostgreSQL (issue
# 23; kill -STOP: the server still sees its connection, so its run's
# advisory lock stays held, as for a host cut off): the rows it had
# claimed stay claimed until its lease (send.lease, 15 s here: host B is done with the rest before it ends) runs out,
# then the other host claims and sends them, and only ends once no live
# claim is left. Every recipient reached; twice at most the hung host's
# messages in flight (it records its results every 20 messages per
# connection: CAMPAIGN_COMMIT_EVERY). A host killed -9: t2309.
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t2302/hosts.sh"	# and t0400/common.sh; PostgreSQL or SKIP
plan 8

hosts_start 1000 "connections = 2" "batch = 50" "rate = 60" \
    "lease = 15"
host_add b

host_bg a send summit --list xen-users --segment users --segment developers --yes
A=$!
wait_for 60 sink_messages "$T/sink" 20
host_bg b campaign resume 1
B=$!
wait_for 60 sink_messages "$T/sink" 250
kill -STOP $A
stopped=$(date +%s)
# what A held when it hung: queued rows claimed in its name
sql "SELECT id FROM deliveries WHERE campaign_id = 1 AND state = 'queued'
    AND split_part(claim_owner, ':', 2) = '$A' ORDER BY id" > "$T/held"
held=$(wc -l < "$T/held")
echo "# host A hung holding $held queued rows, $(ls "$T/sink" | wc -l) at the sink"
[ "$held" -gt 0 ]; ok $? "host A hung holding claimed rows ($held)"
ids=$(paste -sd, "$T/held")
# and when each one's lease ends: (id, claim_until) pairs for VALUES
leases=$(sql "SELECT '(' || id || ',' || claim_until || ')' FROM deliveries
    WHERE id IN ($ids)" | paste -sd,)
wait $B; sb=$?
ended=$(date +%s)
kill -9 $A; kill -CONT $A; wait $A 2>/dev/null
is "$sb" 0 "host B's resume ends well"
[ "$sb" = 0 ] || sed 's/^/#   B: /' "$T/b.err"
total=$(sql "SELECT count(*) FROM deliveries WHERE campaign_id = 1")
is "$(sql "SELECT count(*) FROM deliveries WHERE campaign_id = 1 AND state = 'sent'")" "$total" \
    "every delivery sent"
is "$(sql "SELECT state FROM campaigns WHERE id = 1")" "done" "the campaign is done"
is "$(sql "SELECT count(*) FROM deliveries WHERE id IN ($ids) AND state = 'sent'
    AND split_part(claim_owner, ':', 2) = '$B'")" "$held" \
    "host B sent every row host A held"
echo "# host B ended $((ended - stopped)) s after A hung (lease 15 s)"
is "$(sql "SELECT count(*) FROM deliveries d JOIN (VALUES $leases) AS l(id, until)
    ON d.id = l.id WHERE d.last_attempt <= l.until")" 0 \
    "none of them sent before its lease ran out"
sink_reached "$total" "$total" 40 "A's messages in flight, 20 per connection"
finish
