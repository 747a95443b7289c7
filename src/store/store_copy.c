/*
 * store_copy.c - herald store copy (store_copy.h): the tables of one
 * store read column by column and written with bound parameters into
 * another, whichever the two backends are, and a checksum per table.
 *
 * The checksum of a table: each row rendered as text - its columns in
 * the order of their names, each "NAME=" then "-" for NULL or the length
 * in bytes, ":" and the value (integers in decimal, reals with 17
 * significant digits, blobs in lower-case hex, text as it is), then ";" -
 * hashed with SHA-256; the rows' digests sorted bytewise and hashed
 * again with SHA-256. So the order rows come in, and the collation of
 * either engine, do not change it.
 *
 * Must stay true: TABLES lists every table of the schema (views aside) in
 * an order where a table comes after the ones it references; a table
 * the source holds that is not in it stops the copy (rows would be lost
 * silently otherwise). Table and column names in the SQL built here come
 * from that list and the schema, never from a user.
 */
#include <string.h>

#include "herald.h"
#include "store.h"
#include "store_copy.h"
#include "store_dynamic.h"

/* the schema's tables, parents first (schema_version is the migrations') */
static const char *const tables[] = {
	"lists", "subscribers", "memberships", "events", "campaigns",
	"deliveries", "replies", "confirmations", "complaints",
	"inbound_bounces", "bounce_mail", "bounces", "bounce_scores",
	"bounce_notices", "attribute_values", "attribute_members", "outbox",
	"relay_usage", "relay_state", "links", "track_counts", "erased",
};

enum copy_class { COPY_INT, COPY_REAL, COPY_TEXT, COPY_BLOB };

/* one column of a table */
struct copy_column {
	char *name;
	enum copy_class class;
};

/* copy_is_pg - STORE is PostgreSQL's */
static gboolean
copy_is_pg(struct store *store)
{
	return strcmp(store_backend_name(store), "postgresql") == 0;
}

/* copy_known - NAME is in tables[] */
static gboolean
copy_known(const char *name)
{
	for (gsize i = 0; i < G_N_ELEMENTS(tables); i++)
		if (strcmp(tables[i], name) == 0)
			return TRUE;
	return FALSE;
}

/* copy_tables - the base tables STORE holds (views aside), NULL on error */
static GPtrArray *
copy_tables(struct store *store, GError **error)
{
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(store_rows) rows = copy_is_pg(store) ?
	    store_select(store, "SELECT table_name FROM information_schema.tables"
	    " WHERE table_schema = current_schema()"
	    " AND table_type = 'BASE TABLE'", error, SQ_END) :
	    store_select(store, "SELECT name FROM sqlite_master"
	    " WHERE type = 'table' AND name NOT LIKE 'sqlite%'", error, SQ_END);

	if (rows == NULL)
		return NULL;
	while (store_next(rows, error))
		g_ptr_array_add(names, store_text_dup(rows, 0));
	if (error != NULL && *error != NULL)
		return NULL;
	return g_steal_pointer(&names);
}

/* copy_class_of - the class of a column declared TYPE on either engine */
static enum copy_class
copy_class_of(const char *type)
{
	g_autofree char *up = g_ascii_strup(type != NULL ? type : "", -1);

	if (strstr(up, "INT") != NULL)
		return COPY_INT;
	if (strstr(up, "REAL") != NULL || strstr(up, "DOUBLE") != NULL ||
	    strstr(up, "FLOA") != NULL)
		return COPY_REAL;
	if (strstr(up, "BLOB") != NULL || strstr(up, "BYTEA") != NULL)
		return COPY_BLOB;
	return COPY_TEXT;
}

/* copy_column_free - one struct copy_column */
static void
copy_column_free(gpointer p)
{
	struct copy_column *c = p;

	g_free(c->name);
	g_free(c);
}

/* copy_by_name - qsort order of columns by name */
static gint
copy_by_name(gconstpointer a, gconstpointer b)
{
	const struct copy_column *x = *(struct copy_column *const *)a;
	const struct copy_column *y = *(struct copy_column *const *)b;

	return strcmp(x->name, y->name);
}

/* copy_columns - TABLE's columns in STORE, sorted by name; NULL on error
 * (a table without columns is one the store does not have) */
