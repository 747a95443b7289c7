/*
 * store_clicks.c - links, click and open counts (see store_clicks.h).
 *
 * Must stay true: portable SQL (SQLite and PostgreSQL): upserts with
 * ON CONFLICT, no date functions, explicit column lists; every value
 * bound through the query helper.
 */
#include <string.h>

#include "herald.h"
#include "store.h"
#include "store_clicks.h"

/* store_link_ensure - see store_clicks.h */
gboolean
store_link_ensure(struct store *store, gint64 campaign, const char *segment,
    const char *url, gint64 *id, GError **error)
{
	int found;

	if (!store_run(store, "INSERT INTO links (campaign_id, segment, url)"
	    " VALUES (?1, ?2, ?3) ON CONFLICT (campaign_id, segment, url)"
	    " DO NOTHING", error, SQ_INT(campaign), SQ_TEXT(segment),
	    SQ_TEXT(url), SQ_END))
		return FALSE;
	found = store_get_int(store, "SELECT id FROM links WHERE campaign_id"
	    " = ?1 AND segment = ?2 AND url = ?3", id, error,
	    SQ_INT(campaign), SQ_TEXT(segment), SQ_TEXT(url), SQ_END);
	if (found == 0)
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_SOFTWARE,
		    "a link row vanished as it was made");
	return found == 1;
}

/* store_link_get - see store_clicks.h */
int
store_link_get(struct store *store, gint64 id, gint64 *campaign, char **url,
    GError **error)
{
	g_autoptr(store_rows) rows = store_select(store, "SELECT campaign_id,"
	    " url FROM links WHERE id = ?1", error, SQ_INT(id), SQ_END);
	int found = store_first_row(rows, error);

	if (found != 1)
		return found;
	*campaign = store_int(rows, 0);
	*url = store_text_dup(rows, 1);
	return 1;
}

/* store_track_add - see store_clicks.h */
gboolean
store_track_add(struct store *store, const char *kind, gint64 ref,
    gint64 delivery, gint64 minute, gboolean machine, gint64 n,
    GError **error)
{
	return store_run(store, "INSERT INTO track_counts (kind, ref_id,"
	    " delivery_id, minute, machine, n) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
	    " ON CONFLICT (kind, ref_id, delivery_id, minute, machine)"
	    " DO UPDATE SET n = track_counts.n + excluded.n", error,
	    SQ_TEXT(kind), SQ_INT(ref), SQ_INT(delivery), SQ_INT(minute),
	    SQ_INT(machine ? 1 : 0), SQ_INT(n), SQ_END);
}

/* store_delivery_sent - see store_clicks.h */
int
store_delivery_sent(struct store *store, gint64 delivery, gint64 *campaign,
    gint64 *sent_at, GError **error)
{
	g_autoptr(store_rows) rows = store_select(store, "SELECT campaign_id,"
	    " CASE WHEN state = 'sent' THEN last_attempt ELSE 0 END"
	    " FROM deliveries WHERE id = ?1", error, SQ_INT(delivery), SQ_END);
	int found = store_first_row(rows, error);

	if (found != 1)
		return found;
	*campaign = store_int(rows, 0);
	*sent_at = store_null(rows, 1) ? 0 : store_int(rows, 1);
	return 1;
}

/* store_link_counts - see store_clicks.h */
struct store_rows *
store_link_counts(struct store *store, gint64 campaign, GError **error)
{
	return store_select(store, "SELECT l.url, l.segment,"
	    " coalesce(sum(CASE WHEN t.machine = 0 THEN t.n END), 0),"
	    " coalesce(sum(CASE WHEN t.machine = 1 THEN t.n END), 0)"
	    " FROM links l LEFT JOIN track_counts t ON t.kind = 'click'"
	    " AND t.ref_id = l.id WHERE l.campaign_id = ?1"
	    " GROUP BY l.url, l.segment ORDER BY l.url, l.segment", error,
	    SQ_INT(campaign), SQ_END);
}

/* store_click_minutes - see store_clicks.h */
struct store_rows *
store_click_minutes(struct store *store, gint64 campaign, GError **error)
{
	return store_select(store, "SELECT t.minute,"
	    " coalesce(sum(CASE WHEN t.machine = 0 THEN t.n END), 0),"
	    " coalesce(sum(CASE WHEN t.machine = 1 THEN t.n END), 0)"
	    " FROM track_counts t JOIN links l ON l.id = t.ref_id"
	    " WHERE t.kind = 'click' AND l.campaign_id = ?1"
	    " GROUP BY t.minute ORDER BY t.minute", error, SQ_INT(campaign),
	    SQ_END);
}

/* store_open_counts - see store_clicks.h */
gboolean
store_open_counts(struct store *store, gint64 campaign, gint64 *person,
    gint64 *machine, gint64 *unique, GError **error)
{
	g_autoptr(store_rows) rows = store_select(store, "SELECT"
	    " coalesce(sum(CASE WHEN machine = 0 THEN n END), 0),"
	    " coalesce(sum(CASE WHEN machine = 1 THEN n END), 0),"
	    " count(DISTINCT CASE WHEN machine = 0 THEN delivery_id END)"
	    " FROM track_counts WHERE kind = 'open' AND ref_id = ?1", error,
	    SQ_INT(campaign), SQ_END);

	*person = *machine = *unique = 0;
	if (rows == NULL || !store_next(rows, error))
		return FALSE;
	*person = store_int(rows, 0);
	*machine = store_int(rows, 1);
	*unique = store_int(rows, 2);
	return TRUE;
}
