#!/bin/sh
# herald pipe: every route of a list's addresses and every exit status,
# with real-looking fixture mail, notices recorded by smtp-sink. With
# VIA=lmtp (t0510) the same routes and fixtures go through herald lmtp;
# what only the pipe has (its environment, its start-up errors, its
# stderr) is tested here with the pipe only, and for herald lmtp in t0511.
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0500/pipe-lib.sh"
F=$TOP/tests/t0500

sink_start
hinit
sink_conf
ALICE=$(add_sub alice@subs.test active xen-users xen-devel)
BOB=$(add_sub bob@subs.test active xen-users xen-devel)
CAROL=$(add_sub carol@subs.test active xen-users)
DAVE=$(add_sub dave@subs.test active xen-users)
FRANK=$(add_sub frank@subs.test active xen-users xen-devel)

# --- addresses that are no list's
fill $F/plain.eml $T/m FROM=zed@subs.test RCPT=nobody@$D SUBJECT=hi BODY=hello MSGID=u1
t "an unknown address is 67" 67 hpipe zed@subs.test nobody@$D $T/m
t "an unknown list suffix is 67" 67 hpipe zed@subs.test xen-users-frobnicate@$D $T/m
t "an unknown address from the null sender is 0 (never bounce a bounce)" 0 hpipe "" nobody@$D $T/m
like "$err" 'dropped'; ok $? "and says it dropped it"
t "MAILER-DAEMON is the null sender too" 0 hpipe MAILER-DAEMON nobody@$D $T/m
if [ "$VIA" = pipe ]; then
	# issue 21.3: after --, an argument that starts with - is an address
	expect 67 herald pipe -f zed@subs.test -- -fxen-users@$D < $T/m
	like "$err" 'no list has the address -fxen-users@' && unlike "$err" 'to=<-->'; ok $? "a recipient after -- that starts with - is an address (67), not an option, and -- is none"
	expect 0 herald pipe -f "" -- -fxen-users@$D < $T/m
	like "$err" 'dropped'; ok $? "from the null sender, the same is 0"
fi

# --- unsubscribe with a token: the Gmail List-Unsubscribe mailto
UT=$(tok u xen-users $ALICE)
fill $F/gmail-unsubscribe.eml $T/m RCPT=xen-users-unsubscribe+$UT@$D
t "Gmail one-click mailto unsubscribe+TOKEN exits 0" 0 hpipe alice@subs.test xen-users-unsubscribe+$UT@$D $T/m
[ "$(status alice@subs.test xen-users)" = unsubscribed ]; ok $? "alice is unsubscribed from xen-users"
[ "$(status alice@subs.test xen-devel)" = active ]; ok $? "and still on xen-devel"
[ "$(sql "SELECT count(*) FROM events WHERE subscriber_id = $ALICE AND action = 'unsubscribe' AND channel = 'mail'")" = 1 ]; ok $? "one unsubscribe event, channel mail"
[ "$(sink_count alice@subs.test)" = 1 ]; ok $? "alice got one goodbye"
grep -q '^Subject: You are unsubscribed from Xen Project Users' "$(sink_last alice@subs.test)"; ok $? "it says so"
grep -q '^X-Mail-Args: <xen-users-bounces@lists.xenproject.org>' "$(sink_last alice@subs.test)" &&
grep -q '^Auto-Submitted: auto-replied' "$(sink_last alice@subs.test)"; ok $? "from LIST-bounces@, Auto-Submitted: auto-replied"
like "$err" "^$LOGP"'list=xen-users route=unsubscribe .*status=0: unsubscribed'; ok $? "one log line naming list, route, outcome"
[ "$(printf '%s\n' "$err" | wc -l)" = 1 ]; ok $? "exactly one line on stderr"
UPPER=$(printf '%s' "$UT" | tr a-z A-Z)
t "again (and case-folded by an MTA) is idempotent" 0 hpipe alice@subs.test xen-users-unsubscribe+$UPPER@$D $T/m
like "$err" 'already unsubscribed' && [ "$(sink_count alice@subs.test)" = 1 ]; ok $? "no second goodbye"
[ "$(sql "SELECT count(*) FROM events WHERE subscriber_id = $ALICE AND action = 'unsubscribe'")" = 1 ]; ok $? "no second event"

