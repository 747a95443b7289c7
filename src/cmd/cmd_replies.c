/*
 * cmd_replies.c - herald replies [LIST] [--campaign ID] [--kind KIND] and
 * herald reply show ID: the mail herald pipe stored from the list address
 * (replies to announcements, auto-replies, unsubscribe replies, loops) and
 * from the owner address.
 *
 * The listing cuts long fields (the sender at 40 characters, the subject
 * at 72, ending in "…") and turns control characters into spaces, so a
 * row is one line whatever arrived; reply show and --json give them whole.
 *
 * Must stay true: a listing's row is one line; reply show ends with the
 * message exactly as stored. No SQL here: store_replies.h reads it.
 */
#include <stdio.h>
#include <string.h>

#include "herald.h"
#include "cmd.h"
#include "config.h"
#include "json_out.h"
#include "store.h"
#include "store_replies.h"

/* the longest FROM and SUBJECT a listing prints, in characters */
#define REPLIES_FROM_MAX	40
#define REPLIES_SUBJECT_MAX	72

/* cmd_replies_date - a unix time as local "YYYY-MM-DD HH:MM" (caller frees) */
static char *
cmd_replies_date(gint64 t)
{
	g_autoptr(GDateTime) d = g_date_time_new_from_unix_local(t);

	return d != NULL ? g_date_time_format(d, "%Y-%m-%d %H:%M") :
	    g_strdup("?");
}

/* cmd_replies_col - S, or "-" when NULL or empty */
static const char *
cmd_replies_col(const char *s)
{
	return s != NULL && *s != '\0' ? s : "-";
}

/* cmd_replies_id - an optional id as text, "-" when absent (caller frees) */
static char *
cmd_replies_id(gboolean has, gint64 id)
{
	return has ? g_strdup_printf("%" G_GINT64_FORMAT, id) : g_strdup("-");
}

/* cmd_replies_cut - S for a listing: at most MAX characters (the last
 * one "…" when cut), control characters and invalid UTF-8 as spaces or
 * U+FFFD (caller frees) */
static char *
cmd_replies_cut(const char *s, glong max)
{
	g_autofree char *valid = g_utf8_make_valid(s, -1);
	GString *out = g_string_new(NULL);
	const char *p;
	glong n = 0;

	for (p = valid; *p != '\0'; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);

		if (n == max - 1 && *g_utf8_next_char(p) != '\0') {
			g_string_append(out, "…");
			break;
		}
		if (g_unichar_iscntrl(c))
			g_string_append_c(out, ' ');
		else
			g_string_append_unichar(out, c);
		n++;
	}
	return g_string_free(out, FALSE);
}

/* cmd_replies_kid - KEY: the optional id, or null */
static void
cmd_replies_kid(struct json_out *jo, const char *key, gboolean has, gint64 id)
{
	json_out_key(jo, key);
	if (has)
		json_out_int(jo, id);
	else
		json_out_null(jo);
}

/* cmd_replies_json_row - one row of the listing as a JSON object */
static void
cmd_replies_json_row(struct json_out *jo, const struct store_reply *r)
{
	json_out_object(jo);
	json_out_kint(jo, "id", r->id);
	json_out_ktime(jo, "received", r->received);
	json_out_kstring(jo, "list", r->list);
	json_out_kstring(jo, "route", r->route);
	json_out_kstring(jo, "kind", r->kind);
	json_out_kbool(jo, "forwarded", r->forwarded);
	cmd_replies_kid(jo, "campaign", r->has_campaign, r->campaign_id);
	cmd_replies_kid(jo, "subscriber", r->has_subscriber, r->subscriber_id);
	json_out_kstring(jo, "from", r->from);
	json_out_kstring(jo, "subject", r->subject);
	json_out_end(jo);
}

/* cmd_replies_line - one row of the listing as a line, the header
 * before the first (N counts the rows printed) */
