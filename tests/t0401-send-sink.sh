#!/bin/sh
# herald send against Postfix's smtp-sink: the snapshot and its counts per
# segment, one message per recipient with its own VERP sender, the
# campaign's state and summary, --json, --dry-run, --test, confirmation.
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0400/common.sh"
HERALD_TEMPLATES=$TOP/templates; export HERALD_TEMPLATES
plan 26

PORT=$(free_port)
relay_conf "$PORT"
subs_csv "$T/subs.csv" 50
herald sub import xen-users "$T/subs.csv" >/dev/null
# one blocklisted (on another list), one unsubscribed: neither is mailed
sql "UPDATE memberships SET status = 'unsubscribed' WHERE subscriber_id =
    (SELECT id FROM subscribers WHERE email = 'u5@example0.test')"
sql "INSERT INTO lists(name) VALUES ('other');
    INSERT INTO memberships(list_id, subscriber_id, status)
    SELECT l.id, s.id, 'blocklisted' FROM lists l, subscribers s
    WHERE l.name = 'other' AND s.email = 'u10@example0.test'"
start_sink "$PORT" "$T/sink"

t "send without --yes off a terminal refuses" 64 herald send summit \
    --list xen-users --segment users </dev/null
like "$err" 'add --yes' && [ "$(sql 'SELECT count(*) FROM campaigns')" = 0 ]
ok $? "and leaves no campaign behind"

t "send to users and developers" 0 herald send summit --list xen-users \
    --segment users --segment developers --yes
like "$out" '^  users +18$' && like "$out" '^  developers +20$' &&
    like "$out" '^  total +38$'
ok $? "counts per segment (each recipient once, first segment wins)"
like "$out" '38 sent, 0 failed, 0 queued'; ok $? "summary line"
[ "$(ls "$T/sink" | wc -l)" = 38 ]; ok $? "the sink got 38 messages"
[ "$(cat "$T/sink"/* | grep -c '^X-Rcpt-Args:')" = 38 ] &&
    [ "$(cat "$T/sink"/* | grep '^X-Rcpt-Args:' | sort -u | wc -l)" = 38 ]
ok $? "one recipient per message, none twice"
[ "$(cat "$T/sink"/* | grep '^X-Mail-Args:' | sort -u | wc -l)" = 38 ] &&
    grep -q '^X-Mail-Args: <xen-users-bounces+b' "$T/sink"/*
ok $? "each message has its own VERP envelope sender"
! grep -q 'u5@example0.test\|u10@example0.test' "$T/sink"/*
ok $? "unsubscribed and blocklisted members are not mailed"
f=$(grep -l 'X-Rcpt-Args: <u2@example2.test>' "$T/sink"/*)
grep -q '^To: .*u2@example2.test' "$f" && grep -q '^Subject: ' "$f" &&
    grep -q '^List-Unsubscribe: ' "$f"
ok $? "the message is composed for its recipient"
# the body leaves in one gathered write (send.c): every message arrives
# whole, its MIME tree intact and its last line the outer closing boundary
bad=0
for m in "$T/sink"/*; do
	s=$("$BUILD/tools/mime-check" "$m" | sed -n 's/^  part //p' | tr '\n' ' ')
	b=$(sed -n 's/^[ 	]*boundary="\(=_herald_mix_[^"]*\)".*/\1/p' "$m" | head -1)
	[ "$s" = "multipart/mixed multipart/alternative text/plain text/html text/calendar " ] &&
	    [ -n "$b" ] && [ "$(grep -v '^$' "$m" | tail -n 1 | tr -d '\r')" = "--$b--" ] ||
	    { bad=$((bad + 1)); [ $bad = 1 ] && echo "# $m: [$s] [$b] [$(tail -n 1 "$m")]"; }
done
[ "$bad" = 0 ]; ok $? "every message arrives whole: MIME tree intact, closing boundary last ($bad not)"
[ "$(sql "SELECT segment FROM deliveries d JOIN subscribers s ON
    s.id = d.subscriber_id WHERE s.email = 'u2@example2.test'")" = developers ]
ok $? "a developer is recorded under developers"
[ "$(sql "SELECT count(*) FROM deliveries WHERE state = 'sent' AND code = 250
    AND attempts = 1 AND stage = 'data'")" = 38 ]; ok $? "every row sent, 250"

t "campaigns lists it" 0 herald campaigns
like "$out" '^ +1 xen-users .* done +38 +38 +0 +0 +summit \(users,developers\)'
ok $? "done, 38 sent"
t "campaign show" 0 herald campaign show 1
like "$out" '^state +done' && like "$out" '^users +18 +18 +0 +0' &&
    like "$out" '^rate +[0-9]+ msg/s'
ok $? "state, counts by segment, rate"

t "a second campaign of it once the first is done, with --again" 0 \
    herald send summit --list xen-users --segment users --yes --json --again
like "$out" '^\{"campaign": 2, "state": "done".*"sent": 18' ; ok $? "--json summary"

rm -rf "$T/md"
t "--dry-run writes a maildir" 0 herald send summit --list xen-users \
    --segment developers --dry-run "$T/md"
[ "$(ls "$T/md/new" | wc -l)" = 20 ] && ! grep -q "$(printf '\r')" "$T/md/new"/* &&
    [ "$(sql 'SELECT count(*) FROM campaigns')" = 2 ]
ok $? "20 messages, LF line ends, no campaign recorded"

n=$(ls "$T/sink" | wc -l)
t "--test sends to the given address only" 0 herald send summit \
    --list xen-users --segment users --test tester@example.org \
    --as u4@example4.test
[ "$(ls "$T/sink" | wc -l)" = $((n + 1)) ] &&
    grep -l 'X-Rcpt-Args: <tester@example.org>' "$T/sink"/* | xargs grep -q 'u4@example4.test'
ok $? "one message, rendered for u4"
t "a segment the list lacks" 67 herald send summit --list xen-users \
    --segment nosuch --yes

# a body larger than send.c gathers at once (256 KB): written out in
# pieces, it still arrives whole and in order
mkdir -p "$T/tpl"
cp -R "$TOP/templates/." "$T/tpl/"
awk '/^\{\{\/body\}\}/ { for (i = 1; i <= 6000; i++) printf "bulk line %05d of a long announcement, to make the body large\n", i } { print }' \
    "$TOP/templates/summit/text.mustache" > "$T/tpl/summit/text.mustache"
n=$(ls "$T/sink" | wc -l)
t "--test with a body near 400 KB" 0 env HERALD_TEMPLATES="$T/tpl" "$HERALD" send summit \
    --list xen-users --segment users --test big@example.org --as u4@example4.test
f=$(grep -l 'X-Rcpt-Args: <big@example.org>' "$T/sink"/*)
[ "$(ls "$T/sink" | wc -l)" = $((n + 1)) ] && [ "$(wc -c < "$f")" -gt 300000 ] &&
    [ "$(grep -c '^bulk line [0-9]* of a long announcement' "$f")" = 6000 ] &&
    [ "$(grep '^bulk line' "$f" | cut -c11-15 | sort -c && echo sorted)" = sorted ] &&
    [ "$(grep -v '^$' "$f" | tail -n 1 | tr -d '\r' | sed -n 's/^--=_herald_mix_.*--$/end/p')" = end ]
ok $? "it arrives whole: 6000 lines in order, the closing boundary last"
finish
