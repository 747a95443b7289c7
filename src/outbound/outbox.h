/*
 * outbox.h - mail herald owes someone because of a change it committed: a
 * goodbye after an unsubscribe, a confirmation request, a help reply, a
 * forward to the owners. Every inbound path (herald pipe, and the web and
 * LMTP front ends) queues its notices here rather than sending them.
 *
 * Use: inside the transaction that makes the change (store_begin), queue
 * the message with outbox_queue(); commit; then outbox_try() the rows you
 * queued. A row that could not leave (the relay, or every relay, is
 * down; a 4xx) waits in the outbox and is tried again by outbox_flush()
 * (herald maintain, and each herald pipe after its own work), with a
 * growing delay, up to
 * OUTBOX_TRIES times; a 5xx ends it as failed.
 *
 * Must stay true: a notice is written in the same transaction as the
 * change it tells of, so it exists exactly when the change does (a commit
 * that fails takes the notice with it; a retry that finds the change done
 * queues nothing). Nothing is sent before the commit. One process at a
 * time sends a row: it claims it by moving next_attempt past a lease
 * (OUTBOX_LEASE), and outbox_queue() claims the new row for its caller.
 * Delivery is at least once, not more: only a crash (or a failed write)
 * between the relay's acceptance and marking the row sent sends it again,
 * after the lease. Errors: the store's (TEMP for busy, full, I/O); an SMTP
 * failure is an outcome, not an error.
 */
#ifndef HERALD_OUTBOX_H
#define HERALD_OUTBOX_H

#include <glib.h>
#include "config.h"
#include "store.h"

#define OUTBOX_LEASE	900	/* seconds a claimed row is left to its sender */
#define OUTBOX_TRIES	10	/* attempts before a row fails for good */
#define OUTBOX_RETRY	300	/* first retry delay, seconds; doubles */
#define OUTBOX_RETRY_MAX (6 * 3600)

enum outbox_outcome {
	OUTBOX_SENT,		/* the relay took it */
	OUTBOX_DEFERRED,	/* not now: queued for a later try */
	OUTBOX_FAILED,		/* refused (5xx) or out of tries: given up */
	OUTBOX_NOT_MINE,	/* no longer queued, or claimed by another run */
};

struct outbox_stats {
	int sent;
	int deferred;
	int failed;
};

/* outbox_queue - add MESSAGE (RFC 5322 bytes, CRLF line ends) from
 * ENVELOPE_FROM to RCPTS (NULL-terminated, at least one) to the outbox, in
 * the caller's open transaction; KIND names it in logs ("goodbye",
 * "confirm-subscribe", "forward"…); LIST_ID and SUBSCRIBER_ID may be 0.
 * The row is claimed for the caller until NOW + OUTBOX_LEASE. *ID (may be
 * NULL) gets its id, for outbox_try() after the commit. */
gboolean outbox_queue(struct store *store, gint64 list_id,
    gint64 subscriber_id, const char *kind, const char *envelope_from,
    const char *const *rcpts, GBytes *message, gint64 now, gint64 *id,
    GError **error);

/* outbox_try - send row ID now, through what carries CONFIG's own mail
 * (mailer.h: smtp { }, or the relays when there is no smtp { }; a relay
 * that takes it counts it against its quota). CLAIMED: the caller queued
 * it (or claimed it) and holds its lease; otherwise it is claimed here if
 * due. *OUTCOME says what happened; *REASON (may be NULL; caller frees)
 * gets the relay's words when it was not sent. FALSE and ERROR only when
 * the store failed; if the message had left by then, *OUTCOME is
 * OUTBOX_SENT and the row will be sent again after its lease. */
gboolean outbox_try(struct store *store, const struct config *config,
    gint64 id, gboolean claimed, gint64 now, enum outbox_outcome *outcome,
    char **reason, GError **error);

/* outbox_flush - try the rows that are due at NOW, oldest first, at most
 * MAX of them (0: all), stopping at the first deferral (the relay is
 * likely down for them all). Counts go into STATS (added to; may be
 * NULL). */
gboolean outbox_flush(struct store *store, const struct config *config,
    gint64 now, guint max, struct outbox_stats *stats, GError **error);

/* outbox_waiting - the rows still queued (due or not), -1 on error */
gint64 outbox_waiting(struct store *store, GError **error);

/* outbox_prune - remove rows sent or failed more than DAYS before NOW;
 * the count removed, -1 on error */
int outbox_prune(struct store *store, int days, gint64 now, GError **error);

const char *outbox_outcome_name(enum outbox_outcome outcome);

#endif
