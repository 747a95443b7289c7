/*
 * store_sqlite.h - the SQLite side of the store, for the store's own files
 * and the unit tests that look at a database directly: the connection's
 * raw statements (prepared, cached, stepped) and the mapping of SQLite's
 * result codes to herald's error classes. Nothing outside src/store/
 * includes it (tests/tools/no-sql.sh checks that no sqlite3 name leaves
 * the store).
 */
#ifndef HERALD_STORE_SQLITE_H
#define HERALD_STORE_SQLITE_H

#include <sqlite3.h>
#include "store.h"

/* store_sqlite_error - set *error from a SQLite result code: BUSY,
 * LOCKED, FULL, IOERR and NOMEM are TEMP, CANTOPEN, READONLY and PERM
 * CANTCREAT, everything else SOFTWARE; FMT names the work */
void store_sqlite_error(GError **error, sqlite3 *db, int rc,
    const char *fmt, ...) G_GNUC_PRINTF(4, 5);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(sqlite3_stmt, sqlite3_finalize)

/* store_prepare - a statement, or NULL and an error naming SQL's first words */
sqlite3_stmt *store_prepare(struct store *store, const char *sql,
    GError **error);

/* store_cached - SQL (a literal: it is the key) compiled once per
 * connection; the statement stays the store's, the caller leaves it
 * reset. g_autoptr(store_stmt) st = store_cached(…) does that: at the end
 * of the scope it resets the statement and clears its bindings instead
 * of finalizing it. A function that uses one must not call itself while
 * it steps it. */
sqlite3_stmt *store_cached(struct store *store, const char *sql,
    GError **error);
typedef sqlite3_stmt store_stmt;	/* for g_autoptr alone */
void store_stmt_reset(store_stmt *stmt);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(store_stmt, store_stmt_reset)

/* store_step_done - step a statement that returns no rows; reset it */
gboolean store_step_done(struct store *store, sqlite3_stmt *stmt,
    const char *what, GError **error);

#endif
