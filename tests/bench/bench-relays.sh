#!/bin/sh
# bench-relays.sh - herald send over a pool of four relays (four smtp-sinks,
# relay NAME { } sections of equal weight), side by side with four
# smtp-source processes at once, each sending its quarter of the same
# number of messages of the same size (one of herald's own, -F) to one of
# the same four sinks over the same number of sessions (-s, -d). ROUNDS
# times (3), alternated. Both sides are timed the same way, as whole
# commands from exec to exit (bench_timed): herald send's figure includes
# its start-up, the campaign's creation and the queueing of its rows, the
# smtp-sources' includes the shell that starts the four and waits for
# them. Prints per round the load average before and after, both
# aggregate rates and their ratio, and beside them herald's internal
# run.rate (its clock starts after that set-up, so it flatters herald)
# and the ratio it would give; then the median whole-command ratio,
# herald's peak RSS and how herald spread the messages over the relays.
# Target: ratio >= 0.85.
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

# ticks PID... - user + system clock ticks of those processes so far
ticks() {
	for p in "$@"; do cut -d' ' -f14,15 "/proc/$p/stat"; done |
	    awk '{ t += $1 + $2 } END { print t }'
}
tick=$(getconf CLK_TCK)
bench_relay_sinks
bench_relay_config "$T/etc/herald.conf" "$T/data" "$CONN"
"$HERALD" init >/dev/null
bench_relay_subs "$T/subs.csv" "$N"
"$HERALD" sub import xen-users "$T/subs.csv" >/dev/null
# smtp-source's message: one of herald's, rendered for one subscriber of
# the segment (render prints it as sent, CRLF; -F wants LF lines and adds
# the CR itself)
msg=$T/one.eml
"$HERALD" render summit --list xen-users --segment us-east --sample 1 |
    tr -d '\r' > "$msg"
size=$(wc -c < "$msg")

hcmd="herald send summit --list xen-users --segment us-east --yes --json --again"
scmd="smtp-source -s $CONN -d -m $((N / 4)) -F $msg -f bounces@example.org -t rcpt@example.org 127.0.0.1:PORT"
echo "== $ROUNDS rounds: herald over 4 relays, then 4 smtp-sources at once, same 4 sinks"
echo "  herald send: $hcmd"
echo "          ($N subscribers; 4 relays of weight 1, $CONN connection(s) each, batch 200)"
echo "  smtp-source, one per sink at once: $scmd"
echo "          ($((N / 4)) messages of $size bytes each)"
ratios= iratios= maxrss=0 r=1
while [ "$r" -le "$ROUNDS" ]; do
	echo "  round $r:"
	bench_load "before round $r"
	c0=$(ticks $sinks)
	bench_timed "$T/h" "$HERALD" send summit --list xen-users --segment us-east \
	    --yes --json --again
	c1=$(ticks $sinks)
	hwall=$wall
	[ "$rss" -gt "$maxrss" ] && maxrss=$rss
	hcpu=$(awk -v c="$cpu" -v n="$N" 'BEGIN { printf "%.0f", c * 1e6 / n }')
	sent=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["sent"])' "$T/h.out")
	rate=$(bench_per_s "$sent" "$hwall")
	irate=$(bench_rate "$T/h.out")
	bench_timed "$T/s" sh -c '
		n=$1 msg=$2 conn=$3; shift 3
		for p in "$@"; do
			smtp-source -s "$conn" -d -m "$n" -F "$msg" \
			    -f bounces@example.org -t rcpt@example.org "127.0.0.1:$p" &
		done
		wait' sh $((N / 4)) "$msg" "$CONN" $ports
	c2=$(ticks $sinks)
	scpu=$(awk -v c="$cpu" -v n="$N" 'BEGIN { printf "%.0f", c * 1e6 / n }')
	k1=$(( (c1 - c0) * 1000000 / tick / N ))
	k2=$(( (c2 - c1) * 1000000 / tick / N ))
	srate=$(bench_per_s "$N" "$wall")
	ratio=$(echo "scale=3; $rate / $srate" | bc)
	iratio=$(echo "scale=3; $irate / $srate" | bc)
	ratios="$ratios $ratio" iratios="$iratios $iratio"
	printf '    herald send, whole command: %s msg/s (%s sent in %.2f s)\n' "$rate" "$sent" "$hwall"
	printf '    4 x smtp-source, whole command: %s msg/s (%s in %.2f s)\n' "$srate" "$N" "$wall"
	printf '    ratio herald send / 4 x smtp-source, whole commands: %.2f\n' "$ratio"
	printf "    (herald's internal run.rate, after start-up and queueing: %s msg/s; over the smtp-sources' whole command %.2f)\n" \
	    "$irate" "$iratio"
	printf '    CPU us/msg: herald send %s + sinks %s; 4 x smtp-source %s + sinks %s\n' \
	    "$hcpu" "$k1" "$scpu" "$k2"
	bench_load "after round $r"
	r=$((r + 1))
done
spread=$(sqlite3 "$T/data/herald.db" "SELECT group_concat(relay || ' ' || n, ', ') FROM (SELECT relay, count(*) n FROM deliveries WHERE state = 'sent' GROUP BY relay)")
# shellcheck disable=SC2086
median=$(bench_median $ratios)
# shellcheck disable=SC2086
imedian=$(bench_median $iratios)
printf '== ratio herald send / 4 x smtp-source, whole commands: median %.2f of%s (target >= 0.85)\n' \
    "$median" "$ratios"
printf "   (herald's internal run.rate over the smtp-sources' whole command: median %.2f of%s)\n" \
    "$imedian" "$iratios"
printf '   herald send peak RSS %d MB\n' "$((maxrss / 1024))"
echo "   sent per relay over all rounds: $spread"
