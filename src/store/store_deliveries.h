/*
 * store_deliveries.h - the deliveries of a campaign run as the
 * dispatcher (outbound/dispatch.c) reads them: how many are due, the id
 * range of the next chunk, a chunk's rows with their subscribers, the
 * memberships of the next few messages just before the first of them
 * goes, and the two things of the campaign itself a run looks at (its
 * list, its state). Results are recorded by campaign_record
 * (campaign.h).
 *
 * Must stay true: "due" is queued with next_attempt at or before the
 * run's instant NOW, the same in every function here, so a chunk's rows
 * are exactly the ones its range was counted from. These run in hot
 * loops (a chunk per batch, memberships per few messages): each is one
 * statement, cached by the store per connection.
 */
#ifndef HERALD_STORE_DELIVERIES_H
#define HERALD_STORE_DELIVERIES_H

#include <glib.h>
#include "store.h"
#include "subscriber.h"

/* one due delivery of a chunk, with its subscriber */
struct store_delivery {
	gint64 id;
	struct subscriber *sub;	/* with its attributes */
	char *segment;		/* the segment it was snapshot under */
	char **matched;		/* every list segment it matched */
	char *status;		/* the membership's now, "" when gone */
};

/* the ids of a run of due deliveries */
struct store_delivery_range {
	gint64 n;		/* how many (0: none) */
	gint64 first, last;
};

/* store_delivery_due - the deliveries of campaign ID due at NOW; -1 on
 * error */
gint64 store_delivery_due(struct store *store, gint64 id, gint64 now,
    GError **error);

/* store_delivery_next - the first SIZE at most of campaign ID's
 * deliveries due at NOW with ids after AFTER and up to UPTO */
gboolean store_delivery_next(struct store *store, gint64 id, gint64 now,
    gint64 after, gint64 upto, int size, struct store_delivery_range *r,
    GError **error);

/* store_delivery_chunk - campaign ID's deliveries due at NOW with ids
 * FIRST to LAST (and, OWNER not NULL, claimed by OWNER: store_claims.h),
 * in id order: a GArray of struct store_delivery that frees them when it
 * goes; NULL on error */
GArray *store_delivery_chunk(struct store *store, gint64 id, gint64 now,
    gint64 first, gint64 last, const char *owner, GError **error);

/* store_delivery_members - the membership of LIST_ID now of each of
 * the N subscribers SIDS, in one read: STATUS[i] ("" when none; the
 * caller frees each) and whether BLOCKED[i] on any list. FALSE (every
 * STATUS[i] NULL) when they cannot be read. */
gboolean store_delivery_members(struct store *store, gint64 list_id,
    const gint64 *sids, guint n, char **status, gboolean *blocked);

/* store_delivery_list - the list of campaign ID; 0 and *ERROR when
 * there is none or the store fails */
gint64 store_delivery_list(struct store *store, gint64 id, GError **error);

/* store_delivery_campaign_state - campaign ID's state: 1 (*STATE the
 * caller's), 0 no such campaign, -1 an error */
int store_delivery_campaign_state(struct store *store, gint64 id,
    char **state, GError **error);

#endif
