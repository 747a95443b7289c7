#!/bin/sh
# t0904-report.sh - herald report ID: the text summary, and --html: one
# self-contained page (no script, nothing loaded from elsewhere) rendered
# in headless Chromium (Debian's, through python3-selenium) at 375 and
# 1200 px wide. The screenshots stay in $BUILD/report/; the numbers on the
# page (the cards, the per-segment table, the curve's totals, the relays)
# must be those of campaign show --json, and neither width may scroll
# sideways. The first campaign is tests/t0903/campaign.sh's, its attempts
# spread over four minutes so the curve has a shape, sent over one relay
# (the report says so in one line). The second goes over four relay
# sections: smtp-sinks that accept (a), defer every RCPT with a 4xx (b)
# and refuse every RCPT with a 5xx (c), and a port where nothing listens
# (d, marked down): the report's relay table, text and page, must be
# campaign show --json's "relays", relay by relay.
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0400/common.sh"
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ] ||
    ! $PY -c 'import selenium' 2>/dev/null; then
	echo "1..0 # SKIP needs chromium, chromium-driver and python3-selenium"
	exit 0
fi
. "$TOP/tests/t0903/campaign.sh"
plan 24
OUT=$BUILD/report
mkdir -p "$OUT"
rm -f "$OUT"/report-*.png "$OUT"/relays-*.png "$OUT/report.html" \
    "$OUT/relays.html"

S=$(sql "SELECT started FROM campaigns WHERE id = $CAMPAIGN")
sql "UPDATE deliveries SET first_attempt = $S + (id % 4) * 60,
    last_attempt = $S + (id % 4) * 60 + CASE WHEN attempts > 1 THEN 120 ELSE 0 END"

t "report ID" 0 herald report "$CAMPAIGN"
like "$out" '^recipients 10: sent 8, failed 2, queued 0$' &&
    like "$out" '^bounced 4 \(40\.0%\), unsubscribed since 1, replies 2$'
ok $? "text: totals, bounced, unsubscribed, replies"
like "$out" '^users +6 +5 +1 +0 +2 +0 +1 +1$' &&
    like "$out" '^developers +4 +3 +1 +0 +1 +1 +0 +1$'
ok $? "text: per segment total, sent, failed, queued, hard, soft, unsub, replies"
[ "$(printf '%s\n' "$out" | awk '/^(MINUTE|SECOND) \(UTC\)/ { on = 1; next } on && NF == 0 { on = 0 } on { s += $3; d += $4; f += $5 } END { print s, d, f }')" = "8 1 2" ]
ok $? "text: the curve adds up to 8 sent, 1 deferred (rcpt450), 2 failed"
like "$out" '^ +8 +250 ' && like "$out" '^ +1 +550 '
ok $? "text: reply codes, most frequent first"
like "$out" '^one relay: smtp, up$' && ! like "$out" '^RELAY '
ok $? "text: one relay, said in one line"
t "report of an unknown campaign" 67 herald report 99

t "report --html FILE" 0 herald report "$CAMPAIGN" --html "$OUT/report.html"
herald campaign show "$CAMPAIGN" --json >"$T/show.json"
herald bounces --campaign "$CAMPAIGN" --json >"$T/bounces.json"
$PY - "$OUT/report.html" <<'EOP'
import re, sys
h = open(sys.argv[1], encoding="utf-8").read()
bad = re.findall(r'<script|<link|<img|<iframe|@import|url\(|\b(?:src|href)\s*=', h, re.I)
sys.exit("external or active content: %s" % bad if bad else 0)
EOP
ok $? "the page has no script, link, image, import or url()"
grep -q '<svg class="chart wide"' "$OUT/report.html" && grep -q '<svg class="chart narrow"' "$OUT/report.html" &&
    [ "$(grep -c '<svg' "$OUT/report.html")" -ge 4 ]
ok $? "inline SVG charts: the curve (wide and narrow), the bars of segments, bounce kinds, reply codes"
grep -q '<p class="sub" id="relay-one">One relay: <b class="relay">smtp</b>, <span class="state">up</span></p>' "$OUT/report.html" &&
    ! grep -q 'data-relay=' "$OUT/report.html"
