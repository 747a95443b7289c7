/*
 * test-subscriber.c - address checks (RFC 5321 lengths, one @, dot-atom or
 * quoted local part, IDN stored as given), the uniqueness key, text and
 * attribute-name checks, and the writer's outcomes on a real database.
 */
#include <string.h>
#include <glib/gstdio.h>

#include "herald.h"
#include "store.h"
#include "subscriber.h"

static void
test_good_addresses(void)
{
	static const char *const good[] = {
		"alice@example.com", "a.b.c@example.org", "x+tag@sub.example.net",
		"o'brien@example.com", "!#$%&'*+-/=?^_`{|}~@example.com",
		"\"john doe\"@example.com", "\"a@b\"@example.com",
		"\"quote\\\"d\"@example.com", "josé@example.com",
		"user@bücher.example", "user@xn--bcher-kva.example",
		"u@a-b.example.com",
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(good); i++) {
		g_autoptr(GError) error = NULL;

		if (!subscriber_check_email(good[i], &error))
			g_error("%s refused: %s", good[i], error->message);
	}
}

static void
test_bad_addresses(void)
{
	static const struct { const char *addr, *why; } bad[] = {
		{ "", "empty" }, { "alice", "no @" },
		{ "alice@@example.com", "more than one @" },
		{ "a@b@example.com", "more than one @" },
		{ "@example.com", "local part is empty" },
		{ "alice@", "domain is empty" },
		{ ".alice@example.com", "starts or ends with a dot" },
		{ "alice.@example.com", "starts or ends with a dot" },
		{ "al..ice@example.com", "two dots" },
		{ "al ice@example.com", "space" },
		{ "al(ice@example.com", "not allowed in an unquoted" },
		{ "\"unclosed@example.com", "no @" },
		{ "alice@example..com", "empty label" },
		{ "alice@-example.com", "hyphen" },
		{ "alice@example-.com", "hyphen" },
		{ "alice@exa_mple.com", "not allowed in a domain" },
		{ "alice@localhost", "single label" },
		{ "alice@[192.0.2.1]", "address literals" },
		{ "alice@example.com\r\nBcc: x@example.com", "line break" },
		{ "alice\n@example.com", "line break" },
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) error = NULL;

		if (subscriber_check_email(bad[i].addr, &error))
			g_error("\"%s\" accepted", bad[i].addr);
		g_assert_error(error, HERALD_ERROR, HERALD_ERROR_DATA);
		if (strstr(error->message, bad[i].why) == NULL)
			g_error("\"%s\": %s (wanted %s)", bad[i].addr,
			    error->message, bad[i].why);
	}
	g_assert_false(subscriber_check_email("a@\xff.example.com", NULL));
}

static void
test_lengths(void)
{
	g_autofree char *local64 = g_strnfill(64, 'a');
	g_autofree char *local65 = g_strnfill(65, 'a');
	g_autofree char *label63 = g_strnfill(63, 'b');
	g_autofree char *label64 = g_strnfill(64, 'b');
	g_autofree char *ok = g_strdup_printf("%s@%s.example.com", local64, label63);
	g_autofree char *l65 = g_strdup_printf("%s@example.com", local65);
	g_autofree char *lab = g_strdup_printf("a@%s.example.com", label64);
	/* 64 + 1 + 63*3 + 2 + 3 = 259 > 254 */
	g_autofree char *long_total = g_strdup_printf("%s@%s.%s.%s.com", local64,
	    label63, label63, label63);
	/* exactly 254: 64 + 1 + 63 + 1 + 63 + 1 + 57 + 4 */
	g_autofree char *d189 = g_strdup_printf("%s.%s.%.57s.com", label63,
	    label63, label63);
	g_autofree char *exact = g_strdup_printf("%s@%s", local64, d189);
	g_autoptr(GError) error = NULL;

	g_assert_cmpint(strlen(exact), ==, 254);
	g_assert_true(subscriber_check_email(ok, NULL));
	g_assert_true(subscriber_check_email(exact, NULL));
	g_assert_false(subscriber_check_email(l65, &error));
	g_assert_nonnull(strstr(error->message, "longer than 64"));
	g_clear_error(&error);
	g_assert_false(subscriber_check_email(lab, &error));
	g_assert_nonnull(strstr(error->message, "longer than 63"));
	g_clear_error(&error);
	g_assert_false(subscriber_check_email(long_total, &error));
	g_assert_nonnull(strstr(error->message, "longer than 254"));
}

static void
test_key(void)
{
	g_autofree char *a = subscriber_email_key("Alice@Example.COM");
	g_autofree char *b = subscriber_email_key("\"A@B\"@EXAMPLE.org");
	g_autofree char *c = subscriber_email_key("x@BÜCHER.example");

	g_assert_cmpstr(a, ==, "Alice@example.com");
	g_assert_cmpstr(b, ==, "\"A@B\"@example.org");
	g_assert_cmpstr(c, ==, "x@bücher.example");
}

