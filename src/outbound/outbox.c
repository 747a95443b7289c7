/*
 * outbox.c - the outbox table (migration 7): notices queued with the
 * change that caused them, sent after its commit (see outbox.h for the
 * contract).
 *
 * A row is queued, then sent or failed. next_attempt is both the retry
 * schedule and the claim: whoever moves it past NOW (with an UPDATE that
 * only matches a due, queued row) owns the row until then. Each state
 * change is one statement, so it needs no transaction of its own; the
 * SMTP session is never held inside a write transaction.
 */
#include <string.h>

#include "herald.h"
#include "outbox.h"
#include "mailer.h"

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
	g_autoptr(sqlite3_stmt) st = NULL;
	g_autofree char *to = NULL;
	gsize len;
	const void *data = g_bytes_get_data(message, &len);

	if (rcpts == NULL || rcpts[0] == NULL) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_SOFTWARE,
		    "outbox: a %s notice with no recipient", kind);
		return FALSE;
	}
	to = g_strjoinv("\n", (char **)rcpts);
	st = store_prepare(store, "INSERT INTO outbox(created, list_id,"
	    " subscriber_id, kind, envelope_from, recipients, message,"
	    " next_attempt) VALUES (?1, nullif(?2, 0), nullif(?3, 0), ?4, ?5,"
	    " ?6, ?7, ?8)", error);
	if (st == NULL)
		return FALSE;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, list_id);
	sqlite3_bind_int64(st, 3, subscriber_id);
	sqlite3_bind_text(st, 4, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, envelope_from, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, to, -1, SQLITE_STATIC);
	sqlite3_bind_blob64(st, 7, data, len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, now + OUTBOX_LEASE);
	if (!store_step_done(store, st, "queueing a notice", error))
		return FALSE;
	if (id != NULL)
		*id = sqlite3_last_insert_rowid(store->db);
	return TRUE;
}

/* outbox_claim - take row ID if it is queued and due; *MINE says so */
static gboolean
outbox_claim(struct store *store, gint64 id, gint64 now, gboolean *mine,
    GError **error)
{
	g_autoptr(sqlite3_stmt) st = store_prepare(store, "UPDATE outbox SET"
	    " next_attempt = ?2 WHERE id = ?1 AND state = 'queued' AND"
	    " next_attempt <= ?3", error);

	if (st == NULL)
		return FALSE;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, now + OUTBOX_LEASE);
	sqlite3_bind_int64(st, 3, now);
	if (!store_step_done(store, st, "claiming a notice", error))
		return FALSE;
	*mine = sqlite3_changes(store->db) == 1;
	return TRUE;
}

/* outbox_record - the outcome of one attempt at row ID */
static gboolean
outbox_record(struct store *store, gint64 id, enum outbox_outcome outcome,
    int attempts, const char *reason, gint64 now, GError **error)
{
	g_autoptr(sqlite3_stmt) st = NULL;
	gint64 delay = OUTBOX_RETRY;
	int i;

	for (i = 1; i < attempts && delay < OUTBOX_RETRY_MAX; i++)
		delay *= 2;
	if (delay > OUTBOX_RETRY_MAX)
		delay = OUTBOX_RETRY_MAX;
	st = store_prepare(store, "UPDATE outbox SET attempts = ?2,"
	    " state = ?3, next_attempt = ?4, finished = CASE WHEN ?3 = 'queued'"
	    " THEN NULL ELSE ?5 END, error = ?6 WHERE id = ?1", error);
	if (st == NULL)
		return FALSE;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, attempts);
	sqlite3_bind_text(st, 3, outcome == OUTBOX_SENT ? "sent" :
	    outcome == OUTBOX_DEFERRED ? "queued" : "failed", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now + delay);
	sqlite3_bind_int64(st, 5, now);
	sqlite3_bind_text(st, 6, reason, -1, SQLITE_STATIC);
	return store_step_done(store, st, "recording a notice's outcome",
	    error);
}

/* outbox_try - see outbox.h */
gboolean
outbox_try(struct store *store, const struct config *config, gint64 id,
    gboolean claimed, gint64 now, enum outbox_outcome *outcome,
    char **reason, GError **error)
{
	g_autoptr(sqlite3_stmt) st = NULL;
	g_autoptr(GError) smtp_error = NULL;
	g_autoptr(GBytes) bytes = NULL;
	g_auto(GStrv) rcpts = NULL;
	g_autofree char *envelope = NULL;
	struct mailer mailer = { config, store };
	gboolean mine = claimed;
	int attempts, rc;

	*outcome = OUTBOX_NOT_MINE;
	if (reason != NULL)
		*reason = NULL;
	if (!claimed && !outbox_claim(store, id, now, &mine, error))
		return FALSE;
	if (!mine)
		return TRUE;
	st = store_prepare(store, "SELECT envelope_from, recipients, message,"
	    " attempts FROM outbox WHERE id = ?1 AND state = 'queued'", error);
	if (st == NULL)
		return FALSE;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return TRUE;
	if (rc != SQLITE_ROW) {
		herald_set_sqlite_error(error, store->db, rc, "reading a notice");
		return FALSE;
	}
	envelope = g_strdup((const char *)sqlite3_column_text(st, 0));
	rcpts = g_strsplit((const char *)sqlite3_column_text(st, 1), "\n", -1);
	bytes = g_bytes_new(sqlite3_column_blob(st, 2),
	    (gsize)sqlite3_column_bytes(st, 2));
	attempts = sqlite3_column_int(st, 3) + 1;
	g_clear_pointer(&st, sqlite3_finalize);

	if (mailer_send(&mailer, envelope, (const char *const *)rcpts, bytes,
	    NULL, &smtp_error))
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
	g_autoptr(sqlite3_stmt) st = store_prepare(store, "SELECT id FROM"
	    " outbox WHERE state = 'queued' AND next_attempt <= ?1"
	    " ORDER BY next_attempt, id LIMIT ?2", error);
	g_autoptr(GArray) ids = g_array_new(FALSE, FALSE, sizeof(gint64));
	enum outbox_outcome oc;
	guint i;
	int rc;

	if (st == NULL)
		return FALSE;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, max > 0 ? (gint64)max : -1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		gint64 id = sqlite3_column_int64(st, 0);

		g_array_append_val(ids, id);
	}
	if (rc != SQLITE_DONE) {
		herald_set_sqlite_error(error, store->db, rc,
		    "reading the outbox");
		return FALSE;
	}
	g_clear_pointer(&st, sqlite3_finalize);
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
	g_autoptr(sqlite3_stmt) st = store_prepare(store, "SELECT count(*)"
	    " FROM outbox WHERE state = 'queued'", error);
	int rc;

	if (st == NULL)
		return -1;
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		herald_set_sqlite_error(error, store->db, rc,
		    "counting the outbox");
		return -1;
	}
	return sqlite3_column_int64(st, 0);
}

/* outbox_prune - see outbox.h */
int
outbox_prune(struct store *store, int days, gint64 now, GError **error)
{
	g_autoptr(sqlite3_stmt) st = store_prepare(store, "DELETE FROM outbox"
	    " WHERE state IN ('sent', 'failed') AND finished < ?1", error);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, now - (gint64)days * 86400);
	if (!store_step_done(store, st, "pruning the outbox", error))
		return -1;
	return sqlite3_changes(store->db);
}
