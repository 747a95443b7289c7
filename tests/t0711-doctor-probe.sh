#!/bin/sh
# herald doctor's one-click check against a real herald serve on a free
# loopback port: the List-Unsubscribe URL of the sample starts with the
# web base_url, and serve answers 200 to one RFC 8058 POST of a test
# token at the path that URL has behind the proxy (FAIL naming the URL
# and the status, or "herald serve is not running at …" when nothing
# listens; exit 78). Doctor sends one request a run, each with a new test
# token (so web.token_rate does not bite runs in a row), --listen names
# serve when web.listen does not, a missing secret FAILs without a
# request, no web side at all is a SKIP, and the test tokens unsubscribe
# nobody.
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0400/common.sh"
. "$TOP/tests/t0700/serve-lib.sh"
HERALD_TEMPLATES=$TOP/templates; export HERALD_TEMPLATES
plan 30

WEBPORT=$(free_port)
hinit 'web {' "  listen = \"127.0.0.1:$WEBPORT\"" \
    '  base_url = "https://lists.xenproject.org"' '  token_rate = 1' '}'
L=$T/lists/xen-users.conf
herald dkim keygen xen-users > "$T/keygen.out" &&
    sed -n '/^dkim {/,/^}/p' "$T/keygen.out" >> "$L"
subs_csv "$T/subs.csv" 12
herald sub import xen-users "$T/subs.csv" >/dev/null
cp "$HERALD_CONFIG" "$T/conf.good"
cp "$L" "$T/list.good"
restore() { cp "$T/conf.good" "$HERALD_CONFIG"; cp "$T/list.good" "$L"; }
BEFORE=$(state)
: > "$T/serve.log"
# posts - the POSTs herald serve has logged
posts() { grep -c ' POST ' "$T/serve.log" || true; }
A=127\\.0\\.0\\.1:$WEBPORT
X=https://lists\\.xenproject\\.org

# --- nothing listens yet
t "doctor with herald serve not started" 78 herald doctor xen-users
like "$out" "^FAIL one-click URL served: herald serve is not running at $A: connection refused \(POST /unsubscribe/tu[a-z2-7]+-[a-z2-7]+-[a-z2-7]+ for $X/unsubscribe/tu" &&
    like "$out" '^1 check failed$'
ok $? "FAIL naming where serve should listen and the URL; the only failure"
like "$out" "^PASS one-click URL $X/unsubscribe/… starts with the web base_url $X\$"
ok $? "the sample's URL starts with web.base_url (its token elided)"
unlike "$out" 'unsubscribe/u[a-z2-7]+-'
ok $? "the sample's real token is not printed"

# --- herald serve running
serve_start "$WEBPORT"
t "doctor with herald serve running" 0 herald doctor xen-users
like "$out" "^PASS one-click URL served: herald serve at $A answered 200 OK to POST /unsubscribe/tu[a-z2-7-]+ \(for $X/unsubscribe/tu[a-z2-7-]+\): a test token, nobody is unsubscribed\$" &&
    unlike "$out" '^FAIL' && unlike "$out" '^SKIP one-click'
ok $? "PASS: serve answered 200; nothing failed"
[ "$(posts)" = 1 ] &&
    grep -q 'POST /unsubscribe/- 200 .*a token for no subscriber, nothing changed' "$T/serve.log"
ok $? "serve got one POST, a test token's: nothing changed ($(posts) POSTs)"

# --- serve's per-token limit (web.token_rate = 1 here) and runs in a row
TT=$(tok tu xen-users 0 7)
hc -d List-Unsubscribe=One-Click "$WEB/unsubscribe/$TT"; c1=$code
hc -d List-Unsubscribe=One-Click "$WEB/unsubscribe/$TT"
[ "$c1" = 200 ] && [ "$code" = 429 ]
ok $? "one test token POSTed twice: 200, then 429 ($c1, $code)"
t "doctor again" 0 herald doctor xen-users
t "and once more" 0 herald doctor xen-users
like "$out" '^PASS one-click URL served: .* answered 200 OK'
ok $? "both PASS: each run POSTs a new test token"
[ "$(posts)" = 5 ]; ok $? "one POST a run ($(posts) in all: 1 + 2 by curl + 2)"

