#!/bin/sh
# A subscriber's own data (issue 25), in a real headless chromium driven
# by selenium (tests/t0722/mydata.py, as t0702): "Download my data" on the
# preferences page is a POST answered with a JSON file of every row kept
# about them (memberships, deliveries, clicks with per-subscriber
# tracking, …); "Erase me" asks on a second page and only its POST
# erases; the rows go, the counts stay anonymous, a hash of the address
# stays and an import does not add it back (--allow-erased does); herald
# sub erase from the command line. A GET changes nothing.
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0400/common.sh"
. "$TOP/tests/t0700/serve-lib.sh"
HERALD_TEMPLATES=$TOP/templates; export HERALD_TEMPLATES
plan 22
SHOTS=$BUILD/screenshots/t0722
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ] ||
    ! $PY -c 'import selenium' 2>/dev/null; then
	i=0; while [ $i -lt 22 ]; do skip "no chromium, chromedriver or python3-selenium"; i=$((i + 1)); done
	exit 0
fi
rm -rf "$SHOTS"
B() { $PY "$TOP/tests/t0722/mydata.py" "$SHOTS" "$@"; }

BASE=https://lists.example.org
SPORT=$(free_port)
relay_conf "$SPORT" 'web {' "  base_url = \"$BASE\"" '}'
printf 'tracking {\n\tclicks = "per-subscriber"\n}\n' >> "$T/lists/xen-users.conf"
printf 'email,name,role\nalice@subs.test,Alice,user\nbob@subs.test,Bob,user\ncarol@subs.test,Carol,user\n' > "$T/subs.csv"
herald sub import xen-users "$T/subs.csv" >/dev/null
start_sink "$SPORT" "$T/sink"
herald send summit --list xen-users --segment users --yes >/dev/null 2>&1
sql "UPDATE deliveries SET last_attempt = last_attempt - 3600"
ALICE=$(sql "SELECT id FROM subscribers WHERE email = 'alice@subs.test'")
serve_start
M=$(grep -l '^X-Rcpt-Args: <alice@subs.test>' "$T"/sink/*)
L=$($PY "$TOP/tests/t0720/parts.py" "$M" | grep -o "$BASE/l/[a-z0-9-]*" | head -1)
hc -A 'Mozilla/5.0 Firefox/115.0' "$WEB${L#$BASE}"
[ "$code" = 302 ]; ok $? "alice clicked a link of the announcement ($code)"
CLICKS=$(sql "SELECT sum(n) FROM track_counts WHERE kind = 'click'")
AT=$(tok u xen-users "$ALICE")

# --- a GET changes nothing
S0=$(state)
hc "$WEB/mydata/$AT"
[ "$code" = 405 ]; ok $? "GET /mydata/TOKEN: 405 ($code)"
hc "$WEB/erase/$AT"
[ "$code" = 200 ] && like "$body" 'cannot be undone' && [ "$(state)" = "$S0" ] &&
    [ "$(sql "SELECT count(*) FROM subscribers WHERE id = $ALICE")" = 1 ]
ok $? "GET /erase/TOKEN: the confirmation page, nothing changed"

# --- download
B download "$WEB/preferences/$AT" alice@subs.test "$T/alice.json"; ok $? "Download my data: the browser saves a JSON file naming her"
$PY - "$T/alice.json" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["subscriber"]["name"] == "Alice", d["subscriber"]
assert [m["list"] for m in d["memberships"]] == ["xen-users"], d["memberships"]
assert len(d["deliveries"]) == 1 and d["deliveries"][0]["state"] == "sent", d["deliveries"]
assert len(d["clicks"]) == 1 and d["clicks"][0]["url"].startswith("https://events."), d["clicks"]
assert all(k in d for k in ("bounces", "replies", "events")), list(d)
assert "bob@subs.test" not in json.dumps(d)
PYEOF
ok $? "it holds her subscriber row, membership, delivery and click, and nobody else's"
[ "$(state)" = "$S0" ]; ok $? "downloading changed nothing"

# --- erase: asked first, then done
B ask "$WEB/preferences/$AT"; ok $? "Erase me: a second page asks to confirm"
[ "$(state)" = "$S0" ] && [ "$(sql "SELECT count(*) FROM subscribers WHERE id = $ALICE")" = 1 ]
ok $? "nothing erased before the confirmation"
B erase "$WEB/preferences/$AT"; ok $? "Yes, erase me: the done page"
[ "$(sql "SELECT count(*) FROM subscribers WHERE id = $ALICE")" = 0 ] &&
    [ "$(sql "SELECT count(*) FROM memberships WHERE subscriber_id = $ALICE")" = 0 ] &&
    [ "$(sql "SELECT count(*) FROM deliveries WHERE subscriber_id = $ALICE")" = 0 ] &&
    [ "$(sql "SELECT count(*) FROM events WHERE subscriber_id = $ALICE")" = 0 ]
ok $? "her subscriber row, membership, deliveries and events are gone"
[ "$(sqlite3 "$T/data/herald.db" .dump | grep -ci 'alice')" = 0 ]; ok $? "no row anywhere holds her address or name"
[ "$(sql "SELECT sum(n) FROM track_counts WHERE kind = 'click' AND delivery_id = 0")" = "$CLICKS" ] &&
    [ "$(sql "SELECT count(*) FROM track_counts WHERE delivery_id != 0")" = 0 ]
ok $? "her click still counts, anonymously (delivery 0)"
[ "$(sql "SELECT count(*) FROM erased")" = 1 ] &&
    [ "$(sql "SELECT length(hash) FROM erased")" = 64 ]; ok $? "one hash kept (64 hex digits)"
hc -X POST -d confirm=yes "$WEB/erase/$AT"
[ "$code" != 200 ] && [ "$(sql "SELECT count(*) FROM erased")" = 1 ]; ok $? "the same link again: nobody to erase ($code)"

# --- an import does not add her back; the owner's override does
expect 65 herald sub import xen-users "$T/subs.csv"
like "$err" 'subs.csv:2: this address was erased at its owner.s request' &&
    [ "$(sql "SELECT count(*) FROM subscribers WHERE email = 'alice@subs.test'")" = 0 ]
ok $? "an import rejects the erased address, saying so ($err)"
printf 'email\nALICE@subs.test\n' > "$T/upper.csv"
expect 65 herald sub import xen-users "$T/upper.csv"; ok $? "in any case of its letters"
t "--allow-erased adds her back" 0 herald sub import xen-users "$T/subs.csv" --allow-erased
[ "$(sql "SELECT count(*) FROM subscribers WHERE email = 'alice@subs.test'")" = 1 ] &&
    [ "$(sql "SELECT count(*) FROM erased")" = 0 ]; ok $? "and forgets the hash"

# --- herald sub erase
t "herald sub erase" 0 herald sub erase xen-users bob@subs.test
[ "$(sql "SELECT count(*) FROM subscribers WHERE email = 'bob@subs.test'")" = 0 ] &&
    [ "$(sql "SELECT count(*) FROM erased")" = 1 ]; ok $? "bob is gone, his hash kept"
t "sub add refuses him" 65 herald sub add xen-users bob@subs.test
t "sub add --allow-erased takes him" 0 herald sub add xen-users bob@subs.test --allow-erased
finish
