/*
 * store_outbox.h - the outbox table (migration 7): herald's own notices,
 * queued in the transaction of the change they tell of and sent after
 * its commit. outbox.c (outbound) decides what to send and when; this is
 * the rows.
 *
 * Must stay true: a row is 'queued', then 'sent' or 'failed'.
 * next_attempt is both its retry time and its claim: a queued row is
 * taken by moving next_attempt past NOW with one UPDATE that matches only
 * a due, queued row, so two processes never both take it. Every change
 * of a row is one statement.
 */
#ifndef HERALD_STORE_OUTBOX_H
#define HERALD_STORE_OUTBOX_H

#include <glib.h>
#include "store.h"

/* a queued notice, as store_outbox_get reads it */
struct store_outbox_row {
	char *envelope_from;
	char **rcpts;		/* NULL-terminated */
	GBytes *message;
	int attempts;		/* made so far */
};

/* store_outbox_add - a queued row created at NOW for RCPTS (at least
 * one), next tried (and claimed until) at NEXT; LIST_ID and
 * SUBSCRIBER_ID may be 0. *ID (may be NULL) gets its id. */
gboolean store_outbox_add(struct store *store, gint64 list_id,
    gint64 subscriber_id, const char *kind, const char *envelope_from,
    const char *const *rcpts, GBytes *message, gint64 now, gint64 next,
    gint64 *id, GError **error);

/* store_outbox_claim - take row ID if it is queued and due at NOW, until
 * UNTIL; *MINE says whether it was */
gboolean store_outbox_claim(struct store *store, gint64 id, gint64 now,
    gint64 until, gboolean *mine, GError **error);

/* store_outbox_get - row ID if still queued: 1 (ROW filled; clear it with
 * store_outbox_row_clear), 0 not queued, -1 an error */
int store_outbox_get(struct store *store, gint64 id,
    struct store_outbox_row *row, GError **error);
void store_outbox_row_clear(struct store_outbox_row *row);

/* store_outbox_record - row ID after an attempt at NOW: ATTEMPTS made,
 * STATE ("queued", "sent", "failed"), NEXT its next try, REASON (may be
 * NULL) the relay's words; finished is NOW unless it is still queued */
gboolean store_outbox_record(struct store *store, gint64 id,
    const char *state, int attempts, gint64 next, gint64 now,
    const char *reason, GError **error);

/* store_outbox_due - the ids of the queued rows due at NOW, oldest
 * first, at most MAX (0: all); NULL on error */
GArray *store_outbox_due(struct store *store, gint64 now, guint max,
    GError **error);

/* store_outbox_waiting - the rows still queued (due or not), -1 on error */
gint64 store_outbox_waiting(struct store *store, GError **error);

/* store_outbox_prune - remove the rows sent or failed before BEFORE;
 * the count removed, -1 on error */
int store_outbox_prune(struct store *store, gint64 before, GError **error);

#endif
