#!/usr/bin/python3
# mail.py - the HTML part of a rendered announcement as a subscriber's
# screen shows it: Debian's chromium, headless, driven by python3-selenium,
# at 375 and 800 px wide, with prefers-color-scheme light and dark
# (CDP Emulation.setEmulatedMedia). Used by t0310.
#
#   mail.py SHOTS KIND FILE.html
#
# Prints one line per check: "pass LABEL" or "fail LABEL: why". Labels:
#   KIND WIDTH SCHEME fits          no sideways scroll
#   KIND WIDTH SCHEME contrast      every text >= 4.5:1 on what is behind it
#                                   (3:1 for large text, WCAG 2 AA)
#   KIND WIDTH dark recolours       the card and its text change colour
#   KIND WIDTH address              the unsubscribe address breaks only
#                                   after "+" or before "@"
#   KIND WIDTH layout               the kind's own geometry (see layout())
# Screenshots: SHOTS/mail-KIND-WIDTH-SCHEME.png (the whole page).
import base64
import os
import sys
import tempfile

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

shots, kind, path = sys.argv[1], sys.argv[2], os.path.abspath(sys.argv[3])
profile = tempfile.mkdtemp(prefix="herald-chromium-")
opts = webdriver.ChromeOptions()
opts.binary_location = "/usr/bin/chromium"
for a in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
          "--disable-background-networking", "--disable-component-update",
          "--disable-sync", "--disable-dev-shm-usage",
          "--window-size=800,900", "--user-data-dir=" + profile):
    opts.add_argument(a)
drv = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)

# every element with text of its own: its colour, the colour behind it
# (the backgrounds of it and its ancestors, composed over the canvas),
# its font size and weight
TEXTS_JS = r"""
function rgba(s) {
  var m = s.match(/rgba?\(([^)]*)\)/); if (!m) return [0, 0, 0, 0];
  var p = m[1].split(',').map(parseFloat);
  return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
}
function over(top, under) {
  var a = top[3];
  return [top[0] * a + under[0] * (1 - a), top[1] * a + under[1] * (1 - a),
          top[2] * a + under[2] * (1 - a), 1];
}
function behind(el) {
  var layers = [];
  for (var e = el; e && e.nodeType == 1; e = e.parentElement)
    layers.push(rgba(getComputedStyle(e).backgroundColor));
  var canvas = arguments[1];
  var c = canvas;
  for (var i = layers.length - 1; i >= 0; i--) c = over(layers[i], c);
  return c;
}
var canvas = rgba(arguments[0]);
var out = [];
document.querySelectorAll('body *').forEach(function (el) {
  var own = '';
  el.childNodes.forEach(function (n) { if (n.nodeType == 3) own += n.textContent; });
  own = own.trim();
  if (!own || el.getClientRects().length == 0) return;
  var cs = getComputedStyle(el);
  var layers = [];
  var bg = canvas;
  var chain = [];
  for (var e = el; e && e.nodeType == 1; e = e.parentElement) chain.push(e);
  for (var i = chain.length - 1; i >= 0; i--)
    bg = over(rgba(getComputedStyle(chain[i]).backgroundColor), bg);
  out.push({text: own.slice(0, 40), fg: rgba(cs.color), bg: bg,
            size: parseFloat(cs.fontSize), weight: parseInt(cs.fontWeight)});
});
return out;
"""


def lum(c):
    def ch(v):
        v = v / 255.0
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
    return 0.2126 * ch(c[0]) + 0.7152 * ch(c[1]) + 0.0722 * ch(c[2])


def ratio(a, b):
    la, lb = lum(a), lum(b)
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)


def say(label, why):
    print(("pass %s" % label) if why is None else ("fail %s: %s" % (label, why)))


def open_at(width, scheme):
    drv.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": 900, "deviceScaleFactor": 1,
        "mobile": width < 500})
    drv.execute_cdp_cmd("Emulation.setEmulatedMedia", {
        "features": [{"name": "prefers-color-scheme", "value": scheme}]})
    drv.get("file://" + path)


