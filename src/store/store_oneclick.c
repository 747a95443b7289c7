/*
 * store_oneclick.c - a group of one-click unsubscribes from one list in
 * a few set-based statements (see store_oneclick.h for the contract).
 *
 * Why: herald serve's writer takes every one-click POST queued into one
 * transaction; done one by one (action_unsubscribe in a savepoint) each
 * cost about nine statements, and on PostgreSQL every statement is a
 * round trip to the server and most of its CPU per POST. Here the
 * requests' distinct subscriber ids go down as one array: on PostgreSQL
 * one statement reads each one's subscriber and membership, updates the
 * members, deletes their unsubscribe confirmations and inserts their
 * events (data-modifying WITH parts, which all see the snapshot the
 * statement started with, so the reads are the statuses before); on
 * SQLite, which runs in the process and has no such WITH, one read and
 * three writes over json_each of the ids, whose write lock the group's
 * transaction holds from its start, so nothing moves in between.
 *
 * What must stay true: the membership change is membership_set's
 * (status, changed, channel; subscribed kept when leaving) and the
 * event store_event's columns; events go in in the order of the
 * requests; a request's answer is taken from the rows of its own id.
 */
#include <string.h>

#include "herald.h"
#include "store_oneclick.h"

/* one distinct subscriber id of the group, and what the store said */
struct oneclick_row {
	gint64 id;
	const char *status;	/* before, static; NULL: no membership */
	gboolean changed;	/* unsubscribed by this group */
	struct subscriber *sub;	/* NULL: no such subscriber */
};

/* oneclick_leaves - a member with STATUS is unsubscribed by a one-click
 * (action_unsubscribe_moot's rule: not unsubscribed, not blocklisted) */
static gboolean
oneclick_leaves(const char *status)
{
	return status != NULL && strcmp(status, MEMBER_UNSUBSCRIBED) != 0 &&
	    strcmp(status, MEMBER_BLOCKLISTED) != 0;
}

/* oneclick_read - the current row of Q (id, email, name, created,
 * status, changed) into the row of ROWS its id names (BY_ID: id ->
 * index + 1) */
static void
oneclick_read(struct store_rows *q, GArray *rows, GHashTable *by_id)
{
	gint64 id = store_int(q, 0);
	guint k = GPOINTER_TO_UINT(g_hash_table_lookup(by_id, &id));
	struct oneclick_row *row;

	if (k == 0)
		return;	/* not asked for: cannot be, the ids are ours */
	row = &g_array_index(rows, struct oneclick_row, k - 1);
	row->status = membership_intern(store_text(q, 4));
	row->changed = store_int(q, 5) != 0;
	if (row->sub == NULL && !store_null(q, 1))
		row->sub = subscriber_from_row(q, 0);
}

/* oneclick_array - the ids of ROWS (those that leave, with LEAVING) as
 * one parameter (store_id_list) */
static char *
oneclick_array(struct store *store, GArray *rows, gboolean leaving)
{
	g_autoptr(GArray) ids = g_array_sized_new(FALSE, FALSE, sizeof(gint64),
	    rows->len);
	guint i;

	for (i = 0; i < rows->len; i++) {
		struct oneclick_row *r = &g_array_index(rows,
		    struct oneclick_row, i);

		if (!leaving || oneclick_leaves(r->status))
			g_array_append_val(ids, r->id);
	}
	return store_id_list(store, (const gint64 *)(void *)ids->data,
	    ids->len);
}

/* oneclick_rows - read every row of Q into ROWS; *LIST_ID from column 6
 * (NULL: no list row, 0) */
static gboolean
oneclick_rows(struct store_rows *q, GArray *rows, GHashTable *by_id,
    gint64 *list_id, GError **error)
{
	GError *err = NULL;

	if (q == NULL)
		return FALSE;
	while (store_next(q, &err)) {
		*list_id = store_null(q, 6) ? 0 : store_int(q, 6);
		oneclick_read(q, rows, by_id);
	}
	if (err != NULL) {
		g_propagate_error(error, err);
		return FALSE;
	}
	return TRUE;
}

