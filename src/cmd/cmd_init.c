/*
 * cmd_init.c - herald init: create the data folder, the database (or bring
 * its schema up to date; running it again changes nothing) and the token
 * secret (mode 0600, never replaced), and say where they are.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

#include "herald.h"
#include "cmd.h"
#include "config.h"
#include "store.h"
#include "token.h"

int
cmd_init(struct herald *h, int argc, char **argv)
{
	g_autoptr(store) store = NULL;
	g_autofree char *dbdir = NULL;
	struct token_key key;
	GError *error = NULL;
	gboolean existed;
	int applied;

	if (!cmd_parse("init", NULL, "Create or upgrade the database and the "
	    "token secret. Safe to run again.", NULL, &argc, &argv))
		return EX_USAGE;
	if (argc > 1) {
		fprintf(stderr, "herald init: unexpected argument \"%s\"\n", argv[1]);
		return EX_USAGE;
	}
	dbdir = g_str_has_prefix(h->config->database, STORE_PG_PREFIX) ?
	    g_strdup(h->config->data_dir) :
	    g_path_get_dirname(h->config->database);
	if (g_mkdir_with_parents(h->config->data_dir, 0700) != 0 ||
	    g_mkdir_with_parents(dbdir, 0700) != 0 ||
	    g_mkdir_with_parents(h->config->spool_dir, 0700) != 0) {
		g_set_error(&error, HERALD_ERROR, HERALD_ERROR_CANTCREAT,
		    "%s: %s", h->config->data_dir, g_strerror(errno));
		return cmd_error("init", error);
	}
	store = store_open_config(h->config, STORE_OPEN_CREATE, &error);
	if (store == NULL || !store_migrate(store, &applied, &error))
		return cmd_error("init", error);
	if (!token_key_create(h->config->secret, &key, &existed, &error))
		return cmd_error("init", error);
	printf("database: %s (schema %d%s)\n", h->config->database,
	    store_schema_latest(), applied > 0 ? ", created or upgraded" :
	    ", already current");
	printf("secret:   %s (%s)\n", h->config->secret,
	    existed ? "kept" : "created, mode 0600");
	printf("lists:    %s (%u configured)\n", h->config->list_dir,
	    h->config->lists->len);
	return EX_OK;
}
