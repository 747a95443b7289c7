#!/bin/sh
# bench-subscribers.sh - import N generated subscribers (1,000,000 unless
# N is set) into a fresh instance and count a two-attribute segment over
# them. Prints each command, its wall time, rows/s and peak RSS (from
# /usr/bin/time -v; Debian package "time").
#
# The import runs ROUNDS times (3), each into a fresh database; the best
# and the median are printed.
#
# Targets (issue 2): import >= 200,000 rows/s, a segment count < 0.5 s on
# 1M subscribers, peak RSS < 64 MB. The figures are printed, not asserted:
# a shared machine makes wall times noisy, so CPU seconds (user + sys) are
# printed too; compare those between builds. The load average is printed
# before and after each measured command.
set -eu
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$TOP/tests/bench/lib.sh"
N=${N:-1000000}
ROUNDS=${ROUNDS:-3}
B=$(mktemp -d "${TMPDIR:-/tmp}/herald-bench.XXXXXX")
trap 'rm -rf "$B"' EXIT
mkdir -p "$B/etc" "$B/data" "$B/lists"
cp "$TOP"/lists/*.conf "$B/lists/"
printf 'data_dir = "%s/data"\nlist_dir = "%s/lists"\ndomain = "lists.example.org"\n' \
    "$B" "$B" > "$B/etc/herald.conf"
HERALD_CONFIG=$B/etc/herald.conf
export HERALD_CONFIG
"$HERALD" init >/dev/null

# measure LABEL CMD… - run CMD under /usr/bin/time -v, print the figures
measure() {
	label=$1; shift
	echo "\$ $*"
	bench_load "before"
	/usr/bin/time -v -o "$B/time" "$@" > "$B/out"
	bench_load "after"
	tail -n 3 "$B/out" | sed 's/^/  /'
	wall=$(sed -n 's/.*Elapsed (wall clock) time.*: //p' "$B/time" |
	    awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')
	rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$B/time")
	cpu=$(awk -F': ' '/User time|System time/ { s += $2 } END { print s }' "$B/time")
	printf '  %s: %.2f s wall, %.2f s cpu, peak RSS %.1f MB\n' "$label" \
	    "$wall" "$cpu" "$(echo "$rss / 1024" | bc -l)"
}

echo "== generating $N subscribers"
echo "\$ $BUILD/tools/gen-subscribers $N > $B/subs.csv"
"$BUILD/tools/gen-subscribers" "$N" > "$B/subs.csv"
ls -l "$B/subs.csv" | awk '{ printf "  %d bytes\n", $5 }'

echo "== import, $ROUNDS times into a fresh database (a shared host's speed drifts)"
walls=
r=1
while [ "$r" -le "$ROUNDS" ]; do
	if [ "$r" -gt 1 ]; then
		rm -rf "$B/data"
		"$HERALD" init >/dev/null
	fi
	measure "import $r" "$HERALD" sub import xen-users "$B/subs.csv"
	printf '  import %d: %.0f rows/s wall, %.0f rows per cpu second, database %s bytes\n' \
	    "$r" "$(echo "$N / $wall" | bc -l)" "$(echo "$N / $cpu" | bc -l)" \
	    "$(stat -c %s "$B/data/herald.db")"
	walls="$walls $wall"
	r=$((r + 1))
done
set -- $(printf '%s\n' $walls | sort -n)
best=$1
median=$(printf '%s\n' $walls | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
printf '== import: best %.0f rows/s (%.2f s), median %.0f rows/s (%.2f s) (target >= 200000)\n' \
    "$(echo "$N / $best" | bc -l)" "$best" "$(echo "$N / $median" | bc -l)" "$median"

echo "== segment count (two attributes)"
measure "count east-coast-developers" "$HERALD" segment xen-users east-coast-developers --count
measure "count --where" "$HERALD" segment xen-users --where 'role = "developer" and region = "europe"' --count
echo "== every segment of xen-users"
measure "count all segments" "$HERALD" segment xen-users --count
