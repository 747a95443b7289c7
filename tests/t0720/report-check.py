# report-check.py DB CAMPAIGN REPORT.json - herald report --json's
# clicks against a count made here over the store with Python's sqlite3:
# per link, people's and machines' clicks and people's clicks by
# segment, and the totals. Prints what differs; exit 1 then.
import json
import sqlite3
import sys

db = sqlite3.connect(sys.argv[1])
cid = int(sys.argv[2])
rep = json.load(open(sys.argv[3]))
want = {}
for lid, url, seg in db.execute(
        "SELECT id, url, segment FROM links WHERE campaign_id = ?", (cid,)):
    w = want.setdefault(url, {"clicks": 0, "machine_clicks": 0, "seg": {}})
    w["seg"].setdefault(seg, 0)
    for n, machine in db.execute(
            "SELECT n, machine FROM track_counts WHERE kind = 'click' "
            "AND ref_id = ?", (lid,)):
        if machine:
            w["machine_clicks"] += n
        else:
            w["clicks"] += n
            w["seg"][seg] += n
got = {l["url"]: {"clicks": l["clicks"], "machine_clicks": l["machine_clicks"],
                  "seg": {s["segment"]: s["clicks"] for s in l["by_segment"]}}
       for l in rep["links"]}
bad = 0
if got != want:
    print("links differ:\n report %s\n store  %s" % (got, want))
    bad = 1
tot = sum(w["clicks"] for w in want.values())
mtot = sum(w["machine_clicks"] for w in want.values())
if (rep["clicks"], rep["machine_clicks"]) != (tot, mtot):
    print("totals differ: %s %s vs %s %s" % (rep["clicks"],
          rep["machine_clicks"], tot, mtot))
    bad = 1
if tot == 0:
    print("nothing clicked: the check would prove nothing")
    bad = 1
print("links %d, clicks %d, machine clicks %d" % (len(want), tot, mtot))
sys.exit(bad)
