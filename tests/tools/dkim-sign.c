/*
 * dkim-sign.c - dkim.c's signer alone, in one thread: sign MESSAGE (a
 * file of CRLF bytes, unsigned) N times with the RSA key KEY, and print
 * the CPU time per signature (tests/bench/bench-dkim.sh puts it beside
 * herald send's signed-minus-unsigned figure and openssl speed's).
 *
 *   dkim-sign KEY MESSAGE [N [ED25519_KEY]]
 *
 * With ED25519_KEY each message gets the second signature too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "herald.h"
#include "config.h"
#include "dkim.h"

static double
cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int
main(int argc, char **argv)
{
	struct list_dkim cfg = { 0 };
	struct dkim_signer *s;
	g_autofree char *msg = NULL;
	GError *error = NULL;
	gsize len;
	int i, n = argc > 3 ? atoi(argv[3]) : 1000;
	GString *out = g_string_sized_new(65536);
	double t0;

	if (argc < 3) {
		fprintf(stderr, "usage: dkim-sign KEY MESSAGE [N]\n");
		return EX_USAGE;
	}
	cfg.domain = (char *)"example.org";
	cfg.selector = (char *)"bench";
	cfg.key_file = argv[1];
	if (argc > 4) {
		cfg.ed25519_selector = (char *)"bench-ed";
		cfg.ed25519_key_file = argv[4];
	}
	if ((s = dkim_signer_new(&cfg, &error)) == NULL ||
	    !g_file_get_contents(argv[2], &msg, &len, &error)) {
		fprintf(stderr, "dkim-sign: %s\n", error->message);
		return EX_CONFIG;
	}
	t0 = cpu();
	for (i = 0; i < n; i++) {
		g_string_truncate(out, 0);
		g_string_append_len(out, msg, len);
		if (!dkim_signer_sign(s, out, 0, &error)) {
			fprintf(stderr, "dkim-sign: %s\n", error->message);
			return EX_SOFTWARE;
		}
	}
	printf("%.1f us per message of %zu bytes\n", (cpu() - t0) * 1e6 / n,
	    len);
	dkim_signer_free(s);
	g_string_free(out, TRUE);
	return EX_OK;
}
