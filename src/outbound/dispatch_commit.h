/*
 * dispatch_commit.h - a campaign run's commits in a thread of their own
 * (dispatch_commit.c), so that its workers' SMTP sessions go on while
 * their last batches of results are committed, the batches waiting at
 * the same moment in one commit (PostgreSQL).
 *
 * What must stay true: one batch in flight per worker at a time; a
 * failed batch is given back to its worker, never dropped.
 */
#ifndef HERALD_DISPATCH_COMMIT_H
#define HERALD_DISPATCH_COMMIT_H

#include <glib.h>

#include "campaign.h"
#include "config.h"
#include "store.h"

struct dispatch_committer;
struct dispatch_commit_slot;

/* dispatch_committer_new - a committer with a store connection of its
 * own (CONFIG's store) and its thread; NULL and ERROR when the store
 * cannot be opened */
struct dispatch_committer *dispatch_committer_new(const struct config *config,
    GError **error);

/* dispatch_committer_slot - a worker's place at C (freed with C) */
struct dispatch_commit_slot *dispatch_committer_slot(
    struct dispatch_committer *c);

/* dispatch_committer_hand - wait for S's batch in flight, then hand
 * *PENDING (struct campaign_result) over to be committed, *PENDING left
 * empty. FALSE (ERROR set, nothing handed over) when the batch in flight
 * failed: its results are then back at the front of *PENDING. */
gboolean dispatch_committer_hand(struct dispatch_commit_slot *s,
    GArray **pending, GError **error);

/* dispatch_committer_drain - wait for S's batch in flight; FALSE as for
 * dispatch_committer_hand when it failed (its results back in *PENDING) */
gboolean dispatch_committer_drain(struct dispatch_commit_slot *s,
    GArray **pending, GError **error);

/* dispatch_committer_free - commit what is still handed over, end the
 * thread, close the store, free the slots (after every worker has
 * drained its own, to see how it went) */
void dispatch_committer_free(struct dispatch_committer *c);

#endif
