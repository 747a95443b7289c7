/*
 * dkim-canon.c - herald's signer and canonicalization on many messages
 * in one run, for the property test (t0712) that holds them against
 * dkimpy: for every DIR/NAME.eml (CRLF bytes, unsigned) it writes
 *
 *   NAME.signed  the message signed by dkim_signer_sign() (rsa-sha256
 *                with KEY, s=prop, d=example.org; ed25519-sha256 too,
 *                s=prop-ed, when ED25519_KEY is given)
 *   NAME.hdrs    the relaxed header fields h= selects (dkim_canonical)
 *   NAME.body    the relaxed body (dkim_canonical)
 *   NAME.h       the h= value
 *
 * and DIR/dns.txt, the zone lines of the keys' TXT records.
 *
 *   dkim-canon KEY DIR [ED25519_KEY]
 */
#include <stdio.h>
#include <string.h>

#include "herald.h"
#include "config.h"
#include "dkim.h"

/* put - write LEN bytes of DATA to DIR/BASE.EXT; FALSE with a message */
static gboolean
put(const char *dir, const char *base, const char *ext, const char *data,
    gsize len)
{
	g_autofree char *name = g_strdup_printf("%s.%s", base, ext);
	g_autofree char *path = g_build_filename(dir, name, NULL);
	g_autoptr(GError) error = NULL;

	if (!g_file_set_contents(path, data, (gssize)len, &error)) {
		fprintf(stderr, "dkim-canon: %s\n", error->message);
		return FALSE;
	}
	return TRUE;
}

/* one - sign and canonicalize DIR/NAME; FALSE with a message */
static gboolean
one(const struct dkim_signer *s, const char *dir, const char *name)
{
	g_autofree char *path = g_build_filename(dir, name, NULL);
	g_autofree char *base = g_strndup(name, strlen(name) - 4);
	g_autofree char *msg = NULL, *h = NULL;
	g_autoptr(GString) signed_ = NULL;
	g_autoptr(GString) hdrs = g_string_new(NULL);
	g_autoptr(GString) body = g_string_new(NULL);
	g_autoptr(GError) error = NULL;
	gsize len;

	if (!g_file_get_contents(path, &msg, &len, &error)) {
		fprintf(stderr, "dkim-canon: %s\n", error->message);
		return FALSE;
	}
	signed_ = g_string_new_len(msg, (gssize)len);
	if (!dkim_signer_sign(s, signed_, 0, &error)) {
		fprintf(stderr, "dkim-canon: %s: %s\n", path, error->message);
		return FALSE;
	}
	h = dkim_canonical(msg, len, hdrs, body);
	return put(dir, base, "signed", signed_->str, signed_->len) &&
	    put(dir, base, "hdrs", hdrs->str, hdrs->len) &&
	    put(dir, base, "body", body->str, body->len) &&
	    put(dir, base, "h", h, strlen(h));
}

/* dns - the zone lines of S's keys into DIR/dns.txt */
static gboolean
dns(const struct dkim_signer *s, const char *dir)
{
	g_autofree char *rsa = dkim_zone_txt("prop._domainkey.example.org.",
	    dkim_key_record(dkim_signer_key(s, FALSE)));
	g_autofree char *ed = dkim_signer_key(s, TRUE) == NULL ? g_strdup("") :
	    dkim_zone_txt("prop-ed._domainkey.example.org.",
	    dkim_key_record(dkim_signer_key(s, TRUE)));
	g_autofree char *text = g_strdup_printf("%s\n%s\n", rsa, ed);

	return put(dir, "dns", "txt", text, strlen(text));
}

int
main(int argc, char **argv)
{
	struct list_dkim cfg = { 0 };
	struct dkim_signer *s;
	GError *error = NULL;
	GDir *d;
	const char *name;
	int n = 0, rc = EX_OK;

	if (argc < 3) {
		fprintf(stderr, "usage: dkim-canon KEY DIR [ED25519_KEY]\n");
		return EX_USAGE;
	}
	cfg.domain = (char *)"example.org";
	cfg.selector = (char *)"prop";
	cfg.key_file = argv[1];
	if (argc > 3) {
		cfg.ed25519_selector = (char *)"prop-ed";
		cfg.ed25519_key_file = argv[3];
	}
	if ((s = dkim_signer_new(&cfg, &error)) == NULL ||
	    (d = g_dir_open(argv[2], 0, &error)) == NULL) {
		fprintf(stderr, "dkim-canon: %s\n", error->message);
		return EX_CONFIG;
	}
	while ((name = g_dir_read_name(d)) != NULL && rc == EX_OK)
		if (g_str_has_suffix(name, ".eml")) {
			if (!one(s, argv[2], name))
				rc = EX_SOFTWARE;
			n++;
		}
	g_dir_close(d);
	if (rc == EX_OK && !dns(s, argv[2]))
		rc = EX_CANTCREAT;
	dkim_signer_free(s);
	if (rc == EX_OK)
		printf("%d messages signed and canonicalized\n", n);
	return rc;
}
