/*
 * store_outbox.c - the outbox table's rows (see store_outbox.h).
 *
 * Must stay true: recipients are stored one a line; each function here
 * is one statement, so it needs no transaction of its own (a queued row
 * is written inside its caller's).
 */
#include <string.h>

#include "herald.h"
#include "store_outbox.h"

/* store_outbox_add - insert a queued row */
gboolean
store_outbox_add(struct store *store, gint64 list_id, gint64 subscriber_id,
    const char *kind, const char *envelope_from, const char *const *rcpts,
    GBytes *message, gint64 now, gint64 next, gint64 *id, GError **error)
{
	g_autofree char *to = g_strjoinv("\n", (char **)rcpts);
	gsize len;
	const void *data = g_bytes_get_data(message, &len);
	gint64 row = 0;

	if (store_get_int(store, "INSERT INTO outbox(created, list_id,"
	    " subscriber_id, kind, envelope_from, recipients, message,"
	    " next_attempt) VALUES (?1, nullif(?2, 0), nullif(?3, 0), ?4, ?5,"
	    " ?6, ?7, ?8) RETURNING id", &row, error, SQ_INT(now), SQ_INT(list_id),
	    SQ_INT(subscriber_id), SQ_TEXT(kind), SQ_TEXT(envelope_from),
	    SQ_TEXT(to), SQ_BLOB(data, len), SQ_INT(next), SQ_END) != 1) {
		g_prefix_error(error, "queueing a notice: ");
		return FALSE;
	}
	if (id != NULL)
		*id = row;
	return TRUE;
}

/* store_outbox_claim - move a due row's next_attempt to UNTIL */
gboolean
store_outbox_claim(struct store *store, gint64 id, gint64 now, gint64 until,
    gboolean *mine, GError **error)
{
	if (!store_run(store, "UPDATE outbox SET next_attempt = ?2 WHERE"
	    " id = ?1 AND state = 'queued' AND next_attempt <= ?3", error,
	    SQ_INT(id), SQ_INT(until), SQ_INT(now), SQ_END)) {
		g_prefix_error(error, "claiming a notice: ");
		return FALSE;
	}
	*mine = store_changes(store) == 1;
	return TRUE;
}

/* store_outbox_get - read a queued row */
int
store_outbox_get(struct store *store, gint64 id, struct store_outbox_row *row,
    GError **error)
{
	g_autoptr(store_rows) rows = NULL;
	const void *data;
	gsize len;
	int found;

	memset(row, 0, sizeof *row);
	rows = store_select(store, "SELECT envelope_from, recipients, message,"
	    " attempts FROM outbox WHERE id = ?1 AND state = 'queued'", error,
	    SQ_INT(id), SQ_END);
	if ((found = store_first_row(rows, error)) != 1) {
		if (found < 0)
			g_prefix_error(error, "reading a notice: ");
		return found;
	}
	row->envelope_from = store_text_dup(rows, 0);
	row->rcpts = g_strsplit(store_text(rows, 1), "\n", -1);
	data = store_blob(rows, 2, &len);
	row->message = g_bytes_new(data, len);
	row->attempts = (int)store_int(rows, 3);
	return 1;
}

/* store_outbox_row_clear - free what ROW holds */
void
store_outbox_row_clear(struct store_outbox_row *row)
{
	g_clear_pointer(&row->envelope_from, g_free);
	g_clear_pointer(&row->rcpts, g_strfreev);
	g_clear_pointer(&row->message, g_bytes_unref);
}

/* store_outbox_record - one attempt's outcome */
gboolean
store_outbox_record(struct store *store, gint64 id, const char *state,
    int attempts, gint64 next, gint64 now, const char *reason,
    GError **error)
{
	if (store_run(store, "UPDATE outbox SET attempts = ?2, state = ?3,"
	    " next_attempt = ?4, finished = CASE WHEN ?3 = 'queued' THEN NULL"
	    " ELSE ?5 END, error = ?6 WHERE id = ?1", error, SQ_INT(id),
	    SQ_INT(attempts), SQ_TEXT(state), SQ_INT(next), SQ_INT(now),
	    SQ_TEXT(reason), SQ_END))
		return TRUE;
	g_prefix_error(error, "recording a notice's outcome: ");
	return FALSE;
}

/* store_outbox_due - the due rows' ids */
GArray *
store_outbox_due(struct store *store, gint64 now, guint max, GError **error)
{
	g_autoptr(store_rows) rows = store_select(store, "SELECT id FROM"
	    " outbox WHERE state = 'queued' AND next_attempt <= ?1"
	    " ORDER BY next_attempt, id LIMIT ?2", error, SQ_INT(now),
	    SQ_INT(max > 0 ? (gint64)max : -1), SQ_END);
	g_autoptr(GArray) ids = g_array_new(FALSE, FALSE, sizeof(gint64));
	GError *err = NULL;

	if (rows == NULL)
		return NULL;
	while (store_next(rows, &err)) {
		gint64 id = store_int(rows, 0);

		g_array_append_val(ids, id);
	}
	if (err == NULL)
		return g_steal_pointer(&ids);
	g_propagate_prefixed_error(error, err, "reading the outbox: ");
	return NULL;
}

/* store_outbox_waiting - count the queued rows */
gint64
store_outbox_waiting(struct store *store, GError **error)
{
	gint64 n = 0;

	if (store_get_int(store, "SELECT count(*) FROM outbox WHERE state ="
	    " 'queued'", &n, error, SQ_END) >= 0)
		return n;
	g_prefix_error(error, "counting the outbox: ");
	return -1;
}

/* store_outbox_prune - delete the finished rows older than BEFORE */
int
store_outbox_prune(struct store *store, gint64 before, GError **error)
{
	if (store_run(store, "DELETE FROM outbox WHERE state IN ('sent',"
	    " 'failed') AND finished < ?1", error, SQ_INT(before), SQ_END))
		return store_changes(store);
	g_prefix_error(error, "pruning the outbox: ");
	return -1;
}
