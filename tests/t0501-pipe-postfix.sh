#!/bin/sh
# herald pipe under a real Postfix on loopback: mail submitted over SMTP to
# LIST-unsubscribe+TOKEN@, LIST-subscribe@ and the list address goes
# through the herald pipe transport (pipe(8), argv ${sender} ${recipient},
# null_sender=) and the database shows the outcome; notices come back
# through the same Postfix into the subscribers' maildirs; a bounce made by
# Postfix itself travels to the VERP address; and a pipe that exits 75
# leaves the message deferred in the queue until the next run.
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0500/pipe-lib.sh"
. "$TOP/tests/t0500/postfix-lib.sh"
F=$TOP/tests/t0500
hinit
# the list signs (issue 12): its notices must arrive verifiable
"$HERALD" dkim keygen xen-users --ed25519 > "$T/dkim.out" || { echo "Bail out! dkim keygen failed"; exit 1; }
sed -n '/^dkim {/,/^}/p' "$T/dkim.out" >> "$T/lists/xen-users.conf"
pf_setup --user nobody
sed -n '/^herald /,/argv=/p' "$T/mta.out" >> "$PF/etc/master.cf"
pf_start

ALICE=$(add_sub alice@subs.test active xen-users)
DAVE=$(add_sub dave@subs.test active xen-users)
chown nobody "$T/data"/herald.db* 2>/dev/null

plan 21
# 1. LIST-unsubscribe+TOKEN@ through the pipe transport
fill $F/gmail-unsubscribe.eml $T/m RCPT=xen-users-unsubscribe+$(tok u xen-users $ALICE)@$D
expect 0 submit alice@subs.test xen-users-unsubscribe+$(tok u xen-users $ALICE)@$D $T/m; ok $? "Postfix accepts the unsubscribe mailto"
waitfor "SELECT status FROM memberships WHERE subscriber_id = $ALICE" unsubscribed; ok $? "herald pipe unsubscribed alice"
_i=0; while [ $_i -lt 100 ] && [ -z "$(maildir_files alice)" ]; do sleep 0.2; _i=$((_i + 1)); done
grep -q '^Subject: You are unsubscribed' $(maildir_files alice) /dev/null; ok $? "her goodbye came back through Postfix to her maildir"
grep -q 'status=sent (delivered via herald service' "$PF/maillog"; ok $? "the maillog shows delivery via the herald service"
$PY "$TOP/tests/t0710/dkim-verify.py" $(maildir_files alice | head -1) "$T/dkim.out" > "$T/v.out"
ok $? "the goodbye in her maildir verifies, both signatures (dkimpy: $(tr '\n' ' ' < "$T/v.out"))"

# 2. LIST-subscribe@ and confirming by reply, all through Postfix
fill $F/plain.eml $T/m "FROM=Eve <eve@subs.test>" RCPT=xen-users-subscribe@$D SUBJECT=subscribe BODY=please MSGID=pf-e1
submit eve@subs.test xen-users-subscribe@$D $T/m
waitfor "SELECT m.status FROM memberships m JOIN subscribers s ON s.id = m.subscriber_id WHERE s.email = 'eve@subs.test'" pending; ok $? "subscribe@ makes eve pending"
_i=0; while [ $_i -lt 100 ] && [ -z "$(maildir_files eve)" ]; do sleep 0.2; _i=$((_i + 1)); done
CONF=$(sed -n 's/^Reply-To: *<\{0,1\}\(xen-users-confirm+[a-z0-9-]*@lists.xenproject.org\)>\{0,1\}$/\1/p' $(maildir_files eve) /dev/null | head -1)
like "$CONF" '^xen-users-confirm\+s'; ok $? "the confirmation reached eve's maildir ($CONF)"
fill $F/plain.eml $T/m "FROM=Eve <eve@subs.test>" RCPT=$CONF "SUBJECT=Re: Confirm your subscription" BODY=yes MSGID=pf-e2
submit eve@subs.test "$CONF" $T/m
waitfor "SELECT m.status FROM memberships m JOIN subscribers s ON s.id = m.subscriber_id WHERE s.email = 'eve@subs.test'" active; ok $? "her reply to LIST-confirm+TOKEN activates her"

