/*
 * token.h - the tokens that let a mail act for exactly one person.
 *
 * A token names a purpose, a list, a subscriber and an optional second id
 * (the delivery, for bounces), and carries an HMAC-SHA256 over all of them
 * keyed by the secret `herald init` wrote. Its text is lowercase base32
 * (a-z, 2-7) and '-', safe in a local part and unharmed by MTAs that fold
 * case:  P<subscriber>-<extra>-<mac>, e.g. "b3c-k2-q4vd7m3x2hfa6kzp".
 * Verification compares in constant time and rejects a token made for any
 * other purpose or list. Possession of a token is the proof: only the mail
 * sent to that subscriber carried it.
 *
 * Test tokens: a test copy (herald send --test) is rendered for a real
 * subscriber, but it goes to a tester, so its tokens must act on nobody.
 * They carry the TOKEN_TEST flag, written as a leading 't' ("tu3c-0-…")
 * and covered by the MAC (the purpose field of the MAC input is "tu", not
 * "u"), so a test token never verifies as a real one and a real one can
 * not be turned into a test one.
 *
 * A caller names the purposes it takes (enum token_accept) and
 * token_verify() tells it nothing of a token made for another: a
 * confirmation, an unsubscribe or a test copy's token can never pass for
 * a bounce token, whatever the caller does next. A test copy's token
 * verifies only where the caller asked for test bits, and its purpose
 * carries the TOKEN_TEST flag (token_is_test); a caller that acts on a
 * token (the pipe, herald serve) must do nothing for a test token beyond
 * saying so (and logging it).
 */
#ifndef HERALD_TOKEN_H
#define HERALD_TOKEN_H

#include <glib.h>

#define TOKEN_SECRET_BYTES 32
#define TOKEN_MAC_CHARS 16	/* 80 bits of the HMAC */

enum token_purpose {
	TOKEN_BOUNCE = 'b',		/* LIST-bounces+TOKEN: names a delivery */
	TOKEN_UNSUBSCRIBE = 'u',	/* LIST-unsubscribe+TOKEN and the https link */
	TOKEN_CONFIRM_SUBSCRIBE = 's',	/* LIST-confirm+TOKEN for a subscription */
	TOKEN_CONFIRM_UNSUBSCRIBE = 'c',/* LIST-confirm+TOKEN for an unsubscribe */
	/* herald serve's tracked link, {web.base_url}/l/TOKEN: its
	 * subscriber field holds the link's id (the links table: campaign,
	 * segment, URL), its extra id the delivery in per-subscriber mode,
	 * 0 in aggregate mode (then nothing in it names a person) */
	TOKEN_CLICK = 'l',
	/* the open image, {web.base_url}/o/TOKEN: the campaign and the
	 * delivery (per-subscriber mode only) */
	TOKEN_OPEN = 'o',

	/* a flag OR'ed into one of the above: made for a test copy */
	TOKEN_TEST = 0x100,
	TOKEN_TEST_BOUNCE = TOKEN_TEST | TOKEN_BOUNCE,
	TOKEN_TEST_UNSUBSCRIBE = TOKEN_TEST | TOKEN_UNSUBSCRIBE,
};

/* the letter that starts a test token's text */
#define TOKEN_TEST_LETTER 't'

/* token_is_test - TRUE when PURPOSE (from token_verify) is a test copy's */
gboolean token_is_test(enum token_purpose purpose);

/* token_purpose_base - PURPOSE without the test flag */
enum token_purpose token_purpose_base(enum token_purpose purpose);

struct token_key {
	guint8 bytes[TOKEN_SECRET_BYTES];
};

/* token_key_create - write a new random secret to PATH, mode 0600, never
 * replacing one that exists (EXISTS is set TRUE then, and it is loaded). */
gboolean token_key_create(const char *path, struct token_key *key,
    gboolean *exists, GError **error);

/* token_key_load - read the secret; a missing or short file is an error */
gboolean token_key_load(const char *path, struct token_key *key,
    GError **error);

/* token_make - the token text (caller frees); PURPOSE may carry
 * TOKEN_TEST */
