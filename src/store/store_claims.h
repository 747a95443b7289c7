/*
 * store_claims.h - chunk claims with a lease (PostgreSQL): several
 * herald processes, on any hosts, send one campaign at once. Each run
 * has an owner name (host:pid:number); it claims due, queued deliveries
 * that nobody holds (or whose holder's lease ran out) by writing its
 * name and the lease's end into deliveries.claim_owner / claim_until,
 * sends only the rows it holds, renews its lease while it runs and lets
 * go of what it still holds when it ends. While it runs, its producer's
 * connection holds an advisory lock named by the owner's number: when
 * the process dies, its connection closes and the lock goes, and the
 * next run to look frees its rows at once instead of after the lease
 * (the lease remains for a host that hangs or is cut off while the
 * server still sees its connection).
 *
 * Must stay true: a claim is taken with FOR UPDATE SKIP LOCKED in one
 * statement, so two runs never hold the same row at once unless the
 * first one's lease ran out; claim_owner stays on a row once it is sent
 * or failed (who sent it); on SQLite none of this runs (one process per
 * campaign, the campaign lock).
 */
#ifndef HERALD_STORE_CLAIMS_H
#define HERALD_STORE_CLAIMS_H

#include <glib.h>
#include "store.h"
#include "store_deliveries.h"

/* store_claims_used - does this store share campaigns by claims? (TRUE
 * on PostgreSQL) */
gboolean store_claims_used(const struct store *store);

/* store_claim_owner - a new owner name for one run: host:pid:number */
char *store_claim_owner(void);

/* store_claim_hold - OWNER's advisory lock held by this connection
 * (taken when it is not: at the run's start, and after a reconnect) */
gboolean store_claim_hold(struct store *store, const char *owner,
    GError **error);

/* store_claim_unhold - OWNER's advisory lock let go (the run ended) */
void store_claim_unhold(struct store *store, const char *owner);

/* store_claim_free_dead - free campaign ID's queued rows held by runs
 * other than OWNER whose advisory lock nobody holds (their process
 * died); how many, -1 on error */
gint64 store_claim_free_dead(struct store *store, gint64 id,
    const char *owner, GError **error);

/* store_claim_next - claim for OWNER, until UNTIL, the first SIZE at
 * most of campaign ID's deliveries due at DUE with ids after AFTER and
 * up to UPTO that are free at NOW (unclaimed, OWNER's, or their lease
 * over); *R their count, first and last id */
gboolean store_claim_next(struct store *store, gint64 id, gint64 due,
    gint64 now, gint64 after, gint64 upto, int size, const char *owner,
    gint64 until, struct store_delivery_range *r, GError **error);

/* store_claim_renew - OWNER's queued rows of campaign ID held until
 * UNTIL; how many, -1 on error */
gint64 store_claim_renew(struct store *store, gint64 id, const char *owner,
    gint64 until, GError **error);

/* store_claim_others - campaign ID's queued rows due at DUE that OWNER
 * does not hold: held by another run (its lease over or not), or by
 * nobody; -1 on error */
gint64 store_claim_others(struct store *store, gint64 id, gint64 due,
    const char *owner, GError **error);

/* store_claim_release - OWNER lets go of its queued rows of campaign
 * ID */
gboolean store_claim_release(struct store *store, gint64 id,
    const char *owner, GError **error);

#endif
