#!/bin/sh
# bench-send.sh - herald send against Postfix's smtp-sink, side by side with
# Postfix's smtp-source sending the same number of messages of the same
# size (one of herald's own messages, -F) over the same number of parallel
# sessions with connection reuse (-d). ROUNDS times (3), alternated;
# prints both rates and their ratio per round, the median ratio, and
# herald's peak RSS; then repeats herald alone at BIG subscribers for the
# RSS figure. Targets: ratio >= 0.8, peak RSS < 64 MB at both sizes.
#
#   sh tests/bench/bench-send.sh            N=100000 BIG=1000000 ROUNDS=3
#   N=20000 BIG=0 sh tests/bench/bench-send.sh   (quick; BIG=0 skips)
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/bench/lib.sh"
N=${N:-100000}
BIG=${BIG:-1000000}
CONN=${CONN:-4}
ROUNDS=${ROUNDS:-3}
T=$(mktemp -d "${TMPDIR:-/tmp}/herald-bench.XXXXXX")
sink=
trap '[ -z "$sink" ] || kill $sink 2>/dev/null; rm -rf "$T"' EXIT INT TERM

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

# herald_send NAME - send, keep the JSON summary and GNU time's report
herald_send() {
	# --again: every round mails the same subscribers on purpose
	/usr/bin/time -v "$HERALD" send summit --list xen-users --segment users \
	    --segment developers --yes --json --again \
	    >"$T/$1.json" 2>"$T/$1.time"
	rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$T/$1.time")
	wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$T/$1.time")
	rate=$(bench_rate "$T/$1.json")
	sent=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["sent"])' "$T/$1.json")
}

# one of herald's messages (a dry run on a one-subscriber instance) is
# smtp-source's message: the same size and the same content
instance probe 1 >/dev/null
"$HERALD" send summit --list xen-users --segment users --segment developers \
    --dry-run "$T/md" >/dev/null
msg=$(ls "$T/md/new"/* | head -1)
size=$(wc -c < "$msg")

echo "== $ROUNDS rounds, each herald then smtp-source against the same sink"
echo "   (alternated, so a host whose speed drifts weighs on both alike)"
instance small "$N"
echo "  herald: herald send summit --list xen-users --segment users --segment developers --yes --json --again"
echo "          ($N subscribers, $CONN connections, batch 200 per connection; a new campaign each round)"
cmd="smtp-source -s $CONN -d -m $N -F $msg -f bounces@example.org -t rcpt@example.org 127.0.0.1:$PORT"
echo "  smtp-source: $cmd"
echo "          ($N messages of $size bytes)"
ratios= maxrss=0
r=1
while [ "$r" -le "$ROUNDS" ]; do
	herald_send small
	[ "$rss" -gt "$maxrss" ] && maxrss=$rss
	s=$(date +%s.%N)
	$cmd
	e=$(date +%s.%N)
	srate=$(echo "$N / ($e - $s)" | bc)
	ratio=$(echo "scale=3; $rate / $srate" | bc)
	ratios="$ratios $ratio"
	printf '  round %d: herald %s msg/s (%s sent, %s wall), smtp-source %s msg/s, ratio %.2f\n' \
	    "$r" "$rate" "$sent" "$wall" "$srate" "$ratio"
	r=$((r + 1))
done
median=$(printf '%s\n' $ratios | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
printf '== ratio herald/smtp-source: median %.2f of%s (target >= 0.8); herald peak RSS %d MB (target < 64)\n' \
    "$median" "$ratios" "$((maxrss / 1024))"

if [ "$BIG" -gt 0 ]; then
	echo "== herald: $BIG subscribers (RSS, and time against size)"
	instance big "$BIG"
	herald_send big
	echo "  herald: $sent sent, $rate msg/s while sending ($wall wall), peak RSS $((rss / 1024)) MB (target < 64)"
fi
