#!/bin/sh
# t0727-web-pages.sh - what subscribers and visitors see on herald serve's
# pages (issue 27): every page has a <main> landmark and nothing outside
# landmarks; the visitor's pages (subscribe, "Almost done", confirm, the
# archive) carry no "You get these announcements because you
# subscribed…"; the error page names the owners' address; an archived
# announcement says when it was sent, leads back to the archive and
# leaves out what only makes sense in the mail, and the archive leaves
# out a campaign that reached nobody; preferences offer the values the
# list's segments use and refuse anything else. Then every page in
# headless chromium at 375 and 1200 px: no axe-core violation of any
# impact (tests/vendor/axe-core), no sideways scrolling, screenshots in
# $BUILD/screenshots/web-NAME-WIDTH.png.
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0700/serve-lib.sh"
plan 18
SHOTS=$BUILD/screenshots
WHY='You get these announcements because'

sink_start
hinit 'web {' '  base_url = "https://lists.example.org"' '}'
sink_conf
echo 'editable_attributes = { "role" }' >> "$T/lists/xen-users.conf"
herald sub add xen-users alice@subs.test --name Alice --attr role=developer >/dev/null
herald sub add xen-users bob@subs.test --attr role=user >/dev/null
ALICE=$(sql "SELECT id FROM subscribers WHERE email = 'alice@subs.test'")
serve_start
AT=$(tok u xen-users $ALICE)
# two campaigns: one that went out, one every delivery of which the
# relay refused (an smtp-sink that answers every RCPT with a 5xx)
herald send summit -l xen-users -s developers --yes >/dev/null 2>&1
C1=$(sql "SELECT max(id) FROM campaigns")
REFPORT=$(free_port)
/usr/sbin/smtp-sink -u nobody -f RCPT 127.0.0.1:$REFPORT 16 >/dev/null 2>&1 &
at_exit "kill $!"
$PY -c 'import socket, sys, time
for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close(); break
    except OSError:
        time.sleep(0.05)' "$REFPORT"
OLDPORT=$SINKPORT; SINKPORT=$REFPORT; sink_move
herald send summit -l xen-users -s developers --yes --again >/dev/null 2>&1
C2=$(sql "SELECT max(id) FROM campaigns")
SINKPORT=$OLDPORT; sink_move
[ "$C2" -gt "$C1" ] && [ "$(sql "SELECT count(*) FROM deliveries WHERE campaign_id = $C2 AND state = 'failed'")" -ge 1 ] &&
    [ "$(sql "SELECT count(*) FROM deliveries WHERE campaign_id = $C2 AND state <> 'failed'")" = 0 ]
ok $? "campaign $C2: every delivery refused"

# 6: the visitor's pages carry no subscriber's footer; a subscriber's do
hc "$WEB/subscribe/xen-users"; S1=$body
hc -d email=erin@subs.test "$WEB/subscribe/xen-users"; S2=$body
sink_wait erin@subs.test 1
CE=$(grep -o 'https://lists.example.org/confirm/[a-z0-9-]*' "$(sink_last erin@subs.test)")
CE=${CE#https://lists.example.org}
hc "$WEB$CE"; S3=$body
hc "$WEB/archive/xen-users/"; S4=$body
bad=
for p in "$S1" "$S2" "$S3" "$S4"; do
	case $p in *"$WHY"*) bad="$bad x";; esac
	case $p in *'<main'*) ;; *) bad="$bad nomain";; esac
done
[ -z "$bad" ] && like "$S2" 'Almost done' && like "$S3" 'Confirm'
ok $? "subscribe form, Almost done, confirm and the archive: no subscriber's footer ($bad)"
hc "$WEB/unsubscribe/$AT"; U1=$body
hc "$WEB/preferences/$AT"; U2=$body
like "$U1" "$WHY" && like "$U2" "$WHY"
ok $? "the unsubscribe and preferences pages keep it"

# 7: the error page names the owners' address
hc "$WEB/unsubscribe/aaaa-bbbb-cccc"
[ "$code" = 400 ] && like "$body" 'href="mailto:xen-users-owner@lists.xenproject.org"'
ok $? "a link that does not work: the page names the owners' address"
hc -X POST "$WEB/unsubscribe/$AT"
[ "$code" = 400 ] && like "$body" 'mailto:xen-users-owner@lists.xenproject.org'
ok $? "an error on a known list: its owners' address"

