#!/bin/sh
# bench-relays.sh - herald send over a pool of four relays (four smtp-sinks,
# relay NAME { } sections of equal weight), side by side with four
# smtp-source processes at once, each sending its quarter of the same
# number of messages of the same size (one of herald's own, -F) to one of
# the same four sinks over the same number of sessions (-s, -d). ROUNDS
# times (3), alternated; prints both aggregate rates, their ratio per
# round, the median ratio, herald's peak RSS and how herald spread the
# messages over the relays. Target: ratio >= 0.85.
#
# The machine's load moves the rates; the CPU time spent per message
# does not move much, so each round also prints it (user + system, µs
# per message): herald's whole command (start-up and queueing the
# campaign's rows included), the four smtp-sources', and the four
# sinks' in each half (from /proc). On a machine where everything shares
# the cores, the ratio is about (sources + sinks) / (herald + sinks).
#
#   sh tests/bench/bench-relays.sh          N=100000 CONN=1 ROUNDS=3
#   N=20000 sh tests/bench/bench-relays.sh  (quick)
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/bench/lib.sh"
N=${N:-100000}
CONN=${CONN:-1}		# sessions per relay
ROUNDS=${ROUNDS:-3}
T=$(mktemp -d "${TMPDIR:-/tmp}/herald-bench.XXXXXX")
sinks=
trap '[ -z "$sinks" ] || kill $sinks 2>/dev/null; rm -rf "$T"' EXIT INT TERM

# cpu PID... - user + system clock ticks of those processes so far
cpu() {
	for p in "$@"; do cut -d' ' -f14,15 "/proc/$p/stat"; done |
	    awk '{ t += $1 + $2 } END { print t }'
}
tick=$(getconf CLK_TCK)
bench_relay_sinks
bench_relay_config "$T/etc/herald.conf" "$T/data" "$CONN"
"$HERALD" init >/dev/null
bench_relay_subs "$T/subs.csv" "$N"
"$HERALD" sub import xen-users "$T/subs.csv" >/dev/null
"$HERALD" send summit --list xen-users --segment us-east --dry-run "$T/md" \
    >/dev/null 2>&1 || true
msg=$T/md/new/$(ls "$T/md/new" | head -1)
size=$(wc -c < "$msg")

hcmd="herald send summit --list xen-users --segment us-east --yes --json --again"
scmd="smtp-source -s $CONN -d -m $((N / 4)) -F $msg -f bounces@example.org -t rcpt@example.org 127.0.0.1:PORT"
echo "== $ROUNDS rounds: herald over 4 relays, then 4 smtp-sources at once, same 4 sinks"
echo "  herald: $hcmd"
echo "          ($N subscribers; 4 relays of weight 1, $CONN connection(s) each, batch 200)"
echo "  smtp-source, one per sink at once: $scmd"
echo "          ($((N / 4)) messages of $size bytes each)"
ratios= maxrss=0 r=1
while [ "$r" -le "$ROUNDS" ]; do
	c0=$(cpu $sinks)
	/usr/bin/time -v "$HERALD" send summit --list xen-users --segment us-east \
	    --yes --json --again >"$T/h.json" 2>"$T/h.time"
	c1=$(cpu $sinks)
	rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$T/h.time")
	hcpu=$(sed -n 's/.*User time (seconds): //p; s/.*System time (seconds): //p' \
	    "$T/h.time" | awk -v n="$N" '{ t += $1 } END { printf "%.0f", t * 1e6 / n }')
	[ "$rss" -gt "$maxrss" ] && maxrss=$rss
	rate=$($PY -c 'import json,sys; print("%.0f" % json.load(open(sys.argv[1]))["run"]["rate"])' "$T/h.json")
	s=$(date +%s.%N)
	/usr/bin/time -f '%U %S' -o "$T/s.time" sh -c '
		n=$1 msg=$2 conn=$3; shift 3
		for p in "$@"; do
			smtp-source -s "$conn" -d -m "$n" -F "$msg" \
			    -f bounces@example.org -t rcpt@example.org "127.0.0.1:$p" &
		done
		wait' sh $((N / 4)) "$msg" "$CONN" $ports
	e=$(date +%s.%N)
	c2=$(cpu $sinks)
	scpu=$(awk -v n="$N" '{ printf "%.0f", ($1 + $2) * 1e6 / n }' "$T/s.time")
	k1=$(( (c1 - c0) * 1000000 / tick / N ))
	k2=$(( (c2 - c1) * 1000000 / tick / N ))
	srate=$(echo "$N / ($e - $s)" | bc)
	ratio=$(echo "scale=3; $rate / $srate" | bc)
	ratios="$ratios $ratio"
	printf '  round %d: herald %s msg/s, 4 x smtp-source %s msg/s, ratio %.2f\n' \
	    "$r" "$rate" "$srate" "$ratio"
	printf '           CPU us/msg: herald %s + sinks %s; smtp-sources %s + sinks %s\n' \
	    "$hcpu" "$k1" "$scpu" "$k2"
	r=$((r + 1))
done
spread=$(sqlite3 "$T/data/herald.db" "SELECT group_concat(relay || ' ' || n, ', ') FROM (SELECT relay, count(*) n FROM deliveries WHERE state = 'sent' GROUP BY relay)")
median=$(printf '%s\n' $ratios | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
printf '== ratio herald/smtp-source: median %.2f of%s (target >= 0.85); herald peak RSS %d MB\n' \
    "$median" "$ratios" "$((maxrss / 1024))"
echo "   sent per relay over all rounds: $spread"
