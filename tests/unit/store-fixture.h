/*
 * store-fixture.h - a throwaway database file for the unit tests that
 * run on a real SQLite file (test-store.c, test-outbox.c), included by
 * each (its functions are static: a copy in each test program).
 *
 *   fixture_init("test-NAME.XXXXXX");   in main, before g_test_run
 *   st = fresh();                       a new migrated file at PATH
 *   n = scalar(st, "SELECT count(*) FROM ...");
 *   fixture_done();                     after g_test_run
 *
 * What must stay true: every test starts from a file of its own (fresh
 * removes the last one with its -wal and -shm first) and nothing is left
 * in the temporary folder once the program ends.
 */
#ifndef HERALD_STORE_FIXTURE_H
#define HERALD_STORE_FIXTURE_H

#include <glib.h>
#include <glib/gstdio.h>

#include "store.h"
#include "store_sqlite.h"

static char *dir, *path;	/* the folder, and herald.db in it */

/* fixture_init - a temporary folder named after TEMPLATE (XXXXXX) */
static void
fixture_init(const char *template)
{
	dir = g_dir_make_tmp(template, NULL);
	g_assert_nonnull(dir);
	path = g_build_filename(dir, "herald.db", NULL);
}

/* fixture_unlink - the database file and its -wal and -shm gone */
static void
fixture_unlink(void)
{
	g_autofree char *wal = g_strconcat(path, "-wal", NULL);
	g_autofree char *shm = g_strconcat(path, "-shm", NULL);

	g_unlink(path);
	g_unlink(wal);
	g_unlink(shm);
}

/* fixture_done - the folder gone, with what is in it */
static void
fixture_done(void)
{
	fixture_unlink();
	g_rmdir(dir);
	g_clear_pointer(&path, g_free);
	g_clear_pointer(&dir, g_free);
}

/* fresh - a new database at PATH, migrated to the latest schema */
static struct store *
fresh(void)
{
	struct store *st;

	fixture_unlink();
	st = store_open(path, STORE_OPEN_CREATE, NULL);
	g_assert_nonnull(st);
	g_assert_true(store_migrate(st, NULL, NULL));
	return st;
}

/* scalar - the one number SQL selects */
static gint64
scalar(struct store *st, const char *sql)
{
	g_autoptr(sqlite3_stmt) s = store_prepare(st, sql, NULL);

	g_assert_nonnull(s);
	g_assert_cmpint(sqlite3_step(s), ==, SQLITE_ROW);
	return sqlite3_column_int64(s, 0);
}

#endif
