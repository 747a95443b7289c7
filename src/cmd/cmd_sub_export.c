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
 *
 * Must stay true: herald sub import reads what this writes back
 * unchanged; no SQL here (store_admin.h reads the members).
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
#include "store_admin.h"

struct export {
	struct store *store;
	gint64 list_id;
	const struct segment *seg;
	GPtrArray *keys;	/* char *, the attribute columns */
	GHashTable *col;	/* key -> column index + 1 */
	/* the row being gathered */
	GString *out;		/* CSV: its text */
	char **cells;		/* CSV: email, name, then one per key */
	guint n;		/* CSV: cells */
	struct json_out jo;	/* JSON */
	gint64 cur;		/* its subscriber, 0 before the first */
};

/* export_keys - the attribute keys of the exported members */
static gboolean
export_keys(struct export *ex, GError **error)
{
	GPtrArray *keys = store_export_keys(ex->store, ex->list_id, ex->seg,
	    error);
	guint i;

	if (keys == NULL)
		return FALSE;
	g_ptr_array_unref(ex->keys);
	ex->keys = keys;
	for (i = 0; i < keys->len; i++)
		g_hash_table_insert(ex->col, g_ptr_array_index(keys, i),
		    GUINT_TO_POINTER(i + 1));
	return TRUE;
}

/* export_flush - stdout flushed, or an IO error */
static gboolean
export_flush(GError **error)
{
	if (fflush(stdout) != 0) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_IO,
		    "writing: %s", g_strerror(errno));
		return FALSE;
	}
	return TRUE;
}

/* export_row - one finished row to stdout */
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

/* export_cells_clear - the gathered row's cells freed */
static void
export_cells_clear(struct export *ex)
{
	guint i;

	for (i = 0; i < ex->n; i++)
		g_clear_pointer(&ex->cells[i], g_free);
}

/* export_csv_row - one row of the store: the previous member written
 * when it starts another, its attribute put in its column */
static gboolean
export_csv_row(const struct store_export_row *row, gpointer data,
    GError **error)
{
	struct export *ex = data;
	guint c;

	if (row->id != ex->cur) {
		if (ex->cur != 0 && !export_row(ex->out, ex->cells, ex->n, error))
			return FALSE;
		export_cells_clear(ex);
		ex->cur = row->id;
		ex->cells[0] = g_strdup(row->email);
		ex->cells[1] = g_strdup(row->name);
	}
	if (row->key != NULL &&
	    (c = GPOINTER_TO_UINT(g_hash_table_lookup(ex->col, row->key))) > 0)
		ex->cells[c + 1] = g_strdup(row->value);
	return TRUE;
}

/* export_rows - the header and every member */
static gboolean
export_rows(struct export *ex, GError **error)
{
	g_autoptr(GString) out = g_string_new(NULL);
	g_autofree char **cells = NULL;
	gboolean ok;
	guint i;

	ex->n = ex->keys->len + 2;
	cells = g_new0(char *, ex->n);
	cells[0] = (char *)"email";
	cells[1] = (char *)"name";
	for (i = 0; i < ex->keys->len; i++)
		cells[i + 2] = g_ptr_array_index(ex->keys, i);
	if (!export_row(out, cells, ex->n, error))
		return FALSE;
	memset(cells, 0, ex->n * sizeof(char *));
	ex->out = out;
	ex->cells = cells;
	ok = store_export_members(ex->store, ex->list_id, ex->seg,
	    export_csv_row, ex, error) &&
	    (ex->cur == 0 || export_row(out, cells, ex->n, error));
	export_cells_clear(ex);
	return ok && export_flush(error);
}

/* export_json_close - the end of the object of the member before */
static void
export_json_close(struct export *ex)
{
	if (ex->cur == 0)
		return;
	json_out_end(&ex->jo);
	json_out_end(&ex->jo);
	json_out_end_line(&ex->jo);
}

/* export_json_row - one row of the store as part of a member's object */
static gboolean
export_json_row(const struct store_export_row *row, gpointer data,
    GError **error)
{
	struct export *ex = data;

	if (row->id != ex->cur) {
		export_json_close(ex);
		ex->cur = row->id;
		json_out_object(&ex->jo);
		json_out_kstring(&ex->jo, "email", row->email);
		json_out_kstring(&ex->jo, "name", row->name);
		json_out_key(&ex->jo, "attributes");
		json_out_object(&ex->jo);
	}
	if (row->key != NULL)
		json_out_kstring(&ex->jo, row->key, row->value);
	return TRUE;
}

/* export_json - one JSON object a line per member */
static gboolean
export_json(struct export *ex, GError **error)
{
	gboolean ok;

	json_out_init(&ex->jo, stdout);
	ok = store_export_members(ex->store, ex->list_id, ex->seg,
	    export_json_row, ex, error);
	export_json_close(ex);
	return ok && export_flush(error);
}

/* export_segment - the segment --segment NAME or --where EXPR names on
 * LIST into *SEG (NULL for neither); FALSE and *ERROR when it cannot */
static gboolean
export_segment(const struct list_config *list, const char *segname,
    const char *where, struct segment **seg, GError **error)
{
	const struct segment_def *def;

	*seg = NULL;
	if (segname != NULL) {
		if ((def = config_segment(list, segname)) == NULL) {
			g_set_error(error, HERALD_ERROR, HERALD_ERROR_NOUSER,
			    "%s has no segment \"%s\"", list->name, segname);
			return FALSE;
		}
		if ((*seg = segment_compile(def->where, error)) == NULL) {
			(*error)->code = HERALD_ERROR_CONFIG;
			g_prefix_error(error, "%s:%d: segment %s: ", list->file,
			    def->line, def->name);
			return FALSE;
		}
	} else if (where != NULL &&
	    (*seg = segment_compile(where, error)) == NULL) {
		g_prefix_error(error, "--where: ");
		return FALSE;
	}
	return TRUE;
}

/* cmd_sub_export - herald sub export LIST [--segment NAME|--where EXPR] */
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
	if (!export_segment(list, segname, where, &seg, &error))
		return cmd_error("sub export", error);
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
