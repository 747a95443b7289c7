/*
 * compose.h - one announcement, rendered for one subscriber, as the exact
 * bytes that go to the SMTP relay.
 *
 * A composer is built once per campaign (or render/preview run) from the
 * announcement, the list and the token key: it holds the shared rendering
 * context, one context layer per campaign segment, the fixed headers and
 * the MIME skeleton. After composer_new() it is read-only, and
 * composer_render() may run concurrently in any number of threads: every
 * per-message state lives on the caller's stack.
 *
 * The message: RFC 5322 with CRLF line ends, MIME 1.0,
 * multipart/alternative (text/plain, text/html, both charset=utf-8, 7bit
 * when pure short-lined ASCII, else quoted-printable or base64 by the
 * share of 8-bit bytes, as GMime's best-encoding filter decides), wrapped
 * in multipart/mixed with a text/calendar part when the announcement asks
 * for one. Headers: From, To (the subscriber with name), Subject (RFC 2047
 * when not ASCII), Date, Message-ID, MIME-Version, Reply-To (by the list's
 * reply_to policy), List-Id (RFC 2919), List-Unsubscribe (mailto with the
 * subscriber's token, and the https URL when the list has
 * unsubscribe_base_url), List-Unsubscribe-Post (RFC 8058, with the URL),
 * List-Post (NO for announce-only lists), List-Help, List-Owner,
 * Precedence: bulk, X-Loop; X-Herald-Test: yes on a test copy;
 * Feedback-ID: CAMPAIGN:SEGMENT:LIST:SENDERID when the list has
 * feedback_id (SEGMENT "none" for a subscriber in no campaign segment). When the
 * list has a dkim { } section, the DKIM-Signature header(s) come first,
 * over the message as composed (dkim.h); composer_new() loads the keys (a
 * CONFIG error naming the file when one is missing or unfit) and a
 * failure to sign one message is a TEMP error from composer_render().
 *
 * Must stay true: header injection is impossible. A CR, LF or NUL in the
 * subscriber's name, email or any attribute, in a one-line data field or
 * in the rendered subject is refused with a DATA error naming the field
 * (announcement.c refuses them in the data file at load time).
 */
#ifndef HERALD_COMPOSE_H
#define HERALD_COMPOSE_H

#include <glib.h>
#include "announcement.h"
#include "config.h"
#include "subscriber.h"
#include "token.h"

/* the marker the pipe recognises on mail herald sent itself:
 * "X-Loop: LIST@DOMAIN" */
#define COMPOSE_LOOP_HEADER "X-Loop"

/* Message-ID: <herald.DELIVERY.NONCE.MAC@DOMAIN>, DELIVERY in decimal (0
 * for a render outside a campaign), NONCE 8 random hex digits, MAC
 * token_message_mac() of the two (16 base32 characters) */
#define COMPOSE_MSGID_PREFIX "herald."

/* the header that marks a test copy: "X-Herald-Test: yes" */
#define COMPOSE_TEST_HEADER "X-Herald-Test"
/* what a test copy's subject starts with */
#define COMPOSE_TEST_SUBJECT "[test] "

enum composer_flags {
	COMPOSER_STRICT = 1 << 0,	/* a missing variable is an error */
	COMPOSER_NO_CALENDAR = 1 << 1,	/* leave out the text/calendar part */
	/* a test copy (herald send --test): the message as the subscriber
	 * gets it, but "[test] " before the subject, COMPOSE_TEST_HEADER,
	 * and every token (List-Unsubscribe, the links, the VERP sender)
	 * a test token (token.h) that acts on nobody */
	COMPOSER_TEST = 1 << 2,
	COMPOSER_NO_SIGN = 1 << 3,	/* no DKIM signature even if the list signs */
};

struct composer;

/* composer_new - prepare ANN for LIST. CAMPAIGN_SEGMENTS (NULL-terminated,
 * may be NULL) are the campaign's segments in order; a context layer is
 * built for each (and one for no segment). KEY makes the tokens. Renders
 * the templates once against a sample subscriber, so a template or data
 * error is found here, before anything is sent. NULL and an error naming
 * what is wrong on failure. Call it in one thread. */
struct composer *composer_new(const struct announcement *ann,
    const struct list_config *list, const struct token_key *key,
    const char *const *campaign_segments, int flags, GError **error);
void composer_free(struct composer *c);

/* composer_set_campaign - the campaign C renders for (the first field of
 * Feedback-ID; 0 until set, as for herald render). Call it before
 * composer_render() runs in any thread. */
void composer_set_campaign(struct composer *c, gint64 campaign_id);

/* composer_render - append the complete message for SUB to OUT (CRLF
 * line ends; the caller hands it to libesmtp as is). SEGMENT is the first
 * campaign segment SUB matches (NULL if none: the no-segment layer);
 * MATCHED (NULL-terminated, may be NULL) every segment SUB matches, for
 * the segments.NAME flags. DELIVERY_ID goes into the Message-ID and the
 * bounce token. On success *ENVELOPE_FROM (LIST-bounces+TOKEN@DOMAIN) and
 * *MESSAGE_ID (without <>) are set if not NULL (caller frees). On failure
 * OUT is left as it was, and the DATA error names the field (a line break
 * in a name or attribute, a missing variable under COMPOSER_STRICT: every
 * missing name is listed). Thread-safe. */
gboolean composer_render(const struct composer *c,
    const struct subscriber *sub, const char *segment,
    const char *const *matched, gint64 delivery_id, GString *out,
    char **envelope_from, char **message_id, GError **error);

/* composer_subject - the subject SUB gets (rendered, not encoded) */
char *composer_subject(const struct composer *c,
    const struct subscriber *sub, const char *segment,
    const char *const *matched, GError **error);

/* compose_message_id_delivery - the delivery id inside a Message-ID (or
 * an In-Reply-To/References value) herald made for DOMAIN with KEY; FALSE
 * if it is not one of ours, or its MAC does not verify (a Message-ID
 * someone wrote by hand names no delivery). DOMAIN may be NULL (any). */
gboolean compose_message_id_delivery(const char *msgid, const char *domain,
    const struct token_key *key, gint64 *delivery_id);

/* composer_links - the http(s) links of each campaign segment's copy
 * (and of the copy for no segment) rendered for a sample subscriber, as
 * a set of "SEGMENT\nURL" (track.h says which links count); NULL and an
 * error when a render fails */
GHashTable *composer_links(const struct composer *c, GError **error);

/* composer_set_tracking - from now on C rewrites the links of T (taken;
 * see track.h). Call before any composer_render, in one thread. */
struct track_links;
void composer_set_tracking(struct composer *c, struct track_links *t);

/* composer_key - the token key C was made with */
const struct token_key *composer_key(const struct composer *c);

/* g_autoptr needs a type name: this typedef exists for it alone */
typedef struct composer composer;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(composer, composer_free)

#endif
