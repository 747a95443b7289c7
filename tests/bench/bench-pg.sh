#!/bin/sh
# bench-pg.sh - PostgreSQL beside SQLite in one run (issue 23), the same
# commands on two instances that differ only in their store: one an
# SQLite file, the other a database on a private PostgreSQL server
# (tests/bench/lib.sh's bench_pg: a temp folder, unix socket only, fsync
# on, stopped on exit). ROUNDS (3) rounds, alternated (SQLite first in
# odd rounds, PostgreSQL first in even ones), the load average printed
# around each run.
#  send:  herald send of a campaign to N (20,000) subscribers against
#         Postfix's smtp-sink over CONN (4) connections, timed as a whole
#         command (bench_timed): messages/s per store and the ratio
#         PostgreSQL / SQLite (target: median >= 0.85), CPU per message
#         and peak RSS beside (CPU: herald's own, the PostgreSQL
#         backends' serving it, sampled from /proc: bench_pg_cpu, and
#         smtp-sink's, from /proc around the command).
#  serve: herald serve on each instance (SUBS, 1,000,000 subscribers),
#         wrk -c C (200) for DUR (10) s of one-click POSTs, each for a
#         different subscriber (tests/bench/one-click.lua): POST/s,
#         p50/p99, errors, and every 200 committed (the unsubscribed
#         count grew by the 200s wrk saw: lost = 200s - new rows).
#         Targets on PostgreSQL: >= 10,000 POST/s, p99 < 50 ms, 0 lost.
#         CPU per POST of herald serve and of its PostgreSQL backends.
# PARTS ("send serve") picks the parts. HERALD_B (a second herald
# binary, say the build before a change) makes the serve part A/B: each
# store's rounds run herald serve of HERALD (A) and of HERALD_B (B) in
# turn on the same instance (A first in odd rounds), each on its own
# subscribers, so a change is measured against the old binary under the
# same load.
# OLD=PATH (send): another herald binary (say, the one before a change)
#         sends too, on instances of its own, in the same rounds: each
#         round runs both binaries on both stores, in alternated order,
#         and prints the ratio per binary.
# PG_STATS=1 (send): the server loads pg_stat_statements, and after each
#         PostgreSQL send the statements are listed by total execution
#         time: calls, calls a message, execution µs a message (the
#         server's own timing: parse, network and commit waits are
#         outside it; the CPU a message above has them).
#
#   sh tests/bench/bench-pg.sh
#   N=5000 SUBS=100000 DUR=5 ROUNDS=1 sh tests/bench/bench-pg.sh   (quick)
#   PARTS=send N=10000 ROUNDS=3 OLD=/tmp/old/herald sh tests/bench/bench-pg.sh
set -eu
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$TOP/tests/bench/lib.sh"
N=${N:-20000}
SUBS=${SUBS:-1000000}
CONN=${CONN:-4}
C=${C:-200}
DUR=${DUR:-10}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-3}
PARTS=${PARTS:-send serve}
OLD=${OLD:-}
PG_STATS=${PG_STATS:-}
echo "bench-pg.sh: N=$N SUBS=$SUBS CONN=$CONN C=$C DUR=$DUR THREADS=$THREADS ROUNDS=$ROUNDS PARTS='$PARTS' HERALD=$HERALD${OLD:+ OLD=$OLD}${PG_STATS:+ PG_STATS=$PG_STATS}"
T=$(mktemp -d "${TMPDIR:-/tmp}/bench-pg.XXXXXX")
sink= sp_sqlite= sp_postgresql=
cleanup() {
	for p in $sink $sp_sqlite $sp_postgresql; do kill "$p" 2>/dev/null || true; done
	bench_stop
	wait 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT INT TERM PIPE	# PIPE: a reader such as head gone
HERALD_TEMPLATES=$TOP/templates
export HERALD_TEMPLATES
bench_pg

TICK=$(getconf CLK_TCK)

# order R - the two stores in round R's order
order() { if [ $(($1 % 2)) = 1 ]; then echo "sqlite postgresql"; else echo "postgresql sqlite"; fi; }

# send_instance KIND [B] - the send instance of store KIND for binary B
# (new: $HERALD, the default; old: $OLD) in $T/send-KIND (send-old-KIND),
# N subscribers imported from $T/subs.csv
send_instance() {
	_d=$T/send-$1 _h=$HERALD
	[ "${2:-new}" = new ] || _d=$T/send-old-$1 _h=$OLD
	mkdir -p "$_d/etc"
	cat > "$_d/etc/herald.conf" <<CONF
data_dir = "$_d/data"
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
	bench_store "$_d" "$1"
	HERALD_CONFIG=$_d/etc/herald.conf "$_h" init >/dev/null
	HERALD_CONFIG=$_d/etc/herald.conf "$_h" sub import xen-users "$T/subs.csv" >/dev/null
}

# pg_stats start|DIR SENT - pg_stat_statements emptied (start), or the
# statements of DIR's database since then, by total execution time,
# per message of SENT
pg_stats() {
	[ -n "$PG_STATS" ] || return 0
	if [ "$1" = start ]; then
		psql -h "$PG_DIR" -U postgres -d postgres -qAtX -c "SELECT pg_stat_statements_reset()" >/dev/null
		return
	fi
	echo "      statements (pg_stat_statements): calls, calls a message, execution us a message, rows a call, SQL"
	psql -h "$PG_DIR" -U postgres -d postgres -qAtX -F ' ' -c "SELECT to_char(calls, '9999999'),
	    to_char(calls / $2.0, '990.999'), to_char(total_exec_time * 1000 / $2, '99990.9'),
	    to_char(rows / greatest(calls, 1.0), '9990.9'), left(regexp_replace(query, '\s+', ' ', 'g'), 110)
	    FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = '$(cat "$1/.pgdb")')
	    ORDER BY total_exec_time DESC LIMIT 25" | sed 's/^/       /'
}

