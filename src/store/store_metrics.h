/*
 * store_metrics.h - what herald serve's GET /metrics reads from the store
 * (web_metrics.c turns it into the Prometheus text format): deliveries
 * per list and relay by outcome, campaigns by state, bounces by kind,
 * unsubscribes by channel, the relays' last known states.
 *
 * Must stay true: read only, each query one statement (one snapshot);
 * the counts are the database's, so every herald process's work shows,
 * whichever process did it.
 */
#ifndef HERALD_STORE_METRICS_H
#define HERALD_STORE_METRICS_H

#include "store.h"

/* one row of a metric: up to two label values and up to four numbers */
struct store_metric {
	char *label[2];
	gint64 v[4];
};

/* store_metrics_free - an array the functions below return */
void store_metrics_free(GArray *rows);

/* store_metrics_deliveries - per list (label 0) and relay (label 1, "none"
 * for deliveries never tried): v[0] sent, v[1] failed for good, v[2]
 * deferred (queued after a failed attempt, waiting to retry), v[3] queued
 * (deferred included); ordered by list and relay. NULL and *ERROR. */
GArray *store_metrics_deliveries(struct store *store, GError **error);

/* store_metrics_campaigns - campaigns per state (label 0): v[0] */
GArray *store_metrics_campaigns(struct store *store, GError **error);

/* store_metrics_bounces - stored bounces per kind (hard, soft, unknown) */
GArray *store_metrics_bounces(struct store *store, GError **error);

/* store_metrics_unsubscribes - unsubscribes per channel (label 0): "mail"
 * (a reply or the List-Unsubscribe mailto), "one-click" (the RFC 8058
 * POST, which the unsubscribe page's button also sends), "web" (the
 * preferences page), "bounce" (removed after bounce warnings), "cli" */
GArray *store_metrics_unsubscribes(struct store *store, GError **error);

/* store_metrics_relays - each relay's last recorded state (label 0 the
 * relay, label 1 "up", "down" or "at quota"); shaping groups left out */
GArray *store_metrics_relays(struct store *store, GError **error);

#endif