def shoot(width, scheme):
    h = drv.execute_script("return document.documentElement.scrollHeight")
    drv.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": h, "deviceScaleFactor": 1,
        "mobile": width < 500})
    png = drv.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
    os.makedirs(shots, exist_ok=True)
    with open(os.path.join(shots, "mail-%s-%d-%s.png" % (kind, width, scheme)),
              "wb") as f:
        f.write(base64.b64decode(png["data"]))


def fits(width):
    w = drv.execute_script("return document.documentElement.scrollWidth")
    inner = drv.execute_script("return window.innerWidth")
    if inner != width:
        return "the window is %d px wide, not %d" % (inner, width)
    if w > inner:
        return "the page is %d px wide in a %d px window" % (w, inner)
    return None


def contrast(scheme):
    # the canvas behind everything: white, or the dark canvas chromium
    # paints when the page opts into dark (color-scheme) and dark is asked
    canvas = drv.execute_script(
        "return getComputedStyle(document.documentElement).backgroundColor")
    if canvas.replace(" ", "") in ("rgba(0,0,0,0)", "transparent"):
        dark_ok = drv.execute_script(
            "return getComputedStyle(document.documentElement).colorScheme")
        canvas = ("rgb(18,18,18)" if scheme == "dark" and "dark" in dark_ok
                  else "rgb(255,255,255)")
    bad = []
    for t in drv.execute_script(TEXTS_JS, canvas):
        large = t["size"] >= 24 or (t["size"] >= 18.66 and t["weight"] >= 700)
        need = 3.0 if large else 4.5
        r = ratio(t["fg"], t["bg"])
        if r < need:
            bad.append("%r %.2f:1 (%s on %s)" % (t["text"], r,
                       t["fg"][:3], [round(x) for x in t["bg"][:3]]))
    return None if not bad else "; ".join(bad[:4]) + (
        " and %d more" % (len(bad) - 4) if len(bad) > 4 else "")


def card():
    # the body text's colours: the paragraph under the greeting
    return drv.execute_script(r"""
var p = document.querySelector('.body p') || document.querySelector('p');
var e = p, bg = 'rgba(0, 0, 0, 0)';
for (; e; e = e.parentElement) {
  bg = getComputedStyle(e).backgroundColor;
  if (bg != 'rgba(0, 0, 0, 0)') break;
}
return [getComputedStyle(p).color, bg];""")


ADDRESS_JS = r"""
// where the lines of the unsubscribe address break: the characters that
// end each line but the last
var a = Array.from(document.querySelectorAll('a[href^="mailto:"]')).find(
  function (x) { return x.textContent.indexOf('-unsubscribe') >= 0; });
if (!a) return null;
var text = '', nodes = [];
var w = document.createTreeWalker(a, NodeFilter.SHOW_TEXT);
for (var n; (n = w.nextNode()); ) nodes.push(n);
var ends = [], lastTop = null, prev = null;
nodes.forEach(function (n) {
  for (var i = 0; i < n.length; i++) {
    var r = document.createRange(); r.setStart(n, i); r.setEnd(n, i + 1);
    var rect = r.getClientRects()[0];
    if (!rect) continue;
    if (lastTop !== null && rect.top > lastTop + 2) ends.push(prev + '|' + n.data[i]);
    lastTop = rect.top; prev = n.data[i];
  }
});
return {text: a.textContent, ends: ends};
"""


def address():
    got = drv.execute_script(ADDRESS_JS)
    if got is None:
        return "no unsubscribe address in the footer"
    for e in got["ends"]:
        if not (e.startswith("+|") or e.endswith("|@")):
            return "%s breaks between %r and %r" % (got["text"], e[0], e[2])
    return None


