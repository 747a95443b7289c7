/*
 * report_clicks.h - the engagement part of herald report and campaign
 * show (issue 25): clicks per link (people, and machines apart) with the
 * people's clicks per segment, clicks per minute (a chart in the HTML
 * page), and opens, which are a lower bound (doc/guide/engagement.md).
 *
 * Must stay true: read-only; the sums are those of track_counts, so the
 * text, the page and --json say the same numbers.
 */
#ifndef HERALD_REPORT_CLICKS_H
#define HERALD_REPORT_CLICKS_H

#include <glib.h>
#include "json_out.h"
#include "store.h"

struct report_link_segment {
	char *segment;		/* "" for none */
	gint64 clicks;		/* by people */
};

struct report_link {
	char *url;
	gint64 clicks, machine_clicks;
	GArray *by_segment;	/* struct report_link_segment */
};

struct report_click_minute {
	gint64 minute;		/* unix time, a multiple of 60 */
	gint64 clicks, machine_clicks;
};

struct report_clicks {
	GArray *links;		/* struct report_link, by URL */
	GArray *minutes;	/* struct report_click_minute, in time order */
	gint64 clicks, machine_clicks;
	gint64 opens, machine_opens, opened;	/* opened: deliveries */
};

/* report_clicks_build - campaign ID's; NULL and *ERROR */
struct report_clicks *report_clicks_build(struct store *store, gint64 id,
    GError **error);
void report_clicks_free(struct report_clicks *c);

/* report_clicks_text - the lines of herald report, appended to S */
void report_clicks_text(GString *s, const struct report_clicks *c);

/* report_clicks_html - the page's section (links table and the chart of
 * clicks over time), appended to H */
void report_clicks_html(GString *h, const struct report_clicks *c);

/* report_clicks_json - "clicks", "machine_clicks", "opens", …, "links"
 * and "clicks_per_minute" as keys of the object J is in */
void report_clicks_json(struct json_out *j, const struct report_clicks *c);

#endif
