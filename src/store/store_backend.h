/*
 * store_backend.h - the table of operations a store backend gives (the
 * store layer's private seam, as OpenSMTPD's struct queue_backend is the
 * queue's): preparing, binding, stepping and reading a statement, and
 * what a connection says about its last change. store_query.c runs every
 * typed query of the store through it; a backend (store_sqlite.c,
 * store_pg.c) fills it in. Nothing outside the store includes this.
 *
 * Must stay true: a backend turns its own failures into HERALD_ERROR
 * classes as store.h promises (busy past the timeout, a full disk, an I/O
 * error: TEMP), and parameters are always bound, never spliced into SQL.
 * SQL handed to a backend numbers its parameters ?1, ?2, ...
 */
#ifndef HERALD_STORE_BACKEND_H
#define HERALD_STORE_BACKEND_H

#include "store.h"

struct store_backend {
	const char *name;
	/* what it can do: enum store_trait's bits */
	unsigned traits;
	/* the statement that records schema version %d (a printf format) */
	const char *version_sql;
	/* run first in each migration's transaction: NULL, or a lock that
	 * keeps two hosts' herald init from migrating at once */
	const char *lock_sql;
	/* the connection to WHERE (a file for SQLite) with store_open's
	 * FLAGS and the settings every connection needs */
	gboolean (*open)(struct store *store, const char *where, int flags,
	    GError **error);
	void (*close)(struct store *store);
	/* run SQL: statements without parameters or rows (transactions,
	 * savepoints, migrations) */
	gboolean (*exec)(struct store *store, const char *sql, GError **error);
	/* the schema version the database holds, -1 when unreadable */
	int (*schema_version)(struct store *store);
	/* a compiled statement, or NULL and *ERROR */
	void *(*prepare)(struct store *store, const char *sql, GError **error);
	/* bind ARG to parameter IDX (from 1) */
	gboolean (*bind)(struct store *store, void *stmt, int idx,
	    const struct store_arg *arg, GError **error);
	/* the next row: 1 a row, 0 no more, -1 an error (*ERROR set) */
	int (*step)(struct store *store, void *stmt, const char *sql,
	    GError **error);
	gboolean (*column_null)(void *stmt, int col);
	gint64 (*column_int)(void *stmt, int col);
	double (*column_real)(void *stmt, int col);
	const char *(*column_text)(void *stmt, int col);
	const void *(*column_blob)(void *stmt, int col, gsize *len);
	/* ready to run again, parameters cleared */
	void (*reset)(void *stmt);
	void (*finalize)(void *stmt);
	/* the row id the last INSERT made, the rows the last change touched */
	gint64 (*last_id)(struct store *store);
	int (*changes)(struct store *store);
	/* TRUE while a transaction is open on the connection */
	gboolean (*in_transaction)(struct store *store);
};

/* store_sqlite.c */
extern const struct store_backend store_sqlite_backend;

/* store_pg.c */
extern const struct store_backend store_pg_backend;
/* store_pg_sql - SQL in PostgreSQL's spelling, parameters counted (the
 * caller frees; exported for the unit test) */
char *store_pg_sql(const char *sql, int *nparams);
int store_pg_version(void);

#endif
