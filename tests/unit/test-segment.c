/*
 * test-segment.c - the segment language: what it parses to (as SQL text
 * and parameters), precedence, errors with their columns, and, on a real
 * database, that matching is right and that injection attempts match
 * nothing extra and change nothing.
 */
#include <string.h>
#include <glib/gstdio.h>

#include "herald.h"
#include "segment.h"
#include "store.h"
#include "store_sqlite.h"
#include "store_segment.h"
#include "subscriber.h"

/* compile - EXPR's SQL and parameters joined by | */
static char *
compile(const char *expr, char **params_out)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(segment) seg = segment_compile(expr, &error);
	g_autoptr(GString) sql = g_string_new(NULL);
	g_autoptr(GArray) args = g_array_new(FALSE, FALSE,
	    sizeof(struct store_arg));
	g_autoptr(GPtrArray) params = g_ptr_array_new();
	guint i;

	if (seg == NULL)
		g_error("%s: %s", expr, error->message);
	store_segment_sql(seg, sql, args);
	for (i = 0; i < args->len; i++) {
		const struct store_arg *a = &g_array_index(args,
		    struct store_arg, i);

		g_assert_cmpint(a->type, ==, STORE_TEXT);
		g_ptr_array_add(params, (gpointer)a->p);
	}
	g_ptr_array_add(params, NULL);
	*params_out = g_strjoinv("|", (char **)params->pdata);
	return g_string_free(g_steal_pointer(&sql), FALSE);
}

static void
test_compile(void)
{
	char *p;
	char *sql = compile("role in (\"developer\", \"maintainer\") and "
	    "region = \"us-east\"", &p);

	g_assert_cmpstr(p, ==, "role|developer|maintainer|region|us-east");
	g_assert_nonnull(strstr(sql, " AND "));
	g_assert_null(strstr(sql, "developer"));	/* values are never SQL */
	g_free(sql);
	g_free(p);
	sql = compile("not exists(company)", &p);
	g_assert_cmpstr(p, ==, "company");
	g_assert_true(g_str_has_prefix(sql, "(NOT "));
	g_free(sql);
	g_free(p);
	sql = compile("email ~ \"*@citrix.com\"", &p);
	g_assert_cmpstr(p, ==, "*@citrix.com");
	g_assert_nonnull(strstr(sql, "glob(lower("));	/* a function both engines take */
	g_free(sql);
	g_free(p);
	/* dates are normalised; email = compares the key (domain folded) */
	sql = compile("subscribed < \"2014-06-01\" and email = \"A@EXAMPLE.COM\"",
	    &p);
	g_assert_cmpstr(p, ==, "2014-06-01 00:00:00|A@example.com");
	g_free(sql);
	g_free(p);
	/* keywords and names are case-insensitive; escapes */
	sql = compile("NOT Role = \"say \\\"hi\\\" \\\\\" OR x NOT IN (\"a\")", &p);
	g_assert_cmpstr(p, ==, "role|say \"hi\" \\|x|a");
	g_assert_nonnull(strstr(sql, "NOT IN"));
	g_free(sql);
	g_free(p);
}

static void
test_precedence(void)
{
	char *p;
	/* a or b and c = a or (b and c); not binds tightest */
	char *sql = compile("a = \"1\" or b = \"2\" and not c = \"3\"", &p);
	const char *or = strstr(sql, " OR ");
	const char *and = strstr(sql, " AND (NOT");

	g_assert_nonnull(or);
	g_assert_nonnull(and);
	g_assert_true(or < and);
	g_assert_cmpstr(p, ==, "a|1|b|2|c|3");
	g_assert_true(g_str_has_prefix(sql, "((m.subscriber_id"));
	g_free(sql);
	g_free(p);
	sql = compile("(a = \"1\" or b = \"2\") and c = \"3\"", &p);
	g_assert_true(g_str_has_prefix(sql, "(((m.subscriber_id"));
	g_assert_nonnull(strstr(sql, ") AND (m.subscriber_id"));
	g_free(sql);
	g_free(p);
}

/* the tree is normalised before it becomes SQL: nots go down to the
 * conditions, chains are one node, equality tests on a field fold */
