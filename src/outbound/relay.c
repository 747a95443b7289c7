/*
 * relay.c - quotas, relay states and per-relay counts in the store (see
 * relay.h). The sending side of the pool (weights, the circuit breaker)
 * lives in dispatch.c, which asks here before it hands a relay a chunk.
 *
 * Buckets: relay_usage holds one row per relay and minute with the
 * messages that relay accepted then. A window's count is one indexed
 * range sum; buckets older than a day are pruned as new ones are made.
 */
#include <string.h>
#include <time.h>

#include "herald.h"
#include "relay.h"

#define RELAY_HOUR 60		/* minutes */
#define RELAY_DAY 1440

/* relay_now - the clock of the quotas: herald's (HERALD_NOW for tests) */
gint64
relay_now(void)
{
	return herald_now();
}

char *
relay_format_time(gint64 t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char buf[32];

	localtime_r(&tt, &tm);
	strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
	return g_strdup(buf);
}

/* relay_record_usage - one bucket grows; old ones go */
gboolean
relay_record_usage(struct store *store, const char *relay, gint64 now,
    gint64 n, GError **error)
{
	sqlite3_stmt *up, *prune;

	if (n <= 0)
		return TRUE;
	up = store_cached(store, "INSERT INTO relay_usage(relay, minute, sent)"
	    " VALUES (?1, ?2, ?3) ON CONFLICT(relay, minute)"
	    " DO UPDATE SET sent = sent + excluded.sent", error);
	prune = store_cached(store, "DELETE FROM relay_usage WHERE relay = ?1"
	    " AND minute <= ?2 - 1440", error);
	if (up == NULL || prune == NULL)
		return FALSE;
	sqlite3_bind_text(up, 1, relay, -1, SQLITE_STATIC);
	sqlite3_bind_int64(up, 2, now / 60);
	sqlite3_bind_int64(up, 3, n);
	if (!store_step_done(store, up, "counting a relay's messages", error))
		return FALSE;
	sqlite3_bind_text(prune, 1, relay, -1, SQLITE_STATIC);
	sqlite3_bind_int64(prune, 2, now / 60);
	return store_step_done(store, prune, "pruning a relay's counts", error);
}

/* relay_window - the messages RELAY accepted in the last MINUTES minutes
 * up to NOW, and the first minute of them that has any (0: none) */
static gboolean
relay_window(struct store *store, const char *relay, gint64 now, int minutes,
    gint64 *sent, gint64 *first, GError **error)
{
	sqlite3_stmt *st = store_cached(store, "SELECT coalesce(sum(sent), 0),"
	    " coalesce(min(minute), 0) FROM relay_usage WHERE relay = ?1"
	    " AND minute > ?2 - ?3 AND minute <= ?2", error);
	int rc;

	if (st == NULL)
		return FALSE;
	sqlite3_bind_text(st, 1, relay, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now / 60);
	sqlite3_bind_int(st, 3, minutes);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		sqlite3_reset(st);
		herald_set_sqlite_error(error, store->db, rc,
		    "reading a relay's counts");
		return FALSE;
	}
	*sent = sqlite3_column_int64(st, 0);
	*first = sqlite3_column_int64(st, 1);
	sqlite3_reset(st);
	return TRUE;
}

/* relay_quota_left - the smaller of what each window leaves */
gint64
relay_quota_left(struct store *store, const struct relay_config *relay,
    gint64 now, gint64 *opens, GError **error)
{
	gint64 left = G_MAXINT64, sent, first, at = 0;
	const struct { gint64 quota; int minutes; } w[] = {
		{ relay->per_hour, RELAY_HOUR }, { relay->per_day, RELAY_DAY } };
	guint i;

	for (i = 0; i < G_N_ELEMENTS(w); i++) {
		if (w[i].quota <= 0)
			continue;
		if (!relay_window(store, relay->name, now, w[i].minutes, &sent,
		    &first, error))
			return -1;
		if (sent >= w[i].quota) {
			left = 0;
			/* the oldest bucket leaves the window then */
			at = MAX(at, (first + w[i].minutes) * 60);
		} else
			left = MIN(left, w[i].quota - sent);
	}
	if (opens != NULL)
		*opens = left == 0 ? at : 0;
	return left;
}