part_send() {
	bench_sink
	bench_relay_subs "$T/subs.csv" "$N"
	bins=new
	[ -z "$OLD" ] || bins="new old"
	for b in $bins; do for k in sqlite postgresql; do send_instance $k $b; done; done
	if [ -n "$PG_STATS" ]; then
		psql -h "$PG_DIR" -U postgres -d postgres -qAtX -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
	fi
	cmd="herald send summit --list xen-users --segment users --segment developers --yes --json --again"
	echo "== send: $N subscribers, $CONN connections to smtp-sink, $ROUNDS rounds alternated"
	echo "  command (each store's HERALD_CONFIG): $cmd"
	[ -z "$OLD" ] || echo "  binaries: new $HERALD, old $OLD"
	r=1 ratios= ratios_old=
	while [ "$r" -le "$ROUNDS" ]; do
		echo "  round $r:"
		rb=$bins
		[ $((r % 2)) = 1 ] || [ -z "$OLD" ] || rb="old new"
		for b in $rb; do for k in $(order $r); do
			d=$T/send-$k h=$HERALD
			[ $b = new ] || d=$T/send-old-$k h=$OLD
			bench_load "before $b $k"
			HERALD_CONFIG=$d/etc/herald.conf; export HERALD_CONFIG
			[ $k = sqlite ] || { pg_stats start; bench_pg_cpu "$d" start; }
			s0=$(awk '{ print $14 + $15 }' "/proc/$sink/stat")
			# shellcheck disable=SC2086
			bench_timed "$d" "$h" ${cmd#herald }
			s1=$(awk '{ print $14 + $15 }' "/proc/$sink/stat")
			pgcpu=0
			[ $k = sqlite ] || bench_pg_cpu "$d" stop
			sent=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["sent"])' "$d.out")
			eval "rate_${b}_$k=$(bench_per_s "$sent" "$wall")"
			printf '    %-15s %6s msg/s whole command (%s sent in %.2f s), CPU a message: herald %.0f us + PostgreSQL %.0f us + smtp-sink %.0f us, peak RSS %d MB\n' \
			    "$b $k:" "$(bench_per_s "$sent" "$wall")" "$sent" "$wall" \
			    "$(echo "$cpu * 1000000 / $sent" | bc -l)" "$(echo "$pgcpu * 1000000 / $sent" | bc -l)" \
			    "$(echo "($s1 - $s0) * 1000000 / $TICK / $sent" | bc -l)" "$((rss / 1024))"
			[ $k = sqlite ] || pg_stats "$d" "$sent"
		done; done
		# shellcheck disable=SC2154
		ratio=$(echo "scale=3; $rate_new_postgresql / $rate_new_sqlite" | bc)
		ratios="$ratios $ratio"
		printf '    ratio PostgreSQL / SQLite: %.2f' "$ratio"
		if [ -n "$OLD" ]; then
			# shellcheck disable=SC2154
			ratio=$(echo "scale=3; $rate_old_postgresql / $rate_old_sqlite" | bc)
			ratios_old="$ratios_old $ratio"
			printf ' (old binary: %.2f)' "$ratio"
		fi
		echo
		r=$((r + 1))
	done
	bench_load "after"
	# shellcheck disable=SC2086
	printf '== send, PostgreSQL / SQLite whole-command rate: median %.2f of%s (target >= 0.85)\n' \
	    "$(bench_median $ratios)" "$ratios"
	# shellcheck disable=SC2086
	[ -z "$OLD" ] || printf '== send, the old binary: median %.2f of%s\n' "$(bench_median $ratios_old)" "$ratios_old"
	kill "$sink"; sink=
}

