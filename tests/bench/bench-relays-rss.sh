#!/bin/sh
# bench-relays-rss.sh - herald's peak RSS sending one campaign to N
# subscribers (1,000,000) over four relays (four smtp-sinks, relay NAME { }
# sections of weight 1, as bench-relays.sh), from /usr/bin/time -v (Debian
# package "time"). Also prints the import's peak RSS, the send's rate, its
# CPU time and how the messages spread over the relays.
# Target (issue 13): peak RSS < 64 MB at 1,000,000 recipients. The load
# average is printed before and after each measured command.
#
#   sh tests/bench/bench-relays-rss.sh            N=1000000 CONN=1
#   STORE=postgresql sh tests/bench/bench-relays-rss.sh   (the store in a
#   private PostgreSQL server: tests/bench/lib.sh's bench_pg)
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/bench/lib.sh"
N=${N:-1000000}
CONN=${CONN:-1}
T=$(mktemp -d "${TMPDIR:-/tmp}/herald-bench.XXXXXX")
sinks=
trap '[ -z "$sinks" ] || kill $sinks 2>/dev/null; bench_stop; rm -rf "$T"' EXIT INT TERM

bench_relay_sinks
bench_relay_config "$T/etc/herald.conf" "$T/data" "$CONN"
bench_store "$T"
"$HERALD" init >/dev/null
bench_relay_subs "$T/subs.csv" "$N"
# peak LABEL CMD... - run CMD under /usr/bin/time -v, print its figures
peak() {
	label=$1; shift
	echo "\$ $*"
	bench_load "before"
	/usr/bin/time -v -o "$T/time" "$@" > "$T/out" 2>"$T/err" ||
	    { echo "  failed:"; tail -3 "$T/err"; exit 1; }
	bench_load "after"
	rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$T/time")
	cpu=$(awk -F': ' '/User time|System time/ { s += $2 } END { print s }' "$T/time")
	wall=$(sed -n 's/.*Elapsed (wall clock) time.*: //p' "$T/time" |
	    awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')
	printf '  %s: peak RSS %.1f MB, %.1f s cpu, %.1f s wall\n' "$label" \
	    "$(echo "$rss / 1024" | bc -l)" "$cpu" "$wall"
}
echo "== store $STORE: $N subscribers, 4 relays of weight 1, $CONN connection(s) each, batch 200"
peak import "$HERALD" sub import xen-users "$T/subs.csv"
peak send "$HERALD" send summit --list xen-users --segment us-east --yes --json
$PY -c 'import json,sys; r = json.load(open(sys.argv[1])); print("  sent %d of %d, %.0f msg/s over %.1f s of sending" % (r["sent"], r["total"], r["run"]["rate"], r["run"]["seconds"]))' "$T/out"
spread=$(bench_sql "$T" "SELECT group_concat(relay || ' ' || n, ', ') FROM (SELECT relay, count(*) n FROM deliveries WHERE state = 'sent' GROUP BY relay) AS r")
echo "  sent per relay: $spread (target: send peak RSS < 64 MB)"