# 3. a reply to the list address, forwarded to the owners' maildirs
fill $F/reply.eml $T/m
submit dave@subs.test xen-users@$D $T/m
waitfor "SELECT kind || forwarded FROM replies WHERE from_addr = 'dave@subs.test'" reply1; ok $? "the reply is stored and forwarded"
_i=0; while [ $_i -lt 100 ] && [ -z "$(maildir_files owner)" ]; do sleep 0.2; _i=$((_i + 1)); done
grep -q '^Reply-To: dave@subs.test' $(maildir_files owner) /dev/null; ok $? "the owner's copy arrived with Reply-To: dave"
$PY "$TOP/tests/t0710/dkim-verify.py" $(maildir_files owner | head -1) "$T/dkim.out" >/dev/null
ok $? "the owner's forward, signed, verifies in the maildir"
sed 's/^Subject: /Subject: Fwd: /' $(maildir_files owner | head -1) > "$T/changed.eml"
! $PY "$TOP/tests/t0710/dkim-verify.py" "$T/changed.eml" "$T/dkim.out" >/dev/null
ok $? "and fails once its Subject is changed"

# 4. Postfix's own bounce travels to the VERP address and through the pipe
VT=$(tok b xen-users $DAVE 31)
fill $F/plain.eml $T/m "FROM=Xen Project Community <community@xenproject.org>" RCPT=ghost@subs.test SUBJECT=announcement BODY=hello MSGID=pf-b1
submit "xen-users-bounces+$VT@$D" ghost@subs.test $T/m
waitfor "SELECT subscriber_id || ' ' || delivery_id || ' ' || envelope_from FROM inbound_bounces" "$DAVE 31 "; ok $? "Postfix's DSN reached herald with the null sender and the token"

# 5. exit 75 defers; the next queue run delivers
cp "$HERALD_CONFIG" "$T/good.conf"
echo 'pipe {' >> "$HERALD_CONFIG"	# a broken configuration: herald pipe exits 75
fill $F/plain.eml $T/m "FROM=Dave <dave@subs.test>" RCPT=xen-users@$D "SUBJECT=Re: talks" "BODY=Which room is the toolstack talk in?" MSGID=pf-d1
submit dave@subs.test xen-users@$D $T/m
_i=0; while [ $_i -lt 100 ] && ! grep -q 'status=deferred.*herald' "$PF/maillog"; do sleep 0.2; _i=$((_i + 1)); done
grep -q 'status=deferred (temporary failure' "$PF/maillog"; ok $? "exit 75 is logged by Postfix as deferred"
postqueue $PFC -p > "$T/queue.out"
grep -q 'xen-users@lists.xenproject.org' "$T/queue.out"; ok $? "the message waits in Postfix's queue"
[ "$(sql "SELECT count(*) FROM replies WHERE subject = 'Re: talks'")" = 0 ]; ok $? "and herald stored nothing"
cp "$T/good.conf" "$HERALD_CONFIG"
postqueue $PFC -f
waitfor "SELECT count(*) FROM replies WHERE subject = 'Re: talks'" 1; ok $? "after postqueue -f it is delivered to herald once"

# 6. the list folder moved away: our fault, so deferred (it was 67, and
# Postfix bounced the reply to its writer as "no such list")
D0=$(grep -c 'status=deferred' "$PF/maillog"); B0=$(grep -c 'status=bounced' "$PF/maillog")
mv "$T/lists" "$T/lists.away"
fill $F/plain.eml $T/m "FROM=Dave <dave@subs.test>" RCPT=xen-users@$D "SUBJECT=Re: venue" "BODY=Is there parking?" MSGID=pf-d2
submit dave@subs.test xen-users@$D $T/m
_i=0; while [ $_i -lt 100 ] && [ "$(grep -c 'status=deferred' "$PF/maillog")" = "$D0" ]; do sleep 0.2; _i=$((_i + 1)); done
grep 'status=deferred' "$PF/maillog" | tail -1 | grep -q 'list folder .* is not there' &&
[ "$(grep -c 'status=bounced' "$PF/maillog")" = "$B0" ]; ok $? "a missing list folder: deferred with the reason, nothing bounced"
mv "$T/lists.away" "$T/lists"
postqueue $PFC -f
waitfor "SELECT count(*) FROM replies WHERE subject = 'Re: venue'" 1; ok $? "with the folder back, the next queue run delivers it"

# 7. an announcement, signed, through Postfix into a subscriber's maildir
"$HERALD" sub add xen-users carol@subs.test --attr role=user >/dev/null
HERALD_TEMPLATES=$TOP/templates "$HERALD" send summit --list xen-users --segment users --yes >/dev/null 2>&1
_i=0; while [ $_i -lt 100 ] && [ -z "$(maildir_files carol)" ]; do sleep 0.2; _i=$((_i + 1)); done
grep -q '^DKIM-Signature: v=1; a=rsa-sha256' $(maildir_files carol) /dev/null; ok $? "the summit announcement reached carol's maildir, signed"
$PY "$TOP/tests/t0710/dkim-verify.py" $(maildir_files carol | head -1) "$T/dkim.out" >/dev/null
ok $? "and verifies there (dkimpy, both signatures)"
finish