# serve_instance KIND - the serve instance of store KIND in $T/serve-KIND
# with SUBS subscribers, its herald serve started (pid in sp_KIND, port
# in port_KIND)
serve_instance() {
	bench_instance "$T/serve-$1" "$1"
	cat >> "$T/serve-$1/etc/herald.conf" <<EOC
web {
	base_url = "https://lists.example.org"
	threads = $THREADS
	max_connections = 1024
	per_ip_connections = 1024
	ip_rate = 100000000
	token_rate = 1000
}
EOC
	bench_members "$T/serve-$1" "$SUBS"
	eval "port_$1=$(bench_port)"
	serve_run "$1" "$HERALD"
}

# serve_run KIND BIN - herald serve (binary BIN) on KIND's instance and
# port, after the one running there (if any) stopped
serve_run() {
	eval "_sp=\${sp_$1:-} _p=\$port_$1"
	[ -z "$_sp" ] || { kill -TERM "$_sp"; wait "$_sp" 2>/dev/null || true; }
	HERALD_CONFIG=$T/serve-$1/etc/herald.conf "$2" serve --listen "127.0.0.1:$_p" 2>>"$T/serve-$1.log" &
	eval "sp_$1=$!"
	i=0; while [ $i -lt 100 ] && ! curl -sf -o /dev/null "http://127.0.0.1:$_p/health"; do sleep 0.1; i=$((i + 1)); done
}

# bins R - the binaries of round R in order (A first in odd rounds)
bins() {
	if [ -z "${HERALD_B:-}" ]; then echo "$HERALD"
	elif [ $(($1 % 2)) = 1 ]; then echo "$HERALD $HERALD_B"
	else echo "$HERALD_B $HERALD"; fi
}

# unsubscribed KIND - how many memberships KIND's store has unsubscribed
unsubscribed() {
	bench_sql "$T/serve-$1" "SELECT count(*) FROM memberships WHERE status = 'unsubscribed'"
}

