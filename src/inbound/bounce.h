/*
 * bounce.h - recognise returned mail: which recipients failed, how
 * (hard, soft), with which status, remote reply and reason; recognise ARF
 * complaints separately; find herald's own VERP local parts.
 *
 * Must stay true: the classifier never prints, never exits, and reports
 * nothing for mail that is not a failure report (auto-replies, complaints,
 * "delivered", "relayed" and "expanded" reports, challenge-response mail).
 * It reads a bounded number of bytes and MIME levels of any message, so
 * arbitrary input costs bounded time and memory.
 */
#ifndef HERALD_BOUNCE_H
#define HERALD_BOUNCE_H

#include <glib.h>
#include <gmime/gmime.h>

enum bounce_kind {
	BOUNCE_UNKNOWN,		/* failed, but not said whether for good */
	BOUNCE_HARD,		/* permanent: 5.x.x, "failed" */
	BOUNCE_SOFT,		/* temporary: 4.x.x, "delayed" warnings */
};

enum bounce_reason {
	BOUNCE_REASON_OTHER,
	BOUNCE_REASON_USER_UNKNOWN,
	BOUNCE_REASON_MAILBOX_FULL,
	BOUNCE_REASON_HOST_UNKNOWN,
	BOUNCE_REASON_BLOCKED,
	BOUNCE_REASON_SPAM,
	BOUNCE_REASON_TOO_BIG,
	BOUNCE_REASON_EXPIRED,
};

/* One failed recipient. All strings are owned by the report. */
struct bounce_recipient {
	char			*address;	/* lowercase addr-spec */
	char			*original;	/* Original-Recipient, or NULL */
	enum bounce_kind	 kind;
	char			*status;	/* "5.1.1", or NULL */
	char			*diagnostic;	/* remote reply (lowercased,
						 * unfolded), or NULL */
	enum bounce_reason	 reason;
};

struct bounce_report {
	GPtrArray	*recipients;	/* of struct bounce_recipient *, may be empty */
	const char	*method;	/* static, which rule named them: "dsn",
					 * "ses", "notice", "phrase", "any",
					 * "original"; NULL when none did */
};

/* What an ARF (RFC 5965) complaint says. Strings owned by the struct. */
struct bounce_complaint {
	char		*feedback_type;		/* "abuse", "fraud", ... or NULL */
	char		*recipient;		/* complained-of recipient, lowercase, or NULL */
	char		*user_agent;		/* reporter's User-Agent, or NULL */
	GMimeHeaderList	*original_headers;	/* the original message's headers, or NULL */
};

/* Caps on what any message costs. */
#define BOUNCE_MAX_DEPTH	8		/* MIME levels walked */
#define BOUNCE_MAX_PARTS	64		/* MIME parts looked at */
#define BOUNCE_MAX_TEXT		(64 * 1024)	/* decoded bytes read per part */
#define BOUNCE_MAX_INPUT	(16 * 1024 * 1024)	/* bytes parsed by bounce_parse_* */

/* bounce_parse_stream - parse one message from STREAM (at most
 * BOUNCE_MAX_INPUT bytes of it); NULL and a DATA error if it holds none. */
GMimeMessage *bounce_parse_stream(GMimeStream *stream, GError **error);

/* bounce_parse_bytes - as bounce_parse_stream, over LEN bytes at DATA. */
GMimeMessage *bounce_parse_bytes(const void *data, gsize len, GError **error);

/* bounce_classify - classify MSG. On success *OUT is a report (free it
 * with bounce_report_free) whose recipients are empty when MSG is not a
 * failure report or names no recipient. FALSE only when MSG is NULL. */
gboolean bounce_classify(GMimeMessage *msg, struct bounce_report **out,
    GError **error);

void bounce_report_free(struct bounce_report *report);

/* bounce_report_kind - the kind all recipients share, else BOUNCE_UNKNOWN. */
enum bounce_kind bounce_report_kind(const struct bounce_report *report);

/* bounce_is_complaint - TRUE if MSG is an ARF feedback report. */
gboolean bounce_is_complaint(GMimeMessage *msg);

/* bounce_complaint_parse - read an ARF report: NULL (no error) if MSG is
 * not one; free the result with bounce_complaint_free. */
struct bounce_complaint *bounce_complaint_parse(GMimeMessage *msg);
void bounce_complaint_free(struct bounce_complaint *complaint);

/* bounce_is_autoreply - TRUE if MSG is an auto-reply (vacation, out of
 * office, challenge-response) rather than a failure report. */
gboolean bounce_is_autoreply(GMimeMessage *msg);

/* bounce_verp_candidates - the distinct local parts of the form
 * "PREFIX-bounces+TOKEN" in MSG's envelope headers (Delivered-To,
 * X-Original-To, Envelope-To, X-Envelope-To, To; case kept as found),
 * then in the Return-Path, Sender and Errors-To of the returned original
 * (lowercased: compare tokens without case). The caller verifies them
 * (token.c) and frees the array. Never NULL. */
GPtrArray *bounce_verp_candidates(GMimeMessage *msg);

const char *bounce_kind_name(enum bounce_kind kind);
const char *bounce_reason_name(enum bounce_reason reason);

#endif
