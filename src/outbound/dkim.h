/*
 * dkim.h - DKIM (RFC 6376) signatures on the bytes herald sends, by
 * herald's own signer over OpenSSL's libcrypto (dkim_sign.c, with the
 * canonicalization in dkim_canon.c): keys, signing, verifying, the TXT
 * record to publish, local checks.
 *
 * A list with a dkim { } section gets a signer (dkim_signer_new): its
 * RSA key (rsa-sha256, at least 1024 bits, 2048 made by keygen) and, when
 * ed25519_selector is set, a second ed25519-sha256 signature (RFC 8463).
 * Both are relaxed/relaxed over the whole body; h= names every header of
 * DKIM_SIGN_HEADERS present in the message, and DKIM_OVERSIGN_HEADERS
 * once more than present, so none of those can be added after signing
 * without breaking the signature.
 *
 * Must stay true: a key that is missing, unreadable, of the wrong type or
 * an RSA key under 1024 bits is a CONFIG error naming the file, found when
 * the signer is made, before anything is sent. A failure to sign one
 * message is TEMP (the delivery waits; it is never sent unsigned, never
 * failed for good). dkim_signer_sign() may run in many threads at once.
 */
#ifndef HERALD_DKIM_H
#define HERALD_DKIM_H

#include <glib.h>
#include "dkim_align.h"

struct list_dkim;

/* the headers h= covers when present, and those signed once more than
 * present (RFC 6376 section 8.15; RFC 8058 wants both List-Unsubscribe
 * headers covered) */
#define DKIM_SIGN_HEADERS "From", "To", "Subject", "Date", "Message-ID", \
	"MIME-Version", "Content-Type", "Reply-To", "List-Id", \
	"List-Unsubscribe", "List-Unsubscribe-Post", "List-Help", \
	"List-Owner", "List-Post", "List-Subscribe", "Feedback-ID"
#define DKIM_OVERSIGN_HEADERS "From", "Subject", "List-Unsubscribe", \
	"List-Unsubscribe-Post"

#define DKIM_MIN_RSA_BITS 1024
#define DKIM_RSA_BITS 2048	/* what keygen makes */


enum dkim_key_type {
	DKIM_KEY_RSA,
	DKIM_KEY_ED25519,
};

struct dkim_key;

/* dkim_key_load - the PEM private key in PATH, which must be of TYPE (an
 * RSA key at least DKIM_MIN_RSA_BITS). NULL and a CONFIG error naming
 * PATH otherwise. */
struct dkim_key *dkim_key_load(const char *path, enum dkim_key_type type,
    GError **error);
void dkim_key_free(struct dkim_key *key);
int dkim_key_bits(const struct dkim_key *key);
const char *dkim_key_type_name(enum dkim_key_type type);

/* dkim_key_record - the TXT record of KEY: "v=DKIM1; k=rsa; p=…" */
const char *dkim_key_record(const struct dkim_key *key);

/* dkim_keygen - make a new key of TYPE (BITS for RSA) and write it to
 * PATH as PEM, mode 0600, creating its folder (0700). An existing PATH
 * is kept unless FORCE (then replaced atomically). */
gboolean dkim_keygen(const char *path, enum dkim_key_type type, int bits,
    gboolean force, GError **error);

/* dkim_record_key - the p= of a TXT record as published: quotes, the
 * splitting into strings and spaces are taken out (caller frees; NULL
 * when there is no p=) */
char *dkim_record_key(const char *txt);

/* dkim_zone_txt - NAME. IN TXT ( "…" "…" ) with strings of at most 255
 * octets, for pasting into a zone file (caller frees) */
char *dkim_zone_txt(const char *name, const char *record);

struct dkim_signer;

/* dkim_signer_new - a signer for a list's dkim { }: loads and checks the
 * keys (each parsed once, then shared by every thread that signs). NULL
 * and a CONFIG error naming the key file. */
struct dkim_signer *dkim_signer_new(const struct list_dkim *cfg,
    GError **error);
void dkim_signer_free(struct dkim_signer *s);

/* dkim_signer_key - the RSA key (ED25519 FALSE) or the ed25519 one (NULL
 * when there is none) */
const struct dkim_key *dkim_signer_key(const struct dkim_signer *s,
    gboolean ed25519);

/* dkim_signer_sign - sign the message MSG->str[START..] (CRLF line ends)
 * and insert the DKIM-Signature header(s) at START. On failure MSG is as
 * it was and the error is TEMP. Thread-safe. */
gboolean dkim_signer_sign(const struct dkim_signer *s, GString *msg,
    gsize start, GError **error);

/* dkim_canonical - what the signer hashes for MSG[0..LEN), in the clear:
 * the relaxed body onto BODY and the relaxed header fields h= selects
 * onto HEADERS (the DKIM-Signature field itself not included), by the
 * very code that signs, with the body going to a GString instead of the
 * digest. Returns the h= value it would sign (caller frees). For the
 * tests that hold herald's canonicalization against dkimpy's. */
char *dkim_canonical(const char *msg, gsize len, GString *headers,
    GString *body);

/* dkim_lookup_fn - the TXT record of SELECTOR._domainkey.DOMAIN, or NULL */
typedef const char *(*dkim_lookup_fn)(const char *selector,
    const char *domain, gpointer data);

/* dkim_verify_message - verify every DKIM-Signature of MSG[0..LEN) with
 * dkim_sign.c's verifier (relaxed/relaxed, rsa-sha256 and ed25519-sha256,
 * over libcrypto), the keys coming from LOOKUP. TRUE when there is at least one and every
 * one verifies; REPORT (may be NULL) gets a line per signature. FALSE with
 * an error (DATA) saying what failed otherwise. */
gboolean dkim_verify_message(const char *msg, gsize len, dkim_lookup_fn lookup,
    gpointer data, GString *report, GError **error);

struct config;
struct list_config;

/* dkim_check_lists - load the keys of every list that signs: FALSE and
 * the CONFIG error of the first key missing or unfit */
gboolean dkim_check_lists(const struct config *config, GError **error);

/* what herald dns may be told */
struct dkim_dns_opts {
	char **spf;		/* SPF mechanisms (NULL-ended; NULL: "mx a") */
	const char *mx;		/* the MX host (NULL: smtp.helo or mx.DOMAIN) */
	const char *rua;	/* DMARC rua address (NULL: the first owner) */
};

/* dkim_dns_text - every DNS record LIST needs, ready to paste (SPF for
 * the envelope domain, the DKIM TXT records of its keys, DMARC p=none with
 * rua, MX), then which identifiers align with From (caller frees) */
char *dkim_dns_text(const struct config *config,
    const struct list_config *list, const struct dkim_dns_opts *o);

#endif
