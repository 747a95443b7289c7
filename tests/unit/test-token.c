/*
 * test-token.c - tokens verify for exactly what they were made for:
 * tampering, another purpose, another list, another subscriber or
 * delivery, another key all fail; case folding by an MTA does not.
 */
#include <string.h>
#include <glib/gstdio.h>

#include "herald.h"
#include "token.h"

/* token_make(key of 32 x "a", unsubscribe, "xen-users", 7, 0) as made
 * before test tokens existed */
#define STABLE_TOKEN "uh-a-w2hujqidmsaip3hx"

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

/* a test copy's token verifies, but only as a test token: never with a
 * real purpose, and neither can be relabelled as the other */
static void
test_test_token(void)
{
	g_autofree char *t = token_make(&key_a, TOKEN_TEST_UNSUBSCRIBE,
	    "xen-users", 7, 0);
	g_autofree char *real = token_make(&key_a, TOKEN_UNSUBSCRIBE,
	    "xen-users", 7, 0);
	g_autofree char *b = token_make(&key_a, TOKEN_TEST_BOUNCE, "xen-users",
	    7, 0);
	g_autofree char *up = g_ascii_strup(t, -1);
	g_autofree char *as_real = g_strdup(t + 1);
	g_autofree char *as_test = g_strconcat("t", real, NULL);
	enum token_purpose p;
	gint64 sub = 0;

	g_assert_true(t[0] == TOKEN_TEST_LETTER && t[1] == TOKEN_UNSUBSCRIBE);
	g_assert_cmpstr(t + 1, !=, real);
	g_assert_true(token_verify(&key_a, t, "xen-users", &p, &sub, NULL, NULL));
	g_assert_cmpint(p, ==, TOKEN_TEST_UNSUBSCRIBE);
	g_assert_cmpint(p, !=, TOKEN_UNSUBSCRIBE);
	g_assert_true(token_is_test(p));
	g_assert_cmpint(token_purpose_base(p), ==, TOKEN_UNSUBSCRIBE);
	g_assert_cmpint(sub, ==, 7);
	g_assert_true(token_verify(&key_a, up, "xen-users", &p, NULL, NULL, NULL));
	g_assert_cmpint(p, ==, TOKEN_TEST_UNSUBSCRIBE);
	/* the flag is in the MAC: dropping or adding the 't' fails */
	g_assert_false(token_verify(&key_a, as_real, "xen-users", &p, NULL, NULL,
	    NULL));
	g_assert_false(token_verify(&key_a, as_test, "xen-users", &p, NULL, NULL,
	    NULL));
	/* a real token is not a test one */
	g_assert_true(token_verify(&key_a, real, "xen-users", &p, NULL, NULL,
	    NULL));
	g_assert_false(token_is_test(p));
	g_assert_true(token_verify(&key_a, b, "xen-users", &p, NULL, NULL, NULL));
	g_assert_cmpint(p, ==, TOKEN_TEST_BOUNCE);
	g_assert_false(token_verify(&key_a, "tt7-a-aaaaaaaaaaaaaaaa", "xen-users",
	    NULL, NULL, NULL, NULL));
}

/* tokens sent before test tokens existed still verify: the MAC input of
 * a real token did not change (this value was made by the older code) */
static void
test_stable(void)
{
	g_autofree char *t = token_make(&key_a, TOKEN_UNSUBSCRIBE, "xen-users",
	    7, 0);

	g_assert_cmpstr(t, ==, STABLE_TOKEN);
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
	g_test_add_func("/token/test-token", test_test_token);
	g_test_add_func("/token/stable", test_stable);
	g_test_add_func("/token/key-file", test_key_file);
	return g_test_run();
}
