/*
 * test-dkim.c - dkim.c on its own: alignment of d= with From, the p= of a
 * published record however it was pasted, zone-file TXT strings of at
 * most 250 octets, keys refused by type and size, and a message signed at
 * an offset of its buffer, verified by dkim_verify_message (herald's own
 * verifier), failing once changed; a failed signature leaves the bytes as
 * they were.
 */
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "herald.h"
#include "config.h"
#include "dkim.h"
#include "dkim_canon.h"

static char *dir;

static void
test_alignment(void)
{
	g_assert_cmpint(dkim_alignment("example.org", "EXAMPLE.org"), ==,
	    DKIM_ALIGN_STRICT);
	g_assert_cmpint(dkim_alignment("example.org", "lists.example.org"), ==,
	    DKIM_ALIGN_RELAXED);
	g_assert_cmpint(dkim_alignment("mail.example.org", "example.org"), ==,
	    DKIM_ALIGN_RELAXED);
	g_assert_cmpint(dkim_alignment("example.org", "badexample.org"), ==,
	    DKIM_ALIGN_NONE);
	g_assert_cmpint(dkim_alignment("a.example.org", "b.example.org"), ==,
	    DKIM_ALIGN_NONE);
	g_assert_cmpint(dkim_alignment("org", "example.org"), ==,
	    DKIM_ALIGN_NONE);
	g_assert_cmpint(dkim_alignment(NULL, "example.org"), ==,
	    DKIM_ALIGN_NONE);
}

static void
test_record_key(void)
{
	g_autofree char *a = dkim_record_key("\"v=DKIM1; k=rsa; \" \"p=MIIB\" "
	    "\"IjAN\"");
	g_autofree char *b = dkim_record_key("( \"v=DKIM1; k=ed25519; p=Zm9v\n"
	    "\tYmFy\" )");
	g_autofree char *c = dkim_record_key("v=DKIM1; k=rsa");

	g_assert_cmpstr(a, ==, "MIIBIjAN");
	g_assert_cmpstr(b, ==, "Zm9vYmFy");
	g_assert_null(c);
}

static void
test_zone_txt(void)
{
	GString *rec = g_string_new("v=DKIM1; k=rsa; p=");
	g_autofree char *z = NULL;
	g_auto(GStrv) parts = NULL;
	GString *joined = g_string_new(NULL);
	int i, n = 0;

	for (i = 0; i < 400; i++)
		g_string_append_c(rec, 'A' + i % 26);
	z = dkim_zone_txt("s._domainkey.example.org.", rec->str);
	g_assert_true(g_str_has_prefix(z, "s._domainkey.example.org. IN TXT ( \""));
	parts = g_strsplit(z, "\"", -1);
	for (i = 1; parts[i] != NULL; i += 2) {
		g_assert_cmpuint(strlen(parts[i]), <=, 250);
		g_string_append(joined, parts[i]);
		n++;
	}
	g_assert_cmpint(n, ==, 2);
	g_assert_cmpstr(joined->str, ==, rec->str);
	g_string_free(rec, TRUE);
	g_string_free(joined, TRUE);
}