/* oneclick_pg - the whole group in one statement (PostgreSQL) */
static gboolean
oneclick_pg(struct store *store, const char *list, const char *channel,
    const char *how, gint64 now, GArray *rows, GHashTable *by_id,
    gint64 *list_id, GError **error)
{
	g_autofree char *ids = oneclick_array(store, rows, FALSE);
	g_autoptr(store_rows) q = store_select(store,
	    "WITH l AS (SELECT id FROM lists WHERE name = ?1),"
	    " r AS (SELECT v.sid, v.n FROM unnest(CAST(?2 AS bigint[]))"
	    "  WITH ORDINALITY AS v(sid, n)),"
	    " c AS (SELECT r.sid, r.n, s.email, s.name, s.created, m.status"
	    "  FROM r LEFT JOIN subscribers s ON s.id = r.sid"
	    "  LEFT JOIN memberships m ON m.list_id = (SELECT id FROM l)"
	    "  AND m.subscriber_id = r.sid),"
	    " u AS (UPDATE memberships m SET status = 'unsubscribed',"
	    "  changed = ?3, channel = CAST(?4 AS text) FROM r"
	    "  WHERE m.list_id = (SELECT id FROM l) AND m.subscriber_id = r.sid"
	    "  AND m.status NOT IN ('unsubscribed', 'blocklisted')"
	    "  RETURNING m.subscriber_id),"
	    " d AS (DELETE FROM confirmations f USING u"
	    "  WHERE f.list_id = (SELECT id FROM l)"
	    "  AND f.subscriber_id = u.subscriber_id"
	    "  AND f.action = 'unsubscribe'),"
	    " e AS (INSERT INTO events(list_id, subscriber_id, action, channel,"
	    "  detail) SELECT (SELECT id FROM l), r.sid, 'unsubscribe',"
	    "  CAST(?4 AS text), CAST(?5 AS text) FROM r"
	    "  JOIN u ON u.subscriber_id = r.sid ORDER BY r.n)"
	    " SELECT c.sid, c.email, c.name, c.created, c.status,"
	    " u.subscriber_id IS NOT NULL, (SELECT id FROM l)"
	    " FROM c LEFT JOIN u ON u.subscriber_id = c.sid ORDER BY c.n",
	    error, SQ_TEXT(list), SQ_TEXT(ids), SQ_INT(now), SQ_TEXT(channel),
	    SQ_TEXT(how), SQ_END);

	return oneclick_rows(q, rows, by_id, list_id, error);
}

/* oneclick_sqlite_write - the members among ROWS off list LIST_ID:
 * membership, confirmations, events (SQLite) */
static gboolean
oneclick_sqlite_write(struct store *store, gint64 list_id,
    const char *channel, const char *how, gint64 now, GArray *rows,
    GError **error)
{
	g_autofree char *ids = oneclick_array(store, rows, TRUE);
	guint i, n = 0;

	for (i = 0; i < rows->len; i++)
		n += oneclick_leaves(g_array_index(rows, struct oneclick_row,
		    i).status);
	if (n == 0)
		return TRUE;
	if (!store_run(store, "UPDATE memberships SET status = 'unsubscribed',"
	    " changed = ?3, channel = ?4 WHERE list_id = ?1 AND subscriber_id"
	    " IN (SELECT value FROM json_each(?2))", error, SQ_INT(list_id),
	    SQ_TEXT(ids), SQ_INT(now), SQ_TEXT(channel), SQ_END))
		return FALSE;
	if ((guint)store_changes(store) != n) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_SOFTWARE,
		    "one-click group: %d memberships changed, %u expected",
		    store_changes(store), n);
		return FALSE;
	}
	for (i = 0; i < rows->len; i++) {
		struct oneclick_row *r = &g_array_index(rows,
		    struct oneclick_row, i);

		r->changed = oneclick_leaves(r->status);
	}
	return store_run(store, "DELETE FROM confirmations WHERE list_id = ?1"
	    " AND action = 'unsubscribe' AND subscriber_id IN"
	    " (SELECT value FROM json_each(?2))", error, SQ_INT(list_id),
	    SQ_TEXT(ids), SQ_END) &&
	    store_run(store, "INSERT INTO events(list_id, subscriber_id,"
	    " action, channel, detail) SELECT ?1, value, 'unsubscribe', ?3, ?4"
	    " FROM json_each(?2) ORDER BY key", error, SQ_INT(list_id),
	    SQ_TEXT(ids), SQ_TEXT(channel), SQ_TEXT(how), SQ_END);
}

