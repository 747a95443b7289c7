/*
 * test-store.c - the schema and transactions: migrations are idempotent, a
 * newer schema than the binary knows is refused, an older one is sent to
 * herald init, a missing file is NOINPUT, the connection is in WAL mode
 * with foreign keys on, a failed (or abandoned) transaction leaves
 * nothing behind, however deeply nested, and migration 6 carries the
 * segment index of an older file over unchanged. Grouped commits: inside
 * a group a failed unit undoes only itself, the others commit together,
 * and an aborted group leaves nothing.
 */
#include <string.h>
#include <glib/gstdio.h>

#include "herald.h"
#include "store.h"
#include "store_sqlite.h"
#include "store-fixture.h"

static void
test_migrate_idempotent(void)
{
	g_autoptr(store) st = fresh();
	g_autoptr(store) again = NULL;
	int applied = -1;

	g_assert_cmpint(store_schema_version(st), ==, store_schema_latest());
	g_assert_true(store_migrate(st, &applied, NULL));
	g_assert_cmpint(applied, ==, 0);
	g_clear_pointer(&st, store_close);
	again = store_open(path, 0, NULL);
	g_assert_nonnull(again);
	g_assert_true(store_migrate(again, &applied, NULL));
	g_assert_cmpint(applied, ==, 0);
	g_assert_cmpint(scalar(again, "SELECT count(*) FROM sqlite_schema WHERE "
	    "name = 'subscribers'"), ==, 1);
}

static void
test_versions(void)
{
	g_autoptr(store) st = fresh();
	g_autoptr(GError) error = NULL;
	g_autofree char *sql = NULL;
	struct store *o;

	g_assert_cmpstr(scalar(st, "PRAGMA foreign_keys") ? "on" : "off", ==, "on");
	{
		g_autoptr(sqlite3_stmt) s = store_prepare(st, "PRAGMA journal_mode",
		    NULL);
		g_assert_cmpint(sqlite3_step(s), ==, SQLITE_ROW);
		g_assert_cmpstr((const char *)sqlite3_column_text(s, 0), ==, "wal");
	}
	sql = g_strdup_printf("PRAGMA user_version = %d", store_schema_latest() + 1);
	g_assert_true(store_exec(st, sql, NULL));
	g_clear_pointer(&st, store_close);
	o = store_open(path, 0, &error);
	g_assert_null(o);
	g_assert_error(error, HERALD_ERROR, HERALD_ERROR_SOFTWARE);
	g_assert_nonnull(strstr(error->message, "newer"));
	g_clear_error(&error);
	/* and herald init refuses to touch it */
	st = store_open(path, STORE_OPEN_CREATE, NULL);
	g_assert_false(store_migrate(st, NULL, &error));
	g_assert_nonnull(strstr(error->message, "newer"));
	g_clear_error(&error);
	g_assert_true(store_exec(st, "PRAGMA user_version = 0", NULL));
	g_clear_pointer(&st, store_close);
	o = store_open(path, 0, &error);
	g_assert_null(o);
	g_assert_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG);
	g_assert_nonnull(strstr(error->message, "herald init"));
	g_clear_error(&error);
	o = store_open("/nonexistent/herald.db", 0, &error);
	g_assert_null(o);
	g_assert_error(error, HERALD_ERROR, HERALD_ERROR_NOINPUT);
}

