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

/* every purpose, test tokens too */
#define ALL 0xffu

static void
test_roundtrip(void)
{
	g_autofree char *t = token_make(&key_a, TOKEN_BOUNCE, "xen-users", 12345,
	    987654321);
	struct token_claim c;

	g_assert_nonnull(t);
	g_assert_true(token_verify(&key_a, t, "xen-users", ALL,
	    &c, NULL));
	g_assert_cmpint(c.purpose, ==, TOKEN_BOUNCE);
	g_assert_cmpint(c.subscriber_id, ==, 12345);
	g_assert_cmpint(c.extra_id, ==, 987654321);
	for (const char *ch = t; *ch; ch++)
		g_assert_true(g_ascii_islower(*ch) || g_ascii_isdigit(*ch) ||
		    *ch == '-');
}

static void
test_case_folded(void)
{
	g_autofree char *t = token_make(&key_a, TOKEN_UNSUBSCRIBE, "xen-users", 7, 0);
	g_autofree char *up = g_ascii_strup(t, -1);

	g_assert_true(token_verify(&key_a, up, "xen-users", ALL,
	    NULL, NULL));
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
		g_assert_false(token_verify(&key_a, m, "xen-users", ALL,
	    NULL, &error));
		g_assert_error(error, HERALD_ERROR, HERALD_ERROR_DATA);
	}
	g_assert_false(token_verify(&key_a, "", "xen-users", ALL,
	    NULL, NULL));
	g_assert_false(token_verify(&key_a, "u7-a-", "xen-users", ALL,
	    NULL, NULL));
	g_assert_false(token_verify(&key_a,
	    "u7-a-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "xen-users", ALL, NULL,
	    NULL));
}

static void
test_cross_purpose(void)
{
	g_autofree char *t = token_make(&key_a, TOKEN_BOUNCE, "xen-users", 7, 3);
	g_autofree char *forged = g_strdup(t);
	struct token_claim c;

	/* the purpose letter is covered by the MAC: relabel a bounce token as
	 * an unsubscribe token and it no longer verifies */
	forged[0] = TOKEN_UNSUBSCRIBE;
	g_assert_false(token_verify(&key_a, forged, "xen-users", ALL,
	    &c, NULL));
	forged[0] = TOKEN_CONFIRM_UNSUBSCRIBE;
	g_assert_false(token_verify(&key_a, forged, "xen-users", ALL,
	    &c, NULL));
}

static void
test_cross_list_and_key(void)
{
	g_autofree char *t = token_make(&key_a, TOKEN_UNSUBSCRIBE, "xen-users", 7, 0);

	g_assert_false(token_verify(&key_a, t, "xen-devel", ALL,
	    NULL, NULL));
	g_assert_false(token_verify(&key_b, t, "xen-users", ALL,
	    NULL, NULL));
}

static void
test_other_subscriber(void)
{
	g_autofree char *mine = token_make(&key_a, TOKEN_UNSUBSCRIBE, "xen-users", 7, 0);
	g_autofree char *theirs = token_make(&key_a, TOKEN_UNSUBSCRIBE, "xen-users", 8, 0);
	/* splice my MAC onto their id */
	g_autofree char *forged = g_strconcat("ui-a-", strrchr(mine, '-') + 1, NULL);

	g_assert_cmpstr(mine, !=, theirs);
	g_assert_false(token_verify(&key_a, forged, "xen-users", ALL,
	    NULL, NULL));
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
	struct token_claim c;

	g_assert_true(t[0] == TOKEN_TEST_LETTER && t[1] == TOKEN_UNSUBSCRIBE);
	g_assert_cmpstr(t + 1, !=, real);
	g_assert_true(token_verify(&key_a, t, "xen-users", ALL,
	    &c, NULL));
	g_assert_cmpint(c.purpose, ==, TOKEN_TEST_UNSUBSCRIBE);
	g_assert_cmpint(c.purpose, !=, TOKEN_UNSUBSCRIBE);
	g_assert_true(token_is_test(c.purpose));
	g_assert_cmpint(token_purpose_base(c.purpose), ==, TOKEN_UNSUBSCRIBE);
	g_assert_cmpint(c.subscriber_id, ==, 7);
	g_assert_true(token_verify(&key_a, up, "xen-users", ALL,
	    &c, NULL));
	g_assert_cmpint(c.purpose, ==, TOKEN_TEST_UNSUBSCRIBE);
	/* the flag is in the MAC: dropping or adding the 't' fails */
	g_assert_false(token_verify(&key_a, as_real, "xen-users", ALL,
	    &c, NULL));
	g_assert_false(token_verify(&key_a, as_test, "xen-users", ALL,
	    &c, NULL));
	/* a real token is not a test one */
	g_assert_true(token_verify(&key_a, real, "xen-users", ALL,
	    &c, NULL));
	g_assert_false(token_is_test(c.purpose));
	g_assert_true(token_verify(&key_a, b, "xen-users", ALL,
	    &c, NULL));
	g_assert_cmpint(c.purpose, ==, TOKEN_TEST_BOUNCE);
	g_assert_false(token_verify(&key_a, "tt7-a-aaaaaaaaaaaaaaaa",
	    "xen-users", ALL,
	    NULL, NULL));
}

