#!/bin/sh
# bench-vs.sh OLD NEW BENCH [ROUNDS] - one benchmark script of this folder
# run for two herald binaries in turn, OLD NEW OLD NEW … (alternated, in
# one run, so the machine's drift falls on both), ROUNDS times each
# (default 3). Each run's figure lines (those matching FIGURES, by default
# the "== …" summaries, whole-command rates, medians and ratios the
# script prints beside its anchor's) are printed tagged with the binary,
# with the load average before and after; the variables the script reads
# (N, SUBS, DUR…) pass through. Used for "no median worse by more than
# 5%" across a change: compare the medians of the OLD and NEW lines.
# Not run by "make bench" (it needs two binaries).
set -u
[ $# -ge 3 ] || { echo "usage: bench-vs.sh OLD NEW BENCH [ROUNDS]" >&2; exit 64; }
OLD=$1 NEW=$2 BENCH=$3 ROUNDS=${4:-3}
FIGURES=${FIGURES:-'^==|whole command|median|ratio|herald / mlmmj|LMTP / pipe'}
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
export TOP
echo "# bench-vs: $BENCH, $ROUNDS rounds each, OLD=$OLD NEW=$NEW"
r=1
while [ $r -le "$ROUNDS" ]; do
	for side in OLD NEW; do
		if [ $side = OLD ]; then bin=$OLD; else bin=$NEW; fi
		echo "# round $r $side: load $(cut -d' ' -f1-3 /proc/loadavg)"
		HERALD=$bin ROUNDS=1 sh "$TOP/tests/bench/$BENCH" 2>&1 |
		    grep -E "$FIGURES" | sed "s/^/$side r$r /"
	done
	r=$((r + 1))
done
echo "# bench-vs: done, load $(cut -d' ' -f1-3 /proc/loadavg)"
