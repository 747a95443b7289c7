/*
 * cmd_sub_erase.c - herald sub erase LIST EMAIL: what the preferences
 * page's "Erase me" does, from the command line (mydata.c): every row
 * about EMAIL deleted, a keyed hash of the address kept for each list it
 * was on. And the check herald sub import and sub add make against those
 * hashes: an erased address is not added back unless the owner says
 * --allow-erased (then its hash is forgotten for that list).
 *
 * Must stay true: an erasure is one transaction; the hash is
 * token_address_hash under the instance's secret, never the address.
 */
#include <stdio.h>
#include <string.h>

#include "herald.h"
#include "cmd.h"
#include "cmd_sub.h"
#include "mydata.h"
#include "store_erase.h"
#include "subscriber.h"
#include "token.h"

/* cmd_sub_erase - herald sub erase LIST EMAIL */
int
cmd_sub_erase(struct herald *h, int argc, char **argv)
{
	const GOptionEntry entries[] = { { NULL } };
	g_autoptr(subscriber) sub = NULL;
	const struct list_config *list;
	struct token_key key;
	GError *error = NULL;
	gint64 list_id;
	int rc = EX_OK;

	if (!cmd_parse("sub erase", "LIST EMAIL", "Erase EMAIL: every row "
	    "about them on every list, keeping only a keyed hash of the "
	    "address so an import does not add it back.", entries, &argc,
	    &argv))
		return EX_USAGE;
	if (argc != 3) {
		fprintf(stderr, "herald sub erase: wants LIST and EMAIL "
		    "(try \"herald sub erase --help\")\n");
		return EX_USAGE;
	}
	if ((list = cmd_sub_list(h, "sub erase", argv[1], &rc)) == NULL)
		return rc;
	if (!token_key_load(h->config->secret, &key, &error) ||
	    (list_id = store_list_id(h->store, list->name, TRUE, &error)) == 0)
		return cmd_error("sub erase", error);
	if ((sub = subscriber_find(h->store, argv[2], &error)) == NULL ||
	    membership_status(h->store, list_id, sub->id, &error) == NULL) {
		if (error->code == HERALD_ERROR_NOUSER) {
			g_clear_error(&error);
			g_set_error(&error, HERALD_ERROR, HERALD_ERROR_NOUSER,
			    "%s is not a member of %s", argv[2], list->name);
		}
		return cmd_error("sub erase", error);
	}
	if (!mydata_erase(h->store, &key, sub->id, &error))
		return cmd_error("sub erase", error);
	printf("%s: erased %s (from every list; its hash is kept)\n",
	    list->name, argv[2]);
	return EX_OK;
}

/* cmd_sub_erased_new - the erased hashes of LIST_ID and the key to
 * compare with, for one import or add; NULL and *ERROR */
struct cmd_sub_erased *
cmd_sub_erased_new(struct herald *h, gint64 list_id, gboolean allow,
    GError **error)
{
	struct cmd_sub_erased *e = g_new0(struct cmd_sub_erased, 1);

	e->allow = allow;
	e->list_id = list_id;
	if (!token_key_load(h->config->secret, &e->key, error) ||
	    (e->set = store_erased_set(h->store, list_id, error)) == NULL) {
		g_free(e);
		return NULL;
	}
	return e;
}

/* cmd_sub_erased_free - E and its set */
void
cmd_sub_erased_free(struct cmd_sub_erased *e)
{
	if (e == NULL)
		return;
	g_hash_table_unref(e->set);
	g_free(e);
}

/* cmd_sub_erased_refuse - TRUE when EMAIL was erased and may not come
 * back (no --allow-erased); with the override its hash is forgotten */
gboolean
cmd_sub_erased_refuse(struct cmd_sub_erased *e, struct store *store,
    const char *email, GError **error)
{
	g_autofree char *hash = NULL;

	if (g_hash_table_size(e->set) == 0)
		return FALSE;
	hash = token_address_hash(&e->key, email);
	if (!g_hash_table_contains(e->set, hash))
		return FALSE;
	if (!e->allow)
		return TRUE;
	g_hash_table_remove(e->set, hash);
	return !store_erased_forget(store, e->list_id, hash, error);
}
