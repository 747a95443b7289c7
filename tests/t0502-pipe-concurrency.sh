#!/bin/sh
# herald pipe under concurrency: 200 pipes at once (100 VERP bounces, 100
# unsubscribes with goodbye notices) while another process keeps taking
# SQLite write transactions (what herald send does). Every pipe exits 0 or
# 75, every 75 retried succeeds, nothing is lost and nothing is doubled.
# herald send runs a paced campaign to 3000 subscribers at the same time;
# it is paused once the pipes are done (so the overlap does not depend on
# how fast this machine is) and resumed unpaced.
# Then a writer that holds the lock past the busy timeout: exit 75, and the
# retry succeeds.
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0500/pipe-lib.sh"
sqlite_only "its concurrent writer is a second SQLite connection on the file (PostgreSQL: t2300 and the PG pass of t0510)"
. "$TOP/tests/t0400/common.sh"
HERALD_TEMPLATES=$TOP/templates; export HERALD_TEMPLATES
F=$TOP/tests/t0500
N=100

sink_start
hinit
sink_conf
sql "INSERT INTO lists(name) VALUES ('xen-users');
     WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2 * $N)
     INSERT INTO subscribers(id, email, email_key)
     SELECT i, 'user' || i || '@subs.test', 'user' || i || '@subs.test' FROM n;
     INSERT INTO memberships(list_id, subscriber_id, status)
     SELECT 1, id, 'active' FROM subscribers;"
mkdir -p "$T/in"
i=1
while [ $i -le $N ]; do
	fill $F/gmail-unsubscribe.eml "$T/in/u$i" RCPT=x
	sed -i "s/alice@subs.test/user$i@subs.test/; s/-unsub@mail/-$i@mail/" "$T/in/u$i"
	echo "xen-users-unsubscribe+$(tok u xen-users $i)@$D" > "$T/in/u$i.rcpt"
	b=$((N + i))
	VT=$(tok b xen-users $b $((1000 + i)))
	fill $F/bounce-dsn.eml "$T/in/b$i" VERP=$VT RCPTADDR=user$b@subs.test
	echo "xen-users-bounces+$VT@$D" > "$T/in/b$i.rcpt"
	i=$((i + 1))
done

# a writer in the style of herald send: short write transactions in a loop
cat > "$T/writer.py" <<'EOP'
import os, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
end = time.time() + float(sys.argv[2])
hold = float(sys.argv[3])
n = 0
while time.time() < end:
    db.execute("BEGIN IMMEDIATE")
    if len(sys.argv) > 4:
        open(sys.argv[4], "w").close()	# the lock is held
    for k in range(50):
        db.execute("INSERT INTO events(action, channel, detail) VALUES ('writer', 'cli', ?)", (str(n),))
        n += 1
    if len(sys.argv) > 5:	# hold it until told (a minute at most)
        stop = time.time() + 60
        while not os.path.exists(sys.argv[5]) and time.time() < stop:
            time.sleep(0.05)
    else:
        time.sleep(hold)
    db.execute("COMMIT")
    time.sleep(0.002)
print(n)
EOP
subs_csv "$T/subs.csv" 3000 s
"$HERALD" sub import xen-users "$T/subs.csv" >/dev/null
printf 'send {\n  rate = 20\n}\n' >> "$HERALD_CONFIG"
# the send alone waits up to a minute for a lock (the pipes keep the 10 s
# default): on a slow build (make asan) 200 pipes kept it waiting past 10 s
# and it stopped before they were done, failing the first point
cp "$HERALD_CONFIG" "$T/send.conf"
printf 'store {\n  busy_timeout = 60\n}\n' >> "$T/send.conf"
HERALD_CONFIG=$T/send.conf "$HERALD" send summit --list xen-users --segment users --yes > "$T/send.out" 2>&1 &
SPID=$!
# the pipes start once the send has made its campaign (what a fixed sleep
# stood for), not later: a send in mid-run behind 200 pipes may wait past
# its busy timeout and stop. The writer starts with them, so its 4 s
# overlap the pipes however long the send took to start.
started() { [ "$(sql "SELECT count(*) FROM campaigns")" -ge 1 ]; }
wait_for 30 started
$PY "$T/writer.py" "$T/data/herald.db" 4 0.02 > "$T/writer.out" &
WPID=$!

