/*
 * dispatch.h - run a campaign: hand the due deliveries out in chunks to
 * the worker threads of the relays (relay.connections each, by weight;
 * see dispatch.c for failover and quotas); each worker reads its chunk's
 * subscribers with its own SQLite connection, renders and composes every
 * message (compose.c), sends the chunk over one SMTP session (send.c) and
 * records the results (campaign.c) every CAMPAIGN_COMMIT_EVERY messages.
 *
 * The main thread only produces chunks (ids, never messages), watches for
 * a stop (a signal, `herald campaign pause` or cancel from elsewhere, the
 * error rate) and reports progress; memory stays flat however long the
 * list: at most connections + 1 chunks of send.batch messages exist.
 *
 * Must stay true: a stop lets every session in flight finish and every
 * result be committed before dispatch_run() returns. The first chunks are
 * small (16, doubling up to send.batch), so a relay that refuses
 * everything trips the error rate before many recipients are touched;
 * once tripped, further refusals leave their deliveries queued and due.
 */
#ifndef HERALD_DISPATCH_H
#define HERALD_DISPATCH_H

#include <signal.h>
#include <glib.h>
#include "compose.h"
#include "config.h"
#include "store.h"

struct dispatch_progress {
	gint64 due_at_start;		/* deliveries due when the run started */
	gint64 sent;		/* in this run */
	gint64 failed;		/* permanently, in this run (skips included) */
	gint64 deferred;	/* queued again for a later retry */
	double elapsed;		/* seconds */
	double rate;		/* messages per second attempted */
	gint64 quota_until;	/* waiting: every relay is at its quota until
				 * then (unix time, relay_now's clock); 0 not */
	gboolean final;
};

typedef void (*dispatch_progress_fn)(const struct dispatch_progress *p,
    gpointer data);

/* dispatch_run - send what is due of campaign ID (the caller holds its
 * lock). STOP, when it becomes non-zero (a signal handler sets it), pauses
 * the run cleanly. PROGRESS is called from this thread about twice a
 * second and once at the end. *REASON (may be NULL) gets why the run
 * paused (caller frees), or NULL when it ran to the end. FALSE and an
 * error when the store fails, the relay's password cannot be read, or a
 * worker cannot open the database; results committed so far stay. */
gboolean dispatch_run(struct store *store, const struct config *config,
    const struct composer *composer, gint64 id, volatile sig_atomic_t *stop,
    dispatch_progress_fn progress,
    gpointer data, struct dispatch_progress *final, char **reason,
    GError **error);

#endif