static void
test_keys(void)
{
	g_autofree char *rsa = g_build_filename(dir, "k", "rsa.pem", NULL);
	g_autofree char *ed = g_build_filename(dir, "k", "ed.pem", NULL);
	g_autofree char *weak = g_build_filename(dir, "weak.pem", NULL);
	GError *error = NULL;
	struct dkim_key *k;
	GStatBuf st;

	g_assert_true(dkim_keygen(rsa, DKIM_KEY_RSA, 2048, FALSE, &error));
	g_assert_no_error(error);
	g_assert_true(dkim_keygen(ed, DKIM_KEY_ED25519, 0, FALSE, &error));
	g_assert_cmpint(g_stat(rsa, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 0777, ==, 0600);
	/* an existing key is kept */
	g_assert_false(dkim_keygen(rsa, DKIM_KEY_RSA, 2048, FALSE, &error));
	g_assert_error(error, HERALD_ERROR, HERALD_ERROR_CANTCREAT);
	g_clear_error(&error);
	g_assert_false(dkim_keygen(weak, DKIM_KEY_RSA, 512, FALSE, &error));
	g_assert_error(error, HERALD_ERROR, HERALD_ERROR_USAGE);
	g_clear_error(&error);

	k = dkim_key_load(rsa, DKIM_KEY_RSA, &error);
	g_assert_no_error(error);
	g_assert_cmpint(dkim_key_bits(k), ==, 2048);
	g_assert_true(g_str_has_prefix(dkim_key_record(k),
	    "v=DKIM1; k=rsa; p=MIIBIjAN"));
	dkim_key_free(k);
	k = dkim_key_load(ed, DKIM_KEY_ED25519, &error);
	g_assert_no_error(error);
	/* 32 octets of public key: 44 characters of base64 */
	g_assert_cmpuint(strlen(dkim_key_record(k)), ==,
	    strlen("v=DKIM1; k=ed25519; p=") + 44);
	dkim_key_free(k);
	g_assert_null(dkim_key_load(ed, DKIM_KEY_RSA, &error));
	g_assert_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG);
	g_assert_nonnull(strstr(error->message, ed));
	g_clear_error(&error);
	/* a real 768-bit key (keygen refuses to make one) */
	{
		g_autofree char *cmd = g_strdup_printf("openssl genpkey -algorithm "
		    "RSA -pkeyopt rsa_keygen_bits:768 -out '%s' 2>/dev/null", weak);

		if (system(cmd) != 0) {
			g_test_skip("no openssl command");
			return;
		}
	}
	g_assert_null(dkim_key_load(weak, DKIM_KEY_RSA, &error));
	g_assert_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG);
	g_assert_nonnull(strstr(error->message, "768 bits is too weak"));
	g_clear_error(&error);
}

struct lookup {
	const char *rsa, *ed;
};

static const char *
lookup(const char *selector, const char *domain, gpointer data)
{
	struct lookup *l = data;

	if (strcmp(domain, "example.org") != 0)
		return NULL;
	return strcmp(selector, "s1") == 0 ? l->rsa :
	    strcmp(selector, "s2") == 0 ? l->ed : NULL;
}

static void
test_sign_verify(void)
{
	g_autofree char *rsa = g_build_filename(dir, "k", "rsa.pem", NULL);
	g_autofree char *ed = g_build_filename(dir, "k", "ed.pem", NULL);
	struct list_dkim cfg = { (char *)"example.org", (char *)"s1", rsa,
	    (char *)"s2", ed, 0 };
	const char *text = "From: A <a@example.org>\r\nTo: b@example.net\r\n"
	    "Subject: hello\r\nList-Unsubscribe: <mailto:u@example.org>\r\n"
	    "\r\nbody line\r\n";
	GString *buf = g_string_new("PREFIX");
	struct dkim_signer *s;
	struct lookup l;
	GError *error = NULL;
	g_autoptr(GString) report = g_string_new(NULL);
	const char *msg;

	s = dkim_signer_new(&cfg, &error);
	g_assert_no_error(error);
	l.rsa = dkim_key_record(dkim_signer_key(s, FALSE));
	l.ed = dkim_key_record(dkim_signer_key(s, TRUE));
	g_string_append(buf, text);
	g_assert_true(dkim_signer_sign(s, buf, 6, &error));
	g_assert_no_error(error);
	g_assert_true(g_str_has_prefix(buf->str, "PREFIXDKIM-Signature: v=1; "
	    "a=rsa-sha256; c=relaxed/relaxed; d=example.org; s=s1;"));
	g_assert_true(g_str_has_suffix(buf->str, text));
	msg = buf->str + 6;
	g_assert_true(dkim_verify_message(msg, strlen(msg), lookup, &l, report,
	    &error));
	g_assert_no_error(error);
	g_assert_nonnull(strstr(report->str, "rsa-sha256 s=s1 d=example.org: pass"));
	g_assert_nonnull(strstr(report->str,
	    "ed25519-sha256 s=s2 d=example.org: pass"));
	/* one changed byte in the body: both fail */
	buf->str[buf->len - 3] = 'X';
	g_assert_false(dkim_verify_message(msg, strlen(msg), lookup, &l, NULL,
	    &error));
	g_assert_error(error, HERALD_ERROR, HERALD_ERROR_DATA);
	g_clear_error(&error);
	/* no key published: no pass */
	l.rsa = l.ed = NULL;
	g_assert_false(dkim_verify_message(msg, strlen(msg), lookup, &l, NULL,
	    &error));
	g_clear_error(&error);
	dkim_signer_free(s);
	g_string_free(buf, TRUE);
}