static GPtrArray *
copy_columns(struct store *store, const char *table, GError **error)
{
	g_autoptr(GPtrArray) cols =
	    g_ptr_array_new_with_free_func(copy_column_free);
	g_autoptr(store_rows) rows = copy_is_pg(store) ?
	    store_select(store, "SELECT column_name, data_type FROM"
	    " information_schema.columns WHERE table_schema = current_schema()"
	    " AND table_name = ?1 ORDER BY ordinal_position", error,
	    SQ_TEXT(table), SQ_END) :
	    store_select(store, "SELECT name, type FROM pragma_table_info(?1)"
	    " ORDER BY cid", error, SQ_TEXT(table), SQ_END);

	if (rows == NULL)
		return NULL;
	while (store_next(rows, error)) {
		struct copy_column *c = g_new0(struct copy_column, 1);

		c->name = store_text_dup(rows, 0);
		c->class = copy_class_of(store_text(rows, 1));
		g_ptr_array_add(cols, c);
	}
	if (error != NULL && *error != NULL)
		return NULL;
	if (cols->len == 0) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_SOFTWARE,
		    "%s: no table %s", store->path, table);
		return NULL;
	}
	g_ptr_array_sort(cols, copy_by_name);
	return g_steal_pointer(&cols);
}

/* copy_has_id - the table of COLS has an id column */
static gboolean
copy_has_id(GPtrArray *cols)
{
	for (guint i = 0; i < cols->len; i++)
		if (strcmp(((struct copy_column *)cols->pdata[i])->name,
		    "id") == 0)
			return TRUE;
	return FALSE;
}

/* copy_select - every row of TABLE's COLS, by id where it has one */
static struct store_rows *
copy_select(struct store *store, const char *table, GPtrArray *cols,
    GError **error)
{
	g_autoptr(GString) sql = g_string_new("SELECT ");

	for (guint i = 0; i < cols->len; i++)
		g_string_append_printf(sql, "%s%s", i > 0 ? ", " : "",
		    ((struct copy_column *)cols->pdata[i])->name);
	g_string_append_printf(sql, " FROM %s%s", table,
	    copy_has_id(cols) ? " ORDER BY id" : "");
	return store_select_dynamic(store, sql->str, NULL, 0, error);
}

/* copy_render - column I of the current row of ROWS, as the checksum
 * renders it (see the top of this file), appended to OUT */
static void
copy_render(GString *out, struct store_rows *rows, guint i,
    const struct copy_column *c)
{
	char num[G_ASCII_DTOSTR_BUF_SIZE];
	const char *v = NULL;
	gsize len = 0;
	g_autofree char *hex = NULL;

	g_string_append_printf(out, "%s=", c->name);
	if (store_null(rows, (int)i)) {
		g_string_append(out, "-;");
		return;
	}
	if (c->class == COPY_INT) {
		g_snprintf(num, sizeof(num), "%" G_GINT64_FORMAT,
		    store_int(rows, (int)i));
		v = num;
	} else if (c->class == COPY_REAL) {
		v = g_ascii_formatd(num, sizeof(num), "%.17g",
		    store_real(rows, (int)i));
	} else if (c->class == COPY_BLOB) {
		const guchar *b = store_blob(rows, (int)i, &len);

		hex = g_malloc(len * 2 + 1);
		for (gsize k = 0; k < len; k++)
			g_snprintf(hex + 2 * k, 3, "%02x", b[k]);
		hex[len * 2] = '\0';
		v = hex;
	} else {
		v = store_text(rows, (int)i);
	}
	g_string_append_printf(out, "%zu:", strlen(v));
	g_string_append(out, v);
	g_string_append_c(out, ';');
}

/* copy_by_digest - qsort order of 32-byte digests */
static int
copy_by_digest(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

/* copy_sum - the checksum of DIGESTS (N of 32 bytes): sorted, hashed */
static char *
copy_sum(GByteArray *digests, gint64 n)
{
	GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
	char *hex;

	if (n > 1)	/* an empty table's array has no data pointer */
		qsort(digests->data, (size_t)n, 32, copy_by_digest);
	g_checksum_update(sum, digests->data, digests->len);
	hex = g_strdup(g_checksum_get_string(sum));
	g_checksum_free(sum);
	return hex;
}

/* store_copy_checksum - see store_copy.h */
char *
store_copy_checksum(struct store *store, const char *table, gint64 *rows_out,
    GError **error)
{
	g_autoptr(GPtrArray) cols = copy_columns(store, table, error);
	g_autoptr(GByteArray) digests = g_byte_array_new();
	g_autoptr(GString) text = g_string_new(NULL);
	g_autoptr(store_rows) rows = NULL;
	gint64 n = 0;

	if (cols == NULL ||
	    (rows = copy_select(store, table, cols, error)) == NULL)
		return NULL;
	while (store_next(rows, error)) {
		guint8 d[32];
		gsize dlen = sizeof(d);
		GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);

		g_string_truncate(text, 0);
		for (guint i = 0; i < cols->len; i++)
			copy_render(text, rows, i, cols->pdata[i]);
		g_checksum_update(sum, (const guchar *)text->str, text->len);
		g_checksum_get_digest(sum, d, &dlen);
		g_checksum_free(sum);
		g_byte_array_append(digests, d, sizeof(d));
		n++;
	}
	if (error != NULL && *error != NULL)
		return NULL;
	*rows_out = n;
	return copy_sum(digests, n);
}

