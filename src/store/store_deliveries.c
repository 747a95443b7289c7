/*
 * store_deliveries.c - a campaign run's reads of its deliveries (see
 * store_deliveries.h).
 *
 * A chunk is read in two statements: its rows joined to their
 * subscribers and memberships, then every attribute of those
 * subscribers (json_each over subscribers.attrs), matched up by
 * subscriber id. Both read the deliveries by rowid range (NOT INDEXED:
 * the chunk's ids bound the scan, not the queue index).
 *
 * Must stay true: every statement here is a literal (cached per
 * connection; a worker of a run has a connection of its own).
 */
#include <string.h>

#include "herald.h"
#include "store_deliveries.h"
#include "subscriber.h"

/* store_delivery_due - count the due deliveries */
gint64
store_delivery_due(struct store *store, gint64 id, gint64 now,
    GError **error)
{
	gint64 n = 0;

	if (store_get_int(store, "SELECT count(*) FROM deliveries WHERE"
	    " campaign_id = ?1 AND state = 'queued' AND next_attempt <= ?2",
	    &n, error, SQ_INT(id), SQ_INT(now), SQ_END) < 0)
		return -1;
	return n;
}

/* store_delivery_next - count, first and last id of the next range */
gboolean
store_delivery_next(struct store *store, gint64 id, gint64 now,
    gint64 after, gint64 upto, int size, struct store_delivery_range *r,
    GError **error)
{
	g_autoptr(store_rows) rows = store_select(store, "SELECT count(*),"
	    " min(id), max(id) FROM (SELECT id FROM deliveries WHERE"
	    " campaign_id = ?1 AND state = 'queued' AND next_attempt <= ?2"
	    " AND id > ?3 AND id <= ?5 ORDER BY id LIMIT ?4) q", error,
	    SQ_INT(id), SQ_INT(now), SQ_INT(after), SQ_INT(size), SQ_INT(upto),
	    SQ_END);
	GError *err = NULL;

	memset(r, 0, sizeof *r);
	if (rows == NULL)
		return FALSE;
	if (store_next(rows, &err)) {
		r->n = store_int(rows, 0);
		r->first = store_int(rows, 1);
		r->last = store_int(rows, 2);
	}
	if (err == NULL)
		return TRUE;
	g_propagate_prefixed_error(error, err, "reading the queue: ");
	return FALSE;
}

/* store_delivery_clear - a struct store_delivery's contents */
static void
store_delivery_clear(gpointer p)
{
	struct store_delivery *it = p;

	subscriber_free(it->sub);
	g_free(it->segment);
	g_strfreev(it->matched);
	g_free(it->status);
}

/* store_delivery_row - ROWS' current row as a delivery */
static void
store_delivery_row(struct store_rows *rows, struct store_delivery *it)
{
	it->id = store_int(rows, 0);
	it->segment = store_text_dup(rows, 1);
	it->matched = g_strsplit(store_text(rows, 2), ",", -1);
	it->status = store_text_dup(rows, 3);
	it->sub = subscriber_from_row(rows, 4);	/* SUBSCRIBER_COLUMNS */
}

/* store_delivery_rows - the chunk's rows into ITEMS (ERROR not NULL) */
static gboolean
store_delivery_rows(struct store *store, gint64 id, gint64 now,
    gint64 first, gint64 last, const char *owner, GArray *items,
    GError **error)
{
#define DELIVERY_ROWS "SELECT d.id,"				\
	    " d.segment, d.matched, coalesce(m.status, ''), s.id, s.email,"\
	    " s.name, s.created FROM deliveries d NOT INDEXED"		\
	    " JOIN campaigns c ON c.id = d.campaign_id"			\
	    " JOIN subscribers s ON s.id = d.subscriber_id"		\
	    " LEFT JOIN memberships m ON m.list_id = c.list_id"		\
	    "   AND m.subscriber_id = d.subscriber_id"			\
	    " WHERE d.campaign_id = ?1 AND d.state = 'queued'"		\
	    " AND d.next_attempt <= ?2 AND d.id BETWEEN ?3 AND ?4"
	g_autoptr(store_rows) rows = owner == NULL ?
	    store_select(store, DELIVERY_ROWS " ORDER BY d.id", error,
	    SQ_INT(id), SQ_INT(now), SQ_INT(first), SQ_INT(last), SQ_END) :
	    store_select(store, DELIVERY_ROWS " AND d.claim_owner = ?5"
	    " ORDER BY d.id", error, SQ_INT(id), SQ_INT(now), SQ_INT(first),
	    SQ_INT(last), SQ_TEXT(owner), SQ_END);
#undef DELIVERY_ROWS

	if (rows == NULL)
		return FALSE;
	while (store_next(rows, error)) {
		struct store_delivery it = { 0 };

		store_delivery_row(rows, &it);
		g_array_append_val(items, it);
	}
	return *error == NULL;
}

/* store_delivery_attrs - the attributes of ITEMS' subscribers (ERROR
 * not NULL) */
