#!/bin/sh
# herald serve's writer writes a group of one-click unsubscribes with a
# few set-based statements (store_oneclick.c), not one request at a
# time: nothing may be lost or counted twice. A group made for certain
# (tests/tools/oneclick-group, the writer's own calls) holds a member
# asked for three times, an already unsubscribed one, a blocklisted one,
# a non-member, one disabled by bounces, one with a pending unsubscribe
# confirmation, a subscriber that does not exist and a test token: each
# request gets the words action_unsubscribe gives it alone, each member
# leaves once with one event, one goodbye, its unsubscribe confirmation
# gone and the others left. A fault on one request's event in the middle
# of a group: the group fails whole, nothing of it is left; once the
# fault is gone the same group lands once, and again changes nothing.
# Then through the server: a burst of the same token with others, each
# 200, one event each, one "unsubscribed" line per subscriber.
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0700/serve-lib.sh"
plan 13

GROUP=$BUILD/tools/oneclick-group
sink_start
hinit 'web {' '  base_url = "https://lists.example.org"' '  token_rate = 100' '}'
sink_conf
echo 'goodbye_after_one_click = true' >> "$T/lists/xen-devel.conf"
sql "INSERT INTO lists(id, name) VALUES (1, 'xen-devel'), (2, 'xen-users');
     INSERT INTO subscribers(id, email, email_key)
     SELECT i, 'user' || i || '@subs.test', 'user' || i || '@subs.test'
     FROM (SELECT 1 AS i UNION SELECT 2 UNION SELECT 3 UNION SELECT 4
      UNION SELECT 5 UNION SELECT 6 UNION SELECT 7 UNION SELECT 8
      UNION SELECT 9 UNION SELECT 10 UNION SELECT 11) n;
     INSERT INTO memberships(list_id, subscriber_id, status) VALUES
      (1, 1, 'active'), (1, 2, 'active'), (1, 3, 'active'),
      (1, 4, 'unsubscribed'), (1, 5, 'blocklisted'), (2, 6, 'active'),
      (1, 7, 'active'), (1, 8, 'disabled'), (1, 9, 'active'),
      (1, 10, 'active'), (1, 11, 'active'), (2, 1, 'active');
     INSERT INTO confirmations(list_id, subscriber_id, action, requested)
     VALUES (1, 7, 'unsubscribe', 1), (1, 7, 'subscribe', 1),
      (1, 3, 'unsubscribe', 1), (2, 1, 'unsubscribe', 1)"
[ "$(test_store)" = sqlite ] || sql "SELECT setval('subscribers_id_seq', 100)" >/dev/null

# dump - everything a group could change (the outbox too)
dump() {
	sql "SELECT list_id, subscriber_id, status, channel FROM memberships
	     ORDER BY 1, 2; SELECT list_id, subscriber_id, action, channel,
	     detail FROM events ORDER BY id; SELECT list_id, subscriber_id,
	     action FROM confirmations ORDER BY 1, 2, 3; SELECT subscriber_id,
	     kind FROM outbox ORDER BY id"
}
# events N - the unsubscribe events of subscriber N
events() { sql "SELECT count(*) FROM events WHERE action = 'unsubscribe' AND subscriber_id = $1"; }

# --- one group with every kind of request
# (the subscription dates set back, to tell "kept" from "stamped")
sql "UPDATE memberships SET subscribed = 1000, changed = 1000" >/dev/null
t0=$(date +%s)
"$GROUP" xen-devel 1 2 1 4 5 6 7 8 99 0 2 1 > "$T/g1" 2>&1; rc=$?
t1=$(date +%s)
cat > "$T/g1.want" <<'EOF'
1 done 1 unsubscribed subscriber 1 (one-click)
2 done 1 unsubscribed subscriber 2 (one-click)
1 already 0 subscriber 1 already unsubscribed
4 already 0 subscriber 4 already unsubscribed
5 already 0 subscriber 5 already blocklisted
6 not-member 0 subscriber 6 is not a member, nothing done
7 done 1 unsubscribed subscriber 7 (one-click)
8 done 1 unsubscribed subscriber 8 (one-click)
99 error 0 no subscriber #99
0 test 0 a token for no subscriber, nothing changed
2 already 0 subscriber 2 already unsubscribed
1 already 0 subscriber 1 already unsubscribed
EOF
[ $rc = 0 ] && diff "$T/g1.want" "$T/g1" >&2; ok $? "a group of 12: each request answered as alone, in order (duplicates find the first one's work)"
[ "$(events 1)$(events 2)$(events 7)$(events 8)" = 1111 ] &&
[ "$(sql "SELECT count(*) FROM events")" = 4 ] &&
[ "$(sql "SELECT subscriber_id FROM events ORDER BY id" | tr '\n' ' ')" = "1 2 7 8 " ] &&
[ "$(sql "SELECT DISTINCT list_id || ' ' || channel || ' ' || detail FROM events")" = "1 web one-click" ]
ok $? "one event each for the four members, in the requests' order, none for the others"
[ "$(sql "SELECT subscriber_id || ' ' || status || ' ' || channel FROM memberships WHERE list_id = 1 ORDER BY subscriber_id" | tr '\n' ',')" = \
    "1 unsubscribed web,2 unsubscribed web,3 active cli,4 unsubscribed cli,5 blocklisted cli,7 unsubscribed web,8 unsubscribed web,9 active cli,10 active cli,11 active cli," ] &&
[ "$(sql "SELECT status FROM memberships WHERE list_id = 2 ORDER BY subscriber_id" | tr '\n' ' ')" = "active active " ]
ok $? "the members off the list (channel web), everyone else as they were, the other list untouched"
[ "$(sql "SELECT list_id || ' ' || subscriber_id || ' ' || action FROM confirmations ORDER BY list_id, subscriber_id, action" | tr '\n' ',')" = \
    "1 3 unsubscribe,1 7 subscribe,2 1 unsubscribe," ]
