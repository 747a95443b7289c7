#!/bin/sh
# t0903-json.sh - --json on every command that lists or shows: lists,
# segment (all, --count, --list), campaigns, campaign show, bounces (per
# subscriber and --campaign), replies, reply show, sub show and sub
# export (JSON lines). Each output is parsed with python3's json and its
# fields are checked against the database, one campaign of everything
# (tests/t0903/campaign.sh) behind them. The schemas are doc/guide/reports.md's
# "JSON output"; every key it names for a command is checked here.
# Also: the replies listing cuts a 2 MB subject to one short line, and
# send's per-segment counts come before its progress lines in one file.
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0400/common.sh"
. "$TOP/tests/t0903/campaign.sh"
plan 34

# check NAME CODE - run python CODE with j (the parsed $out), jl (for
# JSON lines: each line parsed; CODE that names jl gets no j), db (a sqlite3 connection) and q(SQL) (first
# column of the first row); an exception fails the point, and says why
check() {
	printf '%s' "$out" >"$T/json.out"
	$PY - "$T/json.out" "$T/data/herald.db" "$2" <<'EOP'
import json, sqlite3, sys
text = open(sys.argv[1], encoding="utf-8").read()
db = sqlite3.connect(sys.argv[2])
def q(sql, *a):
    r = db.execute(sql, a).fetchone()
    return r[0] if r else None
def keys(o, *names):
    missing = [n for n in names if n not in o]
    assert not missing, "missing keys %s in %s" % (missing, sorted(o))
lines = [l for l in text.split("\n") if l]
try:
    j = json.loads(text) if "jl" not in sys.argv[3] else None
    jl = [json.loads(l) for l in lines]
    exec(sys.argv[3])
except Exception as e:
    print("#   %s: %s" % (type(e).__name__, e))
    sys.exit(1)
EOP
	ok $? "$1"
}

t "lists --json" 0 herald lists --json
check "lists: name, address, members by status" '
assert isinstance(j, list) and [l["name"] for l in j] == ["xen-devel", "xen-users"], j
u = j[1]; keys(u, "name", "address", "members")
keys(u["members"], "active", "pending", "unsubscribed", "disabled", "blocklisted")
assert u["members"]["active"] == q("SELECT count(*) FROM memberships WHERE status = \"active\"")
assert u["members"]["unsubscribed"] == 1 and u["address"] == "xen-users@lists.xenproject.org"'

t "segment LIST --json" 0 herald segment xen-users --json
check "segment: every segment with its count" '
assert [s["segment"] for s in j][:2] == ["users", "developers"], j
for s in j: keys(s, "segment", "count")
assert j[0]["count"] == 5 and j[1]["count"] == 4, j[:2]'
t "segment LIST NAME --count --json" 0 herald segment xen-users users --count --json
check "segment --count: list, segment, where, count" '
keys(j, "list", "segment", "where", "count")
assert (j["list"], j["segment"], j["count"]) == ("xen-users", "users", 5), j
assert j["where"].startswith("role")'
t "segment --where --list --json" 0 herald segment xen-users --where 'role = "developer"' --list --json
check "segment --list: the members" '
keys(j, "list", "segment", "where", "members")
assert j["segment"] is None and j["where"] == "role = \"developer\""
assert j["members"] == ["d1@g.test", "d2@g.test", "d3@g.test", "data554@g.test"], j'

t "campaigns --json" 0 herald campaigns --json
check "campaigns: id, list, announcement, segments, state, dates, counts" '
assert len(j) == 1; c = j[0]
keys(c, "id", "list", "announcement", "segments", "state", "reason", "created", "started", "finished", "total", "sent", "failed", "queued")
assert (c["id"], c["state"], c["segments"], c["total"], c["sent"], c["failed"], c["queued"]) == (1, "done", ["users", "developers"], 10, 8, 2, 0), c
assert c["created"].endswith("Z") and c["reason"] is None'

t "campaign show --json" 0 herald campaign show "$CAMPAIGN" --json
check "campaign show: counts, rate, by_segment, errors" '
keys(j, "id", "state", "total", "sent", "failed", "queued", "due", "sending_seconds", "rate", "by_segment", "errors")
assert (j["total"], j["sent"], j["failed"]) == (10, 8, 2)
assert [(s["segment"], s["total"], s["sent"], s["failed"], s["queued"]) for s in j["by_segment"]] == [("users", 6, 5, 1, 0), ("developers", 4, 3, 1, 0)], j["by_segment"]
e = {(x["stage"], x["code"]): x for x in j["errors"]}
assert e[("rcpt", 550)]["failed"] == 1 and e[("data", 554)]["reply"].startswith("5.6.0"), j["errors"]
for x in j["errors"]: keys(x, "stage", "code", "reply", "count", "failed")'
t "campaign show --json of an unknown campaign" 67 herald campaign show 99 --json

