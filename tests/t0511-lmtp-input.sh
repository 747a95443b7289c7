#!/bin/sh
# herald lmtp: the protocol and bad input. Several recipients in one
# transaction, each answered; PIPELINING; SIZE at MAIL and past
# pipe.max_size in DATA (never a 5xx for the null sender); mail that is no
# message; unknown addresses; a client that leaves in the middle of DATA
# (nothing committed, nothing left in the spool); garbage and out-of-order
# commands; the time limit per command; the connection limit; a stop
# (SIGTERM) while a client is connected; herald mta --lmtp.
. "${TOP:-.}/tests/lib.sh"
VIA=lmtp
. "$TOP/tests/t0500/pipe-lib.sh"
F=$TOP/tests/t0500
TALK="$PY $TOP/tests/tools/lmtp-talk.py"

sink_start
hinit
sink_conf
echo 'pipe { max_size = 4000 }' >> "$HERALD_CONFIG"
ALICE=$(add_sub alice@subs.test active xen-users)
lmtp_start --timeout 2 --max-connections 2

# --- several recipients, each answered
VT=$(tok b xen-users $ALICE 9)
fill $F/plain.eml $T/m FROM=zed@subs.test RCPT=x SUBJECT=question "BODY=what is this list about?" MSGID=multi1
expect 67 $PY "$LMTPC" "$LMTPSOCK" zed@subs.test $T/m nobody@$D xen-users-bounces+$VT@$D xen-users-request@$D
R=$(printf '%s\n' "$err" | cut -c1-9 | tr '\n' ' ')
[ "$R" = "550 5.1.1 250 2.0.0 550 5.6.0 " ]; ok $? "three recipients: 550 5.1.1 at RCPT, 250 for the bounce address, 550 5.6.0 for the command mail ($R)"
[ "$(sql "SELECT count(*) FROM inbound_bounces WHERE subscriber_id = $ALICE")" = 1 ]; ok $? "the bounce is stored"
[ "$(ls $T/data/spool/cur)" = "lmtp-$(date -u +%Y%m%d).mbox" ] && [ "$(grep -c '^From zed@subs.test ' $T/data/spool/cur/*)" = 1 ]; ok $? "the message is archived once, in the spool's mbox of the day"
expect 0 $PY "$LMTPC" "$LMTPSOCK" "" $T/m nobody@$D xen-users-request@$D &&
    [ "$(printf '%s\n' "$err" | cut -c1-3 | tr '\n' ' ')" = "250 250 " ]; ok $? "the same from the null sender: 250 for each (dropped)"

# --- PIPELINING: a whole transaction in one write
expect 0 $TALK "$LMTPSOCK" "1:LHLO test\r\n" "5:MAIL FROM:<>\r\nRCPT TO:<xen-users-bounces@$D>\r\nRCPT TO:<xen-users-bounces+$VT@$D>\r\nDATA\r\nSubject: x\r\n\r\n..leading dot\r\n.\r\n" "1:QUIT\r\n" &&
    like "$out" '250-PIPELINING' && like "$out" '250-8BITMIME' && like "$out" '250 SIZE 4000'; ok $? "LHLO offers PIPELINING, 8BITMIME and SIZE (pipe.max_size)"
