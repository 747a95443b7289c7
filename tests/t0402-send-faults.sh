#!/bin/sh
# herald send against an SMTP server that injects faults (tests/smtp-fault.py,
# aiosmtpd): every fault ends in the right state per recipient, and a later
# retry delivers what was temporary. Time-outs, a dropped connection, the
# error-rate pause, and STARTTLS required (a self-signed certificate).
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0400/common.sh"
HERALD_TEMPLATES=$TOP/templates; export HERALD_TEMPLATES
plan 37

PORT=$(free_port)
LOG=$T/delivered
relay_conf "$PORT" "send {" "retry_base = 300" "}"
{
	echo "email,name,role"
	for a in ok1 rcpt450 ok2 rcpt451 rcpt550 ok3 rcpt553 data452 data554 \
	    ok4 drop ok5 ok6; do echo "$a@f.test,$a,user"; done
	echo "hang@h.test,hang,integrator"
	echo "after@h.test,after,integrator"
	for i in $(seq 1 60); do echo "m$i@r.test,m$i,manager"; done
	echo "tls@t.test,tls,architect"
} > "$T/subs.csv"
herald sub import xen-users "$T/subs.csv" >/dev/null
start_fault "$PORT" "$LOG"

t "a send with faults ends its run" 0 herald send summit --list xen-users \
    --segment users --yes
[ "$(state ok1@f.test)$(state ok3@f.test)" = sentsent ]; ok $? "accepted ones are sent"
[ "$(sql "SELECT state, code, stage FROM deliveries d JOIN subscribers s ON
    s.id = d.subscriber_id WHERE s.email IN ('rcpt550@f.test', 'rcpt553@f.test',
    'data554@f.test') ORDER BY s.email" | tr '\n' ' ')" = \
    "failed|554|data failed|550|rcpt failed|553|rcpt " ]
ok $? "550 and 553 at RCPT, 554 at DATA: failed, with code and stage"
[ "$(sql "SELECT group_concat(s.email || ':' || b.kind || ':' || b.source, ' ')
    FROM (SELECT * FROM bounces ORDER BY subscriber_id) b JOIN subscribers s ON s.id = b.subscriber_id")" = \
    "$(sql "SELECT group_concat(email || ':hard:sync', ' ') FROM (SELECT email FROM subscribers
    WHERE email IN ('rcpt550@f.test', 'rcpt553@f.test', 'data554@f.test') ORDER BY id) q")" ] &&
    [ "$(sql "SELECT count(*) FROM bounce_scores WHERE score = 1.0 AND hard = 1")" = 3 ]
ok $? "the three 5xx rejections are hard bounces for the bounce policy, and only they"
[ "$(sql "SELECT state, code, stage FROM deliveries d JOIN subscribers s ON
    s.id = d.subscriber_id WHERE s.email IN ('rcpt450@f.test', 'rcpt451@f.test',
    'data452@f.test') ORDER BY s.email" | tr '\n' ' ')" = \
    "queued|452|data queued|450|rcpt queued|451|rcpt " ]
ok $? "450 and 451 at RCPT, 452 at DATA: queued"
[ "$(sql "SELECT state, code, stage FROM deliveries d JOIN subscribers s ON
    s.id = d.subscriber_id WHERE s.email = 'drop@f.test'")" = "queued|0|data" ]
ok $? "a connection dropped mid-DATA: queued, no reply code"
[ "$(sql "SELECT count(*) FROM deliveries WHERE state = 'queued' AND
    next_attempt >= last_attempt + 300 AND attempts = 1")" = \
    "$(sql "SELECT count(*) FROM deliveries WHERE state = 'queued' AND attempts > 0")" ]
ok $? "queued ones wait retry_base before the next try"
like "$out" 'queued for retry' && like "$out" 'herald campaign retry 1'
ok $? "the command says when and how to retry"
t "campaign show groups errors by reply" 0 herald campaign show 1
like "$out" ' 1 +1 +rcpt +550 5\.1\.1 no such user' &&
    like "$out" ' 1 +0 +rcpt +450 4\.2\.1 mailbox busy'
ok $? "count, failed, stage, reply"

t "resume now: nothing is due yet" 0 herald campaign resume 1
t "retry sends the queued ones now" 0 herald campaign retry 1
[ "$(sql "SELECT group_concat(email) FROM (SELECT s.email FROM deliveries d
    JOIN subscribers s ON s.id = d.subscriber_id WHERE d.campaign_id = 1
    AND state <> 'sent' ORDER BY d.id) q")" = "rcpt550@f.test,rcpt553@f.test,data554@f.test" ]
ok $? "everything temporary is delivered; the permanent ones stay failed"
[ "$(grep -c . "$LOG")" = 10 ] && [ "$(cut -d' ' -f1 "$LOG" | sort -u | wc -l)" = 10 ]
ok $? "the server logged each of the 10 deliveries once"

# a relay that stops answering: a short smtp.timeout, then a retry
relay_conf "$PORT" "send {" "retry_base = 300" "}"
sed -i 's/timeout = 3/timeout = 1/' "$HERALD_CONFIG"
t "a server that stops answering" 0 herald send summit --list xen-users \
    --segment integrators --yes --again
[ "$(sql "SELECT state, code FROM deliveries WHERE campaign_id = 2" |
    sort -u)" = "queued|0" ]; ok $? "both queued (the session timed out)"