ok $? "one relay: one line on the page, no relay table"
grep -q '<p class="sub" id="no-links">' "$OUT/report.html" && ! grep -q '<th>link</th>' "$OUT/report.html"
ok $? "no tracked links: a sentence, no empty table of links"

# the second campaign: four relays, each with its own fate
PA=$(free_port); PB=$(free_port); PC=$(free_port); PD=$(free_port)
# sink PORT DIR [ARGS…] - an smtp-sink (stopped at exit)
sink() {
	_sp=$1; _sd=$2; shift 2
	mkdir -p "$_sd"
	/usr/sbin/smtp-sink -u "$(id -un)" -d "$_sd/%M." "$@" 127.0.0.1:"$_sp" \
	    256 >/dev/null 2>&1 &
	at_exit "kill $!"
	wait_port "$_sp"
}
sink "$PA" "$T/sink-a"
sink "$PB" "$T/sink-b" -r RCPT
sink "$PC" "$T/sink-c" -f RCPT
# relay NAME PORT WEIGHT - the lines of one relay section
relay() {
	printf '%s\n' "relay $1 {" "host = \"127.0.0.1\"" "port = $2" \
	    "starttls = \"off\"" "timeout = 3" "weight = $3" "connections = 1" "}"
}
IFS='
'
write_conf "send {" "batch = 5" "retry_base = 300" "}" $(relay a "$PA" 2) \
    $(relay b "$PB" 1) $(relay c "$PC" 1) $(relay d "$PD" 1)
unset IFS
subs_csv "$T/subs2.csv" 40 r
herald sub import xen-users "$T/subs2.csv" >/dev/null
herald send summit --list xen-users --segment users --segment developers \
    --yes --again >"$T/send2.out" 2>&1
C2=$(sql "SELECT max(id) FROM campaigns")
herald campaign show "$C2" --json >"$T/show2.json"
herald bounces --campaign "$C2" --json >"$T/bounces2.json"
$PY -c 'import json, sys
for r in json.load(open(sys.argv[1]))["relays"]:
    print("# relay %(relay)s: sent %(sent)d, deferred %(deferred)d, failed %(failed)d, %(state)s" % r)' "$T/show2.json"
$PY - "$T/show2.json" <<'EOP'
import json, sys
s = json.load(open(sys.argv[1]))
r = {x["relay"]: x for x in s["relays"]}
ok = (sorted(r) == ["a", "b", "c", "d"] and r["a"]["sent"] > 0 and
      r["b"]["deferred"] > 0 and r["c"]["failed"] > 0 and
      r["d"]["state"] == "down" and
      sum(x["sent"] for x in r.values()) == s["sent"] and
      sum(x["failed"] for x in r.values()) == s["failed"])
sys.exit(0 if ok else 1)
EOP
ok $? "campaign $C2 went over relays a (sent), b (deferred), c (failed), d (down)"

t "report of a campaign over four relays" 0 herald report "$C2"
printf '%s\n' "$out" >"$T/report2.txt"
$PY - "$T/report2.txt" "$T/show2.json" <<'EOP'
import json, sys
lines = open(sys.argv[1]).read().split("\n")
show = json.load(open(sys.argv[2]))
try:
    i = lines.index(next(l for l in lines if l.split()[:5] ==
        ["RELAY", "SENT", "DEFERRED", "FAILED", "STATE"]))
except StopIteration:
    sys.exit("no RELAY table")
rows = {}
for l in lines[i + 1:]:
    if not l.strip():
        break
    f = l.split(None, 4)
    rows[f[0]] = (int(f[1]), int(f[2]), int(f[3]), f[4])
bad = 0
for r in show["relays"]:
    want = (r["sent"], r["deferred"], r["failed"], (r["state"] or "unused") +
            (": " + r["reason"] if r["reason"] else ""))
    got = rows.pop(r["relay"], None)
    if got != want:
        print("# relay %s: report %r, campaign show %r" % (r["relay"], got, want))
        bad = 1
