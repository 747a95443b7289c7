/*
 * audience.c - the members of a list's segments, and the segments one
 * subscriber matches, for herald render and herald preview.
 *
 * Each segment's expression is compiled once (segment.c) and turned into
 * SQL with bound parameters for each query (store_segment.c). The
 * queries read memberships (alias m) joined to subscribers (alias s),
 * active members only.
 */
#include <string.h>

#include "herald.h"
#include "audience.h"
#include "segment.h"
#include "store_dynamic.h"
#include "store_segment.h"

struct audience {
	struct store *store;
	gint64 list_id;
	GPtrArray *names;	/* char *, NULL-terminated */
	GPtrArray *segs;	/* struct segment *, same order */
};

/* audience_free - free A and its compiled segments */
void
audience_free(struct audience *a)
{
	if (a == NULL)
		return;
	g_ptr_array_unref(a->names);
	g_ptr_array_unref(a->segs);
	g_free(a);
}

/* audience_new - LIST's segments in ORDER, compiled */
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

/* audience_order - the segment names, in order */
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

/* audience_match - the segments SUBSCRIBER_ID matches, in order */
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
		g_autoptr(GArray) args = g_array_new(FALSE, FALSE,
		    sizeof(struct store_arg));
		g_autoptr(store_rows) rows = NULL;
		struct store_arg fixed[] = { SQ_INT(a->list_id),
		    SQ_INT(subscriber_id) };
		GError *err = NULL;

		g_array_append_vals(args, fixed, G_N_ELEMENTS(fixed));
		store_segment_sql(g_ptr_array_index(a->segs, i), sql, args);
		rows = store_select_dynamic(a->store, sql->str,
		    (const struct store_arg *)(void *)args->data, args->len,
		    error);
		if (rows == NULL)
			return FALSE;
		if (store_next(rows, &err))
			g_ptr_array_add(matched, g_ptr_array_index(a->names, i));
		else if (err != NULL) {
			g_propagate_error(error, err);
			return FALSE;
		}
	}
	return TRUE;
}

/* audience_query - "SELECT <what> …" over active members of SEGMENT */
static struct store_rows *
audience_query(struct audience *a, const char *what, const char *segment,
    const char *tail, GError **error)
{
	g_autofree char *head = NULL;
	const struct segment *seg = NULL;

	if (segment != NULL && (seg = audience_find(a, segment)) == NULL) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_USAGE,
		    "no segment \"%s\" here", segment);
		return NULL;
	}
	head = g_strdup_printf("SELECT %s FROM memberships m"
	    " JOIN subscribers s ON s.id = m.subscriber_id", what);
	return store_segment_select(a->store, head, a->list_id, seg, tail,
	    error);
}

/* audience_members - ids of active members in SEGMENT, at most LIMIT */
GArray *
audience_members(struct audience *a, const char *segment, guint limit,
    GError **error)
{
	g_autoptr(store_rows) rows = audience_query(a, "s.id", segment,
	    " ORDER BY s.id", error);
	g_autoptr(GArray) ids = g_array_new(FALSE, FALSE, sizeof(gint64));
	GError *err = NULL;

	if (rows == NULL)
		return NULL;
	while ((limit == 0 || ids->len < limit) && store_next(rows, &err)) {
		gint64 id = store_int(rows, 0);

		g_array_append_val(ids, id);
	}
	if (err != NULL) {
		g_propagate_error(error, err);
		return NULL;
	}
	return g_steal_pointer(&ids);
}

/* audience_count - active members in SEGMENT */
gint64
audience_count(struct audience *a, const char *segment, GError **error)
{
	g_autoptr(store_rows) rows = audience_query(a, "count(*)", segment, "",
	    error);

	return store_one_row(rows, "counting segment members", error) ?
	    store_int(rows, 0) : -1;
}
