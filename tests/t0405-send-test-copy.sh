#!/bin/sh
# herald send --test: the copy is the subscriber's rendering, marked as a
# test ([test] subject, X-Herald-Test), and every token in it (the
# List-Unsubscribe mailto and URL, the VERP envelope sender) is a test
# token that acts on nobody: unsubscribing, confirming, bouncing or
# complaining with it leaves the subscriber it was rendered for alone,
# and herald pipe says so and exits 0.
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0400/common.sh"
. "$TOP/tests/t0500/pipe-lib.sh"
HERALD_TEMPLATES=$TOP/templates; export HERALD_TEMPLATES
F=$TOP/tests/t0500
# start_sink names its files differently from sink_start's
sink_count() { grep -l -i "^X-Rcpt-Args: <$1>" "$T"/sink/* 2>/dev/null | wc -l; }
sink_last() { ls -t $(grep -l -i "^X-Rcpt-Args: <$1>" "$T"/sink/* /dev/null) | head -1; }
plan 32

PORT=$(free_port)
relay_conf "$PORT"
subs_csv "$T/subs.csv" 10
herald sub import xen-users "$T/subs.csv" >/dev/null
start_sink "$PORT" "$T/sink"
U4=$(sql "SELECT id FROM subscribers WHERE email = 'u4@example4.test'")
REAL=$(tok u xen-users "$U4")
events() { sql "SELECT count(*) FROM events WHERE subscriber_id = $U4"; }
E0=$(events)

t "--test sends the copy" 0 herald send summit --list xen-users \
    --segment users --test tester@example.org --as u4@example4.test
like "$out" 'act on nobody'; ok $? "and says its tokens act on nobody"
f=$(grep -l 'X-Rcpt-Args: <tester@example.org>' "$T/sink"/* | head -1)
[ -n "$f" ] && [ "$(ls "$T/sink" | wc -l)" = 1 ]; ok $? "one message, to the tester"
f=${f:-/nonexistent}
grep -q '^To: Person 4 <u4@example4.test>' "$f" &&
    grep -q '^List-Id: ' "$f" && grep -q '^List-Unsubscribe-Post: ' "$f"
ok $? "it is u4's rendering, with every list header"
grep -q '^Subject: \[test\] ' "$f"; ok $? "the subject starts with [test]"
grep -q '^X-Herald-Test: yes' "$f"; ok $? "X-Herald-Test: yes"
TT=$(sed -n 's/^List-Unsubscribe: <mailto:xen-users-unsubscribe+\([a-z0-9-]*\)@.*/\1/p' "$f")
TB=$(sed -n 's/^X-Mail-Args: <xen-users-bounces+\([a-z0-9-]*\)@.*/\1/p' "$f")
like "$TT" '^tu' && like "$TB" '^tb'
ok $? "List-Unsubscribe and the VERP sender carry test tokens ($TT, $TB)"
! grep -q "$REAL" "$f" &&
    grep -q "https://lists.xenproject.org/unsubscribe/$TT" "$f"
ok $? "u4's real token is nowhere in it; the https link is the test token's"
TT=${TT:-none}; TB=${TB:-none}

# the tester clicks unsubscribe (the mailto), or replies to confirm
fill $F/gmail-unsubscribe.eml $T/m RCPT=xen-users-unsubscribe+$TT@$D
t "the copy's List-Unsubscribe mailto: exit 0" 0 \
    hpipe tester@example.org xen-users-unsubscribe+$TT@$D $T/m
like "$err" "route=unsubscribe .*status=0: a test copy's token \(rendered as subscriber $U4\): it acts on nobody"
ok $? "the log line says it was a test copy's token"
[ "$(status u4@example4.test xen-users)" = active ] && [ "$(events)" = "$E0" ]
ok $? "u4 is still active, no event"
[ "$(sink_count u4@example4.test)" = 0 ] && [ "$(sink_count tester@example.org)" = 1 ]
ok $? "nobody got a goodbye or a confirmation"
UP=$(printf '%s' "$TT" | tr a-z A-Z)
t "case-folded by an MTA: the same" 0 \
    hpipe tester@example.org xen-users-unsubscribe+$UP@$D $T/m
[ "$(status u4@example4.test xen-users)" = active ]; ok $? "u4 still active"
fill $F/plain.eml $T/m FROM=tester@example.org RCPT=xen-users-confirm+$TT@$D SUBJECT=yes BODY=yes MSGID=t1
t "the token at LIST-confirm+: exit 0, not a bounce" 0 \
    hpipe tester@example.org xen-users-confirm+$TT@$D $T/m
like "$err" "route=confirm .*a test copy's token"; ok $? "says it was a test copy's"
fill $F/plain.eml $T/m FROM=tester@example.org RCPT=xen-users-request@$D SUBJECT=x "BODY=confirm $TT" MSGID=t2
t "\"confirm TOKEN\" at LIST-request: exit 0" 0 \
    hpipe tester@example.org xen-users-request@$D $T/m
like "$err" "route=request .*a test copy's token" &&
    [ "$(status u4@example4.test xen-users)" = active ] && [ "$(events)" = "$E0" ]
ok $? "says so, changes nothing"

# the tester's address bounces: the DSN comes to the copy's VERP address
N0=$(sink_count community@xenproject.org)
fill $F/bounce-dsn.eml $T/m VERP=$TB RCPTADDR=u4@example4.test
t "a bounce of the test copy at its VERP address: exit 0" 0 \
    hpipe "" xen-users-bounces+$TB@$D $T/m
like "$err" "route=bounces .*bounce of a test copy \(rendered as subscriber $U4\): nothing recorded or scored; forward to the owners sent"
ok $? "the log line says so"
[ "$(sql 'SELECT count(*) FROM inbound_bounces') $(sql 'SELECT count(*) FROM bounces') $(sql 'SELECT count(*) FROM bounce_scores')" = "0 0 0" ]
ok $? "no bounce is stored or scored"
g=$(sink_last community@xenproject.org)
[ "$(sink_count community@xenproject.org)" = $((N0 + 1)) ] &&
    grep -q '^Subject: \[xen-users test\] bounce of a test copy' "$g"
ok $? "the owners get it"
t "a bounce to LIST-bounces@ with the test token inside" 0 \
    hpipe "" xen-users-bounces@$D $T/m
like "$err" 'bounce of a test copy' && unlike "$err" forwarded &&
    [ "$(sql 'SELECT count(*) FROM inbound_bounces')" = 0 ] &&
    [ "$(sink_count community@xenproject.org)" = $((N0 + 1)) ]
ok $? "is recognised, logged alone (it may be a forward's bounce), stored nowhere"

# a spam complaint about the copy, naming u4 in its returned To
fill $F/arf-yahoo.eml $T/m VERP=$TB UTOKEN=$TT
sed -i -e '/^Original-Rcpt-To:/d' -e 's/^To: redacted@yahoo.example/To: u4@example4.test/' $T/m
t "a complaint about the test copy" 0 hpipe "" xen-users-bounces@$D $T/m
like "$err" 'complaint of a test copy' &&
    [ "$(status u4@example4.test xen-users)" = active ] &&
    [ "$(sql 'SELECT count(*) FROM complaints')" = 0 ]
ok $? "u4 is not blocklisted, nothing recorded"
fill $F/arf-yahoo.eml $T/m VERP=none UTOKEN=$TT
sed -i -e '/^Original-Rcpt-To:/d' -e 's/^To: redacted@yahoo.example/To: u4@example4.test/' $T/m
t "a complaint carrying only the copy's List-Unsubscribe" 0 \
    hpipe "" xen-users-owner@$D $T/m
[ "$(status u4@example4.test xen-users)" = active ]; ok $? "u4 is not blocklisted"

# real tokens still act
fill $F/gmail-unsubscribe.eml $T/m RCPT=xen-users-unsubscribe+$REAL@$D
t "u4's own token still unsubscribes" 0 \
    hpipe u4@example4.test xen-users-unsubscribe+$REAL@$D $T/m
[ "$(status u4@example4.test xen-users)" = unsubscribed ]; ok $? "u4 unsubscribed"
# a test copy in a dry run: --dry-run writes real renderings (no [test])
rm -rf "$T/md"
t "--dry-run" 0 herald send summit --list xen-users --segment users --dry-run "$T/md"
! grep -q '^X-Herald-Test' "$T/md/new"/* && ! grep -q '^Subject: \[test\]' "$T/md/new"/*
ok $? "writes the real messages, unmarked"
finish