static void
test_text_and_keys(void)
{
	g_autoptr(GError) error = NULL;

	g_assert_true(subscriber_check_text("name", "Zoë O'Brien, Jr.", NULL));
	g_assert_false(subscriber_check_text("name", "a\rb", NULL));
	g_assert_false(subscriber_check_text("name", "a\nb", &error));
	g_assert_error(error, HERALD_ERROR, HERALD_ERROR_DATA);
	g_assert_true(subscriber_check_key("role", NULL));
	g_assert_true(subscriber_check_key("x_y.z-1", NULL));
	g_assert_false(subscriber_check_key("1x", NULL));
	g_assert_false(subscriber_check_key("a b", NULL));
	g_assert_false(subscriber_check_key("Role", NULL));	/* fold first */
	g_assert_false(subscriber_check_key("email", NULL));
	g_assert_false(subscriber_check_key("subscribed", NULL));
	g_assert_false(subscriber_check_key("", NULL));
}

static void
test_writer(void)
{
	g_autofree char *dir = g_dir_make_tmp("herald-sub-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "t.db", NULL);
	g_autoptr(store) st = store_open(path, STORE_OPEN_CREATE, NULL);
	g_autoptr(GHashTable) attrs = g_hash_table_new(g_str_hash, g_str_equal);
	g_autoptr(subscriber_writer) w = NULL;
	g_autoptr(subscriber) sub = NULL;
	g_autoptr(GError) error = NULL;
	enum subscriber_outcome out;
	gint64 list, id, id2;

	g_assert_nonnull(st);
	g_assert_true(store_migrate(st, NULL, NULL));
	list = store_list_id(st, "l", TRUE, NULL);
	w = subscriber_writer_new(st, list, "import", NULL);
	g_assert_nonnull(w);
	g_hash_table_insert(attrs, "role", "developer");
	g_assert_true(subscriber_write(w, "Bob@Example.com", "Bob", attrs, &out,
	    &id, NULL));
	g_assert_cmpint(out, ==, SUBSCRIBER_ADDED);
	/* the same address with the domain in another case is the same person */
	g_hash_table_replace(attrs, "role", "maintainer");
	g_assert_true(subscriber_write(w, "Bob@EXAMPLE.COM", NULL, attrs, &out,
	    &id2, NULL));
	g_assert_cmpint(out, ==, SUBSCRIBER_UPDATED);
	g_assert_cmpint(id, ==, id2);
	sub = subscriber_get(st, id, NULL);
	g_assert_cmpstr(sub->name, ==, "Bob");		/* NULL name kept it */
	g_assert_cmpstr(g_hash_table_lookup(sub->attrs, "role"), ==, "maintainer");
	/* an unsubscribed member is left alone */
	g_assert_true(membership_set(st, list, id, MEMBER_UNSUBSCRIBED,
	    "unsubscribe", "cli", NULL, NULL));
	g_assert_true(subscriber_write(w, "Bob@example.com", NULL, NULL, &out,
	    NULL, NULL));
	g_assert_cmpint(out, ==, SUBSCRIBER_KEPT);
	g_assert_cmpstr(membership_status(st, list, id, NULL), ==,
	    MEMBER_UNSUBSCRIBED);
	/* bad data is refused before anything is written */
	g_hash_table_replace(attrs, "role", "a\nb");
	g_assert_false(subscriber_write(w, "carol@example.com", NULL, attrs, &out,
	    NULL, &error));
	g_assert_error(error, HERALD_ERROR, HERALD_ERROR_DATA);
	g_assert_null(subscriber_find(st, "carol@example.com", NULL));
	/* "" removes an attribute */
	g_hash_table_replace(attrs, "role", "");
	g_assert_true(subscriber_write(w, "Bob@example.com", NULL, attrs, &out,
	    NULL, NULL));
	g_clear_pointer(&sub, subscriber_free);
	/* the local part is as given: bob@ is somebody else */
	g_assert_null(subscriber_find(st, "bob@example.com", NULL));
	sub = subscriber_find(st, "Bob@EXAMPLE.com", NULL);
	g_assert_nonnull(sub);
	g_assert_cmpstr(sub->email, ==, "Bob@Example.com");
	g_assert_null(g_hash_table_lookup(sub->attrs, "role"));
	g_clear_pointer(&w, subscriber_writer_free);
	g_assert_true(subscriber_delete(st, id, NULL));
	g_assert_null(subscriber_get(st, id, NULL));
	g_unlink(path);
	g_autofree char *wal = g_strconcat(path, "-wal", NULL);
	g_autofree char *shm = g_strconcat(path, "-shm", NULL);
	g_unlink(wal);
	g_unlink(shm);
	g_rmdir(dir);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/subscriber/good", test_good_addresses);
	g_test_add_func("/subscriber/bad", test_bad_addresses);
	g_test_add_func("/subscriber/lengths", test_lengths);
	g_test_add_func("/subscriber/key", test_key);
	g_test_add_func("/subscriber/text-and-keys", test_text_and_keys);
	g_test_add_func("/subscriber/writer", test_writer);
	return g_test_run();
}
