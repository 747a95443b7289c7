#!/bin/sh
# A results commit that fails during a send stops the run after the
# message in flight on each connection, and the campaign pauses. After the
# fault is gone, a resume sends the rest; the duplicates stay within the
# window the manual states (send.connections x 20), counted at Postfix's
# smtp-sink. Two faults: a trigger in the real SQLite file makes every
# commit fail once 700 deliveries are recorded sent, as a full disk would;
# then another process holds a write transaction on the file past the
# busy timeout (store { busy_timeout = 4 } here) and lets go a few
# seconds later: the results whose
# commit failed are committed by the last try, and none is sent twice.
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0400/common.sh"
HERALD_TEMPLATES=$TOP/templates; export HERALD_TEMPLATES
plan 14

CONN=2
WINDOW=$((CONN * 20))
PORT=$(free_port)
relay_conf "$PORT" "send {" "connections = $CONN" "batch = 200" "}"
subs_csv "$T/subs.csv" 2000
herald sub import xen-users "$T/subs.csv" >/dev/null
start_sink "$PORT" "$T/sink"
got() { ls "$T/sink" | wc -l; }

fault_trigger commit_fault "UPDATE OF state" deliveries \
    "SELECT count(*) FROM deliveries WHERE state = 'sent') >= (700" \
    'database or disk is full (test fault)'
expect 70 herald send summit --list xen-users --segment users \
    --segment developers --yes
ok $? "the failed commit ends the send with an error"
like "$err" 'disk is full \(test fault\)'; ok $? "naming the failure"
total=$(sql "SELECT count(*) FROM deliveries")
sent=$(sql "SELECT count(*) FROM deliveries WHERE state = 'sent'")
n1=$(got)
echo "# $total deliveries: $sent recorded sent, $n1 at the sink"
[ "$(sql "SELECT state FROM campaigns WHERE id = 1")" = paused ] &&
    like "$(sql "SELECT reason FROM campaigns WHERE id = 1")" 'stopped by an error: .*test fault'
ok $? "the campaign is paused, with the error as its reason"
[ $((n1 - sent)) -le $WINDOW ]
ok $? "the run stopped at once: $((n1 - sent)) accepted but not recorded (at most $WINDOW)"
[ "$(sql "SELECT count(*) FROM deliveries WHERE state = 'queued'")" = $((total - sent)) ]
ok $? "everything not recorded sent is still queued"

fault_trigger_off commit_fault deliveries
t "after the fault is gone, resume finishes the campaign" 0 herald campaign resume 1
[ "$(sql "SELECT count(*) FROM deliveries WHERE state = 'sent'")" = "$total" ]
ok $? "every delivery is sent"
wait_for 10 sink_holds "$T/sink" "$total"
cat "$T/sink"/* | sed -n 's/^X-Rcpt-Args: <\(.*\)>.*/\1/p' | sort > "$T/got"
dups=$(( $(wc -l < "$T/got") - $(sort -u "$T/got" | wc -l) ))
echo "# duplicates after the failed commit: $dups (window $WINDOW)"
[ "$(sort -u "$T/got" | wc -l)" = "$total" ] && [ "$dups" -le $WINDOW ]
ok $? "every recipient got it, at most $WINDOW twice ($dups)"

# the database locked by another process past the busy timeout (4 s
# here: store { busy_timeout }; the lock is held 6 s, so the last try
# after the failed commit, waiting 4 s more, gets it)
STORE_BUSY_TIMEOUT=4
relay_conf "$PORT" "send {" "connections = 1" "rate = 40" "}"
unset STORE_BUSY_TIMEOUT
rm -f "$T/sink"/*
if [ "$(test_store)" = sqlite ]; then
$PY - "$T/data/herald.db" "$T/locked" <<'PYEOF' &
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=60)
q = "SELECT count(*) FROM deliveries WHERE campaign_id = 2 AND state = 'sent'"
for _ in range(1200):
    if c.execute(q).fetchone()[0] >= 60:
        break
    time.sleep(0.05)
c.execute("BEGIN IMMEDIATE")
open(sys.argv[2], "w").close()
time.sleep(6)  # past the 4 s busy timeout, before the last try ends (8 s)
c.execute("COMMIT")
PYEOF
else
	# PostgreSQL: the table locked past the 4 s lock_timeout
	{
		wait_for 60 eval '[ "$(sql "SELECT count(*) FROM deliveries WHERE campaign_id = 2 AND state = '"'sent'"'")" -ge 60 ]'
		psql -h "$PG_DIR" -U postgres -d "$PG_DB" -qAtX >/dev/null <<PGEOF
BEGIN;
LOCK TABLE deliveries IN EXCLUSIVE MODE;
\\! touch $T/locked
SELECT pg_sleep(6);
COMMIT;
PGEOF
	} &
fi
locker=$!
at_exit "kill $locker"
expect 75 herald send summit --list xen-users --segment integrators --yes --again
ok $? "a commit that waits past the busy timeout ends the send (75)"
wait $locker
like "$err" 'database is locked|lock timeout' && [ -e "$T/locked" ]; ok $? "naming the lock"
total=$(sql "SELECT count(*) FROM deliveries WHERE campaign_id = 2")
sent=$(sql "SELECT count(*) FROM deliveries WHERE campaign_id = 2 AND state = 'sent'")
n1=$(got)
echo "# $total deliveries: $sent recorded sent, $n1 at the sink"
[ "$n1" = "$sent" ] && [ "$sent" -lt "$total" ]
ok $? "it stopped ($sent of $total), and the last try recorded every message it sent"
[ "$(sql "SELECT state FROM campaigns WHERE id = 2")" = paused ]
ok $? "the campaign is paused"
t "resume finishes it" 0 herald campaign resume 2
wait_for 10 sink_holds "$T/sink" "$total"
cat "$T/sink"/* | sed -n 's/^X-Rcpt-Args: <\(.*\)>.*/\1/p' | sort > "$T/got"
[ "$(sort -u "$T/got" | wc -l)" = "$total" ] && [ "$(wc -l < "$T/got")" = "$total" ]
ok $? "every recipient got it once"
finish
