/*
 * cmd_sub.c - herald sub add|rm|show LIST EMAIL, and the dispatch to
 * import and export (cmd_sub_import.c, cmd_sub_export.c).
 *
 * add: a new address, or a known one not yet on the list, becomes an
 * active member; someone who unsubscribed or was disabled by bounces is
 * subscribed again (the manager asked for it by name, and the event log
 * says so); an active member is an error (65), so is a blocklisted one.
 * rm: unsubscribes (the row stays, with its history, so an import never
 * brings the person back); --purge deletes the subscriber from herald
 * altogether (attributes, every membership), keeping the event log's rows
 * without the person in them.
 *
 * Must stay true: only --purge deletes; every status change is an event
 * with its channel (subscriber.h); no SQL here.
 */
#include <stdio.h>
#include <string.h>

#include "herald.h"
#include "cmd.h"
#include "cmd_sub.h"
#include "config.h"
#include "json_out.h"
#include "store.h"
#include "subscriber.h"

/* cmd_sub_list - the list by name, or a message and 67 */
const struct list_config *
cmd_sub_list(struct herald *h, const char *cmd, const char *name, int *status)
{
	const struct list_config *list;
	GError *error = NULL;

	list = config_list(h->config, name, &error);
	if (list == NULL)
		*status = cmd_error(cmd, error);
	return list;
}

/* sub_time - a unix time as "YYYY-MM-DD HH:MM" UTC (caller frees) */
static char *
sub_time(gint64 t)
{
	g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(t);

	return dt != NULL ? g_date_time_format(dt, "%Y-%m-%d %H:%M") :
	    g_strdup("?");
}

/* sub_attrs - "key=value" strings to a table; FALSE after a message */
static gboolean
sub_attrs(const char *cmd, char **kv, GHashTable *attrs, int *status)
{
	GError *error = NULL;

	for (; kv != NULL && *kv != NULL; kv++) {
		const char *eq = strchr(*kv, '=');
		char *key;

		if (eq == NULL) {
			fprintf(stderr, "herald %s: --attr wants key=value, not "
			    "\"%s\"\n", cmd, *kv);
			*status = EX_USAGE;
			return FALSE;
		}
		key = g_ascii_strdown(*kv, eq - *kv);
		g_hash_table_replace(attrs, key, g_strdup(eq + 1));
		if (!subscriber_check_key(key, &error)) {
			*status = cmd_error(cmd, error);
			return FALSE;
		}
	}
	return TRUE;
}

/* sub_add - herald sub add LIST EMAIL [--name N] [--attr k=v …] */
static int
sub_add(struct herald *h, int argc, char **argv)
{
	g_autofree char *name = NULL;
	g_auto(GStrv) kv = NULL;
	const GOptionEntry entries[] = {
		{ "name", 0, 0, G_OPTION_ARG_STRING, &name, "display name", "N" },
		{ "attr", 0, 0, G_OPTION_ARG_STRING_ARRAY, &kv,
		    "an attribute (repeat; key= removes one)", "KEY=VALUE" },
		{ NULL }
	};
	g_autoptr(GHashTable) attrs = g_hash_table_new_full(g_str_hash,
	    g_str_equal, g_free, g_free);
	g_autoptr(subscriber_writer) w = NULL;
	g_autoptr(subscriber) sub = NULL;
	const struct list_config *list;
	enum subscriber_outcome outcome;
	const char *status = NULL;
	GError *error = NULL;
	gint64 list_id, id;
	int rc = EX_OK;

	if (!cmd_parse("sub add", "LIST EMAIL", "Subscribe EMAIL to LIST.",
	    entries, &argc, &argv))
		return EX_USAGE;
	if (argc != 3) {
		fprintf(stderr, "herald sub add: wants LIST and EMAIL "
		    "(try \"herald sub add --help\")\n");
		return EX_USAGE;
	}
	if ((list = cmd_sub_list(h, "sub add", argv[1], &rc)) == NULL)
		return rc;
	if (!sub_attrs("sub add", kv, attrs, &rc))
		return rc;
	if (!subscriber_check_email(argv[2], &error))
		return cmd_error("sub add", error);
	if (!store_begin(h->store, &error))
		return cmd_error("sub add", error);
	if ((list_id = store_list_id(h->store, list->name, TRUE, &error)) == 0)
		goto fail;
	sub = subscriber_find(h->store, argv[2], NULL);
	if (sub != NULL)
		status = membership_status(h->store, list_id, sub->id, NULL);
	if (g_strcmp0(status, MEMBER_ACTIVE) == 0 || g_strcmp0(status, MEMBER_BLOCKLISTED) == 0) {
		g_set_error(&error, HERALD_ERROR, HERALD_ERROR_DATA,
		    "%s is %s on %s%s", sub->email, g_strcmp0(status, MEMBER_ACTIVE) == 0 ?
		    "already subscribed" : "blocklisted", list->name,
		    g_strcmp0(status, MEMBER_ACTIVE) == 0 ? " (herald sub import updates "
		    "names and attributes)" : "");
		goto fail;
	}
	w = subscriber_writer_new(h->store, list_id, "cli", &error);
	if (w == NULL || !subscriber_write(w, argv[2], name, attrs, &outcome,
	    &id, &error))
		goto fail;
	if (outcome == SUBSCRIBER_KEPT && !membership_set(h->store, list_id, id,
	    MEMBER_ACTIVE, "resubscribe", "cli", status, &error))
		goto fail;
	if (!store_commit(h->store, &error))
		goto fail;
	printf("%s: %s %s\n", list->name, outcome == SUBSCRIBER_KEPT ?
	    "subscribed again" : "subscribed", argv[2]);
	return EX_OK;
fail:
	store_rollback(h->store);
	return cmd_error("sub add", error);
}