# --- forged tokens change nothing and mail nobody
N0=$(sink_total)
FORGED=$(printf '%s' "$UT" | sed "s/^u[a-z2-7]*-/u$(tok u xen-users $BOB | sed 's/^u\([a-z2-7]*\)-.*/\1/')-/")
fill $F/plain.eml $T/m FROM=mallory@evil.test RCPT=x SUBJECT=unsubscribe BODY=unsubscribe MSGID=f1
t "alice's MAC on bob's id" 0 hpipe mallory@evil.test xen-users-unsubscribe+$FORGED@$D $T/m
t "bob's xen-devel token used on xen-users" 0 hpipe mallory@evil.test xen-users-unsubscribe+$(tok u xen-devel $BOB)@$D $T/m
t "bob's bounce token used to unsubscribe" 0 hpipe mallory@evil.test xen-users-unsubscribe+$(tok b xen-users $BOB 5)@$D $T/m
BT=$(tok u xen-users $BOB); LASTC=$(printf '%s' "$BT" | tail -c 1); NEWC=a; [ "$LASTC" = a ] && NEWC=b
t "bob's token with one character changed" 0 hpipe mallory@evil.test xen-users-unsubscribe+${BT%?}$NEWC@$D $T/m
like "$err" 'not valid'; ok $? "said the token is not valid"
[ "$(status bob@subs.test xen-users)" = active ] && [ "$(status bob@subs.test xen-devel)" = active ]; ok $? "bob is still on both lists"
[ "$(sink_total)" = "$N0" ]; ok $? "and nobody got mail (mallory is not subscribed)"

# --- unsubscribe without a token: a confirmation to the subscribed address
fill $F/plain.eml $T/m "FROM=Carol <carol@subs.test>" RCPT=xen-users-unsubscribe@$D SUBJECT=bye BODY=bye MSGID=c1
t "unsubscribe@ without a token" 0 hpipe carol@subs.test xen-users-unsubscribe@$D $T/m
[ "$(status carol@subs.test xen-users)" = active ]; ok $? "carol stays active until she confirms"
[ "$(sink_count carol@subs.test)" = 1 ]; ok $? "carol got one confirmation request"
C=$(sink_last carol@subs.test)
CONF=$(sed -n 's/^Reply-To: *<\{0,1\}\(xen-users-confirm+[a-z0-9-]*@lists.xenproject.org\)>\{0,1\}$/\1/p' "$C")
like "$CONF" '^xen-users-confirm\+c'; ok $? "its Reply-To is LIST-confirm+TOKEN ($CONF)"
grep -q "$CONF" "$C"; ok $? "the body names the confirm address too"
t "asking again within 10 minutes sends nothing more" 0 hpipe carol@subs.test xen-users-unsubscribe@$D $T/m
[ "$(sink_count carol@subs.test)" = 1 ]; ok $? "still one confirmation"
fill $F/plain.eml $T/m "FROM=Carol <carol@subs.test>" RCPT=$CONF "SUBJECT=Re: Confirm: unsubscribe from Xen Project Users" BODY=yes MSGID=c2
t "replying to the confirmation" 0 hpipe carol@subs.test "$CONF" $T/m
[ "$(status carol@subs.test xen-users)" = unsubscribed ]; ok $? "unsubscribes carol"
[ "$(sink_count carol@subs.test)" = 2 ]; ok $? "and she gets her goodbye"
t "the confirmation twice is harmless" 0 hpipe carol@subs.test "$CONF" $T/m

# a forged From gets the confirmation sent to the subscriber, not the forger
fill $F/plain.eml $T/m "FROM=Bob <bob@subs.test>" RCPT=xen-users-unsubscribe@$D SUBJECT=unsubscribe BODY=x MSGID=f2
sed -i '1a Reply-To: mallory@evil.test' $T/m
t "a request claiming to be bob (Reply-To mallory)" 0 hpipe mallory@evil.test xen-users-unsubscribe@$D $T/m
[ "$(sink_count bob@subs.test)" = 1 ] && [ "$(sink_count mallory@evil.test)" = 0 ]; ok $? "the confirmation went to bob only"
[ "$(status bob@subs.test xen-users)" = active ]; ok $? "bob is still active"
fill $F/plain.eml $T/m FROM=stranger@else.test RCPT=xen-users-unsubscribe@$D SUBJECT=unsubscribe BODY=x MSGID=s1
N0=$(sink_total)
t "an address that is not subscribed" 0 hpipe stranger@else.test xen-users-unsubscribe@$D $T/m
[ "$(sink_total)" = "$N0" ]; ok $? "gets no mail at all (no backscatter)"