/* sink - canonical bytes onto a GString */
static void
sink(gpointer data, const void *buf, gsize len)
{
	g_string_append_len(data, buf, len);
}

/* canon_body - BODY canonicalized, fed in chunks of STEP bytes after a
 * first one of FIRST bytes (caller frees) */
static char *
canon_body(const char *body, gsize first, gsize step)
{
	GString *out = g_string_new(NULL);
	struct dkim_canon_body b;
	gsize len = strlen(body), at = MIN(first, len);

	dkim_canon_body_init(&b, sink, out);
	dkim_canon_body_update(&b, body, at);
	while (at < len) {
		gsize n = MIN(step, len - at);

		dkim_canon_body_update(&b, body + at, n);
		at += n;
	}
	dkim_canon_body_final(&b);
	return g_string_free(out, FALSE);
}

/* RFC 6376 3.4.5's example, and the edges of the body rules */
static void
test_canon_rfc(void)
{
	static const struct { const char *in, *out; } bodies[] = {
		{ " C \r\nD \t E\r\n\r\n\r\n", " C\r\nD E\r\n" },
		{ "", "" },
		{ "\r\n\r\n", "" },
		{ " \t \r\n\t\r\n", "" },
		{ "x", "x\r\n" },
		{ "a\r\n \r\n\r\nb  \r\n \r\n", "a\r\n\r\n\r\nb\r\n" },
		{ "a\rb \n c\r\n", "a\rb \n c\r\n" },
		{ "..dot\t\tx\r\n", "..dot x\r\n" },
	};
	g_autoptr(GString) h = g_string_new(NULL);
	guint i;

	for (i = 0; i < G_N_ELEMENTS(bodies); i++) {
		g_autofree char *got = canon_body(bodies[i].in, (gsize)-1, 1);

		g_assert_cmpstr(got, ==, bodies[i].out);
	}
	dkim_canon_header(h, "A: X", 4);
	dkim_canon_header(h, "B : Y\t\r\n\tZ  ", strlen("B : Y\t\r\n\tZ  "));
	g_assert_cmpstr(h->str, ==, "a:X\r\nb:Y Z\r\n");
}

/* the body's bytes are the same however it is cut into chunks */
static void
test_canon_chunks(void)
{
	const char *body = " a  b\t \r\n\r\n \t\r\nc \r\r\n\r\nd\r \r\n"
	    "e f\r\n  \r\n\r\n";
	g_autofree char *whole = canon_body(body, (gsize)-1, 1);
	gsize first, step;

	for (first = 0; first <= strlen(body); first++)
		for (step = 1; step <= 4; step++) {
			g_autofree char *got = canon_body(body, first, step);

			g_assert_cmpstr(got, ==, whole);
		}
	g_assert_cmpstr(whole, ==, " a b\r\n\r\n\r\nc \r\r\n\r\nd\r\r\ne f\r\n");
}

/* reference_body - RFC 6376 3.4.4 the plain way, line by line: a line
 * ends at CRLF only; each WSP run one space, none at a line's end; empty
 * lines at the end dropped; every line kept ends in CRLF */
static char *
reference_body(const char *body)
{
	g_auto(GStrv) lines = g_strsplit(body, "\r\n", -1);
	GString *out = g_string_new(NULL);
	gsize keep = 0, i;

	for (i = 0; lines[i] != NULL; i++) {
		GString *l = g_string_new(NULL);
		const char *p;

		for (p = lines[i]; *p != '\0'; p++)
			if (*p != ' ' && *p != '\t')
				g_string_append_c(l, *p);
			else if (p == lines[i] || (p[-1] != ' ' && p[-1] != '\t'))
				g_string_append_c(l, ' ');	/* a run's first */
		while (l->len > 0 && l->str[l->len - 1] == ' ')
			g_string_truncate(l, l->len - 1);
		g_free(lines[i]);
		lines[i] = g_string_free(l, FALSE);
		if (lines[i][0] != '\0')
			keep = i + 1;
	}
	for (i = 0; i < keep; i++)
		g_string_append_printf(out, "%s\r\n", lines[i]);
	return g_string_free(out, FALSE);
}