/* sub_rm - herald sub rm LIST EMAIL [--purge] */
static int
sub_rm(struct herald *h, int argc, char **argv)
{
	gboolean purge = FALSE;
	const GOptionEntry entries[] = {
		{ "purge", 0, 0, G_OPTION_ARG_NONE, &purge, "delete the subscriber "
		    "from herald altogether (every list, every attribute)", NULL },
		{ NULL }
	};
	g_autoptr(subscriber) sub = NULL;
	const struct list_config *list;
	const char *status;
	GError *error = NULL;
	gint64 list_id;
	int rc = EX_OK;

	if (!cmd_parse("sub rm", "LIST EMAIL", "Unsubscribe EMAIL from LIST.",
	    entries, &argc, &argv))
		return EX_USAGE;
	if (argc != 3) {
		fprintf(stderr, "herald sub rm: wants LIST and EMAIL "
		    "(try \"herald sub rm --help\")\n");
		return EX_USAGE;
	}
	if ((list = cmd_sub_list(h, "sub rm", argv[1], &rc)) == NULL)
		return rc;
	if (!store_begin(h->store, &error))
		return cmd_error("sub rm", error);
	if ((list_id = store_list_id(h->store, list->name, TRUE, &error)) == 0 ||
	    (sub = subscriber_find(h->store, argv[2], &error)) == NULL ||
	    (status = membership_status(h->store, list_id, sub->id, &error)) ==
	    NULL) {
		if (error->code == HERALD_ERROR_NOUSER) {
			g_clear_error(&error);
			g_set_error(&error, HERALD_ERROR, HERALD_ERROR_NOUSER,
			    "%s is not a member of %s", argv[2], list->name);
		}
		goto fail;
	}
	if (purge) {
		if (!store_event(h->store, list_id, 0, "purge", "cli", NULL,
		    &error) || !subscriber_delete(h->store, sub->id, &error))
			goto fail;
	} else if (g_strcmp0(status, MEMBER_UNSUBSCRIBED) != 0) {
		if (!membership_set(h->store, list_id, sub->id,
		    MEMBER_UNSUBSCRIBED, "unsubscribe", "cli", NULL, &error))
			goto fail;
	}
	if (!store_commit(h->store, &error))
		goto fail;
	printf("%s: %s %s\n", list->name, purge ? "purged" :
	    g_strcmp0(status, MEMBER_UNSUBSCRIBED) == 0 ? "already unsubscribed:" :
	    "unsubscribed", sub->email);
	return EX_OK;
fail:
	store_rollback(h->store);
	return cmd_error("sub rm", error);
}