# confirmation tokens: tampered, for someone else, expired
fill $F/plain.eml $T/m FROM=mallory@evil.test RCPT=x SUBJECT=yes BODY=yes MSGID=f3
t "a confirm token for another list is 65" 65 hpipe mallory@evil.test xen-users-confirm+$(tok c xen-devel $BOB $(date +%s))@$D $T/m
t "a confirm token from the null sender is 0" 0 hpipe "" xen-users-confirm+$(tok c xen-devel $BOB $(date +%s))@$D $T/m
t "an expired confirm token is 65" 65 hpipe bob@subs.test xen-users-confirm+$(tok c xen-users $BOB $(($(date +%s) - 100 * 3600)))@$D $T/m
like "$err" 'expired'; ok $? "saying it expired"
[ "$(status bob@subs.test xen-users)" = active ]; ok $? "bob is still active"

# --- LIST-request: commands
fill $F/plain.eml $T/m "FROM=Bob <bob@subs.test>" RCPT=xen-users-request@$D SUBJECT=help BODY=help MSGID=r1
t "help to -request" 0 hpipe bob@subs.test xen-users-request@$D $T/m
grep -q '^Subject: Help for xen-users' "$(sink_last bob@subs.test)"; ok $? "sends the help text"
fill $F/plain.eml $T/m "FROM=Frank <frank@subs.test>" RCPT=xen-users-request@$D "SUBJECT=Re: your list" "BODY=unsubscribe" MSGID=r2
t "unsubscribe in the body to -request" 0 hpipe frank@subs.test xen-users-request@$D $T/m
grep -q 'xen-users-confirm+c' "$(sink_last frank@subs.test)"; ok $? "asks frank to confirm"
fill $F/plain.eml $T/m "FROM=Frank <frank@subs.test>" RCPT=xen-users-request@$D "SUBJECT=question" "BODY=what is this list about?" MSGID=r3
t "a command mail that cannot be understood is 65" 65 hpipe frank@subs.test xen-users-request@$D $T/m
unlike "$err" '^[245]\.[0-9]'; ok $? "and the stderr line does not start with a status code"
t "the same from the null sender is 0" 0 hpipe "" xen-users-request@$D $T/m

