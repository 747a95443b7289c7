/*
 * bench-render.c - render and compose one announcement for N synthetic
 * subscribers in one process, one thread, no SMTP: the per-message cost
 * of herald's rendering and MIME composition (tests/bench/bench-render.sh).
 *
 *   bench-render CONFIG ANNOUNCEMENT LIST [N]
 *
 * Prints messages per second, bytes, and the peak RSS, which must not grow
 * with N (every message reuses one buffer).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "herald.h"
#include "announcement.h"
#include "compose.h"
#include "config.h"

static const char *const bench_names[] = {
	"Ada Lovelace", "Grace Hopper", "Linus", "Ken Thompson", "",
	"Jürgen Groß", "Margaret Hamilton",
};

/* bench_cpu - user + system CPU seconds so far */
static double
bench_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* bench_rss_kb - the peak resident set so far */
static long
bench_rss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

int
main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(config) cfg = NULL;
	g_autoptr(announcement) ann = NULL;
	g_autoptr(composer) comp = NULL;
	const struct list_config *list;
	struct token_key key;
	GString *out = g_string_sized_new(65536);
	long n = argc > 4 ? atol(argv[4]) : 100000, i, rss_early = 0;
	guint64 bytes = 0;
	gint64 t0, t1;
	double c0, c1;
	char email[64];
	const char *const order[] = { "users", "developers", "integrators",
	    "architects", NULL };

	if (argc < 4) {
		fprintf(stderr, "usage: bench-render CONFIG ANNOUNCEMENT LIST [N]\n");
		return 64;
	}
	memset(&key, 7, sizeof(key));
	if ((cfg = config_load(argv[1], &error)) == NULL ||
	    (list = config_list(cfg, argv[3], &error)) == NULL ||
	    (ann = announcement_load(argv[2], cfg, &error)) == NULL ||
	    (comp = composer_new(ann, list, &key, order, 0, &error)) == NULL) {
		fprintf(stderr, "bench-render: %s\n", error->message);
		return 1;
	}
	t0 = g_get_monotonic_time();
	c0 = bench_cpu();
	for (i = 0; i < n; i++) {
		struct subscriber sub = { 0 };
		const char *matched[3] = { order[i % 4], NULL, NULL };
		g_autofree char *env = NULL;

		snprintf(email, sizeof(email), "person%ld@example.com", i);
		sub.id = i + 1;
		sub.email = email;
		sub.name = (char *)bench_names[i % G_N_ELEMENTS(bench_names)];
		sub.attrs = NULL;
		g_string_truncate(out, 0);
		if (!composer_render(comp, &sub, order[i % 4], matched, i + 1,
		    out, &env, NULL, &error)) {
			fprintf(stderr, "bench-render: %s\n", error->message);
			return 1;
		}
		bytes += out->len;
		if (i == n / 10)
			rss_early = bench_rss_kb();
	}
	t1 = g_get_monotonic_time();
	c1 = bench_cpu();
	printf("messages: %ld in %.3f s wall = %.0f messages/s (one thread)\n",
	    n, (t1 - t0) / 1e6, n / ((t1 - t0) / 1e6));
	printf("CPU time: %.3f s = %.0f messages per CPU second\n", c1 - c0,
	    n / (c1 - c0));
	printf("average message: %.0f bytes\n", (double)bytes / n);
	printf("peak RSS: %ld kB (at 10%%: %ld kB)\n", bench_rss_kb(), rss_early);
	g_string_free(out, TRUE);
	return 0;
}
