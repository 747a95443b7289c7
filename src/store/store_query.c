/*
 * store_query.c - the one way the store runs a statement: prepare (once
 * per connection for a given SQL text, kept for the next call), bind
 * every parameter from a list of typed values, step, read columns, and
 * turn a failure into a GError of the class store.h promises. It speaks
 * only to the backend's table of operations (store_backend.h), so the
 * typed store_* functions above it run unchanged on any backend.
 *
 * Must stay true: SQL given here is a string that outlives the store (a
 * literal): it is the key of the statement cache. A statement in use is
 * never handed out twice: a query whose SQL is already running (a caller
 * up the stack still reads its rows) gets a statement of its own.
 */
#include <stdarg.h>
#include <string.h>

#include "herald.h"
#include "store.h"
#include "store_sqlite.h"
#include "store_backend.h"
#include "store_dynamic.h"

/* a cached statement and whether a running query holds it */
struct store_cached_stmt {
	void *stmt;
	gboolean busy;
};

struct store_rows {
	struct store *store;
	const char *sql;
	void *stmt;
	struct store_cached_stmt *cached;	/* NULL: finalized at the end */
	char *own_sql;		/* store_select_dynamic's copy of SQL */
	gboolean done;
};

/* store_cached_free - the cache's value destructor */
static void
store_cached_free(gpointer p)
{
	struct store_cached_stmt *c = p;

	/* the store's backend is gone by now only if the store is: the
	 * statements are finalized by store_queries_clear first */
	g_free(c);
}

/* store_queries_clear - finalize every cached statement (store_close) */
void
store_queries_clear(struct store *store)
{
	GHashTableIter it;
	gpointer v;

	if (store->queries == NULL)
		return;
	g_hash_table_iter_init(&it, store->queries);
	while (g_hash_table_iter_next(&it, NULL, &v))
		store->ops->finalize(((struct store_cached_stmt *)v)->stmt);
	g_clear_pointer(&store->queries, g_hash_table_unref);
}

/* store_take - a statement for SQL: the cached one when it is free */
static gboolean
store_take(struct store_rows *q, GError **error)
{
	struct store *s = q->store;
	struct store_cached_stmt *c;

	if (s->queries == NULL)
		s->queries = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
		    store_cached_free);
	c = g_hash_table_lookup(s->queries, q->sql);
	if (c != NULL && !c->busy) {
		c->busy = TRUE;
		q->stmt = c->stmt;
		q->cached = c;
		return TRUE;
	}
	if ((q->stmt = s->ops->prepare(s, q->sql, error)) == NULL)
		return FALSE;
	if (c == NULL) {
		c = g_new0(struct store_cached_stmt, 1);
		c->stmt = q->stmt;
		c->busy = TRUE;
		g_hash_table_insert(s->queries, (gpointer)q->sql, c);
		q->cached = c;
	}
	return TRUE;
}

/* store_start - SQL prepared (or taken from the cache) with the
 * arguments in AP bound, up to STORE_END */
static struct store_rows *
store_start(struct store *store, const char *sql, GError **error,
    va_list ap)
{
	struct store_rows *q = g_new0(struct store_rows, 1);
	int idx = 1;

	q->store = store;
	q->sql = sql;
	if (!store_take(q, error)) {
		g_free(q);
		return NULL;
	}
	for (;;) {
		struct store_arg a = va_arg(ap, struct store_arg);

		if (a.type == STORE_END)
			break;
		if (!store->ops->bind(store, q->stmt, idx++, &a, error)) {
			store_rows_free(q);
			return NULL;
		}
	}
	return q;
}

/* store_select - see store.h */
struct store_rows *
store_select(struct store *store, const char *sql, GError **error, ...)
{
	struct store_rows *q;
	va_list ap;

	va_start(ap, error);
	q = store_start(store, sql, error, ap);
	va_end(ap);
	return q;
}

/* store_next - see store.h */
gboolean
store_next(struct store_rows *q, GError **error)
{
	int r;

	if (q == NULL || q->done)
		return FALSE;
	r = q->store->ops->step(q->store, q->stmt, q->sql, error);
	if (r == 1)
		return TRUE;
	q->done = TRUE;
	return FALSE;
}

/* store_rows_free - see store.h */
void
store_rows_free(struct store_rows *q)
{
	if (q == NULL)
		return;
	if (q->cached != NULL) {
		q->store->ops->reset(q->stmt);
		q->cached->busy = FALSE;
	} else if (q->stmt != NULL)
		q->store->ops->finalize(q->stmt);
	g_free(q->own_sql);
	g_free(q);
}

gboolean
store_null(struct store_rows *q, int col)
{
	return q->store->ops->column_null(q->stmt, col);
}

gint64
store_int(struct store_rows *q, int col)
{
	return q->store->ops->column_int(q->stmt, col);
}

double
store_real(struct store_rows *q, int col)
{
	return q->store->ops->column_real(q->stmt, col);
}

const char *
store_text(struct store_rows *q, int col)
{
	return q->store->ops->column_text(q->stmt, col);
}

