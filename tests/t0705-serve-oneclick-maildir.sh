#!/bin/sh
# One-click unsubscribe end to end from a received message: herald send
# hands an announcement to a real Postfix on loopback, which delivers it
# into the subscriber's maildir; the https URL of the List-Unsubscribe
# header of that file (what a mail provider POSTs, RFC 8058) goes to a
# running herald serve, its path mapped onto the server's address as the
# reverse proxy would; the subscriber is then unsubscribed (herald sub
# show), nobody else is, and the goodbye comes back through Postfix into
# the same maildir. t0700 takes its URL from herald render instead.
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0700/serve-lib.sh"
. "$TOP/tests/t0500/postfix-lib.sh"
HERALD_TEMPLATES=$TOP/templates
export HERALD_TEMPLATES
hinit
# the goodbye after a one-click is off by default (t0706); here it is on
echo 'goodbye_after_one_click = true' >> "$T/lists/xen-users.conf"
pf_setup --user nobody
pf_start
plan 13

herald sub add xen-users carol@subs.test --attr role=user >/dev/null &&
herald sub add xen-users dave@subs.test --attr role=user >/dev/null ||
    { echo "Bail out! sub add failed"; exit 1; }
# status EMAIL - EMAIL's status on xen-users, as herald sub show says it
status() { herald sub show xen-users "$1" | sed -n 's/^xen-users: \([a-z]*\) .*/\1/p'; }
# field FILE NAME - header NAME of the message in FILE, unfolded
field() { header "$2" < "$1"; }

expect 0 herald send summit --list xen-users --segment users --yes
ok $? "herald send through Postfix: exit 0"
_i=0; while [ $_i -lt 450 ] && [ -z "$(maildir_files carol)" ]; do sleep 0.2; _i=$((_i + 1)); done
M=$(maildir_files carol | head -1)
[ -n "$M" ] && grep -q '^Delivered-To: carol@subs.test' "$M"; ok $? "Postfix delivered the announcement into carol's maildir ($M)"

LU=$(field "$M" List-Unsubscribe)
URL=$(printf '%s' "$LU" | sed -n 's/.*<\(https:[^>]*\)>.*/\1/p')
like "$URL" '^https://lists\.xenproject\.org/unsubscribe/u[a-z0-9-]+$'; ok $? "its List-Unsubscribe has the list's https URL ($URL)"
[ "$(field "$M" List-Unsubscribe-Post)" = "List-Unsubscribe=One-Click" ]; ok $? "and List-Unsubscribe-Post: List-Unsubscribe=One-Click"

# the reverse proxy's part: https://lists.xenproject.org/PATH -> serve/PATH
serve_start
P=/${URL#https://*/}
hc "$WEB$P"
[ "$code" = 200 ] && [ "$(status carol@subs.test)" = active ]; ok $? "GET of the URL is a page and changes nothing ($code)"
hch -d List-Unsubscribe=One-Click "$WEB$P"
[ "$code" = 200 ]; ok $? "POST List-Unsubscribe=One-Click to its path: 200 ($code)"
like "$body" 'no longer subscribed'; ok $? "the page says so"
expect 0 herald sub show xen-users carol@subs.test; ok $? "herald sub show carol: exit 0"
like "$out" '^xen-users: unsubscribed \(.*via web\)'; ok $? "carol is unsubscribed, via web"
[ "$(status dave@subs.test)" = active ]; ok $? "dave, who got the same announcement, is still active"
_i=0; while [ $_i -lt 450 ] && ! grep -lq '^Subject: You are unsubscribed' $(maildir_files carol) /dev/null; do sleep 0.2; _i=$((_i + 1)); done
grep -q '^Subject: You are unsubscribed' $(maildir_files carol) /dev/null; ok $? "her goodbye came back through Postfix into her maildir"
hc -d List-Unsubscribe=One-Click "$WEB$P"
[ "$code" = 200 ] && [ "$(status carol@subs.test)" = unsubscribed ]; ok $? "the same POST again: 200, still unsubscribed"
serve_stop
[ "$serve_rc" = 0 ]; ok $? "herald serve stops on SIGTERM with 0"
finish
