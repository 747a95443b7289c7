/*
 * store_admin.c - the lists and members as the administrator's commands
 * read them (herald lists, segment, sub export), a bulk import's
 * connection settings, and the engine's version (see store_admin.h).
 *
 * A query over a segment goes through store_segment_select (its SQL is
 * built for the segment, its values numbered there); every other
 * statement through store_select or store_exec.
 *
 * Must stay true: nothing here writes a row; every value is bound.
 */
#include <string.h>
#include <sqlite3.h>

#include "herald.h"
#include "store.h"
#include "store_sqlite.h"
#include "store_admin.h"
#include "store_segment.h"

/* a row of store_admin_each, read from ROWS */
typedef gboolean (*store_admin_row_fn)(struct store_rows *rows,
    gpointer data, GError **error);

/* store_admin_each - HEAD over the active members of LIST_ID (m, the
 * membership; those SEG matches, unless NULL), then TAIL; each row to FN */
static gboolean
store_admin_each(struct store *store, const char *head, gint64 list_id,
    const struct segment *seg, const char *tail, store_admin_row_fn fn,
    gpointer data, GError **error)
{
	g_autoptr(store_rows) rows = store_segment_select(store, head, list_id,
	    seg, tail, error);
	GError *err = NULL;

	if (rows == NULL)
		return FALSE;
	while (store_next(rows, &err))
		if (!fn(rows, data, error))
			return FALSE;
	if (err != NULL) {
		g_propagate_error(error, err);
		return FALSE;
	}
	return TRUE;
}

/* store_list_status_counts - see store_admin.h */
gboolean
store_list_status_counts(struct store *store, const char *name,
    const char *const *statuses, guint n, gint64 *counts, GError **error)
{
	g_autoptr(store_rows) rows = store_select(store,
	    "SELECT m.status, count(*) FROM memberships m"
	    " JOIN lists l ON l.id = m.list_id WHERE l.name = ?1"
	    " GROUP BY m.status", error, SQ_TEXT(name), SQ_END);
	GError *err = NULL;
	guint j;

	memset(counts, 0, n * sizeof(*counts));
	if (rows == NULL)
		return FALSE;
	while (store_next(rows, &err))
		for (j = 0; j < n; j++)
			if (strcmp(store_text(rows, 0), statuses[j]) == 0)
				counts[j] = store_int(rows, 1);
	if (err != NULL) {
		g_propagate_prefixed_error(error, err, "counting members: ");
		return FALSE;
	}
	return TRUE;
}

/* store_segment_moves - see store_admin.h (the events segment-left and
 * segment-joined that segment_moves.c writes, channel web) */
gboolean
store_segment_moves(struct store *store, const char *name, gint64 since,
    void (*fn)(const char *segment, gboolean left, gint64 count,
    gpointer data), gpointer data, GError **error)
{
	g_autoptr(store_rows) rows = store_select(store,
	    "SELECT e.detail, e.action, count(DISTINCT e.subscriber_id)"
	    " FROM events e JOIN lists l ON l.id = e.list_id"
	    " WHERE l.name = ?1 AND e.at >= ?2 AND e.channel = 'web'"
	    " AND e.action IN ('segment-left', 'segment-joined')"
	    " GROUP BY e.detail, e.action", error, SQ_TEXT(name),
	    SQ_INT(since), SQ_END);
	GError *err = NULL;

	if (rows == NULL)
		return FALSE;
	while (store_next(rows, &err))
		fn(store_text(rows, 0), strcmp(store_text(rows, 1),
		    "segment-left") == 0, store_int(rows, 2), data);
	if (err != NULL) {
		g_propagate_prefixed_error(error, err, "reading segment moves: ");
		return FALSE;
	}
	return TRUE;
}

/* what store_segment_emails hands its rows to */
struct store_emails {
	void (*fn)(const char *email, gpointer data);
	gpointer data;
};

/* store_segment_email - one row of store_segment_emails */
static gboolean
store_segment_email(struct store_rows *rows, gpointer data, GError **error)
{
	struct store_emails *e = data;

	e->fn(store_text(rows, 0), e->data);
	return TRUE;
}

