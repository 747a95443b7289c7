#!/bin/sh
# no-sql.sh [SRC] - print every line outside SRC/store (default src) that
# speaks SQLite or holds SQL text: a sqlite3 call, type or header, the raw
# handle (store->db), or a string that starts a statement. Exit 1 when
# there is one. The store layer (src/store/) is the only place for them.
src=${1:-src}
find "$src" -name '*.[ch]' ! -path "$src/store/*" | sort | xargs grep -nE \
    'sqlite3|->db\b|"(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|PRAGMA|BEGIN|COMMIT|ROLLBACK|SAVEPOINT|WITH) ' \
    && exit 1
exit 0
