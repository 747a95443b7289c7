#!/bin/sh
# herald serve: one-click POSTs that arrive together, which the server
# writes in grouped commits. 200 curls at once, each with a different
# subscriber's token: each answers 200, and the SQLite file then holds
# every unsubscribe, exactly one event each, and one goodbye each in the
# outbox, all sent. A database whose write lock is held elsewhere past
# the busy timeout: every request of a burst answers 503 with
# Retry-After, within 30 s (a group waits for the lock once), nothing
# changes, and each retry lands. A 200 means on
# disk: under strace, the WAL is synced after the commit's last write to
# it and before the 200 is sent.
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0700/serve-lib.sh"
plan 11

N=200
sink_start
hinit 'web {' '  base_url = "https://lists.example.org"' \
    '  max_connections = 600' '  per_ip_connections = 600' '}'
sink_conf
# the goodbye after a one-click is off by default (t0706); here it is on
echo 'goodbye_after_one_click = true' >> "$T/lists/xen-devel.conf"
sql "INSERT INTO lists(name) VALUES ('xen-devel');
     WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $((N + 30)))
     INSERT INTO subscribers(id, email, email_key)
     SELECT i, 'user' || i || '@subs.test', 'user' || i || '@subs.test' FROM n;
     INSERT INTO memberships(list_id, subscriber_id, status)
     SELECT 1, id, 'active' FROM subscribers"
tok u xen-devel "1..$((N + 30))" > "$T/tokens"
serve_start

# burst TAG FIRST LAST - a one-click curl per subscriber FIRST..LAST, all
# started before any is waited for; status codes in $T/TAG.codes (000:
# no answer within BURST_WAIT seconds, 120 unless set)
burst() {
	_pids=
	_i=$2
	while [ "$_i" -le "$3" ]; do
		_t=$(sed -n "${_i}p" "$T/tokens")
		curl -s -m "${BURST_WAIT:-120}" -o /dev/null -D "$T/$1.h.$_i" -w '%{http_code}\n' \
		    -d List-Unsubscribe=One-Click "$WEB/unsubscribe/$_t" \
		    > "$T/$1.c.$_i" &
		_pids="$_pids $!"
		_i=$((_i + 1))
	done
	wait $_pids
	cat "$T"/$1.c.* > "$T/$1.codes"
}

# --- 200 at once
burst all 1 $N
[ "$(grep -c '^200$' "$T/all.codes")" = $N ]; ok $? "$N one-click POSTs at once: each answered 200 ($(sort "$T/all.codes" | uniq -c | tr -s ' \n' ' '))"
[ "$(sql "SELECT count(*) FROM memberships WHERE status = 'unsubscribed' AND subscriber_id <= $N")" = $N ]; ok $? "the file has every one of them unsubscribed"
[ "$(sql "SELECT count(*) FROM memberships WHERE status = 'active'")" = 30 ]; ok $? "and nobody else"
[ "$(sql "SELECT count(*) FROM (SELECT subscriber_id FROM events WHERE action = 'unsubscribe' AND channel = 'web' GROUP BY subscriber_id HAVING count(*) = 1) q")" = $N ] &&
[ "$(sql "SELECT count(*) FROM events WHERE action = 'unsubscribe'")" = $N ]; ok $? "exactly one unsubscribe event each, channel web"
_i=0
while [ $_i -lt 100 ] && [ "$(sql "SELECT count(*) FROM outbox WHERE kind = 'goodbye' AND state = 'sent'")" -lt $N ]; do
	sleep 0.1; _i=$((_i + 1))
done
[ "$(sql "SELECT count(*) FROM outbox WHERE kind = 'goodbye'")" = $N ] &&
[ "$(sql "SELECT count(*) FROM outbox WHERE kind = 'goodbye' AND state = 'sent'")" = $N ]; ok $? "one goodbye each in the outbox, each sent after its answer"
G=$(grep -c 'POST /unsubscribe/- 200 .*one commit for' "$T/serve.log" || true)
echo "# $G of the $N were written in a commit shared with others"
burst again 1 20
[ "$(grep -c '^200$' "$T/again.codes")" = 20 ] &&
[ "$(sql "SELECT count(*) FROM events WHERE action = 'unsubscribe'")" = $N ]; ok $? "the same clicks again: 200, idempotent, no second event"

