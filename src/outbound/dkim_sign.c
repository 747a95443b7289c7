/*
 * dkim_sign.c - herald's DKIM signer and verifier (RFC 6376, with
 * ed25519-sha256 from RFC 8463) over OpenSSL's libcrypto: relaxed/relaxed
 * only, the whole body (no l=).
 *
 * Signing one message: the header fields are located (no copy), the body
 * goes once through the relaxed canonicalizer (dkim_canon.c) into a
 * SHA-256 digest, giving bh=. h= names the fields of DKIM_SIGN_HEADERS
 * the message has, in their order, then every DKIM_OVERSIGN_HEADERS name
 * once more (present or not, as libopendkim did: none of those can be
 * added afterwards). The header hash runs over the relaxed form of the
 * fields h= selects (each name taking the last instance not yet taken;
 * a name with none left adds nothing) and then the DKIM-Signature field
 * itself with b= empty and no final CRLF. RSA signs that SHA-256 with
 * PKCS#1 v1.5 (EVP_PKEY_sign over the digest, no second hash); Ed25519
 * signs the 32 bytes of the digest (RFC 8463 3). Both signatures of a
 * message share the body hash and the canonical header fields.
 *
 * Threads: a signer is read-only once made; every per-message state
 * (digest contexts, buffers) lives on the caller's stack or is made per
 * call, and OpenSSL 3 allows one EVP_PKEY in many threads at once.
 *
 * Must stay true: a failure leaves the message as it was and is TEMP (the
 * delivery waits); the verifier accepts nothing it has not checked: a
 * signature passes only when its body hash and its signature both verify
 * with the key the lookup gave, and it fails on anything it does not
 * understand (another canonicalization, l=, an unknown algorithm).
 */
#include <stdlib.h>
#include <string.h>

#include "herald.h"
#include "config.h"
#include "dkim.h"
#include "dkim_canon.h"
#include "dkim_crypto.h"

#define DKIM_FOLD 76		/* signature header lines are folded near this */

struct dkim_signer {
	char *domain;
	char *selector[2];	/* RSA, ed25519 (or NULL) */
	struct dkim_key *key[2];
	gint fail_after;	/* HERALD_DKIM_FAIL_AFTER: tests only, -1 off */
	gint signed_count;	/* atomic */
};

/* dkim_signer_new - the keys of one list's dkim { } */
struct dkim_signer *
dkim_signer_new(const struct list_dkim *cfg, GError **error)
{
	struct dkim_signer *s;
	const char *fail;

	if (!dkim_crypto_open(error))
		return NULL;
	s = g_new0(struct dkim_signer, 1);
	s->domain = g_strdup(cfg->domain);
	s->selector[0] = g_strdup(cfg->selector);
	s->fail_after = -1;
	if ((fail = g_getenv("HERALD_DKIM_FAIL_AFTER")) != NULL && *fail != '\0')
		s->fail_after = atoi(fail);
	if ((s->key[0] = dkim_key_load(cfg->key_file, DKIM_KEY_RSA,
	    error)) == NULL)
		goto fail;
	if (cfg->ed25519_selector != NULL) {
		s->selector[1] = g_strdup(cfg->ed25519_selector);
		if ((s->key[1] = dkim_key_load(cfg->ed25519_key_file,
		    DKIM_KEY_ED25519, error)) == NULL)
			goto fail;
	}
	return s;
fail:
	dkim_signer_free(s);
	return NULL;
}

/* dkim_signer_free - free S and its keys */
void
dkim_signer_free(struct dkim_signer *s)
{
	int i;

	if (s == NULL)
		return;
	for (i = 0; i < 2; i++) {
		dkim_key_free(s->key[i]);
		g_free(s->selector[i]);
	}
	g_free(s->domain);
	g_free(s);
}

/* dkim_signer_key - S's RSA or Ed25519 key (NULL when none) */
const struct dkim_key *
dkim_signer_key(const struct dkim_signer *s, gboolean ed25519)
{
	return s->key[ed25519 ? 1 : 0];
}

/* dkim_md_sink - canonical body bytes into a digest */
static void
dkim_md_sink(gpointer data, const void *buf, gsize len)
{
	EVP_DigestUpdate((EVP_MD_CTX *)data, buf, len);
}