/* a token made for one purpose verifies only where that purpose is
 * taken: for any other set it fails with an error that does not hold the
 * token, and nothing of it (not the subscriber, not the extra id) reaches
 * the caller: the forged-complaint hole of issue 21 */
static void
test_accept_set(void)
{
	static const enum token_purpose all[] = {
		TOKEN_BOUNCE, TOKEN_UNSUBSCRIBE, TOKEN_CONFIRM_SUBSCRIBE,
		TOKEN_CONFIRM_UNSUBSCRIBE, TOKEN_TEST_BOUNCE,
		TOKEN_TEST_UNSUBSCRIBE, TOKEN_TEST | TOKEN_CONFIRM_SUBSCRIBE,
		TOKEN_TEST | TOKEN_CONFIRM_UNSUBSCRIBE, TOKEN_CLICK, TOKEN_OPEN,
		TOKEN_TEST | TOKEN_CLICK, TOKEN_TEST | TOKEN_OPEN,
	};
	guint i, j;

	for (i = 0; i < G_N_ELEMENTS(all); i++) {
		g_autofree char *t = token_make(&key_a, all[i], "xen-users", 7,
		    1700000000);
		guint bit = token_accept_bit(all[i]);

		g_assert_cmpuint(bit, ==, 1u << i);
		for (j = 0; j < G_N_ELEMENTS(all); j++) {
			struct token_claim c = { TOKEN_BOUNCE, 99, 99 };
			g_autoptr(GError) error = NULL;
			gboolean ok = token_verify(&key_a, t, "xen-users",
			    token_accept_bit(all[j]), &c, &error);

			if (i == j) {
				g_assert_true(ok);
				g_assert_cmpint(c.purpose, ==, all[i]);
				g_assert_cmpint(c.subscriber_id, ==, 7);
				g_assert_cmpint(c.extra_id, ==, 1700000000);
				continue;
			}
			g_assert_false(ok);
			g_assert_error(error, HERALD_ERROR, HERALD_ERROR_DATA);
			g_assert_null(strstr(error->message, t));
			g_assert_nonnull(strstr(error->message,
			    token_purpose_name(all[i])));
			g_assert_cmpint(c.purpose, ==, 0);
			g_assert_cmpint(c.subscriber_id, ==, 0);
			g_assert_cmpint(c.extra_id, ==, 0);
		}
		/* every other purpose at once: still nothing */
		{
			struct token_claim c = { TOKEN_BOUNCE, 99, 99 };

			g_assert_false(token_verify(&key_a, t, "xen-users",
			    0xfffu & ~bit, &c, NULL));
			g_assert_cmpint(c.subscriber_id, ==, 0);
			g_assert_cmpint(c.extra_id, ==, 0);
		}
	}
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
	g_test_add_func("/token/accept-set", test_accept_set);
	g_test_add_func("/token/stable", test_stable);
	g_test_add_func("/token/key-file", test_key_file);
	return g_test_run();
}
