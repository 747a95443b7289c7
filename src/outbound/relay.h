/*
 * relay.h - the relay pool's memory, read through the store
 * (store_relays.h keeps the rows): which relay tried each delivery, what
 * each relay accepted per minute (the sliding windows of its quotas), and
 * each relay's last known state; and the clock the quotas are counted by.
 *
 * Must stay true: a quota counts what its relay accepted (recorded in
 * the transaction that records the deliveries as sent), in one-minute
 * buckets, so it holds across runs and processes; a window is the last
 * 60 (per_hour) or 1440 (per_day) minutes, this one included.
 */
#ifndef HERALD_RELAY_H
#define HERALD_RELAY_H

#include <glib.h>
#include "config.h"
#include "store.h"
#include "store_relays.h"	/* struct relay_count */

/* relay_now - herald_now(): unix time, or $HERALD_NOW for tests */
gint64 relay_now(void);

/* relay_format_time - T as "YYYY-MM-DD HH:MM:SS", local time (caller frees) */
char *relay_format_time(gint64 t);

/* relay_quota_left - how many more RELAY may take at NOW under its
 * quotas (G_MAXINT64 without one, 0 at quota); *OPENS (may be NULL)
 * gets, when it is 0, the instant the fuller window starts to open */
gint64 relay_quota_left(struct store *store, const struct relay_config *relay,
    gint64 now, gint64 *opens, GError **error);

/* relay_set_state - remember RELAY's STATE ("up", "down", "at quota")
 * and why (REASON may be NULL), and since when: the first time it was
 * set, or for "down" the latest failure (a relay rests
 * send.relay_backoff seconds after it, mailer.c) */
gboolean relay_set_state(struct store *store, const char *relay,
    const char *state, const char *reason, GError **error);

/* relay_get_state - NAME's last known state and reason (each NULL when
 * none; the caller frees them) and *SINCE (may be NULL; 0 when none, unix
 * seconds) as relay_set_state says; FALSE and an error when the store
 * fails */
gboolean relay_get_state(struct store *store, const char *name, char **state,
    char **reason, gint64 *since, GError **error);

/* relay_rest_left - how many more seconds NAME rests: the store has it
 * down, and its latest failure was less than BACKOFF seconds ago (0 when
 * it does not rest, or the store cannot be read). *MARKED (may be NULL)
 * is TRUE when the store has it down at all, resting or not; *REASON
 * (may be NULL; the caller frees it) gets the mark's reason while it
 * rests. The one rule for notices (mailer.c) and campaign runs
 * (dispatch.c). */
gint64 relay_rest_left(struct store *store, const char *name, gint64 backoff,
    gboolean *marked, char **reason);

/* relay_counts - per relay of CONFIG (in order), then any other relay
 * that tried deliveries of campaign ID: its sent, deferred and failed
 * deliveries and its last known state */
GArray *relay_counts(struct store *store, const struct config *config,
    gint64 id, GError **error);

#endif
