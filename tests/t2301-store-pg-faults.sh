#!/bin/sh
# The PostgreSQL server gone under running servers (issue 23): herald
# serve answers a one-click POST with 503 and Retry-After, herald lmtp a
# message with 451 (the MTA keeps it), herald pipe exits 75; nothing is
# half done. Once the server is back, each connects again by itself and
# the same requests succeed.
. "${TOP:-.}/tests/lib.sh"
[ -x "${PG_BIN:-/nonexistent}/pg_ctl" ] || { echo "1..0 # SKIP no PostgreSQL server here"; exit 0; }
pg_private	# it stops and restarts the server
HERALD_TEST_STORE=postgresql; export HERALD_TEST_STORE
VIA=lmtp
. "$TOP/tests/t0700/serve-lib.sh"
plan 10

sink_start
hinit 'web {' '  base_url = "https://lists.example.org"' '  retry_after = 7' '}'
sink_conf
BOB=$(add_sub bob@subs.test active xen-users xen-devel)
serve_start
BT=$(tok u xen-devel $BOB)
D=lists.xenproject.org
printf 'From: zed@subs.test\nTo: xen-users@%s\nSubject: a question\nMessage-ID: <q1@subs.test>\n\nWhen is the summit?\n' $D > "$T/m"
hpipe zed@subs.test xen-users@$D "$T/m" 2>/dev/null	# lmtp up, connected
R0=$(sql "SELECT count(*) FROM replies")

pg_stop
hch -d List-Unsubscribe=One-Click "$WEB/unsubscribe/$BT"
[ "$code" = 503 ] && like "$hdrs" '^Retry-After: 7'; ok $? "serve: one-click with the database gone: 503, Retry-After ($code)"
expect 75 hpipe zed@subs.test xen-users@$D "$T/m"; ok $? "lmtp: a message with the database gone is deferred"
like "$err" '^451 '; ok $? "with 451 ($err)"
expect 75 herald pipe -f zed@subs.test xen-users@$D < "$T/m"; ok $? "pipe: 75"
pg_restart start
[ "$(status bob@subs.test xen-devel)" = active ] && [ "$(sql "SELECT count(*) FROM replies")" = "$R0" ]
ok $? "nothing half done: bob still active, no reply stored"
hc -d List-Unsubscribe=One-Click "$WEB/unsubscribe/$BT"
[ "$code" = 200 ]; ok $? "serve connects again: the POST succeeds ($code)"
[ "$(status bob@subs.test xen-devel)" = unsubscribed ]; ok $? "and bob is unsubscribed"
sed 's/q1@/q2@/; s/When/Where/' "$T/m" > "$T/m2"
sed 's/q1@/q3@/; s/When/Why/' "$T/m" > "$T/m3"
expect 0 hpipe zed@subs.test xen-users@$D "$T/m2"; ok $? "lmtp connects again: the message is delivered"
expect 0 herald pipe -f zed@subs.test xen-users@$D < "$T/m3"; ok $? "pipe: 0"
[ "$(sql "SELECT count(*) FROM replies")" = $((R0 + 2)) ]; ok $? "both stored"
finish
