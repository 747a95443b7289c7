#!/bin/sh
# Tracked links (issue 25): tracking { } in a list file, links rewritten
# in both parts of the messages smtp-sink got, herald serve's redirect to
# the original for a GET, nothing counted for a HEAD or a test copy, a
# tampered or foreign token redirects nowhere, aggregate tokens the same
# in every copy of a segment and per-subscriber ones not, people told
# from scanners, the open image, and counts kept across a kill -9.
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0400/common.sh"
. "$TOP/tests/t0700/serve-lib.sh"
HERALD_TEMPLATES=$TOP/templates; export HERALD_TEMPLATES
plan 41

BASE=https://lists.example.org/h
SPORT=$(free_port)
relay_conf "$SPORT" 'web {' "  base_url = \"$BASE\"" '}'
L=$T/lists/xen-users.conf
cp "$L" "$T/xen-users.orig"
# track MODE [OPENS] - the list's tracking { } section
track() {
	cp "$T/xen-users.orig" "$L"
	printf 'tracking {\n\tclicks = "%s"\n\topens = "%s"\n}\n' "$1" "${2:-off}" >> "$L"
}
# parts FILE - its text and HTML parts, decoded
parts() { $PY "$TOP/tests/t0720/parts.py" "$1"; }
# msg EMAIL - the newest message the sink got for EMAIL
msg() { ls -t $(grep -l "^X-Rcpt-Args: <$1>" "$T"/sink/*) | head -1; }
# links FILE - the tracked URLs in FILE's parts, one a line, in order
links() { parts "$1" | grep -o "$BASE/l/[a-z0-9-]*"; }
clicks() { sql "SELECT coalesce(sum(n), 0) FROM track_counts WHERE kind = 'click' AND machine = $1"; }

# --- configuration errors name the file and the line
track bogus
t "clicks = \"bogus\" is a configuration error" 78 herald lists
like "$err" "xen-users.conf:[0-9]+.*clicks must be off, aggregate or per-subscriber"; ok $? "naming the file, line and the words ($err)"
track aggregate
cp "$HERALD_CONFIG" "$T/conf.keep"
write_conf
t "tracking without web.base_url is a configuration error" 78 herald lists
like "$err" "xen-users.conf:$(grep -n '^tracking' "$L" | cut -d: -f1): tracking: .*web.base_url"; ok $? "at the line of tracking { ($err)"
cp "$T/conf.keep" "$HERALD_CONFIG"

subs_csv "$T/subs.csv" 12
herald sub import xen-users "$T/subs.csv" >/dev/null
start_sink "$SPORT" "$T/sink"

# --- aggregate
t "send with clicks = aggregate" 0 herald send summit --list xen-users \
    --segment users --segment developers --yes
U1=$(sql "SELECT s.email FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id WHERE d.segment = 'users' ORDER BY s.id LIMIT 1")
U2=$(sql "SELECT s.email FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id WHERE d.segment = 'users' ORDER BY s.id LIMIT 1 OFFSET 1")
D1=$(sql "SELECT s.email FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id WHERE d.segment = 'developers' ORDER BY s.id LIMIT 1")
M1=$(msg "$U1"); parts "$M1" > "$T/u1.txt"
sed -n '/^== text\/plain/,/^== text\/html/p' "$T/u1.txt" > "$T/u1.plain"
sed -n '/^== text\/html/,$p' "$T/u1.txt" > "$T/u1.html"
grep -q "$BASE/l/l" "$T/u1.plain" && grep -q "href=\"$BASE/l/l" "$T/u1.html"
ok $? "links rewritten in the text part and in the HTML part"
! grep -q 'https://events.linuxfoundation.org' "$T/u1.txt"; ok $? "no original event link left in either part"
grep -q "/unsubscribe/u" "$T/u1.txt" && grep -q "$BASE/preferences/u" "$T/u1.txt" &&
    like "$(header List-Unsubscribe < "$M1")" '^<mailto:.*>, <https://lists.xenproject.org/unsubscribe/u[^>]*>$'
ok $? "unsubscribe, preferences and List-Unsubscribe untouched"
[ "$(links "$M1")" = "$(links "$(msg "$U2")")" ]; ok $? "aggregate: two subscribers of a segment get the same tokens"
[ "$(links "$M1" | sort -u)" != "$(links "$(msg "$D1")" | sort -u)" ]; ok $? "another segment's copy has tokens of its own"
[ "$(links "$M1" | sed 's/.*\/l\/l[a-z2-7]*-//' | cut -d- -f1 | sort -u)" = a ]; ok $? "an aggregate token names no delivery (its delivery field is 0)"

serve_start
LINK=$(links "$M1" | head -1)
P=${LINK#$BASE}
ID=$(sql "SELECT id FROM links WHERE campaign_id = 1 AND segment = 'users' AND url LIKE '%xen-project-user-summit'")
ORIG=$(sql "SELECT url FROM links WHERE id = $ID")
grep -q "\"$ORIG\"" "$TOP/templates/summit/example.conf"; ok $? "the registered link is the announcement's ($ORIG)"
hch -A 'Mozilla/5.0 (X11; Linux x86_64) Firefox/115.0' "$WEB$P"
[ "$code" = 302 ] && like "$hdrs" "^Location: https://events.linuxfoundation.org/events/xen-project-[a-z]+-summit"
ok $? "GET of the message's first link: 302 to the original ($code)"
LOC=$(printf '%s\n' "$hdrs" | sed -n 's/^Location: //p')
grep -q "^  Register: $BASE/l/" "$T/u1.plain" && [ "$LOC" = "$(sql "SELECT url FROM links WHERE id = (SELECT id FROM links WHERE url = '$LOC' AND segment = 'users')")" ]
ok $? "to exactly the link's URL"
[ "$(clicks 0)" = 1 ]; ok $? "one click counted, by a person"
hch -I -A 'Mozilla/5.0 Firefox/115.0' "$WEB$P"
[ "$code" = 302 ] && like "$hdrs" "^Location: $LOC" && [ "$(clicks 0)" = 1 ] && [ "$(clicks 1)" = 0 ]
ok $? "HEAD: the same redirect, nothing counted"
BAD=$(tamper "$P")
hch -A 'Mozilla/5.0' "$WEB$BAD"
[ "$code" = 404 ] && unlike "$hdrs" '^Location' && like "$body" 'does not work'
ok $? "a tampered token: 404 with a page, no Location ($code)"
hch -A 'Mozilla/5.0' "$WEB/l/$(tok l xen-users 999999)"
[ "$code" = 404 ] && unlike "$hdrs" '^Location'; ok $? "a valid MAC for a link that does not exist: 404"
UT=$(tok u xen-users 1)
hch -A 'Mozilla/5.0' "$WEB/l/$UT"
[ "$code" = 404 ] && unlike "$hdrs" '^Location'; ok $? "an unsubscribe token is no click token: 404"
hch -X POST -d List-Unsubscribe=One-Click "$WEB/unsubscribe/${P#/l/}"
[ "$code" = 400 ] && [ "$(sql "SELECT count(*) FROM memberships WHERE status = 'unsubscribed'")" = 0 ]
ok $? "a click token unsubscribes nobody ($code)"
hch -A 'Mozilla/5.0' "$WEB/l/$(tok tl xen-users "$ID")"
[ "$code" = 302 ] && like "$hdrs" "^Location: $ORIG\$" && [ "$(clicks 0)" = 1 ]
ok $? "a test copy's click token redirects and counts nothing"
hch -X POST "$WEB$P"
[ "$code" = 405 ] && [ "$(clicks 0)" = 1 ]; ok $? "POST: 405, nothing counted"

# --- people and machines
hc -A 'Mozilla/5.0 (compatible; Barracuda Sentinel link scanner)' "$WEB$P"
[ "$code" = 302 ] && [ "$(clicks 1)" = 1 ] && [ "$(clicks 0)" = 1 ]; ok $? "a scanner's user agent: counted as a machine"
hc -H 'User-Agent:' "$WEB$P"
[ "$code" = 302 ] && [ "$(clicks 1)" = 2 ]; ok $? "no user agent: a machine"
# every link of the copy at once, from one address (a fresh one, through
# the trusted proxy's X-Forwarded-For): from the third on, a machine's
P0=$(clicks 0); M0=$(clicks 1); NL=$(links "$(msg "$D1")" | sort -u | wc -l)
for l in $(links "$(msg "$D1")" | sort -u); do
	hc -A 'Mozilla/5.0 Firefox/115.0' -H 'X-Forwarded-For: 192.0.2.7' "$WEB${l#$BASE}"
done
[ "$NL" -ge 3 ] && [ "$(clicks 0)" = $((P0 + 2)) ] && [ "$(clicks 1)" = $((M0 + NL - 2)) ]
ok $? "$NL links within seconds from one address: two a person's, the rest a machine's ($(clicks 0)/$(clicks 1))"
like "$(grep ' /l/' "$T/serve.log" | tail -1)" 'many links at once' &&
    unlike "$(cat "$T/serve.log")" "${P#/l/}"; ok $? "the log line says why, and holds no token"

# --- the report: herald report --json against a count over the store
t "herald report --json" 0 herald report 1 --json
printf '%s\n' "$out" > "$T/report.json"
expect 0 $PY "$TOP/tests/t0720/report-check.py" "$T/data/herald.db" 1 "$T/report.json"
ok $? "links, clicks, machine clicks and clicks by segment match the store ($out)"
expect 0 herald report 1 &&
    [ "$(printf '%s\n' "$out" | grep -cE '^ +[0-9]+ +[0-9]+  https://')" = "$(sql "SELECT count(DISTINCT url) FROM links WHERE campaign_id = 1")" ] &&
    like "$out" "^clicks $(clicks 0) by people, $(clicks 1) by machines"
ok $? "the text report: totals and a line per link"
bars() {	# the clicks of the bars of the chart drawn for width $1
	printf '%s\n' "$out" | sed -n "/id=\"clicks-chart-$1\"/,/<\/svg>/p" |
	    grep -o 'class="bar" data-clicks="[0-9]*"' | sed 's/.*="//;s/"//' | paste -sd+ | bc
}
expect 0 herald report 1 --html - && like "$out" '<svg class="chart wide" id="clicks-chart-wide"' &&
    like "$out" '<svg class="chart narrow" id="clicks-chart-narrow"' &&
    like "$out" "<b id=\"n-clicks\">$(clicks 0)</b>" &&
    [ "$(bars wide)" = "$(clicks 0)" ] && [ "$(bars narrow)" = "$(clicks 0)" ]
ok $? "the page: a chart of clicks over time (wide, and narrow for phones) whose bars add up to the clicks"
expect 0 herald campaign show 1 && like "$out" "^clicks +$(clicks 0) by people, $(clicks 1) by machines"
ok $? "campaign show gains the totals"

# --- per-subscriber, and opens
serve_stop
track per-subscriber per-subscriber
serve_start
t "send with clicks = per-subscriber, opens on" 0 herald send summit \
    --list xen-users --segment users --yes --again
C=$(sql "SELECT max(id) FROM campaigns")
M1=$(msg "$U1"); M2=$(msg "$U2")
[ -n "$(links "$M1")" ] && [ "$(links "$M1" | sort)" != "$(links "$M2" | sort)" ]; ok $? "per-subscriber: two subscribers of a segment get different tokens"
DID=$(sql "SELECT d.id FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id WHERE d.campaign_id = $C AND s.email = '$U1'")
L1=$(links "$M1" | head -1)
TK=${L1#$BASE/l/}
[ "$(printf '%s' "$TK" | cut -d- -f2)" != a ]; ok $? "a per-subscriber token names the delivery"
parts "$M1" | grep -q "<img src=\"$BASE/o/o" && ! parts "$M1" | sed -n '/^== text\/plain/,/^== text\/html/p' | grep -q "/o/"
ok $? "the HTML part carries the open image, the text part does not"
hc -A 'Mozilla/5.0 Firefox/115.0' "$WEB${L1#$BASE}"
[ "$code" = 302 ] && [ "$(sql "SELECT machine FROM track_counts WHERE delivery_id = $DID")" = 1 ]
ok $? "a click within seconds of its delivery: a machine's"
sql "UPDATE deliveries SET last_attempt = last_attempt - 3600 WHERE campaign_id = $C"
hc -A 'Mozilla/5.0 Firefox/115.0' "$WEB${L1#$BASE}"
[ "$(sql "SELECT sum(n) FROM track_counts WHERE delivery_id = $DID AND machine = 0 AND kind = 'click'")" = 1 ]
ok $? "an hour later: a person's, on the delivery"
O1=$(parts "$M1" | grep -o "$BASE/o/[a-z0-9-]*" | head -1)
hch -A 'Mozilla/5.0 Firefox/115.0' "$WEB${O1#$BASE}"
[ "$code" = 200 ] && like "$hdrs" '^Content-Type: image/gif' &&
    [ "$(sql "SELECT sum(n) FROM track_counts WHERE kind = 'open' AND ref_id = $C AND delivery_id = $DID")" = 1 ]
ok $? "the open image: a GIF, one open on the delivery"

# --- kill -9: every answered redirect is on disk
N0=$(sql "SELECT coalesce(sum(n), 0) FROM track_counts")
i=0; good=0
while [ $i -lt 40 ]; do
	hc -A "Mozilla/5.0 Firefox/115.0 r$i" "$WEB${L1#$BASE}"
	[ "$code" = 302 ] && good=$((good + 1))
	i=$((i + 1))
done
kill -KILL "$SERVEPID"; wait "$SERVEPID" 2>/dev/null; SERVEPID=
[ "$good" = 40 ] && [ "$(sql "SELECT coalesce(sum(n), 0) FROM track_counts")" = $((N0 + 40)) ]
ok $? "40 redirects answered, kill -9: all 40 counts on disk"
# many at once: whatever was answered is counted, the group in flight
# (not answered) may or may not be
serve_start
N0=$(sql "SELECT coalesce(sum(n), 0) FROM track_counts")
$PY - "$WEB${L1#$BASE}" "$T/answered" <<'PYEOF' &
import sys, threading, http.client, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
lock = threading.Lock()
out = open(sys.argv[2], "a", buffering=1)
def worker():
    while True:
        try:
            c = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
            while True:
                c.request("GET", u.path, headers={"User-Agent": "Mozilla/5.0"})
                r = c.getresponse(); r.read()
                if r.status == 302:
                    with lock:
                        out.write("1\n")
        except Exception:
            return
ts = [threading.Thread(target=worker) for _ in range(16)]
[t.start() for t in ts]
[t.join() for t in ts]
PYEOF
LOAD=$!
wait_for 20 sh -c "[ \$(wc -l < '$T/answered' 2>/dev/null || echo 0) -ge 2000 ]"
kill -KILL "$SERVEPID"; wait "$SERVEPID" 2>/dev/null; SERVEPID=
wait "$LOAD"
A=$(wc -l < "$T/answered"); K=$(( $(sql "SELECT coalesce(sum(n), 0) FROM track_counts") - N0 ))
[ "$A" -ge 2000 ] && [ "$K" -ge "$A" ] && [ "$K" -le $((A + 1024)) ]
ok $? "under load, kill -9: $A answered, $K counted (none lost; at most one group in flight more)"

t "campaign show still works on the store" 0 herald campaign show 1
finish
