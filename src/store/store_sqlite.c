/*
 * store_sqlite.c - the SQLite backend of the store's table of operations
 * (store_backend.h): statements of the connection in struct store's db.
 *
 * Must stay true: SQLITE_BUSY, LOCKED, FULL, IOERR and NOMEM become
 * HERALD_ERROR_TEMP (store_sqlite_error), so a busy database or a
 * full disk defers instead of failing for good.
 */
#include <stdarg.h>
#include <unistd.h>
#include <sqlite3.h>

#include "herald.h"
#include "config.h"
#include "store.h"
#include "store_backend.h"
#include "store_sqlite.h"

/* store_sqlite_error - see store_sqlite.h */
void
store_sqlite_error(GError **error, sqlite3 *db, int rc,
    const char *fmt, ...)
{
	va_list ap;
	g_autofree char *what = NULL;
	int code;

	va_start(ap, fmt);
	what = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_FULL:
	case SQLITE_IOERR:
	case SQLITE_NOMEM:
		code = HERALD_ERROR_TEMP;
		break;
	case SQLITE_CANTOPEN:
	case SQLITE_READONLY:
	case SQLITE_PERM:
		code = HERALD_ERROR_CANTCREAT;
		break;
	default:
		code = HERALD_ERROR_SOFTWARE;
	}
	g_set_error(error, HERALD_ERROR, code, "%s: %s", what,
	    db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

/* the time a connection waits for another's write lock before BUSY
 * (store_open_config sets store { busy_timeout } when it differs) */
#define STORE_BUSY_TIMEOUT_MS (CONFIG_BUSY_TIMEOUT_DEFAULT * 1000)

/* sqlite_configure - process-wide SQLite settings, before its first use:
 * no memory statistics (they take a global mutex on every allocation) */
static gpointer
sqlite_configure(gpointer unused)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	return NULL;
}

/* sqlite_exec - run SQL (statements without parameters or rows) */
static gboolean
sqlite_exec(struct store *store, const char *sql, GError **error)
{
	int rc = sqlite3_exec(store->db, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK) {
		store_sqlite_error(error, store->db, rc, "%s", store->path);
		return FALSE;
	}
	return TRUE;
}

/* sqlite_open - the file PATH: without STORE_OPEN_CREATE a missing file
 * is NOINPUT (run herald init); foreign keys on, synchronous FULL when
 * DURABLE else NORMAL, 8 KiB pages for a new file, WAL when writable */
static gboolean
sqlite_open(struct store *store, const char *path, int flags,
    GError **error)
{
	static GOnce once = G_ONCE_INIT;
	int oflags, rc;

	g_once(&once, sqlite_configure, NULL);
	if (!(flags & STORE_OPEN_CREATE) && access(path, F_OK) != 0) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_NOINPUT,
		    "%s: no database here; run \"herald init\" first", path);
		return FALSE;
	}
	oflags = (flags & STORE_OPEN_READONLY) ? SQLITE_OPEN_READONLY :
	    SQLITE_OPEN_READWRITE;
	if (flags & STORE_OPEN_CREATE)
		oflags |= SQLITE_OPEN_CREATE;
	rc = sqlite3_open_v2(path, &store->db, oflags | SQLITE_OPEN_NOMUTEX,
	    NULL);
	if (rc != SQLITE_OK) {
		store_sqlite_error(error, store->db, rc, "%s", path);
		return FALSE;
	}
	sqlite3_extended_result_codes(store->db, 0);
	sqlite3_busy_timeout(store->db, STORE_BUSY_TIMEOUT_MS);
	/* a new file gets 8 KiB pages (ignored for a file that has any): a
	 * bulk import writes fewer, fuller B-tree pages and WAL frames; 16
	 * KiB gained it nothing more and cost herald pipe time */
	return sqlite_exec(store, "PRAGMA foreign_keys = ON;", error) &&
	    sqlite_exec(store, (flags & STORE_OPEN_DURABLE) ?
	    "PRAGMA synchronous = FULL;" : "PRAGMA synchronous = NORMAL;",
	    error) &&
	    (!(flags & STORE_OPEN_CREATE) ||
	    sqlite_exec(store, "PRAGMA page_size = 8192;", error)) &&
	    ((flags & STORE_OPEN_READONLY) ||
	    sqlite_exec(store, "PRAGMA journal_mode = WAL;", error));
}

/* sqlite_close - close the connection (sqlite3_close_v2 waits for any
 * statement still open) */
static void
sqlite_close(struct store *store)
{
	if (store->db != NULL)
		sqlite3_close_v2(store->db);
	store->db = NULL;
}

