/*
 * store_send.h - the deliveries of a campaign as herald send reads them
 * for copies that record nothing: every recipient of a --dry-run, and
 * the one a --test copy is rendered for.
 *
 * Must stay true: read-only (the campaign and its snapshot of
 * deliveries are made and deleted by campaign.h). A delivery's SEGMENT
 * is the first campaign segment its subscriber matched, MATCHED every
 * list segment matched, comma-separated ("a,b,c", "" for none).
 */
#ifndef HERALD_STORE_SEND_H
#define HERALD_STORE_SEND_H

#include <glib.h>
#include "store.h"
#include "subscriber.h"

/* what store_send_recipients hands each delivery to; its strings last
 * for the call; FALSE (with *ERROR) stops the walk */
typedef gboolean (*store_send_fn)(const struct subscriber *sub,
    const char *segment, const char *matched, gpointer data,
    GError **error);

/* store_send_recipients - every delivery of CAMPAIGN_ID in order, with
 * its subscriber and their attributes, to FN */
gboolean store_send_recipients(struct store *store, gint64 campaign_id,
    store_send_fn fn, gpointer data, GError **error);

/* store_send_sample - the first delivery of CAMPAIGN_ID (of subscriber
 * SUBSCRIBER_ID, unless 0): 1 with *SUB_ID, *SEGMENT and *MATCHED (the
 * caller's), 0 when there is none, -1 and *ERROR */
int store_send_sample(struct store *store, gint64 campaign_id,
    gint64 subscriber_id, gint64 *sub_id, char **segment, char **matched,
    GError **error);

#endif