# --- --listen, when web.listen does not say where serve is
DEAD=$(free_port)
sed -i "s/^  listen = .*/  listen = \"127.0.0.1:$DEAD\"/" "$HERALD_CONFIG"
t "doctor with web.listen where nothing listens" 78 herald doctor xen-users
like "$out" "^FAIL one-click URL served: herald serve is not running at 127\.0\.0\.1:$DEAD: connection refused"
ok $? "names that address"
t "doctor --listen where serve is" 0 herald doctor xen-users --listen "127.0.0.1:$WEBPORT"
t "doctor --listen that is not ADDR:PORT" 78 herald doctor xen-users --listen localhost:8025
like "$out" '^FAIL one-click URL served: POST /unsubscribe/.*listen address "localhost:8025" is not ADDR:PORT'
ok $? "FAILs saying so"
restore

# --- a wrong base_url
sed -i 's|^  base_url = .*|  base_url = "https://www.xenproject.org"|' "$HERALD_CONFIG"
t "doctor with a base_url the list's URL is not under" 78 herald doctor xen-users
like "$out" "^FAIL one-click URL $X/unsubscribe/… does NOT start with the web base_url https://www\.xenproject\.org \(herald serve behind it never sees the click: unsubscribe_base_url in .*xen-users\.conf\)"
ok $? "FAIL naming both URLs and the list file"
restore

# --- a base_url with a path: the proxy passes BASE/… on as /…
sed -i 's|^  base_url = .*|  base_url = "https://lists.xenproject.org/herald"|' "$HERALD_CONFIG"
sed -i '/^unsubscribe_base_url/d' "$L"
t "doctor with base_url https://lists.xenproject.org/herald" 0 herald doctor xen-users
like "$out" "^PASS one-click URL $X/herald/unsubscribe/… starts with the web base_url $X/herald\$" &&
    like "$out" "^PASS one-click URL served: herald serve at $A answered 200 OK to POST /unsubscribe/tu[a-z2-7-]+ \(for $X/herald/unsubscribe/tu"
ok $? "POSTs the path below base_url"
echo 'unsubscribe_base_url = "https://lists.xenproject.org/herald/unsub/"' >> "$L"
t "doctor with an unsubscribe_base_url serve has no page for" 78 herald doctor xen-users
like "$out" "^FAIL one-click URL served: herald serve at $A answered 404 Not Found to POST /unsub/tu[a-z2-7-]+ \(for $X/herald/unsub/tu[a-z2-7-]+\): herald serve has no such page"
ok $? "FAIL naming the URL and the status"
restore

# --- no token secret: nothing to make a test token with, no request
N=$(posts)
mv "$T/data/secret" "$T/secret.away"
t "doctor without the token secret" 78 herald doctor xen-users
mv "$T/secret.away" "$T/data/secret"
like "$out" '^FAIL one-click URL served: no token secret .*herald serve not probed' && [ "$(posts)" = "$N" ]
ok $? "FAIL no token secret, and serve got no request"

# --- no web side at all: SKIP
sed -i '/^  base_url = /d' "$HERALD_CONFIG"
sed -i '/^unsubscribe_base_url/d' "$L"
t "doctor with no web side configured" 78 herald doctor xen-users
like "$out" '^SKIP one-click URL: no web side configured \(no web \{ base_url \} in .*herald\.conf, no unsubscribe_base_url in .*xen-users\.conf\): herald serve not probed' &&
    like "$out" '^FAIL sample has List-Unsubscribe-Post' && [ "$(posts)" = "$N" ]
ok $? "SKIP with the reason (the missing List-Unsubscribe-Post FAILs), no request"
restore

# --- herald serve stopped
serve_stop
t "doctor with herald serve stopped" 78 herald doctor xen-users
like "$out" "^FAIL one-click URL served: herald serve is not running at $A"
ok $? "FAIL: herald serve is not running at $WEBPORT"

[ "$(state)" = "$BEFORE" ] &&
    [ "$(sql "SELECT count(*) FROM memberships m JOIN lists l ON l.id = m.list_id WHERE l.name = 'xen-users' AND m.status = 'active'")" = 12 ]
ok $? "the test tokens unsubscribed nobody: all 12 still subscribed, no event"
finish
