#!/bin/sh
# herald lmtp under a real Postfix on loopback: the transport map of
# "herald mta postfix --lmtp" hands the lists' mail to Postfix's lmtp(8)
# client, which delivers it to herald lmtp on its unix socket. An
# unsubscribe by token, a reply to the list address and to the owners in
# one transaction (two recipients, two replies), and Postfix's own bounce
# to the VERP address; notices come back through the same Postfix. A
# message that gets a 4xx (the database locked past the busy timeout)
# stays in Postfix's queue and is delivered once on the next run.
. "${TOP:-.}/tests/lib.sh"
VIA=lmtp
. "$TOP/tests/t0500/pipe-lib.sh"
. "$TOP/tests/t0500/postfix-lib.sh"
F=$TOP/tests/t0500
STORE_BUSY_TIMEOUT=2	# the locked store of part 4 answers 451 after 2 s
hinit
unset STORE_BUSY_TIMEOUT
pf_setup --lmtp
grep -q '^lmtp ' "$PF/etc/master.cf" || { echo "Bail out! no lmtp service in master.cf"; exit 1; }
pf_start

ALICE=$(add_sub alice@subs.test active xen-users)
DAVE=$(add_sub dave@subs.test active xen-users)
chown nobody "$T/data"/herald.db* 2>/dev/null

# herald lmtp on the socket the transport map names, writable by postfix
LMTPSOCK=$T/data/lmtp.sock
lmtp_start --socket-mode 0666
[ -S "$LMTPSOCK" ] || { echo "Bail out! herald lmtp did not start"; cat $T/lmtp.log; exit 1; }

# 1. LIST-unsubscribe+TOKEN@ through lmtp(8)
fill $F/gmail-unsubscribe.eml $T/m RCPT=xen-users-unsubscribe+$(tok u xen-users $ALICE)@$D
expect 0 submit alice@subs.test xen-users-unsubscribe+$(tok u xen-users $ALICE)@$D $T/m; ok $? "Postfix accepts the unsubscribe mailto"
waitfor "SELECT status FROM memberships WHERE subscriber_id = $ALICE" unsubscribed; ok $? "herald lmtp unsubscribed alice"
_i=0; while [ $_i -lt 100 ] && [ -z "$(maildir_files alice)" ]; do sleep 0.2; _i=$((_i + 1)); done
grep -q '^Subject: You are unsubscribed' $(maildir_files alice) /dev/null; ok $? "her goodbye came back through Postfix to her maildir"
_i=0; while [ $_i -lt 150 ] && ! grep -q 'relay=.*lmtp.sock.*status=sent' "$PF/maillog"; do sleep 0.2; _i=$((_i + 1)); done
grep -q 'relay=.*lmtp.sock.*status=sent (250 2\.0\.0 list=xen-users route=unsubscribe' "$PF/maillog"; ok $? "the maillog shows lmtp(8) got 250 with herald's line"

# 2. one message to the list and the owner address: one LMTP transaction,
# a reply for each recipient
fill $F/reply.eml $T/m
$PY - "$PORT" "$T/m" <<'EOP'
import smtplib, sys
s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=10)
s.sendmail('dave@subs.test', ['xen-users@lists.xenproject.org', 'xen-users-owner@lists.xenproject.org'], open(sys.argv[2], 'rb').read())
s.quit()
EOP
waitfor "SELECT count(*) FROM replies WHERE from_addr = 'dave@subs.test' AND forwarded = 1" 1; ok $? "stored and forwarded (once: the second recipient finds the same bytes)"
# (the commit comes before the replies, and Postfix logs after them)
sent2() { grep -c 'to=<xen-users\(-owner\)\{0,1\}@lists.xenproject.org>.*lmtp.sock.*status=sent (250 ' "$PF/maillog"; }
_i=0; while [ $_i -lt 150 ] && [ "$(sent2)" -lt 2 ]; do sleep 0.2; _i=$((_i + 1)); done
[ "$(sent2)" = 2 ]; ok $? "Postfix logs a 250 for each"
_i=0; while [ $_i -lt 100 ] && [ "$(maildir_files owner | wc -l)" -lt 2 ]; do sleep 0.2; _i=$((_i + 1)); done
grep -q '^Reply-To: dave@subs.test' $(maildir_files owner) /dev/null; ok $? "the owners' copies arrived with Reply-To: dave"

# 3. Postfix's own bounce travels to the VERP address over LMTP
VT=$(tok b xen-users $DAVE 31)
fill $F/plain.eml $T/m "FROM=Xen Project Community <community@xenproject.org>" RCPT=ghost@subs.test SUBJECT=announcement BODY=hello MSGID=pf-b1
submit "xen-users-bounces+$VT@$D" ghost@subs.test $T/m
waitfor "SELECT subscriber_id || ' ' || delivery_id || ' ' || envelope_from FROM inbound_bounces" "$DAVE 31 "; ok $? "Postfix's DSN reached herald with the null sender and the token"

# 4. a 4xx defers; the next queue run delivers
if [ "$(test_store)" = sqlite ]; then
# the shell holds the write lock until the test lets go ($T/release),
# after the 451: past lmtp's busy timeout (store { busy_timeout = 2 })
( echo "BEGIN IMMEDIATE;"; echo "INSERT INTO lists(name) VALUES ('lock');"; echo ".shell touch '$T/locked'"
  _w=0; while [ ! -e "$T/release" ] && [ $_w -lt 600 ]; do sleep 0.1; _w=$((_w + 1)); done
  echo "ROLLBACK;" ) | sqlite3 "$T/data/herald.db" &
else
	pg_hold_lock replies "$T/locked"	# past lmtp's lock_timeout (2 s here)
fi
LOCKP=$!
# until the sqlite3 shell holds the write lock (it says so by a file)
wait_file 10 "$T/locked" $LOCKP
fill $F/plain.eml $T/m "FROM=Dave <dave@subs.test>" RCPT=xen-users@$D "SUBJECT=Re: talks" "BODY=Which room is the toolstack talk in?" MSGID=pf-d1
submit dave@subs.test xen-users@$D $T/m
_i=0; while [ $_i -lt 150 ] && ! grep -q 'status=deferred.*451 4\.3\.0' "$PF/maillog"; do sleep 0.2; _i=$((_i + 1)); done
grep -q 'to=<xen-users@lists.xenproject.org>.*status=deferred (host .*said: 451 4\.3\.0 ' "$PF/maillog"; ok $? "a database locked past the busy timeout: 451, logged by Postfix as deferred"
postqueue $PFC -p > "$T/queue.out"
grep -q 'xen-users@lists.xenproject.org' "$T/queue.out" && [ "$(sql "SELECT count(*) FROM replies WHERE subject = 'Re: talks'")" = 0 ]; ok $? "the message waits in Postfix's queue, nothing stored"
if [ "$(test_store)" = sqlite ]; then touch "$T/release"; else pg_release_lock; fi
wait $LOCKP
postqueue $PFC -f
waitfor "SELECT count(*) FROM replies WHERE subject = 'Re: talks'" 1; ok $? "after postqueue -f it is delivered to herald once"
plan $_n
finish
