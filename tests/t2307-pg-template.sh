#!/bin/sh
# tests/lib.sh _pg_template (the PostgreSQL cluster initdb'd once per
# build, copied by every test's server): when initdb fails, or the server
# it starts to make the database fails after it started, the
# herald-pginit.XXXXXX folder is removed and the server stopped, not left
# behind under $TMPDIR (they used to be); when it works, the template is
# there and nothing is left either. Run in a build folder and TMPDIR of
# this test's own, so the real template is never touched.
. "${TOP:-.}/tests/lib.sh"
[ -x "${PG_BIN:-/nonexistent}/initdb" ] || { echo "1..0 # SKIP no PostgreSQL server here"; exit 0; }
plan 7
chmod 755 "$T"	# initdb runs as the postgres user when we are root
mkdir -p "$T/tmp" "$T/fake"
chmod 755 "$T/tmp"
# template FAKEBIN - _pg_template with the programs in FAKEBIN first
# in PATH (the PostgreSQL ones too: PG_BIN is FAKEBIN then the real
# one's links), into $T/build, its temporary folders in $T/tmp
template() {
	( PATH=$1:$PATH; BUILD=$T/build; TMPDIR=$T/tmp
	  for p in "$PG_BIN"/*; do [ -e "$1/${p##*/}" ] || ln -s "$p" "$1/${p##*/}"; done
	  PG_BIN=$1; _pg_template ) >"$T/template.log" 2>&1
}
left() { ls -A "$T/tmp"; }
# a postgres process with this test's folder in its command line
server_left() { pgrep -f "postgres.*$T/tmp" >/dev/null; }

mkdir "$T/fake/initdb"
printf '#!/bin/sh\necho "initdb: simulated failure" >&2\nexit 1\n' > "$T/fake/initdb/initdb"
chmod 755 "$T/fake/initdb" "$T/fake/initdb/initdb"
template "$T/fake/initdb"; r=$?
[ $r != 0 ] && grep -q 'simulated failure' "$T/template.log"; ok $? "initdb failing: _pg_template fails and shows its log ($r)"
[ -z "$(left)" ] && [ ! -e "$T/build/pg-template" ]; ok $? "and leaves no herald-pginit folder behind ($(left))"

# the server started, then the database cannot be made (psql fails)
mkdir "$T/fake/psql"
printf '#!/bin/sh\necho "psql: simulated failure" >&2\nexit 2\n' > "$T/fake/psql/psql"
chmod 755 "$T/fake/psql" "$T/fake/psql/psql"
template "$T/fake/psql"; r=$?
[ $r != 0 ] && grep -q 'simulated failure' "$T/template.log"; ok $? "the database not made: _pg_template fails ($r)"
! server_left; ok $? "the server it had started is stopped"
[ -z "$(left)" ] && [ ! -e "$T/build/pg-template" ]; ok $? "and its folder removed ($(left))"

mkdir "$T/fake/none"
chmod 755 "$T/fake/none"
template "$T/fake/none"; r=$?
[ $r = 0 ] && [ -f "$T/build/pg-template/PG_VERSION" ]; ok $? "with the real programs the template is made ($r)"
[ -z "$(left)" ] && ! server_left; ok $? "and nothing is left: no folder, no server ($(left))"
finish
