/*
 * cmd_replies.c - herald replies [LIST] [--campaign ID] [--kind KIND] and
 * herald reply show ID: the mail herald pipe stored from the list address
 * (replies to announcements, auto-replies, unsubscribe replies, loops) and
 * from the owner address.
 *
 * The listing cuts long fields (the sender at 40 characters, the subject
 * at 72, ending in "…") and turns control characters into spaces, so a
 * row is one line whatever arrived; reply show and --json give them whole.
 */
#include <stdio.h>
#include <string.h>

#include "herald.h"
#include "cmd.h"
#include "config.h"
#include "json_out.h"
#include "store.h"

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

/* cmd_replies_col - a column's text, or DASH when NULL */
static const char *
cmd_replies_col(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);

	return s != NULL && *s != '\0' ? s : "-";
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

/* cmd_replies_json_row - one row of the listing as a JSON object */
static void
cmd_replies_json_row(struct json_out *jo, sqlite3_stmt *st)
{
	json_out_object(jo);
	json_out_kint(jo, "id", sqlite3_column_int64(st, 0));
	json_out_ktime(jo, "received", sqlite3_column_int64(st, 1));
	json_out_kstring(jo, "list", (const char *)sqlite3_column_text(st, 2));
	json_out_kstring(jo, "route", (const char *)sqlite3_column_text(st, 3));
	json_out_kstring(jo, "kind", (const char *)sqlite3_column_text(st, 4));
	json_out_kbool(jo, "forwarded", sqlite3_column_int(st, 5) != 0);
	json_out_key(jo, "campaign");
	if (sqlite3_column_type(st, 6) != SQLITE_NULL)
		json_out_int(jo, sqlite3_column_int64(st, 6));
	else
		json_out_null(jo);
	json_out_key(jo, "subscriber");
	if (sqlite3_column_type(st, 7) != SQLITE_NULL)
		json_out_int(jo, sqlite3_column_int64(st, 7));
	else
		json_out_null(jo);
	json_out_kstring(jo, "from", (const char *)sqlite3_column_text(st, 8));
	json_out_kstring(jo, "subject", (const char *)sqlite3_column_text(st,
	    9));
	json_out_end(jo);
}

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
	g_autoptr(sqlite3_stmt) st = NULL;
	g_autofree char *kind_owned = NULL;
	GError *error = NULL;
	struct json_out jo;
	const char *list = NULL;
	int rc, n = 0;

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
	st = store_prepare(h->store, "SELECT r.id, r.received, l.name, r.route,"
	    " r.kind, r.forwarded, r.campaign_id, r.subscriber_id,"
	    " coalesce(r.from_addr, r.envelope_from), r.subject"
	    " FROM replies r LEFT JOIN lists l ON l.id = r.list_id"
	    " WHERE (?1 IS NULL OR l.name = ?1)"
	    " AND (?2 = 0 OR r.campaign_id = ?2)"
	    " AND (?3 IS NULL OR r.kind = ?3)"
	    " ORDER BY r.received DESC, r.id DESC", &error);
	if (st == NULL)
		return cmd_error("replies", error);
	sqlite3_bind_text(st, 1, list, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, campaign);
	sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
	json_out_init(&jo, stdout);
	if (json)
		json_out_array(&jo);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		g_autofree char *date = NULL, *from = NULL, *subject = NULL;

		if (json) {
			cmd_replies_json_row(&jo, st);
			continue;
		}
		date = cmd_replies_date(sqlite3_column_int64(st, 1));
		from = cmd_replies_cut(cmd_replies_col(st, 8), REPLIES_FROM_MAX);
		subject = cmd_replies_cut(cmd_replies_col(st, 9),
		    REPLIES_SUBJECT_MAX);
		if (n++ == 0)
			printf("%-6s %-16s %-12s %-6s %-11s %-4s %-8s %-28s %s\n",
			    "ID", "RECEIVED", "LIST", "ROUTE", "KIND", "FWD",
			    "CAMPAIGN", "FROM", "SUBJECT");
		printf("%-6" G_GINT64_FORMAT " %-16s %-12s %-6s %-11s %-4s %-8s"
		    " %-28s %s\n", (gint64)sqlite3_column_int64(st, 0), date,
		    cmd_replies_col(st, 2), cmd_replies_col(st, 3),
		    cmd_replies_col(st, 4),
		    sqlite3_column_int(st, 5) ? "yes" : "no",
		    cmd_replies_col(st, 6), from, subject);
	}
	if (rc != SQLITE_DONE) {
		herald_set_sqlite_error(&error, h->store->db, rc, "listing replies");
		return cmd_error("replies", error);
	}
	if (json) {
		json_out_end(&jo);
		json_out_end_line(&jo);
	} else if (n == 0)
		printf("no replies%s%s\n", list != NULL ? " on " : "",
		    list != NULL ? list : "");
	return EX_OK;
}

