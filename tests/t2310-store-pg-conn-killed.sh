#!/bin/sh
# A sending run whose connection the server ends (pg_terminate_backend,
# as a failover or an administrator would) on PostgreSQL (issue 23): the
# run reconnects and carries on, or stops with the connection error as
# its reason; it never says the campaign was cancelled or paused by
# another command (before, the failed look at the campaign's state read
# as "cancelled by herald campaign cancel"). When it carries on, its
# advisory lock is held again on the new connection, so other hosts do
# not take it for dead. A resume finishes; every recipient reached, at
# most one connection's 20 messages in flight twice.
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t2302/hosts.sh"	# and t0400/common.sh; PostgreSQL or SKIP
plan 6

hosts_start 500 "connections = 1" "batch = 20" "rate = 40" \
    "lease = 600"
# runs' locks: "backend-pid number" lines
run_locks() {
	sql "SELECT pid || ' ' || objid FROM pg_locks WHERE locktype = 'advisory'
	    AND classid = 7243102 AND database = (SELECT oid FROM pg_database
	    WHERE datname = current_database())"
}

host_bg a send summit --list xen-users --segment users --segment developers --yes
A=$!
wait_for 60 sink_messages "$T/sink" 40
before=$(run_locks)
[ -n "$before" ]; ok $? "the run holds its lock ($before)"
sql "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'
    AND classid = 7243102 AND pid = ${before%% *}" >/dev/null
# carrying on: the same number held again by a new backend
back() { l=$(run_locks); [ -n "$l" ] && [ "${l#* }" = "${before#* }" ] && [ "${l%% *}" != "${before%% *}" ]; }
if wait_for 20 eval 'back || gone $A'; back; then
	ok 0 "the run carries on, its lock held again on a new connection ($(run_locks))"
else
	wait $A; sa=$?
	like "$(cat "$T/a.err")" "stopped by an error"
	ok $? "the run stopped with the connection error as its reason"
fi
[ -n "${sa:-}" ] || { wait $A; sa=$?; }
unlike "$(cat "$T/a.err")" "cancelled by|paused by"
ok $? "nothing said another command stopped it ($sa)"
[ "$(sql "SELECT state FROM campaigns WHERE id = 1")" != cancelled ]
ok $? "the campaign is not cancelled"
[ "$(sql "SELECT state FROM campaigns WHERE id = 1")" = done ] || herald campaign resume 1 >/dev/null 2>&1
total=$(sql "SELECT count(*) FROM deliveries WHERE campaign_id = 1")
is "$(sql "SELECT count(*) FROM deliveries WHERE campaign_id = 1 AND state = 'sent'")" "$total" \
    "every delivery sent, after a resume if the run stopped"
wait_for 20 sink_messages "$T/sink" "$total"
sink_got "$T/sink" > "$T/got"
[ "$(sort -u "$T/got" | wc -l)" = "$total" ] && [ "$(( $(wc -l < "$T/got") - total ))" -le 20 ]
ok $? "each recipient reached, at most 20 twice ($(( $(wc -l < "$T/got") - total )))"
finish
