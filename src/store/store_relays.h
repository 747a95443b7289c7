/*
 * store_relays.h - what the store keeps of the relay pool: each relay's
 * messages per minute (the buckets its quotas are counted in), each
 * relay's last known state, and per relay the deliveries of a campaign.
 * relay.c (outbound) holds the rules over them: the quota windows, the
 * rest after a failure.
 *
 * Must stay true: a bucket is one relay's minute (unix seconds / 60);
 * buckets a day old or more are pruned as new ones are counted. A relay
 * keeps one state row; its "since" moves only when the state changes,
 * or at every "down" (the latest failure).
 */
#ifndef HERALD_STORE_RELAYS_H
#define HERALD_STORE_RELAYS_H

#include <glib.h>
#include "store.h"

/* one relay's part in a campaign, for campaign show */
struct relay_count {
	char *relay;
	gint64 sent, deferred, failed;
	char *state;		/* last known, NULL: never used */
	char *reason;
};

/* store_relay_record_usage - N more messages accepted by RELAY at NOW
 * (unix seconds), inside the caller's transaction; nothing when N <= 0 */
gboolean store_relay_record_usage(struct store *store, const char *relay,
    gint64 now, gint64 n, GError **error);

/* store_relay_window - the messages RELAY accepted in the MINUTES minutes
 * up to NOW's, and the first of those minutes that has any (0: none) */
gboolean store_relay_window(struct store *store, const char *relay,
    gint64 now, int minutes, gint64 *sent, gint64 *first, GError **error);

/* store_relay_mark - RELAY's STATE and REASON (may be NULL) as of SINCE
 * (unix seconds): kept when the state is the same and not "down" */
gboolean store_relay_mark(struct store *store, const char *relay,
    const char *state, const char *reason, gint64 since, GError **error);

/* store_relay_state - RELAY's state and reason (NULL when none; the
 * caller frees them) and *SINCE (may be NULL; 0 when none) */
gboolean store_relay_state(struct store *store, const char *relay,
    char **state, char **reason, gint64 *since, GError **error);

/* store_relay_counts - a struct relay_count for each of NAMES (in
 * order), then for any other relay that tried deliveries of campaign
 * ID: its sent, deferred and failed deliveries and its state */
GArray *store_relay_counts(struct store *store, const char *const *names,
    gint64 id, GError **error);

#endif