# --- subscribe: double opt-in
fill $F/plain.eml $T/m "FROM=Eve Newcomer <eve@subs.test>" RCPT=xen-users-subscribe@$D SUBJECT=subscribe BODY=please MSGID=e1
t "subscribe@" 0 hpipe eve@subs.test xen-users-subscribe@$D $T/m
[ "$(status eve@subs.test xen-users)" = pending ]; ok $? "eve is pending"
[ "$(sql "SELECT name FROM subscribers WHERE email = 'eve@subs.test'")" = "Eve Newcomer" ]; ok $? "with her name from From"
CONF=$(sed -n 's/^Reply-To: *<\{0,1\}\(xen-users-confirm+[a-z0-9-]*@lists.xenproject.org\)>\{0,1\}$/\1/p' "$(sink_last eve@subs.test)")
like "$CONF" '^xen-users-confirm\+s'; ok $? "the confirmation to eve carries an s token"
fill $F/exchange-ooo.eml $T/m
t "an auto-reply to the confirmation" 0 hpipe eve@subs.test "$CONF" $T/m
[ "$(status eve@subs.test xen-users)" = pending ]; ok $? "does not confirm"
fill $F/plain.eml $T/m "FROM=Eve <eve@subs.test>" RCPT=$CONF SUBJECT=ok BODY=ok MSGID=e2
t "mail to the confirm address" 0 hpipe eve@subs.test "$CONF" $T/m
[ "$(status eve@subs.test xen-users)" = active ]; ok $? "activates eve"
[ "$(sql "SELECT group_concat(action || '/' || channel, ' ') FROM (SELECT action, channel FROM events WHERE subscriber_id = (SELECT id FROM subscribers WHERE email = 'eve@subs.test') ORDER BY id) q")" = "subscribe-pending/mail subscribe-request/mail subscribe/mail" ]; ok $? "events: pending, request, subscribe, all channel mail"
fill $F/plain.eml $T/m "FROM=Gus <gus@subs.test>" RCPT=xen-users-request@$D "SUBJECT=subscribe" BODY=x MSGID=g1
t "subscribe to -request" 0 hpipe gus@subs.test xen-users-request@$D $T/m
[ "$(status gus@subs.test xen-users)" = pending ] && [ "$(sink_count gus@subs.test)" = 1 ]; ok $? "gus pending, confirmation sent"
fill $F/plain.eml $T/m FROM=MAILER-DAEMON@mx.subs.test RCPT=xen-users-subscribe@$D SUBJECT=subscribe BODY=x MSGID=m1
t "subscribe from the null sender" 0 hpipe "" xen-users-subscribe@$D $T/m
fill $F/plain.eml $T/m FROM=other-list-request@lists.example.com RCPT=xen-users-subscribe@$D SUBJECT=subscribe BODY=x MSGID=m2
t "subscribe from a list-like address" 0 hpipe other-list-request@lists.example.com xen-users-subscribe@$D $T/m
[ "$(sink_count other-list-request@lists.example.com)" = 0 ]; ok $? "gets no notice"
sed -i 's/^subscribe_by_mail = true/subscribe_by_mail = false/' "$T/lists/xen-devel.conf"
fill $F/plain.eml $T/m "FROM=Hal <hal@subs.test>" RCPT=xen-devel-announce-subscribe@$D SUBJECT=subscribe BODY=x MSGID=h1
t "a list closed to subscription by mail is 67" 67 hpipe hal@subs.test xen-devel-announce-subscribe@$D $T/m
like "$err" 'closed'; ok $? "saying it is closed"
[ -z "$(status hal@subs.test xen-devel)" ]; ok $? "no membership for hal"
BOBC=$(sink_count bob@subs.test)
sql "UPDATE memberships SET status = 'blocklisted' WHERE subscriber_id = $BOB AND list_id = (SELECT id FROM lists WHERE name = 'xen-devel')"
fill $F/plain.eml $T/m "FROM=Bob <bob@subs.test>" RCPT=xen-users-subscribe@$D SUBJECT=subscribe BODY=x MSGID=b9
sql "UPDATE memberships SET status = 'unsubscribed' WHERE subscriber_id = $BOB AND list_id = (SELECT id FROM lists WHERE name = 'xen-users')"
t "a blocklisted address asking to subscribe" 0 hpipe bob@subs.test xen-users-subscribe@$D $T/m
[ "$(status bob@subs.test xen-users)" = unsubscribed ] && [ "$(sink_count bob@subs.test)" = "$BOBC" ]; ok $? "changes nothing and gets no mail"
sql "UPDATE memberships SET status = 'active' WHERE subscriber_id = $BOB"

