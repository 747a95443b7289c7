#!/bin/sh
# herald bounces --campaign ID: the campaign's bounce rate overall and by
# kind and reason. A VERP token names the delivery; the delivery names the
# campaign; a synchronous 5xx carries its delivery too.
. "${TOP:-.}/tests/lib.sh"
plan 10

F=$BUILD/tools/bounce-feed
D=$TOP/tests/t0650
T0=1717200000
hinit
sql "INSERT INTO lists(name) VALUES ('xen-users');
INSERT INTO subscribers(email, email_key) VALUES
  ('kijitora@gmail.com', 'kijitora@gmail.com'), ('nyaan@example.org', 'nyaan@example.org'),
  ('c@subs.test', 'c@subs.test'), ('d@subs.test', 'd@subs.test');
INSERT INTO memberships(list_id, subscriber_id, status) VALUES
  (1, 1, 'active'), (1, 2, 'active'), (1, 3, 'active'), (1, 4, 'active');"
# campaigns 7 and 8 with their deliveries, in the send issue's schema
sql "INSERT INTO campaigns(id, list_id, announcement, segments, state) VALUES
  (7, 1, 'summit', 'users', 'done'), (8, 1, 'talks', 'users', 'done');
INSERT INTO deliveries(id, campaign_id, subscriber_id, segment, state) VALUES
  (101, 7, 1, 'users', 'sent'), (102, 7, 2, 'users', 'sent'),
  (103, 7, 3, 'users', 'failed'), (104, 7, 4, 'users', 'sent'),
  (201, 8, 1, 'users', 'sent');"

t "a campaign with no bounces" 0 herald bounces --campaign 8
like "$out" '^campaign 8: 1 recipients, 0 bounced \(0\.0%\)$'; ok $? "rate 0"
"$F" --now $T0 --token "$("$F" --make-token 1:101)" "$D/hard-user-unknown.eml" >/dev/null
"$F" --now $T0 --token "$("$F" --make-token 2:102)" "$D/soft-expired.eml" >/dev/null
"$F" --now $((T0 + 86400)) --token "$("$F" --make-token 2:102)" "$D/soft-expired.eml" >/dev/null
"$F" --now $T0 --sync "3:103:5.1.1:550 5.1.1 no such user" >/dev/null
[ "$(sql "SELECT group_concat(coalesce(CAST(campaign_id AS TEXT), 'null'), ',') FROM bounces")" = 7,7,7,7 ]
ok $? "each bounce knows its campaign"
t "the campaign's report" 0 herald bounces --campaign 7
like "$out" '^campaign 7: 4 recipients, 3 bounced \(75\.0%\)$'; ok $? "3 of 4 recipients bounced"
like "$out" '^hard +user_unknown +2 +50\.0% +2$'; ok $? "hard, user unknown: 2 recipients, 50%"
like "$out" '^soft +expired +1 +25\.0% +2$'; ok $? "soft, expired: 1 recipient, 25%, two bounces"
t "herald bounces still lists per subscriber" 0 herald bounces
like "$out" '^xen-users +nyaan@example\.org +active +1\.0 +2 '; ok $? "nyaan: two soft days, 1.0"
t "an unknown campaign" 67 herald bounces --campaign 999
finish
