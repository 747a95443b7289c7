/*
 * dispatch_commit.h - a campaign worker's commits in a thread of their
 * own (dispatch_commit.c), so that the worker's SMTP session goes on
 * while its last batch of results is committed (PostgreSQL).
 *
 * What must stay true: one batch in flight at a time; a failed batch is
 * given back, never dropped.
 */
#ifndef HERALD_DISPATCH_COMMIT_H
#define HERALD_DISPATCH_COMMIT_H

#include <glib.h>

#include "campaign.h"
#include "config.h"
#include "store.h"

struct dispatch_committer;

/* dispatch_committer_new - a committer with a store connection of its
 * own (CONFIG's store) and its thread; NULL and ERROR when the store
 * cannot be opened */
struct dispatch_committer *dispatch_committer_new(const struct config *config,
    GError **error);

/* dispatch_committer_hand - wait for the batch in flight, then hand
 * *PENDING (struct campaign_result) over to be committed, *PENDING left
 * empty. FALSE (ERROR set, nothing handed over) when the batch in flight
 * failed: its results are then back at the front of *PENDING. */
gboolean dispatch_committer_hand(struct dispatch_committer *c,
    GArray **pending, GError **error);

/* dispatch_committer_drain - wait for the batch in flight; FALSE as for
 * dispatch_committer_hand when it failed (its results back in *PENDING) */
gboolean dispatch_committer_drain(struct dispatch_committer *c,
    GArray **pending, GError **error);

/* dispatch_committer_free - wait for the batch in flight (the caller
 * drained it first, to see how it went), end the thread, close the
 * store */
void dispatch_committer_free(struct dispatch_committer *c);

#endif
