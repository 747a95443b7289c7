/*
 * store_followup.c - narrowing a campaign's snapshot for a follow-up
 * (see store_followup.h).
 *
 * Must stay true: portable SQL; every value bound.
 */
#include "herald.h"
#include "store.h"
#include "store_followup.h"

/* store_followup_since - see store_followup.h */
int
store_followup_since(struct store *store, gint64 since, char **list,
    gint64 *started, GError **error)
{
	g_autoptr(store_rows) rows = store_select(store, "SELECT l.name,"
	    " coalesce(c.started, 0) FROM campaigns c JOIN lists l"
	    " ON l.id = c.list_id WHERE c.id = ?1", error, SQ_INT(since),
	    SQ_END);
	int found = store_first_row(rows, error);

	if (found != 1)
		return found;
	*list = store_text_dup(rows, 0);
	*started = store_int(rows, 1);
	return 1;
}

/* store_followup_has_link - see store_followup.h */
int
store_followup_has_link(struct store *store, gint64 since, const char *url,
    GError **error)
{
	gint64 n = 0;

	if (store_get_int(store, "SELECT count(*) FROM links WHERE"
	    " campaign_id = ?1 AND url = ?2", &n, error, SQ_INT(since),
	    SQ_TEXT(url), SQ_END) < 0)
		return -1;
	return n > 0;
}

/* store_followup_new_since - see store_followup.h */
gboolean
store_followup_new_since(struct store *store, gint64 id, gint64 started,
    gint64 *left_out, GError **error)
{
	if (!store_run(store, "DELETE FROM deliveries WHERE campaign_id = ?1"
	    " AND subscriber_id IN (SELECT m.subscriber_id FROM memberships m"
	    " JOIN campaigns c ON c.list_id = m.list_id WHERE c.id = ?1"
	    " AND m.subscribed <= ?2)", error, SQ_INT(id), SQ_INT(started),
	    SQ_END))
		return FALSE;
	*left_out = store_changes(store);
	return TRUE;
}

/* store_followup_not_clicked - see store_followup.h */
gboolean
store_followup_not_clicked(struct store *store, gint64 id, gint64 since,
    const char *url, gint64 *left_out, GError **error)
{
	if (!store_run(store, "DELETE FROM deliveries WHERE campaign_id = ?1"
	    " AND subscriber_id IN (SELECT d.subscriber_id FROM deliveries d"
	    " JOIN track_counts t ON t.delivery_id = d.id AND t.kind = 'click'"
	    " AND t.machine = 0 JOIN links l ON l.id = t.ref_id"
	    " WHERE d.campaign_id = ?2 AND (?3 IS NULL OR l.url = ?3))",
	    error, SQ_INT(id), SQ_INT(since), SQ_TEXT(url), SQ_END))
		return FALSE;
	*left_out = store_changes(store);
	return TRUE;
}

/* store_followup_left - see store_followup.h */
gint64
store_followup_left(struct store *store, gint64 id, GError **error)
{
	gint64 n = -1;

	if (store_get_int(store, "SELECT count(*) FROM deliveries WHERE"
	    " campaign_id = ?1", &n, error, SQ_INT(id), SQ_END) < 0)
		return -1;
	return n;
}
