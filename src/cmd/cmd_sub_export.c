/*
 * cmd_sub_export.c - herald sub export LIST [--segment NAME|--where EXPR]
 *
 * Writes the active members of LIST (or of one segment) as CSV on stdout,
 * in the form herald sub import reads back unchanged: a header row
 * "email,name,KEY…" with every attribute key any exported member has, in
 * byte order, then one row per member in the order they were first added;
 * a member without a name or an attribute gets an empty cell. Fields are
 * quoted when they hold a comma or a quote (RFC 4180); lines end in LF.
 * With --json: JSON lines instead, one object per member in the same
 * order, {"email", "name", "attributes": {KEY: VALUE…}}.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "herald.h"
#include "cmd.h"
#include "cmd_sub.h"
#include "config.h"
#include "csv.h"
#include "json_out.h"
#include "segment.h"
#include "store.h"

struct export {
	struct store *store;
	gint64 list_id;
	const struct segment *seg;
	GPtrArray *keys;	/* char *, the attribute columns */
	GHashTable *col;	/* key -> column index + 1 */
};

/* export_query - run SELECT_LIST over the segment's members */
static sqlite3_stmt *
export_query(struct export *ex, const char *select, const char *order,
    GError **error)
{
	g_autoptr(GString) sql = g_string_new(select);
	g_autoptr(GPtrArray) params = g_ptr_array_new();
	sqlite3_stmt *st;

	g_string_append(sql, " WHERE m.list_id = ?1 AND m.status = 'active'");
	if (ex->seg != NULL) {
		g_string_append(sql, " AND ");
		segment_to_sql(ex->seg, sql, params);
	}
	g_string_append(sql, order);
	if ((st = store_prepare(ex->store, sql->str, error)) == NULL)
		return NULL;
	sqlite3_bind_int64(st, 1, ex->list_id);
	segment_bind(st, 2, params);
	return st;
}

/* export_keys - the attribute keys of the exported members */
static gboolean
export_keys(struct export *ex, GError **error)
{
	g_autoptr(sqlite3_stmt) st = export_query(ex,
	    "SELECT DISTINCT a.key FROM memberships m"
	    " JOIN subscribers s ON s.id = m.subscriber_id"
	    " JOIN json_each(s.attrs) a",
	    " ORDER BY a.key", error);
	int rc;

	if (st == NULL)
		return FALSE;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char *key = g_strdup((const char *)sqlite3_column_text(st, 0));

		g_ptr_array_add(ex->keys, key);
		g_hash_table_insert(ex->col, key, GUINT_TO_POINTER(ex->keys->len));
	}
	if (rc != SQLITE_DONE) {
		herald_set_sqlite_error(error, ex->store->db, rc,
		    "reading attribute names");
		return FALSE;
	}
	return TRUE;
}

/* export_flush - one finished row to stdout */
static gboolean
export_row(GString *out, char **cells, guint n, GError **error)
{
	guint i;

	for (i = 0; i < n; i++) {
		if (i > 0)
			g_string_append_c(out, ',');
		csv_append_field(out, cells[i]);
	}
	g_string_append_c(out, '\n');
	if (fwrite(out->str, 1, out->len, stdout) != out->len) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_IO,
		    "writing: %s", g_strerror(errno));
		return FALSE;
	}
	g_string_truncate(out, 0);
	return TRUE;
}

/* export_rows - the header and every member */
static gboolean
export_rows(struct export *ex, GError **error)
{
	g_autoptr(sqlite3_stmt) st = export_query(ex,
	    "SELECT s.id, s.email, s.name, a.key, a.value FROM memberships m"
	    " JOIN subscribers s ON s.id = m.subscriber_id"
	    " LEFT JOIN json_each(s.attrs) a",
	    " ORDER BY s.id", error);
	g_autoptr(GString) out = g_string_new(NULL);
	guint n = ex->keys->len + 2, i;
	g_autofree char **cells = g_new0(char *, n);
	gint64 cur = 0;
	int rc;

	if (st == NULL)
		return FALSE;
	cells[0] = (char *)"email";
	cells[1] = (char *)"name";
	for (i = 0; i < ex->keys->len; i++)
		cells[i + 2] = g_ptr_array_index(ex->keys, i);
	if (!export_row(out, cells, n, error))
		return FALSE;
	memset(cells, 0, n * sizeof(char *));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		gint64 id = sqlite3_column_int64(st, 0);
		const char *key = (const char *)sqlite3_column_text(st, 3);
		guint c;

		if (id != cur) {
			if (cur != 0 && !export_row(out, cells, n, error))
				goto fail;
			for (i = 0; i < n; i++)
				g_clear_pointer(&cells[i], g_free);
			cur = id;
			cells[0] = g_strdup((const char *)sqlite3_column_text(st, 1));
			cells[1] = g_strdup((const char *)sqlite3_column_text(st, 2));
		}
		if (key != NULL &&
		    (c = GPOINTER_TO_UINT(g_hash_table_lookup(ex->col, key))) > 0)
			cells[c + 1] = g_strdup(
			    (const char *)sqlite3_column_text(st, 4));
	}
	if (rc != SQLITE_DONE) {
		herald_set_sqlite_error(error, ex->store->db, rc,
		    "reading subscribers");
		goto fail;
	}
	if (cur != 0 && !export_row(out, cells, n, error))
		goto fail;
	for (i = 0; i < n; i++)
		g_free(cells[i]);
	if (fflush(stdout) != 0) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_IO,
		    "writing: %s", g_strerror(errno));
		return FALSE;
	}
	return TRUE;