char *
store_text_dup(struct store_rows *q, int col)
{
	return g_strdup(store_text(q, col));
}

const void *
store_blob(struct store_rows *q, int col, gsize *len)
{
	return q->store->ops->column_blob(q->stmt, col, len);
}

/* store_run - see store.h */
gboolean
store_run(struct store *store, const char *sql, GError **error, ...)
{
	struct store_rows *q;
	GError *err = NULL;
	va_list ap;

	va_start(ap, error);
	q = store_start(store, sql, error, ap);
	va_end(ap);
	if (q == NULL)
		return FALSE;
	while (store_next(q, &err))
		;
	store_rows_free(q);
	if (err != NULL) {
		g_propagate_error(error, err);
		return FALSE;
	}
	return TRUE;
}

/* store_first - run SQL (values in AP) to its first row: 1 and *ROWS
 * left on it (the caller frees them), 0 no row, -1 an error */
static int
store_first(struct store *store, const char *sql, struct store_rows **rows,
    GError **error, va_list ap)
{
	GError *err = NULL;
	struct store_rows *q = store_start(store, sql, error, ap);

	*rows = NULL;
	if (q == NULL)
		return -1;
	if (store_next(q, &err)) {
		*rows = q;
		return 1;
	}
	store_rows_free(q);
	if (err != NULL) {
		g_propagate_error(error, err);
		return -1;
	}
	return 0;
}

/* store_first_row - see store.h */
int
store_first_row(struct store_rows *rows, GError **error)
{
	GError *err = NULL;

	if (rows == NULL)
		return -1;
	if (store_next(rows, &err))
		return 1;
	if (err == NULL)
		return 0;
	g_propagate_error(error, err);
	return -1;
}

/* store_one_row - see store.h */
gboolean
store_one_row(struct store_rows *rows, const char *what, GError **error)
{
	int found = store_first_row(rows, error);

	if (found == 0)
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_SOFTWARE,
		    "%s: no row", what);
	return found == 1;
}

/* store_get_int - see store.h */
int
store_get_int(struct store *store, const char *sql, gint64 *out,
    GError **error, ...)
{
	struct store_rows *q;
	va_list ap;
	int found;

	va_start(ap, error);
	found = store_first(store, sql, &q, error, ap);
	va_end(ap);
	if (found == 1) {
		if (out != NULL)
			*out = store_int(q, 0);
		store_rows_free(q);
	}
	return found;
}

/* store_get_text - see store.h */
int
store_get_text(struct store *store, const char *sql, char **out,
    GError **error, ...)
{
	struct store_rows *q;
	va_list ap;
	int found;

	*out = NULL;
	va_start(ap, error);
	found = store_first(store, sql, &q, error, ap);
	va_end(ap);
	if (found == 1) {
		*out = store_text_dup(q, 0);
		store_rows_free(q);
	}
	return found;
}

/* store_last_id - see store.h */
gint64
store_last_id(struct store *store)
{
	return store->ops->last_id(store);
}

/* store_changes - see store.h */
int
store_changes(struct store *store)
{
	return store->ops->changes(store);
}

/* store_bind_array - the NARGS values of ARGS bound to Q's statement; on
 * failure Q is freed */
static struct store_rows *
store_bind_array(struct store_rows *q, const struct store_arg *args,
    guint nargs, GError **error)
{
	guint i;

	for (i = 0; i < nargs; i++)
		if (!q->store->ops->bind(q->store, q->stmt, (int)i + 1, &args[i],
		    error)) {
			store_rows_free(q);
			return NULL;
		}
	return q;
}

/* store_select_array - see store_dynamic.h */
struct store_rows *
store_select_array(struct store *store, const char *sql,
    const struct store_arg *args, guint nargs, GError **error)
{
	struct store_rows *q = g_new0(struct store_rows, 1);

	q->store = store;
	q->sql = sql;
	if (!store_take(q, error)) {
		g_free(q);
		return NULL;
	}
	return store_bind_array(q, args, nargs, error);
}

/* store_select_dynamic - see store_dynamic.h: prepared for this query
 * alone and finalized when it ends */
struct store_rows *
store_select_dynamic(struct store *store, const char *sql,
    const struct store_arg *args, guint nargs, GError **error)
{
	struct store_rows *q = g_new0(struct store_rows, 1);

	q->store = store;
	q->sql = q->own_sql = g_strdup(sql);
	if ((q->stmt = store->ops->prepare(store, q->sql, error)) == NULL) {
		store_rows_free(q);
		return NULL;
	}
	return store_bind_array(q, args, nargs, error);
}

/* store_finish - step ROWS to their end and free them (a write) */
gboolean
store_finish(struct store_rows *rows, GError **error)
{
	GError *err = NULL;

	if (rows == NULL)
		return FALSE;
	while (store_next(rows, &err))
		;
	store_rows_free(rows);
	if (err != NULL) {
		g_propagate_error(error, err);
		return FALSE;
	}
	return TRUE;
}
