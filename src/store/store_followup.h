/*
 * store_followup.h - follow-up audiences (herald send --new-since,
 * --not-clicked): a new campaign's snapshot narrowed to the members who
 * joined after an earlier campaign went out, or who did not click it
 * (per-subscriber tracking). Called inside the transaction that made
 * the snapshot, so no campaign is ever on disk with the wider audience.
 *
 * Must stay true: portable SQL, times bound from C; only the new
 * campaign's deliveries are removed, nothing else is written.
 */
#ifndef HERALD_STORE_FOLLOWUP_H
#define HERALD_STORE_FOLLOWUP_H

#include <glib.h>
#include "store.h"

/* store_followup_since - campaign SINCE's list (its name, the caller's)
 * and when it went out (its first send, 0 when it has not): 1, 0 when
 * there is no such campaign, -1 an error */
int store_followup_since(struct store *store, gint64 since, char **list,
    gint64 *started, GError **error);

/* store_followup_has_link - campaign SINCE's copies held URL: 1, 0, -1 */
int store_followup_has_link(struct store *store, gint64 since,
    const char *url, GError **error);

/* store_followup_new_since - from campaign ID, the members of its list
 * who joined at or before STARTED; *LEFT_OUT how many */
gboolean store_followup_new_since(struct store *store, gint64 id,
    gint64 started, gint64 *left_out, GError **error);

/* store_followup_not_clicked - from campaign ID, the subscribers a
 * person's click on a link of campaign SINCE (URL, or NULL: any) was
 * counted for; *LEFT_OUT how many */
gboolean store_followup_not_clicked(struct store *store, gint64 id,
    gint64 since, const char *url, gint64 *left_out, GError **error);

/* store_followup_left - campaign ID's deliveries now; -1 an error */
gint64 store_followup_left(struct store *store, gint64 id, GError **error);

#endif