# --- the write lock held elsewhere past the busy timeout: 503, nothing lost
S0=$(state)
if [ "$(test_store)" = sqlite ]; then
$PY - "$T/data/herald.db" "$T/locked" <<'PY' &
import sqlite3, sys, time, os
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
db.execute("UPDATE lists SET id = id")
open(sys.argv[2], "w").close()
while os.path.exists(sys.argv[2]):
	time.sleep(0.05)
db.execute("ROLLBACK")
PY
else
	# PostgreSQL: the memberships locked past serve's lock timeout
	pg_hold_lock memberships "$T/locked"
fi
LOCKER=$!
wait_file 60 "$T/locked" $LOCKER
# each answered within 30 s, as a mail provider's client waits: a group
# waits for the lock once, not once per request (on PostgreSQL, 30
# requests at 3 s each took 90 s)
BURST_WAIT=30 burst busy $((N + 1)) $((N + 30))
rm -f "$T/locked"; [ "$(test_store)" = sqlite ] || pg_release_lock; wait $LOCKER
[ "$(grep -c '^503$' "$T/busy.codes")" = 30 ] &&
[ "$(cat "$T"/busy.h.* | tr -d '\r' | grep -c '^Retry-After: ')" = 30 ]; ok $? "30 at once with the write lock held elsewhere: each 503 with Retry-After ($(sort "$T/busy.codes" | uniq -c | tr -s ' \n' ' '))"
[ "$(state)" = "$S0" ] && [ "$(sql "SELECT count(*) FROM memberships WHERE status = 'active'")" = 30 ]; ok $? "and nothing changed"
burst retry $((N + 1)) $((N + 30))
[ "$(grep -c '^200$' "$T/retry.codes")" = 30 ] &&
[ "$(sql "SELECT count(*) FROM memberships WHERE status = 'active'")" = 0 ] &&
[ "$(sql "SELECT count(*) FROM events WHERE action = 'unsubscribe'")" = $((N + 30)) ]; ok $? "the retries land, one event each"
serve_stop

# --- a 200 means on disk: the WAL synced after the last write, before the 200
# (SQLite's WAL; on PostgreSQL the COMMIT is durable when it returns,
# synchronous_commit on: t2301)
if [ "$(test_store)" != sqlite ]; then
	skip "the SQLite WAL's sync (PostgreSQL: synchronous_commit on)"
	skip "the SQLite WAL's sync (PostgreSQL: synchronous_commit on)"
elif command -v strace >/dev/null; then
	sql "INSERT INTO subscribers(id, email, email_key) VALUES (999, 'zed@subs.test', 'zed@subs.test');
	     INSERT INTO memberships(list_id, subscriber_id, status) VALUES (1, 999, 'active')"
	sql "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null	# no WAL trim (and its syncs) in this run
	WEBPORT=$(free_port)
	WEB=http://127.0.0.1:$WEBPORT
	# (LeakSanitizer cannot run under ptrace: off for this run of an ASan build)
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -f -y -s 24 -o "$T/strace" \
	    -e trace=write,pwrite64,fsync,fdatasync,sendto,sendmsg,writev \
	    sh -c 'echo $$ > "$1"; exec "$2" serve --listen "$3"' sh "$T/serve.pid" "$HERALD" "127.0.0.1:$WEBPORT" 2>>"$T/serve.log" &
	STRACEPID=$!
	_i=0
	while [ $_i -lt 100 ] && ! curl -sf -o /dev/null "$WEB/health"; do
		sleep 0.1; _i=$((_i + 1))
	done
	hc -d List-Unsubscribe=One-Click "$WEB/unsubscribe/$(tok u xen-devel 999)"
	kill -TERM "$(cat "$T/serve.pid")"; wait $STRACEPID
	[ "$code" = 200 ] && [ "$(status zed@subs.test xen-devel)" = unsubscribed ]; ok $? "under strace: one-click 200, committed"
	# each thread's syscall may be split in two lines (unfinished/resumed):
	# a sync counts once it has returned
	awk '/herald\.db-wal>/ && /pwrite64|write\(/ { wrote = 1; synced = 0 }
	     /herald\.db-wal>/ && /(fsync|fdatasync)\(/ {
		if (/unfinished/) pending[$1] = 1; else if (wrote) synced = 1 }
	     /<\.\.\. (fsync|fdatasync) resumed>/ && pending[$1] { delete pending[$1]; if (wrote) synced = 1 }
	     /HTTP\/1\.1 200/ && wrote { ok = synced; answered = 1 }
	     END { exit !(answered && ok) }' "$T/strace"
	ok $? "the WAL is synced after the commit's last write, before the 200 is sent"
else
	skip "no strace"; skip "no strace"
fi
finish
