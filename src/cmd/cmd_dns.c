/*
 * cmd_dns.c - herald dns LIST [--spf MECH …] [--mx HOST] [--rua ADDR]:
 * print every DNS record the list needs and which identifiers align with
 * its From (dkim.c writes the text).
 */
#include <stdio.h>

#include "herald.h"
#include "cmd.h"
#include "config.h"
#include "dkim.h"

int
cmd_dns(struct herald *h, int argc, char **argv)
{
	g_auto(GStrv) spf = NULL;
	g_autofree char *mx = NULL, *rua = NULL, *text = NULL;
	GOptionEntry entries[] = {
		{ "spf", 0, 0, G_OPTION_ARG_STRING_ARRAY, &spf,
		    "an SPF mechanism for the sending hosts (repeatable; "
		    "default \"mx a\")", "MECH" },
		{ "mx", 0, 0, G_OPTION_ARG_STRING, &mx,
		    "the host that receives the list's mail", "HOST" },
		{ "rua", 0, 0, G_OPTION_ARG_STRING, &rua,
		    "where DMARC aggregate reports go (default: the first owner)",
		    "ADDR" },
		{ NULL }
	};
	struct dkim_dns_opts o;
	const struct list_config *list;
	GError *error = NULL;

	if (!cmd_parse("dns", "LIST", "Print the DNS records a list needs (SPF, "
	    "DKIM, DMARC, MX) and which identifiers align with From.", entries,
	    &argc, &argv))
		return EX_USAGE;
	if (argc != 2) {
		fprintf(stderr, "herald dns: usage: herald dns LIST\n");
		return EX_USAGE;
	}
	if ((list = config_list(h->config, argv[1], &error)) == NULL)
		return cmd_error("dns", error);
	o.spf = spf;
	o.mx = mx;
	o.rua = rua;
	text = dkim_dns_text(h->config, list, &o);
	fputs(text, stdout);
	return fflush(stdout) == 0 ? EX_OK : EX_IOERR;
}
