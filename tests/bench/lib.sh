# tests/bench/lib.sh - what the benchmark scripts share, sourced once
# they have set TOP: the programs (HERALD, BUILD, PY), a free port,
# Postfix's smtp-sink, an instance with a large database made in one SQL
# statement, the rate herald send reports; and the two things every
# benchmark does alike: print the load average around each round
# (bench_load) and time each side of a comparison as a whole command
# (bench_timed). It is no benchmark itself (make bench leaves it out).
#
# What must stay true: it sets up and times, it measures nothing on its
# own; both sides of a comparison go through the same bench_timed;
# everything it makes is under the folder the script made (and removes
# in its trap), and a process it starts is left for the script's trap to
# stop.

HERALD=${HERALD:-$TOP/herald}
BUILD=${BUILD:-$TOP/build}
PY=/usr/bin/python3
# STORE=postgresql: the instances keep their data in a private PostgreSQL
# server (tests/pg.sh), one database per instance; sqlite (the default):
# in DIR/data/herald.db
STORE=${STORE:-sqlite}
_bench_stops=

# at_exit CMD - what tests/pg.sh's pg_start registers (the server's stop):
# kept for bench_stop, which the script's trap calls
at_exit() { _bench_stops="$_bench_stops
$1"; }

# bench_stop - stop what at_exit registered (the PostgreSQL server); the
# script's EXIT trap calls it
bench_stop() {
	[ -z "${_pgcpu_pid:-}" ] || kill "$_pgcpu_pid" 2>/dev/null || true
	[ -z "$_bench_stops" ] || eval "$_bench_stops" >/dev/null 2>&1 || true
	_bench_stops=
}

# bench_pg - the private PostgreSQL server started (once), set as a
# server for a benchmark rather than for the tests: fsync on (a commit is
# on disk when herald hears of it, as SQLite's WAL file is at its
# checkpoints), shared_buffers PG_BUFFERS (256MB), 300 connections; its
# settings printed
bench_pg() {
	[ -z "${PG_DIR:-}" ] || return 0
	. "$TOP/tests/pg.sh"
	pg_start
	printf 'fsync = %s\nshared_buffers = %s\nmax_connections = 300\n' \
	    "${PG_FSYNC:-on}" "${PG_BUFFERS:-256MB}" >> "$PG_DIR/d/postgresql.conf"
	# PG_STATS=1: pg_stat_statements loaded (bench-pg.sh lists statements)
	[ -z "${PG_STATS:-}" ] || printf "shared_preload_libraries = 'pg_stat_statements'\npg_stat_statements.track = all\n" \
	    >> "$PG_DIR/d/postgresql.conf"
	pg_restart restart || { cat "$PG_DIR/log"; echo "bench: PostgreSQL did not restart"; exit 1; }
	echo "  PostgreSQL $("$PG_BIN/postgres" --version | awk '{ print $3 }') in $PG_DIR (unix socket only):" \
	    "fsync=${PG_FSYNC:-on} synchronous_commit=on shared_buffers=${PG_BUFFERS:-256MB}"
}

# bench_store DIR [KIND] - DIR's instance keeps its data in KIND
# (sqlite or postgresql; STORE by default): for postgresql a database of
# its own (named after DIR) on the private server, whose store { }
# section is appended to DIR/etc/herald.conf; the kind in DIR/.store
bench_store() {
	_k=${2:-$STORE}
	echo "$_k" > "$1/.store"
	[ "$_k" = postgresql ] || return 0
	bench_pg
	_db=b_$(basename "$1" | tr 'A-Z' 'a-z' | tr -c 'a-z0-9_\n' _)
	psql -h "$PG_DIR" -U postgres -d postgres -qAtX -c "CREATE DATABASE $_db" >/dev/null
	echo "$_db" > "$1/.pgdb"
	pg_conf_block "$_db" >> "$1/etc/herald.conf"
}

# bench_pg_cpu DIR start|stop - the CPU time (user + system, seconds) of
# the PostgreSQL backends serving DIR's database between start and stop:
# start samples /proc every 0.1 s in the background (a backend's last
# sample counts when its connection ends, so a figure may miss up to
# 0.1 s of each); a backend already there at start (herald serve keeps
# its connections from round to round) counts from its CPU then, not
# from its birth; stop ends the sampler and sets pgcpu
bench_pg_cpu() {
	if [ "$2" = start ]; then
		$PY - "$(cat "$1/.pgdb")" "$1/.pgcpu" <<'PYEOF' &
import os, sys, time
db, out = sys.argv[1], sys.argv[2]
tick = os.sysconf("SC_CLK_TCK"); seen = {}; base = None
def sample():
    global base
    for p in os.listdir("/proc"):
        if not p.isdigit(): continue
        try:
            cmd = open("/proc/%s/cmdline" % p, "rb").read().decode(errors="replace")
            if not cmd.startswith("postgres: ") or (" %s " % db) not in cmd: continue
            f = open("/proc/%s/stat" % p).read().rsplit(")", 1)[1].split()
            seen[p] = (int(f[11]) + int(f[12])) / tick
        except OSError: pass
    if base is None: base = dict(seen)
    with open(out + ".tmp", "w") as o:
        o.write("%.3f\n" % sum(v - base.get(p, 0) for p, v in seen.items()))
    os.replace(out + ".tmp", out)
while not os.path.exists(out + ".stop"):
    sample(); time.sleep(0.1)
sample()
PYEOF
		_pgcpu_pid=$!
		# the first sample (the base) taken before the run starts
		_i=0; while [ $_i -lt 50 ] && [ ! -e "$1/.pgcpu" ]; do sleep 0.1; _i=$((_i + 1)); done
	else
		touch "$1/.pgcpu.stop"; wait "$_pgcpu_pid" 2>/dev/null || true
		_pgcpu_pid=
		pgcpu=$(cat "$1/.pgcpu" 2>/dev/null || echo 0)
		rm -f "$1/.pgcpu" "$1/.pgcpu.stop"
	fi
}

# bench_sql DIR SQL - run SQL on DIR's instance's store (sqlite3 on the
# file, psql on its database), the rows on stdout ('|' between columns)
bench_sql() {
	if [ "$(cat "$1/.store" 2>/dev/null || echo sqlite)" = postgresql ]; then
		psql -h "$PG_DIR" -U postgres -d "$(cat "$1/.pgdb")" -qAtX -c "$2"
	else
		sqlite3 "$1/data/herald.db" "$2"
	fi
}

# bench_port - an unused TCP port on 127.0.0.1
bench_port() {
	$PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# bench_sink - Postfix's smtp-sink on a free port: PORT, its pid in sink
bench_sink() {
	PORT=$(bench_port)
	/usr/sbin/smtp-sink -u "$(id -un)" "127.0.0.1:$PORT" 1024 &
	sink=$!
}

# bench_instance DIR [KIND] - an instance in DIR: DIR/etc/herald.conf (exported
# as HERALD_CONFIG; the script may add to it before bench_members), the
# data in DIR/data, and xen-users in DIR/lists with its goodbye notices
# off (no SMTP is timed); its store KIND (STORE by default, bench_store)
bench_instance() {
	mkdir -p "$1/etc" "$1/lists"
	sed 's/^goodbye_notice = true/goodbye_notice = false/' "$TOP/lists/xen-users.conf" > "$1/lists/xen-users.conf"
	printf 'data_dir = "%s/data"\nlist_dir = "%s/lists"\n' "$1" "$1" > "$1/etc/herald.conf"
	bench_store "$1" "${2:-$STORE}"
	HERALD_CONFIG=$1/etc/herald.conf; export HERALD_CONFIG
}

# bench_members DIR N - herald init for the instance in DIR, then N
# active subscribers on xen-users, ids 1 to N, userID@example.test
bench_members() {
	"$HERALD" init >/dev/null
	if [ "$(cat "$1/.store")" = postgresql ]; then
		echo "database: $2 subscribers on xen-users (PostgreSQL, one insert from generate_series)"
		_n="generate_series(1, $2) AS n(i)"
	else
		echo "database: $2 subscribers on xen-users (sqlite3 recursive insert)"
		_n="n"
	fi
	bench_sql "$1" "INSERT INTO lists(name) VALUES ('xen-users');
	    $([ "$_n" = n ] && echo "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $2)")
	    INSERT INTO subscribers(id, email, email_key)
	    SELECT i, 'user' || i || '@example.test', 'user' || i || '@example.test' FROM $_n;
	    INSERT INTO memberships(list_id, subscriber_id, status) SELECT 1, id, 'active' FROM subscribers;" >/dev/null
	[ "$(cat "$1/.store")" = sqlite ] || bench_sql "$1" "ANALYZE" >/dev/null
}

# bench_rate FILE - herald's internal sending rate (messages/s) in herald
# send --json's summary in FILE: run.rate, whose clock starts after
# start-up, the campaign's creation and the queueing of its rows, so it
# is no match for another program's whole-command rate (bench_timed)
bench_rate() {
	$PY -c 'import json,sys; print("%.0f" % json.load(open(sys.argv[1]))["run"]["rate"])' "$1"
}

# bench_relay_sinks - four smtp-sinks on free ports, the relays of the
# relay benchmarks: their ports in ports, their pids added to sinks
bench_relay_sinks() {
	ports=
	for i in 1 2 3 4; do
		bench_sink
		sinks="$sinks $sink"
		ports="$ports $PORT"
	done
}

# bench_relay_config FILE DATA CONN - a herald.conf in FILE with its data
# in DATA, the shipped lists, batch 200 and one relay NAME { } section of
# weight 1 and CONN connections per port in ports; exported as
# HERALD_CONFIG, with HERALD_TEMPLATES the shipped templates
bench_relay_config() {
	mkdir -p "$(dirname "$1")"
	{
		echo "data_dir = \"$2\""
		echo "list_dir = \"$TOP/lists\""
		echo "send { batch = 200 }"
		i=1
		for p in $ports; do
			echo "relay r$i { host = \"127.0.0.1\" port = $p starttls = \"off\" connections = $3 }"
			i=$((i + 1))
		done
	} > "$1"
	HERALD_CONFIG=$1; HERALD_TEMPLATES=$TOP/templates
	export HERALD_CONFIG HERALD_TEMPLATES
}

# bench_relay_subs FILE N - a CSV of N subscribers of the us-east region
# over 97 domains, half users and half developers
bench_relay_subs() {
	$PY - "$1" "$2" <<'PYEOF'
import sys
with open(sys.argv[1], "w") as f:
    f.write("email,name,role,region\n")
    for i in range(1, int(sys.argv[2]) + 1):
        f.write("person%d@example%d.org,Person %d,%s,us-east\n"
                % (i, i % 97, i, "user" if i % 2 else "developer"))
PYEOF
}

# bench_load WHEN - print the load average (/proc/loadavg: 1, 5 and 15
# minutes) and the CPU count, labelled WHEN ("before round 1", ...): a
# figure is read beside the load it was taken under
bench_load() {
	echo "  load average $1: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
}

# bench_timed PREFIX CMD... - run CMD as a whole command and time it from
# exec to exit (Python's perf_counter around the fork, exec and wait; the
# timer's own start-up is outside): CMD's stdout in PREFIX.out, its stderr
# in PREFIX.err. Sets wall (seconds), cpu (user + system seconds of CMD
# and every descendant it waited for), rss (the largest peak RSS of
# them, kB) and user_cpu (their user seconds alone, what openssl speed
# divides by). Every side of a comparison is timed through here, so both
# are timed the same way. Returns CMD's status (its stderr's tail shown).
bench_timed() {
	_p=$1; shift
	$PY -c '
import resource, subprocess, sys, time
p = sys.argv[1]
with open(p + ".out", "wb") as o, open(p + ".err", "wb") as e:
    t0 = time.perf_counter()
    rc = subprocess.call(sys.argv[2:], stdout=o, stderr=e)
    t1 = time.perf_counter()
u = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(p + ".time", "w") as f:
    f.write("%.6f %.6f %d %.6f\n" % (t1 - t0, u.ru_utime + u.ru_stime, u.ru_maxrss,
        u.ru_utime))
sys.exit(rc)' "$_p" "$@" || {
		_rc=$?
		echo "  failed ($_rc): $*"
		tail -3 "$_p.err" | sed 's/^/    /'
		return $_rc
	}
	read -r wall cpu rss user_cpu < "$_p.time"
}

# bench_per_s COUNT SECONDS - COUNT / SECONDS, rounded
bench_per_s() {
	awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'
}

# bench_median X... - the median of the numbers X
bench_median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