/* sub_attr_cmp - sort attribute keys */
static gint
sub_attr_cmp(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* sub_show_json - sub show --json (doc/guide/reports.md, "JSON output") */
static void
sub_show_json(const struct subscriber *sub, GPtrArray *keys,
    const struct list_config *list, const char *status, gint64 since,
    gint64 changed, const char *via)
{
	struct json_out jo;
	guint i;

	json_out_init(&jo, stdout);
	json_out_object(&jo);
	json_out_kint(&jo, "id", sub->id);
	json_out_kstring(&jo, "email", sub->email);
	json_out_kstring(&jo, "name", sub->name);
	json_out_ktime(&jo, "created", sub->created);
	json_out_key(&jo, "attributes");
	json_out_object(&jo);
	for (i = 0; i < keys->len; i++) {
		const char *key = g_ptr_array_index(keys, i);

		json_out_kstring(&jo, key, g_hash_table_lookup(sub->attrs, key));
	}
	json_out_end(&jo);
	json_out_kstring(&jo, "list", list->name);
	json_out_key(&jo, "membership");
	if (status == NULL)
		json_out_null(&jo);
	else {
		json_out_object(&jo);
		json_out_kstring(&jo, "status", status);
		json_out_ktime(&jo, "subscribed", since);
		json_out_ktime(&jo, "changed", changed);
		json_out_kstring(&jo, "channel", via);
		json_out_end(&jo);
	}
	json_out_end(&jo);
	json_out_end_line(&jo);
}

/* sub_show - herald sub show LIST EMAIL [--json] */
static int
sub_show(struct herald *h, int argc, char **argv)
{
	gboolean json = FALSE;
	const GOptionEntry entries[] = {
		{ "json", 0, 0, G_OPTION_ARG_NONE, &json,
		    "print one JSON object", NULL },
		{ NULL }
	};
	g_autoptr(subscriber) sub = NULL;
	g_autofree char *created = NULL, *via = NULL;
	g_autoptr(GPtrArray) keys = NULL;
	const struct list_config *list;
	const char *status;
	GError *error = NULL;
	gint64 list_id, since = 0, changed = 0;
	GHashTableIter it;
	gpointer k;
	int rc = EX_OK;
	guint i;

	if (!cmd_parse("sub show", "LIST EMAIL", "Show a subscriber: name, "
	    "attributes, and their membership of LIST.", entries, &argc, &argv))
		return EX_USAGE;
	if (argc != 3) {
		fprintf(stderr, "herald sub show: wants LIST and EMAIL "
		    "(try \"herald sub show --help\")\n");
		return EX_USAGE;
	}
	if ((list = cmd_sub_list(h, "sub show", argv[1], &rc)) == NULL)
		return rc;
	if ((sub = subscriber_find(h->store, argv[2], &error)) == NULL)
		return cmd_error("sub show", error);
	keys = g_ptr_array_new();
	g_hash_table_iter_init(&it, sub->attrs);
	while (g_hash_table_iter_next(&it, &k, NULL))
		g_ptr_array_add(keys, k);
	g_ptr_array_sort(keys, sub_attr_cmp);
	list_id = store_list_id(h->store, list->name, FALSE, NULL);
	status = list_id == 0 ? NULL : membership_get(h->store, list_id, sub->id,
	    &since, &changed, NULL);
	if (status != NULL)
		via = membership_channel(h->store, list_id, sub->id);
	if (json) {
		sub_show_json(sub, keys, list, status, since, changed, via);
		return EX_OK;
	}
	created = sub_time(sub->created);
	printf("email:   %s\nname:    %s\ncreated: %s\n", sub->email,
	    sub->name != NULL ? sub->name : "", created);
	for (i = 0; i < keys->len; i++) {
		const char *key = g_ptr_array_index(keys, i);

		printf("attr:    %s=%s\n", key,
		    (char *)g_hash_table_lookup(sub->attrs, key));
	}
	if (status == NULL) {
		printf("%s: not a member\n", list->name);
	} else {
		g_autofree char *s1 = sub_time(since);
		g_autofree char *s2 = sub_time(changed);

		printf("%s: %s (subscribed %s, changed %s, via %s)\n", list->name,
		    status, s1, s2, via != NULL ? via : "?");
	}
	return EX_OK;
}

/* sub_help - the verbs, in the layout of every --help */
static int
sub_help(void)
{
	return cmd_help_verbs("sub", "VERB LIST …", "Add, remove, show, import "
	    "and export the subscribers of a list.",
	    "Verbs:\n"
	    "  add LIST EMAIL [--name N] [--attr KEY=VALUE …]\n"
	    "  rm LIST EMAIL [--purge]\n"
	    "  show LIST EMAIL [--json]\n"
	    "  import LIST FILE.csv|- [--strict]\n"
	    "  export LIST [--segment NAME|--where EXPR] [--json]\n\n"
	    "\"herald sub VERB --help\" describes one.\n");
}

/* cmd_sub - herald sub VERB …: the verb's function */
int
cmd_sub(struct herald *h, int argc, char **argv)
{
	static const struct {
		const char *verb;
		int (*fn)(struct herald *, int, char **);
	} verbs[] = {
		{ "add", sub_add }, { "rm", sub_rm }, { "show", sub_show },
		{ "import", cmd_sub_import }, { "export", cmd_sub_export },
	};
	size_t i;

	if (argc >= 2 && cmd_is_help(argv[1]))
		return sub_help();
	if (argc < 2) {
		fprintf(stderr, "herald sub: a verb is needed: add, rm, show, "
		    "import or export (try \"herald sub --help\")\n");
		return EX_USAGE;
	}
	for (i = 0; i < G_N_ELEMENTS(verbs); i++)
		if (strcmp(argv[1], verbs[i].verb) == 0)
			return verbs[i].fn(h, argc - 1, argv + 1);
	fprintf(stderr, "herald sub: no verb \"%s\" (try \"herald sub --help\")\n",
	    argv[1]);
	return EX_USAGE;
}
