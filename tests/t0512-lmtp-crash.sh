#!/bin/sh
# herald lmtp killed (SIGKILL) in the middle of a burst: every message the
# client saw 250 for is in the store, the others were never answered (an
# MTA keeps them), and delivering those again afterwards stores each
# message exactly once. The burst: 3,000 bounces naming 3,000 subscribers
# over 4 connections (tests/tools/lmtp-burst.py), so grouped commits are
# under way when the kill comes; each message is found in the store by its
# SHA-256 (inbound_bounces.digest).
. "${TOP:-.}/tests/lib.sh"
VIA=lmtp
. "$TOP/tests/t0500/pipe-lib.sh"
N=3000

hinit
bounce_burst $N
plan 6
lmtp_start
P=$(cat $T/lmtp.pid)
: > $T/ok
$PY "$TOP/tests/tools/lmtp-burst.py" "$LMTPSOCK" $T/list 4 $T/ok > $T/burst.out 2>&1 &
BP=$!
_i=0; while [ $_i -lt 600 ] && [ "$(wc -l < $T/ok)" -lt 60 ]; do sleep 0.02; _i=$((_i + 1)); done
kill -9 $P
wait $BP
: > $T/lmtp.pid
OK=$(wc -l < $T/ok)
[ "$OK" -ge 60 ] && [ "$OK" -lt $N ]; ok $? "killed mid-burst: $OK of $N messages answered 250"
awk 'NR == FNR { ok[$1 + 1] = 1; next } FNR in ok' $T/ok $T/digests > $T/ok-digests
sql "SELECT digest FROM inbound_bounces" | sort > $T/stored
[ "$(sort $T/ok-digests | comm -23 - $T/stored | wc -l)" = 0 ]; ok $? "every message answered 250 is in the store"
[ "$(sql "SELECT count(*) FROM inbound_bounces")" -lt $N ]; ok $? "and the store does not have them all ($(sql "SELECT count(*) FROM inbound_bounces"))"

# the MTA's retry: the unanswered ones again, to a new server
awk 'NR == FNR { ok[$1 + 1] = 1; next } !(FNR in ok)' $T/ok $T/list > $T/rest
[ "$(($(wc -l < $T/rest) + OK))" = $N ]; ok $? "the client holds the other $(wc -l < $T/rest) for a retry"
lmtp_start	# over the stale socket the killed one left
: > $T/ok2
$PY "$TOP/tests/tools/lmtp-burst.py" "$LMTPSOCK" $T/rest 4 $T/ok2 > $T/burst2.out 2>&1
[ "$(wc -l < $T/ok2)" = "$(wc -l < $T/rest)" ]; ok $? "the retry: all 250 ($(cat $T/burst2.out))"
[ "$(sql "SELECT count(*) || ' ' || count(DISTINCT digest) FROM inbound_bounces")" = "$N $N" ]; ok $? "now each of the $N bounces is stored exactly once"
finish