[ "$(printf '%s\n' "$out" | grep -c '^250 2\.0\.0 list=xen-users route=bounces')" = 2 ] && like "$out" '^354 '; ok $? "pipelined MAIL, RCPT, RCPT, DATA: 354 and a 250 per recipient"
grep -q -x '.leading dot' $T/data/spool/cur/*; ok $? "the dot is unstuffed, and the message kept with LF line ends"
! grep -q "$(printf '\r')" $T/data/spool/cur/*; ok $? "(no CR left in any archived message)"

# --- sizes
head -c 6000 /dev/zero | tr '\0' x | fold -w 70 > $T/big-body
fill $F/plain.eml $T/big "FROM=Lea <lea@subs.test>" RCPT=xen-users@$D SUBJECT=big BODY=big MSGID=big1
cat $T/big-body >> $T/big
N0=$(sql "SELECT count(*) FROM replies")
expect 69 $PY "$LMTPC" "$LMTPSOCK" lea@subs.test $T/big xen-users@$D &&
    like "$err" '^552 5\.3\.4 .*message too big for xen-users@'; ok $? "past pipe.max_size: 552 5.3.4 after DATA"
expect 0 $PY "$LMTPC" "$LMTPSOCK" "" $T/big xen-users@$D &&
    like "$err" '^250 2\.0\.0 .*dropped'; ok $? "from the null sender: 250, dropped"
[ "$(sql "SELECT count(*) FROM replies")" = "$N0" ]; ok $? "and nothing stored"
VB=$(tok b xen-users $ALICE 12)
fill $F/bounce-dsn.eml $T/bigb VERP=$VB RCPTADDR=alice@subs.test
cat $T/big-body >> $T/bigb
N0=$(sql "SELECT count(*) FROM inbound_bounces")
expect 0 $PY "$LMTPC" "$LMTPSOCK" "" $T/bigb xen-users-bounces+$VB@$D &&
    like "$err" '^250 2\.0\.0 .*larger than 4000 bytes, its first 4000 handled: bounce for subscriber' && [ "$(sql "SELECT count(*) FROM inbound_bounces")" = $((N0 + 1)) ]; ok $? "an oversized bounce: its first pipe.max_size bytes handled, as by herald pipe"
expect 0 $TALK "$LMTPSOCK" "1:LHLO test\r\n" "1:MAIL FROM:<lea@subs.test> SIZE=999999\r\n" "1:MAIL FROM:<> SIZE=999999 BODY=8BITMIME\r\n" "1:RSET\r\n" "1:MAIL FROM:<lea@subs.test> SIZE=10 BODY=BINARYMIME\r\n" "1:QUIT\r\n" &&
    like "$out" '^552 5\.3\.4 message too big' && like "$out" '^250 2\.1\.0' && like "$out" '^555 5\.5\.4'; ok $? "SIZE= over the limit: 552 at MAIL, but 250 for the null sender; BODY=BINARYMIME: 555"

# --- not a message, and broken MIME
printf '\001\002garbage without headers or a blank line' > $T/junk
expect 65 $PY "$LMTPC" "$LMTPSOCK" zed@subs.test $T/junk xen-users-request@$D &&
    like "$err" '^550 5\.6\.0 '; ok $? "a command mail that is no message: 550 5.6.0"
printf 'From: zed@subs.test\nTo: xen-users@%s\nSubject: broken\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="nope"\n\n--nope\nContent-Type: text/plain\n\nhalf a part, never closed\n' "$D" > $T/broken
expect 0 $PY "$LMTPC" "$LMTPSOCK" zed@subs.test $T/broken xen-users@$D &&
    [ "$(sql "SELECT count(*) FROM replies WHERE subject = 'broken'")" = 1 ]; ok $? "broken MIME to the list address: 250, stored as herald pipe would"

# --- a client that leaves during DATA: nothing committed
N0=$(sql "SELECT count(*) FROM inbound_bounces"); S0=$(cat $T/data/spool/cur/* | wc -c)
fill $F/bounce-dsn.eml $T/m VERP=$(tok b xen-users $ALICE 11) RCPTADDR=alice@subs.test
head -c 600 $T/m | sed 's/$/\r/' > $T/half
$TALK "$LMTPSOCK" "1:LHLO test\r\n" "1:MAIL FROM:<>\r\n" "1:RCPT TO:<xen-users-bounces@$D>\r\n" "1:DATA\r\n" "0:@$T/half" close >/dev/null
wait_for 10 grep -q 'the client left during DATA, message dropped' $T/lmtp.log
[ "$(sql "SELECT count(*) FROM inbound_bounces")" = "$N0" ] && [ "$(cat $T/data/spool/cur/* | wc -c)" = "$S0" ] && ! [ -d $T/data/spool/new ]; ok $? "a client gone before the final dot: nothing stored, nothing archived"
grep -q 'the client left during DATA, message dropped' $T/lmtp.log; ok $? "and the log says so"

# --- no write transaction across a network read: while a client is in
# the middle of DATA, another writer gets the database at once
fill $F/bounce-dsn.eml $T/m VERP=$(tok b xen-users $ALICE 13) RCPTADDR=alice@subs.test
sed 's/$/\r/' $T/m > $T/crlf
if [ "$(test_store)" = sqlite ]; then
$PY - "$LMTPSOCK" "$T/crlf" "$T/data/herald.db" "$D" > $T/mid.out 2>&1 <<'EOP'
import socket, sqlite3, sys
sock, path, db, dom = sys.argv[1:5]
s = socket.socket(socket.AF_UNIX); s.connect(sock); s.settimeout(20)
f = s.makefile("rb")
def reply():
    while True:
        l = f.readline()
        if l[3:4] != b"-":
            return l.decode().strip()
reply()
s.sendall(b"LHLO t\r\n"); reply()
s.sendall(b"MAIL FROM:<>\r\n"); reply()
s.sendall(("RCPT TO:<xen-users-bounces@%s>\r\n" % dom).encode()); reply()
s.sendall(b"DATA\r\n"); reply()
data = open(path, "rb").read()
s.sendall(data[:len(data) // 2])
c = sqlite3.connect(db, timeout=0.2)
c.execute("BEGIN IMMEDIATE"); c.execute("INSERT INTO lists(name) VALUES ('mid-data')"); c.commit()
print("writer committed while the client was in DATA")
s.sendall(data[len(data) // 2:] + b".\r\n")
print(reply())
EOP
grep -q '^writer committed while the client was in DATA' $T/mid.out && grep -q '^250 2\.0\.0 ' $T/mid.out; ok $? "another writer commits while a client is half-way through DATA, and the message is then delivered ($(tail -1 $T/mid.out | cut -c1-40))"
else
	skip "the other writer is an sqlite3 connection to the file (PostgreSQL has no database-wide write lock)"
fi

# --- garbage and out-of-order commands
expect 0 $TALK "$LMTPSOCK" "1:HELO x\r\n" "1:MAIL FROM:<a@b.test>\r\n" "1:LHLO test\r\n" "1:RCPT TO:<xen-users@$D>\r\n" "1:DATA\r\n" "1:MAIL FROM:a b c\r\n" "1:MAIL FROM:<a@b.test>\r\n" "1:MAIL FROM:<a@b.test>\r\n" "1:DATA\r\n" "1:RCPT TO:<>\r\n" "1:\xff\xfe\x00junk\r\n" "1:NOOP\r\n" "1:QUIT\r\n"
R=$(printf '%s\n' "$out" | grep -v -e '^220 ' -e '^250-' -e '^250 SIZE' | cut -c1-9 | tr '\n' ' ')
[ "$R" = "500 5.5.1 503 5.5.1 503 5.5.1 503 5.5.1 555 5.5.4 250 2.1.0 503 5.5.1 503 5.5.1 501 5.5.4 500 5.5.2 250 2.0.0 221 2.0.0 " ]; ok $? "HELO, MAIL before LHLO, RCPT before MAIL, DATA without recipients, a bad path, a second MAIL, RCPT TO:<>, binary junk: an error each ($R)"
like "$out" '^250 2\.0\.0 ok' && like "$out" '^221 '; ok $? "and the session goes on"
LONG=$(head -c 5000 /dev/zero | tr '\0' A)
expect 0 $TALK "$LMTPSOCK" "1:NOOP $LONG\r\n" "1:NOOP\r\n" "1:QUIT\r\n" &&
    like "$out" '^500 5\.5\.2 line too long' && like "$out" '^250 2\.0\.0 ok'; ok $? "a 5000-byte line: 500, then the next command works"
expect 0 $TALK "$LMTPSOCK" "1:x\r\n" "1:x\r\n" "1:x\r\n" "1:x\r\n" "1:x\r\n" "1:x\r\n" "1:x\r\n" "1:x\r\n" "1:x\r\n" "2:x\r\n" eof &&
    like "$out" '^421 4\.7\.0 too many errors' && like "$out" '^EOF$'; ok $? "ten bad commands: 421 and the connection is closed"

# --- the time limit per command (--timeout 2)
expect 0 $TALK "$LMTPSOCK" "1:LHLO test\r\n" eof &&
    like "$out" '^421 4\.4\.2 timeout' && like "$out" '^EOF$'; ok $? "an idle client gets 421 4.4.2 and is closed"
LONG3=$(head -c 3000 /dev/zero | tr '\0' B)
expect 0 $TALK "$LMTPSOCK" "1:LHLO test\r\n" "0:NOOP $LONG3" eof &&
    like "$out" '^421 4\.4\.2 timeout' && like "$out" '^EOF$'; ok $? "a line over 2048 bytes that never ends gets the same 421 4.4.2 and is closed"

# --- 8-bit bytes in an address reach the log escaped (issue 21.2)
printf 'From: x@b.test\r\nSubject: hi\r\n\r\nhello\r\n.\r\n' > $T/8bit.msg
expect 0 $TALK "$LMTPSOCK" "1:LHLO test\r\n" "1:MAIL FROM:<caf\xe9\xff@b.test>\r\n" "1:RCPT TO:<xen-users-owner@$D>\r\n" "1:DATA\r\n" "1:@$T/8bit.msg" "1:QUIT\r\n" &&
    grep -q 'caf\\xe9\\xff@b\.test' $T/lmtp.log && ! LC_ALL=C grep -q "$(printf '\351\377')" $T/lmtp.log; ok $? "the sender's 0xe9 0xff are written \\xe9\\xff in the log, never raw"

# --- the connection limit (--max-connections 2)
$PY - "$LMTPSOCK" > $T/limit <<'EOP'
import socket, sys, time
socks = []
for i in range(3):
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(10)
    socks.append(s)
    time.sleep(0.2)
for s in socks:
    print(s.recv(200).decode().strip())
EOP
[ "$(grep -c '^220 ' $T/limit)" = 2 ] && [ "$(grep -c '^421 4\.3\.2 too many connections' $T/limit)" = 1 ]; ok $? "two connections served, the third gets 421 4.3.2"

# --- SIGTERM with a client connected: 421, and a clean exit
$PY -u $TOP/tests/tools/lmtp-talk.py "$LMTPSOCK" "1:LHLO test\r\n" eof > $T/stop.out &
TP=$!
# connected once LHLO has its answer
wait_for 10 grep -q '^250' $T/stop.out
P=$(cat $T/lmtp.pid)
kill $P
wait_for 5 gone $P
wait $TP
grep -q '^421 4\.3\.2 shutting down' $T/stop.out; ok $? "a stop says 421 4.3.2 to a connected client"
! kill -0 $P 2>/dev/null && grep -q 'lmtp: stopped; ' $T/lmtp.log && ! [ -e "$LMTPSOCK" ]; ok $? "and the server ends, removing its socket"

# --- socket activation: the socket systemd would pass as fd 3
$PY - "$HERALD" "$T/sd.sock" "$T/sd.pid" <<'EOP' 2>>$T/sd.log
import os, socket, sys
herald, path, pidfile = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX); s.bind(path); s.listen(8)
pid = os.fork()
if pid == 0:
    os.set_inheritable(s.fileno(), True)
    if s.fileno() != 3:
        os.dup2(s.fileno(), 3)
    os.environ["LISTEN_FDS"] = "1"
    os.environ["LISTEN_PID"] = str(os.getpid())
    os.execv(herald, [herald, "lmtp"])
open(pidfile, "w").write("%d\n" % pid)
EOP
expect 0 $TALK "$T/sd.sock" "1:LHLO test\r\n" "1:QUIT\r\n" &&
    like "$out" '^250-PIPELINING'; ok $? "LISTEN_FDS=1: herald lmtp serves the socket it was given"
SDP=$(cat $T/sd.pid); kill $SDP
_i=0; while [ $_i -lt 100 ] && kill -0 $SDP 2>/dev/null; do sleep 0.05; _i=$((_i + 1)); done
grep -q 'listening on the socket systemd passed' $T/sd.log && ! [ -e $T/data/lmtp.sock ]; ok $? "and it did not listen on its default socket"

# --- start-up errors
expect 78 herald lmtp --listen nonsense; ok $? "a bad --listen is a configuration error (78)"
expect 64 herald lmtp --workers 0; ok $? "a bad number is a usage error (64)"
sed "s|data_dir = .*|data_dir = \"$T/nodata\"|" "$HERALD_CONFIG" > $T/nodb.conf
expect 78 "$HERALD" -c $T/nodb.conf lmtp --listen unix:$T/x.sock; ok $? "no secret, no database: herald lmtp does not start (78)"
like "$err" 'herald init'; ok $? "and says to run herald init"

# --- herald mta --lmtp
t "herald mta postfix --lmtp" 0 herald mta postfix --lmtp
[ "$(printf '%s\n' "$out" | grep -c "@lists.xenproject.org	lmtp:unix:$T/data/lmtp.sock$")" = 14 ] && unlike "$out" 'argv='; ok $? "the transport map sends all 14 addresses to lmtp:unix:DATA_DIR/lmtp.sock, no pipe"
t "herald mta exim --lmtp" 0 herald mta exim --lmtp
like "$out" 'driver = lmtp' && like "$out" "socket = $T/data/lmtp.sock"; ok $? "an Exim lmtp transport on the socket"
plan $_n
finish
