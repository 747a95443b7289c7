# expect.py DB SEGMENTS new-since CAMPAIGN
# expect.py DB SEGMENTS not-clicked CAMPAIGN [URL]
# The addresses a follow-up of xen-users must reach, counted here over
# the store with Python's sqlite3, one a line, sorted. SEGMENTS is a
# comma-separated list of xen-users' segments (their conditions written
# out below, as lists/xen-users.conf has them).
import json
import sqlite3
import sys

ROLES = {"users": {"user"}, "developers": {"developer", "maintainer"}}
db = sqlite3.connect(sys.argv[1])
roles = set().union(*(ROLES[s] for s in sys.argv[2].split(",")))
mode, cid = sys.argv[3], int(sys.argv[4])
url = sys.argv[5] if len(sys.argv) > 5 else None
started = db.execute("SELECT started FROM campaigns WHERE id = ?",
                     (cid,)).fetchone()[0]
clicked = set()
for (sub,) in db.execute(
        "SELECT d.subscriber_id FROM deliveries d, track_counts t, links l"
        " WHERE t.delivery_id = d.id AND t.kind = 'click' AND t.machine = 0"
        " AND l.id = t.ref_id AND d.campaign_id = ? AND (? IS NULL OR"
        " l.url = ?)", (cid, url, url)):
    clicked.add(sub)
out = []
for sid, email, attrs, joined in db.execute(
        "SELECT s.id, s.email, s.attrs, m.subscribed FROM subscribers s,"
        " memberships m, lists l WHERE m.subscriber_id = s.id AND"
        " l.id = m.list_id AND l.name = 'xen-users' AND m.status = 'active'"):
    if json.loads(attrs).get("role") not in roles:
        continue
    if mode == "new-since" and joined <= started:
        continue
    if mode == "not-clicked" and sid in clicked:
        continue
    out.append(email)
print("\n".join(sorted(out)))
