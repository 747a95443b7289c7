/*
 * audience.c - the members of a list's segments, and the segments one
 * subscriber matches, for herald render and herald preview.
 *
 * Each segment's expression is compiled once (segment.c) and turned into
 * SQL with bound parameters for each query. The queries read memberships
 * (alias m) joined to subscribers (alias s), active members only.
 */
#include <string.h>

#include "herald.h"
#include "audience.h"
#include "segment.h"

struct audience {
	struct store *store;
	gint64 list_id;
	GPtrArray *names;	/* char *, NULL-terminated */
	GPtrArray *segs;	/* struct segment *, same order */
};

void
audience_free(struct audience *a)
{
	if (a == NULL)
		return;
	g_ptr_array_unref(a->names);
	g_ptr_array_unref(a->segs);
	g_free(a);
}

struct audience *
audience_new(struct store *store, const struct list_config *list,
    const char *const *order, GError **error)
{
	g_autoptr(audience) a = g_new0(struct audience, 1);
	guint i, n;

	a->store = store;
	a->names = g_ptr_array_new_with_free_func(g_free);
	a->segs = g_ptr_array_new_with_free_func((GDestroyNotify)segment_free);
	a->list_id = store_list_id(store, list->name, TRUE, error);
	if (a->list_id <= 0)
		return NULL;
	n = order != NULL ? g_strv_length((char **)order) :
	    (list->segments != NULL ? list->segments->len : 0);
	for (i = 0; i < n; i++) {
		const struct segment_def *def = order != NULL ?
		    config_segment(list, order[i]) :
		    g_ptr_array_index(list->segments, i);
		struct segment *seg;

		if (def == NULL) {
			g_set_error(error, HERALD_ERROR, HERALD_ERROR_USAGE,
			    "list %s has no segment \"%s\"", list->name, order[i]);
			return NULL;
		}
		if ((seg = segment_compile(def->where, error)) == NULL) {
			g_prefix_error(error, "%s:%d: segment %s: ", list->file,
			    def->line, def->name);
			(*error)->code = HERALD_ERROR_CONFIG;
			return NULL;
		}
		g_ptr_array_add(a->names, g_strdup(def->name));
		g_ptr_array_add(a->segs, seg);
	}
	g_ptr_array_add(a->names, NULL);
	return g_steal_pointer(&a);
}

const char *const *
audience_order(const struct audience *a)
{
	return (const char *const *)a->names->pdata;
}

/* audience_find - the compiled segment NAME, or NULL */
static const struct segment *
audience_find(const struct audience *a, const char *name)
{
	guint i;

	for (i = 0; i < a->segs->len; i++)
		if (strcmp(g_ptr_array_index(a->names, i), name) == 0)
			return g_ptr_array_index(a->segs, i);
	return NULL;
}

gboolean
audience_match(struct audience *a, gint64 subscriber_id, GPtrArray *matched,
    GError **error)
{
	guint i;

	for (i = 0; i < a->segs->len; i++) {
		g_autoptr(GString) sql = g_string_new("SELECT 1 FROM memberships m"
		    " JOIN subscribers s ON s.id = m.subscriber_id"
		    " WHERE m.list_id = ?1 AND m.subscriber_id = ?2"
		    " AND m.status = 'active' AND ");
		g_autoptr(GPtrArray) params = g_ptr_array_new();
		g_autoptr(sqlite3_stmt) st = NULL;
		int rc;

		segment_to_sql(g_ptr_array_index(a->segs, i), sql, params);
		if ((st = store_prepare(a->store, sql->str, error)) == NULL)
			return FALSE;
		sqlite3_bind_int64(st, 1, a->list_id);
		sqlite3_bind_int64(st, 2, subscriber_id);
		segment_bind(st, 3, params);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			g_ptr_array_add(matched, g_ptr_array_index(a->names, i));
		else if (rc != SQLITE_DONE) {
			herald_set_sqlite_error(error, a->store->db, rc,
			    "matching segments");
			return FALSE;
		}
	}
	return TRUE;
}

/* audience_query - "SELECT <what> …" over active members of SEGMENT */
static sqlite3_stmt *
audience_query(struct audience *a, const char *what, const char *segment,
    const char *tail, GError **error)
{
	g_autoptr(GString) sql = g_string_new(NULL);
	g_autoptr(GPtrArray) params = g_ptr_array_new();
	const struct segment *seg = NULL;
	sqlite3_stmt *st;

	if (segment != NULL && (seg = audience_find(a, segment)) == NULL) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_USAGE,
		    "no segment \"%s\" here", segment);
		return NULL;
	}
	g_string_printf(sql, "SELECT %s FROM memberships m"
	    " JOIN subscribers s ON s.id = m.subscriber_id"
	    " WHERE m.list_id = ?1 AND m.status = 'active'", what);
	if (seg != NULL) {
		g_string_append(sql, " AND ");
		segment_to_sql(seg, sql, params);
	}
	g_string_append(sql, tail);
	if ((st = store_prepare(a->store, sql->str, error)) == NULL)
		return NULL;
	sqlite3_bind_int64(st, 1, a->list_id);
	segment_bind(st, 2, params);
	return st;
}

GArray *
audience_members(struct audience *a, const char *segment, guint limit,
    GError **error)
{
	g_autoptr(sqlite3_stmt) st = audience_query(a, "s.id", segment,
	    " ORDER BY s.id", error);
	g_autoptr(GArray) ids = g_array_new(FALSE, FALSE, sizeof(gint64));
	int rc;

	if (st == NULL)
		return NULL;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW &&
	    (limit == 0 || ids->len < limit)) {
		gint64 id = sqlite3_column_int64(st, 0);

		g_array_append_val(ids, id);
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		herald_set_sqlite_error(error, a->store->db, rc,
		    "listing segment members");
		return NULL;
	}
	return g_steal_pointer(&ids);
}

gint64
audience_count(struct audience *a, const char *segment, GError **error)
{
	g_autoptr(sqlite3_stmt) st = audience_query(a, "count(*)", segment, "",
	    error);
	int rc;

	if (st == NULL)
		return -1;
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		herald_set_sqlite_error(error, a->store->db, rc,
		    "counting segment members");
		return -1;
	}
	return sqlite3_column_int64(st, 0);
}
