#!/bin/sh
# bench-schedule.sh - what making a scheduled campaign costs: herald send
# --at (the snapshot of the recipients, written held, and the schedule)
# for N subscribers (half users, half developers) on STORE (postgresql by
# default, where an UPDATE rewrites every row it touches), timed as a
# whole command, ROUNDS alternated rounds; with OLD (another herald
# binary), OLD and this one alternate within each round, each on its own
# database. Nothing is sent: the start is years away.
#
#   sh tests/bench/bench-schedule.sh        N=100000 ROUNDS=3 STORE=postgresql [OLD=bin]
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
STORE=${STORE:-postgresql}
. "$TOP/tests/bench/lib.sh"
N=${N:-100000}
ROUNDS=${ROUNDS:-3}
OLD=${OLD:-}
T=$(mktemp -d "${TMPDIR:-/tmp}/herald-bench.XXXXXX")
trap 'bench_stop; rm -rf "$T"' EXIT INT TERM
HERALD_TEMPLATES=$TOP/templates; export HERALD_TEMPLATES
bench_relay_subs "$T/subs.csv" "$N"
bins=new
[ -z "$OLD" ] || bins="new old"
# bin B - the herald binary of B (new: HERALD, old: OLD)
bin() { if [ "$1" = new ]; then echo "$HERALD"; else echo "$OLD"; fi; }
for b in $bins; do
	bench_instance "$T/$b" "$STORE"
	"$(bin $b)" init >/dev/null
	"$(bin $b)" sub import xen-users "$T/subs.csv" >/dev/null
	[ "$STORE" = sqlite ] || bench_sql "$T/$b" "ANALYZE" >/dev/null
done
cmd="herald send summit --list xen-users --segment users --segment developers --yes --json --again --at \"2030-09-01 09:00\""
echo "bench-schedule.sh: N=$N ROUNDS=$ROUNDS STORE=$STORE HERALD=$HERALD${OLD:+ OLD=$OLD}"
echo "  command (each binary on its own database): $cmd"
r=1
while [ "$r" -le "$ROUNDS" ]; do
	order=$bins
	[ $((r % 2)) = 1 ] || [ -z "$OLD" ] || order="old new"
	for b in $order; do
		HERALD_CONFIG=$T/$b/etc/herald.conf; export HERALD_CONFIG
		bench_load "before round $r, $b"
		bench_timed "$T/$b/run" "$(bin $b)" send summit --list xen-users \
		    --segment users --segment developers --yes --json --again \
		    --at "2030-09-01 09:00"
		printf '  round %d, %s: %.2f s whole command, herald CPU %.2f s\n' \
		    "$r" "$b" "$wall" "$cpu"
	done
	r=$((r + 1))
done
