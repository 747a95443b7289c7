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

#endif
