/*
 * campaign_batch.c - a worker's final delivery results in one UPDATE on
 * PostgreSQL (see campaign_batch.h).
 *
 * Why: on PostgreSQL every statement is a round trip to the server (two
 * context switches each way), and recording results row by row cost a
 * round trip per message beside the one that admits it. The batch sends
 * the rows as arrays (unnest) and learns which were still queued from
 * RETURNING. SQLite runs in the process: it keeps the row-by-row path.
 *
 * campaign_batch_commit goes further when every result of a commit is
 * final and none is a bounce: the results, the relays' usage counts and
 * their prune in one statement with no BEGIN and COMMIT around it (a
 * statement outside a transaction is one of its own): one round trip
 * and one commit where there were five round trips.
 *
 * What must stay true: the UPDATE's SET is campaign_record_one's for
 * the final fates, column for column; a delivery id twice in a batch is
 * left to the row-by-row path (the first result wins there); a relay's
 * usage grows by the rows that were still queued and are now sent,
 * committed with them or not at all.
 */
#include <string.h>

#include "herald.h"
#include "campaign_batch.h"

/* campaign_batch_final - see campaign_batch.h */
gboolean
campaign_batch_final(const struct campaign_result *r)
{
	return r->fate == CAMPAIGN_SENT || r->fate == CAMPAIGN_PERM ||
	    r->fate == CAMPAIGN_SKIP;
}

/* batch_text - S as an element of a PostgreSQL array literal in A:
 * NULL unquoted, anything else double-quoted with " and \ escaped */
static void
batch_text(GString *a, const char *s)
{
	if (a->len > 1)
		g_string_append_c(a, ',');
	if (s == NULL) {
		g_string_append(a, "NULL");
		return;
	}
	g_string_append_c(a, '"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			g_string_append_c(a, '\\');
		g_string_append_c(a, *s);
	}
	g_string_append_c(a, '"');
}

/* batch_int - V as an element of the array literal A */
static void
batch_int(GString *a, gint64 v)
{
	g_string_append_printf(a, "%s%" G_GINT64_FORMAT, a->len > 1 ? "," : "",
	    v);
}

/* batch_arrays - the final results among the N of RESULTS as seven
 * PostgreSQL array literals in A (ids, states, attempt increments, codes,
 * replies, stages, relays; A's strings made here, the caller frees);
 * *M how many. FALSE when an id comes twice (the row-by-row path's
 * first-result-wins is then the caller's), or, with WHOLE, when a result
 * is not final. */
static gboolean
batch_arrays(const struct campaign_result *results, guint n,
    gboolean whole, GString *a[7], guint *m)
{
	g_autoptr(GHashTable) seen = g_hash_table_new(g_int64_hash,
	    g_int64_equal);
	guint i, k;

	*m = 0;
	for (k = 0; k < 7; k++)
		a[k] = g_string_new("{");
	for (i = 0; i < n; i++) {
		const struct campaign_result *r = &results[i];

		if (!campaign_batch_final(r)) {
			if (whole)
				return FALSE;
			continue;
		}
		if (!g_hash_table_add(seen, (gpointer)&r->delivery_id))
			return FALSE;
		batch_int(a[0], r->delivery_id);
		batch_text(a[1], r->fate == CAMPAIGN_SENT ? "sent" : "failed");
		batch_int(a[2], r->fate != CAMPAIGN_SKIP);
		batch_int(a[3], r->code);
		batch_text(a[4], r->reply);
		batch_text(a[5], r->stage);
		batch_text(a[6], r->relay);
		(*m)++;
	}
	for (k = 0; k < 7; k++)
		g_string_append_c(a[k], '}');
	return TRUE;
}

/* batch_free - the array literals of batch_arrays */
static void
batch_free(GString *a[7])
{
	guint k;

	for (k = 0; k < 7; k++)
		g_string_free(a[k], TRUE);
}

/* the UPDATE's SET and FROM, campaign_record_one's for the final fates
 * column for column (?1 the time, ?2 to ?8 the arrays) */
#define BATCH_UPDATE "UPDATE deliveries SET"				\
	" state = v.st, attempts = deliveries.attempts + v.inc,"	\
	" code = v.code, reply = v.reply, stage = v.stage,"		\
	" last_attempt = ?1, first_attempt ="				\
	" coalesce(deliveries.first_attempt, ?1),"			\
	" relay = coalesce(v.relay, deliveries.relay)"			\
	" FROM unnest(CAST(?2 AS bigint[]), CAST(?3 AS text[]),"	\
	" CAST(?4 AS bigint[]), CAST(?5 AS bigint[]),"			\
	" CAST(?6 AS text[]), CAST(?7 AS text[]),"			\
	" CAST(?8 AS text[])) AS v(id, st, inc, code, reply, stage,"	\
	" relay) WHERE deliveries.id = v.id AND"			\
	" deliveries.state = 'queued'"