/* copy_count - the rows of TABLE in STORE, -1 on error */
static gint64
copy_count(struct store *store, const char *table, GError **error)
{
	g_autofree char *sql = g_strdup_printf("SELECT count(*) FROM %s", table);
	g_autoptr(store_rows) rows = store_select_dynamic(store, sql, NULL, 0,
	    error);
	gint64 n = -1;

	if (rows != NULL && store_next(rows, error))
		n = store_int(rows, 0);
	return n;
}

/* copy_check_empty - every table TARGET has holds no rows; else a
 * CANTCREAT error naming the target and the table */
static gboolean
copy_check_empty(struct store *target, GError **error)
{
	g_autoptr(GPtrArray) names = copy_tables(target, error);

	if (names == NULL)
		return FALSE;
	for (guint i = 0; i < names->len; i++) {
		const char *t = names->pdata[i];
		gint64 n;

		if (strcmp(t, "schema_version") == 0)
			continue;
		if ((n = copy_count(target, t, error)) < 0)
			return FALSE;
		if (n > 0) {
			g_set_error(error, HERALD_ERROR, HERALD_ERROR_CANTCREAT,
			    "%s: not empty (table %s holds %" G_GINT64_FORMAT
			    " rows); copy only into an empty database",
			    target->path, t, n);
			return FALSE;
		}
	}
	return TRUE;
}

/* copy_check_known - every table SOURCE holds is in tables[] */
static gboolean
copy_check_known(struct store *source, GError **error)
{
	g_autoptr(GPtrArray) names = copy_tables(source, error);

	if (names == NULL)
		return FALSE;
	for (guint i = 0; i < names->len; i++) {
		const char *t = names->pdata[i];

		if (strcmp(t, "schema_version") != 0 && !copy_known(t)) {
			g_set_error(error, HERALD_ERROR, HERALD_ERROR_SOFTWARE,
			    "%s: table %s is not one herald store copy knows;"
			    " nothing copied", source->path, t);
			return FALSE;
		}
	}
	return TRUE;
}

/* copy_insert_sql - "INSERT INTO TABLE (cols) VALUES (?1, ...)", interned */
static const char *
copy_insert_sql(const char *table, GPtrArray *cols)
{
	g_autoptr(GString) sql = g_string_new(NULL);

	g_string_printf(sql, "INSERT INTO %s (", table);
	for (guint i = 0; i < cols->len; i++)
		g_string_append_printf(sql, "%s%s", i > 0 ? ", " : "",
		    ((struct copy_column *)cols->pdata[i])->name);
	g_string_append(sql, ") VALUES (");
	for (guint i = 0; i < cols->len; i++)
		g_string_append_printf(sql, "%s?%u", i > 0 ? ", " : "", i + 1);
	g_string_append_c(sql, ')');
	return g_intern_string(sql->str);
}

/* copy_arg - column I of the current row of ROWS as a parameter */
static struct store_arg
copy_arg(struct store_rows *rows, guint i, const struct copy_column *c)
{
	gsize len = 0;
	const void *b;

	if (store_null(rows, (int)i))
		return SQ_NULL;
	switch (c->class) {
	case COPY_INT:
		return SQ_INT(store_int(rows, (int)i));
	case COPY_REAL:
		return SQ_REAL(store_real(rows, (int)i));
	case COPY_BLOB:
		b = store_blob(rows, (int)i, &len);
		return SQ_BLOB(b != NULL ? b : "", len);
	default:
		return SQ_TEXT(store_text(rows, (int)i));
	}
}

