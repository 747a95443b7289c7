/*
 * relay.c - the rules over what the store keeps of each relay (relay.h):
 * the quota windows, the rest after a failure, the clock they go by. The
 * tables themselves are store_relays.c's. The sending side of the pool
 * (weights, the circuit breaker) lives in dispatch.c, which asks here
 * before it hands a relay a chunk.
 *
 * Must stay true: a window is counted in the store's one-minute buckets,
 * so a quota holds across runs and processes.
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

/* relay_format_time - T as local "YYYY-MM-DD HH:MM:SS" */
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
		if (!store_relay_window(store, relay->name, now, w[i].minutes,
		    &sent, &first, error))
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

/* relay_set_state - RELAY's state as of now */
gboolean
relay_set_state(struct store *store, const char *relay, const char *state,
    const char *reason, GError **error)
{
	return store_relay_mark(store, relay, state, reason, (gint64)time(NULL),
	    error);
}

/* relay_rest_left - the rest of NAME's back-off, when the store has it down */
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

/* relay_get_state - NAME's state as the store has it */
gboolean
relay_get_state(struct store *store, const char *name, char **state,
    char **reason, gint64 *since, GError **error)
{
	return store_relay_state(store, name, state, reason, since, error);
}

/* relay_counts - CONFIG's relays in order, then the others of campaign ID */
GArray *
relay_counts(struct store *store, const struct config *config, gint64 id,
    GError **error)
{
	g_autofree const char **names = g_new0(const char *,
	    config->relays->len + 1);
	guint i;

	for (i = 0; i < config->relays->len; i++)
		names[i] = ((const struct relay_config *)
		    g_ptr_array_index(config->relays, i))->name;
	return store_relay_counts(store, names, id, error);
}