# --- replies to the list address
fill $F/reply.eml $T/m
t "a reply to an announcement" 0 hpipe dave@subs.test xen-users@$D $T/m
like "$err" 'route=reply .*reply [0-9]+ stored; forward to the owners sent'; ok $? "stored and forwarded"
R=$(sql "SELECT id FROM replies WHERE message_id = '5f3a1c2e-9b1d-4c55-a0e1-2d4c7e1b9f00@subs.test'")
[ "$(sql "SELECT subscriber_id || ' ' || kind || ' ' || forwarded FROM replies WHERE id = $R")" = "$DAVE reply 1" ]; ok $? "linked to dave, kind reply, forwarded"
sql_blob "SELECT raw FROM replies WHERE id = $R" > "$T/raw"; cmp -s "$T/m" "$T/raw"; ok $? "the raw message is stored whole"
O=$(sink_last community@xenproject.org)
[ -n "$O" ] && grep -q '^Reply-To: dave@subs.test' "$O" && grep -q '^X-Rcpt-Args: <events@xenproject.org>' "$O"; ok $? "owners got it with Reply-To: the subscriber"
grep -q '^Content-Type: message/rfc822' "$O" && grep -q 'discount for students' "$O"; ok $? "the original is attached"
t "the same reply delivered again" 0 hpipe dave@subs.test xen-users@$D $T/m
[ "$(sql "SELECT count(*) FROM replies WHERE message_id = '5f3a1c2e-9b1d-4c55-a0e1-2d4c7e1b9f00@subs.test'")" = 1 ] &&
[ "$(sink_count community@xenproject.org)" = 1 ]; ok $? "is stored and forwarded once"
fill $F/exchange-ooo.eml $T/m
N0=$(sink_total)
t "an Exchange out-of-office reply" 0 hpipe dave@subs.test xen-users@$D $T/m
[ "$(sql "SELECT kind || ' ' || forwarded FROM replies ORDER BY id DESC LIMIT 1")" = "autoreply 0" ] && [ "$(sink_total)" = "$N0" ]; ok $? "is recorded as an auto-reply, not forwarded"
for h in "Auto-Submitted: auto-replied" "Precedence: bulk" "Precedence: junk" "Precedence: list" "Precedence: auto_reply" "X-Autoreply: yes" "X-Autorespond: on" "X-Auto-Response-Suppress: OOF"; do
	fill $F/plain.eml $T/m "FROM=Ivy <ivy@subs.test>" RCPT=xen-users@$D "SUBJECT=Re: summit" "BODY=$h" "MSGID=a$(echo "$h" | cksum | cut -d' ' -f1)"
	sed -i "1i $h" $T/m
	hpipe ivy@subs.test xen-users@$D $T/m 2>/dev/null
	[ "$(sql "SELECT kind FROM replies ORDER BY id DESC LIMIT 1")" = autoreply ]; ok $? "$h is an auto-reply"
done
fill $F/plain.eml $T/m "FROM=Ivy <ivy@subs.test>" RCPT=xen-users@$D "SUBJECT=Out of Office: back on Monday" "BODY=away" MSGID=oo1
hpipe ivy@subs.test xen-users@$D $T/m 2>/dev/null
[ "$(sql "SELECT kind FROM replies ORDER BY id DESC LIMIT 1")" = autoreply ]; ok $? "an out-of-office subject is an auto-reply"
fill $F/plain.eml $T/m "FROM=Ivy <ivy@subs.test>" RCPT=xen-users@$D "SUBJECT=Re: summit" "BODY=Auto-Submitted: no" MSGID=no1
sed -i "1i Auto-Submitted: no" $T/m
hpipe ivy@subs.test xen-users@$D $T/m 2>/dev/null
[ "$(sql "SELECT kind || forwarded FROM replies ORDER BY id DESC LIMIT 1")" = reply1 ]; ok $? "Auto-Submitted: no is a person: forwarded"
fill $F/loop.eml $T/m
N0=$(sink_total)
t "mail carrying our List-Id and X-Loop" 0 hpipe xen-users-request@$D xen-users@$D $T/m
[ "$(sql "SELECT kind || forwarded FROM replies ORDER BY id DESC LIMIT 1")" = loop0 ] && [ "$(sink_total)" = "$N0" ]; ok $? "is never forwarded again"
fill $F/reply-unsubscribe.eml $T/m
t "a reply whose first line says unsubscribe" 0 hpipe dave@subs.test xen-users@$D $T/m
[ "$(sql "SELECT kind FROM replies ORDER BY id DESC LIMIT 1")" = unsubscribe ] && grep -q 'xen-users-confirm+c' "$(sink_last dave@subs.test)"; ok $? "asks dave to confirm, not forwarded"
[ "$(status dave@subs.test xen-users)" = active ]; ok $? "dave stays until he confirms"