/* copy_table - TABLE's rows from SOURCE into TARGET (in its open
 * transaction); on PostgreSQL the id sequence moved past them */
static gboolean
copy_table(struct store *source, struct store *target, const char *table,
    GError **error)
{
	g_autoptr(GPtrArray) cols = copy_columns(source, table, error);
	g_autoptr(store_rows) rows = NULL;
	g_autofree struct store_arg *args = NULL;
	const char *sql;

	if (cols == NULL ||
	    (rows = copy_select(source, table, cols, error)) == NULL)
		return FALSE;
	sql = copy_insert_sql(table, cols);
	args = g_new0(struct store_arg, cols->len);
	while (store_next(rows, error)) {
		for (guint i = 0; i < cols->len; i++)
			args[i] = copy_arg(rows, i, cols->pdata[i]);
		if (!store_finish(store_select_array(target, sql, args,
		    cols->len, error), error))
			return FALSE;
	}
	if (error != NULL && *error != NULL)
		return FALSE;
	if (copy_is_pg(target) && copy_has_id(cols)) {
		g_autofree char *seq = g_strdup_printf("SELECT setval("
		    "pg_get_serial_sequence('%s', 'id'), coalesce((SELECT max(id)"
		    " FROM %s), 0) + 1, false)", table, table);

		if (!store_finish(store_select_dynamic(target, seq, NULL, 0,
		    error), error))
			return FALSE;
	}
	return TRUE;
}

/* copy_rows - every table from SOURCE into TARGET in one transaction of
 * the target, read in one snapshot of the source, in which each table's
 * checksum and rows are taken too (SUMS, COUNTS: one per tables[]) */
static gboolean
copy_rows(struct store *source, struct store *target, char **sums,
    gint64 *counts, GError **error)
{
	gboolean ok = TRUE;

	if (!store_exec(source, copy_is_pg(source) ?
	    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN", error))
		return FALSE;
	if (!store_begin(target, error)) {
		store_exec(source, "ROLLBACK", NULL);
		return FALSE;
	}
	for (gsize i = 0; ok && i < G_N_ELEMENTS(tables); i++)
		ok = copy_table(source, target, tables[i], error) &&
		    (sums[i] = store_copy_checksum(source, tables[i],
		    &counts[i], error)) != NULL;
	if (ok)
		ok = store_commit(target, error);
	else
		store_rollback(target);
	store_exec(source, "ROLLBACK", NULL);
	return ok;
}

/* copy_report - each table's rows and checksum on the source (SUMS,
 * COUNTS) and on the target, to REPORT; FALSE and a SOFTWARE error when
 * one differs */
static gboolean
copy_report(struct store *target, char **sums, const gint64 *counts,
    store_copy_fn report, void *data, GError **error)
{
	const char *bad = NULL;

	for (gsize i = 0; i < G_N_ELEMENTS(tables); i++) {
		gint64 m = 0;
		g_autofree char *b = store_copy_checksum(target, tables[i], &m,
		    error);

		if (b == NULL)
			return FALSE;
		if (report != NULL)
			report(tables[i], counts[i], m, sums[i], b, data);
		if ((counts[i] != m || strcmp(sums[i], b) != 0) && bad == NULL)
			bad = tables[i];
	}
	if (bad != NULL) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_SOFTWARE,
		    "%s: table %s differs from the source after the copy",
		    target->path, bad);
		return FALSE;
	}
	return TRUE;
}

/* store_copy - see store_copy.h */
gboolean
store_copy(struct store *source, struct store *target, store_copy_fn report,
    void *data, GError **error)
{
	char *sums[G_N_ELEMENTS(tables)] = { NULL };
	gint64 counts[G_N_ELEMENTS(tables)] = { 0 };
	gboolean ok;

	if (!copy_check_known(source, error) ||
	    !copy_check_empty(target, error) ||
	    !store_migrate(target, NULL, error) ||
	    !copy_check_empty(target, error))
		return FALSE;
	if (store_schema_version(source) != store_schema_version(target)) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_SOFTWARE,
		    "%s: schema %d, the source's is %d", target->path,
		    store_schema_version(target), store_schema_version(source));
		return FALSE;
	}
	ok = copy_rows(source, target, sums, counts, error) &&
	    copy_report(target, sums, counts, report, data, error);

	for (gsize i = 0; i < G_N_ELEMENTS(tables); i++)
		g_free(sums[i]);
	return ok;
}
