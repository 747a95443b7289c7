#!/bin/sh
# herald serve in a real browser: Debian's chromium, headless, driven by
# python3-selenium at a 375 px wide window. A subscriber opens the
# unsubscribe link, presses the button and sees the done page; fills in
# the subscribe form, follows the link in the confirmation mail smtp-sink
# caught and is confirmed; changes a preference; opens the archive.
# Screenshots of every page: $BUILD/screenshots/t0702/.
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0700/serve-lib.sh"
plan 9
SHOTS=$BUILD/screenshots/t0702
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ] ||
    ! $PY -c 'import selenium' 2>/dev/null; then
	for i in 1 2 3 4 5 6 7 8 9; do skip "no chromium, chromedriver or python3-selenium"; done
	exit 0
fi
rm -rf "$SHOTS"
B() { $PY "$TOP/tests/t0702/browser.py" "$SHOTS" "$@"; }

sink_start
hinit 'web {' '  base_url = "https://lists.example.org"' '}'
sink_conf
echo 'editable_attributes = { "role" }' >> "$T/lists/xen-devel.conf"
# the example announcements' audiences name xen-users' segments
sed -n '/^segment /,/^}/p' "$TOP/lists/xen-users.conf" >> "$T/lists/xen-devel.conf"
ALICE=$(add_sub alice@subs.test active xen-devel)
sql "UPDATE subscribers SET attrs = '{\"role\":\"maintainer\"}' WHERE id = $ALICE"
sql "INSERT INTO attributes(key, value, subscriber_id) VALUES ('role', 'maintainer', $ALICE)" 2>/dev/null || true
serve_start
AT=$(tok u xen-devel $ALICE)

B unsubscribe "$WEB/unsubscribe/$AT"; ok $? "unsubscribe page, button, done page with undo and preferences (375 px)"
[ "$(status alice@subs.test xen-devel)" = unsubscribed ]; ok $? "alice is unsubscribed on disk"

B subscribe "$WEB/subscribe/xen-devel" erin@subs.test; ok $? "the subscribe form"
[ "$(status erin@subs.test xen-devel)" = pending ]; ok $? "erin is pending"
sink_wait erin@subs.test 1
LINK=$(grep -o 'https://lists.example.org/confirm/[a-z0-9-]*' "$(sink_last erin@subs.test)")
B confirm "$WEB${LINK#https://lists.example.org}"; ok $? "the link in the confirmation mail, Confirm"
[ "$(status erin@subs.test xen-devel)" = active ]; ok $? "erin is active"

B preferences "$WEB/preferences/$AT" developer; ok $? "a preference changed"
[ "$(sql "SELECT json_extract(attrs, '\$.role') FROM subscribers WHERE id = $ALICE")" = developer ]; ok $? "and stored"

sql "UPDATE memberships SET status = 'active' WHERE subscriber_id = $ALICE"
herald send summit -l xen-devel -s contributors --yes >/dev/null 2>&1
SUBJ=$(herald render summit -l xen-devel --to alice@subs.test | header Subject)
B archive "$WEB/archive/xen-devel/" "$SUBJ"; ok $? "the archive lists the campaign and opens it"
finish
