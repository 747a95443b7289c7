/*
 * cmd_report.c - herald report ID [--html FILE]: a campaign summed up
 * (report.c builds and writes it): the text summary on stdout, or with
 * --html one self-contained page written to FILE ("-": stdout).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "herald.h"
#include "cmd.h"
#include "report.h"

int
cmd_report(struct herald *h, int argc, char **argv)
{
	g_autofree char *html = NULL;
	const GOptionEntry entries[] = {
		{ "html", 0, 0, G_OPTION_ARG_FILENAME, &html,
		    "write one self-contained HTML page with charts to FILE "
		    "(- for stdout)", "FILE" },
		{ NULL }
	};
	g_autoptr(report) r = NULL;
	g_autofree char *text = NULL;
	GError *error = NULL;
	char *end = NULL;
	gint64 id;

	if (!cmd_parse("report", "ID", "Sum up campaign ID: the send curve, "
	    "outcomes per segment, bounce kinds and reply codes.", entries,
	    &argc, &argv))
		return EX_USAGE;
	if (argc != 2 || (id = g_ascii_strtoll(argv[1], &end, 10)) <= 0 ||
	    *end != '\0') {
		fprintf(stderr, "herald report: usage: herald report ID "
		    "[--html FILE]\n");
		return EX_USAGE;
	}
	if ((r = report_build(h->store, h->config, id, &error)) == NULL)
		return cmd_error("report", error);
	if (html == NULL) {
		text = report_text(r);
		fputs(text, stdout);
		return EX_OK;
	}
	text = report_html(r);
	if (strcmp(html, "-") == 0) {
		fputs(text, stdout);
		return EX_OK;
	}
	if (!g_file_set_contents(html, text, -1, &error)) {
		error->domain = HERALD_ERROR;
		error->code = HERALD_ERROR_CANTCREAT;
		return cmd_error("report", error);
	}
	return EX_OK;
}