/* dkim_body_hash - SHA-256 of the relaxed body BODY[0..LEN) into OUT (32
 * bytes); FALSE if the digest fails */
static gboolean
dkim_body_hash(const char *body, gsize len, guchar out[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	struct dkim_canon_body b;
	unsigned int n = 0;
	gboolean ok;

	if (md == NULL || EVP_DigestInit_ex(md, dkim_crypto.sha256, NULL) != 1) {
		EVP_MD_CTX_free(md);
		return FALSE;
	}
	dkim_canon_body_init(&b, dkim_md_sink, md);
	dkim_canon_body_update(&b, body, len);
	dkim_canon_body_final(&b);
	ok = EVP_DigestFinal_ex(md, out, &n) == 1 && n == 32;
	EVP_MD_CTX_free(md);
	return ok;
}

/* dkim_sha256 - SHA-256 of A[0..ALEN) then B[0..BLEN) into OUT */
static gboolean
dkim_sha256(const void *a, gsize alen, const void *b, gsize blen,
    guchar out[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int n = 0;
	gboolean ok;

	ok = md != NULL && EVP_DigestInit_ex(md, dkim_crypto.sha256, NULL) == 1 &&
	    EVP_DigestUpdate(md, a, alen) == 1 &&
	    EVP_DigestUpdate(md, b, blen) == 1 &&
	    EVP_DigestFinal_ex(md, out, &n) == 1 && n == 32;
	EVP_MD_CTX_free(md);
	return ok;
}

/* dkim_select - the relaxed form of the fields the names of H select, in
 * H's order, onto OUT: each name takes the last instance of FIELDS not
 * taken yet (RFC 6376 5.4.2); SKIP (may be NULL) is never taken */
static void
dkim_select(GString *out, const GArray *fields, char *const *h,
    const struct dkim_field *skip)
{
	g_autofree gboolean *used = g_new0(gboolean, fields->len + 1);
	guint i;

	for (; *h != NULL; h++)
		for (i = fields->len; i-- > 0; ) {
			const struct dkim_field *f = &g_array_index(fields,
			    struct dkim_field, i);

			if (used[i] || f == skip || !dkim_canon_field_is(f, *h))
				continue;
			used[i] = TRUE;
			dkim_canon_header(out, f->start, f->len);
			break;
		}
}

/* dkim_h_names - what h= names for a message with FIELDS (NULL-ended,
 * names borrowed from the static lists) */
static char **
dkim_h_names(const GArray *fields)
{
	static const char *const sign[] = { DKIM_SIGN_HEADERS };
	static const char *const over[] = { DKIM_OVERSIGN_HEADERS };
	GPtrArray *h = g_ptr_array_new();
	guint i, j;

	for (i = 0; i < fields->len; i++) {
		const struct dkim_field *f = &g_array_index(fields,
		    struct dkim_field, i);

		for (j = 0; j < G_N_ELEMENTS(sign); j++)
			if (dkim_canon_field_is(f, sign[j])) {
				g_ptr_array_add(h, (char *)sign[j]);
				break;
			}
	}
	for (j = 0; j < G_N_ELEMENTS(over); j++)
		g_ptr_array_add(h, (char *)over[j]);
	g_ptr_array_add(h, NULL);
	return (char **)g_ptr_array_free(h, FALSE);
}

/* dkim_fold_list - append "TAG=" and the ITEMS joined by SEP, folded
 * before an item that would pass DKIM_FOLD (COL: the current column) */
static void
dkim_fold_list(GString *out, gsize *col, char *const *items, const char *sep)
{
	guint i;

	for (i = 0; items[i] != NULL; i++) {
		gsize w = strlen(items[i]) + 1;

		if (i > 0 && *col + w > DKIM_FOLD) {
			g_string_append(out, "\r\n\t ");
			*col = 9;
		}
		g_string_append(out, items[i]);
		if (items[i + 1] != NULL)
			g_string_append(out, sep);
		*col += w;
	}
}

/* dkim_sig_head - the DKIM-Signature field up to and including "b=" */
static void
dkim_sig_head(GString *out, const struct dkim_signer *s, int i,
    const char *bh, char *const *h)
{
	gsize at = out->len, col;

	g_string_append_printf(out, "DKIM-Signature: v=1; a=%s; "
	    "c=relaxed/relaxed; d=%s;", s->key[i]->type == DKIM_KEY_RSA ?
	    "rsa-sha256" : "ed25519-sha256", s->domain);
	col = out->len - at;
	if (col + strlen(s->selector[i]) + 4 > DKIM_FOLD)
		g_string_append(out, "\r\n\t");
	else
		g_string_append_c(out, ' ');
	g_string_append_printf(out, "s=%s; t=%" G_GINT64_FORMAT ";\r\n"
	    "\tbh=%s;\r\n\th=", s->selector[i], herald_now(), bh);
	col = 10;
	dkim_fold_list(out, &col, h, ":");
	g_string_append(out, ";\r\n\tb=");
}

/* dkim_sign_digest - KEY's signature of the SHA-256 digest HH: RSA
 * PKCS#1 v1.5 with SHA-256's DigestInfo, or Ed25519 over the 32 bytes;
 * base64 (caller frees), NULL on failure */
static char *
dkim_sign_digest(const struct dkim_key *key, const guchar hh[32])
{
	guchar sig[1024];
	size_t n = sizeof sig;
	gboolean ok = FALSE;

	if ((gsize)EVP_PKEY_get_size(key->pkey) > sizeof sig)
		return NULL;
	if (key->type == DKIM_KEY_RSA) {
		/* the key's prepared context, copied: threads share the
		 * original, each signs with its own copy */
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_dup(key->sign);

		ok = ctx != NULL && EVP_PKEY_sign(ctx, sig, &n, hh, 32) == 1;
		EVP_PKEY_CTX_free(ctx);
	} else {
		EVP_MD_CTX *md = EVP_MD_CTX_new();

		ok = md != NULL && EVP_DigestSignInit(md, NULL, NULL, NULL,
		    key->pkey) == 1 && EVP_DigestSign(md, sig, &n, hh, 32) == 1;
		EVP_MD_CTX_free(md);
	}
	return ok ? g_base64_encode(sig, n) : NULL;
}

/* dkim_append_b64 - B64 after "b=", folded into lines of DKIM_FOLD, and
 * the field's CRLF */
static void
dkim_append_b64(GString *out, const char *b64)
{
	gsize n = strlen(b64), i, w = DKIM_FOLD - 10;

	g_string_append_len(out, b64, MIN(n, w));
	for (i = w; i < n; i += w) {
		g_string_append(out, "\r\n\t ");
		g_string_append_len(out, b64 + i, MIN(n - i, w));
	}
	g_string_append(out, "\r\n");
}

/* dkim_sign_one - one DKIM-Signature (key I of S) onto SIGS, given the
 * canonical selected fields HDRS; FALSE with a TEMP error if it fails */
static gboolean
dkim_sign_one(const struct dkim_signer *s, int i, const char *bh,
    char *const *h, const GString *hdrs, GString *sigs, GError **error)
{
	gsize at = sigs->len;
	g_autoptr(GString) self = g_string_new(NULL);
	g_autofree char *b = NULL;
	guchar hh[32];

	dkim_sig_head(sigs, s, i, bh, h);
	dkim_canon_header(self, sigs->str + at, sigs->len - at);
	g_string_truncate(self, self->len - 2);	/* no CRLF after b= */
	ERR_clear_error();
	if (!dkim_sha256(hdrs->str, hdrs->len, self->str, self->len, hh) ||
	    (b = dkim_sign_digest(s->key[i], hh)) == NULL) {
		g_autofree char *why = dkim_crypto_error();

		g_string_truncate(sigs, at);
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_TEMP,
		    "DKIM signing (%s, s=%s) failed: %s",
		    dkim_key_type_name(s->key[i]->type), s->selector[i], why);
		return FALSE;
	}
	dkim_append_b64(sigs, b);
	return TRUE;
}

/* dkim_sign_all - the signatures of S over the message M[0..LEN) onto
 * SIGS */
static gboolean
dkim_sign_all(const struct dkim_signer *s, const char *m, gsize len,
    GString *sigs, GError **error)
{
	g_autoptr(GArray) fields = g_array_new(FALSE, FALSE,
	    sizeof(struct dkim_field));
	g_autoptr(GString) hdrs = g_string_sized_new(2048);
	g_autofree char **h = NULL;
	g_autofree char *bh = NULL;
	gsize body = dkim_canon_fields(m, len, fields);
	guchar hash[32];
	int i;

	if (!dkim_body_hash(m + body, len - body, hash)) {
		g_autofree char *why = dkim_crypto_error();

		g_set_error(error, HERALD_ERROR, HERALD_ERROR_TEMP,
		    "DKIM signing: the body hash failed: %s", why);
		return FALSE;
	}
	bh = g_base64_encode(hash, sizeof hash);
	h = dkim_h_names(fields);
	dkim_select(hdrs, fields, h, NULL);
	for (i = 0; i < 2; i++)
		if (s->key[i] != NULL &&
		    !dkim_sign_one(s, i, bh, h, hdrs, sigs, error))
			return FALSE;
	return TRUE;
}

/* dkim_signer_sign - every signature of S over MSG[START..], inserted */
gboolean
dkim_signer_sign(const struct dkim_signer *s, GString *msg, gsize start,
    GError **error)
{
	struct dkim_signer *w = (struct dkim_signer *)s;	/* the counter */
	g_autoptr(GString) sigs = NULL;

	if (s->fail_after >= 0 &&
	    g_atomic_int_add(&w->signed_count, 1) >= s->fail_after) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_TEMP,
		    "DKIM signing failed (HERALD_DKIM_FAIL_AFTER=%d)",
		    s->fail_after);
		return FALSE;
	}
	sigs = g_string_sized_new(1536);
	if (!dkim_sign_all(s, msg->str + start, msg->len - start, sigs, error))
		return FALSE;
	g_string_insert_len(msg, start, sigs->str, sigs->len);
	return TRUE;
}

