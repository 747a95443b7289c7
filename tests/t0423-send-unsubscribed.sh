#!/bin/sh
# Membership is looked at again just before each message's MAIL FROM, not
# only when a chunk is loaded: three subscribers whose deliveries sit
# further down the chunk being sent (send.rate = 2, one connection) are
# unsubscribed (herald sub rm), disabled and blocklisted (on another
# list) while it goes out; none of them gets the mail (checked at Postfix's
# smtp-sink), their deliveries fail as skipped, everyone else is sent.
# (rate = 2: the changes, made through psql on PostgreSQL, take a few
# seconds on a loaded machine; at 5 a second the 10th was sometimes out)
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0400/common.sh"
HERALD_TEMPLATES=$TOP/templates; export HERALD_TEMPLATES
plan 6

PORT=$(free_port)
relay_conf "$PORT" "send {" "connections = 1" "rate = 2" "batch = 200" "}"
subs_csv "$T/subs.csv" 40
herald sub import xen-users "$T/subs.csv" >/dev/null
sql "INSERT INTO lists(name) VALUES ('other');
    INSERT INTO memberships(list_id, subscriber_id, status)
    SELECT l.id, s.id, 'active' FROM lists l, subscribers s
    WHERE l.name = 'other'"
start_sink "$PORT" "$T/sink"
got() { ls "$T/sink" | wc -l; }

"$HERALD" send summit --list xen-users --segment users --segment developers \
    --yes >"$T/out" 2>&1 &
pid=$!
_i=0
while [ "$(got)" -lt 2 ] && [ $_i -lt 300 ]; do sleep 0.1; _i=$((_i + 1)); done
# the 10th, 12th and 14th deliveries: in the first chunk (16), which is
# loaded, and 4 s or more away at 2 a second
email() {
	sql "SELECT s.email FROM deliveries d JOIN subscribers s ON s.id =
	    d.subscriber_id ORDER BY d.id LIMIT 1 OFFSET $1"
}
a=$(email 9); b=$(email 11); c=$(email 13)
n0=$(got)
herald sub rm xen-users "$a" >/dev/null 2>&1
sql "UPDATE memberships SET status = 'disabled' WHERE subscriber_id =
    (SELECT id FROM subscribers WHERE email = '$b') AND list_id =
    (SELECT id FROM lists WHERE name = 'xen-users')"
sql "UPDATE memberships SET status = 'blocklisted' WHERE subscriber_id =
    (SELECT id FROM subscribers WHERE email = '$c') AND list_id =
    (SELECT id FROM lists WHERE name = 'other')"
echo "# changed $a, $b, $c with $n0 at the sink"
wait $pid; rc=$?
[ "$rc" = 0 ]; ok $? "the send runs to its end (exit $rc)"
total=$(sql "SELECT count(*) FROM deliveries")
wait_for 10 sink_holds "$T/sink" $((total - 3))
cat "$T/sink"/* | sed -n 's/^X-Rcpt-Args: <\(.*\)>.*/\1/p' | sort > "$T/got"
! grep -qx -e "$a" -e "$b" -e "$c" "$T/got"
ok $? "none of the three got the mail"
[ "$(wc -l < "$T/got")" = $((total - 3)) ]; ok $? "everyone else did ($((total - 3)))"
st() {
	sql "SELECT d.state || ' ' || d.stage || ' ' || d.reply FROM deliveries d
	    JOIN subscribers s ON s.id = d.subscriber_id WHERE s.email = '$1'"
}
[ "$(st "$a")" = "failed skipped not sent: the membership is unsubscribed now" ]
ok $? "the unsubscribed one: failed, skipped, and why"
[ "$(st "$b")" = "failed skipped not sent: the membership is disabled now" ]
ok $? "the disabled one: failed, skipped, and why"
[ "$(st "$c")" = "failed skipped not sent: the membership is blocklisted now" ]
ok $? "the one blocklisted on another list: failed, skipped, and why"
finish