static void
cmd_replies_line(const struct store_reply *r, int *n)
{
	g_autofree char *date = cmd_replies_date(r->received);
	g_autofree char *from = cmd_replies_cut(cmd_replies_col(r->from),
	    REPLIES_FROM_MAX);
	g_autofree char *subject = cmd_replies_cut(cmd_replies_col(r->subject),
	    REPLIES_SUBJECT_MAX);
	g_autofree char *campaign = cmd_replies_id(r->has_campaign,
	    r->campaign_id);

	if ((*n)++ == 0)
		printf("%-6s %-16s %-12s %-6s %-11s %-4s %-8s %-28s %s\n",
		    "ID", "RECEIVED", "LIST", "ROUTE", "KIND", "FWD",
		    "CAMPAIGN", "FROM", "SUBJECT");
	printf("%-6" G_GINT64_FORMAT " %-16s %-12s %-6s %-11s %-4s %-8s"
	    " %-28s %s\n", r->id, date, cmd_replies_col(r->list),
	    cmd_replies_col(r->route), cmd_replies_col(r->kind),
	    r->forwarded ? "yes" : "no", campaign, from, subject);
}

/* cmd_replies_print - the listing of LIST's (or every list's) replies,
 * as lines or a JSON array */
static int
cmd_replies_print(struct herald *h, const char *list, gint64 campaign,
    const char *kind, gboolean json)
{
	g_autoptr(store_rows) rows = NULL;
	struct store_reply r;
	GError *error = NULL;
	struct json_out jo;
	int n = 0;

	rows = store_replies_list(h->store, list, campaign, kind, &error);
	if (rows == NULL)
		return cmd_error("replies", error);
	json_out_init(&jo, stdout);
	if (json)
		json_out_array(&jo);
	while (store_replies_next(rows, &r, &error))
		if (json)
			cmd_replies_json_row(&jo, &r);
		else
			cmd_replies_line(&r, &n);
	if (error != NULL)
		return cmd_error("replies", error);
	if (json) {
		json_out_end(&jo);
		json_out_end_line(&jo);
	} else if (n == 0)
		printf("no replies%s%s\n", list != NULL ? " on " : "",
		    list != NULL ? list : "");
	return EX_OK;
}

/* cmd_replies - herald replies [LIST] [--campaign ID] [--kind KIND] */
int
cmd_replies(struct herald *h, int argc, char **argv)
{
	gint64 campaign = 0;
	char *kind = NULL;
	gboolean json = FALSE;
	GOptionEntry entries[] = {
		{ "campaign", 0, 0, G_OPTION_ARG_INT64, &campaign,
		    "only replies linked to campaign ID", "ID" },
		{ "kind", 0, 0, G_OPTION_ARG_STRING, &kind,
		    "only this kind: reply, autoreply, unsubscribe, loop, bounce",
		    "KIND" },
		{ "json", 0, 0, G_OPTION_ARG_NONE, &json,
		    "print a JSON array, one object per message", NULL },
		{ NULL }
	};
	g_autofree char *kind_owned = NULL;
	GError *error = NULL;
	const char *list = NULL;

	if (!cmd_parse("replies", "[LIST]", "List the mail stored from the list"
	    " and owner addresses, newest first.", entries, &argc, &argv))
		return EX_USAGE;
	kind_owned = kind;
	if (argc > 2) {
		fprintf(stderr, "herald replies: unexpected argument \"%s\"\n",
		    argv[2]);
		return EX_USAGE;
	}
	if (argc == 2) {
		list = argv[1];
		if (config_list(h->config, list, &error) == NULL)
			return cmd_error("replies", error);
	}
	return cmd_replies_print(h, list, campaign, kind, json);
}