/* dkim_gstring_sink - canonical body bytes onto a GString */
static void
dkim_gstring_sink(gpointer data, const void *buf, gsize len)
{
	g_string_append_len((GString *)data, buf, len);
}

/* dkim_canonical - see dkim.h */
char *
dkim_canonical(const char *msg, gsize len, GString *headers, GString *body)
{
	g_autoptr(GArray) fields = g_array_new(FALSE, FALSE,
	    sizeof(struct dkim_field));
	g_autofree char **h = NULL;
	struct dkim_canon_body b;
	gsize at = dkim_canon_fields(msg, len, fields);

	dkim_canon_body_init(&b, dkim_gstring_sink, body);
	dkim_canon_body_update(&b, msg + at, len - at);
	dkim_canon_body_final(&b);
	h = dkim_h_names(fields);
	dkim_select(headers, fields, h, NULL);
	return g_strjoinv(":", h);
}

/* ------------------------------------------------------------------ */
/* the verifier */

/* one DKIM-Signature as read */
struct dkim_sig {
	GHashTable *tags;	/* name -> value, whitespace taken out */
	const struct dkim_field *field;
};

/* dkim_tags - the tag=value list of a field's value (after the colon),
 * whitespace taken out of names and values; NULL if malformed */
static GHashTable *
dkim_tags(const char *value, gsize len)
{
	GHashTable *t = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
	    g_free);
	g_autofree char *v = g_strndup(value, len);
	g_auto(GStrv) parts = g_strsplit(v, ";", -1);
	guint i;

	for (i = 0; parts[i] != NULL; i++) {
		GString *flat = g_string_new(NULL);
		const char *p;
		char *eq;

		for (p = parts[i]; *p != '\0'; p++)
			if (!g_ascii_isspace(*p))
				g_string_append_c(flat, *p);
		if (flat->len == 0) {
			g_string_free(flat, TRUE);
			continue;
		}
		eq = strchr(flat->str, '=');
		if (eq == NULL || eq == flat->str ||
		    g_hash_table_contains(t, flat->str)) {
			g_string_free(flat, TRUE);
			g_hash_table_unref(t);
			return NULL;
		}
		*eq = '\0';
		g_hash_table_insert(t, g_strdup(flat->str), g_strdup(eq + 1));
		g_string_free(flat, TRUE);
	}
	return t;
}

