/*
 * campaign.h - campaigns and their deliveries: the snapshot of recipients,
 * the state of each delivery, the campaign's own state, and the lock that
 * keeps two senders off one campaign.
 *
 * A campaign is one announcement sent to one or more segments of a list.
 * campaign_create() snapshots, in one transaction, every active member
 * matching any of the segments (each once, under the first segment that
 * matches, and with every list segment they match), leaving out anyone
 * blocklisted on any list. Each delivery then ends sent or failed, or stays
 * queued with a due time (a 4xx or a connection failure, retried with a
 * doubling back-off until send.max_age after its first attempt).
 *
 * Campaign states: created (snapshot taken, nothing attempted), sending
 * (a sender runs, or ran and was killed: the lock tells which), paused
 * (by a signal, by `campaign pause`, or by the error rate; reason says
 * why), waiting (only deliveries queued for a later retry remain), done,
 * cancelled (queued deliveries stay queued and are never sent).
 *
 * Must stay true: results are recorded in transactions of at most
 * CAMPAIGN_COMMIT_EVERY deliveries per sending thread, so after a kill -9
 * at most send.connections * CAMPAIGN_COMMIT_EVERY recipients the relay
 * accepted are still queued and get a second copy on resume. A delivery
 * leaves 'queued' only through campaign_record().
 */
#ifndef HERALD_CAMPAIGN_H
#define HERALD_CAMPAIGN_H

#include <glib.h>
#include "config.h"
#include "store.h"

#define CAMPAIGN_COMMIT_EVERY 20

/* next_attempt of a scheduled campaign's delivery that schedule.c has
 * not released yet (9999-12-31 23:59:59 UTC): never due, and not a retry
 * time (campaign_counts leaves it out of next_due) */
#define CAMPAIGN_HELD 253402300799

struct campaign {
	gint64 id;
	gint64 list_id;
	char *list;		/* the list's name */
	char *announcement;	/* as given to herald send, made absolute */
	char **segments;	/* in order */
	char *state;
	char *reason;		/* why paused or cancelled, may be NULL */
	gint64 created;
	gint64 started;		/* 0: never */
	gint64 finished;	/* 0: not yet */
	double sending_seconds;	/* time spent sending, over every run */
	char *subject;		/* as sent (its first segment, no one in
				 * particular); NULL: made before herald kept it */
};

struct campaign_counts {
	gint64 total;
	gint64 sent;
	gint64 failed;
	gint64 queued;
	gint64 due;		/* queued and due now */
	gint64 next_due;	/* earliest next_attempt of the queued, 0 none */
};

/* the fate of one delivery, from a sending thread */
enum campaign_fate {
	CAMPAIGN_SENT,
	CAMPAIGN_TEMP,		/* back-off, or failed once past max_age */
	CAMPAIGN_PERM,
	CAMPAIGN_REQUEUE,	/* untouched: due again at once (a pausing run) */
	CAMPAIGN_SKIP,		/* failed without SMTP: no longer active, cannot compose */
};

struct campaign_result {
	gint64 delivery_id;
	enum campaign_fate fate;
	int code;
	char *reply;
	const char *stage;	/* static */
	const char *relay;	/* the relay that tried it (the config's), or
				 * NULL: left as it was */
};

void campaign_result_clear(struct campaign_result *r);

/* campaign_create - snapshot the recipients of SEGMENTS (names defined in
 * LIST) for ANNOUNCEMENT; *ID gets the new campaign. HELD: its deliveries
 * start held (next_attempt CAMPAIGN_HELD), as a scheduled send will hold
 * them, so they are written once. No recipient at all is a NOUSER error
 * and leaves nothing behind. */
gboolean campaign_create(struct store *store, const struct list_config *list,
    const char *announcement, const char *const *segments, gboolean held,
    gint64 *id, GError **error);

/* campaign_set_subject - note the SUBJECT campaign ID goes out with */
gboolean campaign_set_subject(struct store *store, gint64 id,
    const char *subject, GError **error);

/* campaign_delete - remove a campaign nothing was attempted for (the
 * confirmation was declined) */
gboolean campaign_delete(struct store *store, gint64 id, GError **error);

