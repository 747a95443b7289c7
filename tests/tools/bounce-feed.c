/*
 * bounce-feed.c - a test helper that hands bounces to bounce_policy the way
 * herald pipe and the sender do, so the CLI tests of herald bounces and
 * herald maintain can fill a database without a mail server.
 *
 *   bounce-feed [--list L] [--now T] [--token TOK] FILE...
 *	each FILE as a message that reached L-bounces[+TOK]@; the token is
 *	verified as the pipe does (one that fails counts as none)
 *   bounce-feed [--list L] [--now T] --sync SUB:DELIVERY:STATUS:REPLY
 *	a 5xx recorded by the sender
 *   bounce-feed [--list L] --make-token SUB:DELIVERY
 *	print the VERP token herald puts in that delivery's return path
 *
 * Reads $HERALD_CONFIG like herald. Prints one line per input: the outcome.
 * Exit status as herald's: 0, or what the error's class maps to.
 */
#include <stdio.h>
#include <string.h>

#include <gmime/gmime.h>

#include "herald.h"
#include "bounce_policy.h"
#include "config.h"
#include "store.h"
#include "store_bounces.h"
#include "token.h"

static int
fail(GError *error)
{
	int status = herald_exit_status(error);

	fprintf(stderr, "bounce-feed: %s\n", error->message);
	g_error_free(error);
	return status;
}

int
main(int argc, char **argv)
{
	g_autofree char *list_name = NULL, *token = NULL, *sync = NULL;
	g_autofree char *make = NULL;
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	GOptionEntry entries[] = {
		{ "list", 0, 0, G_OPTION_ARG_STRING, &list_name, "list", "L" },
		{ "now", 0, 0, G_OPTION_ARG_INT64, &now, "unix time", "T" },
		{ "token", 0, 0, G_OPTION_ARG_STRING, &token, "VERP token", "TOK" },
		{ "sync", 0, 0, G_OPTION_ARG_STRING, &sync, "sync 5xx", "S" },
		{ "make-token", 0, 0, G_OPTION_ARG_STRING, &make, "token", "S:D" },
		{ NULL }
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("FILE...");
	g_autoptr(config) cfg = NULL;
	g_autoptr(store) st = NULL;
	const struct list_config *list;
	struct token_key key;
	GError *error = NULL;
	int i;

	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &error))
		return fail(error);
	g_mime_init();
	if ((cfg = config_load(g_getenv("HERALD_CONFIG"), &error)) == NULL)
		return fail(error);
	if ((list = config_list(cfg, list_name != NULL ? list_name :
	    "xen-users", &error)) == NULL)
		return fail(error);
	if (!token_key_load(cfg->secret, &key, &error))
		return fail(error);
	if (make != NULL) {
		g_auto(GStrv) p = g_strsplit(make, ":", 2);
		g_autofree char *t = NULL;

		if (p[0] == NULL || p[1] == NULL)
			return 64;
		t = token_make(&key, TOKEN_BOUNCE, list->name,
		    g_ascii_strtoll(p[0], NULL, 10), g_ascii_strtoll(p[1], NULL, 10));
		printf("%s\n", t);
		return 0;
	}
	if ((st = store_open(cfg->database, 0, &error)) == NULL)
		return fail(error);
	if (sync != NULL) {
		g_auto(GStrv) p = g_strsplit(sync, ":", 4);

		if (g_strv_length(p) != 4)
			return 64;
		if (!store_bounce_record_sync(st, list, 0,
		    g_ascii_strtoll(p[0], NULL, 10), g_ascii_strtoll(p[1], NULL, 10),
		    *p[2] != '\0' ? p[2] : NULL, p[3], now, &error))
			return fail(error);
		printf("sync recorded\n");
		return 0;
	}
	for (i = 1; i < argc; i++) {
		struct bounce_verp verp = { 0 }, *vp = NULL;
		struct bounce_outcome oc;
		g_autofree char *raw = NULL;
		gsize len;

		if (!g_file_get_contents(argv[i], &raw, &len, &error))
			return fail(error);
		if (token != NULL) {
			struct token_claim tc;

			if (token_verify(&key, token, list->name,
			    TOKEN_ACCEPT_BOUNCE, &tc, NULL)) {
				verp.subscriber_id = tc.subscriber_id;
				verp.delivery_id = tc.extra_id;
				vp = &verp;
			}
		}
		if (!bounce_policy_handle(st, list, vp, NULL, raw, len, &key, now,
		    NULL, &oc, &error))
			return fail(error);
		printf("%s: %s stored=%d scored=%d disabled=%d notices=%d\n",
		    argv[i], vp != NULL ? "verp" : "no-token", oc.stored,
		    oc.scored, oc.disabled, oc.notices);
	}
	return 0;
}