t "herald replies lists them" 0 herald replies xen-users
like "$out" "^$R .* reply +yes .*dave@subs.test +Re: Xen Project User Summit" && like "$out" ' autoreply '; ok $? "with kind, forwarded, sender and subject"
t "herald replies --kind autoreply" 0 herald replies --kind autoreply
unlike "$out" ' reply +yes'; ok $? "only auto-replies"
t "herald reply show ID" 0 herald reply show $R
like "$out" '^Subscriber: +[0-9]+ \(dave@subs.test\)' && like "$out" 'discount for students'; ok $? "prints what herald knows, then the message"
t "herald reply show of a missing id is 67" 67 herald reply show 99999
t "herald replies of an unknown list is 67" 67 herald replies no-such-list

# --- the owner address
fill $F/plain.eml $T/m "FROM=Jo <jo@partner.test>" RCPT=xen-users-owner@$D "SUBJECT=Sponsoring the summit" "BODY=We would like to sponsor." MSGID=o1
t "mail to LIST-owner" 0 hpipe jo@partner.test xen-users-owner@$D $T/m
grep -q '^Subject: \[xen-users owner\] Sponsoring the summit' "$(sink_last community@xenproject.org)" &&
grep -q '^Reply-To: jo@partner.test' "$(sink_last community@xenproject.org)"; ok $? "is forwarded to the owners"

# --- complaints (ARF)
VT=$(tok b xen-users $BOB 7)
fill $F/arf-yahoo.eml $T/m VERP=$VT UTOKEN=$(tok u xen-users $BOB)
t "an ARF report at the bounces address (Yahoo shape)" 0 hpipe "" xen-users-bounces@$D $T/m
like "$err" 'complaint \(abuse\) from subscriber '$BOB' found by VERP token'; ok $? "finds bob by the VERP token"
[ "$(status bob@subs.test xen-users)" = blocklisted ] && [ "$(status bob@subs.test xen-devel)" = blocklisted ]; ok $? "bob is blocklisted on every list"
[ "$(sql "SELECT subscriber_id || ' ' || delivery_id || ' ' || feedback_type FROM complaints")" = "$BOB 7 abuse" ]; ok $? "the complaint is recorded with the delivery"
[ "$(sql "SELECT count(*) FROM events WHERE subscriber_id = $BOB AND action = 'complaint' AND channel = 'complaint'")" = 2 ]; ok $? "one event per list"
t "the same report again" 0 hpipe "" xen-users-bounces@$D $T/m
[ "$(sql "SELECT count(*) FROM complaints")" = 1 ]; ok $? "is recorded once"
fill $F/arf-rcpt.eml $T/m
N0=$(sink_count community@xenproject.org)
t "an ARF report at the owner address naming the recipient (Hotmail shape)" 0 hpipe "" xen-users-owner@$D $T/m
[ "$(status frank@subs.test xen-users)" = blocklisted ] && [ "$(status frank@subs.test xen-devel)" = blocklisted ]; ok $? "frank is blocklisted, found by Original-Rcpt-To"
[ "$(sink_count community@xenproject.org)" = "$N0" ] && unlike "$err" forwarded; ok $? "and the report is not forwarded as owner mail"

# --- bounces: handed to the bounce module with the verified token
VT=$(tok b xen-users $ALICE 9)
fill $F/bounce-dsn.eml $T/m VERP=$VT RCPTADDR=alice@subs.test
t "a DSN at LIST-bounces+TOKEN" 0 hpipe "" xen-users-bounces+$VT@$D $T/m
[ "$(sql "SELECT subscriber_id || ' ' || delivery_id FROM inbound_bounces ORDER BY id DESC LIMIT 1")" = "$ALICE 9" ]; ok $? "recorded with subscriber and delivery"
[ "$(sql "SELECT b.subscriber_id || ' ' || b.source || ' ' || b.kind || ' ' || b.action FROM bounces b JOIN inbound_bounces i ON i.mail_id = b.mail_id ORDER BY b.id DESC LIMIT 1")" = "$ALICE verp hard inactive" ]; ok $? "classified by the bounce policy; alice left xen-users above, so not scored"
t "delivered twice" 0 hpipe "" xen-users-bounces+$VT@$D $T/m
[ "$(sql "SELECT count(*) FROM inbound_bounces")" = 1 ]; ok $? "stored once"
fill $F/bounce-dsn.eml $T/m VERP=$VT RCPTADDR=alice@subs.test
sed -i 's/^Diagnostic-Code: smtp; 550/Diagnostic-Code: smtp; 551/' $T/m
t "a bounce to LIST-bounces@ with the token only inside" 0 hpipe "" xen-users-bounces@$D $T/m
[ "$(sql "SELECT subscriber_id || ' ' || delivery_id FROM inbound_bounces ORDER BY id DESC LIMIT 1")" = "$ALICE 9" ]; ok $? "finds the token in the returned headers"
t "a bounce with a forged token" 0 hpipe "" xen-users-bounces+$(tok b xen-devel $ALICE 9)@$D $F/loop.eml
[ "$(sql "SELECT coalesce(subscriber_id, 0) FROM inbound_bounces ORDER BY id DESC LIMIT 1")" = 0 ]; ok $? "is stored without a subscriber"
GRACE=$(add_sub grace@subs.test active xen-users)
VG=$(tok b xen-users $GRACE 10)
fill $F/bounce-dsn.eml $T/m VERP=$VG RCPTADDR=grace@subs.test
t "a DSN for an active member" 0 hpipe "" xen-users-bounces+$VG@$D $T/m
[ "$(sql "SELECT count(*) FROM bounce_scores WHERE subscriber_id = $GRACE AND score = 1.0 AND hard = 1")" = 1 ]; ok $? "scored as one hard bounce (1.0)"
like "$err" '1 scored'; ok $? "the log line says it was scored"

