#!/bin/sh
# herald maintain: a member disabled by bounces gets three warnings a week
# apart, then is removed a week after the last; stale scores are dropped;
# synchronous 5xx rejections count as hard bounces; notices wait in the
# outbox (with the owner notice) while the relay is down, and leave when it
# is back (an aiosmtpd server standing in for it).
. "${TOP:-.}/tests/lib.sh"
plan 40

F=$BUILD/tools/bounce-feed
T0=1717200000	# 2024-06-01 00:00 UTC
DAY=86400
P=$(free_port)	# the relay: nothing listens there until the end
hinit "smtp {" "host = \"127.0.0.1\"" "port = $P" "starttls = \"off\"" "}"
sql "INSERT INTO lists(name) VALUES ('xen-users');
INSERT INTO subscribers(email, email_key) VALUES
  ('alice@subs.test', 'alice@subs.test'), ('bob@subs.test', 'bob@subs.test');
INSERT INTO memberships(list_id, subscriber_id, status) VALUES
  (1, 1, 'active'), (1, 2, 'active');"
events() { sql "SELECT group_concat(action, ',') FROM (SELECT action FROM events
    WHERE subscriber_id = $1 AND channel = 'bounce' ORDER BY id) q"; }
member() { sql "SELECT status FROM memberships WHERE subscriber_id = $1"; }
maint() { expect 0 herald maintain --now "$1"; }

# four rejections at RCPT on four days: still active
for d in 0 1 2 3; do
	"$F" --now $((T0 + d * DAY + 600)) \
	    --sync "1:$((d + 1)):5.1.1:550 5.1.1 <alice@subs.test>: Recipient address rejected" >/dev/null
done
[ "$(member 1)" = active ]; ok $? "4.0 is below the threshold"
t "the fifth synchronous rejection" 0 "$F" --now $((T0 + 4 * DAY + 600)) \
    --sync "1:5::550 5.1.1 <alice@subs.test>: Recipient address rejected"
