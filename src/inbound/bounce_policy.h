/*
 * bounce_policy.h - what herald does with a bounce once it has one: store
 * it, score it against the membership it names, disable the membership at
 * the list's threshold, warn the subscriber, and in the end remove them.
 * The classifier (bounce.h) says what a message reports; this module
 * decides what that means for a list, and sends the notices. Scoring a
 * membership, and every read and write of the bounce tables, is the
 * store's half (store_bounces.h), so that the sender can score a 5xx
 * without calling up into this layer.
 *
 * Entry points:
 *   bounce_policy_handle()      a returned message, from herald pipe's
 *                               LIST-bounces[+TOKEN]@ route
 *   store_bounce_record_sync()  a 5xx the SMTP server gave at RCPT or DATA,
 *                               from the sender (store_bounces.h)
 *   bounce_policy_maintain()    the daily run (herald maintain): warnings,
 *                               removals, stale scores, the notice outbox
 *
 * The rules (Mailman's, with the numbers in struct bounce_policy):
 * - a hard bounce adds hard_score, a soft one soft_score; a bounce whose
 *   kind is unknown scores as hard (Mailman does the same with VERP bounces
 *   it cannot parse). At most one bounce scores per subscriber per UTC day:
 *   the day's contribution is the largest of its bounces.
 * - when the last scored day is more than stale_days before today, the
 *   score starts again from zero.
 * - at threshold the membership becomes MEMBER_DISABLED (event "disabled",
 *   channel "bounce"), but only if at least one bounce in the current score
 *   was hard (or unknown, or a synchronous 5xx): soft bounces alone never
 *   disable, so they never remove anyone. threshold 0 turns disabling off.
 * - herald maintain then queues up to `warnings` warnings to the subscriber,
 *   warning_interval_days apart, and warning_interval_days after the last
 *   one (at its first run when warnings is 0) unsubscribes them (event
 *   "removed", channel "bounce").
 * - the owners are told of a disable and a removal when notify_owner.
 * - a bounce without a token that verifies is matched by address, and acts
 *   only on an active member of that list; anything else is stored, never
 *   acted on.
 *
 * Notices (owner notices, warnings) go into the bounce_notices table in the
 * same transaction as the change they report, and are delivered after the
 * commit through a struct bounce_notifier the caller supplies; a notice
 * that could not be sent (no notifier, a TEMP error) stays queued and the
 * next herald maintain tries again.
 *
 * Must stay true: every bounce handed in is stored (bounces, bounce_mail)
 * in one transaction before a function returns TRUE; a database that is
 * busy or full is a TEMP error and leaves nothing half-written. `now` is
 * always the caller's (unix seconds), so tests can move time.
 */
#ifndef HERALD_BOUNCE_POLICY_H
#define HERALD_BOUNCE_POLICY_H

#include <glib.h>
#include <gmime/gmime.h>

#include "config.h"
#include "store.h"
#include "store_bounces.h"
#include "token.h"

#define BOUNCE_POLICY_RAW_MAX		(64 * 1024)	/* raw bytes stored */
#define BOUNCE_POLICY_HEADERS_MAX	(16 * 1024)	/* header bytes stored */
#define BOUNCE_POLICY_NOTICE_TRIES	10		/* then a notice fails */

/* What a VERP token that verified (token_verify, TOKEN_BOUNCE) named. */
struct bounce_verp {
	gint64	subscriber_id;
	gint64	delivery_id;		/* the token's extra id; 0 if none */
};

/* What one call did, for the caller's log line and for tests. */
struct bounce_outcome {
	gint64	mail_id;		/* the bounce_mail row; 0 for sync */
	int	stored;			/* bounces rows written */
	int	scored;			/* of them, that changed a score */
	int	disabled;		/* memberships this call disabled */
	int	notices;		/* notices queued */
	int	notices_sent;		/* of them, delivered after the commit */
};

/* One notice to deliver: plain text, UTF-8. The notifier composes the
 * message (From the list's -owner address, To the recipients). */