if rows:
    print("# relays only in the report: %r" % rows)
    bad = 1
sys.exit(bad)
EOP
ok $? "text: each relay's sent, deferred, failed and state are campaign show --json's"
! like "$out" '^one relay'; ok $? "text: no one-relay line with four relays"
t "report --html over four relays" 0 herald report "$C2" --html "$OUT/relays.html"
[ "$(grep -c '<tr data-relay=' "$OUT/relays.html")" = 4 ] &&
    grep -q '<section id="relays">' "$OUT/relays.html" &&
    ! grep -q 'id="relay-one"' "$OUT/relays.html"
ok $? "the page has a relay section with four rows"

# the browser: both pages at both widths, screenshots, numbers, no
# sideways scrolling; exit status 1: a number or the layout is wrong, 2:
# a relay's (3: both)
$PY - "$OUT" "$T/chrome" "$T/show.json" "$T/bounces.json" "$T/show2.json" \
    "$T/bounces2.json" >"$T/browser.out" 2>&1 <<'EOP'
import json, sys
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
out, profile = sys.argv[1:3]
pages = (("report", json.load(open(sys.argv[3])), json.load(open(sys.argv[4]))),
         ("relays", json.load(open(sys.argv[5])), json.load(open(sys.argv[6]))))
o = webdriver.ChromeOptions()
o.binary_location = "/usr/bin/chromium"
for a in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
          "--disable-background-networking", "--disable-component-update",
          "--disable-sync", "--disable-dev-shm-usage",
          "--user-data-dir=" + profile):
    o.add_argument(a)
d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
fails = []
relay_fails = []
relay_checks = 0
def check(what, got, want, into=fails):
    global relay_checks
    print("%s %s: page %r, campaign show %r" % ("ok" if got == want else "MISMATCH", what, got, want))
    if into is relay_fails: relay_checks += 1
    if got != want: into.append(what)
def words(s):
    return " ".join(s.split())
def relays(w, show):
    rs = show["relays"]
    if len(rs) == 1:
        r = rs[0]
        one = d.find_elements(By.ID, "relay-one")
        check("%s: one relay, one line" % w, len(one), 1, relay_fails)
        if one:
            check("%s: the relay" % w, one[0].find_element(By.CLASS_NAME, "relay").text, r["relay"], relay_fails)
            check("%s: its state" % w, one[0].find_element(By.CLASS_NAME, "state").text, r["state"], relay_fails)
        check("%s: no relay table" % w, len(d.find_elements(By.CSS_SELECTOR, "tr[data-relay]")), 0, relay_fails)
        return
    check("%s: one row per relay" % w, len(d.find_elements(By.CSS_SELECTOR, "tr[data-relay]")), len(rs), relay_fails)
    for r in rs:
        row = d.find_elements(By.CSS_SELECTOR, 'tr[data-relay="%s"]' % r["relay"])
        check("%s: relay %s has a row" % (w, r["relay"]), len(row), 1, relay_fails)
        if not row:
            continue
        for k in ("sent", "deferred", "failed"):
            check("%s: relay %s %s" % (w, r["relay"], k), int(row[0].find_element(By.CLASS_NAME, k).text), r[k], relay_fails)
        state = (r["state"] or "unused") + (": " + r["reason"] if r["reason"] else "")
        check("%s: relay %s state" % (w, r["relay"]), words(row[0].find_element(By.CLASS_NAME, "state").text), words(state), relay_fails)
