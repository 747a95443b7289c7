/*
 * store_metrics.c - the store's side of GET /metrics (see store_metrics.h):
 * one grouped SELECT per metric family, read into rows of labels and
 * numbers.
 *
 * Must stay true: only reads; every statement is portable SQL (CASE, no
 * SQLite functions), so the PostgreSQL backend runs it as it is. The
 * deliveries and events queries scan their tables: a scrape costs about
 * one pass over them (say so in the docs, scrape every minute, not every
 * second, on large stores).
 */
#include <string.h>

#include "herald.h"
#include "store_metrics.h"

/* store_metrics_free - see store_metrics.h */
void
store_metrics_free(GArray *rows)
{
	guint i;

	if (rows == NULL)
		return;
	for (i = 0; i < rows->len; i++) {
		struct store_metric *m = &g_array_index(rows, struct store_metric,
		    i);

		g_free(m->label[0]);
		g_free(m->label[1]);
	}
	g_array_free(rows, TRUE);
}

/* metrics_read - ROWS into an array: LABELS text columns, then NUMS
 * integer columns; NULL and *ERROR (prefixed with WHAT) on failure */
static GArray *
metrics_read(struct store_rows *rows, int labels, int nums, const char *what,
    GError **error)
{
	GArray *out;
	GError *err = NULL;
	int i;

	if (rows == NULL) {
		g_prefix_error(error, "reading %s: ", what);
		return NULL;
	}
	out = g_array_new(FALSE, TRUE, sizeof(struct store_metric));
	while (store_next(rows, &err)) {
		struct store_metric m = { 0 };

		for (i = 0; i < labels; i++)
			m.label[i] = store_null(rows, i) ? g_strdup("") :
			    store_text_dup(rows, i);
		for (i = 0; i < nums; i++)
			m.v[i] = store_int(rows, labels + i);
		g_array_append_val(out, m);
	}
	store_rows_free(rows);
	if (err != NULL) {
		store_metrics_free(out);
		g_propagate_prefixed_error(error, err, "reading %s: ", what);
		return NULL;
	}
	return out;
}

/* store_metrics_deliveries - see store_metrics.h */
GArray *
store_metrics_deliveries(struct store *store, GError **error)
{
	return metrics_read(store_select(store, "SELECT l.name,"
	    " coalesce(d.relay, 'none'),"
	    " sum(CASE WHEN d.state = 'sent' THEN 1 ELSE 0 END),"
	    " sum(CASE WHEN d.state = 'failed' THEN 1 ELSE 0 END),"
	    " sum(CASE WHEN d.state = 'queued' AND d.attempts > 0"
	    "  THEN 1 ELSE 0 END),"
	    " sum(CASE WHEN d.state = 'queued' THEN 1 ELSE 0 END)"
	    " FROM deliveries d JOIN campaigns c ON c.id = d.campaign_id"
	    " JOIN lists l ON l.id = c.list_id"
	    " GROUP BY l.name, coalesce(d.relay, 'none') ORDER BY 1, 2", error,
	    SQ_END), 2, 4, "the deliveries' counts", error);
}

/* store_metrics_campaigns - see store_metrics.h */
GArray *
store_metrics_campaigns(struct store *store, GError **error)
{
	return metrics_read(store_select(store, "SELECT state, count(*)"
	    " FROM campaigns GROUP BY state ORDER BY 1", error, SQ_END), 1, 1,
	    "the campaigns' states", error);
}

/* store_metrics_bounces - see store_metrics.h */
GArray *
store_metrics_bounces(struct store *store, GError **error)
{
	return metrics_read(store_select(store, "SELECT kind, count(*)"
	    " FROM bounces GROUP BY kind ORDER BY 1", error, SQ_END), 1, 1,
	    "the bounces' kinds", error);
}

/* store_metrics_unsubscribes - see store_metrics.h */
GArray *
store_metrics_unsubscribes(struct store *store, GError **error)
{
	return metrics_read(store_select(store, "SELECT CASE"
	    " WHEN action = 'removed' THEN 'bounce'"
	    " WHEN channel = 'web' AND detail = 'one-click' THEN 'one-click'"
	    " ELSE channel END AS how, count(*) FROM events"
	    " WHERE (action = 'unsubscribe' AND channel IN ('mail', 'web', 'cli'))"
	    " OR (action = 'removed' AND channel = 'bounce')"
	    " GROUP BY 1 ORDER BY 1", error, SQ_END), 1, 1,
	    "the unsubscribes", error);
}

/* store_metrics_relays - see store_metrics.h */
GArray *
store_metrics_relays(struct store *store, GError **error)
{
	return metrics_read(store_select(store, "SELECT relay, state, 1"
	    " FROM relay_state WHERE relay NOT LIKE 'shape %' ORDER BY 1",
	    error, SQ_END), 2, 1, "the relays' states", error);
}
