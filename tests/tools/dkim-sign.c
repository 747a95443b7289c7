/*
 * dkim-sign.c - dkim.c's signer alone, in one thread: sign MESSAGE (a
 * file of CRLF bytes, unsigned) N times with the RSA key KEY, and print
 * the user CPU time per signature (tests/bench/bench-dkim.sh puts it beside
 * herald send's signed-minus-unsigned figure and openssl speed's).
 *
 *   dkim-sign KEY MESSAGE [N [ED25519_KEY]]
 *
 *   dkim-sign --canon MESSAGE [N]
 *
 * prints the relaxed body canonicalization alone (dkim_canon.c, its
 * output counted and dropped: no digest) per body of MESSAGE.
 *
 * With ED25519_KEY (not "-") each message gets the second signature too.
 * DKIM_SIGN_THREADS=T signs N messages in each of T threads sharing the
 * one signer, as herald send's workers do, and prints the user CPU time of
 * all of them per signature.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "herald.h"
#include "config.h"
#include "dkim.h"
#include "dkim_canon.h"

struct job {
	struct dkim_signer *s;
	const char *msg;
	gsize len;
	int n;
	gboolean ok;
};

/* signer - sign J->N copies of the message */
static gpointer
signer(gpointer data)
{
	struct job *j = data;
	GString *out = g_string_sized_new(65536);
	GError *error = NULL;
	int i;

	j->ok = TRUE;
	for (i = 0; i < j->n && j->ok; i++) {
		g_string_truncate(out, 0);
		g_string_append_len(out, j->msg, j->len);
		if (!dkim_signer_sign(j->s, out, 0, &error)) {
			fprintf(stderr, "dkim-sign: %s\n", error->message);
			j->ok = FALSE;
		}
	}
	g_string_free(out, TRUE);
	return NULL;
}

/* count - a canonicalizer's sink that only counts */
static void
count(gpointer data, const void *buf, gsize len)
{
	(void)buf;
	*(gsize *)data += len;
}

/* cpu - this process's user CPU seconds: what openssl speed divides by,
 * so that the signer alone and the bare sign are timed the same way */
static double
cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
}

/* canon_only - the body of MSG canonicalized N times; the exit status */
static int
canon_only(const char *path, int n)
{
	g_autofree char *msg = NULL;
	GError *error = NULL;
	struct dkim_canon_body b;
	const char *body;
	gsize len, out = 0;
	double t0;
	int i;

	if (!g_file_get_contents(path, &msg, &len, &error)) {
		fprintf(stderr, "dkim-sign: %s\n", error->message);
		return EX_NOINPUT;
	}
	body = strstr(msg, "\r\n\r\n");
	body = body != NULL ? body + 4 : msg + len;
	len -= (gsize)(body - msg);
	t0 = cpu();
	for (i = 0; i < n; i++) {
		dkim_canon_body_init(&b, count, &out);
		dkim_canon_body_update(&b, body, len);
		dkim_canon_body_final(&b);
	}
	printf("%.2f us per body of %zu bytes (%zu canonical)\n",
	    (cpu() - t0) * 1e6 / n, len, out / (gsize)MAX(n, 1));
	return EX_OK;
}

int
main(int argc, char **argv)
{
	struct list_dkim cfg = { 0 };
	struct dkim_signer *s;
	g_autofree char *msg = NULL;
	GError *error = NULL;
	gsize len;
	int i, threads, n = argc > 3 ? atoi(argv[3]) : 1000;
	struct job *jobs;
	GThread **tids;
	double t0;

	if (argc < 3) {
		fprintf(stderr, "usage: dkim-sign KEY MESSAGE [N]\n"
		    "       dkim-sign --canon MESSAGE [N]\n");
		return EX_USAGE;
	}
	if (strcmp(argv[1], "--canon") == 0)
		return canon_only(argv[2], n > 0 ? n : 1000);
	cfg.domain = (char *)"example.org";
	cfg.selector = (char *)"bench";
	cfg.key_file = argv[1];
	if (argc > 4 && strcmp(argv[4], "-") != 0) {
		cfg.ed25519_selector = (char *)"bench-ed";
		cfg.ed25519_key_file = argv[4];
	}
	if ((s = dkim_signer_new(&cfg, &error)) == NULL ||
	    !g_file_get_contents(argv[2], &msg, &len, &error)) {
		fprintf(stderr, "dkim-sign: %s\n", error->message);
		return EX_CONFIG;
	}
	threads = g_getenv("DKIM_SIGN_THREADS") != NULL ?
	    MAX(atoi(g_getenv("DKIM_SIGN_THREADS")), 1) : 1;
	jobs = g_new0(struct job, threads);
	tids = g_new0(GThread *, threads);
	t0 = cpu();
	for (i = 0; i < threads; i++) {
		jobs[i] = (struct job){ s, msg, len, n, FALSE };
		tids[i] = g_thread_new("sign", signer, &jobs[i]);
	}
	for (i = 0; i < threads; i++)
		g_thread_join(tids[i]);
	for (i = 0; i < threads; i++)
		if (!jobs[i].ok)
			return EX_SOFTWARE;
	printf("%.1f us per message of %zu bytes%s\n", (cpu() - t0) * 1e6 /
	    ((double)n * threads), len, threads > 1 ? " (CPU of all threads)" :
	    "");
	g_free(jobs);
	g_free(tids);
	dkim_signer_free(s);
	return EX_OK;
}