/* sqlite_schema_version - PRAGMA user_version, -1 on error */
static int
sqlite_schema_version(struct store *store)
{
	sqlite3_stmt *st;
	int v = -1;

	if (sqlite3_prepare_v2(store->db, "PRAGMA user_version", -1, &st,
	    NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* sqlite_prepare - compile SQL on the store's connection */
static void *
sqlite_prepare(struct store *store, const char *sql, GError **error)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(store->db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK) {
		store_sqlite_error(error, store->db, rc,
		    "preparing \"%.40s\"", sql);
		return NULL;
	}
	return st;
}

/* sqlite_bind - one parameter; text and blobs are the caller's until the
 * statement is stepped to its end or reset */
static gboolean
sqlite_bind(struct store *store, void *stmt, int idx,
    const struct store_arg *arg, GError **error)
{
	int rc;

	switch (arg->type) {
	case STORE_INT:
		rc = sqlite3_bind_int64(stmt, idx, arg->i);
		break;
	case STORE_REAL:
		rc = sqlite3_bind_double(stmt, idx, arg->r);
		break;
	case STORE_TEXT:
		rc = arg->p == NULL ? sqlite3_bind_null(stmt, idx) :
		    sqlite3_bind_text(stmt, idx, arg->p, -1, SQLITE_STATIC);
		break;
	case STORE_BLOB:
		rc = arg->p == NULL ? sqlite3_bind_null(stmt, idx) :
		    sqlite3_bind_blob64(stmt, idx, arg->p, arg->len,
		    SQLITE_STATIC);
		break;
	default:
		rc = sqlite3_bind_null(stmt, idx);
	}
	if (rc != SQLITE_OK) {
		store_sqlite_error(error, store->db, rc,
		    "binding parameter %d", idx);
		return FALSE;
	}
	return TRUE;
}

/* sqlite_step - a row (1), the end (0), or an error naming SQL (-1) */
static int
sqlite_step(struct store *store, void *stmt, const char *sql,
    GError **error)
{
	int rc = sqlite3_step(stmt);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	store_sqlite_error(error, store->db, rc, "running \"%.40s\"", sql);
	return -1;
}

static gboolean
sqlite_column_null(void *stmt, int col)
{
	return sqlite3_column_type(stmt, col) == SQLITE_NULL;
}

static gint64
sqlite_column_int(void *stmt, int col)
{
	return sqlite3_column_int64(stmt, col);
}

static double
sqlite_column_real(void *stmt, int col)
{
	return sqlite3_column_double(stmt, col);
}

static const char *
sqlite_column_text(void *stmt, int col)
{
	return (const char *)sqlite3_column_text(stmt, col);
}

static const void *
sqlite_column_blob(void *stmt, int col, gsize *len)
{
	const void *p = sqlite3_column_blob(stmt, col);

	*len = (gsize)sqlite3_column_bytes(stmt, col);
	return p;
}

static void
sqlite_reset(void *stmt)
{
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
}

static void
sqlite_finalize(void *stmt)
{
	sqlite3_finalize(stmt);
}

static gint64
sqlite_last_id(struct store *store)
{
	return sqlite3_last_insert_rowid(store->db);
}

static int
sqlite_changes(struct store *store)
{
	return sqlite3_changes(store->db);
}

/* sqlite_in_transaction - a transaction is open on the connection (SQLite
 * may have rolled one back by itself: a full disk, an I/O error) */
static gboolean
sqlite_in_transaction(struct store *store)
{
	return !sqlite3_get_autocommit(store->db);
}

/* ------------------------------------------------------------------ */
/* The raw statements of store_sqlite.h, for the store's own files and
 * the unit tests */

/* store_prepare - compile SQL */
sqlite3_stmt *
store_prepare(struct store *store, const char *sql, GError **error)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(store->db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK) {
		store_sqlite_error(error, store->db, rc, "preparing \"%.40s\"",
		    sql);
		return NULL;
	}
	return st;
}

static void
store_finalize(gpointer st)
{
	sqlite3_finalize(st);
}

/* store_cached - SQL compiled once per connection, for statements run
 * again and again (per batch of a send): the statement stays the store's
 * (store_close finalizes it), the caller leaves it reset. SQL must be a
 * string that outlives the store (a literal): it is the key. */
sqlite3_stmt *
store_cached(struct store *store, const char *sql, GError **error)
{
	sqlite3_stmt *st;

	if (store->cached == NULL)
		store->cached = g_hash_table_new_full(g_str_hash, g_str_equal,
		    NULL, store_finalize);
	if ((st = g_hash_table_lookup(store->cached, sql)) != NULL)
		return st;
	if ((st = store_prepare(store, sql, error)) != NULL)
		g_hash_table_insert(store->cached, (gpointer)sql, st);
	return st;
}

/* store_stmt_reset - a cached statement back to its unused state */
void
store_stmt_reset(store_stmt *stmt)
{
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
}

/* store_step_done - step a write statement to its end and reset it */
gboolean
store_step_done(struct store *store, sqlite3_stmt *stmt, const char *what,
    GError **error)
{
	int rc = sqlite3_step(stmt);

	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		store_sqlite_error(error, store->db, rc, "%s", what);
		return FALSE;
	}
	return TRUE;
}

const struct store_backend store_sqlite_backend = {
	.name = "sqlite",
	.traits = STORE_ONE_FILE,
	.version_sql = "PRAGMA user_version = %d;",
	.open = sqlite_open,
	.close = sqlite_close,
	.exec = sqlite_exec,
	.schema_version = sqlite_schema_version,
	.prepare = sqlite_prepare,
	.bind = sqlite_bind,
	.step = sqlite_step,
	.column_null = sqlite_column_null,
	.column_int = sqlite_column_int,
	.column_real = sqlite_column_real,
	.column_text = sqlite_column_text,
	.column_blob = sqlite_column_blob,
	.reset = sqlite_reset,
	.finalize = sqlite_finalize,
	.last_id = sqlite_last_id,
	.changes = sqlite_changes,
	.in_transaction = sqlite_in_transaction,
};
