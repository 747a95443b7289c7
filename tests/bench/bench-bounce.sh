#!/bin/sh
# bench-bounce.sh - "herald bounce scan" over the whole bounce corpus:
# messages per second on one core (target: over 5,000/s). Prints the
# command and the figure; ROUNDS passes (default 20) are timed together
# so process start-up is a small part of the figure; the load average
# is printed before and after them.

TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$TOP/tests/bench/lib.sh"
CORPUS=${CORPUS:-$TOP/../shared/corpus/bounces}
ROUNDS=${ROUNDS:-20}

cd "$CORPUS" || exit 1
files=$(tail -n +2 expected.tsv | cut -f1)
n=$(echo "$files" | wc -l)
cmd="taskset -c 0 $HERALD bounce scan \$(tail -n +2 expected.tsv | cut -f1)"
command -v taskset >/dev/null || cmd=${cmd#taskset -c 0 }
echo "command: (cd $CORPUS && $cmd) x $ROUNDS"
bench_load "before the $ROUNDS passes"
start=$(date +%s.%N)
i=0
while [ $i -lt "$ROUNDS" ]; do
	# shellcheck disable=SC2086
	eval "$cmd" >/dev/null || exit 1
	i=$((i + 1))
done
end=$(date +%s.%N)
bench_load "after them"
awk -v n="$n" -v r="$ROUNDS" -v s="$start" -v e="$end" 'BEGIN {
	t = e - s; m = n * r; rate = m / t
	verdict = (rate > 5000) ? "met" : "missed"
	printf "bounce scan: %d messages in %.3f s: %.0f messages/s (target 5000/s: %s)\n", m, t, rate, verdict
}'
