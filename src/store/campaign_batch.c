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
 * What must stay true: the UPDATE's SET is campaign_record_one's for
 * the final fates, column for column; a delivery id twice in a batch is
 * left to the row-by-row path (the first result wins there).
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

/* campaign_batch_record - see campaign_batch.h */
gboolean
campaign_batch_record(struct store *store,
    const struct campaign_result *results, guint n, gint64 now,
    GHashTable **done, GError **error)
{
	g_autoptr(GHashTable) seen = NULL;
	g_autoptr(store_rows) rows = NULL;
	GString *a[7];
	guint i, k, m = 0;
	GError *err = NULL;

	*done = NULL;
	if (strcmp(store_backend_name(store), "postgresql") != 0)
		return TRUE;
	seen = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
	for (k = 0; k < G_N_ELEMENTS(a); k++)
		a[k] = g_string_new("{");
	for (i = 0; i < n; i++) {
		const struct campaign_result *r = &results[i];

		if (!campaign_batch_final(r))
			continue;
		if (g_hash_table_contains(seen, &r->delivery_id))
			break;
		g_hash_table_add(seen, g_memdup2(&r->delivery_id,
		    sizeof(gint64)));
		batch_int(a[0], r->delivery_id);
		batch_text(a[1], r->fate == CAMPAIGN_SENT ? "sent" : "failed");
		batch_int(a[2], r->fate != CAMPAIGN_SKIP);
		batch_int(a[3], r->code);
		batch_text(a[4], r->reply);
		batch_text(a[5], r->stage);
		batch_text(a[6], r->relay);
		m++;
	}
	for (k = 0; k < G_N_ELEMENTS(a); k++)
		g_string_append_c(a[k], '}');
	if (i == n && m >= 2)
		rows = store_select(store, "UPDATE deliveries SET"
		    " state = v.st, attempts = deliveries.attempts + v.inc,"
		    " code = v.code, reply = v.reply, stage = v.stage,"
		    " last_attempt = ?1, first_attempt ="
		    " coalesce(deliveries.first_attempt, ?1),"
		    " relay = coalesce(v.relay, deliveries.relay)"
		    " FROM unnest(CAST(?2 AS bigint[]), CAST(?3 AS text[]),"
		    " CAST(?4 AS bigint[]), CAST(?5 AS bigint[]),"
		    " CAST(?6 AS text[]), CAST(?7 AS text[]),"
		    " CAST(?8 AS text[])) AS v(id, st, inc, code, reply, stage,"
		    " relay) WHERE deliveries.id = v.id AND"
		    " deliveries.state = 'queued' RETURNING deliveries.id", &err,
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
	for (k = 0; k < G_N_ELEMENTS(a); k++)
		g_string_free(a[k], TRUE);
	if (err != NULL) {
		g_propagate_error(error, err);
		return FALSE;
	}
	return TRUE;	/* batched, or (an id twice, too few) left row by row */
}
