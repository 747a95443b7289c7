/*
 * web_metrics.c - GET /metrics for herald serve (see web_metrics.h).
 *
 * The request counters are a fixed table, route by status code, of
 * 64-bit counters bumped with a relaxed atomic add from whichever MHD
 * thread answered; the one-click histogram is a fixed set of buckets
 * counted the same way. A scrape reads them (each counter on its own;
 * the text is not one instant, as with any Prometheus client) and asks
 * the store for the rest.
 *
 * Must stay true: web_metrics_count takes no lock and allocates nothing
 * (it runs once per request, in the hot path of herald serve); names
 * begin with herald_, label values are escaped as the format wants.
 */
#include <string.h>
#include <arpa/inet.h>

#include "herald.h"
#include "config.h"
#include "store.h"
#include "store_metrics.h"
#include "web_metrics.h"

/* the routes requests are counted under; the last is everything else */
static const char *const metrics_routes[] = {
	"health", "archive", "subscribe", "unsubscribe", "resubscribe",
	"preferences", "confirm", "metrics", "other",
};
#define METRICS_ROUTES	G_N_ELEMENTS(metrics_routes)
#define METRICS_STATUS	600	/* codes 1..599; 0: no answer was sent */

/* the one-click histogram's upper bounds, in microseconds */
static const gint64 metrics_bounds_us[] = {
	500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000,
};
#define METRICS_BUCKETS	(G_N_ELEMENTS(metrics_bounds_us) + 1)

/* one web.metrics_allow entry: an address and the bits that must match */
struct metrics_net {
	int family;
	guint8 addr[16];
	int bits;
};

struct web_metrics {
	guint64 requests[METRICS_ROUTES][METRICS_STATUS];
	guint64 buckets[METRICS_BUCKETS];	/* not cumulative */
	guint64 oneclick_us;			/* the sum */
	GArray *allow;				/* struct metrics_net */
};

/* metrics_inet - TEXT as an address of either family into NET (bits
 * left alone); IPv4-mapped IPv6 becomes IPv4. FALSE: not an address */
static gboolean
metrics_inet(const char *text, struct metrics_net *net)
{
	static const guint8 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };
	guint8 a6[16];

	if (inet_pton(AF_INET, text, net->addr) == 1) {
		net->family = AF_INET;
		return TRUE;
	}
	if (inet_pton(AF_INET6, text, a6) != 1)
		return FALSE;
	if (memcmp(a6, mapped, sizeof(mapped)) == 0) {
		net->family = AF_INET;
		memcpy(net->addr, a6 + 12, 4);
	} else {
		net->family = AF_INET6;
		memcpy(net->addr, a6, 16);
	}
	return TRUE;
}

/* metrics_net_parse - "ADDR" or "ADDR/BITS" into NET */
static gboolean
metrics_net_parse(const char *entry, struct metrics_net *net)
{
	g_autofree char *addr = g_strdup(entry);
	char *slash = strchr(addr, '/'), *end;
	gint64 bits;
	int max;

	if (slash != NULL)
		*slash++ = '\0';
	if (!metrics_inet(addr, net))
		return FALSE;
	/* the text's own family sets the bound (an IPv4-mapped one is IPv6) */
	max = strchr(addr, ':') != NULL ? 128 : 32;
	net->bits = net->family == AF_INET ? 32 : 128;
	if (slash == NULL)
		return TRUE;
	bits = g_ascii_strtoll(slash, &end, 10);
	if (end == slash || *end != '\0' || bits < 0 || bits > max)
		return FALSE;
	/* an IPv4-mapped network keeps its IPv4 prefix length */
	net->bits = (int)(strchr(addr, ':') != NULL && net->family == AF_INET ?
	    MAX(bits - 96, 0) : bits);
	return TRUE;
}

/* web_metrics_new - see web_metrics.h */
struct web_metrics *
web_metrics_new(const struct config *config, GError **error)
{
	struct web_metrics *m = g_new0(struct web_metrics, 1);
	char **p;

	m->allow = g_array_new(FALSE, TRUE, sizeof(struct metrics_net));
	for (p = config->web.metrics_allow; p != NULL && *p != NULL; p++) {
		struct metrics_net net = { 0 };

		if (!metrics_net_parse(*p, &net)) {
			g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
			    "%s: web { metrics_allow }: \"%s\" is neither an "
			    "address nor ADDRESS/BITS", config->path != NULL ?
			    config->path : "herald.conf", *p);
			web_metrics_free(m);
			return NULL;
		}
		g_array_append_val(m->allow, net);
	}
	return m;
}