static void
test_normalise(void)
{
	g_autoptr(GString) deep = g_string_new(NULL);
	g_autoptr(GError) error = NULL;
	char *p;
	char *sql = compile("role = \"a\" or (role = \"b\" or region = \"x\") or "
	    "role in (\"c\", \"d\")", &p);
	guint i;

	g_assert_cmpstr(p, ==, "role|a|b|c|d|region|x");
	g_assert_nonnull(strstr(sql, "value IN (?2, ?3, ?4, ?5)"));
	g_free(sql);
	g_free(p);
	/* not not: nothing left of it */
	sql = compile("not not not (not role = \"a\")", &p);
	g_assert_null(strstr(sql, "NOT"));
	g_free(sql);
	g_free(p);
	/* De Morgan: not (a or b) is not a and not b, and those fold */
	sql = compile("not (role = \"a\" or role = \"b\" or exists(x))", &p);
	g_assert_cmpstr(p, ==, "role|a|b|x");
	g_assert_true(g_str_has_prefix(sql, "((NOT coalesce("));
	g_assert_nonnull(strstr(sql, ") AND (NOT coalesce("));
	g_assert_null(strstr(sql, " OR "));
	g_free(sql);
	g_free(p);
	/* != and "not in" are not folded (each wants the attribute) */
	sql = compile("role != \"a\" or role != \"b\" or role not in (\"c\")", &p);
	g_assert_cmpstr(p, ==, "role|a|role|b|role|c");
	g_free(sql);
	g_free(p);
	/* parentheses: 256 deep parse, 257 are refused with the column */
	for (i = 0; i < 256; i++)
		g_string_append(deep, i % 2 ? "a = \"1\" and (" : "b = \"2\" or (");
	g_string_append(deep, "c = \"3\"");
	for (i = 0; i < 256; i++)
		g_string_append_c(deep, ')');
	sql = compile(deep->str, &p);
	g_assert_null(strstr(sql, " AND ("));	/* | and & past a few levels */
	g_assert_nonnull(strstr(sql, " & "));
	g_free(sql);
	g_free(p);
	g_string_prepend(deep, "(");
	g_string_append_c(deep, ')');
	g_assert_null(segment_compile(deep->str, &error));
	g_assert_error(error, HERALD_ERROR, HERALD_ERROR_DATA);
	g_assert_true(g_str_has_prefix(error->message, "column "));
	g_assert_nonnull(strstr(error->message, "more than 256 deep"));
}

static void
test_errors(void)
{
	static const struct { const char *expr, *msg; } bad[] = {
		{ "", "column 1: expected a condition" },
		{ "role = developer", "column 8: expected a quoted value" },
		{ "role in (\"developer\", maintainer)",
		    "column 23: expected a quoted value" },
		{ "role == \"x\"", "column 7: expected a quoted value" },
		{ "role \"x\"", "column 6: expected an operator" },
		{ "(role = \"x\"", "column 12: expected )" },
		{ "role = \"x\")", "column 11: unexpected )" },
		{ "role = \"x\" and", "column 15: expected a condition" },
		{ "role = \"x", "column 8: the quoted value is never closed" },
		{ "role = \"x\" region = \"y\"", "column 12: expected and, or" },
		{ "région = \"x\"", "column 2: expected an operator" },
		/* columns count characters, not bytes */
		{ "role = \"é\" or", "column 14: expected a condition" },
		{ "= \"x\"", "column 1: expected a name" },
		{ "subscribed < \"June\"", "column 14: expected a date" },
		{ "subscribed < \"2014-02-30\"", "column 14: expected a date" },
		{ "exists(\"x\")", "column 8: expected a name in exists()" },
		{ "role = \"x\"; DROP TABLE subscribers",
		    "column 11: expected and, or" },
		{ "x in ()", "column 7: expected a quoted value" },
		{ "role = \"\\n\"", "column 9: only" },
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(segment) seg = segment_compile(bad[i].expr, &error);

		if (seg != NULL)
			g_error("\"%s\" compiled", bad[i].expr);
		g_assert_error(error, HERALD_ERROR, HERALD_ERROR_DATA);
		if (!g_str_has_prefix(error->message, bad[i].msg))
			g_error("\"%s\": got \"%s\", wanted \"%s\"", bad[i].expr,
			    error->message, bad[i].msg);
	}
}

struct db {
	char *dir, *path;
	struct store *st;
	gint64 list;
};

static void
db_add(struct db *db, struct subscriber_writer *w, const char *email,
    const char *name, ...)
{
	g_autoptr(GHashTable) attrs = g_hash_table_new(g_str_hash, g_str_equal);
	const char *k, *v;
	va_list ap;

	va_start(ap, name);
	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		g_hash_table_insert(attrs, (char *)k, (char *)v);
	}
	va_end(ap);
	g_assert_true(subscriber_write(w, email, name, attrs, NULL, NULL, NULL));
}

static void
db_open(struct db *db)
{
	g_autoptr(subscriber_writer) w = NULL;

	db->dir = g_dir_make_tmp("herald-seg-XXXXXX", NULL);
	db->path = g_build_filename(db->dir, "t.db", NULL);
	db->st = store_open(db->path, STORE_OPEN_CREATE, NULL);
	g_assert_true(store_migrate(db->st, NULL, NULL));
	db->list = store_list_id(db->st, "xen-users", TRUE, NULL);
	w = subscriber_writer_new(db->st, db->list, "import", NULL);
	db_add(db, w, "ann@example.com", "Ann", "role", "developer", "region",
	    "us-east", NULL);
	db_add(db, w, "ben@citrix.com", "Ben", "role", "maintainer", "region",
	    "europe", "company", "Citrix", NULL);
	db_add(db, w, "cat@CITRIX.COM", NULL, "role", "user", "region",
	    "us-east", NULL);
	db_add(db, w, "dan@example.org", "Dan", "region", "asia", NULL);
	db_add(db, w, "eve@example.org", "x' OR '1'='1", "role", "user", NULL);
}

