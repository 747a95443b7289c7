/*
 * store_schedules.c - a campaign's schedule and its held deliveries in
 * the store (see store_schedules.h).
 *
 * Must stay true: a schedule and the holding of its deliveries are
 * written together or not at all; the counts of a pass are one read.
 */
#include <string.h>

#include "herald.h"
#include "campaign.h"
#include "store_schedules.h"

/* store_schedule_set - the schedule's columns, and hold the deliveries */
gboolean
store_schedule_set(struct store *store, gint64 id, gint64 at,
    const char *window, int daily_cap, GError **error)
{
	if (!store_begin(store, error))
		return FALSE;
	if (!store_run(store, "UPDATE campaigns SET scheduled_at = ?2,"
	    " send_window = ?3, daily_cap = ?4 WHERE id = ?1", error,
	    SQ_INT(id), SQ_INT(at), SQ_TEXT(window), SQ_INT(daily_cap),
	    SQ_END)) {
		g_prefix_error(error, "scheduling the campaign: ");
		goto fail;
	}
	/* rows the snapshot wrote held are left as they are: an UPDATE
	 * that changes nothing still writes every row on PostgreSQL */
	if (!store_run(store, "UPDATE deliveries SET next_attempt = "
	    G_STRINGIFY(CAMPAIGN_HELD) " WHERE campaign_id = ?1 AND state ="
	    " 'queued' AND attempts = 0 AND next_attempt <> "
	    G_STRINGIFY(CAMPAIGN_HELD), error, SQ_INT(id), SQ_END)) {
		g_prefix_error(error, "holding the deliveries: ");
		goto fail;
	}
	return store_commit(store, error);
fail:
	store_rollback(store);
	return FALSE;
}

/* store_schedule_get - the schedule's columns of campaign ID */
int
store_schedule_get(struct store *store, gint64 id, gint64 *at,
    char **window, int *daily_cap, GError **error)
{
	g_autoptr(store_rows) rows = NULL;
	int found;

	*at = 0;
	*window = NULL;
	*daily_cap = 0;
	rows = store_select(store, "SELECT coalesce(scheduled_at, 0),"
	    " send_window, daily_cap FROM campaigns WHERE id = ?1", error,
	    SQ_INT(id), SQ_END);
	if ((found = store_first_row(rows, error)) != 1) {
		if (found < 0)
			g_prefix_error(error, "reading the schedule: ");
		return found;
	}
	*at = store_int(rows, 0);
	*window = store_text_dup(rows, 1);
	*daily_cap = (int)store_int(rows, 2);
	return 1;
}

/* store_schedule_queue - one read of the campaign's deliveries */
gboolean
store_schedule_queue(struct store *store, gint64 id, gint64 now,
    gint64 day_start, struct store_schedule_queue *q, GError **error)
{
	g_autoptr(store_rows) rows = NULL;
	GError *err = NULL;

	memset(q, 0, sizeof *q);
	rows = store_select(store, "SELECT"
	    " count(*) FILTER (WHERE state = 'queued' AND next_attempt = "
	    G_STRINGIFY(CAMPAIGN_HELD) "),"
	    " count(*) FILTER (WHERE state = 'queued' AND next_attempt <= ?2),"
	    " count(*) FILTER (WHERE state = 'queued'),"
	    " count(*) FILTER (WHERE last_attempt >= ?3),"
	    " coalesce(min(next_attempt) FILTER (WHERE state = 'queued' AND"
	    "   next_attempt > ?2 AND next_attempt < " G_STRINGIFY(CAMPAIGN_HELD)
	    "), 0) FROM deliveries WHERE campaign_id = ?1", error, SQ_INT(id),
	    SQ_INT(now), SQ_INT(day_start), SQ_END);
	if (rows == NULL)
		return FALSE;
	if (store_next(rows, &err)) {
		q->held = store_int(rows, 0);
		q->due = store_int(rows, 1);
		q->queued = store_int(rows, 2);
		q->today = store_int(rows, 3);
		q->next_retry = store_int(rows, 4);
	}
	if (err == NULL)
		return TRUE;
	g_propagate_prefixed_error(error, err,
	    "counting the campaign's queue: ");
	return FALSE;
}

/* store_schedule_release - held deliveries made due */
gboolean
store_schedule_release(struct store *store, gint64 id, gint64 n,
    GError **error)
{
	if (store_run(store, "UPDATE deliveries SET next_attempt = 0 WHERE id"
	    " IN (SELECT id FROM deliveries WHERE campaign_id = ?1 AND state ="
	    " 'queued' AND next_attempt = " G_STRINGIFY(CAMPAIGN_HELD)
	    " ORDER BY id LIMIT ?2)", error, SQ_INT(id),
	    SQ_INT(n < 0 ? G_MAXINT64 : n), SQ_END))	/* -1: all of them */
		return TRUE;
	g_prefix_error(error, "releasing deliveries: ");
	return FALSE;
}
