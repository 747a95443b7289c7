/*
 * store_bounces.h - bounces and bounce scores in the store: the returned
 * messages (bounce_mail), one row per bounced recipient (bounces), the
 * score of each membership (bounce_scores), the notice outbox
 * (bounce_notices) and the reports herald bounces prints.
 *
 * This is the store half of the bounce policy (bounce_policy.h has the
 * rules and the other half: classifying a message, the daily warnings,
 * sending notices). Scoring lives here so that the sender
 * (campaign_record) can score a synchronous 5xx without reaching up:
 * store_bounce_apply() decides what one bounce means for its membership
 * (score it, disable it at the threshold, queue the owners' notice) and
 * stores it; store_bounce_record_sync() does that for a 5xx.
 *
 * Must stay true: every function writes inside the caller's transaction
 * unless it says it begins its own; nothing is acted on unless an active
 * membership of the list is named; `now` (unix seconds) is the caller's.
 */
#ifndef HERALD_STORE_BOUNCES_H
#define HERALD_STORE_BOUNCES_H

#include <glib.h>

#include "config.h"
#include "store.h"

enum bounce_notice_kind {
	BOUNCE_NOTICE_OWNER_DISABLED,	/* to the owners: SUB was disabled */
	BOUNCE_NOTICE_WARNING,		/* to the subscriber: n of N */
	BOUNCE_NOTICE_OWNER_REMOVED,	/* to the owners: SUB was removed */
};

/* store_bounce_notice_kind_name - the word stored for KIND */
const char *store_bounce_notice_kind_name(enum bounce_notice_kind kind);
/* store_bounce_notice_kind - KIND's enum from its word, -1 if none */
int store_bounce_notice_kind(const char *name);

/* One bounce to store and maybe act on. Strings are borrowed; an id of 0
 * is stored as NULL. */
struct store_bounce {
	gint64		 list_id;
	gint64		 subscriber_id;		/* 0: unknown */
	gint64		 delivery_id;
	gint64		 campaign_id;
	gint64		 mail_id;
	const char	*source;		/* verp, content, sync */
	const char	*address;
	const char	*kind;			/* hard, soft, unknown */
	const char	*status;
	const char	*reason;
	const char	*diagnostic;
	const char	*action;	/* preset (not-a-bounce…) or NULL */
};

/* What store_bounce_apply did, added up over calls. */
struct store_bounce_tally {
	int	stored;			/* bounces rows written */
	int	scored;			/* of them, that changed a score */
	int	disabled;		/* memberships disabled */
	int	notices;		/* notices queued */
};

/* A returned message as received; strings borrowed, may be NULL. RAW
 * holds RAW_LEN bytes to keep (the caller cuts it), RAW_SIZE is the size
 * of the whole. */
struct store_bounce_mail {
	gint64		 list_id;
	const char	*message_id;
	const char	*from;
	const char	*subject;
	const char	*date;
	const char	*headers;
	const char	*method;
	const char	*raw;
	gsize		 raw_len;
	gint64		 raw_size;
};

/* store_bounce_mail_add - the bounce_mail row of M; its id in *MAIL_ID */
gboolean store_bounce_mail_add(struct store *store,
    const struct store_bounce_mail *m, gint64 now, gint64 *mail_id,
    GError **error);

/* store_bounce_campaign_of - the campaign of DELIVERY_ID, 0 when unknown */
gint64 store_bounce_campaign_of(struct store *store, gint64 delivery_id);

/* store_bounce_subscriber_email - the address of subscriber ID (caller
 * frees), NULL with no error when there is no such subscriber */
char *store_bounce_subscriber_email(struct store *store, gint64 id,
    GError **error);

/* store_bounce_match - append to IDS (gint64) every subscriber with a
 * membership (any status) of LIST_ID whose address, lowercased, is
 * LOWER (an address in lowercase), in the order of their ids */
gboolean store_bounce_match(struct store *store, gint64 list_id,
    const char *lower, GArray *ids, GError **error);

/* store_bounce_apply - decide what B means for its membership of LIST
 * (B's action when preset; not-member, inactive, already-disabled; else
 * score it by LIST's policy: scored, same-day, disabled), act, and store
 * the bounces row; counts added to *TALLY */
gboolean store_bounce_apply(struct store *store,
    const struct list_config *list, const struct store_bounce *b,
    gint64 now, struct store_bounce_tally *tally, GError **error);

/* store_bounce_record_sync - the SMTP server refused SUBSCRIBER_ID's
 * delivery DELIVERY_ID (0 if none) with a 5xx at RCPT or DATA: STATUS is
 * the enhanced status code ("5.1.1", or NULL), REPLY the server's reply
 * text. Stored with source "sync" and scored as a hard bounce. LIST_ID 0:
 * looked up from LIST. Nests inside the caller's transaction if it has one
 * (store_begin); queued notices are left for herald maintain. */
gboolean store_bounce_record_sync(struct store *store,
    const struct list_config *list, gint64 list_id, gint64 subscriber_id,
    gint64 delivery_id, const char *status, const char *reply, gint64 now,
    GError **error);

