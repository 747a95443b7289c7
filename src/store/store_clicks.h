/*
 * store_clicks.h - the engagement tables (migration 10): the tracked
 * links of each campaign, the click and open counts per minute, and the
 * salted hashes of erased addresses. herald send registers links,
 * herald serve adds counts (in groups), herald report reads them.
 *
 * Must stay true: a count row names a delivery only in per-subscriber
 * mode (delivery 0 otherwise); times are bound from C (unix seconds, or
 * minutes for the counts), never computed in SQL.
 */
#ifndef HERALD_STORE_CLICKS_H
#define HERALD_STORE_CLICKS_H

#include <glib.h>
#include "store.h"

/* store_link_ensure - the id of (CAMPAIGN, SEGMENT ("" for none), URL)
 * in links, the row made if new; FALSE and *ERROR */
gboolean store_link_ensure(struct store *store, gint64 campaign,
    const char *segment, const char *url, gint64 *id, GError **error);

/* store_link_get - link ID's campaign and URL (*URL the caller's):
 * 1 found, 0 no such link, -1 an error */
int store_link_get(struct store *store, gint64 id, gint64 *campaign,
    char **url, GError **error);

/* store_track_add - N more KIND ("click" or "open") counts for REF (a
 * link or a campaign), DELIVERY (0: aggregate) in MINUTE, by a machine
 * or a person */
gboolean store_track_add(struct store *store, const char *kind, gint64 ref,
    gint64 delivery, gint64 minute, gboolean machine, gint64 n,
    GError **error);

/* store_delivery_sent - DELIVERY's campaign and when it was sent (0 when
 * it was not): 1 found, 0 none, -1 an error */
int store_delivery_sent(struct store *store, gint64 delivery,
    gint64 *campaign, gint64 *sent_at, GError **error);

/* store_link_counts - campaign's links: url, segment, person clicks,
 * machine clicks (columns 0-3), by url then segment */
struct store_rows *store_link_counts(struct store *store, gint64 campaign,
    GError **error);

/* store_click_minutes - campaign's clicks per minute: minute, person,
 * machine (columns 0-2), in time order */
struct store_rows *store_click_minutes(struct store *store, gint64 campaign,
    GError **error);

/* store_open_counts - campaign's opens: by people, by machines, and the
 * deliveries opened by a person at least once */
gboolean store_open_counts(struct store *store, gint64 campaign,
    gint64 *person, gint64 *machine, gint64 *unique, GError **error);

#endif
