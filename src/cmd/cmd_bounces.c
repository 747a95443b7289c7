/*
 * cmd_bounces.c - herald bounces [LIST] [--campaign ID]: what came back.
 *
 * Without --campaign: one line per subscriber (and per address that
 * matched nobody) with a stored bounce on LIST, or on every list: the
 * membership, the current score, how many bounces, and the last one's
 * time, kind, status, reason and source. With --campaign: the campaign's
 * bounce rate, overall and by kind and reason.
 *
 * Must stay true: read-only; an unknown list or campaign is EX_NOUSER.
 */
#include <stdio.h>
#include <string.h>

#include "herald.h"
#include "bounce_policy.h"
#include "cmd.h"
#include "config.h"
#include "json_out.h"
#include "store.h"

/* cmd_bounces_time - unix time T as "YYYY-MM-DD HH:MM" UTC (caller frees) */
static char *
cmd_bounces_time(gint64 t)
{
	g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(t);

	return dt != NULL ? g_date_time_format(dt, "%Y-%m-%d %H:%M") :
	    g_strdup("-");
}

/* cmd_bounces_members_json - the per-subscriber rows as a JSON array */
static void
cmd_bounces_members_json(GPtrArray *rows)
{
	struct json_out jo;
	guint i;

	json_out_init(&jo, stdout);
	json_out_array(&jo);
	for (i = 0; i < rows->len; i++) {
		const struct bounce_member_row *r = g_ptr_array_index(rows, i);

		json_out_object(&jo);
		json_out_kstring(&jo, "list", r->list);
		json_out_kstring(&jo, "email", r->email);
		json_out_key(&jo, "subscriber");
		if (r->subscriber_id != 0)
			json_out_int(&jo, r->subscriber_id);
		else
			json_out_null(&jo);
		json_out_kstring(&jo, "membership", r->membership);
		json_out_ktime(&jo, "disabled", r->disabled_at);
		json_out_kint(&jo, "warnings_sent", r->warnings_sent);
		json_out_kdouble(&jo, "score", r->score);
		json_out_kint(&jo, "bounces", r->bounces);
		json_out_ktime(&jo, "last", r->last_at);
		json_out_kstring(&jo, "kind", r->kind);
		json_out_kstring(&jo, "status", r->status);
		json_out_kstring(&jo, "reason", r->reason);
		json_out_kstring(&jo, "source", r->source);
		json_out_end(&jo);
	}
	json_out_end(&jo);
	json_out_end_line(&jo);
}

/* cmd_bounces_members - the per-subscriber table */
static int
cmd_bounces_members(struct herald *h, const char *list, gboolean json)
{
	g_autoptr(GPtrArray) rows = NULL;
	GError *error = NULL;
	guint i;

	if ((rows = bounce_policy_members(h->store, list, &error)) == NULL)
		return cmd_error("bounces", error);
	if (json) {
		cmd_bounces_members_json(rows);
		return EX_OK;
	}
	if (rows->len == 0) {
		printf("no bounces stored%s%s\n", list != NULL ? " for " : "",
		    list != NULL ? list : "");
		return EX_OK;
	}
	printf("%-14s %-32s %-12s %5s %5s %-17s %-7s %-7s %-12s %s\n", "LIST",
	    "ADDRESS", "MEMBER", "SCORE", "COUNT", "LAST BOUNCE (UTC)", "KIND",
	    "STATUS", "REASON", "SOURCE");
	for (i = 0; i < rows->len; i++) {
		const struct bounce_member_row *r = g_ptr_array_index(rows, i);
		g_autofree char *when = cmd_bounces_time(r->last_at);
		g_autofree char *member = NULL;

		if (r->membership == NULL)
			member = g_strdup("-");
		else if (r->disabled_at != 0)
			member = g_strdup_printf("%s/w%d", r->membership,
			    r->warnings_sent);
		else
			member = g_strdup(r->membership);
		printf("%-14s %-32s %-12s %5.1f %5d %-17s %-7s %-7s %-12s %s\n",
		    r->list, r->email, member, r->score, r->bounces, when,
		    r->kind, r->status != NULL ? r->status : "-", r->reason,
		    r->source);
	}
	return EX_OK;
}

/* cmd_bounces_rate - "12.5%", or "-" with no denominator */
static char *
cmd_bounces_rate(gint64 n, gint64 of)
{
	if (of <= 0)
		return g_strdup("-");
	return g_strdup_printf("%.1f%%", 100.0 * (double)n / (double)of);
}