char *token_make(const struct token_key *key, enum token_purpose purpose,
    const char *list, gint64 subscriber_id, gint64 extra_id);

/* The purposes a caller takes, as a set of bits: a token verifies only for
 * a purpose in the set. A test copy's token has bits of its own, so a
 * caller that does not name them never sees one. */
enum token_accept {
	TOKEN_ACCEPT_BOUNCE = 1 << 0,
	TOKEN_ACCEPT_UNSUBSCRIBE = 1 << 1,
	TOKEN_ACCEPT_CONFIRM_SUBSCRIBE = 1 << 2,
	TOKEN_ACCEPT_CONFIRM_UNSUBSCRIBE = 1 << 3,
	TOKEN_ACCEPT_TEST_BOUNCE = 1 << 4,
	TOKEN_ACCEPT_TEST_UNSUBSCRIBE = 1 << 5,
	TOKEN_ACCEPT_TEST_CONFIRM_SUBSCRIBE = 1 << 6,
	TOKEN_ACCEPT_TEST_CONFIRM_UNSUBSCRIBE = 1 << 7,
	/* tracking: bits of their own, outside TOKEN_ACCEPT_ANY_TEST (the
	 * test copies of the mail tokens), so no caller that takes the mail
	 * tokens ever sees a click or open token, nor the other way */
	TOKEN_ACCEPT_CLICK = 1 << 8,
	TOKEN_ACCEPT_OPEN = 1 << 9,
	TOKEN_ACCEPT_TEST_CLICK = 1 << 10,
	TOKEN_ACCEPT_TEST_OPEN = 1 << 11,
	TOKEN_ACCEPT_CONFIRM = TOKEN_ACCEPT_CONFIRM_SUBSCRIBE |
	    TOKEN_ACCEPT_CONFIRM_UNSUBSCRIBE,
	TOKEN_ACCEPT_ANY_TEST = 0xf0,
};

/* token_accept_bit - the token_accept bit of PURPOSE (test flag included) */
guint token_accept_bit(enum token_purpose purpose);

/* token_purpose_name - "bounce", "unsubscribe", "subscription
 * confirmation", "unsubscribe confirmation", "link click", "open", with "test copy's " before
 * it for a test token: for logs and errors (never the token itself) */
const char *token_purpose_name(enum token_purpose purpose);

/* token_purpose_of - the purpose TEXT claims in clear (its first letter,
 * or 't' and the next for a test copy's), unverified: to skip the MACs
 * of a token no caller could take; 0 when it claims none */
enum token_purpose token_purpose_of(const char *text);

/* What a verified token names. */
struct token_claim {
	enum token_purpose purpose;	/* with TOKEN_TEST for a test copy's */
	gint64 subscriber_id;
	gint64 extra_id;		/* the delivery, for a bounce token */
};

/* token_verify - check TEXT (any case) for LIST and for one of the
 * purposes in ACCEPT (token_accept bits). TRUE: *CLAIM (may be NULL) says
 * what the token names. FALSE, a HERALD_ERROR_DATA error: a malformed or
 * forged token, one for another list, or one made for a purpose outside
 * ACCEPT; *CLAIM is then all zero, so nothing of a token that failed can
 * reach the caller. The error's words never hold the token (logs must
 * not). */
gboolean token_verify(const struct token_key *key, const char *text,
    const char *list, guint accept, struct token_claim *claim,
    GError **error);

/* token_message_mac - the check part of the Message-ID herald gives the
 * message of DELIVERY (compose.c): TOKEN_MAC_CHARS of base32 of the HMAC
 * over (purpose 'm', DELIVERY, NONCE), NONCE the random part that keeps
 * two messages of one delivery id apart. Only herald can make it, so a
 * reply names a delivery only if it quotes a Message-ID herald sent. */
void token_message_mac(const struct token_key *key, gint64 delivery,
    guint32 nonce, char out[TOKEN_MAC_CHARS + 1]);

/* token_address_hash - the hex HMAC-SHA256 under KEY of EMAIL folded to
 * lower case (caller frees): what an erasure keeps of an address, so an
 * import can recognise it without anyone reading it back */
char *token_address_hash(const struct token_key *key, const char *email);

#endif
