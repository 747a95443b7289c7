#!/bin/sh
# herald sub add|rm|show: members, attributes, events, and every error path.
. "${TOP:-.}/tests/lib.sh"
plan 35

hinit
t "add a subscriber" 0 herald sub add xen-users Alice@Example.COM --name "Alice Ng" \
    --attr role=developer --attr Region=us-east
like "$out" 'xen-users: subscribed Alice@Example.COM'; ok $? "says so"
[ "$(sql "SELECT email_key FROM subscribers")" = "Alice@example.com" ]; ok $? "the key folds the domain only"
[ "$(sql "SELECT group_concat(key || '=' || value, ',') FROM (SELECT * FROM attributes ORDER BY key) q")" = "region=us-east,role=developer" ]
ok $? "attributes stored, names folded to lower case"
[ "$(sql "SELECT action || ' ' || channel FROM events")" = "subscribe cli" ]; ok $? "one event, channel cli"

t "show (domain in any case)" 0 herald sub show xen-users Alice@example.com
like "$out" '^name: +Alice Ng$' && like "$out" '^attr: +role=developer$' &&
    like "$out" '^xen-users: active \(subscribed [0-9]{4}-'; ok $? "name, attributes, membership"
t "show on a list they are not on" 0 herald sub show xen-devel Alice@example.com
like "$out" 'xen-devel: not a member'; ok $? "says not a member"

t "add again: duplicate is exit 65" 65 herald sub add xen-users Alice@EXAMPLE.com
like "$err" 'already subscribed'; ok $? "says already subscribed"
t "another case in the local part is another person" 0 herald sub add xen-users alice@example.com

t "unknown list: 67" 67 herald sub add xen-nothing bob@example.org
t "bad address: 65" 65 herald sub add xen-users 'bob@@example.org'
like "$err" 'not a valid address: more than one @'; ok $? "says why"
t "a name with a line break: 65" 65 herald sub add xen-users bob@example.org --name "$(printf 'Bob\nBcc: x')"
t "an attribute value with CR: 65" 65 herald sub add xen-users bob@example.org --attr "role=$(printf 'a\rb')"
t "a bad attribute name: 65" 65 herald sub add xen-users bob@example.org --attr "1role=x"
t "a reserved attribute name: 65" 65 herald sub add xen-users bob@example.org --attr "email=x"
t "--attr without =: 64" 64 herald sub add xen-users bob@example.org --attr role
t "missing EMAIL: 64" 64 herald sub add xen-users
t "unknown option: 64" 64 herald sub add xen-users bob@example.org --colour red
t "unknown verb: 64" 64 herald sub frob
[ "$(sql "SELECT count(*) FROM subscribers WHERE email LIKE 'bob%'")" = 0 ]; ok $? "nothing stored by the refused adds"

t "rm unsubscribes" 0 herald sub rm xen-users Alice@example.com
[ "$(sql "SELECT status FROM memberships m JOIN subscribers s ON s.id = m.subscriber_id WHERE s.email = 'Alice@Example.COM'")" = unsubscribed ] &&
    [ "$(sql "SELECT count(*) FROM events WHERE action = 'unsubscribe'")" = 1 ]; ok $? "status unsubscribed, event logged, row kept"
t "rm again is fine" 0 herald sub rm xen-users Alice@example.com
like "$out" 'already unsubscribed'; ok $? "and says so"
t "rm of a non-member: 67" 67 herald sub rm xen-users zed@example.org
t "add after rm subscribes again" 0 herald sub add xen-users Alice@example.com
like "$out" 'subscribed again' && [ "$(sql "SELECT count(*) FROM events WHERE action = 'resubscribe' AND detail = 'unsubscribed'")" = 1 ]
ok $? "resubscribe logged with the old status"

herald sub add xen-devel Alice@example.com >/dev/null
t "rm --purge deletes the subscriber" 0 herald sub rm --purge xen-users Alice@example.com
[ "$(sql "SELECT count(*) FROM subscribers WHERE email = 'Alice@Example.COM'")" = 0 ] &&
    [ "$(sql "SELECT count(*) FROM memberships m JOIN subscribers s ON s.id = m.subscriber_id WHERE s.email = 'Alice@Example.COM'")" = 0 ] &&
    [ "$(sql "SELECT count(*) FROM attributes a WHERE NOT EXISTS (SELECT 1 FROM subscribers s WHERE s.id = a.subscriber_id)")" = 0 ] &&
    [ "$(sql "SELECT count(*) FROM events WHERE action = 'purge' AND subscriber_id IS NULL")" = 1 ]
ok $? "gone from every list, attributes gone, the event log keeps an anonymous row"

t "lists counts real members" 0 herald lists
like "$out" '^xen-users +xen-users@lists.xenproject.org +1 +0 +0 '; ok $? "xen-users: 1 active"
finish
