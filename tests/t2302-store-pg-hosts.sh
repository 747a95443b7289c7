#!/bin/sh
# Two hosts on one PostgreSQL database (issue 23): two configurations and
# data folders, the same token secret. While host A sends a campaign,
# host B can neither resume it nor start it from herald run (the
# campaign's advisory lock lives in the database, not in a data folder);
# A killed -9, its connection ends and the lock with it: B resumes and
# finishes, each recipient reached, at most A's messages in flight twice.
# (Sharing one campaign between hosts by claimed chunks is not built.)
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0400/common.sh"
HERALD_TEMPLATES=$TOP/templates; export HERALD_TEMPLATES
[ -x "${PG_BIN:-/nonexistent}/pg_ctl" ] || { echo "1..0 # SKIP no PostgreSQL server here"; exit 0; }
HERALD_TEST_STORE=postgresql; export HERALD_TEST_STORE
plan 6

PORT=$(free_port)
relay_conf "$PORT" "send {" "connections = 1" "batch = 20" "rate = 100" "}"
subs_csv "$T/subs.csv" 1000
herald sub import xen-users "$T/subs.csv" >/dev/null
start_sink "$PORT" "$T/sink"
# host B: its own configuration and data folder, the same database and secret
mkdir -p "$T/b/etc" "$T/b/data"
sed "s|$T/data|$T/b/data|" "$HERALD_CONFIG" > "$T/b/etc/herald.conf"
cp -p "$T/data/secret" "$T/b/data/secret"
hostb() { HERALD_CONFIG=$T/b/etc/herald.conf "$HERALD" "$@"; }

"$HERALD" send summit --list xen-users --segment users --segment developers \
    --yes >"$T/a.out" 2>"$T/a.err" &
A=$!
at_exit "kill -9 $A"
wait_for 60 eval '[ "$(ls "$T/sink" | wc -l)" -ge 50 ]'
expect 75 hostb campaign resume 1
ok $? "host B cannot resume a campaign host A sends (75)"
like "$err" 'being sent by another herald'; ok $? "and says why"
kill -9 $A; wait $A 2>/dev/null
total=$(sql "SELECT count(*) FROM deliveries WHERE campaign_id = 1")
left=$(sql "SELECT count(*) FROM deliveries WHERE campaign_id = 1 AND state = 'queued'")
echo "# host A killed with $left of $total queued, $(ls "$T/sink" | wc -l) at the sink"
[ "$left" -gt 0 ]; ok $? "host A was killed mid-campaign"
t "host B resumes once A is gone (its lock went with its connection)" 0 hostb campaign resume 1
[ "$(sql "SELECT count(*) FROM deliveries WHERE campaign_id = 1 AND state = 'sent'")" = "$total" ]
ok $? "every delivery sent"
wait_for 20 sink_holds "$T/sink" "$total"
cat "$T/sink"/* | sed -n 's/^X-Rcpt-Args: <\(.*\)>.*/\1/p' | sort > "$T/got"
dups=$(( $(wc -l < "$T/got") - $(sort -u "$T/got" | wc -l) ))
echo "# $dups twice"
[ "$(sort -u "$T/got" | wc -l)" = "$total" ] && [ "$dups" -le 20 ]
ok $? "each recipient reached, at most one batch twice ($dups)"
finish