static void
test_failed_transaction(void)
{
	g_autoptr(store) st = fresh();
	g_autoptr(GError) error = NULL;

	g_assert_true(store_begin(st, NULL));
	g_assert_cmpint(store_list_id(st, "a", TRUE, NULL), >, 0);
	g_assert_true(store_begin(st, NULL));	/* nested */
	g_assert_true(store_exec(st, "INSERT INTO subscribers(email, email_key)"
	    " VALUES ('x@example.org', 'x@example.org')", NULL));
	g_assert_true(store_commit(st, NULL));	/* inner: nothing yet */
	/* a constraint fails halfway: the caller rolls everything back */
	g_assert_false(store_exec(st, "INSERT INTO subscribers(email, email_key)"
	    " VALUES ('x@example.org', 'x@example.org')", &error));
	store_rollback(st);
	g_assert_cmpint(st->depth, ==, 0);
	g_assert_cmpint(scalar(st, "SELECT count(*) FROM lists"), ==, 0);
	g_assert_cmpint(scalar(st, "SELECT count(*) FROM subscribers"), ==, 0);
	/* a foreign key that points nowhere fails */
	g_clear_error(&error);
	g_assert_false(store_exec(st, "INSERT INTO memberships(list_id, "
	    "subscriber_id, status) VALUES (99, 99, 'active')", &error));
	/* a connection closed mid-transaction leaves nothing */
	g_assert_true(store_begin(st, NULL));
	g_assert_cmpint(store_list_id(st, "b", TRUE, NULL), >, 0);
	g_clear_pointer(&st, store_close);
	st = store_open(path, 0, NULL);
	g_assert_cmpint(scalar(st, "SELECT count(*) FROM lists"), ==, 0);
	/* and a committed one stays */
	g_assert_true(store_begin(st, NULL));
	g_assert_cmpint(store_list_id(st, "c", TRUE, NULL), >, 0);
	g_assert_true(store_commit(st, NULL));
	g_assert_cmpint(scalar(st, "SELECT count(*) FROM lists"), ==, 1);
}

static void
test_group(void)
{
	struct store *st = fresh();
	GError *err = NULL;

	g_assert_true(store_group_begin(st, &err));
	/* unit 1: committed with the group */
	g_assert_true(store_begin(st, NULL));
	g_assert_true(store_exec(st, "INSERT INTO lists(name) VALUES ('a')",
	    NULL));
	g_assert_true(store_begin(st, NULL));	/* nested, as modules do */
	g_assert_true(store_exec(st, "INSERT INTO lists(name) VALUES ('b')",
	    NULL));
	g_assert_true(store_commit(st, NULL));
	g_assert_true(store_commit(st, NULL));
	/* unit 2: fails and rolls back, however deep */
	g_assert_true(store_begin(st, NULL));
	g_assert_true(store_exec(st, "INSERT INTO lists(name) VALUES ('c')",
	    NULL));
	g_assert_true(store_begin(st, NULL));
	store_rollback(st);
	g_assert_false(store_group_lost(st));
	/* a rollback outside any unit's transaction changes nothing */
	store_rollback(st);
	/* unit 3: a write outside store_begin, kept like unit 1 */
	g_assert_true(store_exec(st, "INSERT INTO lists(name) VALUES ('d')",
	    NULL));
	g_assert_cmpint(scalar(st, "SELECT count(*) FROM lists"), ==, 3);
	g_assert_true(store_group_commit(st, &err));
	g_assert_no_error(err);
	g_assert_cmpint(st->depth, ==, 0);
	g_assert_cmpint(scalar(st, "SELECT count(*) FROM lists WHERE name IN"
	    " ('a', 'b', 'd')"), ==, 3);
	g_assert_cmpint(scalar(st, "SELECT count(*) FROM lists WHERE name ="
	    " 'c'"), ==, 0);
	/* an aborted group: nothing of it stays; then plain transactions */
	g_assert_true(store_group_begin(st, NULL));
	g_assert_true(store_begin(st, NULL));
	g_assert_true(store_exec(st, "INSERT INTO lists(name) VALUES ('e')",
	    NULL));
	g_assert_true(store_commit(st, NULL));
	store_group_abort(st);
	g_assert_cmpint(scalar(st, "SELECT count(*) FROM lists WHERE name ="
	    " 'e'"), ==, 0);
	g_assert_true(store_begin(st, NULL));
	g_assert_true(store_exec(st, "INSERT INTO lists(name) VALUES ('f')",
	    NULL));
	g_assert_true(store_commit(st, NULL));
	g_assert_true(sqlite3_get_autocommit(st->db));
	store_close(st);
}