part_serve() {
	for k in sqlite postgresql; do serve_instance $k; done
	nb=1; [ -z "${HERALD_B:-}" ] || nb=2
	per=$((SUBS / ROUNDS / nb))
	echo "== serve: one-click POSTs, $SUBS subscribers, $ROUNDS rounds alternated, each run its own $per subscribers"
	[ $nb = 1 ] || echo "  A/B: A = $HERALD, B = $HERALD_B, alternated within each store"
	echo "  command: TOKENS=FILE WRK_THREADS=$THREADS wrk -t$THREADS -c$C -d${DUR}s --latency -s tests/bench/one-click.lua http://127.0.0.1:PORT"
	r=1 ratios= s_sqlite=0 s_postgresql=0
	while [ "$r" -le "$ROUNDS" ]; do
		echo "  round $r:"
		for k in $(order $r); do
		for bin in $(bins $r); do
			[ $nb = 1 ] || serve_run "$k" "$bin"
			label=$k; [ $nb = 1 ] || { [ "$bin" = "$HERALD" ] && label="$k A" || label="$k B"; }
			eval "_p=\$port_$k"
			# each store's runs take its subscribers in slices
			eval "s=\$s_$k; s_$k=\$((s + 1))"
			"$BUILD/tools/herald-token" "$T/serve-$k/data/secret" u xen-users \
			    "$((s * per + 1))..$(((s + 1) * per))" > "$T/tokens"
			u0=$(unsubscribed $k)
			eval "_sp=\$sp_$k"
			c0=$(awk '{ print $14 + $15 }' "/proc/$_sp/stat")
			[ $k = sqlite ] || bench_pg_cpu "$T/serve-$k" start
			bench_load "before $k"
			# wrk run by a python that reads its CPU time (getrusage)
			TOKENS=$T/tokens WRK_THREADS=$THREADS $PY -c '
import resource, subprocess, sys
with open(sys.argv[1], "wb") as o: rc = subprocess.call(sys.argv[3:], stdout=o)
u = resource.getrusage(resource.RUSAGE_CHILDREN)
open(sys.argv[2], "w").write("%.3f\n" % (u.ru_utime + u.ru_stime))
sys.exit(rc)' "$T/wrk.out" "$T/wrk.cpu" wrk -t"$THREADS" -c"$C" -d"${DUR}s" --latency \
			    -s "$TOP/tests/bench/one-click.lua" "http://127.0.0.1:$_p"
			sleep 1	# the requests in flight when wrk stopped finish first
			pgcpu=0
			[ $k = sqlite ] || bench_pg_cpu "$T/serve-$k" stop
			c1=$(awk '{ print $14 + $15 }' "/proc/$_sp/stat")
			eval "$(sed -n 's/^RESULT //p' "$T/wrk.out" | tr ' ' '\n' | sed 's/^/W_/')"
			oks=$((W_requests - W_non2xx))
			new=$(($(unsubscribed $k) - u0))
			rps=$(sed -n 's/^Requests\/sec: *//p' "$T/wrk.out")
			if [ "$bin" = "$HERALD" ]; then eval "rps_$k=$rps"; fi
			printf '    %-13s %8.0f POST/s, p50 %s ms, p99 %s ms, non-2xx %s, socket errors %s, %s answered 200, %s committed (lost %s)\n' \
			    "$label:" "$rps" "$W_p50" "$W_p99" "$W_non2xx" "$W_sockerr" "$oks" "$new" "$((oks > new ? oks - new : 0))"
			printf '                  CPU a POST: herald serve %.0f us + PostgreSQL %.0f us (+ wrk %.0f us)\n' \
			    "$(echo "($c1 - $c0) * 1000000 / $TICK / $W_requests" | bc -l)" "$(echo "$pgcpu * 1000000 / $W_requests" | bc -l)" \
			    "$(echo "$(cat "$T/wrk.cpu") * 1000000 / $W_requests" | bc -l)"
		done
		done
		# shellcheck disable=SC2154
		ratio=$(echo "scale=3; $rps_postgresql / $rps_sqlite" | bc)
		ratios="$ratios $ratio"
		printf '    ratio PostgreSQL / SQLite%s: %.2f\n' "$([ $nb = 1 ] || echo ' (A)')" "$ratio"
		r=$((r + 1))
	done
	bench_load "after"
	# shellcheck disable=SC2086
	printf '== serve one-click, PostgreSQL / SQLite POST/s: median %.2f of%s (targets on PostgreSQL: >= 10,000 POST/s, p99 < 50 ms, 0 lost)\n' \
	    "$(bench_median $ratios)" "$ratios"
}

for part in $PARTS; do "part_$part"; done