try:
    for width in (375, 1200):
        for name, show, bounces in pages:
            w = "%s %d px" % (name, width)
            url = "file://%s/%s.html" % (out, name)
            d.set_window_size(width, 900)
            d.get(url)
            inner = d.execute_script("return window.innerWidth")
            # the window's chrome takes some of the width: make the viewport WIDTH
            d.set_window_size(width + (width - inner), 900)
            d.get(url)
            vw = d.execute_script("return window.innerWidth")
            sw = d.execute_script("return document.documentElement.scrollWidth")
            check("%s: viewport %d, no sideways scroll (scrollWidth)" % (w, vw), sw <= vw, True)
            h = d.execute_script("return document.documentElement.scrollHeight")
            d.set_window_size(width + (width - inner), min(max(h, 600), 6000))
            d.save_screenshot("%s/%s-%d.png" % (out, name, width))
            res = d.execute_script("return performance.getEntriesByType('resource').length")
            check("%s: resources loaded" % w, res, 0)
            n = lambda i: int(d.find_element(By.ID, "n-" + i).text)
            for k in ("total", "sent", "failed", "queued"):
                check("%s: card %s" % (w, k), n(k), show[k])
            check("%s: card bounced" % w, n("bounced"), bounces["bounced"])
            for s in show["by_segment"]:
                row = d.find_element(By.CSS_SELECTOR, 'tr[data-segment="%s"]' % s["segment"])
                for k in ("total", "sent", "failed", "queued"):
                    check("%s: %s %s" % (w, s["segment"], k), int(row.find_element(By.CLASS_NAME, k).text), s[k])
            check("%s: curve sent + failed" % w,
                  int(d.find_element(By.ID, "curve-sent").text) + int(d.find_element(By.ID, "curve-failed").text),
                  show["sent"] + show["failed"])
            check("%s: state" % w, d.find_element(By.ID, "state").text, show["state"])
            relays(w, show)
    # only a run that got this far compared every page's relays
    print("finished: %d relay checks" % relay_checks)
finally:
    d.quit()
sys.exit((1 if fails else 0) | (2 if relay_fails else 0))
EOP
rc=$?
sed 's/^/# /' "$T/browser.out" | grep -v '^# ok ' | head -20
[ $((rc & 1)) = 0 ] && [ "$rc" -lt 4 ]
ok $? "in Chromium at 375 and 1200 px the numbers are campaign show --json's"
[ "$rc" -lt 4 ] && [ $((rc & 2)) = 0 ] && grep -q '^finished: [1-9][0-9]* relay checks$' "$T/browser.out"
ok $? "in Chromium the relays are campaign show --json's, relay by relay (one relay: one line)"
missing=$(for f in report-375 report-1200 relays-375 relays-1200; do
	[ -s "$OUT/$f.png" ] || echo "$f.png"; done)
[ -z "$missing" ]
ok $? "screenshots kept: $OUT/report-375.png, report-1200.png, relays-375.png, relays-1200.png"
# width PNG - the width of a PNG
width() { $PY -c 'import struct,sys; d=open(sys.argv[1],"rb").read(24); print(struct.unpack(">I", d[16:20])[0])' "$1" 2>/dev/null || echo 0; }
w375=$(width "$OUT/report-375.png"); w1200=$(width "$OUT/report-1200.png")
r375=$(width "$OUT/relays-375.png"); r1200=$(width "$OUT/relays-1200.png")
[ "$w375" -ge 375 ] && [ "$w375" -lt 800 ] && [ "$w1200" -ge 1200 ] &&
    [ "$r375" -ge 375 ] && [ "$r375" -lt 800 ] && [ "$r1200" -ge 1200 ]
ok $? "the screenshots are $w375, $w1200, $r375 and $r1200 px wide"
grep -c '^ok ' "$T/browser.out" | { read n; [ "$n" -ge 60 ]; }
ok $? "every number was compared ($(grep -c '^ok ' "$T/browser.out") checks)"
# the page with a relay table, as the phone test (t0927) checks the
# one-relay page: axe-core finds nothing at 375 and 1200 px
$PY "$TOP/tests/t0727/axe.py" "$BUILD/screenshots" web \
    "report-relays|file://$OUT/relays.html" >"$T/axe.out" 2>&1
rc=$?
sed 's/^/# /' "$T/axe.out"
[ $rc = 0 ] && [ "$(grep -c '^ok ' "$T/axe.out")" = 2 ]
ok $? "four relays: no axe-core violation at 375 and 1200 px"
finish
