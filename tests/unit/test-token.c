/*
 * test-token.c - tokens verify for exactly what they were made for:
 * tampering, another purpose, another list, another subscriber or
 * delivery, another key all fail; case folding by an MTA does not.
 */
#include <string.h>
#include <glib/gstdio.h>

#include "herald.h"
#include "token.h"

static struct token_key key_a, key_b;

static void
test_roundtrip(void)
{
	g_autofree char *t = token_make(&key_a, TOKEN_BOUNCE, "xen-users", 12345,
	    987654321);
	enum token_purpose p;
	gint64 sub, extra;

	g_assert_nonnull(t);
	g_assert_true(token_verify(&key_a, t, "xen-users", &p, &sub, &extra, NULL));
	g_assert_cmpint(p, ==, TOKEN_BOUNCE);
	g_assert_cmpint(sub, ==, 12345);
	g_assert_cmpint(extra, ==, 987654321);
	for (const char *c = t; *c; c++)
		g_assert_true(g_ascii_islower(*c) || g_ascii_isdigit(*c) || *c == '-');
}

static void
test_case_folded(void)
{
	g_autofree char *t = token_make(&key_a, TOKEN_UNSUBSCRIBE, "xen-users", 7, 0);
	g_autofree char *up = g_ascii_strup(t, -1);

	g_assert_true(token_verify(&key_a, up, "xen-users", NULL, NULL, NULL, NULL));
}

static void
test_tampered(void)
{
	g_autofree char *t = token_make(&key_a, TOKEN_UNSUBSCRIBE, "xen-users", 7, 0);
	size_t i, len = strlen(t);

	/* every single-character change anywhere fails */
	for (i = 0; i < len; i++) {
		g_autofree char *m = g_strdup(t);
		g_autoptr(GError) error = NULL;

		m[i] = m[i] == 'a' ? 'b' : 'a';
		g_assert_false(token_verify(&key_a, m, "xen-users", NULL, NULL,
		    NULL, &error));
		g_assert_error(error, HERALD_ERROR, HERALD_ERROR_DATA);
	}
	g_assert_false(token_verify(&key_a, "", "xen-users", NULL, NULL, NULL, NULL));
	g_assert_false(token_verify(&key_a, "u7-a-", "xen-users", NULL, NULL, NULL, NULL));
	g_assert_false(token_verify(&key_a, "u7-a-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    "xen-users", NULL, NULL, NULL, NULL));
}

static void
test_cross_purpose(void)
{
	g_autofree char *t = token_make(&key_a, TOKEN_BOUNCE, "xen-users", 7, 3);
	g_autofree char *forged = g_strdup(t);
	enum token_purpose p;

	/* the purpose letter is covered by the MAC: relabel a bounce token as
	 * an unsubscribe token and it no longer verifies */
	forged[0] = TOKEN_UNSUBSCRIBE;
	g_assert_false(token_verify(&key_a, forged, "xen-users", &p, NULL, NULL, NULL));
	forged[0] = TOKEN_CONFIRM_UNSUBSCRIBE;
	g_assert_false(token_verify(&key_a, forged, "xen-users", &p, NULL, NULL, NULL));
}

static void
test_cross_list_and_key(void)
{
	g_autofree char *t = token_make(&key_a, TOKEN_UNSUBSCRIBE, "xen-users", 7, 0);

	g_assert_false(token_verify(&key_a, t, "xen-devel", NULL, NULL, NULL, NULL));
	g_assert_false(token_verify(&key_b, t, "xen-users", NULL, NULL, NULL, NULL));
}

static void
test_other_subscriber(void)
{
	g_autofree char *mine = token_make(&key_a, TOKEN_UNSUBSCRIBE, "xen-users", 7, 0);
	g_autofree char *theirs = token_make(&key_a, TOKEN_UNSUBSCRIBE, "xen-users", 8, 0);
	/* splice my MAC onto their id */
	g_autofree char *forged = g_strconcat("ui-a-", strrchr(mine, '-') + 1, NULL);

	g_assert_cmpstr(mine, !=, theirs);
	g_assert_false(token_verify(&key_a, forged, "xen-users", NULL, NULL, NULL, NULL));
}

static void
test_key_file(void)
{
	g_autofree char *dir = g_dir_make_tmp("herald-token-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "secret", NULL);
	struct token_key k1, k2;
	gboolean existed;
	GStatBuf st;

	g_assert_true(token_key_create(path, &k1, &existed, NULL));
	g_assert_false(existed);
	g_assert_cmpint(g_stat(path, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 0777, ==, 0600);
	g_assert_true(token_key_create(path, &k2, &existed, NULL));
	g_assert_true(existed);
	g_assert_cmpmem(k1.bytes, sizeof(k1.bytes), k2.bytes, sizeof(k2.bytes));
	g_assert_true(g_file_set_contents(path, "short", 5, NULL));
	g_assert_false(token_key_load(path, &k2, NULL));
	g_unlink(path);
	g_rmdir(dir);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	memset(key_a.bytes, 'a', sizeof(key_a.bytes));
	memset(key_b.bytes, 'b', sizeof(key_b.bytes));
	g_test_add_func("/token/roundtrip", test_roundtrip);
	g_test_add_func("/token/case-folded", test_case_folded);
	g_test_add_func("/token/tampered", test_tampered);
	g_test_add_func("/token/cross-purpose", test_cross_purpose);
	g_test_add_func("/token/cross-list-and-key", test_cross_list_and_key);
	g_test_add_func("/token/other-subscriber", test_other_subscriber);
	g_test_add_func("/token/key-file", test_key_file);
	return g_test_run();
}