/* campaign_batch_record - see campaign_batch.h */
gboolean
campaign_batch_record(struct store *store,
    const struct campaign_result *results, guint n, gint64 now,
    GHashTable **done, GError **error)
{
	g_autoptr(store_rows) rows = NULL;
	GString *a[7];
	guint m = 0;
	gboolean whole;
	GError *err = NULL;

	*done = NULL;
	if (!store_has(store, STORE_ARRAYS))
		return TRUE;
	whole = batch_arrays(results, n, FALSE, a, &m);
	if (whole && m >= 2)
		rows = store_select(store, BATCH_UPDATE
		    " RETURNING deliveries.id", &err,
		    SQ_INT(now), SQ_TEXT(a[0]->str), SQ_TEXT(a[1]->str),
		    SQ_TEXT(a[2]->str), SQ_TEXT(a[3]->str), SQ_TEXT(a[4]->str),
		    SQ_TEXT(a[5]->str), SQ_TEXT(a[6]->str), SQ_END);
	if (rows != NULL) {
		/* the values are read when the rows are: the arrays live
		 * until then */
		*done = g_hash_table_new_full(g_int64_hash, g_int64_equal,
		    g_free, NULL);
		while (store_next(rows, &err))
			g_hash_table_add(*done, g_memdup2(&(gint64){
			    store_int(rows, 0) }, sizeof(gint64)));
		if (err != NULL)
			g_clear_pointer(done, g_hash_table_unref);
	}
	g_clear_pointer(&rows, store_rows_free);
	batch_free(a);
	if (err != NULL) {
		g_propagate_error(error, err);
		return FALSE;
	}
	return TRUE;	/* batched, or (an id twice, too few) left row by row */
}

/* campaign_batch_commit - see campaign_batch.h */
int
campaign_batch_commit(struct store *store,
    const struct campaign_result *results, guint n, gint64 now,
    GError **error)
{
	g_autoptr(store_rows) rows = NULL;
	GString *a[7];
	guint m = 0;
	int done = 0;
	GError *err = NULL;

	if (!store_has(store, STORE_ARRAYS) ||
	    store_in_transaction(store))
		return 0;
	if (batch_arrays(results, n, TRUE, a, &m) && m > 0) {
		/* one statement, so one transaction of its own: the results,
		 * the relays' counts of what they accepted (rows still
		 * queued only, as campaign_record counts them) and the prune
		 * of their day-old buckets, committed or not together. The
		 * counts go to this connection's own row of the minute
		 * (slot: its backend's pid), so the commits of the sending
		 * threads never wait for each other's WAL flush on a row
		 * they share, and flush together */
		rows = store_select(store, "WITH u AS (" BATCH_UPDATE
		    " RETURNING v.st, v.relay),"
		    " n AS (SELECT relay, count(*) AS c FROM u WHERE st = 'sent'"
		    "  AND relay IS NOT NULL GROUP BY relay),"
		    " p AS (DELETE FROM relay_usage WHERE relay IN"
		    "  (SELECT relay FROM n) AND minute <= ?9 - 1440),"
		    " i AS (INSERT INTO relay_usage(relay, minute, slot, sent)"
		    "  SELECT relay, ?9, pg_backend_pid(), c FROM n"
		    "  ON CONFLICT(relay, minute, slot)"
		    "  DO UPDATE SET sent = relay_usage.sent + excluded.sent)"
		    " SELECT count(*) FROM u", error,
		    SQ_INT(now), SQ_TEXT(a[0]->str), SQ_TEXT(a[1]->str),
		    SQ_TEXT(a[2]->str), SQ_TEXT(a[3]->str), SQ_TEXT(a[4]->str),
		    SQ_TEXT(a[5]->str), SQ_TEXT(a[6]->str), SQ_INT(now / 60),
		    SQ_END);
		if (rows == NULL)
			done = -1;
		else if (store_next(rows, &err))
			done = 1;
		else {
			done = -1;
			if (err == NULL)
				g_set_error(&err, HERALD_ERROR,
				    HERALD_ERROR_SOFTWARE, "recording results: "
				    "no row back");
			g_propagate_error(error, err);
		}
	}
	g_clear_pointer(&rows, store_rows_free);
	batch_free(a);
	return done;
}