[ "$(member 1)" = disabled ]; ok $? "disables the membership at 5.0"
[ "$(events 1)" = disabled ]; ok $? "with a disabled event on the bounce channel"
[ "$(sql "SELECT group_concat(DISTINCT source || ' ' || kind || ' ' || status) FROM bounces WHERE subscriber_id = 1")" = "sync hard 5.1.1" ]
ok $? "stored as sync hard bounces, status from the reply"
[ "$(sql "SELECT kind || ' ' || replace(recipients, '
', ',') || ' ' || state FROM bounce_notices")" = \
    "owner-disabled community@xenproject.org,events@xenproject.org queued" ]
ok $? "the owners' notice is queued"
t "herald lists counts the disabled member" 0 herald lists
like "$out" '^xen-users .* 1 +0 +0 +1 +0$'; ok $? "one active, one disabled"

# bob bounces once, on day 0
"$F" --now $T0 --sync "2:9:5.2.2:552 5.2.2 mailbox full" >/dev/null

D=$((T0 + 4 * DAY + 3600))	# the first run after the disable
maint $D; ok $? "maintain runs"
like "$out" '1 warning\(s\) queued, 0 member\(s\) removed, 0 stale' &&
    like "$out" '^notices: 0 sent, 0 failed, 2 waiting$'
ok $? "warning 1 queued; the relay is down, so both notices wait"
maint $D && like "$out" '0 warning\(s\) queued, 0 member'; ok $? "a second run the same day does nothing"
[ "$(sql "SELECT count(*) FROM bounce_scores WHERE subscriber_id = 2 AND score = 1.0")" = 1 ]; ok $? "bob's score is 1.0 on day 4"
maint $((D + 6 * DAY)) && like "$out" '0 warning\(s\) queued, 0 member\(s\) removed, 1 stale score\(s\) dropped'
ok $? "six days later: nothing due for alice; bob's score (day 0) went stale"
[ "$(sql "SELECT count(*) FROM bounce_scores WHERE subscriber_id = 2")" = 0 ]; ok $? "bob has no score left"
maint $((D + 7 * DAY)) && like "$out" '1 warning\(s\) queued, 0 member\(s\) removed, 0 stale'
ok $? "a week later: warning 2"
maint $((D + 14 * DAY)) && like "$out" '1 warning\(s\) queued'; ok $? "two weeks: warning 3"
maint $((D + 21 * DAY - 60)) && like "$out" '0 warning\(s\) queued, 0 member'; ok $? "not yet a week after the last"
[ "$(member 1)" = disabled ]; ok $? "still disabled"
maint $((D + 21 * DAY)) && like "$out" '0 warning\(s\) queued, 1 member\(s\) removed'; ok $? "a week after warning 3: removed"
[ "$(member 1)" = unsubscribed ]; ok $? "the membership is unsubscribed"
[ "$(events 1)" = disabled,bounce-warning,bounce-warning,bounce-warning,removed ]; ok $? "events: disabled, three warnings, removed"
[ "$(sql "SELECT group_concat(kind, ',') FROM (SELECT kind FROM bounce_notices ORDER BY id) q")" = \
    owner-disabled,warning,warning,warning,owner-removed ]
ok $? "notices: owners, three warnings, owners"
[ "$(sql "SELECT recipients || ' ' || subject FROM bounce_notices WHERE kind = 'warning' ORDER BY id DESC LIMIT 1")" = \
    "alice@subs.test [xen-users] Your address is returning our mail (warning 3 of 3)" ]
ok $? "the warnings go to the subscriber and count"
like "$out" '^notices: 0 sent, 0 failed, 5 waiting$'; ok $? "all five wait for the relay"
like "$(sql "SELECT error FROM bounce_notices WHERE id = 1")" '.'; ok $? "with the relay's error kept"
maint $((D + 60 * DAY)) && like "$out" '^bounces: 0 warning\(s\) queued, 0 member\(s\) removed, 0 stale score\(s\) dropped, 0'
ok $? "nothing left to do"

# the relay comes back: the next run sends the outbox
mkdir -p "$T/sink"
$PY "$TOP/tests/t0651/sink.py" "$P" "$T/sink" 2>"$T/sink.log" &
sink=$!
stop_sink() { kill "$sink"; wait "$sink" 2>/dev/null; }
at_exit stop_sink
i=0; while [ ! -f "$T/sink/ready" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
maint $((D + 61 * DAY)) && like "$out" '^notices: 5 sent, 0 failed, 0 waiting$'; ok $? "the relay is back: all five sent"
[ "$(ls "$T/sink" | grep -c '\.eml$')" = 5 ]; ok $? "five messages reached the relay"
w=$(grep -l 'warning 3 of 3' "$T/sink"/*.eml)
[ -n "$w" ] && grep -q '^X-Envelope: xen-users-bounces@lists.xenproject.org -> alice@subs.test' "$w" &&
    grep -q '^Reply-To: .*xen-users-owner@lists.xenproject.org' "$w" && grep -q '^Auto-Submitted: auto-generated' "$w"
ok $? "a warning: envelope from the list's bounce address, Reply-To the owners, auto-submitted"
o=$(grep -l 'removed after bounces' "$T/sink"/*.eml)
[ -n "$o" ] && grep -q '^X-Envelope: .* -> community@xenproject.org,events@xenproject.org' "$o"
ok $? "the removal notice went to both owners"
maint $((D + 62 * DAY)) && like "$out" '^notices: 0 sent, 0 failed, 0 waiting$'; ok $? "nothing sent twice"

t "herald bounces after the removal" 0 herald bounces xen-users
like "$out" '^xen-users +alice@subs\.test +unsubscribed +0\.0 +5 .* sync'; ok $? "alice: unsubscribed, five bounces kept"

# the inbound archive: pipe.spool_keep_days (30) of mail kept
mkdir -p "$T/data/spool/cur"
echo old > "$T/data/spool/cur/old.eml"; touch -d '40 days ago' "$T/data/spool/cur/old.eml"
echo new > "$T/data/spool/cur/new.eml"; touch -d '3 days ago' "$T/data/spool/cur/new.eml"
t "maintain prunes the inbound archive" 0 herald maintain
like "$out" '^spool: 1 archived message\(s\) older than 30 days removed$' &&
    [ ! -e "$T/data/spool/cur/old.eml" ] && [ -e "$T/data/spool/cur/new.eml" ]
ok $? "mail older than 30 days goes, newer mail stays"
t "--now accepts ISO 8601" 0 herald maintain --now 2024-09-01T00:00:00Z
t "--now refuses nonsense" 64 herald maintain --now yesterday-ish
t "an argument is refused" 64 herald maintain xen-users

# the shipped units
if command -v systemd-analyze >/dev/null 2>&1; then
	mkdir -p "$T/units"
	sed 's|^ExecStart=.*|ExecStart=/bin/true|' "$TOP/etc/systemd/herald-maintain.service" \
	    > "$T/units/herald-maintain.service"
	cp "$TOP/etc/systemd/herald-maintain.timer" "$T/units/"
	w=$(cd "$T/units" && systemd-analyze verify ./herald-maintain.service ./herald-maintain.timer 2>&1)
	[ $? = 0 ] && [ -z "$w" ]; ok $? "systemd-analyze verify finds nothing in the units"
else
	skip "systemd-analyze is not installed"
fi
grep -v '^#' "$TOP/etc/cron.d/herald" | grep -v '=' | grep -v '^$' | \
    awk 'NF < 7 || $6 != "herald" || $7 != "herald" || $8 != "maintain" { bad = 1 } END { exit bad }'
ok $? "the cron.d line runs herald maintain daily as herald"
finish
