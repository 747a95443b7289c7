#!/bin/sh
# While the results of a send cannot be committed (another process holds
# the deliveries locked), each connection stops after at most
# CAMPAIGN_COMMIT_EVERY (20) messages the relay accepted beyond what is
# recorded sent, and waits: that is the duplicate window a kill -9 leaves
# (the manual's send.connections x 20). On PostgreSQL a worker's commits
# run beside its session (a thread of their own, one batch of 10 in
# flight while the next 10 fill), so this holds only because the worker
# waits for the batch in flight before it hands over the next. Once the
# lock goes, the send finishes and every recipient has it once.
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0400/common.sh"
HERALD_TEMPLATES=$TOP/templates; export HERALD_TEMPLATES
plan 5

PORT=$(free_port)
STORE_BUSY_TIMEOUT=60
relay_conf "$PORT" "send {" "connections = 1" "rate = 50" "batch = 200" "}"
unset STORE_BUSY_TIMEOUT
subs_csv "$T/subs.csv" 400
herald sub import xen-users "$T/subs.csv" >/dev/null
start_sink "$PORT" "$T/sink"
got() { ls "$T/sink" | wc -l; }
sent() { sql "SELECT count(*) FROM deliveries WHERE state = 'sent'"; }

"$HERALD" send summit --list xen-users --segment users --segment developers \
    --yes >"$T/out" 2>&1 &
pid=$!
# chunks of 16, 32, 64, 128, 200: the lock comes inside the fourth
# (rows 113 to 240, 2.5 s at 50 a second), not at a chunk's end, where
# everything is committed before the next chunk anyway
wait_for 60 eval '[ "$(sent)" -ge 120 ]'
ok $? "the send is under way ($(sent) recorded sent)"
# the lock: a write transaction on the SQLite file, or the table locked
# against writers on PostgreSQL; held until $T/release appears
if [ "$(test_store)" = sqlite ]; then
	$PY - "$T/data/herald.db" "$T/locked" "$T/release" <<'PYEOF' &
import os, sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=60)
c.execute("BEGIN IMMEDIATE")
open(sys.argv[2], "w").close()
for _ in range(600):
    if os.path.exists(sys.argv[3]):
        break
    time.sleep(0.1)
c.execute("ROLLBACK")
PYEOF
	locker=$!
	at_exit "touch $T/release; kill $locker"
else
	pg_hold_lock deliveries "$T/locked"
	locker=$!
	at_exit "pg_release_lock; kill $locker"
fi
wait_for 30 test -e "$T/locked"
# the connection stops once it is 20 ahead: the sink holds still
steady() {
	_a=$(got); sleep 1.5; [ "$(got)" = "$_a" ]
}
wait_for 30 steady
ok $? "with its commits locked out, the send stops sending ($(got) at the sink)"
n=$(got); s=$(sent)
echo "# locked: $n at the sink, $s recorded sent"
[ $((n - s)) -le 20 ]
ok $? "at most 20 accepted beyond what is recorded ($((n - s)))"
if [ "$(test_store)" = sqlite ]; then touch "$T/release"; else pg_release_lock; fi
wait $locker
wait $pid; rc=$?
[ "$rc" = 0 ]; ok $? "once the lock goes, the send runs to its end (exit $rc)"
total=$(sql "SELECT count(*) FROM deliveries")
wait_for 10 sink_holds "$T/sink" "$total"
cat "$T/sink"/* | sed -n 's/^X-Rcpt-Args: <\(.*\)>.*/\1/p' | sort > "$T/got"
[ "$(sent)" = "$total" ] && [ "$(sort -u "$T/got" | wc -l)" = "$total" ] &&
    [ "$(wc -l < "$T/got")" = "$total" ]
ok $? "every one of the $total recorded sent, each got it once"
finish
