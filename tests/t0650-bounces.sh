#!/bin/sh
# herald bounces: per subscriber score, last bounce, kind, reason, status;
# a VERP token that verifies names the subscriber, one that does not falls
# back to the content, and a bounce for someone not subscribed is stored
# and acted on for nobody. Fixtures: tests/t0650 (Sisimai's, BSD licence).
. "${TOP:-.}/tests/lib.sh"
plan 25

F=$BUILD/tools/bounce-feed
D=$TOP/tests/t0650
T0=1717200000	# 2024-06-01 00:00 UTC
DAY=86400
hinit
# three subscribers: two on xen-users, one on xen-devel only
sql "INSERT INTO lists(name) VALUES ('xen-users'), ('xen-devel');
INSERT INTO subscribers(email, email_key) VALUES
  ('kijitora@gmail.com', 'kijitora@gmail.com'),
  ('nyaan@example.org', 'nyaan@example.org'),
  ('nyaan-devel@example.org', 'nyaan-devel@example.org');
INSERT INTO memberships(list_id, subscriber_id, status) VALUES
  (1, 1, 'active'), (1, 2, 'active'), (2, 3, 'active');"

t "no bounces yet" 0 herald bounces
like "$out" '^no bounces stored$'; ok $? "says so"

tok=$("$F" --make-token 1:11)
t "a VERP bounce is handled" 0 "$F" --now $T0 --token "$tok" "$D/hard-user-unknown.eml"
like "$out" 'verp stored=1 scored=1'; ok $? "the token names the subscriber and it scores"
t "bounces without a token" 0 "$F" --now $T0 "$D/soft-expired.eml" \
    "$D/hard-host-unknown.eml" "$D/junk.eml"
like "$out" 'soft-expired.eml: no-token stored=1 scored=1' &&
    like "$out" 'hard-host-unknown.eml: no-token stored=1 scored=0' &&
    like "$out" 'junk.eml: no-token stored=1 scored=0'
ok $? "content: a member scores, a stranger and junk do not"
t "an unparseable VERP bounce" 0 "$F" --now $((T0 + DAY)) --token "$tok" "$D/junk.eml"
like "$out" 'verp stored=1 scored=1'; ok $? "scores as hard (Mailman's rule)"
t "a token that does not verify" 0 "$F" --now $((T0 + 2 * DAY)) --token "${tok}x" \
    "$D/hard-user-unknown.eml"
like "$out" 'no-token stored=1 scored=1'; ok $? "falls back to the content, still a member"

t "herald bounces" 0 herald bounces
like "$out" '^xen-users +kijitora@gmail\.com +active +3\.0 +3 +2024-06-03 00:00 +hard +5\.1\.1 +user_unknown +content$'
ok $? "kijitora: score 3.0 from three days, the last bounce's kind, status, reason"
like "$out" '^xen-users +nyaan@example\.org +active +0\.5 +1 +2024-06-01 00:00 +soft +4\.4\.1 +expired +content$'
ok $? "nyaan: one soft bounce, 0.5"
like "$out" '^xen-users +kijitora@neko\.example\.jp +- +0\.0 +1 .* hard +5\.4\.4 +host_unknown'
ok $? "a bounce for an address that is no member is listed, with no score"
like "$out" '^xen-users +\(none found\) +- +0\.0 +1 .* unknown +- +other'
ok $? "a message with no failure in it is listed as found nothing"
[ "$(sql "SELECT count(*) FROM memberships WHERE status = 'active'")" = 3 ]
ok $? "nobody was disabled"

t "the list named" 0 herald bounces xen-users
[ "$(printf '%s\n' "$out" | grep -c '^xen-users ')" = 4 ]; ok $? "four lines"
t "another list has none" 0 herald bounces xen-devel
like "$out" '^no bounces stored for xen-devel$'; ok $? "says so"
t "an unknown list" 67 herald bounces no-such-list
t "LIST and --campaign together" 64 herald bounces xen-users --campaign 1

# every bounce is stored with what is needed to see it again
[ "$(sql "SELECT count(*) FROM bounce_mail WHERE raw_size > 0 AND length(raw) = raw_size
    AND headers LIKE '%Subject:%'")" = 6 ]
ok $? "six messages stored, raw bytes and headers"

# a member whose address has capitals before the @ is found from a report
# that names it in lowercase (the partial index of migration 5)
sql "INSERT INTO subscribers(email, email_key) VALUES
  ('Mixed.Case@example.org', 'Mixed.Case@example.org');
INSERT INTO memberships(list_id, subscriber_id, status) VALUES (1, 4, 'active');"
sed 's/nyaan@example\.org/mixed.case@example.org/g' "$D/soft-expired.eml" > "$T/mixed.eml"
t "a content bounce naming a mixed-case address in lowercase" 0 "$F" --now $T0 "$T/mixed.eml"
like "$out" 'mixed.eml: no-token stored=1 scored=1' &&
    [ "$(sql "SELECT count(*) FROM bounces WHERE subscriber_id = 4")" = 1 ]
ok $? "scores the member"
finish
