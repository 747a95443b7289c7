/*
 * test-web_metrics.c - GET /metrics' own parts: web.metrics_allow
 * (addresses, networks of both families, IPv4-mapped clients and
 * networks, bad entries refused), the routes requests count under, and
 * the text a scrape of a fresh store gives after some counted requests
 * (status codes, "none" for no answer, a cumulative histogram).
 */
#include <string.h>

#include "herald.h"
#include "config.h"
#include "web_metrics.h"
#include "store-fixture.h"

/* metrics_with - web_metrics_new over ALLOW (NULL-terminated) */
static struct web_metrics *
metrics_with(char **allow, GError **error)
{
	struct config c;

	memset(&c, 0, sizeof(c));
	c.web.metrics_allow = allow;
	return web_metrics_new(&c, error);
}

static void
test_allow(void)
{
	char *allow[] = { "127.0.0.1", "10.0.0.0/8", "2001:db8::/32",
	    "::ffff:192.0.2.0/120", "172.16.5.0/23", NULL };
	g_autoptr(GError) error = NULL;
	struct web_metrics *m = metrics_with(allow, &error);
	static const struct {
		const char *client;
		gboolean ok;
	} cases[] = {
		{ "127.0.0.1", TRUE }, { "127.0.0.2", FALSE },
		{ "10.200.3.4", TRUE }, { "11.0.0.1", FALSE },
		{ "2001:db8:1::5", TRUE }, { "2001:db9::1", FALSE },
		{ "::ffff:127.0.0.1", TRUE }, { "192.0.2.77", TRUE },
		{ "192.0.3.1", FALSE }, { "172.16.4.9", TRUE },
		{ "172.16.6.1", FALSE }, { "::1", FALSE }, { "?", FALSE },
		{ "", FALSE },
	};
	size_t i;

	g_assert_no_error(error);
	g_assert_nonnull(m);
	for (i = 0; i < G_N_ELEMENTS(cases); i++) {
		if (web_metrics_allowed(m, cases[i].client) != cases[i].ok)
			g_error("%s: wanted %s", cases[i].client,
			    cases[i].ok ? "allowed" : "refused");
	}
	web_metrics_free(m);
}

static void
test_allow_bad(void)
{
	static const char *const bad[] = { "10.0.0.0/33", "host.example",
	    "::1/129", "1.2.3.4/", "1.2.3.4/x", "" };
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(bad); i++) {
		char *allow[] = { (char *)bad[i], NULL };
		g_autoptr(GError) error = NULL;

		g_assert_null(metrics_with(allow, &error));
		g_assert_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG);
		g_assert_nonnull(strstr(error->message, "metrics_allow"));
	}
}

static void
test_routes(void)
{
	int other = web_metrics_route("/nowhere");

	g_assert_cmpint(web_metrics_route("/unsubscribe/abc"), ==,
	    web_metrics_route("/unsubscribe"));
	g_assert_cmpint(web_metrics_route("/health?x=1"), ==,
	    web_metrics_route("/health"));
	g_assert_cmpint(web_metrics_route("/health"), !=, other);
	g_assert_cmpint(web_metrics_route("/metrics"), !=, other);
	g_assert_cmpint(web_metrics_route("/metricsx"), ==, other);
	g_assert_cmpint(web_metrics_route("/"), ==, other);
	g_assert_cmpint(web_metrics_route("unsubscribe"), ==, other);
}

static void
test_render(void)
{
	char *allow[] = { NULL };
	struct config c;
	g_autoptr(store) st = fresh();
	g_autoptr(GError) error = NULL;
	g_autofree char *text = NULL;
	struct web_metrics *m;
	int u = web_metrics_route("/unsubscribe/x");

	memset(&c, 0, sizeof(c));
	c.web.metrics_allow = allow;
	c.lists = g_ptr_array_new();
	c.relays = g_ptr_array_new();
	m = web_metrics_new(&c, &error);
	g_assert_nonnull(m);
	g_assert_true(store_exec(st, "INSERT INTO lists(name) VALUES ('l');"
	    "INSERT INTO campaigns(list_id, announcement, segments, state)"
	    " VALUES (1, 'a', 's', 'done')", NULL));
	g_assert_cmpint(scalar(st, "SELECT count(*) FROM campaigns"), ==, 1);
	web_metrics_count(m, u, 200, TRUE, 700);
	web_metrics_count(m, u, 200, TRUE, 30000);
	web_metrics_count(m, u, 0, FALSE, 10);
	web_metrics_count(m, web_metrics_route("/zz"), 404, FALSE, 10);
	text = web_metrics_render(m, &c, st, &error);
	g_assert_no_error(error);
	g_assert_nonnull(strstr(text, "herald_http_requests_total{route="
	    "\"unsubscribe\",status=\"200\"} 2\n"));
	g_assert_nonnull(strstr(text, "herald_http_requests_total{route="
	    "\"unsubscribe\",status=\"none\"} 1\n"));
	g_assert_nonnull(strstr(text, "herald_http_requests_total{route="
	    "\"other\",status=\"404\"} 1\n"));
	g_assert_nonnull(strstr(text, "herald_oneclick_duration_seconds_bucket"
	    "{le=\"0.0005\"} 0\n"));
	g_assert_nonnull(strstr(text, "herald_oneclick_duration_seconds_bucket"
	    "{le=\"0.001\"} 1\n"));
	g_assert_nonnull(strstr(text, "herald_oneclick_duration_seconds_bucket"
	    "{le=\"0.05\"} 2\n"));
	g_assert_nonnull(strstr(text, "herald_oneclick_duration_seconds_count"
	    " 2\n"));
	g_assert_nonnull(strstr(text, "herald_oneclick_duration_seconds_sum"
	    " 0.030700\n"));
	g_assert_nonnull(strstr(text, "herald_campaigns{state=\"done\"} 1\n"));
	web_metrics_free(m);
	g_ptr_array_unref(c.lists);
	g_ptr_array_unref(c.relays);
}

int
main(int argc, char **argv)
{
	int rc;

	g_test_init(&argc, &argv, NULL);
	fixture_init("test-web_metrics.XXXXXX");
	g_test_add_func("/web_metrics/allow", test_allow);
	g_test_add_func("/web_metrics/allow-bad", test_allow_bad);
	g_test_add_func("/web_metrics/routes", test_routes);
	g_test_add_func("/web_metrics/render", test_render);
	rc = g_test_run();
	fixture_done();
	return rc;
}
