#!/bin/sh
# bench-render.sh - render and compose the summit announcement for 100,000
# subscribers in one process, one thread, no SMTP (build/tools/bench-render).
# Prints the command, messages per second (wall and per CPU second), the
# average size and the peak RSS (which must not grow with N), then the
# instructions per message counted by callgrind (BENCH_CALLGRIND=0: not).
# The load average is printed before and after each run.
set -eu
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$TOP/tests/bench/lib.sh"
N=${N:-100000}
D=$(mktemp -d "${TMPDIR:-/tmp}/bench-render.XXXXXX")
trap 'rm -rf "$D"' EXIT
mkdir -p "$D/etc"
printf 'data_dir = "%s/data"\nlist_dir = "%s/lists"\n' "$D" "$TOP" > "$D/etc/herald.conf"
HERALD_TEMPLATES=$TOP/templates
export HERALD_TEMPLATES
cmd="$BUILD/tools/bench-render $D/etc/herald.conf summit xen-users $N"
echo "command: HERALD_TEMPLATES=$HERALD_TEMPLATES $cmd"
bench_load "before"
$cmd
bench_load "after"
# Instructions per message, which a busy machine does not blur: two runs
# under callgrind, N1 and N2 messages; the difference over N2 - N1 leaves
# out the start-up (loading, compiling, the first renders).
if command -v valgrind >/dev/null 2>&1 && [ "${BENCH_CALLGRIND:-1}" != 0 ]; then
	N1=${N1:-1000} N2=${N2:-3000}
	ir() {
		valgrind --tool=callgrind --callgrind-out-file=/dev/null \
		    "$BUILD/tools/bench-render" "$D/etc/herald.conf" summit \
		    xen-users "$1" 2>&1 >/dev/null |
		    sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
	}
	bench_load "before callgrind"
	i1=$(ir "$N1") i2=$(ir "$N2")
	bench_load "after callgrind"
	echo "command: (valgrind --tool=callgrind $BUILD/tools/bench-render ... N) for N=$N1 and N=$N2"
	echo "instructions per message: $(( (i2 - i1) / (N2 - N1) ))"
fi
