#!/bin/sh
# t0927-report-phone.sh - herald report read on a phone and as the
# manager reads it (issue 27, items 10 and 11): the HTML report in
# headless chromium at 375 and 1200 px has no axe-core violation of any
# impact (tests/vendor/axe-core) and never scrolls sideways; every text
# of a chart is whole inside its chart (a segment name as long as
# "east-coast-developers" is not cut off) and at least 12 px on screen at
# 375 px; every column of the segment table is on screen; "Sending over
# time" of a campaign that took seconds is drawn second by second.
# "Unsubscribed since" leaves out a subscriber who pressed Undo; the
# report, campaign show --json and campaigns --json name the subject.
# Screenshots: $BUILD/screenshots/web-report-375.png and -1200.png.
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0400/common.sh"
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ] ||
    ! $PY -c 'import selenium' 2>/dev/null; then
	echo "1..0 # SKIP needs chromium, chromium-driver and python3-selenium"
	exit 0
fi
. "$TOP/tests/t0903/campaign.sh"
. "$TOP/tests/t0700/serve-lib.sh"
plan 15
SHOTS=$BUILD/screenshots

# the longest segment name the shipped lists have, in the campaign
sql "UPDATE deliveries SET segment = 'east-coast-developers' WHERE campaign_id = $CAMPAIGN AND segment = 'developers';
     UPDATE campaigns SET segments = 'users,east-coast-developers' WHERE id = $CAMPAIGN"
# the campaign took 16 seconds
S=$(sql "SELECT started FROM campaigns WHERE id = $CAMPAIGN")
sql "UPDATE deliveries SET first_attempt = $S + (id % 5) * 4, last_attempt = $S + (id % 5) * 4 WHERE campaign_id = $CAMPAIGN"

# 11: Undo is no loss: u1 unsubscribes and presses Undo on the web page
serve_start
U1=$(sql "SELECT id FROM subscribers WHERE email = 'u1@f.test'")
UT=$("$BUILD/tools/herald-token" "$T/data/secret" u xen-users "$U1")
hc -d List-Unsubscribe=One-Click "$WEB/unsubscribe/$UT"; c1=$code
hc -X POST "$WEB/resubscribe/$UT"; c2=$code
serve_stop
[ "$c1$c2" = 200200 ] && [ "$(sql "SELECT m.status FROM memberships m WHERE m.subscriber_id = $U1")" = active ] &&
    [ "$(sql "SELECT count(*) FROM events WHERE subscriber_id = $U1 AND action = 'unsubscribe'")" = 1 ]
ok $? "u1 unsubscribed on the web and pressed Undo: active again"
t "report" 0 herald report "$CAMPAIGN"
like "$out" 'unsubscribed since 1,'
ok $? "unsubscribed since: 1 (u4), not u1 who is back"

# the subject a member of the campaign's first segment (users) got
SUBJ=$(herald render summit -l xen-users --to u3@f.test 2>/dev/null | header Subject)
[ -n "$SUBJ" ] && printf '%s\n' "$out" | grep -qxF "subject \"$SUBJ\""
ok $? "the report names the subject sent ($SUBJ)"
herald campaign show "$CAMPAIGN" --json >"$T/show.json"
herald campaigns --json >"$T/list.json"
$PY - "$T/show.json" "$T/list.json" "$SUBJ" <<'EOP'
import json, sys
show = json.load(open(sys.argv[1]))
rows = json.load(open(sys.argv[2]))
ok = show["subject"] == sys.argv[3] and \
    any(r["id"] == show["id"] and r["subject"] == show["subject"] for r in rows)
sys.exit(0 if ok else 1)
EOP
ok $? "campaign show --json and campaigns --json carry subject"

# 10: the curve's bucket follows the campaign's length
like "$out" '^SECOND \(UTC\) .*\(per second\)$' &&
    [ "$(printf '%s\n' "$out" | grep -cE '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} ')" -ge 5 ]
ok $? "text: a campaign of 16 seconds is counted second by second"
t "campaign show" 0 herald campaign show "$CAMPAIGN"
printf '%s\n' "$out" | grep -qxF "subject      $SUBJ"
ok $? "campaign show names it too"
t "report --html" 0 herald report "$CAMPAIGN" --html "$T/report.html"
like "$(cat "$T/report.html")" '<small id="bucket">per second, UTC</small>' &&
    [ "$(grep -c '<circle' "$T/report.html")" -ge 30 ]
ok $? "html: the curve per second, a point for each second"
grep -qF "<b id=\"subject\">$(printf '%s' "$SUBJ" | sed 's/&/\&amp;/g; s/</\&lt;/g')</b>" "$T/report.html"
ok $? "html: the subject"
sql "UPDATE deliveries SET first_attempt = $S + (id % 5) * 600, last_attempt = $S + (id % 5) * 600 WHERE campaign_id = $CAMPAIGN"
t "report of a campaign of 40 minutes" 0 herald report "$CAMPAIGN"
like "$out" '^MINUTE \(UTC\) .*\(per minute\)$'
ok $? "one of 40 minutes: per minute"
sql "UPDATE deliveries SET first_attempt = $S + (id % 5) * 4, last_attempt = $S + (id % 5) * 4 WHERE campaign_id = $CAMPAIGN"

# the browser
herald report "$CAMPAIGN" --html "$SHOTS/report.html"
rm -f "$SHOTS"/web-report-*.png
$PY "$TOP/tests/t0727/axe.py" "$SHOTS" web "report|file://$SHOTS/report.html" >"$T/axe.out" 2>&1
rc=$?
sed 's/^/# /' "$T/axe.out"
[ $rc = 0 ] && [ "$(grep -c '^ok ' "$T/axe.out")" = 2 ]
ok $? "the report at 375 and 1200 px: no axe-core violation, no sideways scroll"
$PY "$TOP/tests/t0927/layout.py" "file://$SHOTS/report.html" >"$T/layout.out" 2>&1
rc=$?
sed 's/^/# /' "$T/layout.out"
[ $rc = 0 ]
ok $? "every chart text whole, >= 12 px at 375 px; every table cell on screen"
finish