# run NAME - one pipe; its exit status in $T/rc/NAME
mkdir -p "$T/rc"
run() { "$HERALD" pipe -f "$2" "$(cat "$T/in/$1.rcpt")" < "$T/in/$1" 2>>"$T/rc/$1.err"; echo $? > "$T/rc/$1"; }
i=1
PIDS=
while [ $i -le $N ]; do
	run u$i user$i@subs.test &
	PIDS="$PIDS $!"
	run b$i "" &
	PIDS="$PIDS $!"
	i=$((i + 1))
done
wait $PIDS $WPID
RUNNING=no; kill -0 $SPID 2>/dev/null && RUNNING=yes
"$HERALD" campaign pause 1 >/dev/null 2>&1
wait $SPID
sed -i 's/rate = 20$/rate = 0/' "$HERALD_CONFIG" "$T/send.conf"
"$HERALD" campaign resume 1 >> "$T/send.out" 2>&1; SRC=$?
plan 11
[ "$RUNNING" = yes ]; ok $? "herald send was still running when the 200 pipes were done"
[ "$SRC" = 0 ] && grep -Eq '[0-9]+ sent, 0 failed, 0 queued' "$T/send.out"; ok $? "and, paused and resumed, it finished its campaign ($(grep -Eo '[0-9]+ sent, [0-9]+ failed' "$T/send.out" | tr '\n' ' '))"
[ "$(cat "$T/writer.out")" -gt 0 ]; ok $? "the writer kept committing throughout ($(cat "$T/writer.out") rows)"
bad=$(cat "$T"/rc/[ub]*[0-9] | grep -cv '^\(0\|75\)$')
[ "$bad" = 0 ]; ok $? "all 200 pipes exited 0 or 75 ($(grep -l '^75$' "$T"/rc/[ub]*[0-9] | wc -l) deferred)"
# the MTA's retry of every 75
for f in $(grep -l '^75$' "$T"/rc/[ub]*[0-9]); do
	n=$(basename "$f")
	tries=0
	while [ "$(cat "$f")" = 75 ] && [ $tries -lt 5 ]; do
		case $n in u*) run $n "user${n#u}@subs.test" ;; *) run $n "" ;; esac
		tries=$((tries + 1))
	done
done
[ "$(cat "$T"/rc/[ub]*[0-9] | sort -u)" = 0 ]; ok $? "every deferred pipe succeeded when retried"
[ "$(sql "SELECT count(*) FROM memberships WHERE status = 'unsubscribed'")" = $N ]; ok $? "all $N unsubscribes happened"
[ "$(sql "SELECT count(*) FROM (SELECT subscriber_id FROM events WHERE action = 'unsubscribe' GROUP BY subscriber_id HAVING count(*) = 1) q")" = $N ]; ok $? "each exactly once in the event log"
[ "$(sql "SELECT count(DISTINCT delivery_id) || ' ' || count(*) FROM inbound_bounces")" = "$N $N" ]; ok $? "all $N bounces stored, none twice"
[ "$(sink_total)" -ge $N ] && [ "$(sql "SELECT count(*) FROM memberships WHERE status = 'active' AND subscriber_id <= 2 * $N")" = $N ]; ok $? "goodbyes went out, bounced subscribers untouched"

# a writer that holds the lock past the busy timeout (10 s): until the
# pipe has given up, however long it took to start
fill $F/plain.eml $T/late "FROM=user$((2 * N))@subs.test" RCPT=xen-users@$D SUBJECT=hello BODY=question MSGID=late
$PY "$T/writer.py" "$T/data/herald.db" 0.1 0 "$T/locked" "$T/release" > /dev/null &
WPID=$!
wait_file 10 "$T/locked" $WPID
t "a pipe behind a lock held past the busy timeout exits 75" 75 hpipe user$((2 * N))@subs.test xen-users@$D $T/late
: > "$T/release"
wait $WPID
t "the retry succeeds" 0 hpipe user$((2 * N))@subs.test xen-users@$D $T/late
finish
