#!/usr/bin/python3
# browser.py - one step of t0702 in a real headless chromium (selenium),
# at a 375 px wide window; saves a screenshot of every page it sees under
# SHOTS. Exits 0 when the step's page did what it should, else prints why.
#
#   browser.py SHOTS unsubscribe URL       open, press the button, done page
#   browser.py SHOTS subscribe URL EMAIL   fill in the form, see "Almost done"
#   browser.py SHOTS confirm URL           the link from the mail, press Confirm
#   browser.py SHOTS preferences URL ROLE  change the role attribute, Save
#   browser.py SHOTS archive URL SUBJECT   the archive lists SUBJECT, open it
import os
import sys
import tempfile

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

shots, step, url = sys.argv[1], sys.argv[2], sys.argv[3]
args = sys.argv[4:]
profile = tempfile.mkdtemp(prefix="herald-chromium-")
opts = webdriver.ChromeOptions()
opts.binary_location = "/usr/bin/chromium"
for a in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
          "--disable-background-networking", "--disable-component-update",
          "--disable-sync", "--disable-dev-shm-usage",
          "--window-size=375,812", "--user-data-dir=" + profile):
    opts.add_argument(a)
drv = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
# headless windows are at least 500 px wide: emulate a 375 px phone
drv.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
    "width": 375, "height": 812, "deviceScaleFactor": 1, "mobile": True})
n = [0]


def fail(why):
    shot("failed")
    print("# %s: %s (at %s)" % (step, why, drv.current_url))
    drv.quit()
    sys.exit(1)


def shot(name):
    n[0] += 1
    os.makedirs(shots, exist_ok=True)
    drv.save_screenshot(os.path.join(shots, "%s-%d-%s.png" % (step, n[0], name)))


def fits():
    # legible at 375 px: nothing wider than the window, no sideways scroll
    w = drv.execute_script("return document.documentElement.scrollWidth")
    inner = drv.execute_script("return window.innerWidth")
    if inner != 375:
        fail("the window is %d px wide, not 375" % inner)
    if w > inner:
        fail("the page is %d px wide in a %d px window" % (w, inner))


def text():
    return drv.find_element(By.TAG_NAME, "body").text


try:
    drv.get(url)
    fits()
    shot("open")
    if step == "unsubscribe":
        if "Unsubscribe" not in text():
            fail("no unsubscribe page")
        drv.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        fits()
        shot("done")
        if "no longer subscribed" not in text():
            fail("no done page")
        if not drv.find_elements(By.XPATH, "//button[contains(., 'Undo')]"):
            fail("no undo button")
        if not drv.find_elements(By.LINK_TEXT, "preferences"):
            fail("no preferences link")
    elif step == "subscribe":
        drv.find_element(By.NAME, "email").send_keys(args[0])
        drv.find_element(By.NAME, "name").send_keys("Erin Example")
        drv.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        fits()
        shot("sent")
        if "Almost done" not in text():
            fail("no confirmation page")
    elif step == "confirm":
        drv.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        fits()
        shot("done")
        if "Done." not in text():
            fail("not confirmed")
    elif step == "preferences":
        # the list's segments test role: a radio button for each value
        drv.find_element(By.CSS_SELECTOR, 'input[name="attr.role"]'
                         '[value="%s"]' % args[0]).click()
        drv.find_element(By.XPATH, "//button[.='Save']").click()
        fits()
        shot("saved")
        if "Saved." not in text():
            fail("not saved")
    elif step == "archive":
        if len(args[0]) < 5:
            fail("no subject to look for: %r" % args[0])
        if args[0] not in text():
            fail("the archive does not list %r" % args[0])
        drv.find_element(By.PARTIAL_LINK_TEXT, args[0][:20]).click()
        shot("issue")
        if args[0].split(":")[0] not in drv.page_source:
            fail("the announcement did not open")
    else:
        fail("no step " + step)
except Exception as e:  # a missing element is a failed step, said plainly
    fail("%s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else ""))
drv.quit()
sys.exit(0)