fail:
	for (i = 0; i < n; i++)
		g_free(cells[i]);
	return FALSE;
}

/* export_json - one JSON object a line per member */
static gboolean
export_json(struct export *ex, GError **error)
{
	g_autoptr(sqlite3_stmt) st = export_query(ex,
	    "SELECT s.id, s.email, s.name, a.key, a.value FROM memberships m"
	    " JOIN subscribers s ON s.id = m.subscriber_id"
	    " LEFT JOIN json_each(s.attrs) a",
	    " ORDER BY s.id", error);
	struct json_out jo;
	gint64 cur = 0;
	int rc;

	if (st == NULL)
		return FALSE;
	json_out_init(&jo, stdout);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		gint64 id = sqlite3_column_int64(st, 0);
		const char *key = (const char *)sqlite3_column_text(st, 3);

		if (id != cur) {
			if (cur != 0) {
				json_out_end(&jo);
				json_out_end(&jo);
				json_out_end_line(&jo);
			}
			cur = id;
			json_out_object(&jo);
			json_out_kstring(&jo, "email",
			    (const char *)sqlite3_column_text(st, 1));
			json_out_kstring(&jo, "name",
			    (const char *)sqlite3_column_text(st, 2));
			json_out_key(&jo, "attributes");
			json_out_object(&jo);
		}
		if (key != NULL)
			json_out_kstring(&jo, key,
			    (const char *)sqlite3_column_text(st, 4));
	}
	if (cur != 0) {
		json_out_end(&jo);
		json_out_end(&jo);
		json_out_end_line(&jo);
	}
	if (rc != SQLITE_DONE) {
		herald_set_sqlite_error(error, ex->store->db, rc,
		    "reading subscribers");
		return FALSE;
	}
	if (fflush(stdout) != 0) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_IO,
		    "writing: %s", g_strerror(errno));
		return FALSE;
	}
	return TRUE;
}

int
cmd_sub_export(struct herald *h, int argc, char **argv)
{
	g_autofree char *segname = NULL, *where = NULL;
	gboolean json = FALSE;
	const GOptionEntry entries[] = {
		{ "segment", 0, 0, G_OPTION_ARG_STRING, &segname,
		    "only the members of this segment", "NAME" },
		{ "where", 0, 0, G_OPTION_ARG_STRING, &where,
		    "only the members this expression matches", "EXPR" },
		{ "json", 0, 0, G_OPTION_ARG_NONE, &json,
		    "JSON lines instead of CSV: one object per member", NULL },
		{ NULL }
	};
	struct export ex = { 0 };
	g_autoptr(segment) seg = NULL;
	const struct list_config *list;
	const struct segment_def *def;
	GError *error = NULL;
	int rc = EX_OK;

	if (!cmd_parse("sub export", "LIST", "Write LIST's active members (or "
	    "a segment's) as CSV on stdout.", entries, &argc, &argv))
		return EX_USAGE;
	if (argc != 2 || (segname != NULL && where != NULL)) {
		fprintf(stderr, "herald sub export: wants LIST, and at most one of "
		    "--segment and --where (try \"herald sub export --help\")\n");
		return EX_USAGE;
	}
	if ((list = cmd_sub_list(h, "sub export", argv[1], &rc)) == NULL)
		return rc;
	if (segname != NULL) {
		if ((def = config_segment(list, segname)) == NULL) {
			g_set_error(&error, HERALD_ERROR, HERALD_ERROR_NOUSER,
			    "%s has no segment \"%s\"", list->name, segname);
			return cmd_error("sub export", error);
		}
		if ((seg = segment_compile(def->where, &error)) == NULL) {
			error->code = HERALD_ERROR_CONFIG;
			g_prefix_error(&error, "%s:%d: segment %s: ", list->file,
			    def->line, def->name);
			return cmd_error("sub export", error);
		}
	} else if (where != NULL &&
	    (seg = segment_compile(where, &error)) == NULL) {
		g_prefix_error(&error, "--where: ");
		return cmd_error("sub export", error);
	}
	ex.store = h->store;
	ex.seg = seg;
	ex.keys = g_ptr_array_new_with_free_func(g_free);
	ex.col = g_hash_table_new(g_str_hash, g_str_equal);
	ex.list_id = store_list_id(h->store, list->name, FALSE, NULL);
	if (json ? !export_json(&ex, &error) :
	    !export_keys(&ex, &error) || !export_rows(&ex, &error))
		rc = cmd_error("sub export", error);
	g_hash_table_unref(ex.col);
	g_ptr_array_unref(ex.keys);
	return rc;
}
