/*
 * store_inbound.h - the state that mail and requests coming in keep
 * (herald pipe, herald lmtp, herald serve): replies and owner mail,
 * complaints, the arrivals of bounces, the confirmations asked of
 * subscribers, the memberships their actions read or end, the archive's
 * campaigns, and herald serve's own connections.
 *
 * Must stay true: a message is found again by the SHA-256 of its bytes
 * (its digest, hex), so the same bytes delivered twice are stored once;
 * the writes here run in the caller's transaction (store_begin), none
 * opens one of its own. Errors are store.h's: TEMP for a database busy
 * past its timeout or a full disk. Text and bytes given are borrowed for
 * the call; text and arrays returned are the caller's.
 */
#ifndef HERALD_STORE_INBOUND_H
#define HERALD_STORE_INBOUND_H

#include <glib.h>
#include "store.h"

/* ------------------------------------------------------------------ */
/* Replies and owner mail (table replies) */

struct store_reply {
	gint64 list_id;
	const char *route;		/* "reply", "owner" */
	const char *kind;		/* "reply", "loop", "autoreply", ... */
	const char *envelope_from;
	const char *from_addr, *from_name, *subject;	/* each may be NULL */
	const char *message_id, *in_reply_to;		/* each may be NULL */
	gint64 campaign_id, subscriber_id;		/* 0: none */
	const char *digest;
	GBytes *raw;
};

/* store_reply_find - the reply with DIGEST on LIST_ID: its id and
 * *FORWARDED (may be NULL); 0 when there is none, -1 on error */
gint64 store_reply_find(struct store *store, const char *digest,
    gint64 list_id, gboolean *forwarded, GError **error);

/* store_reply_add - store R; its row id, 0 on error */
gint64 store_reply_add(struct store *store, const struct store_reply *r,
    GError **error);

/* store_reply_forwarded - reply ID went to the owners */
gboolean store_reply_forwarded(struct store *store, gint64 id,
    GError **error);

/* store_reply_delivery - the campaign and subscriber of our DELIVERY a
 * reply refers to: TRUE and both set when the deliveries table knows it,
 * FALSE (nothing set) when not or on error (*ERROR may be NULL) */
gboolean store_reply_delivery(struct store *store, gint64 delivery,
    gint64 *campaign, gint64 *subscriber, GError **error);

/* ------------------------------------------------------------------ */
/* Complaints (ARF reports) and the arrivals of bounces */

struct store_complaint {
	gint64 list_id;
	gint64 subscriber_id, delivery_id;	/* 0: not known */
	const char *feedback_type, *user_agent;	/* each may be NULL */
	const char *reporter;		/* the envelope sender */
	const char *recipient;		/* the reported one, may be NULL */
	const char *digest;
	GBytes *raw;
};

/* store_complaint_find - a complaint with DIGEST on LIST_ID (any list
 * when LIST_ID is 0): its id, 0 when none, -1 on error */
gint64 store_complaint_find(struct store *store, const char *digest,
    gint64 list_id, GError **error);

/* store_complaint_record - store C */
gboolean store_complaint_record(struct store *store,
    const struct store_complaint *c, GError **error);

struct store_bounce_arrival {
	gint64 list_id;
	gint64 subscriber_id, delivery_id;	/* from the token, 0: none */
	const char *token;		/* the verified token, may be NULL */
	const char *envelope_from;
	const char *digest;
	gint64 mail_id;			/* the stored bounce mail, 0: none */
};

/* store_bounce_arrival_find - a bounce with DIGEST on LIST_ID handled
 * before: its id, 0 when none, -1 on error */
gint64 store_bounce_arrival_find(struct store *store, const char *digest,
    gint64 list_id, GError **error);

/* store_bounce_arrival_add - note that bounce B arrived and was handled */
gboolean store_bounce_arrival_add(struct store *store,
    const struct store_bounce_arrival *b, GError **error);

/* ------------------------------------------------------------------ */
/* Memberships and subscribers, as the subscriber actions see them */

/* store_membership_lists_of - the list ids SUB is on and not
 * blocklisted (gint64), NULL on error */
GArray *store_membership_lists_of(struct store *store, gint64 sub,
    GError **error);

/* store_membership_blocklisted - *OUT TRUE if SUB is blocklisted on any
 * list */
gboolean store_membership_blocklisted(struct store *store, gint64 sub,
    gboolean *out, GError **error);

/* store_membership_names - SUB's memberships as pairs (list name,
 * status) in one flat array, by list name; NULL on error */
GPtrArray *store_membership_names(struct store *store, gint64 sub,
    GError **error);

/* store_membership_pending_before - the pending memberships changed
 * before CUTOFF (unix time), as pairs (list id, subscriber id) of
 * gint64 in one flat array; NULL on error */
GArray *store_membership_pending_before(struct store *store, gint64 cutoff,
    GError **error);

/* store_membership_pending_drop - remove SUB's membership of LIST_ID if
 * it is still pending */
gboolean store_membership_pending_drop(struct store *store, gint64 list_id,
    gint64 sub, GError **error);

/* store_subscriber_add_if_new - a subscriber with EMAIL (and NAME, may
 * be NULL) unless one has that address; *FRESH TRUE when it is new */
gboolean store_subscriber_add_if_new(struct store *store, const char *email,
    const char *name, gboolean *fresh, GError **error);

/* ------------------------------------------------------------------ */
/* Confirmations asked (table confirmations: ACTION is "subscribe" or
 * "unsubscribe") */

/* store_confirmation_asked - when ACTION was last asked of SUB on
 * LIST_ID: 1 and *WHEN set, 0 never, -1 on error */
int store_confirmation_asked(struct store *store, gint64 list_id,
    gint64 sub, const char *action, gint64 *when, GError **error);

/* store_confirmation_note - ACTION asked of SUB on LIST_ID at NOW */
gboolean store_confirmation_note(struct store *store, gint64 list_id,
    gint64 sub, const char *action, gint64 now, GError **error);

/* store_confirmation_clear - forget ACTION asked of SUB on LIST_ID */
gboolean store_confirmation_clear(struct store *store, gint64 list_id,
    gint64 sub, const char *action, GError **error);

/* store_confirmation_expire - forget every request older than CUTOFF */
gboolean store_confirmation_expire(struct store *store, gint64 cutoff,
    GError **error);

/* ------------------------------------------------------------------ */
/* herald serve: its connections and the archive */

struct store_serve_options {
	int busy_timeout_ms;	/* how long a request waits for a lock */
	int cache_kb;		/* the connection's page cache */
};

/* store_serve_open - a durable connection to the store CONFIG names (a
 * commit is on disk when it returns) with the options O */
struct store *store_serve_open(const struct config *config,
    const struct store_serve_options *o, GError **error);

/* store_serve_ping - the store answers a query */
gboolean store_serve_ping(struct store *store, GError **error);

/* one campaign of a list's archive */
struct store_archive_issue {
	gint64 id;
	char *announcement;	/* the announcement file's path */
	gint64 when;		/* started (or created), unix time */
};

/* store_archive_issues - the campaigns of LIST's archive (started, and
 * done, sending or waiting, and sent to one recipient at least: one that
 * every relay refused reached nobody), newest first, at most 50; only campaign
 * WANT unless it is 0. An array of struct store_archive_issue that
 * frees its paths, NULL on error */
GArray *store_archive_issues(struct store *store, const char *list,
    gint64 want, GError **error);

#endif
