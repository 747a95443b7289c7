/*
 * web_metrics.h - herald serve's GET /metrics: the Prometheus text format
 * (version 0.0.4), answered only to the addresses of web.metrics_allow.
 *
 * Two sources: counters this process keeps (requests by route and
 * status, the one-click latency histogram), bumped once per request with
 * relaxed atomic adds and nothing else; and the store's counts read at
 * scrape time (store_metrics.h), which cover every herald process.
 *
 * Must stay true: every metric name starts with herald_; counting a
 * request takes no lock and allocates nothing.
 */
#ifndef HERALD_WEB_METRICS_H
#define HERALD_WEB_METRICS_H

#include <glib.h>

struct config;
struct store;
struct web_metrics;

/* web_metrics_new - the counters, and web.metrics_allow parsed (addresses
 * and ADDR/BITS networks); NULL and a CONFIG error naming a bad entry */
struct web_metrics *web_metrics_new(const struct config *config,
    GError **error);
void web_metrics_free(struct web_metrics *m);

/* web_metrics_route - the route URL counts under (a small index) */
int web_metrics_route(const char *url);

/* web_metrics_count - one request answered: ROUTE (web_metrics_route),
 * STATUS (0: none sent), and for a one-click POST its time in US */
void web_metrics_count(struct web_metrics *m, int route, unsigned status,
    gboolean one_click, gint64 us);

/* web_metrics_allowed - CLIENT (a numeric address) may read /metrics */
gboolean web_metrics_allowed(const struct web_metrics *m, const char *client);

/* web_metrics_render - the whole text (the caller's), reading STORE for
 * the database's counts; NULL and *ERROR when the store fails */
char *web_metrics_render(struct web_metrics *m, const struct config *config,
    struct store *store, GError **error);

#endif
