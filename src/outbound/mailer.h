/*
 * mailer.h - herald's own mail, one message at a time: the notices of
 * the outbox (goodbyes, confirmation requests, help replies, forwards to
 * the owners), the bounce policy's warnings and owner notices, and the
 * test copies of herald send --test.
 *
 * What carries it: the smtp { } section when herald.conf has one of its
 * own, or has no relay section (then smtp { }, given or defaulted, is the
 * one relay, as it always was). With relay NAME { } sections and no smtp
 * { } section, the relays carry it too, since they are all the list
 * owner configured: the first relay that is up, by weight (the highest
 * first, equal weights in file order), and on a failure of the relay
 * rather than of a recipient (send_relay_fault(): no reply, a 421 before
 * RCPT, a refused session) the next one.
 *
 * Circuit state: the relays' states in the store (relay.h), which
 * campaigns write too. A relay that failed is marked down there and is
 * tried after every other relay until send.relay_backoff seconds after
 * that failure; one that takes a message while marked down is marked up.
 *
 * Quotas: a message a relay takes counts against that relay's quota, in
 * the same buckets as a campaign's (relay_record_usage), so campaigns
 * leave room for it. A relay at its quota is tried after the relays under
 * theirs, but a message is never refused or held for a quota: when every
 * relay is at its quota the first still gets it. This mail answers a
 * person (a goodbye must follow an unsubscribe; a confirmation request
 * is waited for) and is a few messages beside a campaign's thousands;
 * holding it until a window opens would break that promise to save a
 * count the next campaign run honours anyway.
 *
 * Must stay true: nothing here holds a write transaction over SMTP; the
 * store's writes (state, usage) are best effort and never turn a message
 * that left into a failure. Errors are send_one()'s: TEMP when no relay
 * took it (the message names each relay tried and why), PERM when a
 * recipient was refused for good (5xx); a recipient's refusal is final
 * and is not tried on another relay.
 */
#ifndef HERALD_MAILER_H
#define HERALD_MAILER_H

#include <glib.h>
#include "config.h"
#include "store.h"

struct mailer {
	const struct config *config;
	struct store *store;	/* relay states and quotas; NULL: none kept */
};

/* mailer_by_relays - TRUE when CONFIG's relay sections, not smtp { },
 * carry herald's own mail (relay sections and no smtp { } section) */
gboolean mailer_by_relays(const struct config *config);

/* mailer_send - MESSAGE (CRLF bytes) from ENVELOPE_FROM to RCPTS
 * (NULL-terminated) through what carries herald's own mail. TRUE once a
 * relay accepted it for every recipient; *VIA (may be NULL; caller frees)
 * gets that relay's name, NULL when it went through smtp { }. */
gboolean mailer_send(const struct mailer *mailer, const char *envelope_from,
    const char *const *rcpts, GBytes *message, char **via, GError **error);

#endif
