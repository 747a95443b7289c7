/*
 * report.h - one campaign summed up for people: the send curve per
 * minute, outcomes per segment (sent, failed, hard and soft bounces,
 * unsubscribes after the campaign started, replies), bounce kinds, the
 * most frequent reply codes and, when there are several, the relays (sent,
 * deferred, failed and state of each); as text for a terminal, or as one
 * self-contained HTML page with inline SVG charts (herald report).
 *
 * The deliveries table keeps, per recipient, its first and last attempt,
 * not each attempt, so the curve counts a delivery's final outcome (sent
 * or failed) at its last attempt, and one deferral at its first attempt
 * when it is still queued, or was tried more than once and ended sent or
 * failed without a 5xx (a failed one that "campaign retry" tried again
 * and that was refused again was never deferred).
 *
 * The relays are campaign show's (relay_counts): a relay's deferred are
 * the deliveries it last tried that are still queued. With one relay
 * (smtp { } alone, or one relay section, and no other relay named in the
 * deliveries) the report says so in one line instead of a table.
 *
 * Must stay true: read-only; the totals are those of campaign show
 * (campaign_counts, campaign_segment_counts, relay_counts), and the page
 * loads nothing from elsewhere (no scripts, fonts, images or style sheets).
 */
#ifndef HERALD_REPORT_H
#define HERALD_REPORT_H

#include <glib.h>
#include "campaign.h"
#include "config.h"
#include "store.h"
#include "report_clicks.h"

struct report_minute {
	gint64 minute;		/* unix time, a multiple of report.bucket */
	gint64 sent, deferred, failed;
};

struct report_segment {
	char *segment;
	gint64 total, sent, failed, queued;
	gint64 hard, soft;	/* recipients with a hard / soft bounce */
	gint64 unsubscribed;	/* unsubscribed after the campaign started,
				 * and not active again since (Undo) */
	gint64 replies;		/* replies linked to the campaign */
};

struct report_bounce {
	char *kind, *reason;
	gint64 recipients, bounces;
};

struct report_code {
	int code;		/* 0: no reply (connection) */
	char *reply;		/* one sample reply text */
	gint64 count;
};

struct report {
	struct campaign *campaign;
	struct campaign_counts counts;
	GArray *minutes;	/* struct report_minute, in time order, one
				 * per BUCKET seconds */
	gint64 bucket;		/* seconds, chosen from the campaign's length
				 * (report_bucket): about 60 points at most */
	GArray *segments;	/* struct report_segment, campaign order */
	GArray *bounces;	/* struct report_bounce, most recipients first */
	GArray *codes;		/* struct report_code, most frequent first */
	GArray *relays;		/* struct relay_count (relay.h): the config's
				 * relays, then others that tried deliveries */
	gint64 bounced;		/* distinct recipients that bounced */
	gint64 unsubscribed, replies;
	struct report_clicks *clicks;	/* clicks and opens (report_clicks.h) */
};

/* report_build - everything the report shows for campaign ID (CONFIG
 * names the relays); NULL and a NOUSER error for an unknown campaign */
struct report *report_build(struct store *store, const struct config *config,
    gint64 id, GError **error);
void report_free(struct report *r);

/* report_bucket - the curve's bucket, in seconds, for a campaign whose
 * attempts span SPAN seconds (about 60 points at most) */
gint64 report_bucket(gint64 span);

/* report_text - the terminal summary (caller frees) */
char *report_text(const struct report *r);

/* report_html - the page: UTF-8 HTML5, inline CSS and SVG (caller frees) */
char *report_html(const struct report *r);

typedef struct report report;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(report, report_free)

#endif
