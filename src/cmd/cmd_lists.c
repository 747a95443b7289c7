/*
 * cmd_lists.c - herald lists: every configured list with its address and
 * its members counted by status (store_admin.h counts them).
 *
 * Under a list's line, the members that preference edits on the web
 * moved into or out of its segments in the last LISTS_MOVES_DAYS days
 * ("developers -1, users +1"; "segment_moves" in JSON): a subscriber who
 * picked another role is no longer where the next campaign looks.
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

#define LISTS_MOVES_DAYS	30

static const char *const lists_statuses[] = {
	MEMBER_ACTIVE, MEMBER_PENDING, MEMBER_UNSUBSCRIBED, MEMBER_DISABLED,
	MEMBER_BLOCKLISTED,
};

/* cmd_lists_move - store_segment_moves' callback: into MOVES (segment
 * -> gint64[2], left and joined) */
static void
cmd_lists_move(const char *segment, gboolean left, gint64 count,
    gpointer moves)
{
	gint64 *n = g_hash_table_lookup(moves, segment);

	if (n == NULL) {
		n = g_new0(gint64, 2);
		g_hash_table_insert(moves, g_strdup(segment), n);
	}
	n[left ? 0 : 1] += count;
}

/* cmd_lists_moves_text - MOVES of list L as the line under its own */
static void
cmd_lists_moves_text(const struct list_config *l, GHashTable *moves)
{
	GString *s = g_string_new(NULL);
	guint i;

	for (i = 0; l->segments != NULL && i < l->segments->len; i++) {
		const struct segment_def *d = g_ptr_array_index(l->segments, i);
		const gint64 *n = g_hash_table_lookup(moves, d->name);

		if (n == NULL)
			continue;
		g_string_append_printf(s, "%s%s", s->len > 0 ? ", " : "",
		    d->name);
		if (n[0] > 0)
			g_string_append_printf(s, " -%" G_GINT64_FORMAT, n[0]);
		if (n[1] > 0)
			g_string_append_printf(s, " +%" G_GINT64_FORMAT, n[1]);
	}
	if (s->len > 0)
		printf("  moved by web edits, last %d days: %s\n",
		    LISTS_MOVES_DAYS, s->str);
	g_string_free(s, TRUE);
}

/* cmd_lists_moves_json - MOVES of list L as "segment_moves" */
static void
cmd_lists_moves_json(struct json_out *jo, const struct list_config *l,
    GHashTable *moves)
{
	guint i;

	json_out_key(jo, "segment_moves");
	json_out_object(jo);
	for (i = 0; l->segments != NULL && i < l->segments->len; i++) {
		const struct segment_def *d = g_ptr_array_index(l->segments, i);
		const gint64 *n = g_hash_table_lookup(moves, d->name);

		if (n == NULL)
			continue;
		json_out_key(jo, d->name);
		json_out_object(jo);
		json_out_kint(jo, "left", n[0]);
		json_out_kint(jo, "joined", n[1]);
		json_out_end(jo);
	}
	json_out_end(jo);
}

/* cmd_lists_json - list L, its COUNTS and its segment MOVES as one
 * object of the array */
static void
cmd_lists_json(struct json_out *jo, const struct list_config *l,
    const gint64 *counts, GHashTable *moves)
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
	cmd_lists_moves_json(jo, l, moves);
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
	gint64 since = herald_now() - LISTS_MOVES_DAYS * 86400;
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
		g_autoptr(GHashTable) moves = g_hash_table_new_full(g_str_hash,
		    g_str_equal, g_free, g_free);

		if (!store_list_status_counts(h->store, l->name, lists_statuses,
		    G_N_ELEMENTS(lists_statuses), counts, &error) ||
		    !store_segment_moves(h->store, l->name, since,
		    cmd_lists_move, moves, &error))
			return cmd_error("lists", error);
		if (json)
			cmd_lists_json(&jo, l, counts, moves);
		else
			printf("%-16s %-36s %8" G_GINT64_FORMAT " %8" G_GINT64_FORMAT
			    " %8" G_GINT64_FORMAT " %8" G_GINT64_FORMAT " %8"
			    G_GINT64_FORMAT "\n", l->name, l->address, counts[0],
			    counts[1], counts[2], counts[3], counts[4]);
		if (!json)
			cmd_lists_moves_text(l, moves);
	}
	if (json) {
		json_out_end(&jo);
		json_out_end_line(&jo);
	}
	return EX_OK;
}
