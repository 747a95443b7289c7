#!/bin/sh
# herald backup: copies of a live store taken while a campaign is sent,
# herald pipe unsubscribes by mail and herald serve takes one-click POSTs.
# Each copy opens, passes PRAGMA integrity_check and foreign_key_check,
# and holds a state some commit left (a campaign's deliveries all or none,
# every unsubscribed membership with its event). Then a restore as the
# manual says (stop, copy back, start): the campaign the copy caught
# halfway resumes and mails exactly the recipients still queued in it.
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0700/serve-lib.sh"
. "$TOP/tests/t0400/common.sh"
HERALD_TEMPLATES=$TOP/templates; export HERALD_TEMPLATES
F=$TOP/tests/t0500
plan 20

sink_start
hinit
sink_conf
printf 'send {\n  rate = 300\n}\n' >> "$HERALD_CONFIG"
subs_csv "$T/subs.csv" 3000
herald sub import xen-users "$T/subs.csv" >/dev/null
# the users segment: roles cycle, user at i % 5 in {0, 4}
want=$(sql "SELECT count(*) FROM attributes WHERE key = 'role' AND value = 'user'")

t "backup with no FILE is a usage error" 64 herald backup
t "backup of a quiet store" 0 herald backup "$T/quiet.db"
like "$out" 'quiet.db: [0-9]+ pages, [0-9]+ bytes, schema [0-9]+, integrity ok' &&
    like "$out" "token secret $T/data/secret"
ok $? "says what it wrote, and that the secret is not in it"
t "an existing FILE is kept (exit 73)" 73 herald backup "$T/quiet.db"
like "$err" 'quiet.db exists \(--force replaces it\)'; ok $? "and says --force replaces it"
t "--force replaces it" 0 herald backup --force "$T/quiet.db"
[ ! -e "$T/quiet.db-wal" ] && [ "$(sqlite3 "$T/quiet.db" 'PRAGMA journal_mode')" = delete ]
ok $? "the copy is one file (rollback journal, no -wal beside it)"

# unsubscribes by mail (ids 5k+1) and one-click (ids 5k+2): not users,
# so the campaign's recipients stay the same
mkdir -p "$T/in"
for k in $(seq 0 59); do
	i=$((5 * k + 1))
	fill $F/gmail-unsubscribe.eml "$T/in/u$i" RCPT=x
	sed -i "s/alice@subs.test/u$i@example$((i % 5)).test/; s/-unsub@mail/-$i@mail/" "$T/in/u$i"
	echo "xen-users-unsubscribe+$(tok u xen-users $i)@$D" > "$T/in/u$i.rcpt"
done
serve_start
"$HERALD" send summit --list xen-users --segment users --yes > "$T/send.out" 2>&1 &
SPID=$!
started() { [ "$(sql "SELECT count(*) FROM campaigns")" -ge 1 ]; }
wait_for 30 started
( for k in $(seq 0 59); do i=$((5 * k + 1))
	"$HERALD" pipe -f "u$i@example1.test" "$(cat "$T/in/u$i.rcpt")" < "$T/in/u$i" 2>>"$T/pipe.err"
	echo $? >> "$T/pipe.rc"; done ) &
PPID2=$!
( for k in $(seq 0 59); do i=$((5 * k + 2))
	curl -s -o /dev/null -w '%{http_code}\n' -d List-Unsubscribe=One-Click \
	    "$WEB/unsubscribe/$(tok u xen-users $i)" >> "$T/web.codes"; done ) &
WPID=$!

# copies while all three write, until the send is done (12 at most)
n=0
while [ $n -lt 12 ] && ! gone $SPID; do
	n=$((n + 1))
	"$HERALD" backup "$T/copy$n.db" >/dev/null 2>>"$T/backup.err" || echo "copy $n: exit $?" >> "$T/backup.err"
	sleep 0.3
