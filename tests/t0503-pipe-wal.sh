#!/bin/sh
# herald pipe keeps the WAL short: every pipe that is the only process on
# the database rebuilds the WAL index from the whole WAL, and that rebuild
# forgets the checkpoints, so without a trim the WAL grew by every pipe's
# frames forever (and each pipe's start-up with it). 60 VERP bounces one
# after the other (about 7 WAL frames each): every pipe exits 0, the WAL
# never holds more than the trim threshold (64 frames) plus one pipe's
# frames, it is truncated on the way, and every bounce is stored.
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0500/pipe-lib.sh"
sqlite_only "it measures SQLite's WAL file, which PostgreSQL does not have"
F=$TOP/tests/t0500
N=60

plan 4
hinit
FRAME=$(($(sql "PRAGMA page_size") + 24))	# one WAL frame: a 24-byte header and a page
sql "INSERT INTO lists(name) VALUES ('xen-users');
     WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $N)
     INSERT INTO subscribers(id, email, email_key)
     SELECT i, 'user' || i || '@subs.test', 'user' || i || '@subs.test' FROM n;
     INSERT INTO memberships(list_id, subscriber_id, status)
     SELECT 1, id, 'active' FROM subscribers;"
mkdir -p "$T/in"
fails=0 max=0 zero=0 i=1
while [ $i -le $N ]; do
	VT=$(tok b xen-users $i $((1000 + i)))
	fill $F/bounce-dsn.eml "$T/in/b$i" VERP=$VT RCPTADDR=user$i@subs.test
	"$HERALD" pipe -f '' "xen-users-bounces+$VT@$D" < "$T/in/b$i" 2>/dev/null || fails=$((fails + 1))
	size=$(stat -c %s "$T/data/herald.db-wal" 2>/dev/null || echo 0)
	[ "$size" -gt "$max" ] && max=$size
	[ "$size" -eq 0 ] && zero=$((zero + 1))
	i=$((i + 1))
done
[ "$fails" = 0 ]; ok $? "$N bounces piped one by one, every one exits 0"
[ "$max" -le $(((64 + 32) * FRAME + 32)) ]; ok $? "the WAL never grew past the trim threshold and one pipe (largest: $max bytes)"
[ "$zero" -ge 1 ]; ok $? "the WAL was truncated on the way ($zero times)"
[ "$(sql "SELECT count(*) FROM inbound_bounces")" = "$N" ]; ok $? "every bounce is stored"