# 8: the archive
hc "$WEB/archive/xen-users/"
like "$body" "href=\"$C1\"" && unlike "$body" "href=\"$C2\""
ok $? "the archive lists campaign $C1, not $C2 that reached nobody"
hc "$WEB/archive/xen-users/$C2"; [ "$code" = 404 ]
ok $? "nor opens it"
hc "$WEB/archive/xen-users/$C1"; A=$body
DAY=$(date -u -d @"$(sql "SELECT started FROM campaigns WHERE id = $C1")" +%F)
like "$A" "<time datetime=\"${DAY}T[0-9:]*Z\">$DAY</time>" && like "$A" '<a href="\./"'
ok $? "the archived announcement says when it was sent ($DAY) and links back"
unlike "$A" 'attached calendar' && like "$(cat "$(sink_last alice@subs.test)")" 'attached calendar'
ok $? "the mail says 'The attached calendar file…', the archive does not"
like "$A" '<main>' && unlike "$A" 'alice@subs\.test'
ok $? "the announcement is the page's main, for nobody"

# 9: preferences offer the segments' values
like "$U2" '<legend>role</legend>' &&
    like "$U2" '<input type="radio" name="attr.role" value="developer" checked><span>developer: hypervisor and toolstack developers</span>' &&
    like "$U2" '<input type="radio" name="attr.role" value="user"><span>user: people who run' &&
    like "$U2" '<input type="radio" name="attr.role" value="maintainer">' &&
    [ "$(printf '%s' "$U2" | grep -c 'name="attr.role"')" = 6 ]
ok $? "preferences: the six values the segments use, labelled from the list file, the current one checked"
hc -d action=save -d name=Alice --data-urlencode 'attr.role=Developer ' "$WEB/preferences/$AT"
[ "$code" = 400 ] && like "$body" 'not one of' &&
    [ "$(sql "SELECT json_extract(attrs, '\$.role') FROM subscribers WHERE id = $ALICE")" = developer ]
ok $? "\"Developer \" is refused with a message; alice keeps developer"
hc -d action=save -d name=Alice -d attr.role=user "$WEB/preferences/$AT"
[ "$code" = 200 ] && like "$body" 'Saved' &&
    [ "$(sql "SELECT json_extract(attrs, '\$.role') FROM subscribers WHERE id = $ALICE")" = user ]
ok $? "a value offered is saved"
t "herald lists shows the move" 0 herald lists
like "$out" 'developers -1' && like "$out" 'users \+1'
ok $? "the manager sees it: developers -1, users +1 by web edits"
t "herald lists --json" 0 herald lists --json
printf '%s' "$out" | $PY -c 'import json, sys
l = {x["name"]: x for x in json.load(sys.stdin)}["xen-users"]
m = l["segment_moves"]
sys.exit(0 if m["developers"]["left"] == 1 and m["users"]["joined"] == 1 else 1)'
ok $? "and in --json: segment_moves"

# the browser: every page at 375 and 1200 px
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ] ||
    ! $PY -c 'import selenium' 2>/dev/null; then
	skip "no chromium, chromedriver or python3-selenium"
	finish
fi
hc -d email=frank@subs.test "$WEB/subscribe/xen-users"
sink_wait frank@subs.test 1
CF=$(grep -o 'https://lists.example.org/confirm/[a-z0-9-]*' "$(sink_last frank@subs.test)")
CF=${CF#https://lists.example.org}
rm -f "$SHOTS"/web-*.png
BT='button[type=submit]'
$PY "$TOP/tests/t0727/axe.py" "$SHOTS" web \
    "subscribe|$WEB/subscribe/xen-users" \
    "almost-done|$WEB/subscribe/xen-users|fill:email=gina@subs.test;click:form $BT" \
    "confirm|$WEB$CF" \
    "confirmed|$WEB$CE $WEB$CF|click:form $BT" \
    "preferences|$WEB/preferences/$AT" \
    "preferences-saved|$WEB/preferences/$AT|check:attr.role=developer;click:form $BT" \
    "preferences-refused|$WEB/preferences/$AT|setvalue:attr.role=Developer ;click:form $BT" \
    "unsubscribe|$WEB/unsubscribe/$AT" \
    "unsubscribed|$WEB/unsubscribe/$AT|click:form $BT" \
    "resubscribed|$WEB/unsubscribe/$AT|click:form $BT;click:form $BT" \
    "error|$WEB/unsubscribe/aaaa-bbbb-cccc" \
    "archive|$WEB/archive/xen-users/" \
    "announcement|$WEB/archive/xen-users/$C1" >"$T/axe.out" 2>&1
rc=$?
sed 's/^/# /' "$T/axe.out"
[ $rc = 0 ] && [ "$(grep -c '^ok ' "$T/axe.out")" = 26 ]
ok $? "13 pages at 375 and 1200 px: no axe-core violation, no sideways scroll"
finish
