# tests/lib.sh - what every tNNNN-*.sh test sources: a throwaway instance
# (its own herald.conf, data folder and list folder under a temporary
# directory), TAP output, and small assertions.
#
#   . "$TOP/tests/lib.sh"
#   plan 3
#   hinit                      # init a fresh instance with the shipped lists
#   expect 0 herald lists      # exit status, output kept in $out / $err
#   like "$out" 'xen-users'    # grep -E over a string
#   finish
#
# HERALD is the binary under test (set by make); TOP the repo's top.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/.." && pwd)}
HERALD=${HERALD:-$TOP/herald}
BUILD=${BUILD:-$TOP/build}
SHARED=${SHARED:-$TOP/../shared}
PY=/usr/bin/python3
# the test tools of $BUILD (make units): without one, a set-up step that
# uses it fails quietly and the points after it fail for no clear reason
for _tool in "$TOP"/tests/tools/*.c; do
	_tool=$BUILD/tools/$(basename "$_tool" .c)
	[ -x "$_tool" ] || { echo "Bail out! $_tool is missing (make units, or make SANITIZE=1 units for build-asan)"; exit 1; }
done
T=$(mktemp -d "${TMPDIR:-/tmp}/herald-test.XXXXXX")
HERALD_CONFIG=$T/etc/herald.conf
export HERALD_CONFIG
unset HERALD_DEBUG
_n=0
_fail=0
_cleanups=""

# cleanup - run registered cleanups (servers to stop), remove $T
# at_exit CMD - run CMD (a whole command line, e.g. "kill $pid") at exit
_on_exit() {
	printf '%s\n' "$_cleanups" | while IFS= read -r c; do
		[ -z "$c" ] || eval "$c" >/dev/null 2>&1 || true
	done
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap _on_exit EXIT
# a test killed by a signal (a timeout) still stops its servers (a
# PostgreSQL server would outlive it): exit, which runs the EXIT trap
trap 'exit 143' TERM
trap 'exit 130' INT
at_exit() { _cleanups="$_cleanups
$1"; }

plan() { echo "1..$1"; }
finish() {
	[ "$_fail" -eq 0 ] || { echo "# $_fail of $_n failed (instance in $T)"; KEEP=1; exit 1; }
	exit 0
}
ok() {
	_n=$((_n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $_n - $2"; else
		echo "not ok $_n - $2"; _fail=$((_fail + 1))
		[ -z "${out:-}" ] || echo "$out" | sed 's/^/#   out: /' | head -20
		[ -z "${err:-}" ] || echo "$err" | sed 's/^/#   err: /' | head -20
	fi
}
skip() { _n=$((_n + 1)); echo "ok $_n # skip $1"; }

# herald - the binary under test
herald() { "$HERALD" "$@"; }

# expect STATUS CMD… - run CMD, keep stdout in $out and stderr in $err,
# and report whether it exited STATUS
expect() {
	_want=$1; shift
	out=$("$@" 2>"$T/.err"); _rc=$?
	err=$(cat "$T/.err")
	[ "$_rc" -eq "$_want" ] || { echo "#   exit $_rc, wanted $_want: $*"; return 1; }
	return 0
}
# t DESCRIPTION STATUS CMD… - one test point: CMD exits STATUS
t() { _d=$1; shift; expect "$@"; ok $? "$_d"; }
# like TEXT REGEX - TEXT matches the extended regex
# unlike TEXT REGEX - it does not; for both, a regex grep cannot read (its
# status 2) fails the point and says so, never counts as a non-match, and
# so does a regex of several lines (grep would take any one of them)
like() { _grep "$1" "$2"; }
unlike() { _grep "$1" "$2"; case $? in 0) return 1 ;; 1) return 0 ;; *) return 2 ;; esac; }
_grep() {
	case $2 in *"
"*)	# grep takes each line of a pattern as a pattern of its own
		echo "#   a regex of several lines matches any one of them: $2"
		return 2 ;;
	esac
	printf '%s\n' "$1" | grep -Eq -- "$2"; _grc=$?
	[ "$_grc" -le 1 ] || echo "#   grep failed (status $_grc) on the regex: $2"
	return "$_grc"
}

# wait_for SECONDS CMD… - run CMD (output discarded) every 0.1 s until it
# succeeds; after about SECONDS (a whole number) it gives up, says what it
# waited for and returns 1. For waiting on a condition instead of sleeping.
wait_for() {
	_wfn=$(($1 * 10)); shift
	until "$@" >/dev/null 2>&1; do
		[ "$_wfn" -gt 0 ] || { echo "#   wait_for gave up: $*"; return 1; }
		_wfn=$((_wfn - 1)); sleep 0.1
	done
}
# gone PID - the process PID has ended (for wait_for); a child of ours that
# ended but is not waited for yet (a zombie) has ended too
gone() {
	case $(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) in
	Z*|X*|"") return 0 ;;
	esac
	return 1
}
# wait_file SECONDS FILE PID - until FILE exists (a helper's "I am ready"),
# giving up, and saying why, at once if process PID ends first or after
# about SECONDS: a helper that dies never hangs the test
wait_file() {
	wait_for "$1" _file_or_gone "$2" "$3"
	[ -e "$2" ] && return 0
	echo "#   $2 never appeared (process $3 $(gone "$3" && echo ended || echo still runs))"
	return 1
}
_file_or_gone() { [ -e "$1" ] || gone "$2"; }

# make_install DESTDIR - make install PREFIX=/opt/herald DESTDIR=DESTDIR of
# the tree under test, its output in $T/install.log. It may build what is
# out of date (herald, the man pages in $BUILD/man): under a lock in $BUILD,
# so that tests run at once (prove -j) never build or copy the same files
# together.
make_install() {
	mkdir -p "$BUILD"
	flock "$BUILD/.install.lock" make -s -C "$TOP" install PREFIX=/opt/herald \
	    DESTDIR="$1" >"$T/install.log" 2>&1
}
# exists FILE - FILE exists (for wait_for); nonempty FILE - it is not empty
exists() { [ -e "$1" ]; }
nonempty() { [ -s "$1" ]; }
# tamper TOKEN - TOKEN with its last character changed: always to another
# one (a fixed replacement leaves one token in 32 as it was)
tamper() {
	case $1 in
	*a) printf '%sb' "${1%?}" ;;
	*) printf '%sa' "${1%?}" ;;
	esac
}

# write_conf [EXTRA…] - a herald.conf for this instance; EXTRA lines
# appended; STORE_BUSY_TIMEOUT set: store { busy_timeout } (seconds). With HERALD_TEST_STORE=postgresql the store is the test's
# PostgreSQL database (pg_start: "herald" on a private server, or one of
# its own on make test-pg's shared server).
write_conf() {
	mkdir -p "$T/etc" "$T/data"
	[ -d "$T/lists" ] || { mkdir -p "$T/lists"; cp "$TOP"/lists/*.conf "$T/lists/"; }
	[ "$(test_store)" = sqlite ] || pg_fresh
	{
		echo "data_dir = \"$T/data\""
		echo "list_dir = \"$T/lists\""
		echo "domain = \"lists.example.org\""
		if [ "$(test_store)" != sqlite ]; then
			pg_conf_block
		elif [ -n "${STORE_BUSY_TIMEOUT:-}" ]; then
			printf 'store {\n\tbusy_timeout = %s\n}\n' "$STORE_BUSY_TIMEOUT"
		fi
		for l in "$@"; do echo "$l"; done
	} > "$HERALD_CONFIG"
}
# hinit - a fresh, initialised instance with the shipped lists
hinit() { write_conf "$@"; "$HERALD" init >/dev/null || { echo "Bail out! herald init failed"; exit 1; }; }
# sql QUERY - run a query on the instance's database (SQLite or the
# PostgreSQL one: columns joined by "|", NULL as nothing, either way)
sql() {
	if [ "$(test_store)" = sqlite ]; then
		# as the data folder's owner (the Postfix tests give it to
		# nobody, who runs herald pipe): a file root's sqlite3 made
		# beside the database would leave it read-only for nobody
		_sqlu=$(stat -c %U "$T/data" 2>/dev/null)
		if [ "$(id -u)" = 0 ] && [ -n "$_sqlu" ] && [ "$_sqlu" != root ] &&
		    [ "$_sqlu" != UNKNOWN ]; then
			runuser -u "$_sqlu" -- sqlite3 -batch -noheader "$T/data/herald.db" "$1"
		else
			sqlite3 -batch -noheader "$T/data/herald.db" "$1"
		fi
	else
		# a truth value prints as SQLite's 1 or 0 (a text column
		# holding just "t" or "f" would too: herald writes none)
		_sqlo=$(psql -h "$PG_DIR" -U postgres -d "${PG_DB:-herald}" -AtqX \
		    -v ON_ERROR_STOP=1 -c "$1") || return $?
		[ -z "$_sqlo" ] || printf '%s\n' "$_sqlo" | awk -F'|' -v OFS='|' \
		    '{ for (i = 1; i <= NF; i++) if ($i == "t") $i = 1; else if ($i == "f") $i = 0; print }'
	fi
}

# store_path - the store as store_open takes it (the test tools): the
# SQLite file, or "postgresql:" and the conninfo
store_path() {
	if [ "$(test_store)" = sqlite ]; then echo "$T/data/herald.db"
	else echo "postgresql:$(pg_conninfo)"; fi
}
# sql_blob QUERY - the one blob QUERY selects, its bytes on stdout
sql_blob() {
	if [ "$(test_store)" = sqlite ]; then
		sql "SELECT hex(($1))"
	else
		sql "SELECT encode(($1), 'hex')"
	fi | $PY -c 'import sys; sys.stdout.buffer.write(bytes.fromhex(sys.stdin.read().strip()))'
}
# schema_dump - the database's tables, views and indexes as created (to
# compare a schema before and after a change), on either store
schema_dump() {
	if [ "$(test_store)" = sqlite ]; then
		sql "SELECT type, name, sql FROM sqlite_master ORDER BY name"
	else
		sql "SELECT 'index', indexname, indexdef FROM pg_indexes
		    WHERE schemaname = 'public' UNION ALL
		    SELECT 'table', table_name, string_agg(column_name || ' ' ||
		    data_type, ', ' ORDER BY ordinal_position)
		    FROM information_schema.columns WHERE table_schema = 'public'
		    GROUP BY table_name ORDER BY 2"
	fi
}

# index_exists NAME - prints 1 when the index NAME is there, else 0
index_exists() {
	if [ "$(test_store)" = sqlite ]; then
		sql "SELECT count(*) FROM sqlite_schema WHERE name = '$1'"
	else
		sql "SELECT count(*) FROM pg_indexes WHERE indexname = '$1'"
	fi
}
# store_unlocked - no other connection holds a write transaction open
# (SQLite: the write lock is free; PostgreSQL: no transaction of another
# connection has written or locked anything)
store_unlocked() {
	if [ "$(test_store)" = sqlite ]; then
		sqlite3 "$T/data/herald.db" "PRAGMA busy_timeout=0; BEGIN IMMEDIATE; ROLLBACK;" >/dev/null 2>&1
	else
		# (of this database: under make test-pg others share the server)
		[ "$(sql "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a
		    ON a.pid = l.pid WHERE l.locktype = 'transactionid' AND
		    l.pid <> pg_backend_pid() AND a.datname = current_database()")" = 0 ]
	fi
}
# fault_trigger NAME EVENT TABLE CONDITION MESSAGE - from now on a row's
# EVENT ("INSERT", "UPDATE OF state") on TABLE fails with MESSAGE while
# the SQL CONDITION holds (a trigger NAME, on either store);
# fault_trigger_off NAME TABLE ends it
fault_trigger() {
	if [ "$(test_store)" = sqlite ]; then
		sql "CREATE TRIGGER $1 BEFORE $2 ON $3 WHEN ($4) BEGIN SELECT RAISE(ABORT, '$5'); END;"
	else
		sql "CREATE FUNCTION $1() RETURNS trigger LANGUAGE plpgsql AS \$\$
		    BEGIN IF ($4) THEN RAISE EXCEPTION '$5'; END IF;
		    RETURN NEW; END \$\$;
		    CREATE TRIGGER $1 BEFORE $2 ON $3 FOR EACH ROW EXECUTE FUNCTION $1();"
	fi
}
fault_trigger_off() {
	if [ "$(test_store)" = sqlite ]; then sql "DROP TRIGGER $1"
	else sql "DROP TRIGGER $1 ON $2; DROP FUNCTION $1()"; fi
}
# fail_inserts TABLE COUNT MESSAGE - an INSERT into TABLE fails with
# MESSAGE once it holds COUNT rows; fail_inserts_off TABLE ends that
fail_inserts() { fault_trigger boom INSERT "$1" "SELECT count(*) FROM $1) >= ($2" "$3"; }
fail_inserts_off() { fault_trigger_off boom "$1"; }

# ------------------------------------------------------------------
# PostgreSQL (issue 23): test_store, pg_start, pg_restart, pg_stop,
# pg_hold_lock, pg_conninfo, pg_conf_block live in tests/pg.sh (shared
# with the benchmarks)
. "$TOP/tests/pg.sh"
# pg_fresh - the server started; when the data folder is new (a test
# removed it to start again, as it would an SQLite file) the test's
# database is made empty again too
pg_fresh() {
	pg_start
	[ ! -e "$T/data/.pg-database" ] || return 0
	if [ -e "$T/.pg-used" ]; then
		psql -h "$PG_DIR" -U postgres -d postgres -qAtX -c "DROP DATABASE $PG_DB WITH (FORCE)" \
		    -c "CREATE DATABASE $PG_DB" >/dev/null || { echo "Bail out! cannot empty the database"; exit 1; }
	fi
	touch "$T/.pg-used" "$T/data/.pg-database"
}
pg_only() {
	[ "$(test_store)" = sqlite ] || return 0
	echo "1..0 # SKIP $1"; exit 0
}
sqlite_only() {
	[ "$(test_store)" != sqlite ] || return 0
	echo "1..0 # SKIP $1"; exit 0
}

# free_port - an unused TCP port on 127.0.0.1, for a server this test
# starts later. What must stay true: nothing else takes it meanwhile.
# - It is below the kernel's ephemeral range (ip_local_port_range), so
#   no outgoing connection of a test running beside this one can take
#   it as its local port: in a CI run, a smtp-sink started 4 s after its
#   port was picked found 56843 so taken and never listened (t0433).
# - It is claimed, for as long as this test's shell lives, by a file in
#   HERALD_PORT_DIR (/tmp/herald-test-ports) holding that shell's pid:
#   two tests never pick one port, even when the first has not bound it
#   yet (a claim whose shell is gone is taken over).
# A machine whose ephemeral range starts below 3072 gets a port of the
# kernel's choice, as before.
free_port() {
	$PY - "${HERALD_PORT_DIR:-/tmp/herald-test-ports}" "$$" <<'PYEOF'
import os, random, socket, sys
d, owner = sys.argv[1], int(sys.argv[2])
low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
def bindable(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
        return True
    except OSError:
        return False
    finally:
        s.close()
def alive(path):
    try:
        os.kill(int(open(path).read() or 0), 0)
        return True
    except (ValueError, ProcessLookupError, FileNotFoundError):
        return False
    except PermissionError:
        return True
if low < 3072:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); sys.exit(0)
os.makedirs(d, exist_ok=True)
try:
    os.chmod(d, 0o1777)
except OSError:
    pass
ports = list(range(max(1024, low - 12000), low))
random.shuffle(ports)
for p in ports:
    path = os.path.join(d, str(p))
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        if alive(path):
            continue
        try:
            os.unlink(path)	# its test is over: claim it anew
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except (FileNotFoundError, FileExistsError):
            continue	# another test was quicker
    if not bindable(p):
        os.close(fd)
        os.unlink(path)
        continue
    os.write(fd, str(owner).encode())
    os.close(fd)
    print(p)
    sys.exit(0)
sys.exit("free_port: no free port below %d" % low)
PYEOF
}
