/*
 * token.c - sign and verify herald's mail tokens (see token.h for the
 * format). The MAC input is "herald-token-1", purpose, list, subscriber and
 * extra id, each NUL-separated, so no two different tuples share an input.
 * The purpose field is one letter, or 't' and the letter for a test token:
 * real tokens made before test tokens existed still verify.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "herald.h"
#include "token.h"

static const char token_alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

/* token_b32_number - append N in base32, most significant digit first */
static void
token_b32_number(GString *out, guint64 n)
{
	char buf[16];
	int i = 0;

	do {
		buf[i++] = token_alphabet[n & 31];
		n >>= 5;
	} while (n != 0);
	while (i > 0)
		g_string_append_c(out, buf[--i]);
}

/* token_b32_value - the value of one base32 digit, -1 if none */
static int
token_b32_value(char c)
{
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

/* The HMAC keyed with the last key this thread used: keying hashes two
 * blocks, a third of a token's cost, so each token starts from a copy.
 * Freed when the thread ends. */
struct token_keyed {
	struct token_key key;
	GHmac *hmac;
};

/* token_keyed_free - at thread exit */
static void
token_keyed_free(gpointer p)
{
	struct token_keyed *k = p;

	g_hmac_unref(k->hmac);
	g_free(k);
}

static GPrivate token_keyed_key = G_PRIVATE_INIT(token_keyed_free);

/* token_hmac - a fresh HMAC-SHA256 keyed with KEY (caller unrefs) */
static GHmac *
token_hmac(const struct token_key *key)
{
	struct token_keyed *k = g_private_get(&token_keyed_key);

	if (k == NULL) {
		k = g_new0(struct token_keyed, 1);
		g_private_set(&token_keyed_key, k);
	}
	if (k->hmac == NULL || memcmp(k->key.bytes, key->bytes,
	    sizeof(key->bytes)) != 0) {
		if (k->hmac != NULL)
			g_hmac_unref(k->hmac);
		k->key = *key;
		k->hmac = g_hmac_new(G_CHECKSUM_SHA256, key->bytes,
		    sizeof(key->bytes));
	}
	return g_hmac_copy(k->hmac);
}

/* token_is_test - a test copy's purpose */
gboolean
token_is_test(enum token_purpose purpose)
{
	return (purpose & TOKEN_TEST) != 0;
}

/* token_purpose_base - without the test flag */
enum token_purpose
token_purpose_base(enum token_purpose purpose)
{
	return (enum token_purpose)(purpose & ~TOKEN_TEST);
}

/* token_mac - TOKEN_MAC_CHARS of base32 over the tuple */
static void
token_mac(const struct token_key *key, enum token_purpose purpose,
    const char *list,
    gint64 subscriber_id, gint64 extra_id, char out[TOKEN_MAC_CHARS + 1])
{
	g_autoptr(GHmac) hmac = token_hmac(key);
	g_autoptr(GString) tuple = g_string_new("herald-token-1");
	guint8 digest[32];
	gsize dlen = sizeof(digest);
	guint bits = 0, acc = 0, i, o = 0;

	g_string_append_c(tuple, '\0');
	if (token_is_test(purpose))
		g_string_append_c(tuple, TOKEN_TEST_LETTER);
	g_string_append_c(tuple, (char)token_purpose_base(purpose));
	g_string_append_c(tuple, '\0');
	g_string_append(tuple, list);
	g_string_append_c(tuple, '\0');
	g_string_append_printf(tuple, "%" G_GINT64_FORMAT, subscriber_id);
	g_string_append_c(tuple, '\0');
	g_string_append_printf(tuple, "%" G_GINT64_FORMAT, extra_id);
	g_hmac_update(hmac, (const guchar *)tuple->str, tuple->len);
	g_hmac_get_digest(hmac, digest, &dlen);
	for (i = 0; o < TOKEN_MAC_CHARS && i < dlen; i++) {
		acc = (acc << 8) | digest[i];
		bits += 8;
		while (bits >= 5 && o < TOKEN_MAC_CHARS) {
			out[o++] = token_alphabet[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	out[o] = '\0';
}

/* token_message_mac - see token.h; "message-id" stands in the list's
 * place, so no token of a list collides with it */
void
token_message_mac(const struct token_key *key, gint64 delivery,
    guint32 nonce, char out[TOKEN_MAC_CHARS + 1])
{
	token_mac(key, (enum token_purpose)'m', "message-id", delivery,
	    (gint64)nonce, out);
}

/* token_make - the token for a tuple */
char *
token_make(const struct token_key *key, enum token_purpose purpose,
    const char *list, gint64 subscriber_id, gint64 extra_id)
{
	GString *s = g_string_sized_new(40);
	char mac[TOKEN_MAC_CHARS + 1];

	g_return_val_if_fail(subscriber_id >= 0 && extra_id >= 0, NULL);
	token_mac(key, purpose, list, subscriber_id, extra_id, mac);
	if (token_is_test(purpose))
		g_string_append_c(s, TOKEN_TEST_LETTER);
	g_string_append_c(s, (char)token_purpose_base(purpose));
	token_b32_number(s, (guint64)subscriber_id);
	g_string_append_c(s, '-');
	token_b32_number(s, (guint64)extra_id);
	g_string_append_c(s, '-');
	g_string_append(s, mac);
	return g_string_free(s, FALSE);
}

/* token_parse_number - base32 digits up to STOP; FALSE if none or too long */
static gboolean
token_parse_number(const char **p, char stop, gint64 *out)
{
	guint64 n = 0;
	int digits = 0, v;

	while (**p != stop) {
		if ((v = token_b32_value(**p)) < 0 || ++digits > 12)
			return FALSE;
		n = (n << 5) | (guint64)v;
		(*p)++;
	}
	if (digits == 0)
		return FALSE;
	(*p)++;
	*out = (gint64)n;
	return TRUE;
}

/* token_accept_bit - see token.h */
guint
token_accept_bit(enum token_purpose purpose)
{
	guint test = token_is_test(purpose) ? 4 : 0;

	switch (token_purpose_base(purpose)) {
	case TOKEN_BOUNCE:
		return 1u << (0 + test);
	case TOKEN_UNSUBSCRIBE:
		return 1u << (1 + test);
	case TOKEN_CONFIRM_SUBSCRIBE:
		return 1u << (2 + test);
	case TOKEN_CONFIRM_UNSUBSCRIBE:
		return 1u << (3 + test);
	case TOKEN_CLICK:
		return 1u << (8 + test / 2);
	case TOKEN_OPEN:
		return 1u << (9 + test / 2);
	default:
		return 0;
	}
}

/* token_purpose_of - see token.h */
enum token_purpose
token_purpose_of(const char *text)
{
	gboolean test;
	enum token_purpose p;

	if (text == NULL || *text == '\0')
		return 0;
	test = g_ascii_tolower(text[0]) == TOKEN_TEST_LETTER && text[1] != '\0';
	p = (enum token_purpose)(g_ascii_tolower(text[test ? 1 : 0]) |
	    (test ? TOKEN_TEST : 0));
	return token_accept_bit(p) != 0 ? p : 0;
}

/* token_purpose_name - see token.h */
const char *
token_purpose_name(enum token_purpose purpose)
{
	static const char *const names[] = {
		"bounce", "unsubscribe", "subscription confirmation",
		"unsubscribe confirmation", "test copy's bounce",
		"test copy's unsubscribe", "test copy's subscription confirmation",
		"test copy's unsubscribe confirmation", "link click", "open",
		"test copy's link click", "test copy's open",
	};
	guint bit = token_accept_bit(purpose), i;

	for (i = 0; i < G_N_ELEMENTS(names); i++)
		if (bit == 1u << i)
			return names[i];
	return "unknown";
}

/* token_verify - check a token's form, MAC and purpose */
gboolean
token_verify(const struct token_key *key, const char *text, const char *list,
    guint accept, struct token_claim *claim, GError **error)
{
	g_autofree char *t = g_ascii_strdown(text, -1);
	const char *p = t;
	char mac[TOKEN_MAC_CHARS + 1], kind;
	enum token_purpose purp;
	gboolean test = FALSE;
	gint64 sub, extra;
	guint diff = 0, i;

	if (claim != NULL)
		memset(claim, 0, sizeof(*claim));
	if (*p == TOKEN_TEST_LETTER) {
		test = TRUE;
		p++;
	}
	kind = *p++;
	if ((kind != TOKEN_BOUNCE && kind != TOKEN_UNSUBSCRIBE &&
	    kind != TOKEN_CONFIRM_SUBSCRIBE && kind != TOKEN_CONFIRM_UNSUBSCRIBE &&
	    kind != TOKEN_CLICK && kind != TOKEN_OPEN) ||
	    !token_parse_number(&p, '-', &sub) ||
	    !token_parse_number(&p, '-', &extra) ||
	    strlen(p) != TOKEN_MAC_CHARS) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_DATA,
		    "malformed token");
		return FALSE;
	}
	purp = (enum token_purpose)(kind | (test ? TOKEN_TEST : 0));
	token_mac(key, purp, list, sub, extra, mac);
	for (i = 0; i < TOKEN_MAC_CHARS; i++)
		diff |= (guint)(mac[i] ^ p[i]);
	if (diff != 0) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_DATA,
		    "token does not verify for list %s", list);
		return FALSE;
	}
	if ((token_accept_bit(purp) & accept) == 0) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_DATA,
		    "a token of list %s for \"%s\" is not taken here", list,
		    token_purpose_name(purp));
		return FALSE;
	}
	if (claim != NULL) {
		claim->purpose = purp;
		claim->subscriber_id = sub;
		claim->extra_id = extra;
	}
	return TRUE;
}