if [ "$VIA" = pipe ]; then
# --- the environment of Postfix local(8) and Exim
fill $F/plain.eml $T/m "FROM=Kim <kim@subs.test>" RCPT=xen-users-subscribe@$D SUBJECT=subscribe BODY=x MSGID=k1
expect 0 env RECIPIENT=xen-users-subscribe@$D SENDER=kim@subs.test "$HERALD" pipe < $T/m; ok $? "local(8): RECIPIENT and SENDER from the environment"
[ "$(status kim@subs.test xen-users)" = pending ]; ok $? "kim pending"
KT=$(tok u xen-users $DAVE)
fill $F/gmail-unsubscribe.eml $T/m RCPT=x
expect 0 env LOCAL_PART=xen-users-unsubscribe LOCAL_PART_SUFFIX=+$KT DOMAIN=$D SENDER=dave@subs.test "$HERALD" pipe < $T/m; ok $? "Exim: LOCAL_PART, LOCAL_PART_SUFFIX, DOMAIN"
[ "$(status dave@subs.test xen-users)" = unsubscribed ]; ok $? "dave unsubscribed by his token"
t "no recipient at all defers (75)" 75 hpipe kim@subs.test "" $T/m
else
	# what the checks below need, over LMTP
	fill $F/plain.eml $T/m "FROM=Kim <kim@subs.test>" RCPT=xen-users-subscribe@$D SUBJECT=subscribe BODY=x MSGID=k1
	t "kim subscribes" 0 hpipe kim@subs.test xen-users-subscribe@$D $T/m
	fill $F/gmail-unsubscribe.eml $T/m RCPT=x
	t "dave unsubscribes by his token" 0 hpipe dave@subs.test xen-users-unsubscribe+$(tok u xen-users $DAVE)@$D $T/m

