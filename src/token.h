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
 * not be turned into a test one. token_verify() returns the purpose WITH
 * the flag: code that compares the purpose with TOKEN_UNSUBSCRIBE (say)
 * refuses a test token without knowing about tests, and code that wants
 * to answer "this was a test copy's token, nothing changed" asks
 * token_is_test() and token_purpose_base(). A caller that acts on a token
 * (the pipe, herald serve) must do nothing for a test token beyond saying
 * so (and logging it).
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

/* token_verify - check TEXT (any case) for LIST; on success set *PURPOSE
 * (with TOKEN_TEST for a test copy's token: see above), *SUBSCRIBER_ID and
 * *EXTRA_ID (each may be NULL). A malformed or forged token, or one for
 * another list, is a HERALD_ERROR_DATA error. */
gboolean token_verify(const struct token_key *key, const char *text,
    const char *list, enum token_purpose *purpose, gint64 *subscriber_id,
    gint64 *extra_id, GError **error);

/* token_message_mac - the check part of the Message-ID herald gives the
 * message of DELIVERY (compose.c): TOKEN_MAC_CHARS of base32 of the HMAC
 * over (purpose 'm', DELIVERY, NONCE), NONCE the random part that keeps
 * two messages of one delivery id apart. Only herald can make it, so a
 * reply names a delivery only if it quotes a Message-ID herald sent. */
void token_message_mac(const struct token_key *key, gint64 delivery,
    guint32 nonce, char out[TOKEN_MAC_CHARS + 1]);

#endif