ok $? "the unsubscribe confirmation of a member who left is gone; other confirmations stay"
[ "$(sql "SELECT subscriber_id FROM outbox WHERE kind = 'goodbye' ORDER BY id" | tr '\n' ' ')" = "1 2 7 8 " ]
ok $? "one goodbye each for the four, none for the others"
[ "$(sql "SELECT count(*) FROM memberships WHERE list_id = 1 AND subscriber_id IN (1, 2, 7, 8) AND changed BETWEEN $t0 AND $t1 AND subscribed = 1000")" = 4 ] &&
[ "$(sql "SELECT count(*) FROM memberships WHERE (list_id <> 1 OR subscriber_id NOT IN (1, 2, 7, 8)) AND changed = 1000 AND subscribed = 1000")" = 8 ]
ok $? "the change stamped with the time of the group, the subscription date kept; the others' times untouched"

# --- a fault on one request's event, in the middle of the group
S0=$(dump)
fault_trigger boom INSERT events "NEW.subscriber_id = 10" "boom on 10"
"$GROUP" xen-devel 3 9 10 11 > "$T/g2" 2>&1; rc=$?
[ $rc != 0 ] && [ "$(grep -c '^[0-9]* error 0 .*boom on 10' "$T/g2")" = 4 ]; ok $? "a fault on the third request's event: every request of the unit gets the error (rc $rc)"
[ "$(dump)" = "$S0" ]; ok $? "and nothing of the group is left: memberships, events, confirmations, outbox as before"
fault_trigger_off boom events
"$GROUP" xen-devel 3 9 10 11 > "$T/g3" 2>&1; rc=$?
[ $rc = 0 ] && [ "$(grep -c ' done 1 unsubscribed subscriber' "$T/g3")" = 4 ] &&
[ "$(events 3)$(events 9)$(events 10)$(events 11)" = 1111 ] &&
[ "$(sql "SELECT count(*) FROM confirmations WHERE subscriber_id = 3")" = 0 ]
ok $? "the fault gone, the same group lands: one event each"
S1=$(dump)
"$GROUP" xen-devel 11 10 9 3 > "$T/g4" 2>&1; rc=$?
[ $rc = 0 ] && [ "$(grep -c ' already 0 subscriber [0-9]* already unsubscribed$' "$T/g4")" = 4 ] && [ "$(dump)" = "$S1" ]
ok $? "and again: already unsubscribed, nothing written"

# --- through the server: one subscriber's link clicked 20 times at once,
# with 20 others
sql "INSERT INTO subscribers(id, email, email_key)
     SELECT 20 + i, 'burst' || i || '@subs.test', 'burst' || i || '@subs.test'
     FROM (SELECT 1 AS i UNION SELECT 2 UNION SELECT 3 UNION SELECT 4
      UNION SELECT 5 UNION SELECT 6 UNION SELECT 7 UNION SELECT 8
      UNION SELECT 9 UNION SELECT 10 UNION SELECT 11 UNION SELECT 12
      UNION SELECT 13 UNION SELECT 14 UNION SELECT 15 UNION SELECT 16
      UNION SELECT 17 UNION SELECT 18 UNION SELECT 19 UNION SELECT 20
      UNION SELECT 21) n;
     INSERT INTO memberships(list_id, subscriber_id, status)
     SELECT 1, id, 'active' FROM subscribers WHERE id > 20"
serve_start
DUP=$(tok u xen-devel 21)
_pids=
for i in $(seq 1 20); do
	curl -s -o /dev/null -w '%{http_code}\n' -d List-Unsubscribe=One-Click \
	    "$WEB/unsubscribe/$DUP" > "$T/dup.$i" &
	_pids="$_pids $!"
	curl -s -o /dev/null -w '%{http_code}\n' -d List-Unsubscribe=One-Click \
	    "$WEB/unsubscribe/$(tok u xen-devel $((21 + i)))" > "$T/one.$i" &
	_pids="$_pids $!"
done
wait $_pids
hc -d List-Unsubscribe=One-Click "$WEB/unsubscribe/$(tok u xen-devel 99)"
serve_stop
[ "$(cat "$T"/dup.* "$T"/one.* | grep -c '^200$')" = 40 ]; ok $? "40 one-click POSTs at once (20 of one link): each 200"
[ "$(sql "SELECT count(*) FROM events WHERE action = 'unsubscribe' AND subscriber_id > 20")" = 21 ] &&
[ "$(sql "SELECT count(*) FROM memberships WHERE subscriber_id > 20 AND status = 'unsubscribed'")" = 21 ] &&
[ "$(sql "SELECT count(*) FROM outbox WHERE kind = 'goodbye' AND subscriber_id > 20")" = 21 ] &&
[ "$(grep -c 'POST /unsubscribe/- 200 .*(unsubscribed subscriber 21 (one-click)' "$T/serve.log")" = 1 ] &&
[ "$(grep -c 'POST /unsubscribe/- 200 .*(subscriber 21 already unsubscribed' "$T/serve.log")" = 19 ]
ok $? "21 subscribers left once each: 21 events and goodbyes, one 'unsubscribed' line for the doubled link, 19 'already'"
G=$(grep -c 'POST /unsubscribe/- 200 .*one commit for' "$T/serve.log" || true)
echo "# $G of the 40 were written in a commit shared with others"
[ "$code" = 404 ] && grep -q 'POST /unsubscribe/- 404 .*no subscriber #99' "$T/serve.log"; ok $? "a link of a subscriber who is gone: 404, as before ($code)"
finish