gboolean
relay_set_state(struct store *store, const char *relay, const char *state,
    const char *reason, GError **error)
{
	g_autoptr(sqlite3_stmt) st = store_prepare(store, "INSERT INTO"
	    " relay_state(relay, state, reason, since) VALUES (?1, ?2, ?3, ?4)"
	    " ON CONFLICT(relay) DO UPDATE SET state = excluded.state,"
	    " reason = excluded.reason, since = CASE WHEN state ="
	    " excluded.state AND state <> 'down' THEN since"
	    " ELSE excluded.since END", error);

	if (st == NULL)
		return FALSE;
	sqlite3_bind_text(st, 1, relay, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (gint64)time(NULL));
	return store_step_done(store, st, "recording a relay's state", error);
}

gint64
relay_rest_left(struct store *store, const char *name, gint64 backoff,
    gboolean *marked, char **reason)
{
	g_autofree char *state = NULL;
	g_autofree char *why = NULL;
	gint64 since = 0, left = 0;
	gboolean down;

	down = relay_get_state(store, name, &state, &why, &since, NULL) &&
	    state != NULL && strcmp(state, "down") == 0;
	if (down)
		left = MAX(since + backoff - (gint64)time(NULL), 0);
	if (marked != NULL)
		*marked = down;
	if (reason != NULL)
		*reason = left > 0 ? g_steal_pointer(&why) : NULL;
	return left;
}

gboolean
relay_get_state(struct store *store, const char *name, char **state,
    char **reason, gint64 *since, GError **error)
{
	g_autoptr(sqlite3_stmt) st = store_prepare(store, "SELECT state, reason,"
	    " since FROM relay_state WHERE relay = ?1", error);
	int rc;

	*state = *reason = NULL;
	if (since != NULL)
		*since = 0;
	if (st == NULL)
		return FALSE;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*state = g_strdup((const char *)sqlite3_column_text(st, 0));
		if (sqlite3_column_type(st, 1) != SQLITE_NULL)
			*reason = g_strdup((const char *)sqlite3_column_text(st, 1));
		if (since != NULL)
			*since = sqlite3_column_int64(st, 2);
		return TRUE;
	}
	if (rc == SQLITE_DONE)
		return TRUE;
	herald_set_sqlite_error(error, store->db, rc, "reading a relay's state");
	return FALSE;
}

static void
relay_count_clear(gpointer p)
{
	struct relay_count *c = p;

	g_free(c->relay);
	g_free(c->state);
	g_free(c->reason);
}

/* relay_count_of - the row of COUNTS for RELAY, added when missing */
static struct relay_count *
relay_count_of(GArray *counts, const char *relay)
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

GArray *
relay_counts(struct store *store, const struct config *config, gint64 id,
    GError **error)
{
	g_autoptr(GArray) counts = g_array_new(FALSE, TRUE,
	    sizeof(struct relay_count));
	g_autoptr(sqlite3_stmt) st = NULL;
	g_autoptr(sqlite3_stmt) state = NULL;
	guint i;
	int rc;

	g_array_set_clear_func(counts, relay_count_clear);
	for (i = 0; i < config->relays->len; i++)
		relay_count_of(counts, ((const struct relay_config *)
		    g_ptr_array_index(config->relays, i))->name);
	st = store_prepare(store, "SELECT relay, sum(state = 'sent'),"
	    " sum(state = 'queued'), sum(state = 'failed') FROM deliveries"
	    " WHERE campaign_id = ?1 AND relay IS NOT NULL GROUP BY relay"
	    " ORDER BY relay", error);
	state = store_prepare(store, "SELECT state, reason FROM relay_state"
	    " WHERE relay = ?1", error);
	if (st == NULL || state == NULL)
		return NULL;
	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct relay_count *c = relay_count_of(counts,
		    (const char *)sqlite3_column_text(st, 0));

		c->sent = sqlite3_column_int64(st, 1);
		c->deferred = sqlite3_column_int64(st, 2);
		c->failed = sqlite3_column_int64(st, 3);
	}
	if (rc != SQLITE_DONE)
		goto fail;
	for (i = 0; i < counts->len; i++) {
		struct relay_count *c = &g_array_index(counts,
		    struct relay_count, i);

		sqlite3_bind_text(state, 1, c->relay, -1, SQLITE_STATIC);
		if ((rc = sqlite3_step(state)) == SQLITE_ROW) {
			c->state = g_strdup((const char *)
			    sqlite3_column_text(state, 0));
			if (sqlite3_column_type(state, 1) != SQLITE_NULL)
				c->reason = g_strdup((const char *)
				    sqlite3_column_text(state, 1));
		} else if (rc != SQLITE_DONE)
			goto fail;
		sqlite3_reset(state);
	}
	return g_steal_pointer(&counts);
fail:
	herald_set_sqlite_error(error, store->db, rc, "reading relay counts");
	return NULL;
}
