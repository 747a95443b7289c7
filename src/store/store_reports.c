/*
 * store_reports.c - the queries of herald report beyond campaign show's
 * (see store_reports.h).
 *
 * Must stay true: read-only; every statement goes through the store's
 * query helper with its values bound.
 */
#include "herald.h"
#include "store.h"
#include "store_reports.h"

/* store_report_minutes - see store_reports.h */
GArray *
store_report_minutes(struct store *store, gint64 campaign_id, gint64 bucket,
    GError **error)
{
	g_autoptr(store_rows) rows = store_select(store,
	    "WITH d AS (SELECT * FROM deliveries WHERE campaign_id = ?1"
	    "  AND attempts > 0)"
	    " SELECT m, sum(s), sum(df), sum(f) FROM ("
	    "  SELECT last_attempt / ?2 * ?2 AS m,"
	    "   CASE WHEN state = 'sent' THEN 1 ELSE 0 END AS s, 0 AS df,"
	    "   CASE WHEN state = 'failed' THEN 1 ELSE 0 END AS f"
	    "   FROM d WHERE state IN ('sent', 'failed')"
	    "  UNION ALL SELECT coalesce(first_attempt, last_attempt) / ?2 * ?2,"
	    "   0, 1, 0 FROM d WHERE state = 'queued' OR (attempts > 1 AND"
	    "   (state = 'sent' OR coalesce(code, 0) < 500))) q"
	    " GROUP BY m ORDER BY m", error, SQ_INT(campaign_id),
	    SQ_INT(bucket > 0 ? bucket : 60), SQ_END);
	g_autoptr(GArray) out = g_array_new(FALSE, TRUE,
	    sizeof(struct store_report_minute));
	GError *err = NULL;

	if (rows == NULL)
		return NULL;
	while (store_next(rows, &err)) {
		struct store_report_minute m = { store_int(rows, 0),
		    store_int(rows, 1), store_int(rows, 2), store_int(rows, 3) };

		g_array_append_val(out, m);
	}
	if (err != NULL) {
		g_propagate_prefixed_error(error, err, "reading the curve: ");
		return NULL;
	}
	return g_steal_pointer(&out);
}

/* store_report_span - see store_reports.h */
gboolean
store_report_span(struct store *store, gint64 campaign_id, gint64 *first,
    gint64 *last, GError **error)
{
	g_autoptr(store_rows) rows = store_select(store,
	    "SELECT coalesce(min(coalesce(first_attempt, last_attempt)), 0),"
	    " coalesce(max(last_attempt), 0) FROM deliveries"
	    " WHERE campaign_id = ?1 AND attempts > 0", error,
	    SQ_INT(campaign_id), SQ_END);
	GError *err = NULL;

	*first = *last = 0;
	if (rows == NULL)
		return FALSE;
	if (store_next(rows, &err)) {
		*first = store_int(rows, 0);
		*last = store_int(rows, 1);
		return TRUE;
	}
	if (err == NULL)
		return TRUE;
	g_propagate_prefixed_error(error, err, "reading the campaign's span: ");
	return FALSE;
}

/* store_report_outcome - see store_reports.h */
gboolean
store_report_outcome(struct store *store, gint64 campaign_id, gint64 list_id,
    gint64 since, const char *segment, struct store_report_outcome *out,
    GError **error)
{
	g_autoptr(store_rows) rows = store_select(store,
	    "SELECT (SELECT count(DISTINCT b.subscriber_id) FROM bounces b"
	    "   JOIN deliveries d ON d.campaign_id = b.campaign_id"
	    "   AND d.subscriber_id = b.subscriber_id WHERE b.campaign_id = ?1"
	    "   AND d.segment = ?2 AND b.kind IN ('hard', 'unknown')),"
	    " (SELECT count(DISTINCT b.subscriber_id) FROM bounces b"
	    "   JOIN deliveries d ON d.campaign_id = b.campaign_id"
	    "   AND d.subscriber_id = b.subscriber_id WHERE b.campaign_id = ?1"
	    "   AND d.segment = ?2 AND b.kind = 'soft'),"
	    " (SELECT count(DISTINCT e.subscriber_id) FROM events e"
	    "   JOIN deliveries d ON d.subscriber_id = e.subscriber_id"
	    "   WHERE d.campaign_id = ?1 AND d.segment = ?2"
	    "   AND e.action = 'unsubscribe' AND e.list_id = ?3 AND e.at >= ?4"
	    "   AND NOT EXISTS (SELECT 1 FROM memberships m"
	    "    WHERE m.subscriber_id = e.subscriber_id AND m.list_id = ?3"
	    "    AND m.status = 'active')),"
	    " (SELECT count(*) FROM replies x JOIN deliveries d"
	    "   ON d.campaign_id = x.campaign_id"
	    "   AND d.subscriber_id = x.subscriber_id"
	    "   WHERE x.campaign_id = ?1 AND d.segment = ?2 AND x.kind = 'reply')",
	    error, SQ_INT(campaign_id), SQ_TEXT(segment), SQ_INT(list_id),
	    SQ_INT(since), SQ_END);

	if (!store_one_row(rows, "reading outcomes by segment", error))
		return FALSE;
	out->hard = store_int(rows, 0);
	out->soft = store_int(rows, 1);
	out->unsubscribed = store_int(rows, 2);
	out->replies = store_int(rows, 3);
	return TRUE;
}

/* store_report_code_clear - an element of store_report_codes' array */
static void
store_report_code_clear(gpointer p)
{
	g_free(((struct store_report_code *)p)->reply);
}

/* store_report_codes - see store_reports.h */
GArray *
store_report_codes(struct store *store, gint64 campaign_id, int limit,
    GError **error)
{
	g_autoptr(store_rows) rows = store_select(store,
	    "SELECT coalesce(code, 0), min(reply), count(*) FROM deliveries"
	    " WHERE campaign_id = ?1 AND attempts > 0 GROUP BY coalesce(code, 0)"
	    " ORDER BY count(*) DESC, 1 LIMIT ?2", error, SQ_INT(campaign_id),
	    SQ_INT(limit), SQ_END);
	g_autoptr(GArray) out = g_array_new(FALSE, TRUE,
	    sizeof(struct store_report_code));
	GError *err = NULL;

	if (rows == NULL)
		return NULL;
	g_array_set_clear_func(out, store_report_code_clear);
	while (store_next(rows, &err)) {
		struct store_report_code c = { (int)store_int(rows, 0),
		    store_text_dup(rows, 1), store_int(rows, 2) };

		g_array_append_val(out, c);
	}
	if (err != NULL) {
		g_propagate_prefixed_error(error, err, "reading reply codes: ");
		return NULL;
	}
	return g_steal_pointer(&out);
}
