/*
 * cmd_report.c - herald report ID [--html FILE | --json]: a campaign
 * summed up (report.c builds and writes it): the text summary on stdout,
 * with --html one self-contained page written to FILE ("-": stdout), or
 * with --json one object: the totals, the clicks and opens, and "links":
 * [{url, clicks, machine_clicks, by_segment: [{segment, clicks}]}].
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "herald.h"
#include "cmd.h"
#include "json_out.h"
#include "report.h"

/* report_json - R as one JSON object on stdout */
static void
report_json(const struct report *r)
{
	struct json_out jo;

	json_out_init(&jo, stdout);
	json_out_object(&jo);
	json_out_kint(&jo, "campaign", r->campaign->id);
	json_out_kstring(&jo, "list", r->campaign->list);
	json_out_kstring(&jo, "state", r->campaign->state);
	json_out_kint(&jo, "total", r->counts.total);
	json_out_kint(&jo, "sent", r->counts.sent);
	json_out_kint(&jo, "failed", r->counts.failed);
	json_out_kint(&jo, "queued", r->counts.queued);
	json_out_kint(&jo, "bounced", r->bounced);
	json_out_kint(&jo, "unsubscribed", r->unsubscribed);
	json_out_kint(&jo, "replies", r->replies);
	report_clicks_json(&jo, r->clicks);
	json_out_end(&jo);
	json_out_end_line(&jo);
}

/* cmd_report - herald report ID [--html FILE | --json] */
int
cmd_report(struct herald *h, int argc, char **argv)
{
	g_autofree char *html = NULL;
	gboolean json = FALSE;
	const GOptionEntry entries[] = {
		{ "html", 0, 0, G_OPTION_ARG_FILENAME, &html,
		    "write one self-contained HTML page with charts to FILE "
		    "(- for stdout)", "FILE" },
		{ "json", 0, 0, G_OPTION_ARG_NONE, &json,
		    "one JSON object: totals, clicks per link and segment, "
		    "clicks per minute, opens", NULL },
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
	    *end != '\0' || (json && html != NULL)) {
		fprintf(stderr, "herald report: usage: herald report ID "
		    "[--html FILE | --json]\n");
		return EX_USAGE;
	}
	if ((r = report_build(h->store, h->config, id, &error)) == NULL)
		return cmd_error("report", error);
	if (json) {
		report_json(r);
		return EX_OK;
	}
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