/* token_key_load - read the secret file */
gboolean
token_key_load(const char *path, struct token_key *key, GError **error)
{
	g_autofree char *data = NULL;
	g_autoptr(GError) ioerr = NULL;
	gsize len;

	if (!g_file_get_contents(path, &data, &len, &ioerr)) {
		g_set_error(error, HERALD_ERROR,
		    ioerr->code == G_FILE_ERROR_NOENT ? HERALD_ERROR_CONFIG :
		    HERALD_ERROR_TEMP, "token secret: %s%s", ioerr->message,
		    ioerr->code == G_FILE_ERROR_NOENT ?
		    " (run \"herald init\")" : "");
		return FALSE;
	}
	if (len != TOKEN_SECRET_BYTES) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
		    "%s: the token secret must be %d bytes, not %zu", path,
		    TOKEN_SECRET_BYTES, (size_t)len);
		return FALSE;
	}
	memcpy(key->bytes, data, TOKEN_SECRET_BYTES);
	return TRUE;
}

/* token_key_create - make the secret file once */
gboolean
token_key_create(const char *path, struct token_key *key, gboolean *exists,
    GError **error)
{
	int fd, rnd;
	ssize_t n;

	*exists = FALSE;
	if (g_file_test(path, G_FILE_TEST_EXISTS)) {
		*exists = TRUE;
		return token_key_load(path, key, error);
	}
	rnd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (rnd < 0 || read(rnd, key->bytes, TOKEN_SECRET_BYTES) !=
	    TOKEN_SECRET_BYTES) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_IO,
		    "/dev/urandom: %s", g_strerror(errno));
		if (rnd >= 0)
			close(rnd);
		return FALSE;
	}
	close(rnd);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		g_set_error(error, HERALD_ERROR, herald_errno_class(errno),
		    "%s: %s", path, g_strerror(errno));
		return FALSE;
	}
	n = write(fd, key->bytes, TOKEN_SECRET_BYTES);
	if (n != TOKEN_SECRET_BYTES || fsync(fd) != 0 || close(fd) != 0) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_IO, "%s: %s", path,
		    g_strerror(errno));
		unlink(path);
		return FALSE;
	}
	return TRUE;
}

/* token_address_hash - see token.h */
char *
token_address_hash(const struct token_key *key, const char *email)
{
	g_autoptr(GHmac) hmac = token_hmac(key);
	g_autofree char *low = g_utf8_strdown(email, -1);
	g_autofree char *trim = g_strstrip(g_strdup(low));

	g_hmac_update(hmac, (const guchar *)"herald-erased-1", 16);
	g_hmac_update(hmac, (const guchar *)trim, strlen(trim));
	return g_strdup(g_hmac_get_string(hmac));
}
