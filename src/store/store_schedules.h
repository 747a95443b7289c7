/*
 * store_schedules.h - what the store keeps of a campaign's schedule: its
 * start, window and daily cap (columns of campaigns), and the counts of
 * its deliveries a pass decides on; holding deliveries back and
 * releasing them. schedule.c (outbound) makes the plans.
 *
 * Must stay true: a held delivery is a queued one whose next_attempt is
 * CAMPAIGN_HELD (campaign.h): never due, never a retry time. Only
 * deliveries never attempted are held, all in the transaction that
 * records the schedule; a release makes held ones due in id order.
 */
#ifndef HERALD_STORE_SCHEDULES_H
#define HERALD_STORE_SCHEDULES_H

#include <glib.h>
#include "store.h"

/* the numbers a pass decides on, for one scheduled campaign */
struct store_schedule_queue {
	gint64 held;		/* not released yet */
	gint64 due;		/* queued and due now */
	gint64 queued;		/* everything queued (held included) */
	gint64 today;		/* attempted since the day began */
	gint64 next_retry;	/* the earliest retry not due yet, 0 none */
};

/* store_schedule_set - campaign ID starts at AT (0: not scheduled), in
 * WINDOW (NULL: any time), at most DAILY_CAP a day (0: no cap); its
 * deliveries never attempted are held. One transaction. */
gboolean store_schedule_set(struct store *store, gint64 id, gint64 at,
    const char *window, int daily_cap, GError **error);

/* store_schedule_get - campaign ID's schedule: 1 (*AT 0 when it has
 * none, *WINDOW NULL or the caller's), 0 no such campaign, -1 an error */
int store_schedule_get(struct store *store, gint64 id, gint64 *at,
    char **window, int *daily_cap, GError **error);

/* store_schedule_queue - the counts of campaign ID at NOW, the day
 * having begun at DAY_START */
gboolean store_schedule_queue(struct store *store, gint64 id, gint64 now,
    gint64 day_start, struct store_schedule_queue *q, GError **error);

/* store_schedule_release - make N held deliveries (-1: all) of campaign
 * ID due, in id order */
gboolean store_schedule_release(struct store *store, gint64 id, gint64 n,
    GError **error);

#endif
