#!/bin/sh
# tests/pg-pass.sh CMD… - run CMD (make test-pg's prove) with one
# PostgreSQL server for the whole pass: started here from the template
# cluster (tests/lib.sh pg_start), its folder exported as
# HERALD_PG_SHARED, so that each test makes a database of its own there
# instead of starting a server (about 3 s a test). What must stay true:
# the server is stopped and its folder removed when CMD ends, whatever
# its status, and on a signal too (lib.sh's exit trap); CMD's status is
# this script's. A test that stops or restarts PostgreSQL calls
# pg_private and still gets a server of its own.
. "${TOP:-.}/tests/lib.sh"
unset HERALD_PG_SHARED
pg_start
# room for the connections of the tests run at once (prove -j)
psql -h "$PG_DIR" -U postgres -d postgres -qAtX \
    -c "ALTER SYSTEM SET max_connections = 400" >/dev/null &&
    pg_restart restart || { echo "pg-pass: the shared server did not restart" >&2; exit 1; }
HERALD_PG_SHARED=$PG_DIR
export HERALD_PG_SHARED
"$@"
exit $?
