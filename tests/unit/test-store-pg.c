/*
 * test-store-pg.c - the PostgreSQL spelling of the store's shared SQL
 * (store_pg_sql in store_pg.c): ?N numbered as $N and counted, "IS ?N"
 * and "IS NOT ?N" as DISTINCT FROM (PostgreSQL's "IS" takes no value),
 * SQLite's LIMIT -1 as no limit, INSERT OR IGNORE as ON CONFLICT DO
 * NOTHING, NOT INDEXED dropped; text inside quotes never touched. The
 * rest of the backend runs against a real server in the PostgreSQL pass
 * of the suite (make test-pg) and in t2300.
 */
#include <string.h>

#include "herald.h"
#include "store.h"
#include "store_backend.h"

/* pg - SQL translated, its parameter count in *N */
static char *
pg(const char *sql, int *n)
{
	return store_pg_sql(sql, n);
}

static void
test_params(void)
{
	int n;
	g_autofree char *a = pg("SELECT x FROM t WHERE a = ?1 AND b = ?12", &n);
	g_autofree char *b = pg("SELECT 1", &n);

	g_assert_cmpstr(a, ==, "SELECT x FROM t WHERE a = $1 AND b = $12");
	g_free(pg("SELECT ?3, ?1", &n));
	g_assert_cmpint(n, ==, 3);
	g_assert_cmpstr(b, ==, "SELECT 1");
	g_free(pg("SELECT 1", &n));
	g_assert_cmpint(n, ==, 0);
}

static void
test_is(void)
{
	int n;
	g_autofree char *a = pg("UPDATE s SET name = ?2 WHERE id = ?1 AND"
	    " name IS NOT ?2", &n);
	g_autofree char *b = pg("SELECT 1 WHERE x IS ?1 OR y IS NULL"
	    " OR z IS NOT NULL", &n);
	g_autofree char *c = pg("SELECT 1 WHERE this_is ?1", &n);

	g_assert_cmpstr(a, ==, "UPDATE s SET name = $2 WHERE id = $1 AND"
	    " name IS DISTINCT FROM $2");
	g_assert_cmpstr(b, ==, "SELECT 1 WHERE x IS NOT DISTINCT FROM $1"
	    " OR y IS NULL OR z IS NOT NULL");
	/* a word that ends in "is" is not the operator */
	g_assert_cmpstr(c, ==, "SELECT 1 WHERE this_is $1");
}

static void
test_limit_ignore(void)
{
	int n;
	g_autofree char *a = pg("SELECT id FROM t ORDER BY id LIMIT ?2", &n);
	g_autofree char *b = pg("INSERT OR IGNORE INTO t(a) VALUES (?1)", &n);
	g_autofree char *c = pg("SELECT * FROM d NOT INDEXED WHERE id > ?1",
	    &n);

	g_assert_cmpstr(a, ==,
	    "SELECT id FROM t ORDER BY id LIMIT nullif(greatest($2, -1), -1)");
	g_assert_cmpstr(b, ==,
	    "INSERT INTO t(a) VALUES ($1) ON CONFLICT DO NOTHING");
	g_assert_cmpstr(c, ==, "SELECT * FROM d WHERE id > $1");
}

static void
test_quotes(void)
{
	int n;
	g_autofree char *a = pg("SELECT 'a ?1 IS ?2', \"?3\" FROM t"
	    " WHERE x = ?1", &n);

	g_assert_cmpstr(a, ==, "SELECT 'a ?1 IS ?2', \"?3\" FROM t"
	    " WHERE x = $1");
	g_assert_cmpint(n, ==, 1);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/store-pg/params", test_params);
	g_test_add_func("/store-pg/is", test_is);
	g_test_add_func("/store-pg/limit-ignore", test_limit_ignore);
	g_test_add_func("/store-pg/quotes", test_quotes);
	return g_test_run();
}
