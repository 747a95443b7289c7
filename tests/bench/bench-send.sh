#!/bin/sh
# bench-send.sh - herald send against Postfix's smtp-sink, side by side with
# Postfix's smtp-source sending the same number of messages of the same
# size (one of herald's own messages, -F) over the same number of parallel
# sessions with connection reuse (-d). ROUNDS times (3), alternated. Both
# are timed the same way, as whole commands from exec to exit
# (bench_timed): herald's figure includes its start-up, the campaign's
# creation and the queueing of its rows, as smtp-source's includes its
# own. Prints per round the load average before and after, both
# whole-command rates and their ratio, and beside them herald's internal
# run.rate (its clock starts after the set-up, so it flatters herald) and
# the ratio it would give; then the median whole-command ratio and
# herald's peak RSS; then herald alone at BIG subscribers for the RSS
# figure. Targets: ratio >= 0.8, peak RSS < 64 MB at both sizes.
#
#   sh tests/bench/bench-send.sh            N=100000 BIG=1000000 ROUNDS=3
#   N=20000 BIG=0 sh tests/bench/bench-send.sh   (quick; BIG=0 skips)
#   STORE=postgresql sh tests/bench/bench-send.sh (the store in a private
#   PostgreSQL server, tests/bench/lib.sh's bench_pg)
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/bench/lib.sh"
N=${N:-100000}
BIG=${BIG:-1000000}
CONN=${CONN:-4}
ROUNDS=${ROUNDS:-3}
T=$(mktemp -d "${TMPDIR:-/tmp}/herald-bench.XXXXXX")
sink=
trap '[ -z "$sink" ] || kill $sink 2>/dev/null; bench_stop; rm -rf "$T"' EXIT INT TERM

bench_sink
HERALD_TEMPLATES=$TOP/templates
export HERALD_TEMPLATES

# instance NAME COUNT - a fresh instance with COUNT users and developers
instance() {
	mkdir -p "$T/$1/etc"
	cat > "$T/$1/etc/herald.conf" <<CONF
data_dir = "$T/$1/data"
list_dir = "$TOP/lists"
smtp {
	host = "127.0.0.1"
	port = $PORT
	starttls = "off"
}
send {
	connections = $CONN
	batch = 200
}
CONF
	bench_store "$T/$1"
	HERALD_CONFIG=$T/$1/etc/herald.conf
	export HERALD_CONFIG
	"$HERALD" init >/dev/null
	$PY - "$T/$1/subs.csv" "$2" <<'PYEOF'
import sys
first = ["Alice", "Bo", "Chen", "Dana", "Emil", "Farah", "Goran", "Hana"]
last = ["Rossi", "Patel", "Nguyen", "Okafor", "Schmidt", "Tanaka"]
regions = ["us-east", "us-west", "europe", "asia"]
with open(sys.argv[1], "w") as f:
    f.write("email,name,role,region,company\n")
    for i in range(1, int(sys.argv[2]) + 1):
        f.write("%s.%s%d@example%d.org,%s %s,%s,%s,Example %d\n" % (
            first[i % 8].lower(), last[i % 6].lower(), i, i % 97,
            first[i % 8], last[i % 6], "user" if i % 2 else "developer",
            regions[i % 4], i % 50))
PYEOF
	s=$(date +%s.%N)
	"$HERALD" sub import xen-users "$T/$1/subs.csv" >/dev/null
	echo "  ($2 subscribers imported in $(echo "$(date +%s.%N) - $s" | bc) s)"
}

# herald_send NAME - herald send, timed as a whole command (bench_timed):
# wall, cpu, rss; the JSON summary in $T/NAME.out; sent, rate (messages
# per second of the whole command) and irate (herald's internal run.rate)
herald_send() {
	# --again: every round mails the same subscribers on purpose
	bench_timed "$T/$1" "$HERALD" send summit --list xen-users --segment users \
	    --segment developers --yes --json --again
	sent=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["sent"])' "$T/$1.out")
	rate=$(bench_per_s "$sent" "$wall")
	irate=$(bench_rate "$T/$1.out")
}

# one of herald's messages (a dry run on a one-subscriber instance) is
# smtp-source's message: the same size and the same content
instance probe 1 >/dev/null
"$HERALD" send summit --list xen-users --segment users --segment developers \
    --dry-run "$T/md" >/dev/null
msg=$(ls "$T/md/new"/* | head -1)
size=$(wc -c < "$msg")

echo "== store: $STORE"
echo "== $ROUNDS rounds, each herald then smtp-source against the same sink"
echo "   (alternated, so a host whose speed drifts weighs on both alike; both"
echo "   timed as whole commands, exec to exit)"
instance small "$N"
hcmd="herald send summit --list xen-users --segment users --segment developers --yes --json --again"
echo "  herald send: $hcmd"
echo "          ($N subscribers, $CONN connections, batch 200 per connection; a new campaign each round)"
cmd="smtp-source -s $CONN -d -m $N -F $msg -f bounces@example.org -t rcpt@example.org 127.0.0.1:$PORT"
echo "  smtp-source: $cmd"
echo "          ($N messages of $size bytes)"
ratios= iratios= maxrss=0
r=1
while [ "$r" -le "$ROUNDS" ]; do
	echo "  round $r:"
	bench_load "before round $r"
	herald_send small
	[ "$rss" -gt "$maxrss" ] && maxrss=$rss
	hwall=$wall
	# shellcheck disable=SC2086
	bench_timed "$T/source" $cmd
	srate=$(bench_per_s "$N" "$wall")
	ratio=$(echo "scale=3; $rate / $srate" | bc)
	iratio=$(echo "scale=3; $irate / $srate" | bc)
	ratios="$ratios $ratio" iratios="$iratios $iratio"
	printf '    herald send, whole command: %s msg/s (%s sent in %.2f s)\n' "$rate" "$sent" "$hwall"
	printf '    smtp-source, whole command: %s msg/s (%s in %.2f s)\n' "$srate" "$N" "$wall"
	printf '    ratio herald send / smtp-source, whole commands: %.2f\n' "$ratio"
	printf "    (herald's internal run.rate, after start-up and queueing: %s msg/s; over smtp-source's whole command %.2f)\n" \
	    "$irate" "$iratio"
	bench_load "after round $r"
	r=$((r + 1))
done
# shellcheck disable=SC2086
median=$(bench_median $ratios)
# shellcheck disable=SC2086
imedian=$(bench_median $iratios)
printf '== ratio herald send / smtp-source, whole commands: median %.2f of%s (target >= 0.8)\n' \
    "$median" "$ratios"
printf "   (herald's internal run.rate over smtp-source's whole command: median %.2f of%s)\n" \
    "$imedian" "$iratios"
printf '   herald send peak RSS %d MB (target < 64)\n' "$((maxrss / 1024))"

if [ "$BIG" -gt 0 ]; then
	echo "== herald send alone: $BIG subscribers (RSS, and time against size)"
	instance big "$BIG"
	bench_load "before"
	herald_send big
	bench_load "after"
	printf '  herald send: %s sent, whole command %s msg/s (%.1f s wall; internal run.rate %s msg/s), peak RSS %d MB (target < 64)\n' \
	    "$sent" "$rate" "$wall" "$irate" "$((rss / 1024))"
fi
