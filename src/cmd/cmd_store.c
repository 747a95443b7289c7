/*
 * cmd_store.c - herald store copy --to postgresql|sqlite TARGET: the
 * configured store's rows into an empty PostgreSQL database (TARGET a
 * libpq connection string) or a new SQLite file, a line per table with
 * the rows copied and the checksum on both sides (store_copy.c).
 *
 * Must stay true: exit 0 only when every table's rows and checksum are
 * the same on both sides; a target that holds rows is refused (exit 73)
 * before anything is written to it.
 */
#include <stdio.h>
#include <string.h>

#include "herald.h"
#include "cmd.h"
#include "store.h"
#include "store_copy.h"

/* store_copy_line - one table's line of the copy's report */
static void
store_copy_line(const char *table, gint64 rows, gint64 target_rows,
    const char *source_sum, const char *target_sum, void *data)
{
	gboolean same = rows == target_rows &&
	    strcmp(source_sum, target_sum) == 0;

	printf("%-18s %8" G_GINT64_FORMAT " rows  source %s  target %s",
	    table, rows, source_sum, target_sum);
	if (!same)
		printf("  DIFFERS (the target holds %" G_GINT64_FORMAT " rows)",
		    target_rows);
	putchar('\n');
}

/* store_copy_target - the store TARGET names for backend TO, created */
static struct store *
store_copy_target(const char *to, const char *target, GError **error)
{
	g_autofree char *where = NULL;

	if (strcmp(to, "postgresql") == 0)
		where = g_strconcat(STORE_PG_PREFIX, target, NULL);
	else
		where = g_strdup(target);
	return store_open(where, STORE_OPEN_CREATE, error);
}

/* cmd_store - herald store copy --to postgresql|sqlite TARGET */
int
cmd_store(struct herald *h, int argc, char **argv)
{
	g_autofree char *to = NULL;	/* GOption's copy */
	const GOptionEntry entries[] = {
		{ "to", 't', 0, G_OPTION_ARG_STRING, &to,
		    "the target's backend: postgresql (TARGET a libpq "
		    "connection string) or sqlite (TARGET a file)", "BACKEND" },
		{ NULL }
	};
	g_autoptr(store) target = NULL;
	GError *error = NULL;

	if (!cmd_parse("store", "copy --to postgresql|sqlite TARGET", "Copy "
	    "every row of the configured store into an empty PostgreSQL "
	    "database or a new SQLite file, and print per table the rows "
	    "copied and a checksum of them on both sides.", entries, &argc,
	    &argv))
		return EX_USAGE;
	if (argc != 3 || strcmp(argv[1], "copy") != 0 || argv[2][0] == '\0') {
		fprintf(stderr, "herald store: usage: herald store copy --to "
		    "postgresql|sqlite TARGET\n");
		return EX_USAGE;
	}
	if (to == NULL || (strcmp(to, "postgresql") != 0 &&
	    strcmp(to, "sqlite") != 0)) {
		fprintf(stderr, "herald store copy: --to postgresql or --to "
		    "sqlite, please\n");
		return EX_USAGE;
	}
	if ((target = store_copy_target(to, argv[2], &error)) == NULL) {
		/* a file that is not a database: not a target (73), not a bug */
		if (error->domain == HERALD_ERROR &&
		    error->code == HERALD_ERROR_SOFTWARE)
			error->code = HERALD_ERROR_CANTCREAT;
		return cmd_error("store copy", error);
	}
	if (!store_copy(h->store, target, store_copy_line, NULL, &error))
		return cmd_error("store copy", error);
	printf("copied %s to %s %s\n", store_backend_name(h->store), to,
	    argv[2]);
	return EX_OK;
}
