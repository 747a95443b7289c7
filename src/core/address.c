/*
 * address.c - subscribers' addresses and attribute names, without state.
 *
 * Address checks follow RFC 5321 (lengths: local part 64 octets, domain
 * 255, the whole address 254 so that "<address>" fits a 256-octet path)
 * and RFC 5322/6531 syntax: the local part is a dot-atom (UTF-8 allowed,
 * as SMTPUTF8 does) or a quoted string; exactly one @ outside the quotes;
 * the domain is dot-separated labels of at most 63 octets, letters, digits
 * and hyphens (not at a label's ends), or UTF-8 (an IDN written in
 * U-labels), stored as given. Address literals ([192.0.2.1]) and
 * single-label domains are refused: nobody subscribes from one.
 *
 * Must stay true: the uniqueness key folds only the domain's case (the
 * local part is the owner's); every refusal is a DATA error naming why.
 */
#include <string.h>

#include "herald.h"
#include "address.h"

#define EMAIL_MAX	254
#define LOCAL_MAX	64
#define DOMAIN_MAX	255
#define LABEL_MAX	63
#define KEY_MAX		64

static const char *const address_fields[] = {
	"email", "name", "subscribed", "created",
};

/* address_bad - set a DATA error about EMAIL */
static gboolean
address_bad(GError **error, const char *email, const char *why)
{
	g_set_error(error, HERALD_ERROR, HERALD_ERROR_DATA,
	    "\"%s\" is not a valid address: %s", email, why);
	return FALSE;
}

/* address_is_atext - RFC 5322 atext, plus any UTF-8 byte (RFC 6531) */
static gboolean
address_is_atext(unsigned char c)
{
	return g_ascii_isalnum(c) || strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL ||
	    c >= 0x80;
}

/* address_check_local - a dot-atom or a quoted string; END is the @ */
static gboolean
address_check_local(const char *email, const char *at, GError **error)
{
	const char *p;

	if (at == email)
		return address_bad(error, email, "the local part is empty");
	if (*email == '"') {
		for (p = email + 1; p < at - 1; p++) {
			unsigned char c = *p;

			if (c == '\\') {
				p++;
				c = *p;
				if (p >= at - 1 || c < 32 || c > 126)
					return address_bad(error, email,
					    "a bad escape in the quoted local part");
			} else if (c == '"') {
				return address_bad(error, email,
				    "a quote inside the quoted local part");
			} else if ((c < 32 || c == 127) && c < 0x80) {
				return address_bad(error, email,
				    "a control character in the local part");
			}
		}
		if (at - email < 2 || at[-1] != '"')
			return address_bad(error, email,
			    "the quoted local part is not closed");
		return TRUE;
	}
	if (*email == '.' || at[-1] == '.')
		return address_bad(error, email,
		    "the local part starts or ends with a dot");
	for (p = email; p < at; p++) {
		if (*p == '.' && p[1] == '.')
			return address_bad(error, email,
			    "two dots in a row in the local part");
		if (*p != '.' && !address_is_atext(*p))
			return address_bad(error, email, *p == ' ' ?
			    "a space in the local part (quote it)" :
			    "a character not allowed in an unquoted local part");
	}
	return TRUE;
}

/* address_check_domain - dot-separated LDH or UTF-8 labels */
static gboolean
address_check_domain(const char *email, const char *domain, GError **error)
{
	const char *p, *label = domain;
	int labels = 1;

	if (*domain == '\0')
		return address_bad(error, email, "the domain is empty");
	if (strlen(domain) > DOMAIN_MAX)
		return address_bad(error, email,
		    "the domain is longer than 255 octets");
	if (*domain == '[')
		return address_bad(error, email,
		    "address literals are not accepted");
	for (p = domain;; p++) {
		unsigned char c = *p;

		if (c == '.' || c == '\0') {
			if (p == label)
				return address_bad(error, email,
				    "an empty label in the domain");
			if (p - label > LABEL_MAX)
				return address_bad(error, email,
				    "a domain label longer than 63 octets");
			if (*label == '-' || p[-1] == '-')
				return address_bad(error, email,
				    "a domain label starts or ends with a hyphen");
			if (c == '\0')
				break;
			labels++;
			label = p + 1;
		} else if (c == '@') {
			return address_bad(error, email,
			    "more than one @ outside quotes");
		} else if (!g_ascii_isalnum(c) && c != '-' && c < 0x80) {
			return address_bad(error, email,
			    "a character not allowed in a domain");
		}
	}
	if (labels < 2)
		return address_bad(error, email,
		    "the domain has a single label");
	return TRUE;
}