/* oneclick_sqlite - the group in one read and three writes (SQLite) */
static gboolean
oneclick_sqlite(struct store *store, const char *list, const char *channel,
    const char *how, gint64 now, GArray *rows, GHashTable *by_id,
    gint64 *list_id, GError **error)
{
	g_autofree char *ids = oneclick_array(store, rows, FALSE);
	g_autoptr(store_rows) q = NULL;

	if ((*list_id = store_list_row(store, list, FALSE, error)) < 0)
		return FALSE;
	q = store_select(store, "SELECT j.value, s.email, s.name, s.created,"
	    " m.status, 0, nullif(?1, 0) FROM json_each(?2) j"
	    " LEFT JOIN subscribers s ON s.id = j.value"
	    " LEFT JOIN memberships m ON m.list_id = ?1"
	    " AND m.subscriber_id = j.value ORDER BY j.key", error,
	    SQ_INT(*list_id), SQ_TEXT(ids), SQ_END);
	if (!oneclick_rows(q, rows, by_id, list_id, error))
		return FALSE;
	return oneclick_sqlite_write(store, *list_id, channel, how, now, rows,
	    error);
}

/* oneclick_answer - ITEM's out fields from ROW; FIRST FALSE for a later
 * request of the same subscriber, which finds the first one's work */
static void
oneclick_answer(struct store_oneclick *item, const struct oneclick_row *row,
    gboolean first)
{
	if (row->sub != NULL) {
		item->sub = g_new0(struct subscriber, 1);
		item->sub->id = row->sub->id;
		item->sub->email = g_strdup(row->sub->email);
		item->sub->name = g_strdup(row->sub->name);
		item->sub->created = row->sub->created;
		item->sub->attrs = g_hash_table_new_full(g_str_hash,
		    g_str_equal, g_free, g_free);
	}
	item->status = row->status;
	if (row->sub == NULL)
		item->found = STORE_ONECLICK_NO_SUBSCRIBER;
	else if (row->status == NULL)
		item->found = STORE_ONECLICK_NOT_MEMBER;
	else if (row->changed && first)
		item->found = STORE_ONECLICK_DONE;
	else {
		item->found = STORE_ONECLICK_ALREADY;
		/* unsubscribed by the first, or (PostgreSQL) by another
		 * host between the statement's snapshot and its update */
		if (oneclick_leaves(row->status))
			item->status = MEMBER_UNSUBSCRIBED;
	}
}

/* store_oneclick_clear - see store_oneclick.h */
void
store_oneclick_clear(struct store_oneclick *items, guint n)
{
	guint i;

	for (i = 0; i < n; i++) {
		g_clear_pointer(&items[i].sub, subscriber_free);
		items[i].status = NULL;
		items[i].found = STORE_ONECLICK_NOT_MEMBER;
	}
}

/* store_oneclick_unsubscribe - see store_oneclick.h */
gboolean
store_oneclick_unsubscribe(struct store *store, const char *list,
    const char *channel, const char *how, gint64 now,
    struct store_oneclick *items, guint n, gint64 *list_id, GError **error)
{
	g_autoptr(GArray) rows = g_array_new(FALSE, TRUE,
	    sizeof(struct oneclick_row));
	g_autoptr(GHashTable) by_id = g_hash_table_new(g_int64_hash,
	    g_int64_equal);
	gboolean ok;
	guint i;

	*list_id = 0;
	store_oneclick_clear(items, n);
	for (i = 0; i < n; i++) {
		struct oneclick_row r = { items[i].sub_id, NULL, FALSE, NULL };

		if (g_hash_table_contains(by_id, &items[i].sub_id))
			continue;
		g_array_append_val(rows, r);
		g_hash_table_insert(by_id, &items[i].sub_id,
		    GUINT_TO_POINTER(rows->len));
	}
	/* arrays (PostgreSQL) come with data-modifying WITH parts */
	ok = n == 0 || (store_has(store, STORE_ARRAYS) ? oneclick_pg :
	    oneclick_sqlite)(store, list, channel, how, now, rows, by_id,
	    list_id, error);
	for (i = 0; ok && i < n; i++) {
		gpointer key = NULL, k = NULL;

		/* the first request of an id is the one whose id is the key */
		(void)g_hash_table_lookup_extended(by_id, &items[i].sub_id, &key,
		    &k);
		oneclick_answer(&items[i], &g_array_index(rows,
		    struct oneclick_row, GPOINTER_TO_UINT(k) - 1),
		    key == &items[i].sub_id);
	}
	for (i = 0; i < rows->len; i++)
		subscriber_free(g_array_index(rows, struct oneclick_row, i).sub);
	if (!ok)
		*list_id = 0;
	return ok;
}