/* web_metrics_free - see web_metrics.h */
void
web_metrics_free(struct web_metrics *m)
{
	if (m == NULL)
		return;
	g_array_free(m->allow, TRUE);
	g_free(m);
}

/* web_metrics_route - see web_metrics.h */
int
web_metrics_route(const char *url)
{
	size_t i, n;

	if (url[0] != '/')
		return METRICS_ROUTES - 1;
	url++;
	n = strcspn(url, "/?");
	for (i = 0; i + 1 < METRICS_ROUTES; i++)
		if (strlen(metrics_routes[i]) == n &&
		    memcmp(metrics_routes[i], url, n) == 0)
			return (int)i;
	return METRICS_ROUTES - 1;
}

/* web_metrics_count - see web_metrics.h */
void
web_metrics_count(struct web_metrics *m, int route, unsigned status,
    gboolean one_click, gint64 us)
{
	size_t b = 0;

	if (route < 0 || route >= (int)METRICS_ROUTES)
		route = METRICS_ROUTES - 1;
	__atomic_fetch_add(&m->requests[route][status < METRICS_STATUS ?
	    status : 0], 1, __ATOMIC_RELAXED);
	if (!one_click)
		return;
	while (b < G_N_ELEMENTS(metrics_bounds_us) && us > metrics_bounds_us[b])
		b++;
	__atomic_fetch_add(&m->buckets[b], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&m->oneclick_us, (guint64)MAX(us, 0),
	    __ATOMIC_RELAXED);
}

/* web_metrics_allowed - see web_metrics.h */
gboolean
web_metrics_allowed(const struct web_metrics *m, const char *client)
{
	struct metrics_net c = { 0 };
	guint i;

	if (!metrics_inet(client, &c))
		return FALSE;
	for (i = 0; i < m->allow->len; i++) {
		const struct metrics_net *n = &g_array_index(m->allow,
		    struct metrics_net, i);
		int whole = n->bits / 8, rest = n->bits % 8;

		if (n->family != c.family || memcmp(n->addr, c.addr, whole) != 0)
			continue;
		if (rest == 0 || ((n->addr[whole] ^ c.addr[whole]) &
		    (0xff << (8 - rest))) == 0)
			return TRUE;
	}
	return FALSE;
}

/* metrics_label - VALUE escaped for a label (backslash, quote, newline) */
static void
metrics_label(GString *out, const char *name, const char *value)
{
	const char *p;

	g_string_append_printf(out, "%s=\"", name);
	for (p = value; *p != '\0'; p++) {
		if (*p == '\\' || *p == '"')
			g_string_append_c(out, '\\');
		if (*p == '\n')
			g_string_append(out, "\\n");
		else
			g_string_append_c(out, *p);
	}
	g_string_append_c(out, '"');
}