/* store_segment_emails - see store_admin.h */
gboolean
store_segment_emails(struct store *store, gint64 list_id,
    const struct segment *seg, void (*fn)(const char *email, gpointer data),
    gpointer data, GError **error)
{
	struct store_emails e = { fn, data };

	if (!store_admin_each(store, "SELECT s.email FROM memberships m"
	    " JOIN subscribers s ON s.id = m.subscriber_id", list_id, seg,
	    " ORDER BY s.id", store_segment_email, &e, error)) {
		g_prefix_error(error, "listing a segment: ");
		return FALSE;
	}
	return TRUE;
}

/* store_export_key - one row of store_export_keys */
static gboolean
store_export_key(struct store_rows *rows, gpointer data, GError **error)
{
	g_ptr_array_add(data, g_strdup(store_text(rows, 0)));
	return TRUE;
}

/* store_export_keys - see store_admin.h */
GPtrArray *
store_export_keys(struct store *store, gint64 list_id,
    const struct segment *seg, GError **error)
{
	g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func(g_free);

	if (!store_admin_each(store, "SELECT DISTINCT a.key FROM memberships m"
	    " JOIN subscribers s ON s.id = m.subscriber_id"
	    " JOIN json_each(s.attrs) a ON TRUE", list_id, seg, " ORDER BY a.key",
	    store_export_key, keys, error)) {
		g_prefix_error(error, "reading attribute names: ");
		return NULL;
	}
	return g_steal_pointer(&keys);
}

/* what store_export_members hands its rows to */
struct store_export {
	gboolean (*fn)(const struct store_export_row *row, gpointer data,
	    GError **error);
	gpointer data;
	gboolean failed;	/* FN said stop: its error, not the query's */
};

/* store_export_member - one row of store_export_members */
static gboolean
store_export_member(struct store_rows *rows, gpointer data, GError **error)
{
	struct store_export *ex = data;
	struct store_export_row row;

	row.id = store_int(rows, 0);
	row.email = store_text(rows, 1);
	row.name = store_text(rows, 2);
	row.key = store_text(rows, 3);
	row.value = store_text(rows, 4);
	if (!ex->fn(&row, ex->data, error)) {
		ex->failed = TRUE;
		return FALSE;
	}
	return TRUE;
}

/* store_export_members - see store_admin.h */
gboolean
store_export_members(struct store *store, gint64 list_id,
    const struct segment *seg,
    gboolean (*fn)(const struct store_export_row *row, gpointer data,
    GError **error), gpointer data, GError **error)
{
	struct store_export ex = { fn, data, FALSE };

	if (!store_admin_each(store, "SELECT s.id, s.email, s.name, a.key,"
	    " a.value FROM memberships m"
	    " JOIN subscribers s ON s.id = m.subscriber_id"
	    " LEFT JOIN json_each(s.attrs) a ON TRUE", list_id, seg, " ORDER BY s.id",
	    store_export_member, &ex, error)) {
		if (!ex.failed)
			g_prefix_error(error, "reading subscribers: ");
		return FALSE;
	}
	return TRUE;
}

/* store_bulk_settings - see store_admin.h */
gboolean
store_bulk_settings(struct store *store, gboolean on, GError **error)
{
	if (!on)
		return store_exec(store, "PRAGMA foreign_keys = ON;"
		    "PRAGMA ignore_check_constraints = OFF", error);
	/* a bigger page cache while the indexes grow (32 MB; an import into
	 * an empty table lowers it again, see subscriber_writer_bulk);
	 * statement journals in memory (a multi-row INSERT may keep one, a
	 * few hundred KB at most; in a temporary file they cost two writes
	 * per page; the choice is fixed when the transaction begins); no
	 * foreign key checks (the pragma is a no-op inside a transaction:
	 * set it first); no CHECK constraints (SQLite evaluates memberships'
	 * "status IN (…)" by building a temporary B-tree per row: a tenth of
	 * an import's time) */
	return store_exec(store, "PRAGMA cache_size = -32768;"
	    "PRAGMA temp_store = MEMORY;"
	    "PRAGMA foreign_keys = OFF;"
	    "PRAGMA ignore_check_constraints = ON", error);
}

/* store_engine_version - see store_admin.h */
const char *
store_engine_version(void)
{
	return sqlite3_libversion();
}
