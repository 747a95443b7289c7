/*
 * store_reports.h - what herald report reads of one campaign beyond
 * campaign show's totals: the send curve's rows per minute, the outcomes
 * of a segment's recipients after the send (bounces, unsubscribes,
 * replies), and the most frequent last reply codes.
 *
 * The deliveries table keeps, per recipient, its first and last attempt,
 * not each attempt, so a minute counts a delivery's final outcome (sent
 * or failed) at its last attempt, and one deferral at its first attempt
 * when it is still queued, or was tried more than once and ended sent or
 * failed without a 5xx.
 *
 * Must stay true: read-only; the rows are the database's, the filling in
 * and the drawing are report.c's.
 */
#ifndef HERALD_STORE_REPORTS_H
#define HERALD_STORE_REPORTS_H

#include <glib.h>
#include "store.h"

/* one minute of the curve that has something in it */
struct store_report_minute {
	gint64 minute;		/* unix time, a multiple of the bucket */
	gint64 sent, deferred, failed;
};

/* what became of the recipients of one segment of a campaign */
struct store_report_outcome {
	gint64 hard, soft;	/* recipients with a hard / soft bounce */
	gint64 unsubscribed;	/* unsubscribed from the list since SINCE and
				 * not active again (an Undo is no loss) */
	gint64 replies;		/* replies (kind reply) linked to the campaign */
};

/* one last reply code of the deliveries */
struct store_report_code {
	int code;		/* 0: no reply (connection) */
	char *reply;		/* one sample reply text (may be NULL) */
	gint64 count;
};

/* store_report_minutes - the buckets (BUCKET seconds each, from the
 * epoch on) of CAMPAIGN_ID's curve with an attempt in them, in time order (struct store_report_minute), or NULL
 * and *ERROR */
GArray *store_report_minutes(struct store *store, gint64 campaign_id,
    gint64 bucket, GError **error);

/* store_report_span - the first and the last attempt of CAMPAIGN_ID's
 * deliveries (both 0 when none was tried) */
gboolean store_report_span(struct store *store, gint64 campaign_id,
    gint64 *first, gint64 *last, GError **error);

/* store_report_outcome - what became of the recipients of SEGMENT of
 * CAMPAIGN_ID on LIST_ID, unsubscribes counted from SINCE, into *OUT */
gboolean store_report_outcome(struct store *store, gint64 campaign_id,
    gint64 list_id, gint64 since, const char *segment,
    struct store_report_outcome *out, GError **error);

/* store_report_codes - the LIMIT most frequent last reply codes of
 * CAMPAIGN_ID's tried deliveries, most frequent first (struct
 * store_report_code; the array frees the replies), or NULL and *ERROR */
GArray *store_report_codes(struct store *store, gint64 campaign_id,
    int limit, GError **error);

#endif
