#!/bin/sh
# herald lmtp with the store's write lock held elsewhere past the busy
# timeout (store { busy_timeout = 2 }): a burst of 20 bounces over 20
# connections, which the server takes in grouped commits. Each message
# is answered 451 (the MTA keeps it), nothing of them is stored, and
# the burst is over well before an MTA gives up waiting: a group waits
# for the lock once, not once a message (on PostgreSQL a lock not granted
# in time leaves the group's transaction open, and each next message used
# to wait for the same lock in turn: 20 messages, 2 s each). Once the
# lock goes, the same messages are delivered, each stored once.
. "${TOP:-.}/tests/lib.sh"
VIA=lmtp
. "$TOP/tests/t0500/pipe-lib.sh"
plan 5
N=20
STORE_BUSY_TIMEOUT=2

hinit
unset STORE_BUSY_TIMEOUT
bounce_burst $N
lmtp_start

# the lock: an sqlite3 connection's write transaction, or a psql session
# holding inbound_bounces (pg_hold_lock); $T/locked once it holds it
if [ "$(test_store)" = sqlite ]; then
$PY - "$T/data/herald.db" "$T/locked" "$T/release" <<'PY' &
import sqlite3, sys, time, os
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
db.execute("UPDATE lists SET id = id")
open(sys.argv[2], "w").close()
while not os.path.exists(sys.argv[3]):
	time.sleep(0.05)
db.execute("ROLLBACK")
PY
	LOCKP=$!
	release() { touch "$T/release"; }
else
	pg_hold_lock inbound_bounces "$T/locked"
	LOCKP=$!
	release() { pg_release_lock; }
fi
wait_file 20 "$T/locked" $LOCKP

: > $T/ok
s0=$(date +%s)
LMTP_BURST_ALL=1 $PY "$TOP/tests/tools/lmtp-burst.py" "$LMTPSOCK" $T/list $N $T/ok > $T/burst.out 2>$T/burst.err
took=$(($(date +%s) - s0))
echo "# $(cat $T/burst.out), $took s"
sed 's/^/# /' $T/burst.err | head -3
like "$(cat $T/burst.out)" "^sent $N ok 0 other $N " &&
[ "$(grep -c "'451 4\.3\.0 " $T/burst.err)" = $N ]; ok $? "each of $N messages answered 451 4.3.0"
# an MTA waits 10 minutes for the reply after the data (Postfix's
# lmtp_data_done_timeout): a group that waited 2 s for each of its
# messages in turn would take 40 s here; the bound leaves room for a
# loaded machine
[ "$took" -lt 25 ]; ok $? "the burst is answered within 25 s (the lock waited for once a group, not once a message: $took s)"
[ "$(sql "SELECT count(*) FROM inbound_bounces")" = 0 ]; ok $? "nothing of them is stored"

release
wait $LOCKP 2>/dev/null
: > $T/ok2
$PY "$TOP/tests/tools/lmtp-burst.py" "$LMTPSOCK" $T/list 4 $T/ok2 > $T/burst2.out 2>&1
[ "$(wc -l < $T/ok2)" = $N ]; ok $? "the lock gone, the same $N again: each 250 ($(cat $T/burst2.out))"
[ "$(sql "SELECT count(*) || ' ' || count(DISTINCT digest) FROM inbound_bounces")" = "$N $N" ]; ok $? "each stored once"
finish
