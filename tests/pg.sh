# tests/pg.sh - a private PostgreSQL server for the tests and the
# benchmarks, sourced by tests/lib.sh and tests/bench/lib.sh (one copy of
# the start-up code): a cluster made once per build by initdb
# ($BUILD/pg-template, under a lock), copied per run into its own
# folder, listening on a unix socket there only; or, under make test-pg
# (tests/pg-pass.sh), one database per test on the pass's shared server.
#
# What must stay true: the server never listens on TCP; the caller has
# set BUILD and defines at_exit CMD, and pg_start registers the server's
# stop and its folder's removal through it, so nothing outlives the run.

# PostgreSQL (issue 23). test_store - "sqlite" or "postgresql"
# (HERALD_TEST_STORE). pg_start - a private server for this test: a copy
# of a cluster initdb made once per build ($BUILD/pg-template, under a
# lock), started in its own folder ($PG_DIR, owned by the postgres user
# when we are root: initdb refuses root) listening on a unix socket
# there only, trust authentication, stopped at exit; database "herald"
# created. pg_stop / pg_restart - for the fault tests.
# Under make test-pg one server serves the whole pass (tests/pg-pass.sh
# starts it, stops it at the end and exports its folder as
# HERALD_PG_SHARED): pg_start then gives the test a database of its own
# there ($PG_DB, made empty from template1, dropped at exit) instead of a
# server. pg_private - the test stops or restarts its server (pg_stop,
# pg_restart): it gets one of its own even under make test-pg.
# pg_only REASON - in a test that means nothing on SQLite, skip it all.
# sqlite_only REASON - the other way round, under the PostgreSQL pass.
test_store() { echo "${HERALD_TEST_STORE:-sqlite}"; }
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
PG_DIR=""
PG_DB=""
_pg_as() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
_pg_template() {
	mkdir -p "$BUILD"
	[ -f "$BUILD/pg-template/PG_VERSION" ] && return 0
	(
		# (bounded: a lock never let go fails the test, not hangs it)
		flock -w 300 9 || { echo "# $BUILD/.pg-template.lock held for 300 s"; exit 1; }
		[ -f "$BUILD/pg-template/PG_VERSION" ] && exit 0
		_tmp=$(mktemp -d "${TMPDIR:-/tmp}/herald-pginit.XXXXXX")
		# whatever happens below (initdb or the start failing, a
		# signal), the folder goes, and a server started in it stops
		trap '_pg_template_clean "$_tmp"' EXIT
		trap 'exit 143' TERM
		trap 'exit 130' INT
		chmod 755 "$_tmp"
		[ "$(id -u)" != 0 ] || chown postgres "$_tmp"
		_pg_as "$PG_BIN/initdb" -D "$_tmp/d" -A trust -U postgres \
		    --no-sync -E UTF8 --locale=C.UTF-8 >"$_tmp/log" 2>&1 ||
		    { cat "$_tmp/log"; exit 1; }
		{
			echo "listen_addresses = ''"
			# no fsync: the tests kill servers, never the machine,
			# and a commit still waits for its WAL write
			echo "fsync = off"
			echo "synchronous_commit = on"
			echo "shared_buffers = 32MB"
			echo "max_connections = 200"
		} >>"$_tmp/d/postgresql.conf"
		# the database every test uses is made once, here
		_pg_as "$PG_BIN/pg_ctl" -D "$_tmp/d" -l "$_tmp/d/startlog" -w \
		    -o "-k $_tmp -c listen_addresses=''" start >/dev/null &&
		psql -h "$_tmp" -U postgres -d postgres -qAtX \
		    -c "CREATE DATABASE herald" >/dev/null &&
		_pg_as "$PG_BIN/pg_ctl" -D "$_tmp/d" -m fast -w stop >/dev/null ||
		    { cat "$_tmp/log" "$_tmp/d/startlog" 2>/dev/null; exit 1; }
		rm -rf "$BUILD/pg-template"
		cp -a "$_tmp/d" "$BUILD/pg-template"
	) 9>"$BUILD/.pg-template.lock"
}
# _pg_template_clean DIR - a server still running in DIR/d stopped, DIR gone
_pg_template_clean() {
	[ ! -f "$1/d/postmaster.pid" ] ||
	    _pg_as "$PG_BIN/pg_ctl" -D "$1/d" -m immediate -w stop >/dev/null 2>&1
	rm -rf "$1"
}
pg_start() {
	[ -z "$PG_DIR" ] || return 0
	if [ -n "${HERALD_PG_SHARED:-}" ]; then _pg_database; return; fi
	[ -x "$PG_BIN/pg_ctl" ] || { echo "Bail out! no PostgreSQL server (make deps installs postgresql)"; exit 1; }
	_pg_template || { echo "Bail out! initdb failed"; exit 1; }
	PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/herald-pg.XXXXXX")
	chmod 755 "$PG_DIR"
	cp -a "$BUILD/pg-template" "$PG_DIR/d"
	[ "$(id -u)" != 0 ] || chown -R postgres "$PG_DIR"
	chmod 700 "$PG_DIR/d"
	at_exit "_pg_as '$PG_BIN/pg_ctl' -D '$PG_DIR/d' -m immediate -w stop; rm -rf '$PG_DIR'"
	pg_restart start || { cat "$PG_DIR/log"; echo "Bail out! PostgreSQL did not start"; exit 1; }
	PG_DB=herald
	export PG_DIR PG_DB
}
# _pg_database - this test's database on the shared server, named after
# $T (unique while the test runs), dropped at exit
_pg_database() {
	PG_DIR=$HERALD_PG_SHARED
	PG_DB=t_$$_$(basename "$T" | sed 's/.*\.//' | tr 'A-Z' 'a-z')
	_pg_admin "CREATE DATABASE $PG_DB" ||
	    { echo "Bail out! cannot create database $PG_DB on the shared server $PG_DIR"; exit 1; }
	at_exit "_pg_admin 'DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)'"
	export PG_DIR PG_DB
}
# _pg_admin SQL - SQL run on the server's "postgres" database
_pg_admin() { psql -h "$PG_DIR" -U postgres -d postgres -qAtX -c "$1" >/dev/null; }
# pg_private - from here on pg_start starts a server of this test's own
# (it stops or restarts it), even under make test-pg's shared one
pg_private() {
	[ -z "$PG_DIR" ] || { echo "Bail out! pg_private after pg_start"; exit 1; }
	unset HERALD_PG_SHARED
}
# pg_restart [start|stop|restart] - the private server (fast shutdown)
pg_restart() {
	[ "$PG_DIR" != "${HERALD_PG_SHARED:-}" ] ||
	    { echo "Bail out! pg_restart on the shared server (call pg_private first)"; exit 1; }
	_pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/d" -l "$PG_DIR/log" -m fast -w \
	    -o "-k $PG_DIR -c listen_addresses=''" "${1:-restart}" >/dev/null
}
pg_stop() { pg_restart stop; }
# pg_hold SQL FLAG - in the background (its pid in $!): run SQL (a lock
# to take) in a transaction, touch FLAG, and hold what it took until
# pg_release_lock (the flag the server watches is named after the
# test's database: under make test-pg other tests hold locks of their own
# on the same server, and one's release must not end another's)
pg_hold() {
	touch "$PG_DIR/hold.$PG_DB" && chmod 644 "$PG_DIR/hold.$PG_DB"
	psql -h "$PG_DIR" -U postgres -d "$PG_DB" -qAtX >/dev/null <<PGEOF &
BEGIN;
$1;
\\! touch $2
DO \$\$ BEGIN
	WHILE (pg_stat_file('$PG_DIR/hold.$PG_DB', true)).size IS NOT NULL LOOP
		PERFORM pg_sleep(0.05);
	END LOOP;
END \$\$;
ROLLBACK;
PGEOF
}
# pg_hold_lock TABLE FLAG - pg_hold of TABLE locked EXCLUSIVE (no writer
# gets in)
pg_hold_lock() { pg_hold "LOCK TABLE $1 IN EXCLUSIVE MODE" "$2"; }
pg_release_lock() { rm -f "$PG_DIR/hold.$PG_DB"; }
# pg_conninfo [DB] - the conninfo of the test's database ($PG_DB)
pg_conninfo() { echo "host=$PG_DIR user=postgres dbname=${1:-$PG_DB}"; }
# pg_conf_block [DB] - the store { } section for herald.conf (with
# busy_timeout when STORE_BUSY_TIMEOUT is set)
pg_conf_block() {
	printf 'store {\n\tbackend = "postgresql"\n\tconninfo = "%s"\n' "$(pg_conninfo "${1:-$PG_DB}")"
	[ -z "${STORE_BUSY_TIMEOUT:-}" ] || printf '\tbusy_timeout = %s\n' "$STORE_BUSY_TIMEOUT"
	echo "}"
}
