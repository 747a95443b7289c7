/*
 * campaign_batch.h - a batch of final delivery results in one statement
 * on PostgreSQL (campaign_batch.c), for campaign_record.
 *
 * What must stay true: the batch writes exactly what campaign_record_one
 * would write row by row (state, attempts, code, reply, stage, times,
 * relay; only rows still queued), inside the caller's transaction.
 */
#ifndef HERALD_CAMPAIGN_BATCH_H
#define HERALD_CAMPAIGN_BATCH_H

#include <glib.h>

#include "campaign.h"
#include "store.h"

/* campaign_batch_final - R's fate is one of the final ones the batch
 * writes (sent, failed for good, skipped) */
gboolean campaign_batch_final(const struct campaign_result *r);

/* campaign_batch_record - on PostgreSQL, the final results among the N
 * of RESULTS in one UPDATE; *DONE the set (gint64 ids) of those still
 * queued and so changed. *DONE NULL (and TRUE returned) when nothing was
 * batched: SQLite, fewer than two final results, or an id twice; the
 * caller then writes them one by one. FALSE on a store error. */
gboolean campaign_batch_record(struct store *store,
    const struct campaign_result *results, guint n, gint64 now,
    GHashTable **done, GError **error);

/* campaign_batch_commit - on PostgreSQL, outside a transaction, when
 * every one of the N RESULTS is final (campaign_batch_final), no id comes
 * twice and none is to be scored as a bounce (the caller's to check): the
 * results, the usage counts of the relays that accepted them (the
 * minute of NOW, in this connection's own slot, for the rows still
 * queued) and the prune of their old buckets, in one statement that
 * commits by itself. 1 done (committed), 0 not for this path (nothing
 * written: the caller records them in a transaction), -1 a store error
 * (nothing written, or, when the connection died at the commit, perhaps
 * all). */
int campaign_batch_commit(struct store *store,
    const struct campaign_result *results, guint n, gint64 now,
    GError **error);

#endif
