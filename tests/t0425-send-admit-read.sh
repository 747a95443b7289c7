#!/bin/sh
# The read a send run makes just before its messages go (dispatch_admit:
# store_delivery_members, one statement for up to 16 messages) gives each
# subscriber its own membership and blocklisting, in the order asked, on
# SQLite and PostgreSQL alike: members in every state, one blocklisted on
# another list only, one with no membership of the list, one that does
# not exist, asked for out of id order. (t0423 checks that a message's
# read is at most 100 ms old: its changes come seconds into a chunk.)
. "${TOP:-.}/tests/lib.sh"
plan 4

MEMBERS=$BUILD/tools/delivery-members
hinit
sql "INSERT INTO lists(id, name) VALUES (1, 'xen-devel'), (2, 'xen-users');
     INSERT INTO subscribers(id, email, email_key)
     SELECT i, 'user' || i || '@subs.test', 'user' || i || '@subs.test'
     FROM (SELECT 1 AS i UNION SELECT 2 UNION SELECT 3 UNION SELECT 4
      UNION SELECT 5 UNION SELECT 6 UNION SELECT 7 UNION SELECT 8) n;
     INSERT INTO memberships(list_id, subscriber_id, status) VALUES
      (1, 1, 'active'), (1, 2, 'unsubscribed'), (1, 3, 'disabled'),
      (1, 4, 'active'), (2, 4, 'blocklisted'), (2, 5, 'active'),
      (1, 6, 'blocklisted'), (1, 7, 'pending'), (1, 8, 'active')"

t "one read of eight subscribers and a missing one" 0 \
    "$MEMBERS" "$(store_path)" 1 8 3 999 6 1 4 2 7 5
want="8 active 0
3 disabled 0
999 - 0
6 blocklisted 1
1 active 0
4 active 1
2 unsubscribed 0
7 pending 0
5 - 0"
[ "$out" = "$want" ]; ok $? "each subscriber its own membership and blocklisting, in the order asked"
echo "$out" | sed 's/^/#   /'

# a whole batch, the same subscriber's state at each place
set -- 1 2 3 4 5 6 7 8 1 2 3 4 5 6 7 8
t "one read of a batch of 16" 0 "$MEMBERS" "$(store_path)" 1 "$@"
[ "$(echo "$out" | sed -n '9,16p' | tr '\n' ' ')" = \
    "1 active 0 2 unsubscribed 0 3 disabled 0 4 active 1 5 - 0 6 blocklisted 1 7 pending 0 8 active 0 " ]
ok $? "the second half of the batch reads as the first"
finish
