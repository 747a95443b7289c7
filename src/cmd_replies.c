/*
 * cmd_replies.c - herald replies [LIST] [--campaign ID] [--kind KIND] and
 * herald reply show ID: the mail herald pipe stored from the list address
 * (replies to announcements, auto-replies, unsubscribe replies, loops) and
 * from the owner address.
 */
#include <stdio.h>
#include <string.h>

#include "herald.h"
#include "cmd.h"
#include "config.h"
#include "store.h"

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

int
cmd_replies(struct herald *h, int argc, char **argv)
{
	gint64 campaign = 0;
	char *kind = NULL;
	GOptionEntry entries[] = {
		{ "campaign", 0, 0, G_OPTION_ARG_INT64, &campaign,
		    "only replies linked to campaign ID", "ID" },
		{ "kind", 0, 0, G_OPTION_ARG_STRING, &kind,
		    "only this kind: reply, autoreply, unsubscribe, loop, bounce",
		    "KIND" },
		{ NULL }
	};
	g_autoptr(sqlite3_stmt) st = NULL;
	g_autofree char *kind_owned = NULL;
	GError *error = NULL;
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
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		g_autofree char *date = cmd_replies_date(
		    sqlite3_column_int64(st, 1));

		if (n++ == 0)
			printf("%-6s %-16s %-12s %-6s %-11s %-4s %-8s %-28s %s\n",
			    "ID", "RECEIVED", "LIST", "ROUTE", "KIND", "FWD",
			    "CAMPAIGN", "FROM", "SUBJECT");
		printf("%-6" G_GINT64_FORMAT " %-16s %-12s %-6s %-11s %-4s %-8s"
		    " %-28s %s\n", (gint64)sqlite3_column_int64(st, 0), date,
		    cmd_replies_col(st, 2), cmd_replies_col(st, 3),
		    cmd_replies_col(st, 4),
		    sqlite3_column_int(st, 5) ? "yes" : "no",
		    cmd_replies_col(st, 6), cmd_replies_col(st, 8),
		    cmd_replies_col(st, 9));
	}
	if (rc != SQLITE_DONE) {
		herald_set_sqlite_error(&error, h->store->db, rc, "listing replies");
		return cmd_error("replies", error);
	}
	if (n == 0)
		printf("no replies%s%s\n", list != NULL ? " on " : "",
		    list != NULL ? list : "");
	return EX_OK;
}

int
cmd_reply(struct herald *h, int argc, char **argv)
{
	gboolean raw_only = FALSE;
	GOptionEntry entries[] = {
		{ "raw", 0, 0, G_OPTION_ARG_NONE, &raw_only,
		    "print only the message as it arrived", NULL },
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