def rect(el):
    return drv.execute_script(
        "var r = arguments[0].getBoundingClientRect();"
        "return [r.left, r.top, r.right, r.bottom, "
        "arguments[0].getClientRects().length];", el)


def layout_summit(width):
    # the Register button (a table cell that carries the colour) and
    # "See the schedule" beside or under it, each on one line
    for sched in drv.find_elements(By.PARTIAL_LINK_TEXT, "See the schedule"):
        s = rect(sched)
        if s[4] != 1:
            return "'See the schedule' wraps over %d lines" % s[4]
        cell = sched.find_element(By.XPATH,
                                  "preceding::a[starts-with(., 'Register')][1]"
                                  "/ancestor::td[1]")
        b = rect(cell)
        beside = s[1] >= b[1] - 1 and s[3] <= b[3] + 1 and s[0] >= b[2]
        under = s[1] >= b[3]
        if not (beside or under):
            return "'See the schedule' %s overlaps the button %s" % (s, b)
    if not drv.find_elements(By.PARTIAL_LINK_TEXT, "See the schedule"):
        return "no schedule link"
    return None


def layout_talks(width):
    # the talk's title takes most of the row: the date column stays narrow
    rows = drv.find_elements(By.CSS_SELECTOR, "table.talks tr")
    if not rows:
        return "no talks table (table.talks)"
    for row in rows:
        cells = row.find_elements(By.TAG_NAME, "td")
        if len(cells) != 2:
            return "a talk row has %d cells" % len(cells)
        d, t = rect(cells[0]), rect(cells[1])
        total = t[2] - d[0]
        if (t[2] - t[0]) < 0.6 * total:
            return "the title cell is %d of %d px" % (t[2] - t[0], total)
    return None


def layout_sponsorship(width):
    # each benefit a block of its own, with space between them
    tiers = drv.find_elements(By.CSS_SELECTOR, "ul.benefits")
    if not tiers:
        return "no benefit lists (ul.benefits)"
    for ul in tiers:
        items = ul.find_elements(By.TAG_NAME, "li")
        if len(items) < 2:
            return "a tier with %d benefits" % len(items)
        for a, b in zip(items, items[1:]):
            ra, rb = rect(a), rect(b)
            if rb[1] < ra[3] + 3:
                return "%r runs into %r" % (a.text[:30], b.text[:30])
        inner = drv.execute_script(
            "var td = document.querySelector('td.body'), s = getComputedStyle(td);"
            "return td.clientWidth - parseFloat(s.paddingLeft)"
            " - parseFloat(s.paddingRight);")
        if rect(ul)[2] - rect(ul)[0] < 0.7 * inner:
            return "the benefits are squeezed to %d of %d px" % (
                rect(ul)[2] - rect(ul)[0], inner)
    return None


LAYOUTS = {"summit": layout_summit, "talks": layout_talks,
           "sponsorship": layout_sponsorship}

try:
    for width in (375, 800):
        seen = {}
        for scheme in ("light", "dark"):
            open_at(width, scheme)
            say("%s %d %s fits" % (kind, width, scheme), fits(width))
            say("%s %d %s contrast" % (kind, width, scheme), contrast(scheme))
            seen[scheme] = card()
            if scheme == "light":
                say("%s %d address" % (kind, width), address())
                say("%s %d layout" % (kind, width), LAYOUTS[kind](width))
            shoot(width, scheme)
        same = [w for w, a, b in zip(("text", "background"), seen["light"],
                                     seen["dark"]) if a == b]
        dark_bg = [int(x) for x in seen["dark"][1].split("(")[1].split(")")[0]
                   .split(",")[:3]]
        why = None
        if same:
            why = "the %s stays %s" % (" and ".join(same), seen["light"])
        elif lum(dark_bg) > 0.1:
            why = "the dark card is %s" % seen["dark"][1]
        say("%s %d dark recolours" % (kind, width), why)
finally:
    drv.quit()
