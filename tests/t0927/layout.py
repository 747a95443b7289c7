#!/usr/bin/python3
# layout.py URL - the report (a file:// URL) in headless chromium at 375
# and 1200 px: every text of a chart (the curve's SVG text, each bar's
# label and number) is whole inside its chart and its section, not cut
# off, and at least 12 px on screen; every cell of every table shown lies
# inside the window. One line per problem; exit 1 when there is one.
import sys
import tempfile

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

url = sys.argv[1]
opts = webdriver.ChromeOptions()
opts.binary_location = "/usr/bin/chromium"
for a in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
          "--disable-background-networking", "--disable-component-update",
          "--disable-sync", "--disable-dev-shm-usage", "--hide-scrollbars",
          "--user-data-dir=" + tempfile.mkdtemp(prefix="herald-layout-")):
    opts.add_argument(a)
drv = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
# what is shown: for each text, its box, its box's container's and its
# size on screen (font size times the SVG's scale)
PROBE = r"""
function shown(e) {
  for (; e && e.nodeType === 1; e = e.parentNode)
    if (getComputedStyle(e).display === 'none') return false;
  return true;
}
var out = [], W = window.innerWidth;
document.querySelectorAll('svg text').forEach(function (t) {
  if (!shown(t)) return;
  var svg = t.ownerSVGElement, r = t.getBoundingClientRect(),
      s = svg.getBoundingClientRect(),
      px = parseFloat(getComputedStyle(t).fontSize) * svg.getScreenCTM().a;
  out.push(['svg text', t.textContent, r.left, r.right, s.left, s.right, px]);
});
document.querySelectorAll('.bl, .bn').forEach(function (t) {
  if (!shown(t)) return;
  var r = t.getBoundingClientRect(), s = t.closest('section').getBoundingClientRect();
  out.push(['bar ' + t.className, t.textContent, r.left, r.right, s.left,
            s.right, parseFloat(getComputedStyle(t).fontSize),
            t.scrollWidth > t.clientWidth + 1]);
});
document.querySelectorAll('td, th').forEach(function (t) {
  if (!shown(t) || t.closest('thead') && getComputedStyle(
      t.closest('thead')).position === 'absolute') return;
  var r = t.getBoundingClientRect();
  out.push(['cell', t.textContent, r.left, r.right, 0, W, 99, false]);
});
return out;
"""
bad = 0
try:
    for width in (375, 1200):
        drv.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": 900, "deviceScaleFactor": 1,
            "mobile": width < 600})
        drv.get(url)
        items = drv.execute_script(PROBE)
        seen = set()
        for it in items:
            kind, text, l, r, sl, sr, px = it[:7]
            cut = it[7] if len(it) > 7 else False
            seen.add(text)
            why = []
            if l < sl - 1 or r > sr + 1:
                why.append("outside its box (%.0f-%.0f in %.0f-%.0f)" %
                           (l, r, sl, sr))
            if cut:
                why.append("cut off")
            if px < 12:
                why.append("%.1f px" % px)
            if why:
                bad = 1
                print("%d px: %s %r: %s" % (width, kind, text, ", ".join(why)))
        if "east-coast-developers" not in seen:
            bad = 1
            print("%d px: no east-coast-developers label" % width)
        print("%d px: %d texts and cells checked" % (width, len(items)))
finally:
    drv.quit()
sys.exit(bad)
