#!/bin/sh
# bench-hosts.sh - two hosts on one campaign (issue 23): two herald
# configurations and data folders (host A, host B), one PostgreSQL
# database (a private server, tests/bench/lib.sh's bench_pg), the same
# token secret, the same four relays (four smtp-sinks, relay NAME { } of
# weight 1, CONN connections each). N (100,000) subscribers.
#  one host:  A's herald send of the campaign, alone, as a whole command.
#  two hosts: A's herald send started; once the campaign is "sending" in
#             the database, B's herald campaign resume ID joins it; the
#             pair timed from A's exec to the later exit.
# ROUNDS (2) of each, alternated; per run the rate (messages / wall), the
# CPU per message (user + system of every herald process, and of the
# PostgreSQL backends serving the database: bench_pg_cpu; the sinks' is
# not in it), what each host sent, every
# delivery sent once the pair is done, and the load average around it.
# On a 2-core machine the two hosts, the database server and four sinks
# share two CPUs: the pair can only be faster than one host where one
# host waits (round trips, commits) rather than computes.
#
# Needs the campaign chunk claims (several hosts sending one campaign):
# without them B's resume is refused while A holds the campaign (exit
# 75, "being sent by another herald"), and the script says so.
#
#   sh tests/bench/bench-hosts.sh
#   N=20000 ROUNDS=1 sh tests/bench/bench-hosts.sh   (quick)
set -eu
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$TOP/tests/bench/lib.sh"
N=${N:-100000}
CONN=${CONN:-1}
ROUNDS=${ROUNDS:-2}
echo "bench-hosts.sh: N=$N CONN=$CONN ROUNDS=$ROUNDS HERALD=$HERALD"
T=$(mktemp -d "${TMPDIR:-/tmp}/bench-hosts.XXXXXX")
sinks= apid=
trap '[ -z "$apid" ] || kill $apid 2>/dev/null; [ -z "$sinks" ] || kill $sinks 2>/dev/null; bench_stop; rm -rf "$T"' EXIT INT TERM
HERALD_TEMPLATES=$TOP/templates
export HERALD_TEMPLATES

bench_relay_sinks
# host A and host B: their own configuration and data folder, one database
bench_relay_config "$T/a/etc/herald.conf" "$T/a/data" "$CONN"
bench_store "$T/a" postgresql
bench_relay_config "$T/b/etc/herald.conf" "$T/b/data" "$CONN"
pg_conf_block "$(cat "$T/a/.pgdb")" >> "$T/b/etc/herald.conf"
cp "$T/a/.store" "$T/a/.pgdb" "$T/b/"
A=$T/a/etc/herald.conf B=$T/b/etc/herald.conf
HERALD_CONFIG=$A "$HERALD" init >/dev/null
mkdir -p "$T/b/data"
# the token secret: the same file content on every host, mode 0600
install -m 600 "$T/a/data/secret" "$T/b/data/secret"
bench_relay_subs "$T/subs.csv" "$N"
HERALD_CONFIG=$A "$HERALD" sub import xen-users "$T/subs.csv" >/dev/null
send="send summit --list xen-users --segment us-east --yes --json --again"
echo "  host A: HERALD_CONFIG=$A herald $send"
echo "  host B: HERALD_CONFIG=$B herald campaign resume ID --json   (ID: A's campaign once it is sending)"

# now - seconds since the epoch, to the microsecond
now() { $PY -c 'import time; print("%.6f" % time.time())'; }
# field FILE KEY - KEY of the JSON summary in FILE (0 when there is none)
field() {
	$PY -c 'import json,sys
try: print(json.load(open(sys.argv[1]))[sys.argv[2]])
except Exception: print(0)' "$1" "$2"
}
# cpu_of PREFIX - the CPU seconds bench_timed recorded for PREFIX
cpu_of() { cut -d' ' -f2 "$1.time"; }

one_host() {
	bench_load "before one host"
	bench_pg_cpu "$T/a" start
	HERALD_CONFIG=$A bench_timed "$T/one" "$HERALD" $send
	bench_pg_cpu "$T/a" stop
	sent=$(field "$T/one.out" sent)
	printf '    one host:  %6s msg/s (%s sent in %.2f s), CPU a message: herald %.0f us + PostgreSQL %.0f us, peak RSS %d MB\n' \
	    "$(bench_per_s "$sent" "$wall")" "$sent" "$wall" "$(echo "$cpu * 1000000 / $sent" | bc -l)" \
	    "$(echo "$pgcpu * 1000000 / $sent" | bc -l)" "$((rss / 1024))"
}

two_hosts() {
	bench_load "before two hosts"
	last=$(bench_sql "$T/a" "SELECT coalesce(max(id), 0) FROM campaigns")
	bench_pg_cpu "$T/a" start
	t0=$(now)
	HERALD_CONFIG=$A; export HERALD_CONFIG
	( bench_timed "$T/two-a" "$HERALD" $send ) &
	apid=$!
	id=
	while [ -z "$id" ] && kill -0 $apid 2>/dev/null; do
		id=$(bench_sql "$T/a" "SELECT id FROM campaigns WHERE id > $last AND state = 'sending'")
		[ -n "$id" ] || sleep 0.05
	done
	brc=0
	HERALD_CONFIG=$B bench_timed "$T/two-b" "$HERALD" campaign resume "${id:-0}" --json || brc=$?
	wait $apid || true
	apid=
	t1=$(now)
	bench_pg_cpu "$T/a" stop
	HERALD_CONFIG=$A
	id=${id:-$(bench_sql "$T/a" "SELECT max(id) FROM campaigns")}
	# each run's share: claim_owner names the run that sent a row (the
	# JSON summaries count the whole campaign)
	shares=$(bench_sql "$T/a" "SELECT string_agg(n::text, ' + ' ORDER BY n DESC) FROM (SELECT count(*) AS n FROM deliveries WHERE campaign_id = $id AND state = 'sent' GROUP BY claim_owner) s")
	total=$(bench_sql "$T/a" "SELECT count(*) FROM deliveries WHERE campaign_id = $id")
	done_=$(bench_sql "$T/a" "SELECT count(*) FROM deliveries WHERE campaign_id = $id AND state = 'sent'")
	w=$(echo "$t1 - $t0" | bc -l)
	c=$(echo "$(cpu_of "$T/two-a") + $(cpu_of "$T/two-b")" | bc -l)
	printf '    two hosts: %6s msg/s (%s sent in %.2f s; shares of the runs %s), CPU a message: herald (A + B) %.0f us + PostgreSQL %.0f us\n' \
	    "$(bench_per_s "$done_" "$w")" "$done_" "$w" "$shares" "$(echo "$c * 1000000 / $done_" | bc -l)" \
	    "$(echo "$pgcpu * 1000000 / $done_" | bc -l)"
	echo "      campaign $id: $done_ of $total sent; host B's resume exit status $brc"
	[ "$brc" != 75 ] || echo "      (B was refused: $(tail -1 "$T/two-b.err"); without chunk claims one host sends a campaign)"
}

r=1
while [ "$r" -le "$ROUNDS" ]; do
	echo "  round $r:"
	if [ $((r % 2)) = 1 ]; then one_host; two_hosts; else two_hosts; one_host; fi
	r=$((r + 1))
done
bench_load "after"