/* dkim_self_canon - the relaxed form of the signature field F with the
 * value of b= taken out and no final CRLF, onto OUT */
static void
dkim_self_canon(GString *out, const struct dkim_field *f)
{
	g_autoptr(GString) c = g_string_new(NULL);
	const char *p, *end;
	gsize i;

	dkim_canon_header(c, f->start, f->len);
	g_string_truncate(c, c->len - 2);
	/* a tag named b (not bh): after the colon or a ';', maybe a space */
	for (i = strlen("dkim-signature:"); i < c->len; i++) {
		p = c->str + i;
		if (*p == ' ')
			continue;
		if (p[0] == 'b' && (p[1] == '=' || (p[1] == ' ' && p[2] == '='))) {
			p = strchr(p, '=') + 1;
			end = strchr(p, ';');
			if (end == NULL)
				end = c->str + c->len;
			g_string_append_len(out, c->str, p - c->str);
			g_string_append(out, end);
			return;
		}
		p = strchr(p, ';');
		if (p == NULL)
			break;
		i = (gsize)(p - c->str);
	}
	g_string_append_len(out, c->str, c->len);
}

/* dkim_public_key - the key of a TXT record REC for algorithm ED25519 or
 * RSA; NULL with why in *WHY */
static EVP_PKEY *
dkim_public_key(const char *rec, gboolean ed25519, const char **why)
{
	g_autoptr(GHashTable) t = dkim_tags(rec, strlen(rec));
	const char *k, *p;
	g_autofree guchar *der = NULL;
	gsize n = 0;
	const guchar *q;
	EVP_PKEY *pk;

	if (t == NULL || (p = g_hash_table_lookup(t, "p")) == NULL ||
	    *p == '\0') {
		*why = "no key (p=) in the record";
		return NULL;
	}
	k = g_hash_table_lookup(t, "k");
	if (g_strcmp0(k != NULL ? k : "rsa", ed25519 ? "ed25519" : "rsa") != 0) {
		*why = "the record's k= is not the signature's algorithm";
		return NULL;
	}
	der = g_base64_decode(p, &n);
	q = der;
	if (ed25519 && n != 32) {
		*why = "an ed25519 key (p=) is 32 bytes";
		return NULL;
	}
	if (ed25519)
		return EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, der,
		    n);
	pk = d2i_PUBKEY(NULL, &q, (long)n);
	if (pk == NULL || EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA) {
		EVP_PKEY_free(pk);
		*why = "p= is not an RSA public key";
		return NULL;
	}
	return pk;
}

