#!/bin/sh
# What herald mails after a subscriber acts on the web, against a real
# herald serve and smtp-sink. Auto-Submitted (RFC 3834, 5): a notice that
# answers a message (after mail to the list's addresses) is auto-replied,
# one that follows a web action is auto-generated. The goodbye after a
# one-click unsubscribe (the mail client's RFC 8058 button, or the
# unsubscribe page's button, which posts the same form) is off unless
# the list sets goodbye_after_one_click = true; an unsubscribe by mail
# still gets it (goodbye_notice), and the done page says a message comes
# only when one does.
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0700/serve-lib.sh"
F=$TOP/tests/t0500
plan 12

sink_start
hinit 'web {' '  base_url = "https://lists.example.org"' '}'
sink_conf
ALICE=$(add_sub alice@subs.test active xen-devel)
BOB=$(add_sub bob@subs.test active xen-devel)
CAROL=$(add_sub carol@subs.test active xen-devel)
serve_start

# a confirmation asked for on the web: auto-generated
hc --data-urlencode email=erin@subs.test "$WEB/subscribe/xen-devel"
[ "$code" = 200 ] && [ "$(status erin@subs.test xen-devel)" = pending ]; ok $? "erin subscribes with the form: pending ($code)"
sink_wait erin@subs.test 1
M=$(sink_last erin@subs.test)
grep -q '^Subject: Confirm your subscription' "$M" &&
    [ "$(tr -d '\r' < "$M" | grep -c '^Auto-Submitted: auto-generated$')" = 1 ]
ok $? "her confirmation request says Auto-Submitted: auto-generated (it answers no message)"

# a one-click with the default: no goodbye, and the page promises none
hc -d List-Unsubscribe=One-Click "$WEB/unsubscribe/$(tok u xen-devel $ALICE)"
[ "$code" = 200 ] && [ "$(status alice@subs.test xen-devel)" = unsubscribed ]; ok $? "alice's one-click unsubscribes her ($code)"
# the goodbye would be queued in the unsubscribe's own transaction
[ "$(sql "SELECT count(*) FROM outbox WHERE kind = 'goodbye'")" = 0 ]; ok $? "by default no goodbye is queued after a one-click"
unlike "$body" 'on its way'; ok $? "and the done page promises none"

# by mail, with the same token: the goodbye answers her mail
CT=xen-devel-announce-unsubscribe+$(tok u xen-devel $CAROL)@$D
fill $F/gmail-unsubscribe.eml $T/m RCPT=$CT
t "carol unsubscribes by mail (the token address)" 0 hpipe carol@subs.test $CT $T/m
sink_wait carol@subs.test 1
M=$(sink_last carol@subs.test)
grep -q '^Subject: You are unsubscribed' "$M" &&
    [ "$(tr -d '\r' < "$M" | grep -c '^Auto-Submitted: auto-replied$')" = 1 ]
ok $? "she gets the goodbye, Auto-Submitted: auto-replied (it answers her mail)"

# the list turns the goodbye after a one-click on
serve_stop
echo 'goodbye_after_one_click = true' >> "$T/lists/xen-devel.conf"
serve_start
hc -d List-Unsubscribe=One-Click "$WEB/unsubscribe/$(tok u xen-devel $BOB)"
[ "$code" = 200 ] && [ "$(status bob@subs.test xen-devel)" = unsubscribed ]; ok $? "with goodbye_after_one_click = true, bob's one-click ($code)"
like "$body" 'A message confirming it is on its way'; ok $? "the done page says a message comes"
sink_wait bob@subs.test 1
M=$(sink_last bob@subs.test)
grep -q '^Subject: You are unsubscribed' "$M"; ok $? "and bob gets the goodbye"
[ "$(tr -d '\r' < "$M" | grep -c '^Auto-Submitted: auto-generated$')" = 1 ]; ok $? "Auto-Submitted: auto-generated (it follows a web action)"

# goodbye_notice = false still wins
serve_stop
sed -i 's/^goodbye_notice = .*/goodbye_notice = false/' "$T/lists/xen-devel.conf"
grep -q '^goodbye_notice = false' "$T/lists/xen-devel.conf" || echo 'goodbye_notice = false' >> "$T/lists/xen-devel.conf"
DAN=$(add_sub dan@subs.test active xen-devel)
serve_start
hc -d List-Unsubscribe=One-Click "$WEB/unsubscribe/$(tok u xen-devel $DAN)"
[ "$code" = 200 ] && [ "$(sql "SELECT count(*) FROM outbox WHERE kind = 'goodbye' AND subscriber_id = $DAN")" = 0 ]
ok $? "goodbye_notice = false: no goodbye even with goodbye_after_one_click"
finish