/* cmd_reply_json - reply show --json: reply R as an object */
static void
cmd_reply_json(const struct store_reply *r)
{
	g_autofree char *raw = g_strndup(r->raw, r->raw_len);
	struct json_out jo;

	json_out_init(&jo, stdout);
	json_out_object(&jo);
	json_out_kint(&jo, "id", r->id);
	json_out_ktime(&jo, "received", r->received);
	json_out_kstring(&jo, "list", r->list);
	json_out_kstring(&jo, "route", r->route);
	json_out_kstring(&jo, "kind", r->kind);
	json_out_kstring(&jo, "envelope_from", r->envelope_from);
	json_out_kstring(&jo, "from", r->from_addr);
	json_out_kstring(&jo, "from_name", r->from_name);
	json_out_kstring(&jo, "subject", r->subject);
	json_out_kstring(&jo, "message_id", r->message_id);
	json_out_kstring(&jo, "in_reply_to", r->in_reply_to);
	json_out_kbool(&jo, "forwarded", r->forwarded);
	cmd_replies_kid(&jo, "campaign", r->has_campaign, r->campaign_id);
	cmd_replies_kid(&jo, "subscriber", r->has_subscriber, r->subscriber_id);
	json_out_kstring(&jo, "subscriber_email", r->subscriber_email);
	json_out_kint(&jo, "size", r->size);
	json_out_kstring(&jo, "raw", raw);
	json_out_end(&jo);
	json_out_end_line(&jo);
}

/* cmd_reply_head - what herald knows of reply R, before the message */
static void
cmd_reply_head(const struct store_reply *r)
{
	g_autofree char *date = cmd_replies_date(r->received);
	g_autofree char *campaign = cmd_replies_id(r->has_campaign,
	    r->campaign_id);
	g_autofree char *subscriber = cmd_replies_id(r->has_subscriber,
	    r->subscriber_id);
	const char *email = r->subscriber_email;

	printf("Reply:        %" G_GINT64_FORMAT "\n", r->id);
	printf("Received:     %s\n", date);
	printf("List:         %s\n", cmd_replies_col(r->list));
	printf("Route:        %s\n", cmd_replies_col(r->route));
	printf("Kind:         %s\n", cmd_replies_col(r->kind));
	printf("Forwarded:    %s\n", r->forwarded ? "yes" : "no");
	printf("Envelope:     <%s>\n", r->envelope_from != NULL ?
	    r->envelope_from : "");
	printf("From:         %s%s%s\n", r->from_name != NULL ? r->from_name :
	    "", r->from_name != NULL ? " " : "", cmd_replies_col(r->from_addr));
	printf("Subject:      %s\n", cmd_replies_col(r->subject));
	printf("Message-ID:   %s\n", cmd_replies_col(r->message_id));
	printf("In-Reply-To:  %s\n", cmd_replies_col(r->in_reply_to));
	printf("Campaign:     %s\n", campaign);
	printf("Subscriber:   %s%s%s%s\n", subscriber, email != NULL ? " (" : "",
	    email != NULL ? email : "", email != NULL ? ")" : "");
	printf("Size:         %" G_GINT64_FORMAT " bytes\n\n", r->size);
}

/* cmd_reply - herald reply show ID [--raw|--json] */
int
cmd_reply(struct herald *h, int argc, char **argv)
{
	gboolean raw_only = FALSE, json = FALSE;
	GOptionEntry entries[] = {
		{ "raw", 0, 0, G_OPTION_ARG_NONE, &raw_only,
		    "print only the message as it arrived", NULL },
		{ "json", 0, 0, G_OPTION_ARG_NONE, &json,
		    "print one JSON object, the message in \"raw\"", NULL },
		{ NULL }
	};
	g_autoptr(store_rows) rows = NULL;
	struct store_reply r;
	GError *error = NULL;
	gint64 id;
	char *end;

	if (!cmd_parse("reply", "show ID", "Print one stored reply: what herald"
	    " knows of it, then the message as it arrived.", entries, &argc,
	    &argv))
		return EX_USAGE;
	if (argc != 3 || strcmp(argv[1], "show") != 0) {
		fprintf(stderr, "herald reply: usage: herald reply show ID\n");
		return EX_USAGE;
	}
	id = g_ascii_strtoll(argv[2], &end, 10);
	if (*end != '\0' || id <= 0) {
		fprintf(stderr, "herald reply: \"%s\" is not a reply id\n", argv[2]);
		return EX_USAGE;
	}
	if ((rows = store_reply_get(h->store, id, &r, &error)) == NULL)
		return cmd_error("reply", error);
	if (json) {
		cmd_reply_json(&r);
		return EX_OK;
	}
	if (!raw_only)
		cmd_reply_head(&r);
	fwrite(r.raw, 1, r.raw_len, stdout);
	return EX_OK;
}
