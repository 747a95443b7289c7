#!/bin/sh
# Two herald installations on one PostgreSQL server, each with its own
# database (issue 23; make test-pg runs every test so): a campaign whose
# process died shows as interrupted even while the OTHER database holds
# the advisory lock of its own campaign with the same id. pg_locks lists
# the locks of every database of the server; herald must look at its own
# (it did not: t0403 and t0412 saw "sending" for a dead run on the
# shared server of make test-pg).
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0400/common.sh"
HERALD_TEMPLATES=$TOP/templates; export HERALD_TEMPLATES
[ -x "${PG_BIN:-/nonexistent}/pg_ctl" ] || { echo "1..0 # SKIP no PostgreSQL server here"; exit 0; }
HERALD_TEST_STORE=postgresql; export HERALD_TEST_STORE
plan 3

PORT=$(free_port)
relay_conf "$PORT" "send {" "connections = 2" "rate = 200" "}"
subs_csv "$T/subs.csv" 600
herald sub import xen-users "$T/subs.csv" >/dev/null
start_sink "$PORT" "$T/sink"
"$HERALD" send summit --list xen-users --segment users --yes >/dev/null 2>&1 &
pid=$!
wait_for 20 sent_over 0
kill -9 $pid; wait $pid 2>/dev/null
interrupted() { "$HERALD" campaigns 2>/dev/null | grep -q ' interrupted '; }
wait_for 10 interrupted
ok $? "the dead run's campaign shows as interrupted"

# another database on the same server: its campaign 1 is being sent (its
# process holds the campaign lock, as herald does: key CAMPAIGN_PG_LOCK, 1)
psql -h "$PG_DIR" -U postgres -d postgres -qAtX -c "CREATE DATABASE other_$PG_DB" >/dev/null
at_exit "psql -h '$PG_DIR' -U postgres -d postgres -qAtX -c 'DROP DATABASE IF EXISTS other_$PG_DB WITH (FORCE)' >/dev/null"
mkfifo "$T/hold"
( psql -h "$PG_DIR" -U postgres -d "other_$PG_DB" -qAtX <"$T/hold" >/dev/null ) &
holder=$!
exec 7>"$T/hold"
at_exit "kill $holder 2>/dev/null"
echo "SELECT pg_advisory_lock_shared(7243100, 1);" >&7
wait_for 10 eval '[ "$(psql -h "$PG_DIR" -U postgres -d postgres -qAtX -c "SELECT count(*) FROM pg_locks WHERE locktype = '"'advisory'"' AND objid = 1 AND classid = 7243100")" -ge 1 ]'
ok $? "the other database holds its campaign 1's lock"
interrupted
ok $? "this database's campaign 1 still shows as interrupted"
exec 7>&-
finish