done
wait $SPID; src=$?
wait $PPID2 $WPID
[ $src = 0 ] && [ "$(sql "SELECT count(*) FROM deliveries WHERE state = 'sent'")" = "$want" ]
ok $? "the campaign was sent meanwhile ($want recipients)"
[ "$(sort -u "$T/pipe.rc")" = 0 ] && [ "$(sort -u "$T/web.codes")" = 200 ]
ok $? "every pipe exited 0 and every one-click answered 200 meanwhile"
[ ! -s "$T/backup.err" ] && [ $n -ge 3 ]; ok $? "$n copies, every backup exited 0"
sed 's/^/#   /' "$T/backup.err"

# check COPY - integrity, foreign keys, and a state some commit left
check() {
	[ "$(sqlite3 "$1" 'PRAGMA integrity_check')" = ok ] || { echo "# $1: integrity"; return 1; }
	[ -z "$(sqlite3 "$1" 'PRAGMA foreign_key_check')" ] || { echo "# $1: foreign keys"; return 1; }
	d=$(sqlite3 "$1" "SELECT count(*) FROM deliveries")
	[ "$d" = 0 ] || [ "$d" = "$want" ] || { echo "# $1: $d deliveries"; return 1; }
	u=$(sqlite3 "$1" "SELECT count(*) FROM memberships WHERE status = 'unsubscribed'")
	e=$(sqlite3 "$1" "SELECT count(DISTINCT subscriber_id) FROM events WHERE action = 'unsubscribe'")
	[ "$u" = "$e" ] || { echo "# $1: $u unsubscribed, $e events"; return 1; }
}
bad=0; mid=; sents=
for c in $(seq 1 $n); do
	check "$T/copy$c.db" || bad=$((bad + 1))
	s=$(sqlite3 "$T/copy$c.db" "SELECT count(*) FROM deliveries WHERE state = 'sent'")
	u=$(sqlite3 "$T/copy$c.db" "SELECT count(*) FROM memberships WHERE status = 'unsubscribed'")
	sents="$sents $s/$u"
	[ -z "$mid" ] && [ "$s" -gt 0 ] && [ "$s" -lt "$want" ] && mid=$c
done
echo "# sent/unsubscribed in the copies:$sents"
[ $bad = 0 ]; ok $? "every copy passes integrity_check and foreign_key_check, holds a committed state"
[ -n "$mid" ]; ok $? "a copy caught the campaign halfway (copy ${mid:-none})"
[ "$(printf '%s\n' $sents | sort -u | wc -l)" -ge 2 ]; ok $? "the copies differ: they were taken while herald wrote"
HERALD_CONFIG=$T/copy.conf
sed "s|^data_dir = .*|data_dir = \"$T/copydata\"|" "$T/etc/herald.conf" > "$HERALD_CONFIG"
mkdir -p "$T/copydata" && cp "$T/copy${mid:-1}.db" "$T/copydata/herald.db"
t "herald opens a copy (herald lists)" 0 herald lists
HERALD_CONFIG=$T/etc/herald.conf

# --- restore, as doc/admin/backups-and-metrics.md says: stop, copy back, start
serve_stop
queued=$(sqlite3 "$T/copy${mid:-1}.db" "SELECT count(*) FROM deliveries WHERE state = 'queued'")
rm -f "$T/data/herald.db" "$T/data/herald.db-wal" "$T/data/herald.db-shm"
cp "$T/copy${mid:-1}.db" "$T/data/herald.db"
rm -f "$T"/sink/m.*
t "after the restore, campaigns shows the campaign unfinished" 0 herald campaigns
like "$out" ' (interrupted|sending) '; ok $? "interrupted ($queued deliveries queued in the copy)"
t "campaign resume finishes it" 0 herald campaign resume 1
[ "$(sql "SELECT count(*) FROM deliveries WHERE state = 'sent'")" = "$want" ]; ok $? "every delivery sent"
wait_for 10 sink_holds "$T/sink" "$queued"
[ "$(cat "$T"/sink/m.* | grep -c '^X-Rcpt-Args:')" = "$queued" ]
ok $? "exactly the $queued recipients still queued in the copy were mailed"
serve_start
t "serve runs on the restored store" 0 curl -sf "$WEB/health"
finish