/* The notice outbox. */

/* store_bounce_notice_add - queue a notice of KIND to TO (NULL-terminated) */
gboolean store_bounce_notice_add(struct store *store, gint64 list_id,
    gint64 subscriber_id, enum bounce_notice_kind kind,
    const char *const *to, const char *subject, const char *body,
    gint64 now, GError **error);

/* store_bounce_notify_owners - queue a notice of KIND to LIST's owners if
 * the list wants them; *QUEUED (may be NULL) counts it */
gboolean store_bounce_notify_owners(struct store *store,
    const struct list_config *list, gint64 list_id, gint64 subscriber_id,
    enum bounce_notice_kind kind, const char *subject, const char *body,
    gint64 now, int *queued, GError **error);

/* store_bounce_notice_next_id - the id the next queued notice gets at
 * least (G_MAXINT64 when it cannot be read) */
gint64 store_bounce_notice_next_id(struct store *store);

/* A queued notice as read back. */
struct store_bounce_notice {
	gint64	 id;
	char	*kind;
	char	*list;
	gint64	 subscriber_id;		/* 0 if none */
	char	*recipients;		/* one a line */
	char	*subject;
	char	*body;
	gint64	 attempts;
};

/* store_bounce_notices_queued - the queued notices with id >= FROM_ID, of
 * LIST (NULL: every list), oldest first (struct store_bounce_notice *) */
GPtrArray *store_bounce_notices_queued(struct store *store, gint64 from_id,
    const char *list, GError **error);

/* store_bounce_notice_mark - one attempt at notice ID: STATE (queued,
 * sent, failed), SENT_AT (0: none), the error's text (may be NULL) */
gboolean store_bounce_notice_mark(struct store *store, gint64 id,
    const char *state, gint64 sent_at, const char *why, GError **error);

/* herald maintain's reads and writes. */

/* store_bounce_scores_clear - drop the scores of LIST_ID's members no
 * longer in the state that made them (active, or disabled once
 * disabled); *N += how many */
gboolean store_bounce_scores_clear(struct store *store, gint64 list_id,
    int *n, GError **error);

/* store_bounce_scores_expire - drop scores not disabled whose last day is
 * more than STALE_DAYS before DAY; *N += how many */
gboolean store_bounce_scores_expire(struct store *store, gint64 list_id,
    gint64 day, int stale_days, int *n, GError **error);

/* A membership disabled by bounces. */
struct store_bounce_disabled {
	gint64	 subscriber_id;
	char	*email;
	gint64	 disabled_at;
	int	 warnings_sent;
	gint64	 last_warning_at;	/* 0: none yet */
};

/* store_bounce_disabled - LIST_ID's members still disabled by bounces, in
 * the order they were disabled (struct store_bounce_disabled *) */
GPtrArray *store_bounce_disabled(struct store *store, gint64 list_id,
    GError **error);

/* store_bounce_warned - warning N of SUBSCRIBER_ID's went out at NOW */
gboolean store_bounce_warned(struct store *store, gint64 list_id,
    gint64 subscriber_id, int n, gint64 now, GError **error);

/* store_bounce_remove - unsubscribe SUBSCRIBER_ID from LIST_ID at NOW and
 * drop the score (the caller logs the event) */
gboolean store_bounce_remove(struct store *store, gint64 list_id,
    gint64 subscriber_id, gint64 now, GError **error);

/* Reports for herald bounces. */
struct bounce_member_row {
	char	*list;
	gint64	 subscriber_id;		/* 0: an address that matched nobody */
	char	*email;
	char	*membership;		/* MEMBER_* or NULL */
	double	 score;
	int	 bounces;		/* stored bounces */
	gint64	 last_at;
	char	*kind;			/* of the last bounce */
	char	*status;		/* may be NULL */
	char	*reason;
	char	*source;
	gint64	 disabled_at;		/* 0 if not disabled by bounces */
	int	 warnings_sent;
};

struct bounce_campaign_row {
	char	*kind;
	char	*reason;
	gint64	 recipients;		/* distinct bounced recipients */
	gint64	 bounces;
};

struct bounce_campaign_report {
	gint64		 campaign_id;
	gint64		 recipients;	/* its deliveries; -1: unknown */
	gint64		 bounced;	/* distinct recipients that bounced */
	GPtrArray	*rows;		/* struct bounce_campaign_row * */
};

/* store_bounce_members - one row per subscriber (and per unmatched
 * address) with a stored bounce on LIST (NULL: every list), the highest
 * score first (struct bounce_member_row *) */
GPtrArray *store_bounce_members(struct store *store, const char *list,
    GError **error);

/* store_bounce_campaign - bounce rate of CAMPAIGN_ID by kind and reason;
 * a NOUSER error when there is no such campaign */
struct bounce_campaign_report *store_bounce_campaign(struct store *store,
    gint64 campaign_id, GError **error);
void bounce_campaign_report_free(struct bounce_campaign_report *report);

#endif