t "bounces --json" 0 herald bounces --json
check "bounces: one object per subscriber with a bounce" '
by = {b["email"]: b for b in j}
for b in j: keys(b, "list", "email", "subscriber", "membership", "disabled", "warnings_sent", "score", "bounces", "last", "kind", "status", "reason", "source")
assert by["u2@f.test"]["kind"] == "hard" and by["u2@f.test"]["status"] == "5.1.1" and by["u2@f.test"]["source"] == "verp", by["u2@f.test"]
assert by["d2@g.test"]["kind"] == "soft" and by["d2@g.test"]["score"] == 0.5
assert by["rcpt550@f.test"]["source"] == "sync" and by["rcpt550@f.test"]["bounces"] == 2
assert len(j) == q("SELECT count(DISTINCT subscriber_id) FROM bounces")'
t "bounces --campaign --json" 0 herald bounces --campaign "$CAMPAIGN" --json
check "bounces --campaign: recipients, bounced, by kind and reason" '
keys(j, "campaign", "recipients", "bounced", "by_kind")
assert (j["campaign"], j["recipients"], j["bounced"]) == (1, 10, 4), j
r = {(x["kind"], x["reason"]): x for x in j["by_kind"]}
assert r[("soft", "mailbox_full")]["recipients"] == 1 and r[("hard", "user_unknown")]["recipients"] == 2, r'

t "replies --json" 0 herald replies --json
check "replies: newest first, linked to campaign and subscriber" '
assert [r["from"] for r in j] == ["d3@g.test", "u3@f.test"], j
for r in j: keys(r, "id", "received", "list", "route", "kind", "forwarded", "campaign", "subscriber", "from", "subject")
assert j[0]["campaign"] == 1 and j[0]["forwarded"] is True and j[0]["kind"] == "reply"
assert j[1]["subscriber"] == q("SELECT id FROM subscribers WHERE email = \"u3@f.test\"")'
R=$(sql "SELECT min(id) FROM replies")
t "reply show --json" 0 herald reply show "$R" --json
check "reply show: the stored fields and the raw message" '
keys(j, "id", "received", "list", "route", "kind", "forwarded", "envelope_from", "from", "from_name", "subject", "message_id", "in_reply_to", "campaign", "subscriber", "subscriber_email", "size", "raw")
assert j["subscriber_email"] == "u3@f.test" and j["in_reply_to"].startswith("<herald.")
assert j["raw"] == open("'"$T/r1"'").read() and j["size"] == len(j["raw"])'

t "sub show --json" 0 herald sub show xen-users u4@f.test --json
check "sub show: subscriber, attributes, membership" '
keys(j, "id", "email", "name", "created", "attributes", "list", "membership")
assert j["attributes"] == {"role": "user"} and j["name"] == "u4"
keys(j["membership"], "status", "subscribed", "changed", "channel")
assert j["membership"]["status"] == "unsubscribed" and j["membership"]["channel"] == "mail", j'
t "sub show --json of a non-member" 0 herald sub show xen-devel u4@f.test --json
check "sub show: membership null when not a member" 'assert j["membership"] is None and j["list"] == "xen-devel"'

t "sub export --json" 0 herald sub export xen-users --json
check "sub export: JSON lines, one member each, in order" '
assert isinstance(jl, list) and len(jl) == 9, len(jl)
for m in jl: keys(m, "email", "name", "attributes")
assert jl[0] == {"email": "u1@f.test", "name": "u1", "attributes": {"role": "user"}}, jl[0]
assert "u4@f.test" not in [m["email"] for m in jl]'
t "sub export --segment --json" 0 herald sub export xen-users --segment developers --json
check "sub export --segment: the segment only" 'assert [m["email"] for m in jl] == ["d1@g.test", "d2@g.test", "d3@g.test", "data554@g.test"], j'

# strings that are not plain: quotes, control characters, invalid UTF-8
sql "UPDATE replies SET subject = 'a \"quoted\" ' || char(9) || 'tab ' || char(1) || ' é' || CAST(X'FF' AS TEXT) WHERE id = $R"
t "replies --json with odd bytes" 0 herald replies --json
check "escapes and U+FFFD keep it valid JSON" 'assert j[1]["subject"] == "a \"quoted\" \ttab \x01 é\ufffd", repr(j[1]["subject"])'

# a 2 MB subject: the listing stays one short line, --json has it whole
sql "UPDATE replies SET subject = 'S' || replace(hex(zeroblob(1048576)), '00', 'xy') || char(10) || 'next' WHERE id = $R"
t "replies with a 2 MB subject" 0 herald replies
line=$(printf '%s\n' "$out" | grep "^$R ")
[ "$(printf '%s\n' "$out" | wc -l)" = 3 ] && [ "${#line}" -lt 200 ] &&
    printf '%s' "$line" | grep -q 'Sxyxy.*…$'
ok $? "the listing cuts it (one line of ${#line} characters, ending in …)"

# send >FILE 2>&1 (the fixture's): the counts first, as they happened
c=$(grep -n '^  total ' "$T/send.out" | cut -d: -f1)
p=$(grep -n '^herald send: campaign 1: sent' "$T/send.out" | cut -d: -f1)
[ -n "$c" ] && [ -n "$p" ] && [ "$c" -lt "$p" ]
ok $? "send into one file: the per-segment counts (line $c) before the progress (line $p)"
finish
