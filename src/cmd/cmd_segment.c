/*
 * cmd_segment.c - herald segment LIST [NAME|--where EXPR] [--count|--list]
 *
 * With NAME or --where: the number of active members it matches (--count,
 * the default) or their addresses, one a line (--list). With neither, one
 * line per segment of the list, in file order: its name, a space, its
 * count. A segment of the list file that does not parse is a configuration
 * error (78) named by file and line; a bad --where expression is bad data
 * (65); an unknown segment name is 67, like an unknown list.
 *
 * Must stay true: only active members count; a segment counts the same
 * here as in a send; no SQL here (segment.h, store_admin.h).
 */
#include <stdio.h>
#include <string.h>

#include "herald.h"
#include "cmd.h"
#include "cmd_sub.h"
#include "config.h"
#include "json_out.h"
#include "segment.h"
#include "store_segment.h"
#include "store.h"
#include "store_admin.h"

/* segment_of_def - compile a list file's segment, errors as CONFIG */
static struct segment *
segment_of_def(const struct list_config *list, const struct segment_def *def,
    GError **error)
{
	struct segment *seg = segment_compile(def->where, error);

	if (seg == NULL) {
		(*error)->code = HERALD_ERROR_CONFIG;
		g_prefix_error(error, "%s:%d: segment %s: ", list->file, def->line,
		    def->name);
	}
	return seg;
}

/* segment_print_email - one address: a line, or a string of the JSON
 * array when DATA (a struct json_out) is not NULL */
static void
segment_print_email(const char *email, gpointer data)
{
	if (data != NULL)
		json_out_string(data, email);
	else
		printf("%s\n", email);
}

/* segment_all - "NAME COUNT" for every segment of LIST (JSON: an array
 * of {"segment", "count"}) */
static int
segment_all(struct herald *h, const struct list_config *list, gint64 list_id,
    gboolean json)
{
	GError *error = NULL;
	struct json_out jo;
	guint i;

	/* check them all before printing anything */
	for (i = 0; i < list->segments->len; i++) {
		g_autoptr(segment) seg = segment_of_def(list,
		    g_ptr_array_index(list->segments, i), &error);

		if (seg == NULL)
			return cmd_error("segment", error);
	}
	json_out_init(&jo, stdout);
	if (json)
		json_out_array(&jo);
	for (i = 0; i < list->segments->len; i++) {
		const struct segment_def *def = g_ptr_array_index(list->segments, i);
		g_autoptr(segment) seg = segment_of_def(list, def, &error);
		gint64 n = list_id == 0 ? 0 :
		    store_segment_count(h->store, list_id, seg, &error);

		if (n < 0)
			return cmd_error("segment", error);
		if (json) {
			json_out_object(&jo);
			json_out_kstring(&jo, "segment", def->name);
			json_out_kint(&jo, "count", n);
			json_out_end(&jo);
		} else
			printf("%s %" G_GINT64_FORMAT "\n", def->name, n);
	}
	if (json) {
		json_out_end(&jo);
		json_out_end_line(&jo);
	}
	return EX_OK;
}

/* segment_json_head - open the object of one segment: list, segment
 * (null for --where) and its expression */
static void
segment_json_head(struct json_out *jo, const struct list_config *list,
    const struct segment_def *def, const char *where)
{
	json_out_object(jo);
	json_out_kstring(jo, "list", list->name);
	json_out_kstring(jo, "segment", def != NULL ? def->name : NULL);
	json_out_kstring(jo, "where", def != NULL ? def->where : where);
}

/* segment_members - the addresses SEG (DEF, or the expression WHERE)
 * matches on LIST, one a line or in a JSON object; the exit status */
static int
segment_members(struct herald *h, const struct list_config *list,
    gint64 list_id, const struct segment_def *def, const char *where,
    const struct segment *seg, gboolean json)
{
	GError *error = NULL;
	struct json_out jo;

	json_out_init(&jo, stdout);
	if (json) {
		segment_json_head(&jo, list, def, where);
		json_out_key(&jo, "members");
		json_out_array(&jo);
	}
	if (list_id != 0 && !store_segment_emails(h->store, list_id, seg,
	    segment_print_email, json ? &jo : NULL, &error))
		return cmd_error("segment", error);
	if (json) {
		json_out_end(&jo);
		json_out_end(&jo);
		json_out_end_line(&jo);
	}
	return EX_OK;
}

/* cmd_segment - herald segment LIST [NAME|--where EXPR] [--count|--list] */
int
cmd_segment(struct herald *h, int argc, char **argv)
{
	g_autofree char *where = NULL;
	gboolean count = FALSE, list_members = FALSE, json = FALSE;
	const GOptionEntry entries[] = {
		{ "where", 0, 0, G_OPTION_ARG_STRING, &where,
		    "an expression instead of a named segment", "EXPR" },
		{ "count", 0, 0, G_OPTION_ARG_NONE, &count,
		    "print the number of members (the default)", NULL },
		{ "list", 0, 0, G_OPTION_ARG_NONE, &list_members,
		    "print the members' addresses, one a line", NULL },
		{ "json", 0, 0, G_OPTION_ARG_NONE, &json,
		    "print JSON (doc/guide/reports.md)", NULL },
		{ NULL }
	};
	g_autoptr(segment) seg = NULL;
	const struct list_config *list;
	const struct segment_def *def = NULL;
	struct json_out jo;
	GError *error = NULL;
	gint64 list_id, n;
	int rc = EX_OK;

	if (!cmd_parse("segment", "LIST [NAME]", "Count or list the members of "
	    "a segment; with no NAME, count every segment of LIST.", entries,
	    &argc, &argv))
		return EX_USAGE;
	if (argc < 2 || argc > 3 || (argc == 3 && where != NULL) ||
	    (count && list_members)) {
		fprintf(stderr, "herald segment: wants LIST and at most one of NAME "
		    "and --where, and one of --count and --list "
		    "(try \"herald segment --help\")\n");
		return EX_USAGE;
	}
	if ((list = cmd_sub_list(h, "segment", argv[1], &rc)) == NULL)
		return rc;
	list_id = store_list_id(h->store, list->name, FALSE, NULL);
	if (argc == 2 && where == NULL) {
		if (list_members) {
			fprintf(stderr, "herald segment: --list needs a segment NAME "
			    "or --where\n");
			return EX_USAGE;
		}
		return segment_all(h, list, list_id, json);
	}
	if (where != NULL) {
		if ((seg = segment_compile(where, &error)) == NULL) {
			g_prefix_error(&error, "--where: ");
			return cmd_error("segment", error);
		}
	} else if ((def = config_segment(list, argv[2])) == NULL) {
		g_set_error(&error, HERALD_ERROR, HERALD_ERROR_NOUSER,
		    "%s has no segment \"%s\"", list->name, argv[2]);
		return cmd_error("segment", error);
	} else if ((seg = segment_of_def(list, def, &error)) == NULL)
		return cmd_error("segment", error);
	if (list_members)
		return segment_members(h, list, list_id, def, where, seg, json);
	json_out_init(&jo, stdout);
	n = list_id == 0 ? 0 : store_segment_count(h->store, list_id, seg, &error);
	if (n < 0)
		return cmd_error("segment", error);
	if (json) {
		segment_json_head(&jo, list, def, where);
		json_out_kint(&jo, "count", n);
		json_out_end(&jo);
		json_out_end_line(&jo);
	} else
		printf("%" G_GINT64_FORMAT "\n", n);
	return EX_OK;
}
