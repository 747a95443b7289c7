#!/bin/sh
# t0904-report.sh - herald report ID: the text summary, and --html: one
# self-contained page (no script, nothing loaded from elsewhere) rendered
# in headless Chromium (Debian's, through python3-selenium) at 375 and
# 1200 px wide. The screenshots stay in $BUILD/report/; the numbers on the
# page (the cards, the per-segment table, the curve's totals) must be
# those of campaign show --json, and neither width may scroll sideways.
# The campaign is tests/t0903/campaign.sh's, its attempts spread over four
# minutes so the curve has a shape.
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0400/common.sh"
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ] ||
    ! $PY -c 'import selenium' 2>/dev/null; then
	echo "1..0 # SKIP needs chromium, chromium-driver and python3-selenium"
	exit 0
fi
. "$TOP/tests/t0903/campaign.sh"
plan 13
OUT=$BUILD/report
mkdir -p "$OUT"
rm -f "$OUT"/report-*.png "$OUT/report.html"

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
[ "$(printf '%s\n' "$out" | awk '/^MINUTE/ { on = 1; next } on && NF == 0 { on = 0 } on { s += $3; d += $4; f += $5 } END { print s, d, f }')" = "8 1 2" ]
ok $? "text: the curve adds up to 8 sent, 1 deferred (rcpt450), 2 failed"
like "$out" '^ +8 +250 ' && like "$out" '^ +1 +550 '
ok $? "text: reply codes, most frequent first"
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
grep -q '<svg class="chart"' "$OUT/report.html" &&
    [ "$(grep -c '<svg' "$OUT/report.html")" -ge 4 ]
ok $? "inline SVG charts: curve, segments, bounce kinds, reply codes"

# the browser: both widths, screenshots, numbers, no sideways scrolling
$PY - "$OUT" "$T/show.json" "$T/bounces.json" "$T/chrome" >"$T/browser.out" 2>&1 <<'EOP'
import json, sys
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
out, show, bounces, profile = sys.argv[1:5]
show = json.load(open(show)); bounces = json.load(open(bounces))
o = webdriver.ChromeOptions()
o.binary_location = "/usr/bin/chromium"
for a in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
          "--disable-background-networking", "--disable-component-update",
          "--disable-sync", "--disable-dev-shm-usage",
          "--user-data-dir=" + profile):
    o.add_argument(a)
d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
fails = []
def check(what, got, want):
    print("%s %s: page %r, campaign show %r" % ("ok" if got == want else "MISMATCH", what, got, want))
    if got != want: fails.append(what)
try:
    for width in (375, 1200):
        d.set_window_size(width, 900)
        d.get("file://" + out + "/report.html")
        inner = d.execute_script("return window.innerWidth")
        # the window's chrome takes some of the width: make the viewport WIDTH
        d.set_window_size(width + (width - inner), 900)
        d.get("file://" + out + "/report.html")
        vw = d.execute_script("return window.innerWidth")
        sw = d.execute_script("return document.documentElement.scrollWidth")
        check("%d px: viewport %d, no sideways scroll (scrollWidth)" % (width, vw), sw <= vw, True)
        h = d.execute_script("return document.documentElement.scrollHeight")
        d.set_window_size(width + (width - inner), min(max(h, 600), 6000))
        d.save_screenshot("%s/report-%d.png" % (out, width))
        res = d.execute_script("return performance.getEntriesByType('resource').length")
        check("%d px: resources loaded" % width, res, 0)
        n = lambda i: int(d.find_element(By.ID, "n-" + i).text)
        for k, j in (("total", "total"), ("sent", "sent"), ("failed", "failed"), ("queued", "queued")):
            check("%d px: card %s" % (width, k), n(k), show[j])
        check("%d px: card bounced" % width, n("bounced"), bounces["bounced"])
        for s in show["by_segment"]:
            row = d.find_element(By.CSS_SELECTOR, 'tr[data-segment="%s"]' % s["segment"])
            for k in ("total", "sent", "failed", "queued"):
                check("%d px: %s %s" % (width, s["segment"], k), int(row.find_element(By.CLASS_NAME, k).text), s[k])
        check("%d px: curve sent + failed" % width,
              int(d.find_element(By.ID, "curve-sent").text) + int(d.find_element(By.ID, "curve-failed").text),
              show["sent"] + show["failed"])
        check("%d px: state" % width, d.find_element(By.ID, "state").text, show["state"])
finally:
    d.quit()
sys.exit(1 if fails else 0)
EOP
rc=$?
sed 's/^/# /' "$T/browser.out" | grep -v '^# ok ' | head -20
ok $rc "in Chromium at 375 and 1200 px the numbers are campaign show --json's"
[ -s "$OUT/report-375.png" ] && [ -s "$OUT/report-1200.png" ]
ok $? "screenshots kept: $OUT/report-375.png, report-1200.png"
w375=$($PY -c 'import struct,sys; d=open(sys.argv[1],"rb").read(24); print(struct.unpack(">I", d[16:20])[0])' "$OUT/report-375.png")
w1200=$($PY -c 'import struct,sys; d=open(sys.argv[1],"rb").read(24); print(struct.unpack(">I", d[16:20])[0])' "$OUT/report-1200.png")
[ "$w375" -ge 375 ] && [ "$w375" -lt 800 ] && [ "$w1200" -ge 1200 ]
ok $? "the screenshots are $w375 and $w1200 px wide"
grep -c '^ok ' "$T/browser.out" | { read n; [ "$n" -ge 20 ]; }
ok $? "every number was compared ($(grep -c '^ok ' "$T/browser.out") checks)"
finish