/* cmd_bounces_campaign_json - the rate of one campaign as a JSON object */
static void
cmd_bounces_campaign_json(const struct bounce_campaign_report *rep)
{
	struct json_out jo;
	guint i;

	json_out_init(&jo, stdout);
	json_out_object(&jo);
	json_out_kint(&jo, "campaign", rep->campaign_id);
	json_out_key(&jo, "recipients");
	if (rep->recipients >= 0)
		json_out_int(&jo, rep->recipients);
	else
		json_out_null(&jo);
	json_out_kint(&jo, "bounced", rep->bounced);
	json_out_key(&jo, "by_kind");
	json_out_array(&jo);
	for (i = 0; i < rep->rows->len; i++) {
		const struct bounce_campaign_row *r =
		    g_ptr_array_index(rep->rows, i);

		json_out_object(&jo);
		json_out_kstring(&jo, "kind", r->kind);
		json_out_kstring(&jo, "reason", r->reason);
		json_out_kint(&jo, "recipients", r->recipients);
		json_out_kint(&jo, "bounces", r->bounces);
		json_out_end(&jo);
	}
	json_out_end(&jo);
	json_out_end(&jo);
	json_out_end_line(&jo);
}

/* cmd_bounces_campaign - the rate table of one campaign */
static int
cmd_bounces_campaign(struct herald *h, gint64 id, gboolean json)
{
	struct bounce_campaign_report *rep;
	g_autofree char *total = NULL;
	GError *error = NULL;
	guint i;

	if ((rep = bounce_policy_campaign(h->store, id, &error)) == NULL)
		return cmd_error("bounces", error);
	if (json) {
		cmd_bounces_campaign_json(rep);
		bounce_campaign_report_free(rep);
		return EX_OK;
	}
	total = cmd_bounces_rate(rep->bounced, rep->recipients);
	if (rep->recipients >= 0)
		printf("campaign %" G_GINT64_FORMAT ": %" G_GINT64_FORMAT
		    " recipients, %" G_GINT64_FORMAT " bounced (%s)\n", id,
		    rep->recipients, rep->bounced, total);
	else
		printf("campaign %" G_GINT64_FORMAT ": %" G_GINT64_FORMAT
		    " bounced (no delivery records to rate against)\n", id,
		    rep->bounced);
	if (rep->rows->len > 0)
		printf("%-8s %-14s %10s %7s %8s\n", "KIND", "REASON",
		    "RECIPIENTS", "RATE", "BOUNCES");
	for (i = 0; i < rep->rows->len; i++) {
		const struct bounce_campaign_row *r =
		    g_ptr_array_index(rep->rows, i);
		g_autofree char *rate = cmd_bounces_rate(r->recipients,
		    rep->recipients);

		printf("%-8s %-14s %10" G_GINT64_FORMAT " %7s %8"
		    G_GINT64_FORMAT "\n", r->kind, r->reason, r->recipients, rate,
		    r->bounces);
	}
	bounce_campaign_report_free(rep);
	return EX_OK;
}

int
cmd_bounces(struct herald *h, int argc, char **argv)
{
	gint64 campaign = 0;
	gboolean json = FALSE;
	const GOptionEntry entries[] = {
		{ "campaign", 0, 0, G_OPTION_ARG_INT64, &campaign,
		    "the bounce rate of campaign ID by kind and reason", "ID" },
		{ "json", 0, 0, G_OPTION_ARG_NONE, &json,
		    "print JSON (doc/guide/reports.md)", NULL },
		{ NULL }
	};
	GError *error = NULL;

	if (!cmd_parse("bounces", "[LIST]", "Show stored bounces: per "
	    "subscriber the score, the last bounce's kind, status and reason;\n"
	    "with --campaign, that campaign's bounce rate by kind and reason.",
	    entries, &argc, &argv))
		return EX_USAGE;
	if (argc > 2) {
		fprintf(stderr, "herald bounces: unexpected argument \"%s\" "
		    "(try \"herald bounces --help\")\n", argv[2]);
		return EX_USAGE;
	}
	if (campaign != 0) {
		if (argc > 1) {
			fprintf(stderr, "herald bounces: give a LIST or "
			    "--campaign, not both\n");
			return EX_USAGE;
		}
		return cmd_bounces_campaign(h, campaign, json);
	}
	if (argc > 1 && config_list(h->config, argv[1], &error) == NULL)
		return cmd_error("bounces", error);
	return cmd_bounces_members(h, argc > 1 ? argv[1] : NULL, json);
}