/* dkim_check_digest - signature SIG (base64) of the digest HH by PK */
static gboolean
dkim_check_digest(EVP_PKEY *pk, gboolean ed25519, const char *sig,
    const guchar hh[32])
{
	g_autofree guchar *raw = NULL;
	gsize n = 0;
	gboolean ok;

	raw = g_base64_decode(sig, &n);
	if (n == 0)
		return FALSE;
	if (!ed25519) {
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pk, NULL);

		ok = ctx != NULL && EVP_PKEY_verify_init(ctx) == 1 &&
		    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
		    EVP_PKEY_CTX_set_signature_md(ctx, dkim_crypto.sha256) == 1 &&
		    EVP_PKEY_verify(ctx, raw, n, hh, 32) == 1;
		EVP_PKEY_CTX_free(ctx);
	} else {
		EVP_MD_CTX *md = EVP_MD_CTX_new();

		ok = md != NULL && EVP_DigestVerifyInit(md, NULL, NULL, NULL,
		    pk) == 1 && EVP_DigestVerify(md, raw, n, hh, 32) == 1;
		EVP_MD_CTX_free(md);
	}
	ERR_clear_error();
	return ok;
}

/* dkim_verify_tags - the tags a signature must have, as herald signs;
 * NULL when fit, else why not */
static const char *
dkim_verify_tags(GHashTable *t, gboolean *ed25519)
{
	const char *a = g_hash_table_lookup(t, "a");
	static const char *const need[] = { "v", "a", "b", "bh", "d", "h",
	    "s" };
	guint i;

	for (i = 0; i < G_N_ELEMENTS(need); i++)
		if (g_hash_table_lookup(t, need[i]) == NULL)
			return "a required tag is missing";
	if (strcmp(g_hash_table_lookup(t, "v"), "1") != 0)
		return "v= is not 1";
	if (g_strcmp0(g_hash_table_lookup(t, "c"), "relaxed/relaxed") != 0)
		return "only c=relaxed/relaxed is verified here";
	if (g_hash_table_lookup(t, "l") != NULL)
		return "l= (a partial body) is refused";
	if (strcmp(a, "rsa-sha256") != 0 && strcmp(a, "ed25519-sha256") != 0)
		return "unknown algorithm";
	*ed25519 = strcmp(a, "ed25519-sha256") == 0;
	return NULL;
}

