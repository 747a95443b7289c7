/*
 * cmd_backup.c - herald backup FILE: a consistent copy of the live SQLite
 * store (store_backup.c), made while sends, pipes and serve go on
 * writing. Restoring is: stop herald's services, copy FILE over the
 * database (removing its -wal and -shm files), start them again; an
 * unfinished campaign then resumes from what the copy holds.
 *
 * The token secret is not in the database: the summary line names it,
 * since a restore without it makes every link in mail already sent void.
 * With the PostgreSQL store there is nothing to copy here: the command
 * says to use pg_dump and exits 69.
 *
 * Must stay true: exit 0 only when FILE is a whole copy that passed its
 * integrity check; an existing FILE is kept unless --force.
 */
#include <stdio.h>
#include <string.h>

#include "herald.h"
#include "cmd.h"
#include "config.h"
#include "store.h"
#include "store_backup.h"

/* cmd_backup - herald backup [--force] FILE */
int
cmd_backup(struct herald *h, int argc, char **argv)
{
	gboolean force = FALSE;
	const GOptionEntry entries[] = {
		{ "force", 'f', 0, G_OPTION_ARG_NONE, &force,
		    "replace FILE if it exists", NULL },
		{ NULL }
	};
	struct store_backup_info info;
	GError *error = NULL;

	if (!cmd_parse("backup", "FILE", "Write a consistent copy of the live "
	    "SQLite database to FILE (while herald keeps running).", entries,
	    &argc, &argv))
		return EX_USAGE;
	if (argc != 2 || argv[1][0] == '\0') {
		fprintf(stderr, "herald backup: %s (try \"herald backup "
		    "--help\")\n", argc < 2 ? "which FILE?" :
		    "one FILE only");
		return EX_USAGE;
	}
	if (!store_has(h->store, STORE_ONE_FILE)) {
		fprintf(stderr, "herald backup: the store is PostgreSQL; back it "
		    "up with pg_dump (for example: pg_dump -Fc -f %s DBNAME) and "
		    "restore with pg_restore\n", argv[1]);
		return EX_UNAVAILABLE;
	}
	if (!store_backup(h->store, argv[1], force, &info, &error))
		return cmd_error("backup", error);
	printf("%s: %" G_GINT64_FORMAT " pages, %" G_GINT64_FORMAT " bytes, "
	    "schema %d, integrity ok\n", argv[1], info.pages, info.bytes,
	    info.schema);
	printf("not in it: the token secret %s (copy it once; it does not "
	    "change)\n", h->config->secret);
	return EX_OK;
}
