/*
 * cmd_lists.c - herald lists: every configured list with its address and
 * its members counted by status (store_admin.h counts them).
 *
 * Must stay true: one line (or JSON object) per configured list, in the
 * configuration's order, with a count for every status, 0 included.
 */
#include <stdio.h>
#include <string.h>

#include "herald.h"
#include "cmd.h"
#include "config.h"
#include "json_out.h"
#include "store.h"
#include "store_admin.h"

static const char *const lists_statuses[] = {
	MEMBER_ACTIVE, MEMBER_PENDING, MEMBER_UNSUBSCRIBED, MEMBER_DISABLED,
	MEMBER_BLOCKLISTED,
};

/* cmd_lists_json - list L and its COUNTS as one object of the array */
static void
cmd_lists_json(struct json_out *jo, const struct list_config *l,
    const gint64 *counts)
{
	guint j;

	json_out_object(jo);
	json_out_kstring(jo, "name", l->name);
	json_out_kstring(jo, "address", l->address);
	json_out_key(jo, "members");
	json_out_object(jo);
	for (j = 0; j < G_N_ELEMENTS(lists_statuses); j++)
		json_out_kint(jo, lists_statuses[j], counts[j]);
	json_out_end(jo);
	json_out_end(jo);
}

/* cmd_lists - herald lists [--json] */
int
cmd_lists(struct herald *h, int argc, char **argv)
{
	gboolean json = FALSE;
	const GOptionEntry entries[] = {
		{ "json", 0, 0, G_OPTION_ARG_NONE, &json,
		    "print a JSON array, one object per list", NULL },
		{ NULL }
	};
	GError *error = NULL;
	struct json_out jo;
	guint i;

	if (!cmd_parse("lists", NULL, "Show the configured lists with member "
	    "counts by status.", entries, &argc, &argv))
		return EX_USAGE;
	if (argc > 1) {
		fprintf(stderr, "herald lists: unexpected argument \"%s\"\n", argv[1]);
		return EX_USAGE;
	}
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
		gint64 counts[G_N_ELEMENTS(lists_statuses)];

		if (!store_list_status_counts(h->store, l->name, lists_statuses,
		    G_N_ELEMENTS(lists_statuses), counts, &error))
			return cmd_error("lists", error);
		if (json)
			cmd_lists_json(&jo, l, counts);
		else
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