static void
db_close(struct db *db)
{
	g_autofree char *wal = g_strconcat(db->path, "-wal", NULL);
	g_autofree char *shm = g_strconcat(db->path, "-shm", NULL);

	store_close(db->st);
	g_unlink(db->path);
	g_unlink(wal);
	g_unlink(shm);
	g_rmdir(db->dir);
	g_free(db->path);
	g_free(db->dir);
}

static gint64
count(struct db *db, const char *expr)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(segment) seg = segment_compile(expr, &error);
	gint64 n;

	if (seg == NULL)
		g_error("%s: %s", expr, error->message);
	n = store_segment_count(db->st, db->list, seg, &error);
	g_assert_no_error(error);
	return n;
}

static gint64
rows(struct db *db, const char *table)
{
	g_autofree char *sql = g_strdup_printf("SELECT count(*) FROM %s", table);
	g_autoptr(sqlite3_stmt) st = store_prepare(db->st, sql, NULL);

	g_assert_cmpint(sqlite3_step(st), ==, SQLITE_ROW);
	return sqlite3_column_int64(st, 0);
}

static void
test_match(void)
{
	struct db db;

	db_open(&db);
	g_assert_cmpint(count(&db, "role in (\"developer\", \"maintainer\")"), ==, 2);
	g_assert_cmpint(count(&db, "role in (\"developer\", \"maintainer\") and "
	    "region = \"us-east\""), ==, 1);
	g_assert_cmpint(count(&db, "not exists(company)"), ==, 4);
	g_assert_cmpint(count(&db, "exists(role)"), ==, 4);
	g_assert_cmpint(count(&db, "email ~ \"*@citrix.com\""), ==, 2);
	g_assert_cmpint(count(&db, "email = \"cat@citrix.com\""), ==, 1);
	g_assert_cmpint(count(&db, "role != \"user\""), ==, 2);	/* wants a role */
	g_assert_cmpint(count(&db, "not role = \"user\""), ==, 3);
	g_assert_cmpint(count(&db, "not exists(role) or role != \"maintainer\""),
	    ==, 4);
	g_assert_cmpint(count(&db, "name = \"Ann\" or name ~ \"b*\""), ==, 2);
	g_assert_cmpint(count(&db, "not name = \"Ann\""), ==, 4);
	g_assert_cmpint(count(&db, "exists(name)"), ==, 4);
	g_assert_cmpint(count(&db, "region not in (\"asia\", \"europe\")"), ==, 2);
	g_assert_cmpint(count(&db, "subscribed < \"2000-01-01\""), ==, 0);
	g_assert_cmpint(count(&db, "subscribed >= \"2000-01-01 00:00\""), ==, 5);
	g_assert_cmpint(count(&db, "region > \"f\""), ==, 2);
	g_assert_cmpint(count(&db, "company ~ \"CIT*\""), ==, 1);
	db_close(&db);
}

static void
test_injection(void)
{
	static const char *const tries[] = {
		"role = \"x' OR '1'='1\"",
		"role = \"x\\\" OR 1=1 --\"",
		"role = \"'); DELETE FROM subscribers; --\"",
		"name = \"y' OR '1'='1\"",
		"role in (\"a\", \"b') OR 1=1; DROP TABLE attributes; --\")",
		"email ~ \"*' OR '1'='1\"",
		"exists(role) and role = \"\\\"; DROP TABLE lists; --\"",
	};
	struct db db;
	gint64 subs, attrs;
	size_t i;

	db_open(&db);
	subs = rows(&db, "subscribers");
	attrs = rows(&db, "attributes");
	for (i = 0; i < G_N_ELEMENTS(tries); i++)
		if (count(&db, tries[i]) != 0)
			g_error("\"%s\" matched", tries[i]);
	/* the one name that really is that text matches exactly once */
	g_assert_cmpint(count(&db, "name = \"x' OR '1'='1\" or role = \"nobody\""),
	    ==, 1);
	g_assert_cmpint(rows(&db, "subscribers"), ==, subs);
	g_assert_cmpint(rows(&db, "attributes"), ==, attrs);
	g_assert_cmpint(rows(&db, "lists"), ==, 1);
	db_close(&db);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/segment/compile", test_compile);
	g_test_add_func("/segment/precedence", test_precedence);
	g_test_add_func("/segment/normalise", test_normalise);
	g_test_add_func("/segment/errors", test_errors);
	g_test_add_func("/segment/match", test_match);
	g_test_add_func("/segment/injection", test_injection);
	return g_test_run();
}
