#!/bin/sh
# herald serve: a real server on loopback. One-click unsubscribe driven
# from a message herald rendered (the URL from its own List-Unsubscribe
# header), the unsubscribe page, undo, preferences, subscribe and
# confirm by the link in the mail smtp-sink caught, the archive and its
# feed, health, one log line per request without tokens, SIGTERM.
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0700/serve-lib.sh"
plan 69

sink_start
hinit 'web {' '  base_url = "https://lists.example.org/herald/"' '}'
sink_conf
echo 'editable_attributes = { "role", "Region" }' >> "$T/lists/xen-devel.conf"
# the goodbye after a one-click is off by default (t0706); here it is on
echo 'goodbye_after_one_click = true' >> "$T/lists/xen-devel.conf"
# the example announcements' audiences name xen-users' segments
sed -n '/^segment /,/^}/p' "$TOP/lists/xen-users.conf" >> "$T/lists/xen-devel.conf"
ALICE=$(add_sub alice@subs.test active xen-users xen-devel)
BOB=$(add_sub bob@subs.test active xen-users xen-devel)
CAROL=$(add_sub carol@subs.test active xen-devel)
serve_start
t "GET /health" 0 curl -sf "$WEB/health"
[ "$out" = ok ]; ok $? "says ok"

# --- one-click from the message herald renders
expect 0 herald render summit -l xen-devel --to alice@subs.test
LU=$(printf '%s\n' "$out" | header List-Unsubscribe)
URL=$(printf '%s' "$LU" | sed -n 's/.*<\(https:[^>]*\)>.*/\1/p')
like "$URL" '^https://lists.example.org/herald/unsubscribe/u'; ok $? "the list's URL derives from web.base_url ($URL)"
printf '%s\n' "$out" | tr -d '\r' | grep -q '^List-Unsubscribe-Post: List-Unsubscribe=One-Click$'; ok $? "with List-Unsubscribe-Post"
P=${URL#https://lists.example.org/herald}
AT=${P#/unsubscribe/}
printf '%s\n' "$out" > "$T/alice.eml"
$PY -c 'import sys, email; m = email.message_from_file(open(sys.argv[1])); print("\n".join(p.get_payload(decode=True).decode() for p in m.walk() if p.get_content_type() in ("text/plain", "text/html")))' "$T/alice.eml" > "$T/alice.txt"
[ "$(grep -c "https://lists.example.org/herald/preferences/$AT" "$T/alice.txt")" -ge 2 ]; ok $? "the text and HTML parts link her preferences page (preferences_url)"
hch -d List-Unsubscribe=One-Click "$WEB$P"
[ "$code" = 200 ]; ok $? "curl -d List-Unsubscribe=One-Click answers 200 ($code)"
[ "$(status alice@subs.test xen-devel)" = unsubscribed ]; ok $? "alice is off xen-devel, on disk"
[ "$(status alice@subs.test xen-users)" = active ]; ok $? "and still on xen-users"
[ "$(sql "SELECT count(*) FROM events WHERE subscriber_id = $ALICE AND action = 'unsubscribe' AND channel = 'web'")" = 1 ]; ok $? "one unsubscribe event, channel web"
unlike "$hdrs" '^Set-Cookie'; ok $? "no cookie"
like "$body" 'no longer subscribed'; ok $? "the done page says so"
like "$body" "action=\"../resubscribe/$AT\""; ok $? "and offers undo"
like "$body" "href=\"../preferences/$AT\""; ok $? "and links the preferences"
sink_wait alice@subs.test 1
[ "$(sink_count alice@subs.test)" = 1 ]; ok $? "alice got one goodbye"
[ "$(sql "SELECT state FROM outbox WHERE kind = 'goodbye'")" = sent ]; ok $? "through the outbox, sent"
grep -q "lists.example.org/herald/subscribe/xen-devel" "$(sink_last alice@subs.test)"; ok $? "naming the web form to come back"
hc -d List-Unsubscribe=One-Click "$WEB$P"
[ "$code" = 200 ] && [ "$(sink_count alice@subs.test)" = 1 ]; ok $? "again: 200, idempotent, no second goodbye"
[ "$(sql "SELECT count(*) FROM events WHERE subscriber_id = $ALICE AND action = 'unsubscribe'")" = 1 ]; ok $? "and no second event"

# multipart/form-data (RFC 8058 allows both)
BT=$(tok u xen-devel $BOB)
hc -F List-Unsubscribe=One-Click "$WEB/unsubscribe/$BT"
[ "$code" = 200 ] && [ "$(status bob@subs.test xen-devel)" = unsubscribed ]; ok $? "multipart/form-data one-click works too"
# the shipped list's own URL (xen-users sets unsubscribe_base_url)
expect 0 herald render summit -l xen-users --to bob@subs.test &&
    like "$(printf '%s\n' "$out" | header List-Unsubscribe)" 'https://lists.xenproject.org/unsubscribe/u'; ok $? "a list's own unsubscribe_base_url wins over base_url"

# --- undo
hc -X POST "$WEB/resubscribe/$AT"
[ "$code" = 200 ] && [ "$(status alice@subs.test xen-devel)" = active ]; ok $? "undo: alice is back ($code)"
like "$body" '<strong>alice@subs.test</strong> is subscribed to <strong>Xen Project Developers</strong> again\.'; ok $? "the page says so"
[ "$(sql "SELECT channel FROM events WHERE subscriber_id = $ALICE AND action = 'resubscribe'")" = web ]; ok $? "a resubscribe event, channel web"
hc -X POST "$WEB/resubscribe/$AT"
[ "$code" = 200 ] && [ "$(sql "SELECT count(*) FROM events WHERE subscriber_id = $ALICE AND action = 'resubscribe'")" = 1 ]; ok $? "undo twice: one event"
sql "UPDATE memberships SET status = 'blocklisted' WHERE subscriber_id = $CAROL"
CT=$(tok u xen-devel $CAROL)
hc -X POST "$WEB/resubscribe/$CT"
[ "$(status carol@subs.test xen-devel)" = blocklisted ]; ok $? "undo never lifts a blocklisting"
sql "UPDATE memberships SET status = 'active' WHERE subscriber_id = $CAROL"

# --- the GET page changes nothing
S0=$(state)
hc "$WEB/unsubscribe/$CT"
[ "$code" = 200 ]; ok $? "GET /unsubscribe/TOKEN is a page"
like "$body" 'carol@subs.test' && like "$body" 'Xen Project Developers'; ok $? "naming the address and the list"
like "$body" '<form method="post" action="">' && like "$body" 'name="List-Unsubscribe" value="One-Click"'; ok $? "with one button that POSTs"
unlike "$body" '<script'; ok $? "no script"
hc -I "$WEB/unsubscribe/$CT"
hc "$WEB/unsubscribe/$CT?List-Unsubscribe=One-Click"
[ "$(state)" = "$S0" ] && [ "$(status carol@subs.test xen-devel)" = active ]; ok $? "GET and HEAD (even with the form in the query) change nothing"

# --- preferences
hc "$WEB/preferences/$CT"
[ "$code" = 200 ] && like "$body" 'carol@subs.test'; ok $? "GET /preferences/TOKEN"
like "$body" 'name="attr.role"' && like "$body" 'name="attr.region"'; ok $? "the list's editable attributes (lowercased)"
like "$body" 'Xen Project Developers: active'; ok $? "her lists"
hc --data-urlencode action=save --data-urlencode "name=Carol Q" --data-urlencode attr.role=maintainer --data-urlencode attr.region=europe --data-urlencode attr.vip=yes "$WEB/preferences/$CT"
[ "$code" = 200 ] && like "$body" 'Saved'; ok $? "POST saves ($code)"
[ "$(sql "SELECT name FROM subscribers WHERE id = $CAROL")" = "Carol Q" ]; ok $? "the name"
[ "$(sql "SELECT json_extract(attrs, '\$.role') || ',' || json_extract(attrs, '\$.region') FROM subscribers WHERE id = $CAROL")" = maintainer,europe ]; ok $? "the attributes"
[ "$(sql "SELECT count(*) FROM subscriber_attributes WHERE subscriber_id = $CAROL AND key = 'vip'")" = 0 ]; ok $? "but not one the list does not mark editable"
[ "$(sql "SELECT count(*) FROM events WHERE subscriber_id = $CAROL AND action = 'preferences' AND channel = 'web'")" = 1 ]; ok $? "a preferences event, channel web"
hc --data-urlencode action=unsubscribe-all "$WEB/preferences/$(tok u xen-users $BOB)"
[ "$code" = 200 ] && [ "$(status bob@subs.test xen-users)" = unsubscribed ] && [ "$(status bob@subs.test xen-devel)" = unsubscribed ]; ok $? "unsubscribe from all"

# --- subscribe, confirm by the link in the mail
hc "$WEB/subscribe/xen-devel"
[ "$code" = 200 ] && like "$body" 'name="email"' && like "$body" 'name="attr.role"'; ok $? "GET /subscribe/LIST: the form"
hc --data-urlencode email=dave@subs.test --data-urlencode name=Dave --data-urlencode attr.role=user "$WEB/subscribe/xen-devel"
[ "$code" = 200 ] && like "$body" 'Almost done'; ok $? "POST: confirmation sent ($code)"
[ "$(status dave@subs.test xen-devel)" = pending ]; ok $? "dave is pending"
[ "$(sql "SELECT json_extract(attrs, '\$.role') FROM subscribers WHERE email = 'dave@subs.test'")" = user ]; ok $? "with his attribute"
sink_wait dave@subs.test 1
[ "$(sink_count dave@subs.test)" = 1 ]; ok $? "one confirmation mail"
LINK=$(grep -o 'https://lists.example.org/herald/confirm/[a-z0-9-]*' "$(sink_last dave@subs.test)")
like "$LINK" 'confirm/s'; ok $? "it carries the web link ($LINK)"
like "$(header Reply-To < "$(sink_last dave@subs.test)")" 'xen-devel-announce-confirm\+s'; ok $? "and still the reply address"
CP=${LINK#https://lists.example.org/herald}
hc "$WEB$CP"
[ "$code" = 200 ] && like "$body" '<button type="submit">Confirm</button>' && [ "$(status dave@subs.test xen-devel)" = pending ]; ok $? "GET /confirm/TOKEN: a button, still pending"
hc -X POST "$WEB$CP"
[ "$code" = 200 ] && [ "$(status dave@subs.test xen-devel)" = active ]; ok $? "POST confirms: active"
[ "$(sql "SELECT channel FROM events e JOIN subscribers s ON s.id = e.subscriber_id WHERE s.email = 'dave@subs.test' AND action = 'subscribe'")" = web ]; ok $? "a subscribe event, channel web"
# (manager: a value the segments use, so the form itself is one the page offers)
hc --data-urlencode email=dave@subs.test --data-urlencode "name=Mallory" --data-urlencode attr.role=manager "$WEB/subscribe/xen-devel"
[ "$code" = 200 ] && [ "$(sql "SELECT name || json_extract(attrs, '\$.role') FROM subscribers WHERE email = 'dave@subs.test'")" = Daveuser ]; ok $? "a form for a known address changes nothing of theirs"
[ "$(sink_count dave@subs.test)" = 1 ]; ok $? "and mails nothing to the active"

# --- the archive
t "a campaign to the maintainers (carol)" 0 herald send summit -l xen-devel -s maintainers --yes
CAMP=$(sql "SELECT max(id) FROM campaigns")
hc "$WEB/archive/xen-devel/"
[ "$code" = 200 ] && like "$body" "href=\"$CAMP\""; ok $? "GET /archive/LIST/ lists the campaign ($code)"
like "$body" "Summit|summit"; ok $? "by its subject"
hc "$WEB/archive/xen-devel/$CAMP"
[ "$code" = 200 ] && like "$body" '<html'; ok $? "GET /archive/LIST/ID: the announcement's HTML"
unlike "$body" 'carol|Carol|alice|dave'; ok $? "rendered for no one: no subscriber's name or address"
unlike "$body" "$(tok u xen-devel $CAROL)"; ok $? "and no subscriber's token"
unlike "$body" 'reader@invalid|/unsubscribe/|/preferences/|mailto:xen-devel-announce-unsubscribe'; ok $? "and no personal footer: no address, no link to leave or to preferences"
like "$body" 'From the archive of Xen Project Developers\. <a href="\.\./\.\./subscribe/xen-devel"'; ok $? "but a neutral one, with the subscribe form's link"
hc "$WEB/archive/xen-devel/feed.atom"
[ "$code" = 200 ] && printf '%s' "$body" | $PY -c 'import sys, xml.dom.minidom as m; d = m.parseString(sys.stdin.buffer.read()); sys.exit(0 if d.getElementsByTagName("entry") else 1)'; ok $? "feed.atom is XML with an entry"
echo 'archive = "private"' >> "$T/lists/xen-users.conf"
echo 'archive = "off"' >> "$T/lists/xen-devel.conf"
serve_stop
[ "$serve_rc" = 0 ]; ok $? "SIGTERM: herald serve exits 0"
tail -1 "$T/serve.log" | grep -q 'serve: stopped'; ok $? "saying it stopped"
serve_start
hc "$WEB/archive/xen-users/"
[ "$code" = 403 ]; ok $? "archive = private: 403 ($code)"
hc "$WEB/archive/xen-devel/"
[ "$code" = 404 ]; ok $? "archive = off: 404 ($code)"

# --- the log
N=$(grep -c 'serve: 127.0.0.1 ' "$T/serve.log")
[ "$N" -ge 25 ]; ok $? "one log line per request ($N)"
! grep -q -e "$AT" -e "$CT" -e "$BT" -e "${CP#/confirm/}" "$T/serve.log"; ok $? "no token in the log"
grep -q 'POST /unsubscribe/- 200 .*unsubscribed subscriber' "$T/serve.log"; ok $? "the path without its token, the status, the outcome"

# --- herald web nginx, the systemd unit
expect 0 herald web nginx &&
    like "$out" 'proxy_pass http://127.0.0.1:8025/;' && like "$out" 'location /herald/' && like "$out" 'X-Forwarded-For'; ok $? "herald web nginx: a proxy block"
grep -q '^ExecStart=.*herald serve' "$TOP/etc/systemd/herald-serve.service"; ok $? "etc/systemd has a unit for herald serve"
finish
