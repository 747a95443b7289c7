/*
 * cmd_lists.c - herald lists: every configured list with its address and
 * its members counted by status.
 */
#include <stdio.h>
#include <string.h>

#include "herald.h"
#include "cmd.h"
#include "config.h"
#include "json_out.h"
#include "store.h"

static const char *const lists_statuses[] = {
	MEMBER_ACTIVE, MEMBER_PENDING, MEMBER_UNSUBSCRIBED, MEMBER_DISABLED,
	MEMBER_BLOCKLISTED,
};

int
cmd_lists(struct herald *h, int argc, char **argv)
{
	gboolean json = FALSE;
	const GOptionEntry entries[] = {
		{ "json", 0, 0, G_OPTION_ARG_NONE, &json,
		    "print a JSON array, one object per list", NULL },
		{ NULL }
	};
	g_autoptr(sqlite3_stmt) st = NULL;
	GError *error = NULL;
	struct json_out jo;
	guint i, j;

	if (!cmd_parse("lists", NULL, "Show the configured lists with member "
	    "counts by status.", entries, &argc, &argv))
		return EX_USAGE;
	if (argc > 1) {
		fprintf(stderr, "herald lists: unexpected argument \"%s\"\n", argv[1]);
		return EX_USAGE;
	}
	st = store_prepare(h->store, "SELECT m.status, count(*) FROM memberships m"
	    " JOIN lists l ON l.id = m.list_id WHERE l.name = ?1 GROUP BY m.status",
	    &error);
	if (st == NULL)
		return cmd_error("lists", error);
	json_out_init(&jo, stdout);
	if (json)
		json_out_array(&jo);
	else if (h->config->lists->len == 0) {
		printf("no lists configured in %s\n", h->config->list_dir);
		return EX_OK;
	} else
		printf("%-16s %-36s %8s %8s %8s %8s %8s\n", "LIST", "ADDRESS", "active",
	    "pending", "unsub", "disabled", "blocked");
	for (i = 0; i < h->config->lists->len; i++) {
		const struct list_config *l = g_ptr_array_index(h->config->lists, i);
		gint64 counts[G_N_ELEMENTS(lists_statuses)] = { 0 };

		sqlite3_bind_text(st, 1, l->name, -1, SQLITE_STATIC);
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *s = (const char *)sqlite3_column_text(st, 0);

			for (j = 0; j < G_N_ELEMENTS(lists_statuses); j++)
				if (strcmp(s, lists_statuses[j]) == 0)
					counts[j] = sqlite3_column_int64(st, 1);
		}
		sqlite3_reset(st);
		if (json) {
			json_out_object(&jo);
			json_out_kstring(&jo, "name", l->name);
			json_out_kstring(&jo, "address", l->address);
			json_out_key(&jo, "members");
			json_out_object(&jo);
			for (j = 0; j < G_N_ELEMENTS(lists_statuses); j++)
				json_out_kint(&jo, lists_statuses[j], counts[j]);
			json_out_end(&jo);
			json_out_end(&jo);
			continue;
		}
		printf("%-16s %-36s %8" G_GINT64_FORMAT " %8" G_GINT64_FORMAT
		    " %8" G_GINT64_FORMAT " %8" G_GINT64_FORMAT " %8"
		    G_GINT64_FORMAT "\n", l->name, l->address, counts[0],
		    counts[1], counts[2], counts[3], counts[4]);
	}
	if (json) {
		json_out_end(&jo);
		json_out_end_line(&jo);
	}
	return EX_OK;
}