/* metrics_head - a family's HELP and TYPE lines */
static void
metrics_head(GString *out, const char *name, const char *type,
    const char *help)
{
	g_string_append_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

/* metrics_sample - NAME{L1="V1"[,L2="V2"]} VALUE (L2 may be NULL) */
static void
metrics_sample(GString *out, const char *name, const char *l1,
    const char *v1, const char *l2, const char *v2, gint64 value)
{
	g_string_append_printf(out, "%s{", name);
	metrics_label(out, l1, v1);
	if (l2 != NULL) {
		g_string_append_c(out, ',');
		metrics_label(out, l2, v2);
	}
	g_string_append_printf(out, "} %" G_GINT64_FORMAT "\n", value);
}

/* metrics_value - the count of ROWS whose first label is KEY (0: none) */
static gint64
metrics_value(GArray *rows, const char *key)
{
	guint i;

	for (i = 0; i < rows->len; i++) {
		struct store_metric *r = &g_array_index(rows, struct store_metric,
		    i);

		if (strcmp(r->label[0], key) == 0)
			return r->v[0];
	}
	return 0;
}

/* metrics_by_label - one family of one label: every value in FIXED (0
 * when ROWS lacks it) and any other value ROWS holds */
static void
metrics_by_label(GString *out, const char *name, const char *type,
    const char *help, const char *label, const char *const *fixed,
    GArray *rows)
{
	guint i;

	metrics_head(out, name, type, help);
	for (i = 0; fixed[i] != NULL; i++)
		metrics_sample(out, name, label, fixed[i], NULL, NULL,
		    metrics_value(rows, fixed[i]));
	for (i = 0; i < rows->len; i++) {
		struct store_metric *r = &g_array_index(rows, struct store_metric,
		    i);

		if (!g_strv_contains(fixed, r->label[0]))
			metrics_sample(out, name, label, r->label[0], NULL, NULL,
			    r->v[0]);
	}
}

/* metrics_name_cmp - two names in a GPtrArray, for sorting */
static gint
metrics_name_cmp(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* metrics_queued - queued deliveries per list: every configured list and
 * every list ROWS names, sorted */
static void
metrics_queued(GString *out, const struct config *config, GArray *rows)
{
	g_autoptr(GPtrArray) names = g_ptr_array_new();
	guint i, j;

	metrics_head(out, "herald_deliveries_queued", "gauge", "Deliveries of "
	    "campaigns not yet sent or failed (deferred ones included), per "
	    "list.");
	for (i = 0; i < config->lists->len; i++)
		g_ptr_array_add(names, ((const struct list_config *)
		    g_ptr_array_index(config->lists, i))->name);
	for (i = 0; i < rows->len; i++) {
		char *l = g_array_index(rows, struct store_metric, i).label[0];

		if (!g_ptr_array_find_with_equal_func(names, l, g_str_equal,
		    NULL))
			g_ptr_array_add(names, l);
	}
	g_ptr_array_sort(names, metrics_name_cmp);
	for (j = 0; j < names->len; j++) {
		gint64 sum = 0;

		for (i = 0; i < rows->len; i++) {
			struct store_metric *r = &g_array_index(rows,
			    struct store_metric, i);

			if (strcmp(r->label[0], names->pdata[j]) == 0)
				sum += r->v[3];
		}
		metrics_sample(out, "herald_deliveries_queued", "list",
		    names->pdata[j], NULL, NULL, sum);
	}
}

/* metrics_deliveries - messages per list and relay by outcome */
static void
metrics_deliveries(GString *out, GArray *rows)
{
	static const struct {
		const char *name, *type, *help;
	} fam[] = {
		{ "herald_messages_sent_total", "counter",
		    "Deliveries sent (accepted by the relay), per list and relay." },
		{ "herald_messages_failed_total", "counter",
		    "Deliveries failed for good, per list and relay." },
		{ "herald_messages_deferred", "gauge", "Deliveries waiting to be "
		    "retried after a temporary failure, per list and relay." },
	};
	guint f, i;

	for (f = 0; f < G_N_ELEMENTS(fam); f++) {
		metrics_head(out, fam[f].name, fam[f].type, fam[f].help);
		for (i = 0; i < rows->len; i++) {
			struct store_metric *r = &g_array_index(rows,
			    struct store_metric, i);

			metrics_sample(out, fam[f].name, "list", r->label[0],
			    "relay", r->label[1], r->v[f]);
		}
	}
}

/* metrics_relays - each relay's state, one sample per state (1 the one
 * it is in): the configured relays, then any other the store knows */
static void
metrics_relays(GString *out, const struct config *config, GArray *rows)
{
	static const char *const states[] = { "up", "down", "at_quota",
	    "unknown" };
	g_autoptr(GPtrArray) names = g_ptr_array_new();
	guint i, s;

	metrics_head(out, "herald_relay_state", "gauge", "A relay's circuit "
	    "as last recorded: 1 for its state (up, down: resting after "
	    "failures, at_quota; unknown: never used), 0 for the others.");
	for (i = 0; i < config->relays->len; i++)
		g_ptr_array_add(names, ((const struct relay_config *)
		    g_ptr_array_index(config->relays, i))->name);
	for (i = 0; i < rows->len; i++) {
		char *r = g_array_index(rows, struct store_metric, i).label[0];

		if (!g_ptr_array_find_with_equal_func(names, r, g_str_equal,
		    NULL))
			g_ptr_array_add(names, r);
	}
	for (i = 0; i < names->len; i++) {
		const char *now = "unknown";
		guint k;

		for (k = 0; k < rows->len; k++) {
			struct store_metric *r = &g_array_index(rows,
			    struct store_metric, k);

			if (strcmp(r->label[0], names->pdata[i]) == 0)
				now = strcmp(r->label[1], "at quota") == 0 ?
				    "at_quota" : r->label[1];
		}
		for (s = 0; s < G_N_ELEMENTS(states); s++)
			metrics_sample(out, "herald_relay_state", "relay",
			    names->pdata[i], "state", states[s],
			    strcmp(now, states[s]) == 0);
	}
}

/* metrics_http - this process's requests by route and status, and the
 * one-click latency histogram */
static void
metrics_http(GString *out, struct web_metrics *m)
{
	guint64 cum = 0;
	guint r, s, b;
	char code[8];

	metrics_head(out, "herald_http_requests_total", "counter", "Requests "
	    "herald serve answered since it started, by route and status "
	    "(none: the client left before an answer).");
	for (r = 0; r < METRICS_ROUTES; r++)
		for (s = 0; s < METRICS_STATUS; s++) {
			guint64 n = __atomic_load_n(&m->requests[r][s],
			    __ATOMIC_RELAXED);

			if (n == 0)
				continue;
			g_snprintf(code, sizeof(code), "%u", s);
			metrics_sample(out, "herald_http_requests_total", "route",
			    metrics_routes[r], "status", s == 0 ? "none" : code,
			    (gint64)n);
		}
	metrics_head(out, "herald_oneclick_duration_seconds", "histogram",
	    "Time from a one-click unsubscribe POST's arrival to its answer "
	    "(committed), since herald serve started.");
	for (b = 0; b < METRICS_BUCKETS; b++) {
		cum += __atomic_load_n(&m->buckets[b], __ATOMIC_RELAXED);
		if (b < G_N_ELEMENTS(metrics_bounds_us))
			g_string_append_printf(out, "herald_oneclick_duration_"
			    "seconds_bucket{le=\"%g\"} %" G_GUINT64_FORMAT "\n",
			    metrics_bounds_us[b] / 1e6, cum);
		else
			g_string_append_printf(out, "herald_oneclick_duration_"
			    "seconds_bucket{le=\"+Inf\"} %" G_GUINT64_FORMAT "\n"
			    "herald_oneclick_duration_seconds_sum %.6f\n"
			    "herald_oneclick_duration_seconds_count %"
			    G_GUINT64_FORMAT "\n", cum, __atomic_load_n(
			    &m->oneclick_us, __ATOMIC_RELAXED) / 1e6, cum);
	}
}

/* web_metrics_render - see web_metrics.h */
char *
web_metrics_render(struct web_metrics *m, const struct config *config,
    struct store *store, GError **error)
{
	static const char *const states[] = { "created", "sending", "paused",
	    "waiting", "done", "cancelled", NULL };
	static const char *const kinds[] = { "hard", "soft", "unknown", NULL };
	static const char *const channels[] = { "mail", "one-click", "web",
	    "bounce", "cli", NULL };
	GArray *d = NULL, *c = NULL, *b = NULL, *u = NULL, *r = NULL;
	GString *out = NULL;

	if ((d = store_metrics_deliveries(store, error)) != NULL &&
	    (c = store_metrics_campaigns(store, error)) != NULL &&
	    (b = store_metrics_bounces(store, error)) != NULL &&
	    (u = store_metrics_unsubscribes(store, error)) != NULL &&
	    (r = store_metrics_relays(store, error)) != NULL) {
		out = g_string_sized_new(8192);
		metrics_deliveries(out, d);
		metrics_queued(out, config, d);
		metrics_by_label(out, "herald_campaigns", "gauge", "Campaigns "
		    "by state.", "state", states, c);
		metrics_by_label(out, "herald_bounces_total", "counter", "Bounces "
		    "stored, by kind.", "kind", kinds, b);
		metrics_by_label(out, "herald_unsubscribes_total", "counter",
		    "Unsubscribes by channel (mail, one-click, web: the "
		    "preferences page, bounce: removed after bounces, cli).",
		    "channel", channels, u);
		metrics_http(out, m);
		metrics_relays(out, config, r);
	}
	store_metrics_free(d);
	store_metrics_free(c);
	store_metrics_free(b);
	store_metrics_free(u);
	store_metrics_free(r);
	return out != NULL ? g_string_free(out, FALSE) : NULL;
}
