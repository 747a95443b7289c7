#!/bin/sh
# Follow-up audiences (issue 25): herald send --new-since CAMPAIGN (who
# joined after it went out) and --not-clicked CAMPAIGN[:URL] (whom no
# person's click on it was counted for; per-subscriber tracking only),
# the preview's counts and the campaign's recipients against a count made
# over the store with Python's sqlite3 (tests/t0721/expect.py).
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0400/common.sh"
. "$TOP/tests/t0700/serve-lib.sh"
HERALD_TEMPLATES=$TOP/templates; export HERALD_TEMPLATES
plan 17

BASE=https://lists.example.org/h
SPORT=$(free_port)
relay_conf "$SPORT" 'web {' "  base_url = \"$BASE\"" '}'
L=$T/lists/xen-users.conf
cp "$L" "$T/xen-users.orig"
printf 'tracking {\n\tclicks = "per-subscriber"\n}\n' >> "$L"
subs_csv "$T/subs.csv" 20
herald sub import xen-users "$T/subs.csv" >/dev/null
sql "UPDATE memberships SET subscribed = subscribed - 100"
start_sink "$SPORT" "$T/sink"
t "campaign 1" 0 herald send summit --list xen-users --segment users \
    --segment developers --yes
# it went out ten seconds ago; five more join now
sql "UPDATE campaigns SET started = started - 10 WHERE id = 1"
subs_csv "$T/new.csv" 6 n
herald sub import xen-users "$T/new.csv" >/dev/null
# expect ARGS… - expect.py's addresses; got ID - campaign ID's
want() { $PY "$TOP/tests/t0721/expect.py" "$T/data/herald.db" "$@"; }
got() { sql "SELECT s.email FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id WHERE d.campaign_id = $1 ORDER BY s.email" | LC_ALL=C sort; }

# --- --new-since
W=$(want users new-since 1 | LC_ALL=C sort)
N=$(printf '%s\n' "$W" | grep -c .)
NC=$(sql "SELECT count(*) FROM campaigns")
t "--new-since 1 without --yes (off a terminal): the preview" 64 herald send \
    summit --list xen-users --segment users --new-since 1 --again </dev/null
[ "$N" -gt 0 ] && like "$out" "^  users +$N\$" && like "$out" '^follow-up: [0-9]+ left out, members before campaign 1 went out'
ok $? "shows the counts before anything is sent ($N, as counted over the store)"
[ "$(sql "SELECT count(*) FROM campaigns")" = "$NC" ]; ok $? "and leaves nothing behind"
rm -rf "$T/md"
expect 0 herald send summit --list xen-users --segment users --new-since 1 --dry-run "$T/md"
[ "$(ls "$T/md/new" | wc -l)" = "$N" ]; ok $? "a dry run writes $N messages"
t "--new-since 1, sent" 0 herald send summit --list xen-users --segment users \
    --new-since 1 --yes --again
C=$(sql "SELECT max(id) FROM campaigns")
[ "$(got "$C")" = "$W" ]; ok $? "its recipients are exactly the members who joined after campaign 1 went out"

# --- --not-clicked: two people click campaign 1's links
serve_start
sql "UPDATE deliveries SET last_attempt = last_attempt - 3600 WHERE campaign_id = 1"
A=$(sql "SELECT s.email FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id WHERE d.campaign_id = 1 AND d.segment = 'users' ORDER BY s.id LIMIT 1")
B=$(sql "SELECT s.email FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id WHERE d.campaign_id = 1 AND d.segment = 'developers' ORDER BY s.id LIMIT 1")
S=$(sql "SELECT s.email FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id WHERE d.campaign_id = 1 AND d.segment = 'developers' ORDER BY s.id LIMIT 1 OFFSET 1")
msg() { ls -t $(grep -l "^X-Rcpt-Args: <$1>" "$T"/sink/*) | tail -1; }
link() { $PY "$TOP/tests/t0720/parts.py" "$(msg "$1")" | grep -o "$BASE/l/[a-z0-9-]*" | sed -n "${2}p"; }
LA=$(link "$A" 1); LB=$(link "$B" 2); LS=$(link "$S" 1)
hch -A 'Mozilla/5.0 Firefox/115.0' "$WEB${LA#$BASE}"; CA=$code
URL=$(printf '%s\n' "$hdrs" | sed -n 's/^Location: //p')
hc -A 'Mozilla/5.0 Firefox/115.0' -H 'X-Forwarded-For: 192.0.2.9' "$WEB${LB#$BASE}"; CB=$code
hc -A 'Googlebot/2.1' "$WEB${LS#$BASE}"
[ "$CA" = 302 ] && [ "$CB" = 302 ] && [ "$code" = 302 ] &&
    [ "$(sql "SELECT count(*) FROM track_counts WHERE machine = 0 AND delivery_id > 0")" = 2 ]
ok $? "two people's clicks and a scanner's, counted per delivery"
W=$(want users,developers not-clicked 1 | LC_ALL=C sort)
N=$(printf '%s\n' "$W" | grep -c .)
t "--not-clicked 1" 0 herald send summit --list xen-users --segment users \
    --segment developers --not-clicked 1 --yes --again
C=$(sql "SELECT max(id) FROM campaigns")
like "$out" '^follow-up: 2 left out, who clicked a link of campaign 1' &&
    like "$out" "^  total +$N\$"; ok $? "the preview: 2 left out, $N to go"
[ "$(got "$C")" = "$W" ] && ! printf '%s\n' "$W" | grep -qx "$A" &&
    printf '%s\n' "$W" | grep -qx "$S"
ok $? "recipients: everyone but the two who clicked (the scanner's click left $S in)"
W=$(want users,developers not-clicked 1 "$URL" | LC_ALL=C sort)
t "--not-clicked 1:URL" 0 herald send summit --list xen-users --segment users \
    --segment developers --not-clicked "1:$URL" --yes --again
C=$(sql "SELECT max(id) FROM campaigns")
[ "$(got "$C")" = "$W" ] && ! printf '%s\n' "$W" | grep -qx "$A"
ok $? "only who clicked $URL is left out"

# --- refusals
t "--not-clicked 1:a URL it did not hold" 64 herald send summit --list xen-users \
    --segment users --not-clicked "1:https://nowhere.example/" --yes --again
t "--new-since a campaign that is not there" 64 herald send summit \
    --list xen-users --segment users --new-since 99 --yes --again
cp "$T/xen-users.orig" "$L"
printf 'tracking {\n\tclicks = "aggregate"\n}\n' >> "$L"
t "--not-clicked on an aggregate list: exit 64" 64 herald send summit \
    --list xen-users --segment users --not-clicked 1 --yes --again
like "$err" 'not-clicked needs tracking \{ clicks = "per-subscriber" \} in .*xen-users.conf \(it is "aggregate"\)'
ok $? "naming the setting ($err)"
finish
