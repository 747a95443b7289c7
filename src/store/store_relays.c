/*
 * store_relays.c - the relay pool's tables (see store_relays.h):
 * relay_usage, rows per relay and minute with the messages it
 * accepted then (slot 0 here; on PostgreSQL a campaign's results count
 * into a row per connection, campaign_batch.c, and a window sums them);
 * relay_state, one row per relay (and per shaping group, "shape NAME");
 * and the deliveries' relay column, read per campaign.
 *
 * Must stay true: a window's count is one indexed range sum over
 * relay_usage, and counting a bucket is one upsert and one prune, both
 * cached statements (they run at every commit of a campaign run).
 */
#include <string.h>

#include "herald.h"
#include "store_relays.h"

/* store_relay_record_usage - one bucket grows; old ones go */
gboolean
store_relay_record_usage(struct store *store, const char *relay, gint64 now,
    gint64 n, GError **error)
{
	if (n <= 0)
		return TRUE;
	if (!store_run(store, "INSERT INTO relay_usage(relay, minute, sent)"
	    " VALUES (?1, ?2, ?3) ON CONFLICT(relay, minute, slot)"
	    " DO UPDATE SET sent = relay_usage.sent + excluded.sent", error,
	    SQ_TEXT(relay), SQ_INT(now / 60), SQ_INT(n), SQ_END)) {
		g_prefix_error(error, "counting a relay's messages: ");
		return FALSE;
	}
	if (!store_run(store, "DELETE FROM relay_usage WHERE relay = ?1"
	    " AND minute <= ?2 - 1440", error, SQ_TEXT(relay),
	    SQ_INT(now / 60), SQ_END)) {
		g_prefix_error(error, "pruning a relay's counts: ");
		return FALSE;
	}
	return TRUE;
}

/* store_relay_window - one range sum over RELAY's buckets */
gboolean
store_relay_window(struct store *store, const char *relay, gint64 now,
    int minutes, gint64 *sent, gint64 *first, GError **error)
{
	g_autoptr(store_rows) rows = store_select(store, "SELECT"
	    " coalesce(sum(sent), 0), coalesce(min(minute), 0) FROM relay_usage"
	    " WHERE relay = ?1 AND minute > ?2 - ?3 AND minute <= ?2", error,
	    SQ_TEXT(relay), SQ_INT(now / 60), SQ_INT(minutes), SQ_END);
	GError *err = NULL;

	*sent = *first = 0;
	if (rows == NULL)
		return FALSE;
	if (store_next(rows, &err)) {
		*sent = store_int(rows, 0);
		*first = store_int(rows, 1);
	}
	if (err == NULL)
		return TRUE;
	g_propagate_prefixed_error(error, err, "reading a relay's counts: ");
	return FALSE;
}

/* store_relay_mark - upsert RELAY's state row */
gboolean
store_relay_mark(struct store *store, const char *relay, const char *state,
    const char *reason, gint64 since, GError **error)
{
	if (store_run(store, "INSERT INTO relay_state(relay, state, reason,"
	    " since) VALUES (?1, ?2, ?3, ?4) ON CONFLICT(relay) DO UPDATE SET"
	    " state = excluded.state, reason = excluded.reason, since = CASE"
	    " WHEN relay_state.state = excluded.state"
	    " AND relay_state.state <> 'down' THEN relay_state.since"
	    " ELSE excluded.since END", error, SQ_TEXT(relay), SQ_TEXT(state),
	    SQ_TEXT(reason), SQ_INT(since), SQ_END))
		return TRUE;
	g_prefix_error(error, "recording a relay's state: ");
	return FALSE;
}

/* store_relay_state_read - RELAY's state row, if any; an error unprefixed */
static gboolean
store_relay_state_read(struct store *store, const char *relay, char **state,
    char **reason, gint64 *since, GError **error)
{
	g_autoptr(store_rows) rows = NULL;

	*state = *reason = NULL;
	if (since != NULL)
		*since = 0;
	rows = store_select(store, "SELECT state, reason, since FROM"
	    " relay_state WHERE relay = ?1", error, SQ_TEXT(relay), SQ_END);
	if (rows == NULL)
		return FALSE;
	if (store_next(rows, error)) {
		*state = store_text_dup(rows, 0);
		if (!store_null(rows, 1))
			*reason = store_text_dup(rows, 1);
		if (since != NULL)
			*since = store_int(rows, 2);
	}
	return *error == NULL;
}

/* store_relay_state - see store_relays.h */
gboolean
store_relay_state(struct store *store, const char *relay, char **state,
    char **reason, gint64 *since, GError **error)
{
	GError *err = NULL;

	if (store_relay_state_read(store, relay, state, reason, since, &err))
		return TRUE;
	g_propagate_prefixed_error(error, err, "reading a relay's state: ");
	return FALSE;
}

/* store_relay_count_clear - COUNTS' clear function */
static void
store_relay_count_clear(gpointer p)
{
	struct relay_count *c = p;

	g_free(c->relay);
	g_free(c->state);
	g_free(c->reason);
}

/* store_relay_count_of - the row of COUNTS for RELAY, added when missing */
static struct relay_count *
store_relay_count_of(GArray *counts, const char *relay)
{
	struct relay_count c = { 0 };
	guint i;

	for (i = 0; i < counts->len; i++)
		if (strcmp(g_array_index(counts, struct relay_count, i).relay,
		    relay) == 0)
			return &g_array_index(counts, struct relay_count, i);
	c.relay = g_strdup(relay);
	g_array_append_val(counts, c);
	return &g_array_index(counts, struct relay_count, counts->len - 1);
}

/* store_relay_tally - COUNTS grows by campaign ID's deliveries per relay
 * (ERROR not NULL) */
static gboolean
store_relay_tally(struct store *store, gint64 id, GArray *counts,
    GError **error)
{
	g_autoptr(store_rows) rows = store_select(store, "SELECT relay,"
	    " sum(state = 'sent'), sum(state = 'queued'), sum(state = 'failed')"
	    " FROM deliveries WHERE campaign_id = ?1 AND relay IS NOT NULL"
	    " GROUP BY relay ORDER BY relay", error, SQ_INT(id), SQ_END);

	if (rows == NULL)
		return FALSE;
	while (store_next(rows, error)) {
		struct relay_count *c = store_relay_count_of(counts,
		    store_text(rows, 0));

		c->sent = store_int(rows, 1);
		c->deferred = store_int(rows, 2);
		c->failed = store_int(rows, 3);
	}
	return *error == NULL;
}

/* store_relay_counts - see store_relays.h */
GArray *
store_relay_counts(struct store *store, const char *const *names, gint64 id,
    GError **error)
{
	g_autoptr(GArray) counts = g_array_new(FALSE, TRUE,
	    sizeof(struct relay_count));
	GError *err = NULL;
	guint i;

	g_array_set_clear_func(counts, store_relay_count_clear);
	for (i = 0; names[i] != NULL; i++)
		store_relay_count_of(counts, names[i]);
	if (!store_relay_tally(store, id, counts, &err))
		goto fail;
	for (i = 0; i < counts->len; i++) {
		struct relay_count *c = &g_array_index(counts,
		    struct relay_count, i);

		if (!store_relay_state_read(store, c->relay, &c->state,
		    &c->reason, NULL, &err))
			goto fail;
	}
	return g_steal_pointer(&counts);
fail:
	g_propagate_prefixed_error(error, err, "reading relay counts: ");
	return NULL;
}