/* cmd_reply_json - reply show --json: the row of reply ID as an object */
static void
cmd_reply_json(sqlite3_stmt *st, gint64 id)
{
	static const char *const names[] = { NULL, "list", "route", "kind",
	    NULL, "envelope_from", "from", "from_name", "subject",
	    "message_id", "in_reply_to" };
	g_autofree char *raw = g_strndup(sqlite3_column_blob(st, 15),
	    (gsize)sqlite3_column_bytes(st, 15));
	struct json_out jo;
	size_t i;

	json_out_init(&jo, stdout);
	json_out_object(&jo);
	json_out_kint(&jo, "id", id);
	json_out_ktime(&jo, "received", sqlite3_column_int64(st, 0));
	for (i = 0; i < G_N_ELEMENTS(names); i++)
		if (names[i] != NULL)
			json_out_kstring(&jo, names[i],
			    (const char *)sqlite3_column_text(st, (int)i));
	json_out_kbool(&jo, "forwarded", sqlite3_column_int(st, 4) != 0);
	json_out_key(&jo, "campaign");
	if (sqlite3_column_type(st, 11) != SQLITE_NULL)
		json_out_int(&jo, sqlite3_column_int64(st, 11));
	else
		json_out_null(&jo);
	json_out_key(&jo, "subscriber");
	if (sqlite3_column_type(st, 12) != SQLITE_NULL)
		json_out_int(&jo, sqlite3_column_int64(st, 12));
	else
		json_out_null(&jo);
	json_out_kstring(&jo, "subscriber_email",
	    (const char *)sqlite3_column_text(st, 13));
	json_out_kint(&jo, "size", sqlite3_column_int64(st, 14));
	json_out_kstring(&jo, "raw", raw);
	json_out_end(&jo);
	json_out_end_line(&jo);
}

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
	g_autoptr(sqlite3_stmt) st = NULL;
	g_autofree char *date = NULL;
	GError *error = NULL;
	gint64 id;
	char *end;
	int rc;

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
	st = store_prepare(h->store, "SELECT r.received, l.name, r.route, r.kind,"
	    " r.forwarded, r.envelope_from, r.from_addr, r.from_name, r.subject,"
	    " r.message_id, r.in_reply_to, r.campaign_id, r.subscriber_id,"
	    " s.email, r.size, r.raw FROM replies r"
	    " LEFT JOIN lists l ON l.id = r.list_id"
	    " LEFT JOIN subscribers s ON s.id = r.subscriber_id"
	    " WHERE r.id = ?1", &error);
	if (st == NULL)
		return cmd_error("reply", error);
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		g_set_error(&error, HERALD_ERROR, HERALD_ERROR_NOUSER,
		    "no reply %" G_GINT64_FORMAT, id);
		return cmd_error("reply", error);
	}
	if (rc != SQLITE_ROW) {
		herald_set_sqlite_error(&error, h->store->db, rc, "reading a reply");
		return cmd_error("reply", error);
	}
	if (json) {
		cmd_reply_json(st, id);
		return EX_OK;
	}
	if (!raw_only) {
		date = cmd_replies_date(sqlite3_column_int64(st, 0));
		printf("Reply:        %" G_GINT64_FORMAT "\n", id);
		printf("Received:     %s\n", date);
		printf("List:         %s\n", cmd_replies_col(st, 1));
		printf("Route:        %s\n", cmd_replies_col(st, 2));
		printf("Kind:         %s\n", cmd_replies_col(st, 3));
		printf("Forwarded:    %s\n", sqlite3_column_int(st, 4) ? "yes" :
		    "no");
		printf("Envelope:     <%s>\n", (const char *)
		    (sqlite3_column_text(st, 5) != NULL ?
		    sqlite3_column_text(st, 5) : (const unsigned char *)""));
		printf("From:         %s%s%s\n", sqlite3_column_text(st, 7) ?
		    (const char *)sqlite3_column_text(st, 7) : "",
		    sqlite3_column_text(st, 7) ? " " : "", cmd_replies_col(st, 6));
		printf("Subject:      %s\n", cmd_replies_col(st, 8));
		printf("Message-ID:   %s\n", cmd_replies_col(st, 9));
		printf("In-Reply-To:  %s\n", cmd_replies_col(st, 10));
		printf("Campaign:     %s\n", cmd_replies_col(st, 11));
		printf("Subscriber:   %s%s%s%s\n", cmd_replies_col(st, 12),
		    sqlite3_column_text(st, 13) ? " (" : "",
		    sqlite3_column_text(st, 13) ?
		    (const char *)sqlite3_column_text(st, 13) : "",
		    sqlite3_column_text(st, 13) ? ")" : "");
		printf("Size:         %d bytes\n\n", sqlite3_column_int(st, 14));
	}
	fwrite(sqlite3_column_blob(st, 15), 1, (size_t)sqlite3_column_bytes(st,
	    15), stdout);
	return EX_OK;
}
