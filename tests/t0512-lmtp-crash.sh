#!/bin/sh
# herald lmtp killed (SIGKILL) in the middle of a burst: every message the
# client saw 250 for is in the store, the others were never answered (an
# MTA keeps them), and delivering those again afterwards stores each
# message exactly once. The burst: 3,000 bounces naming 3,000 subscribers
# over 4 connections (tests/tools/lmtp-burst.py), so grouped commits are
# under way when the kill comes; each message is found in the store by its
# SHA-256 (inbound_bounces.digest).
. "${TOP:-.}/tests/lib.sh"
VIA=lmtp
. "$TOP/tests/t0500/pipe-lib.sh"
N=3000

hinit
sql "INSERT INTO lists(name) VALUES ('xen-users');
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $N)
    INSERT INTO subscribers(id, email, email_key)
    SELECT i, 'user' || i || '@example.test', 'user' || i || '@example.test' FROM n;
    INSERT INTO memberships(list_id, subscriber_id, status) SELECT 1, id, 'active' FROM subscribers;"
mkdir -p $T/m
$PY - "$T" "$N" <<'EOP'
import hashlib, sys
t, n = sys.argv[1], int(sys.argv[2])
rcpt = "xen-users-bounces@lists.xenproject.org"
with open(t + "/list", "w") as lst, open(t + "/digests", "w") as dig:
    for i in range(n):
        p = "%s/m/%d" % (t, i)
        body = ("From: MAILER-DAEMON@mx.example.test\nTo: %s\nSubject: Undelivered Mail Returned to Sender %d\n"
                "Auto-Submitted: auto-replied\nMIME-Version: 1.0\n"
                "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n\n"
                "--B\nContent-Type: text/plain\n\nuser unknown\n\n--B\nContent-Type: message/delivery-status\n\n"
                "Reporting-MTA: dns; mx.example.test\n\nFinal-Recipient: rfc822; user%d@example.test\n"
                "Action: failed\nStatus: 5.1.1\n\n--B--\n" % (rcpt, i, i + 1)).encode()
        open(p, "wb").write(body)
        lst.write("%s\t\t%s\n" % (p, rcpt))
        dig.write(hashlib.sha256(body).hexdigest() + "\n")
EOP
plan 6
lmtp_start
P=$(cat $T/lmtp.pid)
: > $T/ok
$PY "$TOP/tests/tools/lmtp-burst.py" "$LMTPSOCK" $T/list 4 $T/ok > $T/burst.out 2>&1 &
BP=$!
_i=0; while [ $_i -lt 600 ] && [ "$(wc -l < $T/ok)" -lt 60 ]; do sleep 0.02; _i=$((_i + 1)); done
kill -9 $P
wait $BP
: > $T/lmtp.pid
OK=$(wc -l < $T/ok)
[ "$OK" -ge 60 ] && [ "$OK" -lt $N ]; ok $? "killed mid-burst: $OK of $N messages answered 250"
awk 'NR == FNR { ok[$1 + 1] = 1; next } FNR in ok' $T/ok $T/digests > $T/ok-digests
sql "SELECT digest FROM inbound_bounces" | sort > $T/stored
[ "$(sort $T/ok-digests | comm -23 - $T/stored | wc -l)" = 0 ]; ok $? "every message answered 250 is in the store"
[ "$(sql "SELECT count(*) FROM inbound_bounces")" -lt $N ]; ok $? "and the store does not have them all ($(sql "SELECT count(*) FROM inbound_bounces"))"

# the MTA's retry: the unanswered ones again, to a new server
awk 'NR == FNR { ok[$1 + 1] = 1; next } !(FNR in ok)' $T/ok $T/list > $T/rest
[ "$(($(wc -l < $T/rest) + OK))" = $N ]; ok $? "the client holds the other $(wc -l < $T/rest) for a retry"
lmtp_start	# over the stale socket the killed one left
: > $T/ok2
$PY "$TOP/tests/tools/lmtp-burst.py" "$LMTPSOCK" $T/rest 4 $T/ok2 > $T/burst2.out 2>&1
[ "$(wc -l < $T/ok2)" = "$(wc -l < $T/rest)" ]; ok $? "the retry: all 250 ($(cat $T/burst2.out))"
[ "$(sql "SELECT count(*) || ' ' || count(DISTINCT digest) FROM inbound_bounces")" = "$N $N" ]; ok $? "now each of the $N bounces is stored exactly once"
finish
