/*
 * notice.h - the mail herald writes in answer to inbound mail: the
 * confirmation requests of double opt-in and of unsubscribing by mail, the
 * goodbye after an unsubscribe, the help text of LIST-request@, and the
 * forward of a reply or of owner mail to the list's owners.
 *
 * Every notice comes from the list (From: "LIST" <LIST-request@DOMAIN>),
 * has the envelope sender LIST-bounces@DOMAIN (so its own bounces come
 * back to herald, never to a person), and carries herald's List-Id,
 * X-Loop and Auto-Submitted, so herald and well-behaved responders never
 * answer it again (RFC 3834): "auto-replied" when it answers a message
 * (a confirmation or goodbye after mail to the list's addresses, the
 * help of LIST-request@), "auto-generated" otherwise (after an action
 * on the web, a bounce warning, a forward to the owners).
 *
 * A list with a dkim { } section signs its notices as it signs its
 * announcements: notice_bytes() makes the bytes and signs them, and
 * notice_send() sends nothing else.
 *
 * Must stay true: notice_may_send_to() is asked before every notice to a
 * subscriber or requester: no notice to an empty sender, MAILER-DAEMON or
 * a list-like address (-request, -bounces, -owner, -admin). notice_send()
 * reports an SMTP 4xx or an unreachable relay as HERALD_ERROR_TEMP, a 5xx
 * as HERALD_ERROR_PERM. Inbound paths do not call it directly: they queue
 * notice_bytes() in the outbox (outbox.h) with the change, which retries.
 */
#ifndef HERALD_NOTICE_H
#define HERALD_NOTICE_H

#include <glib.h>
#include <gmime/gmime.h>

struct config;
struct list_config;
struct mailer;

/* notice_may_send_to - TRUE if ADDRESS may receive an automatic notice */
gboolean notice_may_send_to(const char *address);

/* notice_list_id - the List-Id value for LIST: "Display <LIST.DOMAIN>"
 * (caller frees) */
char *notice_list_id(const struct list_config *list);

/* notice_address - LIST's address with SUFFIX ("-confirm") and an
 * optional +EXTENSION (caller frees) */
char *notice_address(const struct list_config *list, const char *suffix,
    const char *extension);

/* notice_compose - a text/plain (UTF-8) notice from LIST to TO; REPLY_TO
 * may be NULL (then replies go to From). ANSWERS: it answers a message
 * (Auto-Submitted: auto-replied; else auto-generated). */
GMimeMessage *notice_compose(const struct list_config *list, const char *to,
    const char *reply_to, const char *subject, const char *text,
    gboolean answers);

/* notice_forward - a message to the owners of LIST carrying ORIGINAL
 * (raw RFC 5322 bytes) as a message/rfc822 part after a short text
 * SUMMARY; Reply-To is REPLY_TO (the person who wrote), when not NULL. */
GMimeMessage *notice_forward(const struct list_config *list,
    GBytes *original, const char *reply_to, const char *subject,
    const char *summary);

/* notice_bytes - MSG as the CRLF bytes that are sent, with the list's
 * DKIM signature(s) when it has a dkim { } section. NULL and an error
 * (CONFIG: a key file; TEMP: signing) otherwise. */
GBytes *notice_bytes(const struct list_config *list, GMimeMessage *msg,
    GError **error);

/* notice_send - hand MSG to what carries herald's own mail (MAILER:
 * smtp { }, or the relays) for RCPTS (NULL-ended), envelope sender
 * LIST-bounces@DOMAIN. TRUE once a relay accepted it for every
 * recipient. */
gboolean notice_send(const struct mailer *mailer,
    const struct list_config *list, GMimeMessage *msg,
    const char *const *rcpts, GError **error);

#endif