like "$(sql "SELECT reply FROM deliveries WHERE campaign_id = 2 LIMIT 1")" \
    'no reply|timed out|Timeout'; ok $? "the reply says what happened"
t "retry delivers them" 0 herald campaign retry 2
[ "$(sql "SELECT count(*) FROM deliveries WHERE campaign_id = 2 AND
    state = 'sent'")" = 2 ]; ok $? "both sent"

# past send.max_age, a temporary failure fails for good
stop_fault
start_fault "$PORT" "$LOG" --temp-times 9
relay_conf "$PORT" "send {" "max_age = 60" "}"
sql "UPDATE subscribers SET email = 'rcpt450.b@f.test', email_key = 'rcpt450.b@f.test'
    WHERE email = 'ok6@f.test'"
t "a temporary failure" 0 herald send summit \
    --list xen-users --segment users --yes --again
[ "$(state rcpt450.b@f.test 3)" = queued ]; ok $? "is queued"
sql "UPDATE deliveries SET first_attempt = first_attempt - 61, next_attempt = 0
    WHERE campaign_id = 3 AND state = 'queued'"
t "the same failure past send.max_age" 0 herald campaign resume 3
[ "$(state rcpt450.b@f.test 3)" = failed ]; ok $? "fails for good"

# a relay that refuses everything: the campaign pauses itself
stop_fault
start_fault "$PORT" "$LOG" --refuse-all 554
relay_conf "$PORT" "send {" "error_min = 10" "error_threshold = 0.5" "batch = 8" \
    "connections = 2" "}"
t "the error rate pauses the campaign" 75 herald send summit \
    --list xen-users --segment managers --yes --again
like "$err" 'paused: .*of the last 10 attempts failed' &&
    like "$err" 'herald campaign resume 4'; ok $? "and says why and how to go on"
[ "$(sql "SELECT state FROM campaigns WHERE id = 4")" = paused ] &&
    [ "$(sql "SELECT count(*) FROM deliveries WHERE campaign_id = 4 AND
    state = 'failed'")" -le 16 ] &&
    [ "$(sql "SELECT count(*) FROM deliveries WHERE campaign_id = 4 AND
    state = 'queued'")" -ge 44 ]; ok $? "few failed, the rest still queued"
stop_fault
start_fault "$PORT" "$LOG"
t "after the fix, retry delivers all of them" 0 herald campaign retry 4
[ "$(sql "SELECT count(*) FROM deliveries WHERE campaign_id = 4 AND
    state = 'sent'")" = 60 ]; ok $? "60 sent"

# STARTTLS required, with a self-signed certificate
stop_fault
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost -keyout "$T/key.pem" \
    -out "$T/cert.pem" >/dev/null 2>&1
start_fault "$PORT" "$LOG" --tls "$T/cert.pem" "$T/key.pem" --require-tls
relay_conf "$PORT"
sed -i -e 's/starttls = "off"/starttls = "required"/' \
    -e 's/host = "127.0.0.1"/host = "localhost"/' "$HERALD_CONFIG"
SSL_CERT_FILE=$T/none.pem; export SSL_CERT_FILE
t "STARTTLS required, certificate not trusted" 0 herald send summit \
    --list xen-users --segment architects --yes --again
like "$(sql "SELECT state || ' ' || reply FROM deliveries WHERE campaign_id = 5")" \
    '^queued .*certificate does not verify'; ok $? "queued: the certificate does not verify"
SSL_CERT_FILE=$T/cert.pem
t "STARTTLS required, certificate trusted" 0 herald campaign retry 5
[ "$(sql "SELECT state FROM deliveries WHERE campaign_id = 5")" = sent ]
ok $? "sent over TLS"
unset SSL_CERT_FILE
stop_fault
start_fault "$PORT" "$LOG"
# AUTH: the password comes from smtp.password_file, never the command line
stop_fault
start_fault "$PORT" "$LOG" --auth herald 's3cret pass'
printf 's3cret pass\n' > "$T/password"
relay_conf "$PORT" "smtp { user = \"herald\" password_file = \"$T/password\" }"
t "AUTH with the password from smtp.password_file" 0 herald send summit \
    --list xen-users --segment managers --yes --again
[ "$(sql "SELECT group_concat(DISTINCT state) FROM deliveries WHERE campaign_id = (SELECT max(id) FROM campaigns)")" = sent ] &&
    grep -q '^AUTH herald ok$' "$LOG"; ok $? "the relay accepted AUTH and the mail"
printf 'wrong\n' > "$T/password"
t "AUTH refused: the campaign pauses (75)" 75 herald send summit --list xen-users --segment managers --yes --again
[ "$(sql "SELECT group_concat(DISTINCT state) FROM deliveries WHERE campaign_id = (SELECT max(id) FROM campaigns)")" = queued ] &&
    grep -q '^AUTH herald bad$' "$LOG"; ok $? "a refused AUTH leaves the deliveries queued (the relay's fault, not theirs)"
stop_fault
start_fault "$PORT" "$LOG"
echo "Subject: x" > "$T/msg"
SEND_STARTTLS=required; export SEND_STARTTLS
expect 75 "$BUILD/tools/send-one" localhost "$PORT" a@b.test c@d.test < "$T/msg" &&
    like "$err" 'does not offer it'
ok $? "STARTTLS required but not offered: temporary, says so"
finish