struct bounce_notice {
	gint64				 id;		/* bounce_notices row */
	enum bounce_notice_kind		 kind;
	const struct list_config	*list;
	gint64				 subscriber_id;	/* 0 if none */
	char				**to;		/* NULL-terminated */
	const char			*subject;
	const char			*body;
};

/* How notices leave. send returns TRUE when the relay took the message;
 * FALSE with a TEMP error keeps it queued, any other error fails it. */
struct bounce_notifier {
	gboolean	(*send)(void *data, const struct bounce_notice *notice,
			    GError **error);
	void		*data;
};

/* bounce_policy_mail_notice - a bounce_notifier send function that
 * composes NOTICE as a herald notice (notice.h: From LIST-request@, the
 * list's List-Id, Auto-Submitted) and hands it to MAILER (a const struct
 * mailer *, mailer.h: smtp { } or the relays). Warnings carry Reply-To:
 * LIST-owner@. An address notice_may_send_to() refuses is a PERM error.
 * Use:
 *   struct mailer m = { config, store };
 *   struct bounce_notifier n = { bounce_policy_mail_notice, &m }; */
gboolean bounce_policy_mail_notice(void *mailer,
    const struct bounce_notice *notice, GError **error);

/* bounce_policy_handle - store and act on one returned message for LIST.
 * VERP: the verified token (NULL when the address had none or it did not
 * verify); then a herald VERP address found inside the message is tried
 * with KEY (may be NULL); without either, the report's recipients are
 * matched to active members of LIST. MSG is the parsed message (NULL: it is
 * parsed from RAW); RAW/RAW_LEN the bytes as received (NULL: MSG is
 * written out), of which the first BOUNCE_POLICY_RAW_MAX are kept.
 * NOTIFIER may be NULL (notices stay queued; so they do when the call is
 * nested in the caller's transaction: flush with bounce_policy_flush()
 * after committing, or leave them to herald maintain). OUTCOME may be NULL.
 * FALSE and an error (TEMP on a busy or full database) when nothing was
 * stored; a notice that fails to send after the commit is not an error. */
gboolean bounce_policy_handle(struct store *store,
    const struct list_config *list, const struct bounce_verp *verp,
    GMimeMessage *msg, const char *raw, gsize raw_len,
    const struct token_key *key, gint64 now,
    const struct bounce_notifier *notifier, struct bounce_outcome *outcome,
    GError **error);

struct bounce_maintenance {
	int	warned;			/* warnings queued */
	int	removed;		/* memberships removed */
	int	expired;		/* stale scores dropped */
	int	cleared;		/* scores of members re-enabled or gone */
	int	notices_sent;
	int	notices_failed;		/* given up on this run */
	int	notices_queued;		/* still waiting after this run */
};

/* bounce_policy_maintain - for every configured list: queue the warnings
 * that are due, remove the members whose warnings ran out, drop stale
 * scores and scores of members no longer disabled by bounces; then deliver
 * the notice outbox through NOTIFIER (may be NULL). OUT may be NULL. */
gboolean bounce_policy_maintain(struct store *store,
    const struct config *config, gint64 now,
    const struct bounce_notifier *notifier, struct bounce_maintenance *out,
    GError **error);

/* bounce_policy_flush - deliver queued notices through NOTIFIER; counts in
 * *SENT, *FAILED and *QUEUED (each may be NULL). */
gboolean bounce_policy_flush(struct store *store, const struct config *config,
    gint64 now, const struct bounce_notifier *notifier, int *sent,
    int *failed, int *queued, GError **error);

/* bounce_policy_members - one row per subscriber (and per unmatched
 * address) with a stored bounce on LIST (NULL: every list), the highest
 * score first. */
GPtrArray *bounce_policy_members(struct store *store, const char *list,
    GError **error);

/* bounce_policy_campaign - bounce rate of CAMPAIGN_ID by kind and reason */
struct bounce_campaign_report *bounce_policy_campaign(struct store *store,
    gint64 campaign_id, GError **error);

#endif