# --- size cap, configuration, database, relay
cp "$HERALD_CONFIG" $T/small.conf; echo 'pipe { max_size = 2000 }' >> $T/small.conf
head -c 5000 /dev/zero | tr '\0' x | fold -w 70 > $T/big-body
fill $F/plain.eml $T/m "FROM=Lea <lea@subs.test>" RCPT=xen-users@$D SUBJECT=big BODY=big MSGID=big1
cat $T/big-body >> $T/m
expect 69 "$HERALD" -c $T/small.conf pipe -f lea@subs.test xen-users@$D < $T/m; ok $? "a message over pipe.max_size is refused"
like "$err" '^5\.3\.4 message too big'; ok $? "with 5.3.4 first on stderr"
expect 0 "$HERALD" -c $T/small.conf pipe -f "" xen-users@$D < $T/m; ok $? "from the null sender it is dropped, 0"
echo 'pipe {' > $T/broken.conf
expect 75 "$HERALD" -c $T/broken.conf pipe -f lea@subs.test xen-users@$D < $F/reply.eml; ok $? "a broken configuration file defers (75), never bounces"
like "$err" 'deferred'; ok $? "and says deferred"
sed "s|data_dir = .*|data_dir = \"$T/nodata\"|" "$HERALD_CONFIG" > $T/nodb.conf
expect 75 "$HERALD" -c $T/nodb.conf pipe -f lea@subs.test xen-users@$D < $F/reply.eml; ok $? "a missing database defers (75)"
fi
LOU=$(add_sub lou@subs.test active xen-users)
sink_stop
GT=$(tok u xen-users $LOU)
fill $F/gmail-unsubscribe.eml $T/m RCPT=x
t "relay down for the goodbye: 0, the unsubscribe is committed" 0 hpipe lou@subs.test xen-users-unsubscribe+$GT@$D $T/m
[ "$(status lou@subs.test xen-users)" = unsubscribed ]; ok $? "lou is unsubscribed"
like "$err" 'status=0: unsubscribed subscriber [0-9]+ \(token\); goodbye queued, not sent now \(.*Connection refused.*\): retried later'; ok $? "the log says the goodbye waits, and why"
[ "$(sql "SELECT kind || ' ' || state || ' ' || attempts FROM outbox WHERE subscriber_id = $LOU")" = "goodbye queued 1" ]; ok $? "it is in the outbox, tried once"
sink_start
sink_move
t "herald maintain after the retry delay" 0 herald maintain --now $(( $(date +%s) + 400 ))
like "$out" '^outbox: 1 sent, 0 failed, 0 waiting' && [ "$(sink_count lou@subs.test)" = 1 ]; ok $? "sends lou's one goodbye"
t "and again" 0 herald maintain --now $(( $(date +%s) + 800 ))
[ "$(sink_count lou@subs.test)" = 1 ] && [ "$(sql "SELECT state FROM outbox WHERE subscriber_id = $LOU")" = sent ]; ok $? "sends nothing more"

# --- the spool keeps what was handled
if [ "$VIA" = pipe ]; then
	[ "$(ls $T/data/spool/new | wc -l)" = 0 ] && [ "$(ls $T/data/spool/cur | wc -l)" -gt 20 ]; ok $? "spool: nothing left in new, handled mail in cur"
else
	[ "$(grep -c '^From ' $T/data/spool/cur/lmtp-*.mbox)" -gt 20 ]; ok $? "spool: handled mail in the archive's mbox"
fi
# --- pending subscriptions expire (herald maintain calls pipe_expire_pending)
sql "UPDATE memberships SET changed = changed - 73 * 3600 WHERE subscriber_id = (SELECT id FROM subscribers WHERE email = 'gus@subs.test')"
[ "$("$BUILD/tools/pipe-expire" "$(store_path)" 72)" = 1 ]; ok $? "an unconfirmed subscription older than 72 hours expires"
[ -z "$(status gus@subs.test xen-users)" ] && [ "$(status kim@subs.test xen-users)" = pending ]; ok $? "gus's membership is gone, kim's recent one stays"
[ "$(sql "SELECT count(*) FROM events WHERE action = 'subscribe-expired' AND channel = 'mail'")" = 1 ]; ok $? "with a subscribe-expired event"

# --- herald mta
t "herald mta postfix" 0 herald mta postfix --user herald --bin /usr/local/bin/herald
like "$out" '^herald_destination_recipient_limit = 1$' && like "$out" '^recipient_delimiter = \+$' &&
like "$out" 'flags=DRXq user=herald null_sender=$' && like "$out" 'argv=/usr/local/bin/herald -c .* pipe -f \$\{sender\} -- \$\{recipient\}$'; ok $? "main.cf and master.cf lines"
[ "$(printf '%s\n' "$out" | grep -c '@lists.xenproject.org	herald:$')" = 14 ]; ok $? "a transport map line for each of the 7 addresses of both lists"
t "herald mta exim" 0 herald mta exim
like "$out" 'local_part_suffix = \+\*' && like "$out" 'temp_errors = 75' && like "$out" '"\$local_part\$local_part_suffix@\$domain"'; ok $? "router and transport"
t "herald mta frobnicate is a usage error" 64 herald mta frobnicate
plan $_n
finish