/* address_find_at - the @ that ends the local part, or NULL */
const char *
address_find_at(const char *email)
{
	const char *p;

	if (*email != '"')
		return strchr(email, '@');
	for (p = email + 1; *p != '\0'; p++) {
		if (*p == '\\' && p[1] != '\0')
			p++;
		else if (*p == '"')
			return p[1] == '@' ? p + 1 : strchr(p + 1, '@');
	}
	return NULL;
}

/* subscriber_check_email - the syntax and length checks */
gboolean
subscriber_check_email(const char *email, GError **error)
{
	const char *at;
	size_t len = strlen(email);

	if (len == 0)
		return address_bad(error, email, "it is empty");
	if (!g_utf8_validate(email, -1, NULL))
		return address_bad(error, email, "it is not valid UTF-8");
	if (strpbrk(email, "\r\n") != NULL)
		return address_bad(error, email, "it contains a line break");
	if (len > EMAIL_MAX)
		return address_bad(error, email,
		    "it is longer than 254 octets");
	at = address_find_at(email);
	if (at == NULL)
		return address_bad(error, email, "it has no @");
	if (at - email > LOCAL_MAX)
		return address_bad(error, email,
		    "the local part is longer than 64 octets");
	return address_check_local(email, at, error) &&
	    address_check_domain(email, at + 1, error);
}

/* subscriber_check_text - no CR, LF (or NUL, which C strings cannot
 * carry anyway); valid UTF-8 */
gboolean
subscriber_check_text(const char *what, const char *text, GError **error)
{
	if (strpbrk(text, "\r\n") != NULL) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_DATA,
		    "%s contains a line break", what);
		return FALSE;
	}
	if (!g_utf8_validate(text, -1, NULL)) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_DATA,
		    "%s is not valid UTF-8", what);
		return FALSE;
	}
	return TRUE;
}

/* subscriber_key_fold - attribute keys are case-insensitive (ASCII) */
char *
subscriber_key_fold(const char *key)
{
	return g_ascii_strdown(key, -1);
}

/* subscriber_check_key - an attribute key the segment language can name */
gboolean
subscriber_check_key(const char *key, GError **error)
{
	const char *p;
	size_t i;

	if (*key == '\0' || strlen(key) > KEY_MAX ||
	    !(g_ascii_islower(*key) || *key == '_'))
		goto bad;
	for (p = key; *p != '\0'; p++)
		if (!g_ascii_islower(*p) && !g_ascii_isdigit(*p) &&
		    strchr("_.-", *p) == NULL)
			goto bad;
	for (i = 0; i < G_N_ELEMENTS(address_fields); i++)
		if (strcmp(key, address_fields[i]) == 0) {
			g_set_error(error, HERALD_ERROR, HERALD_ERROR_DATA,
			    "\"%s\" is a subscriber field, not an attribute", key);
			return FALSE;
		}
	return TRUE;
bad:
	g_set_error(error, HERALD_ERROR, HERALD_ERROR_DATA,
	    "\"%s\" is not a valid attribute name (a letter or _, then letters, "
	    "digits, _ . -; at most 64)", key);
	return FALSE;
}

/* subscriber_email_key - local part as given, domain lowercased */
char *
subscriber_email_key(const char *email)
{
	const char *at = address_find_at(email);
	g_autofree char *domain = NULL;

	if (at == NULL)
		return g_strdup(email);
	domain = g_utf8_strdown(at + 1, -1);
	return g_strdup_printf("%.*s@%s", (int)(at - email), email, domain);
}
