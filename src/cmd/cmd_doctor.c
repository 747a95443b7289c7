/*
 * cmd_doctor.c - herald doctor LIST [--txt "RECORD"] [--ed25519-txt
 * "RECORD"] [--announcement A] [--listen ADDR:PORT]: one PASS, FAIL or
 * SKIP line per check that can be made here (dkim.c makes them; the
 * one-click check POSTs once to herald serve, probe.c). Exit 0 when
 * nothing failed, 78 (configuration) otherwise.
 */
#include <stdio.h>

#include "herald.h"
#include "cmd.h"
#include "config.h"
#include "dkim.h"
#include "doctor.h"

int
cmd_doctor(struct herald *h, int argc, char **argv)
{
	g_autofree char *txt = NULL, *edtxt = NULL, *ann = NULL, *listen = NULL;
	GOptionEntry entries[] = {
		{ "txt", 0, 0, G_OPTION_ARG_STRING, &txt,
		    "the RSA key's TXT record as published (dig +short TXT …)",
		    "RECORD" },
		{ "ed25519-txt", 0, 0, G_OPTION_ARG_STRING, &edtxt,
		    "the ed25519 key's TXT record as published", "RECORD" },
		{ "announcement", 'a', 0, G_OPTION_ARG_STRING, &ann,
		    "the sample to render (default: summit)", "A" },
		{ "listen", 0, 0, G_OPTION_ARG_STRING, &listen,
		    "where herald serve listens (default: web { listen }, "
		    "127.0.0.1:8025)", "ADDR:PORT" },
		{ NULL }
	};
	static const char *const word[] = { "PASS", "FAIL", "SKIP" };
	struct doctor_opts o = { 0 };
	const struct list_config *list;
	g_autoptr(GPtrArray) checks = NULL;
	GError *error = NULL;
	int failed = 0;
	guint i;

	if (!cmd_parse("doctor", "LIST", "Check a list's signing and headers: "
	    "one PASS/FAIL/SKIP line each.", entries, &argc, &argv))
		return EX_USAGE;
	if (argc != 2) {
		fprintf(stderr, "herald doctor: usage: herald doctor LIST\n");
		return EX_USAGE;
	}
	if ((list = config_list(h->config, argv[1], &error)) == NULL)
		return cmd_error("doctor", error);
	o.txt = txt;
	o.ed25519_txt = edtxt;
	o.announcement = ann != NULL ? ann : "summit";
	o.listen = listen;
	checks = doctor_run(h->config, list, &o);
	for (i = 0; i < checks->len; i++) {
		const struct doctor_check *c = g_ptr_array_index(checks, i);

		printf("%s %s\n", word[c->result], c->text);
		failed += c->result == DOCTOR_FAIL;
	}
	if (failed > 0)
		printf("%d check%s failed\n", failed, failed == 1 ? "" : "s");
	return failed > 0 ? EX_CONFIG : EX_OK;
}