/* generated bodies (long runs of text for the sixteen-byte scan, line
 * ends before text, spaces, tabs, empty lines and bytes above 127 at
 * every place), whole and in chunks, against reference_body */
static void
test_canon_reference(void)
{
	static const char *const bits[] = { " ", "  ", "\t", "\r\n", "\r",
	    "\n", "\xc3\xa9", "\x0c", "!", ".", "\r\n\r\n", " \r\n",
	    "\r\n ", "\r\n\t", "a" };
	int round;

	for (round = 0; round < 4000; round++) {
		GString *body = g_string_new(NULL);
		g_autofree char *want = NULL, *whole = NULL, *chunked = NULL;
		int n = g_test_rand_int_range(0, 40);

		while (n-- > 0) {
			if (g_test_rand_int_range(0, 3) == 0) {
				int run = g_test_rand_int_range(1, 48);

				while (run-- > 0)
					g_string_append_c(body, "xyz"[run % 3]);
			} else
				g_string_append(body, bits[g_test_rand_int_range(0,
				    G_N_ELEMENTS(bits))]);
		}
		want = reference_body(body->str);
		whole = canon_body(body->str, (gsize)-1, 1);
		chunked = canon_body(body->str, g_test_rand_int_range(0, 40),
		    g_test_rand_int_range(1, 40));
		if (g_strcmp0(whole, want) != 0 ||
		    g_strcmp0(chunked, want) != 0) {
			g_autofree char *in = g_strescape(body->str, NULL);

			g_test_message("body \"%s\"", in);
		}
		g_assert_cmpstr(whole, ==, want);
		g_assert_cmpstr(chunked, ==, want);
		g_string_free(body, TRUE);
	}
}

static void
test_sign_failure(void)
{
	g_autofree char *rsa = g_build_filename(dir, "k", "rsa.pem", NULL);
	struct list_dkim cfg = { (char *)"example.org", (char *)"s1", rsa,
	    NULL, NULL, 0 };
	GString *buf = g_string_new("From: a@example.org\r\n\r\nx\r\n");
	g_autofree char *before = g_strdup(buf->str);
	struct dkim_signer *s;
	GError *error = NULL;

	g_setenv("HERALD_DKIM_FAIL_AFTER", "1", TRUE);
	s = dkim_signer_new(&cfg, &error);
	g_unsetenv("HERALD_DKIM_FAIL_AFTER");
	g_assert_no_error(error);
	g_assert_true(dkim_signer_sign(s, buf, 0, &error));
	g_string_assign(buf, before);
	g_assert_false(dkim_signer_sign(s, buf, 0, &error));
	g_assert_error(error, HERALD_ERROR, HERALD_ERROR_TEMP);
	g_clear_error(&error);
	g_assert_cmpstr(buf->str, ==, before);
	dkim_signer_free(s);
	g_string_free(buf, TRUE);
}

int
main(int argc, char **argv)
{
	int rc;

	g_test_init(&argc, &argv, NULL);
	dir = g_dir_make_tmp("herald-dkim-XXXXXX", NULL);
	g_test_add_func("/dkim/alignment", test_alignment);
	g_test_add_func("/dkim/record-key", test_record_key);
	g_test_add_func("/dkim/zone-txt", test_zone_txt);
	g_test_add_func("/dkim/keys", test_keys);
	g_test_add_func("/dkim/sign-verify", test_sign_verify);
	g_test_add_func("/dkim/sign-failure", test_sign_failure);
	g_test_add_func("/dkim/canon-rfc", test_canon_rfc);
	g_test_add_func("/dkim/canon-chunks", test_canon_chunks);
	g_test_add_func("/dkim/canon-reference", test_canon_reference);
	rc = g_test_run();
	{
		g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);

		if (system(cmd) != 0)
			rc = 1;
	}
	g_free(dir);
	return rc;
}