static void
test_event(void)
{
	g_autoptr(store) st = fresh();
	gint64 l = store_list_id(st, "a", TRUE, NULL);

	g_assert_true(store_event(st, l, 0, "subscribe", "cli", NULL, NULL));
	g_assert_cmpint(scalar(st, "SELECT count(*) FROM events WHERE "
	    "subscriber_id IS NULL AND action = 'subscribe'"), ==, 1);
}

/* migration 6 moves the segment index of a version-5 file into numbered
 * pairs: the attributes view shows the very same rows, and a segment
 * query and a pair shared by two subscribers still work */
static void
test_attribute_pairs_upgrade(void)
{
	g_autofree char *wal = g_strconcat(path, "-wal", NULL);
	g_autofree char *shm = g_strconcat(path, "-shm", NULL);
	g_autoptr(store) st = NULL;
	g_autoptr(GError) error = NULL;
	const char *rows = "SELECT group_concat(key || '=' || value || '@' ||"
	    " subscriber_id, ' ') FROM (SELECT * FROM attributes"
	    " ORDER BY 1, 2, 3)";
	g_autoptr(sqlite3_stmt) q = NULL;

	g_unlink(path);
	g_unlink(wal);
	g_unlink(shm);
	st = store_open(path, STORE_OPEN_CREATE, NULL);
	g_assert_nonnull(st);
	g_assert_true(store_migrate_to(st, 5, NULL, &error));
	g_assert_no_error(error);
	g_assert_cmpint(store_schema_version(st), ==, 5);
	store_exec(st, "INSERT INTO subscribers(id, email,"
	    " email_key, attrs) VALUES (1, 'a@x.org', 'a@x.org',"
	    " '{\"role\":\"dev\",\"region\":\"eu\"}'), (2, 'b@x.org',"
	    " 'b@x.org', '{\"role\":\"dev\"}');"
	    "INSERT INTO attributes(key, value, subscriber_id) VALUES"
	    " ('role', 'dev', 1), ('region', 'eu', 1), ('role', 'dev', 2)",
	    &error);
	g_assert_no_error(error);
	g_assert_true(store_migrate(st, NULL, &error));
	g_assert_no_error(error);
	g_assert_cmpint(store_schema_version(st), ==, store_schema_latest());
	q = store_prepare(st, rows, NULL);
	g_assert_cmpint(sqlite3_step(q), ==, SQLITE_ROW);
	g_assert_cmpstr((const char *)sqlite3_column_text(q, 0), ==,
	    "region=eu@1 role=dev@1 role=dev@2");
	g_assert_cmpint(scalar(st, "SELECT count(*) FROM attribute_values"),
	    ==, 2);
	g_assert_cmpint(scalar(st, "SELECT count(*) FROM attribute_members"),
	    ==, 3);
	g_assert_cmpint(scalar(st, "SELECT count(*) FROM subscribers s WHERE"
	    " s.id IN (SELECT subscriber_id FROM attributes WHERE key = 'role'"
	    " AND value = 'dev') AND s.id IN (SELECT subscriber_id FROM"
	    " attributes WHERE key = 'region' AND value = 'eu')"), ==, 1);
}

int
main(int argc, char **argv)
{
	int rc;

	g_test_init(&argc, &argv, NULL);
	fixture_init("test-store.XXXXXX");
	g_test_add_func("/store/migrate-idempotent", test_migrate_idempotent);
	g_test_add_func("/store/versions", test_versions);
	g_test_add_func("/store/failed-transaction", test_failed_transaction);
	g_test_add_func("/store/group", test_group);
	g_test_add_func("/store/event", test_event);
	g_test_add_func("/store/attribute-pairs-upgrade",
	    test_attribute_pairs_upgrade);
	rc = g_test_run();
	fixture_done();
	return rc;
}
