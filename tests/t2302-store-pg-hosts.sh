#!/bin/sh
# Two hosts on one PostgreSQL database (issue 23): two configurations and
# data folders, the same token secret. While host A sends a campaign,
# host B's "campaign resume" joins it: each claims chunks of the queue
# (store_claims.c), both send a share, every recipient gets exactly one
# message (nobody was killed: no duplicate is allowed; B's claims outlive
# send.lease only by being renewed), and whichever ends last leaves the
# campaign done. (Before chunk claims B was
# refused, 75 "being sent by another herald".) A run that holds rows
# while its connection lives (a host cut off) keeps them for its lease;
# a run whose advisory lock is gone (its process died) loses them at the
# next look.
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t2302/hosts.sh"	# and t0400/common.sh; PostgreSQL or SKIP
plan 9

hosts_start 1000 "connections = 2" "batch = 20" "rate = 100" \
    "lease = 5"
host_add b
# host B slow: its chunks (up to 200 rows at 20 a second) last longer than
# the lease, so only its renewals keep host A, done with the rest and
# looking again every second, off the rows B is sending
sed -i 's/connections = 2/connections = 1/; s/batch = 20/batch = 200/;
    s/rate = 100/rate = 20/' "$T/b/etc/herald.conf"
grep -q 'rate = 20$' "$T/b/etc/herald.conf" || echo "Bail out! host B's rate not set"

host_bg a send summit --list xen-users --segment users --segment developers --yes
A=$!
wait_for 60 sink_messages "$T/sink" 50
host_bg b campaign resume 1
B=$!
# a third run, a "ghost" that claimed 100 rows near the end of the queue
# and sends nothing (a host cut off, whose connection the server still
# sees: its run's advisory lock, 7243102 and its number, stays held): A
# and B claim the rows around them (chunk ranges that span them) and
# must leave them alone until the ghost's lease is over, then send them
pg_hold "SELECT pg_advisory_lock(7243102, 4242)" "$T/ghost.held"
GHOST=$!
wait_file 20 "$T/ghost.held" $GHOST || echo "Bail out! the ghost's lock was not taken"
ghost_until=$(( $(date +%s) + 20 ))
sql "UPDATE deliveries SET claim_owner = 'ghost:1:4242', claim_until = $ghost_until
    WHERE id IN (SELECT id FROM deliveries WHERE campaign_id = 1
    AND state = 'queued' AND claim_owner IS NULL ORDER BY id DESC
    OFFSET 30 LIMIT 100)" >/dev/null
# and a dead run's 50 rows: its process died (no lock held), its lease
# has ten minutes to go; the first look frees them
sql "UPDATE deliveries SET claim_owner = 'dead:1:4343', claim_until = $(( $(date +%s) + 600 ))
    WHERE id IN (SELECT id FROM deliveries WHERE campaign_id = 1
    AND state = 'queued' AND claim_owner IS NULL ORDER BY id DESC
    OFFSET 200 LIMIT 50)" >/dev/null
sql "SELECT id FROM deliveries WHERE claim_owner = 'dead:1:4343'" > "$T/dead"
total=$(sql "SELECT count(*) FROM deliveries WHERE campaign_id = 1")
wait_for 60 eval '[ "$(sql "SELECT count(*) FROM deliveries WHERE campaign_id = 1
    AND state = '"'sent'"'")" -ge $((total - 100)) ]'
seen=$(date +%s)
left=$(sql "SELECT count(*) FROM deliveries WHERE campaign_id = 1
    AND state = 'queued' AND claim_owner = 'ghost:1:4242'")
if [ "$seen" -lt "$ghost_until" ]; then
	is "$left" 100 "the ghost's rows left alone while its lease runs, the rest sent"
else
	skip "the rest took longer than the ghost's lease ($((seen - ghost_until + 20)) s)"
fi
is "$(sql "SELECT count(*) FROM deliveries WHERE id IN ($(paste -sd, "$T/dead"))
    AND state = 'sent' AND claim_owner <> 'dead:1:4343'")" 50 \
    "the dead run's rows sent by a live host, within its lease"
# (when they were not, free them: the hosts would wait ten minutes)
sql "UPDATE deliveries SET claim_owner = NULL, claim_until = NULL
    WHERE claim_owner = 'dead:1:4343' AND state = 'queued'" >/dev/null
wait $B; sb=$?
wait $A; sa=$?
pg_release_lock; wait $GHOST
[ "$sa" = 0 ] && [ "$sb" = 0 ]
ok $? "host A's send and host B's resume both end well ($sa, $sb)"
[ "$sb" = 0 ] || sed 's/^/#   B: /' "$T/b.err"
is "$(sql "SELECT count(*) FROM deliveries WHERE campaign_id = 1 AND state = 'sent'")" "$total" \
    "every delivery sent"
is "$(sql "SELECT state FROM campaigns WHERE id = 1")" "done" "the campaign is done"
na=$(host_sent a 1); nb=$(host_sent b 1)
[ "$na" -gt 0 ] && [ "$nb" -gt 0 ]
ok $? "each host sent a share (A $na, B $nb)"
is "$((na + nb))" "$total" "the two shares are every delivery"
wait_for 20 sink_holds "$T/sink" "$total"
sink_got "$T/sink" > "$T/got"
is "$(sort -u "$T/got" | wc -l)" "$total" "each recipient reached"
is "$(wc -l < "$T/got")" "$total" "exactly once (nobody got two)"
finish