static gboolean
store_delivery_attrs(struct store *store, gint64 id, gint64 now,
    gint64 first, gint64 last, const char *owner, GArray *items,
    GError **error)
{
	g_autoptr(GHashTable) by_id = g_hash_table_new(g_int64_hash,
	    g_int64_equal);
	g_autoptr(store_rows) rows = NULL;
	guint i;

	for (i = 0; i < items->len; i++) {
		struct subscriber *sub = g_array_index(items,
		    struct store_delivery, i).sub;

		g_hash_table_insert(by_id, &sub->id, sub);
	}
#define DELIVERY_ATTRS "SELECT d.subscriber_id, a.key, a.value"	\
	    " FROM deliveries d NOT INDEXED JOIN subscribers s"		\
	    "   ON s.id = d.subscriber_id, json_each(s.attrs) a"		\
	    " WHERE d.campaign_id = ?1 AND d.state = 'queued'"		\
	    " AND d.next_attempt <= ?2 AND d.id BETWEEN ?3 AND ?4"
	rows = owner == NULL ? store_select(store, DELIVERY_ATTRS, error,
	    SQ_INT(id), SQ_INT(now), SQ_INT(first), SQ_INT(last), SQ_END) :
	    store_select(store, DELIVERY_ATTRS " AND d.claim_owner = ?5",
	    error, SQ_INT(id), SQ_INT(now), SQ_INT(first), SQ_INT(last),
	    SQ_TEXT(owner), SQ_END);
#undef DELIVERY_ATTRS
	if (rows == NULL)
		return FALSE;
	while (store_next(rows, error)) {
		gint64 sid = store_int(rows, 0);
		struct subscriber *sub = g_hash_table_lookup(by_id, &sid);

		if (sub != NULL)
			g_hash_table_insert(sub->attrs, store_text_dup(rows, 1),
			    store_text_dup(rows, 2));
	}
	return *error == NULL;
}

/* store_delivery_chunk - a chunk's deliveries and subscribers */
GArray *
store_delivery_chunk(struct store *store, gint64 id, gint64 now,
    gint64 first, gint64 last, const char *owner, GError **error)
{
	g_autoptr(GArray) items = g_array_new(FALSE, TRUE,
	    sizeof(struct store_delivery));
	GError *err = NULL;

	g_array_set_clear_func(items, store_delivery_clear);
	if (store_delivery_rows(store, id, now, first, last, owner, items,
	    &err) && store_delivery_attrs(store, id, now, first, last, owner,
	    items, &err))
		return g_steal_pointer(&items);
	g_propagate_prefixed_error(error, err,
	    "reading the deliveries of a chunk: ");
	return NULL;
}

/* store_delivery_members - N memberships and the blocklist, one read:
 * the ids go as one parameter (store_id_list), each row comes back with
 * its place in it. Scalar subqueries, not EXISTS: PostgreSQL's generic
 * plan took the array for ten rows and hashed the blocklist's EXISTS
 * over a scan of every membership (43 us a message of execution, against
 * 10 for one subscriber alone); a scalar one is two index lookups a
 * subscriber, whatever the array's length. */
#define MEMBERS_SQL(ids)						\
	"SELECT u.n, coalesce((SELECT status FROM memberships"		\
	" WHERE list_id = ?1 AND subscriber_id = u.sid), ''),"		\
	" (SELECT 1 FROM memberships WHERE subscriber_id = u.sid"	\
	" AND status = 'blocklisted' LIMIT 1) IS NOT NULL FROM " ids " u"
gboolean
store_delivery_members(struct store *store, gint64 list_id,
    const gint64 *sids, guint n, char **status, gboolean *blocked)
{
	g_autofree char *ids = store_id_list(store, sids, n);
	g_autoptr(store_rows) rows = store_select(store,
	    store_has(store, STORE_ARRAYS) ?
	    MEMBERS_SQL("(SELECT n - 1 AS n, sid FROM unnest(CAST(?2 AS"
	    " bigint[])) WITH ORDINALITY AS v(sid, n))") :
	    MEMBERS_SQL("(SELECT key AS n, value AS sid FROM json_each(?2))"),
	    NULL, SQ_INT(list_id), SQ_TEXT(ids), SQ_END);
	guint i, got = 0;

	memset(status, 0, n * sizeof *status);
	memset(blocked, 0, n * sizeof *blocked);
	if (rows == NULL)
		return FALSE;
	while (store_next(rows, NULL)) {
		gint64 at = store_int(rows, 0);

		if (at < 0 || at >= n || status[at] != NULL)
			continue;
		status[at] = store_text_dup(rows, 1);
		blocked[at] = store_int(rows, 2) != 0;
		got++;
	}
	if (got == n)
		return TRUE;
	for (i = 0; i < n; i++)		/* a row missing: none of them read */
		g_clear_pointer(&status[i], g_free);
	return FALSE;
}

/* store_delivery_list - the campaign's list_id */
gint64
store_delivery_list(struct store *store, gint64 id, GError **error)
{
	gint64 list_id = 0;
	GError *err = NULL;
	int found = store_get_int(store, "SELECT list_id FROM campaigns"
	    " WHERE id = ?1", &list_id, &err, SQ_INT(id), SQ_END);

	if (found == 0)
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_SOFTWARE,
		    "reading the campaign's list: no campaign %" G_GINT64_FORMAT,
		    id);
	else if (found < 0)
		g_propagate_prefixed_error(error, err,
		    "reading the campaign's list: ");
	return found == 1 ? list_id : 0;
}

/* store_delivery_campaign_state - the campaign's state column */
int
store_delivery_campaign_state(struct store *store, gint64 id, char **state,
    GError **error)
{
	return store_get_text(store, "SELECT state FROM campaigns WHERE"
	    " id = ?1", state, error, SQ_INT(id), SQ_END);
}
