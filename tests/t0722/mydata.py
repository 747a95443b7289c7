#!/usr/bin/python3
# mydata.py - a subscriber's own data in a real headless chromium
# (selenium), as t0702 drives it; a screenshot of every page under SHOTS.
#
#   mydata.py SHOTS download URL EMAIL OUT  the preferences page at URL,
#       "Download my data": the file the browser saves is JSON naming
#       EMAIL; copied to OUT
#   mydata.py SHOTS ask URL                 "Erase me": the page asks to
#       confirm (and nothing is erased yet: the test looks)
#   mydata.py SHOTS erase URL               "Erase me", then "Yes, erase me"
import glob
import json
import os
import shutil
import sys
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

shots, step, url = sys.argv[1], sys.argv[2], sys.argv[3]
args = sys.argv[4:]
profile = tempfile.mkdtemp(prefix="herald-chromium-")
downloads = tempfile.mkdtemp(prefix="herald-downloads-")
opts = webdriver.ChromeOptions()
opts.binary_location = "/usr/bin/chromium"
for a in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
          "--disable-background-networking", "--disable-component-update",
          "--disable-sync", "--disable-dev-shm-usage",
          "--window-size=375,812", "--user-data-dir=" + profile):
    opts.add_argument(a)
opts.add_experimental_option("prefs", {
    "download.default_directory": downloads,
    "download.prompt_for_download": False})
drv = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
drv.execute_cdp_cmd("Page.setDownloadBehavior", {
    "behavior": "allow", "downloadPath": downloads})
n = [0]


def shot(name):
    n[0] += 1
    os.makedirs(shots, exist_ok=True)
    drv.save_screenshot(os.path.join(shots, "%s-%d-%s.png" % (step, n[0],
                                                              name)))


def fail(why):
    shot("failed")
    print("# %s: %s (at %s)" % (step, why, drv.current_url))
    drv.quit()
    sys.exit(1)


def text():
    return drv.find_element(By.TAG_NAME, "body").text


def download(email, out):
    drv.find_element(By.ID, "mydata").click()
    got = []
    for _ in range(100):
        got = [f for f in glob.glob(os.path.join(downloads, "*"))
               if not f.endswith(".crdownload")]
        if got:
            break
        time.sleep(0.1)
    if not got:
        fail("no file downloaded")
    with open(got[0]) as f:
        data = json.load(f)
    if data.get("subscriber", {}).get("email") != email:
        fail("the file does not name %s: %s" % (email, data))
    shutil.copy(got[0], out)
    print("# downloaded %s (%d bytes)" % (os.path.basename(got[0]),
                                          os.path.getsize(got[0])))


try:
    drv.get(url)
    shot("preferences")
    if "Your data" not in text():
        fail("no 'Your data' on the preferences page")
    if step == "download":
        download(args[0], args[1])
    else:
        drv.find_element(By.ID, "erase").click()
        shot("asked")
        if "cannot be undone" not in text():
            fail("no confirmation page")
        if step == "erase":
            drv.find_element(By.ID, "erase-confirm").click()
            shot("erased")
            if "is erased" not in text():
                fail("no done page")
finally:
    drv.quit()
    shutil.rmtree(profile, ignore_errors=True)
    shutil.rmtree(downloads, ignore_errors=True)
