/*
 * outbox.c - notices queued with the change that caused them, sent after
 * its commit (see outbox.h for the contract; the rows are
 * store_outbox.c's).
 *
 * A row is queued, then sent or failed. next_attempt is both the retry
 * schedule and the claim: whoever moves it past NOW (store_outbox_claim)
 * owns the row until then. Each state change is one statement, so it
 * needs no transaction of its own; the SMTP session is never held inside
 * a write transaction.
 */
#include "herald.h"
#include "outbox.h"
#include "mailer.h"
#include "store_outbox.h"

/* outbox_outcome_name - a word for the log */
const char *
outbox_outcome_name(enum outbox_outcome outcome)
{
	switch (outcome) {
	case OUTBOX_SENT:	return "sent";
	case OUTBOX_DEFERRED:	return "deferred";
	case OUTBOX_FAILED:	return "failed";
	case OUTBOX_NOT_MINE:	return "taken";
	}
	return "unknown";
}

/* outbox_queue - see outbox.h */
gboolean
outbox_queue(struct store *store, gint64 list_id, gint64 subscriber_id,
    const char *kind, const char *envelope_from, const char *const *rcpts,
    GBytes *message, gint64 now, gint64 *id, GError **error)
{
	if (rcpts == NULL || rcpts[0] == NULL) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_SOFTWARE,
		    "outbox: a %s notice with no recipient", kind);
		return FALSE;
	}
	return store_outbox_add(store, list_id, subscriber_id, kind,
	    envelope_from, rcpts, message, now, now + OUTBOX_LEASE, id, error);
}

/* outbox_record - the outcome of one attempt at row ID */
static gboolean
outbox_record(struct store *store, gint64 id, enum outbox_outcome outcome,
    int attempts, const char *reason, gint64 now, GError **error)
{
	gint64 delay = OUTBOX_RETRY;
	int i;

	for (i = 1; i < attempts && delay < OUTBOX_RETRY_MAX; i++)
		delay *= 2;
	if (delay > OUTBOX_RETRY_MAX)
		delay = OUTBOX_RETRY_MAX;
	return store_outbox_record(store, id, outcome == OUTBOX_SENT ? "sent" :
	    outcome == OUTBOX_DEFERRED ? "queued" : "failed", attempts,
	    now + delay, now, reason, error);
}

/* outbox_try - see outbox.h */
gboolean
outbox_try(struct store *store, const struct config *config, gint64 id,
    gboolean claimed, gint64 now, enum outbox_outcome *outcome,
    char **reason, GError **error)
{
	g_autoptr(GError) smtp_error = NULL;
	struct store_outbox_row row;
	struct mailer mailer = { config, store };
	gboolean mine = claimed, sent;
	int attempts, found;

	*outcome = OUTBOX_NOT_MINE;
	if (reason != NULL)
		*reason = NULL;
	if (!claimed && !store_outbox_claim(store, id, now, now + OUTBOX_LEASE,
	    &mine, error))
		return FALSE;
	if (!mine)
		return TRUE;
	if ((found = store_outbox_get(store, id, &row, error)) <= 0)
		return found == 0;
	attempts = row.attempts + 1;
	sent = mailer_send(&mailer, row.envelope_from,
	    (const char *const *)row.rcpts, row.message, NULL, &smtp_error);
	store_outbox_row_clear(&row);
	if (sent)
		*outcome = OUTBOX_SENT;
	else if (smtp_error->code == HERALD_ERROR_TEMP &&
	    attempts < OUTBOX_TRIES)
		*outcome = OUTBOX_DEFERRED;
	else
		*outcome = OUTBOX_FAILED;
	if (reason != NULL && smtp_error != NULL)
		*reason = g_strdup(smtp_error->message);
	return outbox_record(store, id, *outcome, attempts,
	    smtp_error != NULL ? smtp_error->message : NULL, now, error);
}

/* outbox_flush - see outbox.h */
gboolean
outbox_flush(struct store *store, const struct config *config,
    gint64 now, guint max, struct outbox_stats *stats, GError **error)
{
	g_autoptr(GArray) ids = store_outbox_due(store, now, max, error);
	enum outbox_outcome oc;
	guint i;

	if (ids == NULL)
		return FALSE;
	for (i = 0; i < ids->len; i++) {
		if (!outbox_try(store, config, g_array_index(ids, gint64, i), FALSE,
		    now, &oc, NULL, error))
			return FALSE;
		if (stats != NULL) {
			stats->sent += oc == OUTBOX_SENT;
			stats->deferred += oc == OUTBOX_DEFERRED;
			stats->failed += oc == OUTBOX_FAILED;
		}
		if (oc == OUTBOX_DEFERRED)
			break;
	}
	return TRUE;
}

/* outbox_waiting - see outbox.h */
gint64
outbox_waiting(struct store *store, GError **error)
{
	return store_outbox_waiting(store, error);
}

/* outbox_prune - see outbox.h */
int
outbox_prune(struct store *store, int days, gint64 now, GError **error)
{
	return store_outbox_prune(store, now - (gint64)days * 86400, error);
}