/* dkim_verify_one - signature field F of the message (FIELDS, BODY);
 * NULL when it passes, else why not */
static const char *
dkim_verify_one(GHashTable *t, const struct dkim_field *f,
    const GArray *fields, const char *body, gsize blen, dkim_lookup_fn lookup,
    gpointer data)
{
	g_autoptr(GString) hdrs = g_string_new(NULL);
	g_autoptr(GString) self = g_string_new(NULL);
	g_auto(GStrv) h = NULL;
	g_autofree char *bh = NULL;
	const char *why = NULL, *rec;
	gboolean ed25519 = FALSE, ok;
	guchar hash[32];
	EVP_PKEY *pk;

	if ((why = dkim_verify_tags(t, &ed25519)) != NULL)
		return why;
	if (!dkim_body_hash(body, blen, hash))
		return "the body hash failed";
	bh = g_base64_encode(hash, sizeof hash);
	if (strcmp(bh, g_hash_table_lookup(t, "bh")) != 0)
		return "body hash mismatch";
	rec = lookup(g_hash_table_lookup(t, "s"), g_hash_table_lookup(t, "d"),
	    data);
	if (rec == NULL)
		return "no key record";
	if ((pk = dkim_public_key(rec, ed25519, &why)) == NULL)
		return why != NULL ? why : "the key record is unusable";
	h = g_strsplit(g_hash_table_lookup(t, "h"), ":", -1);
	dkim_select(hdrs, fields, h, f);
	dkim_self_canon(self, f);
	ok = dkim_sha256(hdrs->str, hdrs->len, self->str, self->len, hash) &&
	    dkim_check_digest(pk, ed25519, g_hash_table_lookup(t, "b"), hash);
	EVP_PKEY_free(pk);
	return ok ? NULL : "signature mismatch";
}

/* dkim_verify_message - every signature of MSG checked with LOOKUP's keys */
gboolean
dkim_verify_message(const char *msg, gsize len, dkim_lookup_fn lookup,
    gpointer data, GString *report, GError **error)
{
	g_autoptr(GArray) fields = g_array_new(FALSE, FALSE,
	    sizeof(struct dkim_field));
	g_autoptr(GString) why = g_string_new(NULL);
	gsize body;
	guint i, n = 0, bad = 0;

	if (!dkim_crypto_open(error))
		return FALSE;
	body = dkim_canon_fields(msg, len, fields);
	for (i = 0; i < fields->len; i++) {
		const struct dkim_field *f = &g_array_index(fields,
		    struct dkim_field, i);
		const char *colon = memchr(f->start, ':', f->len), *no;
		g_autoptr(GHashTable) t = NULL;
		g_autofree char *line = NULL;

		if (!dkim_canon_field_is(f, "DKIM-Signature"))
			continue;
		n++;
		t = dkim_tags(colon + 1, f->len - (gsize)(colon + 1 - f->start));
		no = t == NULL ? "malformed tag list" : dkim_verify_one(t, f,
		    fields, msg + body, len - body, lookup, data);
		line = g_strdup_printf("%s s=%s d=%s: %s%s%s", t != NULL &&
		    g_hash_table_lookup(t, "a") != NULL ?
		    (char *)g_hash_table_lookup(t, "a") : "other",
		    t != NULL ? (char *)g_hash_table_lookup(t, "s") : "?",
		    t != NULL ? (char *)g_hash_table_lookup(t, "d") : "?",
		    no == NULL ? "pass" : "FAIL", no == NULL ? "" : ": ",
		    no == NULL ? "" : no);
		if (report != NULL)
			g_string_append_printf(report, "%s\n", line);
		if (no != NULL) {
			bad++;
			g_string_append_printf(why, "%s%s", why->len > 0 ? "; " :
			    "", line);
		}
	}
	if (n == 0) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_DATA,
		    "no DKIM signature");
		return FALSE;
	}
	if (bad > 0) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_DATA, "%s",
		    why->str);
		return FALSE;
	}
	return TRUE;
}