/* campaign_get - NULL and a NOUSER error when there is no campaign ID */
struct campaign *campaign_get(struct store *store, gint64 id, GError **error);
void campaign_free(struct campaign *c);

/* campaign_list - every campaign, newest first (struct campaign *) */
GPtrArray *campaign_list(struct store *store, GError **error);

/* campaign_find_earlier - the newest campaign of ANNOUNCEMENT on LIST_ID
 * that may have mailed anyone or still may: unfinished, done, or
 * cancelled after at least one message was sent. 0 if none, -1 and an
 * error when the store fails. herald send refuses to mail an
 * announcement again without --again while there is one. */
gint64 campaign_find_earlier(struct store *store, gint64 list_id,
    const char *announcement, GError **error);

gboolean campaign_counts(struct store *store, gint64 id,
    struct campaign_counts *counts, GError **error);

/* campaign_segment_counts - per segment (in campaign order) the number of
 * deliveries in each state: rows of {segment, total, sent, failed, queued} */
struct campaign_segment_count {
	char *segment;
	gint64 total, sent, failed, queued;
};
GArray *campaign_segment_counts(struct store *store, const struct campaign *c,
    GError **error);

/* campaign_errors - failed and queued deliveries grouped by stage, code
 * and reply, most frequent first, at most LIMIT rows */
struct campaign_error_group {
	char *stage;
	int code;
	char *reply;
	gint64 count;
	gint64 failed;		/* of which failed for good */
};
GArray *campaign_errors(struct store *store, gint64 id, int limit,
    GError **error);

/* campaign_set_state - set state and reason (NULL clears it) */
gboolean campaign_set_state(struct store *store, gint64 id, const char *state,
    const char *reason, GError **error);

/* campaign_requeue - every failed delivery back to queued with a fresh
 * max_age window, and every queued one due now; *N gets how many failed
 * ones came back (may be NULL). */
gboolean campaign_requeue(struct store *store, gint64 id, gint64 *n,
    GError **error);

/* campaign_record - results of one sending thread, in one transaction:
 * SENT and PERM are final, TEMP backs off (retry_base doubling per
 * attempt, the last try at max_age after the first) or fails past
 * max_age, REQUEUE leaves the delivery queued and due, SKIP fails it.
 * A PERM that is a 5xx at RCPT or DATA is also a hard bounce, recorded
 * through bounce_policy_record_sync() in the same transaction. */
gboolean campaign_record(struct store *store, const struct config *config,
    const struct campaign_result *results, guint n, GError **error);

/* campaign_finish_run - after a run: add SECONDS of sending, and set the
 * state (paused with REASON when REASON is not NULL; else done or waiting
 * by what is left queued; a cancelled or paused campaign keeps its
 * state). */
gboolean campaign_finish_run(struct store *store, gint64 id, double seconds,
    const char *reason, GError **error);

/* The lock: on SQLite a flock(2) on DATA_DIR/campaign-ID.lock, released
 * by the kernel when the process dies however it dies, so one process
 * sends a campaign. On PostgreSQL instead a session advisory lock in
 * shared mode on STORE's connection (released by the server when the
 * connection ends, a host killed included): any number of herald
 * processes on any hosts send one campaign at once, sharing its rows by
 * claims (store_claims.h), and campaign_locked sees them all (the file
 * is only opened). campaign_lock returns the descriptor, or -1 and a
 * TEMP error naming the holder. */
int campaign_lock(struct store *store, const char *data_dir, gint64 id,
    GError **error);
void campaign_unlock(struct store *store, int fd, gint64 id);
/* campaign_start_lock - on PostgreSQL, the campaign's start lock, waited
 * for (herald run on several hosts decides and releases a scheduled
 * campaign once); TRUE at once on SQLite. campaign_start_unlock lets
 * go. */
gboolean campaign_start_lock(struct store *store, gint64 id,
    GError **error);
void campaign_start_unlock(struct store *store, gint64 id);
/* campaign_locked - TRUE while some process (some host) holds the lock */
gboolean campaign_locked(struct store *store, const char *data_dir,
    gint64 id);

/* g_autoptr needs a type name: this typedef exists for it alone */
typedef struct campaign campaign;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(campaign, campaign_free)

#endif
