/*
 * report.c - herald report: one campaign as a text summary or as one
 * self-contained HTML page (see report.h). report_build() reads
 * everything in a few queries; the writers only format. The page is
 * HTML5 with its CSS in a <style> element and its charts as inline SVG
 * drawn here (a send curve, stacked bars per segment and per relay, bars
 * of bounce kinds and reply codes), so it can be mailed or archived as one file and
 * opens the same anywhere; every string from the database is escaped.
 * The numbers carry ids and classes (n-sent, tr[data-segment] td.sent,
 * tr[data-relay] td.deferred, #relay-one…)
 * that the test reads back in a browser.
 *
 * Must stay true: report.h's (read-only, campaign show's totals, nothing
 * loaded from elsewhere); the ids and classes above stay as they are;
 * no SQL here (store_reports.h, campaign.h, relay.h, bounce_policy.h).
 */
#include <math.h>
#include <string.h>

#include "herald.h"
#include "bounce_policy.h"
#include "relay.h"
#include "report.h"
#include "store_reports.h"

/* the curve's buckets are filled in with zeros over at most this many */
#define REPORT_FILL_MINUTES	1440
/* the curve has about this many points at most (its bucket is chosen) */
#define REPORT_POINTS		60
#define REPORT_CODES		8

static const char *const report_colors[] = { "#2e7d32", "#f9a825", "#c62828",
    "#6d6d6d" };

/* report_segment_clear - an element of report.segments */
static void
report_segment_clear(gpointer p)
{
	g_free(((struct report_segment *)p)->segment);
}

/* report_bounce_clear - an element of report.bounces */
static void
report_bounce_clear(gpointer p)
{
	struct report_bounce *b = p;

	g_free(b->kind);
	g_free(b->reason);
}

/* report_code_clear - an element of report.codes */
static void
report_code_clear(gpointer p)
{
	g_free(((struct report_code *)p)->reply);
}

/* report_free - free R (NULL is fine) */
void
report_free(struct report *r)
{
	if (r == NULL)
		return;
	campaign_free(r->campaign);
	if (r->minutes != NULL)
		g_array_unref(r->minutes);
	if (r->segments != NULL)
		g_array_unref(r->segments);
	if (r->bounces != NULL)
		g_array_unref(r->bounces);
	if (r->codes != NULL)
		g_array_unref(r->codes);
	if (r->relays != NULL)
		g_array_unref(r->relays);
	report_clicks_free(r->clicks);
	g_free(r);
}

/* report_bucket - the curve's bucket for a campaign whose attempts span
 * SPAN seconds: the smallest round length (1 s up to a day) that gives
 * at most REPORT_POINTS points, so a campaign of a few seconds is drawn
 * second by second and one of a week hour by hour */
gint64
report_bucket(gint64 span)
{
	static const gint64 steps[] = { 1, 2, 5, 10, 15, 30, 60, 120, 300, 600,
	    900, 1800, 3600, 7200, 10800, 21600, 43200, 86400 };
	guint i;

	for (i = 0; i < G_N_ELEMENTS(steps); i++)
		if (span / steps[i] < REPORT_POINTS)
			return steps[i];
	return steps[G_N_ELEMENTS(steps) - 1];
}

/* report_minutes - the send curve in buckets of report_bucket, gaps of
 * up to REPORT_FILL_MINUTES buckets filled with 0 */
static gboolean
report_minutes(struct store *store, struct report *r, GError **error)
{
	g_autoptr(GArray) rows = NULL;
	gint64 first, last;
	guint i;

	if (!store_report_span(store, r->campaign->id, &first, &last, error))
		return FALSE;
	r->bucket = report_bucket(last - first);
	if ((rows = store_report_minutes(store, r->campaign->id, r->bucket,
	    error)) == NULL)
		return FALSE;
	for (i = 0; i < rows->len; i++) {
		const struct store_report_minute *row = &g_array_index(rows,
		    struct store_report_minute, i);
		struct report_minute m = { row->minute, row->sent,
		    row->deferred, row->failed };

		if (r->minutes->len > 0) {
			gint64 last = g_array_index(r->minutes,
			    struct report_minute, r->minutes->len - 1).minute;
			struct report_minute zero = { 0 };

			if ((m.minute - last) / r->bucket <= REPORT_FILL_MINUTES)
				for (zero.minute = last + r->bucket; zero.minute <
				    m.minute; zero.minute += r->bucket)
					g_array_append_val(r->minutes, zero);
		}
		g_array_append_val(r->minutes, m);
	}
	return TRUE;
}

/* report_segments - per campaign segment: counts, bounces, unsubscribes
 * (after the campaign was created), replies */
static gboolean
report_segments(struct store *store, struct report *r, GError **error)
{
	g_autoptr(GArray) per = campaign_segment_counts(store, r->campaign,
	    error);
	guint i;

	if (per == NULL)
		return FALSE;
	for (i = 0; i < per->len; i++) {
		const struct campaign_segment_count *c = &g_array_index(per,
		    struct campaign_segment_count, i);
		struct store_report_outcome o;
		struct report_segment s = { 0 };

		if (!store_report_outcome(store, r->campaign->id,
		    r->campaign->list_id, r->campaign->created, c->segment, &o,
		    error))
			return FALSE;
		s.segment = g_strdup(c->segment);
		s.total = c->total;
		s.sent = c->sent;
		s.failed = c->failed;
		s.queued = c->queued;
		s.hard = o.hard;
		s.soft = o.soft;
		s.unsubscribed = o.unsubscribed;
		s.replies = o.replies;
		r->unsubscribed += s.unsubscribed;
		r->replies += s.replies;
		g_array_append_val(r->segments, s);
	}
	return TRUE;
}

/* report_codes - the most frequent last reply codes of the deliveries */
static gboolean
report_codes(struct store *store, struct report *r, GError **error)
{
	g_autoptr(GArray) codes = store_report_codes(store, r->campaign->id,
	    REPORT_CODES, error);
	guint i;

	if (codes == NULL)
		return FALSE;
	for (i = 0; i < codes->len; i++) {
		struct store_report_code *k = &g_array_index(codes,
		    struct store_report_code, i);
		struct report_code c = { k->code, g_steal_pointer(&k->reply),
		    k->count };

		g_array_append_val(r->codes, c);
	}
	return TRUE;
}

/* report_build - read campaign ID's report */
struct report *
report_build(struct store *store, const struct config *config, gint64 id,
    GError **error)
{
	g_autoptr(report) r = g_new0(struct report, 1);
	struct bounce_campaign_report *b;
	guint i;

	r->minutes = g_array_new(FALSE, TRUE, sizeof(struct report_minute));
	r->segments = g_array_new(FALSE, TRUE, sizeof(struct report_segment));
	g_array_set_clear_func(r->segments, report_segment_clear);
	r->bounces = g_array_new(FALSE, TRUE, sizeof(struct report_bounce));
	g_array_set_clear_func(r->bounces, report_bounce_clear);
	r->codes = g_array_new(FALSE, TRUE, sizeof(struct report_code));
	g_array_set_clear_func(r->codes, report_code_clear);
	if ((r->campaign = campaign_get(store, id, error)) == NULL ||
	    !campaign_counts(store, id, &r->counts, error) ||
	    !report_minutes(store, r, error) || !report_segments(store, r, error) ||
	    !report_codes(store, r, error) ||
	    (r->relays = relay_counts(store, config, id, error)) == NULL ||
	    (r->clicks = report_clicks_build(store, id, error)) == NULL ||
	    (b = bounce_policy_campaign(store, id, error)) == NULL)
		return NULL;
	r->bounced = b->bounced;
	for (i = 0; i < b->rows->len; i++) {
		const struct bounce_campaign_row *row = g_ptr_array_index(b->rows,
		    i);
		struct report_bounce rb = { g_strdup(row->kind),
		    g_strdup(row->reason), row->recipients, row->bounces };

		g_array_append_val(r->bounces, rb);
	}
	bounce_campaign_report_free(b);
	return g_steal_pointer(&r);
}

/* report_time - unix time T as FORMAT in UTC, "-" for none (caller frees) */
static char *
report_time(gint64 t, const char *format)
{
	g_autoptr(GDateTime) d = t > 0 ? g_date_time_new_from_unix_utc(t) : NULL;

	return d != NULL ? g_date_time_format(d, format) : g_strdup("-");
}

/* report_pct - N of OF as "12.5%" ("-" when OF is 0; caller frees) */
static char *
report_pct(gint64 n, gint64 of)
{
	return of > 0 ? g_strdup_printf("%.1f%%", 100.0 * n / of) :
	    g_strdup("-");
}

/* report_relay_state - relay C's last known state and its reason, as
 * campaign show prints it ("unused" for a relay never tried; caller
 * frees) */
static char *
report_relay_state(const struct relay_count *c)
{
	return g_strdup_printf("%s%s%s", c->state != NULL ? c->state : "unused",
	    c->reason != NULL ? ": " : "", c->reason != NULL ? c->reason : "");
}

/* report_text_relays - one line for a single relay, else a table */
static void
report_text_relays(GString *s, const struct report *r)
{
	guint i;

	if (r->relays->len == 1) {
		const struct relay_count *c = &g_array_index(r->relays,
		    struct relay_count, 0);
		g_autofree char *state = report_relay_state(c);

		g_string_append_printf(s, "\none relay: %s, %s\n", c->relay,
		    state);
		return;
	}
	g_string_append_printf(s, "\n%-24s %7s %8s %7s  %s\n", "RELAY", "SENT",
	    "DEFERRED", "FAILED", "STATE");
	for (i = 0; i < r->relays->len; i++) {
		const struct relay_count *c = &g_array_index(r->relays,
		    struct relay_count, i);
		g_autofree char *state = report_relay_state(c);

		g_string_append_printf(s, "%-24s %7" G_GINT64_FORMAT " %8"
		    G_GINT64_FORMAT " %7" G_GINT64_FORMAT "  %s\n", c->relay,
		    c->sent, c->deferred, c->failed, state);
	}
}

/* report_bucket_words - a bucket of SECONDS in words ("5 seconds",
 * "minute", "2 hours"; static) */
static const char *
report_bucket_words(gint64 seconds)
{
	static char buf[32];

	if (seconds == 1)
		return "second";
	if (seconds < 60)
		g_snprintf(buf, sizeof(buf), "%" G_GINT64_FORMAT " seconds",
		    seconds);
	else if (seconds == 60)
		return "minute";
	else if (seconds < 3600)
		g_snprintf(buf, sizeof(buf), "%" G_GINT64_FORMAT " minutes",
		    seconds / 60);
	else if (seconds == 3600)
		return "hour";
	else
		g_snprintf(buf, sizeof(buf), "%" G_GINT64_FORMAT " hours",
		    seconds / 3600);
	return buf;
}

/* report_text - the terminal summary */
char *
report_text(const struct report *r)
{
	const struct campaign *c = r->campaign;
	g_autofree char *created = report_time(c->created, "%F %R");
	g_autofree char *started = report_time(c->started, "%F %R");
	g_autofree char *finished = report_time(c->finished, "%F %R");
	g_autofree char *bpct = report_pct(r->bounced, r->counts.total);
	g_autofree char *segs = g_strjoinv(",", c->segments);
	GString *s = g_string_new(NULL);
	guint i;

	g_string_append_printf(s, "campaign %" G_GINT64_FORMAT ": %s to %s (%s),"
	    " %s%s%s\n", c->id, c->announcement, c->list, segs, c->state,
	    c->reason != NULL ? ": " : "", c->reason != NULL ? c->reason : "");
	if (c->subject != NULL)
		g_string_append_printf(s, "subject \"%s\"\n", c->subject);
	g_string_append_printf(s, "created %s, first sent %s, finished %s (UTC)\n",
	    created, started, finished);
	g_string_append_printf(s, "recipients %" G_GINT64_FORMAT ": sent %"
	    G_GINT64_FORMAT ", failed %" G_GINT64_FORMAT ", queued %"
	    G_GINT64_FORMAT "\n", r->counts.total, r->counts.sent,
	    r->counts.failed, r->counts.queued);
	g_string_append_printf(s, "bounced %" G_GINT64_FORMAT " (%s), "
	    "unsubscribed since %" G_GINT64_FORMAT ", replies %" G_GINT64_FORMAT
	    "\n", r->bounced, bpct, r->unsubscribed, r->replies);
	g_string_append_printf(s, "\n%-24s %7s %7s %7s %7s %7s %7s %7s %7s\n",
	    "SEGMENT", "TOTAL", "SENT", "FAILED", "QUEUED", "HARD", "SOFT",
	    "UNSUB", "REPLIES");
	for (i = 0; i < r->segments->len; i++) {
		const struct report_segment *g = &g_array_index(r->segments,
		    struct report_segment, i);

		g_string_append_printf(s, "%-24s %7" G_GINT64_FORMAT " %7"
		    G_GINT64_FORMAT " %7" G_GINT64_FORMAT " %7" G_GINT64_FORMAT
		    " %7" G_GINT64_FORMAT " %7" G_GINT64_FORMAT " %7"
		    G_GINT64_FORMAT " %7" G_GINT64_FORMAT "\n", g->segment,
		    g->total, g->sent, g->failed, g->queued, g->hard, g->soft,
		    g->unsubscribed, g->replies);
	}
	report_text_relays(s, r);
	report_clicks_text(s, r->clicks);
	if (r->minutes->len > 0)
		g_string_append_printf(s, "\n%-19s %7s %8s %7s  (per %s)\n",
		    r->bucket < 60 ? "SECOND (UTC)" : "MINUTE (UTC)", "SENT",
		    "DEFERRED", "FAILED", report_bucket_words(r->bucket));
	for (i = 0; i < r->minutes->len; i++) {
		const struct report_minute *m = &g_array_index(r->minutes,
		    struct report_minute, i);
		g_autofree char *t = report_time(m->minute, r->bucket < 60 ?
		    "%F %T" : "%F %R");

		if (m->sent + m->deferred + m->failed == 0)
			continue;
		g_string_append_printf(s, "%-19s %7" G_GINT64_FORMAT " %8"
		    G_GINT64_FORMAT " %7" G_GINT64_FORMAT "\n", t, m->sent,
		    m->deferred, m->failed);
	}
	if (r->bounces->len > 0)
		g_string_append_printf(s, "\n%-8s %-16s %10s %8s\n", "KIND",
		    "REASON", "RECIPIENTS", "BOUNCES");
	for (i = 0; i < r->bounces->len; i++) {
		const struct report_bounce *b = &g_array_index(r->bounces,
		    struct report_bounce, i);

		g_string_append_printf(s, "%-8s %-16s %10" G_GINT64_FORMAT " %8"
		    G_GINT64_FORMAT "\n", b->kind, b->reason, b->recipients,
		    b->bounces);
	}
	if (r->codes->len > 0)
		g_string_append_printf(s, "\n%8s %5s  %s\n", "COUNT", "CODE",
		    "REPLY (one of them)");
	for (i = 0; i < r->codes->len; i++) {
		const struct report_code *k = &g_array_index(r->codes,
		    struct report_code, i);

		g_string_append_printf(s, "%8" G_GINT64_FORMAT " %5d  %.60s\n",
		    k->count, k->code, k->reply != NULL ? k->reply : "");
	}
	return g_string_free(s, FALSE);
}

/* report_esc - S escaped for HTML text and attribute values, appended */
static void
report_esc(GString *out, const char *s)
{
	g_autofree char *valid = g_utf8_make_valid(s != NULL ? s : "", -1);
	g_autofree char *e = g_markup_escape_text(valid, -1);

	g_string_append(out, e);
}

/* report_axis_max - 4 times a round step (1, 2 or 5 times a power of
 * ten), at or above N: the curve's four grid lines fall on integers */
static gint64
report_axis_max(gint64 n)
{
	gint64 p = 1, need = (n + 3) / 4;

	for (;;) {
		if (need <= p)
			return 4 * p;
		if (need <= 2 * p)
			return 8 * p;
		if (need <= 5 * p)
			return 20 * p;
		p *= 10;
	}
}

/* report_curve_x - the x of point I of N on an axis from X0 to X1 */
static double
report_curve_x(guint i, guint n, double x0, double x1)
{
	return n == 1 ? (x0 + x1) / 2 : x0 + (x1 - x0) * i / (n - 1);
}

/* report_curve_svg - the send curve drawn W units wide (its text is in
 * the units: the narrow one, shown on phones, keeps it legible), class
 * CLS, the axis up to TOP */
static void
report_curve_svg(GString *h, const struct report *r, double w,
    const char *cls, gint64 top)
{
	const double x0 = w < 400 ? 40 : 48, x1 = w - 12, y0 = 200, y1 = 14;
	const char *names[] = { "sent", "deferred", "failed" };
	const char *fmt = r->bucket < 60 ? "%H:%M:%S" : "%H:%M";
	guint n = r->minutes->len, i, k;
	g_autofree char *first = NULL, *last = NULL;

	g_string_append_printf(h, "<svg class=\"chart %s\" viewBox=\"0 0 %.0f "
	    "236\" role=\"img\" aria-label=\"messages per %s\">\n", cls, w,
	    report_bucket_words(r->bucket));
	for (k = 0; k <= 4; k++) {
		double y = y0 - (y0 - y1) * k / 4;

		g_string_append_printf(h, "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\""
		    " y2=\"%.1f\" class=\"grid\"/><text x=\"%.0f\" y=\"%.1f\" "
		    "class=\"tick\" text-anchor=\"end\">%" G_GINT64_FORMAT
		    "</text>\n", x0, y, x1, y, x0 - 6, y + 4, top * k / 4);
	}
	if (n == 0)
		g_string_append_printf(h, "<text x=\"%.0f\" y=\"110\" "
		    "text-anchor=\"middle\" class=\"tick\">nothing sent yet</text>\n",
		    (x0 + x1) / 2);
	for (k = 0; k < 3 && n > 0; k++) {
		g_string_append_printf(h, "<polyline class=\"series\" data-series="
		    "\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2.5\" "
		    "points=\"", names[k], report_colors[k]);
		for (i = 0; i < n; i++) {
			const struct report_minute *m = &g_array_index(r->minutes,
			    struct report_minute, i);
			gint64 v = k == 0 ? m->sent : k == 1 ? m->deferred :
			    m->failed;

			g_string_append_printf(h, "%s%.1f,%.1f", i > 0 ? " " : "",
			    report_curve_x(i, n, x0, x1), y0 - (y0 - y1) * v / top);
		}
		g_string_append(h, "\"/>\n");
		for (i = 0; n <= REPORT_POINTS && i < n; i++) {
			const struct report_minute *m = &g_array_index(
			    r->minutes, struct report_minute, i);
			gint64 v = k == 0 ? m->sent : k == 1 ?
			    m->deferred : m->failed;

			g_string_append_printf(h, "<circle cx=\"%.1f\" "
			    "cy=\"%.1f\" r=\"3.5\" fill=\"%s\"><title>%s: %"
			    G_GINT64_FORMAT "</title></circle>\n",
			    report_curve_x(i, n, x0, x1),
			    y0 - (y0 - y1) * v / top, report_colors[k],
			    names[k], v);
		}
	}
	if (n > 0) {
		first = report_time(g_array_index(r->minutes, struct report_minute,
		    0).minute, fmt);
		last = report_time(g_array_index(r->minutes, struct report_minute,
		    n - 1).minute, fmt);
		g_string_append_printf(h, "<text x=\"%.0f\" y=\"226\" class=\"tick\""
		    " text-anchor=\"%s\">%s</text>\n", n == 1 ? (x0 + x1) / 2 : x0,
		    n == 1 ? "middle" : "start", first);
		if (n > 1)
			g_string_append_printf(h, "<text x=\"%.0f\" y=\"226\" "
			    "class=\"tick\" text-anchor=\"end\">%s</text>\n", x1,
			    last);
	}
	g_string_append(h, "</svg>\n");
}

/* report_curve - the send curve: sent, deferred and failed per bucket
 * (report.bucket) as three lines over time, drawn twice (a wide SVG and
 * a narrow one for phones: CSS shows one), and the totals */
static void
report_curve(GString *h, const struct report *r)
{
	const char *names[] = { "sent", "deferred", "failed" };
	gint64 top = 0, totals[3] = { 0 };
	guint n = r->minutes->len, i, k;

	for (i = 0; i < n; i++) {
		const struct report_minute *m = &g_array_index(r->minutes,
		    struct report_minute, i);

		top = MAX(top, MAX(m->sent, MAX(m->deferred, m->failed)));
		totals[0] += m->sent;
		totals[1] += m->deferred;
		totals[2] += m->failed;
	}
	top = report_axis_max(top);
	report_curve_svg(h, r, 600, "wide", top);
	report_curve_svg(h, r, 340, "narrow", top);
	g_string_append(h, "<p class=\"legend\">");
	for (k = 0; k < 3; k++)
		g_string_append_printf(h, "<span><i style=\"background:%s\"></i>%s "
		    "<b id=\"curve-%s\">%" G_GINT64_FORMAT "</b></span>",
		    report_colors[k], names[k], names[k], totals[k]);
	g_string_append_printf(h, " <small id=\"bucket\">per %s, UTC</small></p>\n",
	    report_bucket_words(r->bucket));
}

/* report_bars_open - a bar chart (rows of report_hbar) named LABEL */
static void
report_bars_open(GString *h, const char *label)
{
	g_string_append_printf(h, "<div class=\"bars\" role=\"group\" "
	    "aria-label=\"%s\">\n", label);
}

/* report_hbar - one row of a horizontal bar chart: LABEL (HTML text: it
 * wraps, never cut), the stacked VALUES (N of them, in COLORS) scaled
 * to TOP in an SVG that stretches to the row's width, and their sum.
 * The label stands above its bar on a narrow screen, beside it on a
 * wide one (flex-wrap: report_css). */
static void
report_hbar(GString *h, const char *label, const gint64 *values, guint n,
    gint64 top, const char *const *names, const char *const *colors)
{
	double x = 0;
	gint64 sum = 0;
	guint k;

	g_string_append(h, "<div class=\"bar\"><span class=\"bl\">");
	report_esc(h, label);
	g_string_append(h, "</span><svg class=\"bs\" viewBox=\"0 0 1000 24\" "
	    "preserveAspectRatio=\"none\" aria-hidden=\"true\">");
	for (k = 0; k < n; k++) {
		double w = top > 0 ? 1000.0 * values[k] / top : 0;

		if (values[k] > 0)
			g_string_append_printf(h, "<rect x=\"%.1f\" y=\"0\" "
			    "width=\"%.1f\" height=\"24\" fill=\"%s\"><title>%s: %"
			    G_GINT64_FORMAT "</title></rect>", x, w, colors[k],
			    names[k], values[k]);
		x += w;
		sum += values[k];
	}
	g_string_append_printf(h, "</svg><span class=\"bn\">%" G_GINT64_FORMAT
	    "</span></div>\n", sum);
}

/* report_bars_close - the end of a bar chart and its legend: N NAMES in
 * their COLORS (none for one series) */
static void
report_bars_close(GString *h, const char *const *names,
    const char *const *colors, guint n)
{
	guint i;

	g_string_append(h, "</div>\n");
	if (n < 2)
		return;
	g_string_append(h, "<p class=\"legend\">");
	for (i = 0; i < n; i++)
		g_string_append_printf(h, "<span><i style=\"background:%s\"></i>%s"
		    "</span>", colors[i], names[i]);
	g_string_append(h, "</p>\n");
}

/* the page's style: on a narrow screen (under 600 px) the curve is the
 * narrow SVG (its text stays 12 px or more at 375 px), a bar's label
 * stands above its bar, and a table's rows are stacked, each cell with
 * its column's name (data-label) before it, so no column is off screen
 * and nothing scrolls sideways */
static const char report_css[] =
	"*{box-sizing:border-box}"
	"body{margin:0;padding:16px;font:15px/1.45 system-ui,-apple-system,"
	"'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:#1d1d1f;"
	"background:#f5f5f7}"
	"main{max-width:1100px;margin:0 auto}"
	"h1{font-size:1.5em;margin:0 0 4px;overflow-wrap:anywhere}"
	"h2{font-size:1.1em;margin:0 0 8px}"
	".sub{color:#555;margin:0 0 16px;overflow-wrap:anywhere}"
	".cards{display:flex;flex-wrap:wrap;gap:10px;margin-bottom:16px}"
	".card{flex:1 1 120px;background:#fff;border-radius:10px;padding:10px 14px;"
	"box-shadow:0 1px 2px rgba(0,0,0,.08)}"
	".card b{display:block;font-size:1.6em}.card span{color:#555}"
	"section{background:#fff;border-radius:10px;padding:14px;margin-bottom:16px;"
	"box-shadow:0 1px 2px rgba(0,0,0,.08);min-width:0}"
	".grid2{display:grid;grid-template-columns:minmax(0,1fr);gap:16px}"
	"@media (min-width:900px){.grid2{grid-template-columns:minmax(0,1fr)"
	" minmax(0,1fr)}.grid2 section{margin-bottom:0}}"
	"svg.chart{width:100%;max-width:760px;height:auto;display:block;"
	"margin:0 auto}"
	"svg.narrow{display:none}"
	"svg .grid{stroke:#e3e3e8;stroke-width:1}"
	"svg .tick{font-size:16px;fill:#555}svg.narrow .tick{font-size:14px}"
	".bars{margin:4px 0}"
	".bar{display:flex;flex-wrap:wrap;align-items:center;gap:2px 10px;"
	"margin:6px 0}"
	".bl{flex:1 1 200px;min-width:0;overflow-wrap:anywhere}"
	".bs{flex:3 1 240px;min-width:0;height:22px;background:#f0f0f3}"
	".bn{flex:0 0 3.5em;text-align:left;color:#555}"
	".legend{margin:6px 0 0;display:flex;flex-wrap:wrap;gap:12px}"
	".legend i{display:inline-block;width:12px;height:12px;border-radius:2px;"
	"margin-right:5px;vertical-align:-1px}"
	"table{border-collapse:collapse;width:100%;margin-top:10px;font-size:.92em}"
	"th,td{padding:5px 8px;border-bottom:1px solid #e3e3e8;text-align:right}"
	"th:first-child,td:first-child{text-align:left;overflow-wrap:anywhere}"
	"td.reply,td.state,th.state{text-align:left;overflow-wrap:anywhere}"
	"#relays th,#relays td{padding:5px 5px}"
	"@media (max-width:599px){body{padding:8px}section{padding:12px}"
	"svg.wide{display:none}svg.narrow{display:block}"
	"table.stack thead{position:absolute;width:1px;height:1px;"
	"overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}"
	"table.stack,table.stack tbody,table.stack tr{display:block;width:100%}"
	"table.stack tr{border-bottom:2px solid #d0d0d6;padding:4px 0}"
	"table.stack td{display:flex;justify-content:space-between;gap:12px;"
	"border:0;padding:3px 4px;text-align:right}"
	"table.stack td::before{content:attr(data-label);text-align:left;"
	"color:#555;flex:0 0 auto}"
	"table.stack td:first-child{font-weight:bold}}";

/* report_html_relays - the relays: one line for a single relay, else
 * stacked bars (sent, deferred, failed) and a table with each state */
static void
report_html_relays(GString *h, const struct report *r)
{
	static const char *const names[] = { "sent", "deferred", "failed" };
	gint64 top = 0;
	guint i;

	if (r->relays->len == 1) {
		const struct relay_count *c = &g_array_index(r->relays,
		    struct relay_count, 0);
		g_autofree char *state = report_relay_state(c);

		g_string_append(h, "<p class=\"sub\" id=\"relay-one\">One relay: "
		    "<b class=\"relay\">");
		report_esc(h, c->relay);
		g_string_append(h, "</b>, <span class=\"state\">");
		report_esc(h, state);
		g_string_append(h, "</span></p>\n");
		return;
	}
	g_string_append_printf(h, "<section id=\"relays\"><h2>Relays <small>(%u)"
	    "</small></h2>\n", r->relays->len);
	for (i = 0; i < r->relays->len; i++) {
		const struct relay_count *c = &g_array_index(r->relays,
		    struct relay_count, i);

		top = MAX(top, c->sent + c->deferred + c->failed);
	}
	report_bars_open(h, "deliveries per relay");
	for (i = 0; i < r->relays->len; i++) {
		const struct relay_count *c = &g_array_index(r->relays,
		    struct relay_count, i);
		gint64 v[] = { c->sent, c->deferred, c->failed };

		report_hbar(h, c->relay, v, 3, top, names, report_colors);
	}
	report_bars_close(h, names, report_colors, 3);
	g_string_append(h, "<table class=\"stack\"><thead><tr><th>relay</th><th>sent</th>"
	    "<th>deferred</th><th>failed</th><th class=\"state\">state</th>"
	    "</tr></thead><tbody>\n");
	for (i = 0; i < r->relays->len; i++) {
		const struct relay_count *c = &g_array_index(r->relays,
		    struct relay_count, i);
		g_autofree char *state = report_relay_state(c);

		g_string_append(h, "<tr data-relay=\"");
		report_esc(h, c->relay);
		g_string_append(h, "\"><td data-label=\"relay\">");
		report_esc(h, c->relay);
		g_string_append_printf(h, "</td><td class=\"sent\" data-label="
		    "\"sent\">%" G_GINT64_FORMAT "</td><td class=\"deferred\" "
		    "data-label=\"deferred\">%" G_GINT64_FORMAT "</td>"
		    "<td class=\"failed\" data-label=\"failed\">%" G_GINT64_FORMAT
		    "</td><td class=\"state\" data-label=\"state\">", c->sent,
		    c->deferred, c->failed);
		report_esc(h, state);
		g_string_append(h, "</td></tr>\n");
	}
	g_string_append(h, "</tbody></table></section>\n");
}

/* report_html_head - the page up to the cards of totals */
static void
report_html_head(GString *h, const struct report *r)
{
	const struct campaign *c = r->campaign;
	g_autofree char *created = report_time(c->created, "%F %R UTC");
	g_autofree char *started = report_time(c->started, "%F %R");
	g_autofree char *finished = report_time(c->finished, "%F %R");
	g_autofree char *segs = g_strjoinv(", ", c->segments);
	g_autofree char *base = g_path_get_basename(c->announcement);

	g_string_append(h, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\">\n<meta name=\"viewport\" "
	    "content=\"width=device-width, initial-scale=1\">\n<title>");
	g_string_append_printf(h, "Campaign %" G_GINT64_FORMAT ": ", c->id);
	report_esc(h, base);
	g_string_append_printf(h, "</title>\n<style>%s</style></head>\n<body>"
	    "<main>\n<h1>Campaign %" G_GINT64_FORMAT ": ", report_css, c->id);
	report_esc(h, base);
	g_string_append(h, "</h1>\n<p class=\"sub\">to <b>");
	report_esc(h, c->list);
	g_string_append(h, "</b> (");
	report_esc(h, segs);
	g_string_append(h, ") &middot; <span id=\"state\">");
	report_esc(h, c->state);
	g_string_append(h, "</span>");
	if (c->reason != NULL) {
		g_string_append(h, ": ");
		report_esc(h, c->reason);
	}
	g_string_append_printf(h, " &middot; created %s, first sent %s, finished"
	    " %s</p>\n", created, started, finished);
	if (c->subject != NULL) {
		g_string_append(h, "<p class=\"sub\">Subject: <b id=\"subject\">");
		report_esc(h, c->subject);
		g_string_append(h, "</b></p>\n");
	}
}

/* report_html_cards - the totals, one card each */
static void
report_html_cards(GString *h, const struct report *r)
{
	g_string_append(h, "<div class=\"cards\">\n");
#define CARD(id, label, v) g_string_append_printf(h, "<div class=\"card\">" \
	"<b id=\"n-%s\">%" G_GINT64_FORMAT "</b><span>%s</span></div>\n", id, \
	(gint64)(v), label)
	CARD("total", "recipients", r->counts.total);
	CARD("sent", "sent", r->counts.sent);
	CARD("failed", "failed", r->counts.failed);
	CARD("queued", "queued", r->counts.queued);
	CARD("bounced", "bounced", r->bounced);
	CARD("unsubscribed", "unsubscribed since", r->unsubscribed);
	CARD("replies", "replies", r->replies);
#undef CARD
	g_string_append_printf(h, "</div>\n");
}

/* report_html_segments - the outcomes per segment: bars and a table */
static void
report_html_segments(GString *h, const struct report *r)
{
	static const char *const names[] = { "sent", "failed", "queued" };
	static const char *const colors[] = { "#2e7d32", "#c62828", "#9e9e9e" };
	gint64 top = 0;
	guint i;

	g_string_append(h, "<section><h2>Outcomes per segment</h2>\n");
	for (i = 0; i < r->segments->len; i++)
		top = MAX(top, g_array_index(r->segments, struct report_segment,
		    i).total);
	report_bars_open(h, "outcomes per segment");
	for (i = 0; i < r->segments->len; i++) {
		const struct report_segment *s = &g_array_index(r->segments,
		    struct report_segment, i);
		gint64 v[] = { s->sent, s->failed, s->queued };

		report_hbar(h, s->segment, v, 3, top, names, colors);
	}
	report_bars_close(h, names, colors, 3);
	g_string_append(h, "<table class=\"stack\"><thead><tr><th>segment</th><th>total"
	    "</th><th>sent</th><th>failed</th><th>queued</th><th>hard bounces"
	    "</th><th>soft bounces</th><th>unsubscribed</th><th>replies</th>"
	    "</tr></thead><tbody>\n");
	for (i = 0; i < r->segments->len; i++) {
		const struct report_segment *s = &g_array_index(r->segments,
		    struct report_segment, i);

		g_string_append(h, "<tr data-segment=\"");
		report_esc(h, s->segment);
		g_string_append(h, "\"><td data-label=\"segment\">");
		report_esc(h, s->segment);
#define TD(c, l) "<td class=\"" c "\" data-label=\"" l "\">%" G_GINT64_FORMAT \
	"</td>"
		g_string_append_printf(h, "</td>" TD("total", "total")
		    TD("sent", "sent") TD("failed", "failed") TD("queued", "queued")
		    TD("hard", "hard bounces") TD("soft", "soft bounces")
		    TD("unsubscribed", "unsubscribed") TD("replies", "replies")
		    "</tr>\n", s->total, s->sent, s->failed, s->queued, s->hard,
		    s->soft, s->unsubscribed, s->replies);
#undef TD
	}
	g_string_append(h, "</tbody></table></section>\n");
}

/* report_html_bounces - the bounces by kind, as bars */
static void
report_html_bounces(GString *h, const struct report *r)
{
	static const char *const one[] = { "recipients" };
	g_autofree char *bpct = report_pct(r->bounced, r->counts.total);
	gint64 top = 0;
	guint i;

	g_string_append_printf(h, "\n<section><h2>Bounces by kind <small>(%"
	    G_GINT64_FORMAT " recipients, %s)</small></h2>\n", r->bounced, bpct);
	for (i = 0; i < r->bounces->len; i++)
		top = MAX(top, g_array_index(r->bounces, struct report_bounce,
		    i).recipients);
	report_bars_open(h, "bounces by kind");
	if (r->bounces->len == 0)
		g_string_append(h, "<p class=\"sub\">no bounces</p>\n");
	for (i = 0; i < r->bounces->len; i++) {
		const struct report_bounce *b = &g_array_index(r->bounces,
		    struct report_bounce, i);
		g_autofree char *label = g_strdup_printf("%s %s", b->kind,
		    b->reason);
		const char *color[] = { strcmp(b->kind, "soft") == 0 ?
		    report_colors[1] : strcmp(b->kind, "hard") == 0 ?
		    report_colors[2] : report_colors[3] };

		report_hbar(h, label, &b->recipients, 1, top, one, color);
	}
	g_string_append(h, "</div></section>\n");
}

/* report_html_codes - the most frequent reply codes: bars and a table
 * of a sample reply each */
static void
report_html_codes(GString *h, const struct report *r)
{
	static const char *const one[] = { "recipients" };
	gint64 top = 0;
	guint i;

	g_string_append(h, "<section><h2>Most frequent reply codes</h2>\n");
	for (i = 0; i < r->codes->len; i++)
		top = MAX(top, g_array_index(r->codes, struct report_code,
		    i).count);
	report_bars_open(h, "reply codes");
	for (i = 0; i < r->codes->len; i++) {
		const struct report_code *k = &g_array_index(r->codes,
		    struct report_code, i);
		g_autofree char *label = k->code != 0 ?
		    g_strdup_printf("%d", k->code) : g_strdup("no reply");
		const char *color[] = { report_colors[k->code >= 500 ? 2 :
		    k->code >= 400 ? 1 : k->code >= 200 ? 0 : 3] };

		report_hbar(h, label, &k->count, 1, top, one, color);
	}
	g_string_append(h, "</div>\n<table class=\"stack\"><thead><tr><th>code"
	    "</th><th>recipients</th><th class=\"state\">one of the replies"
	    "</th></tr></thead><tbody>\n");
	for (i = 0; i < r->codes->len; i++) {
		const struct report_code *k = &g_array_index(r->codes,
		    struct report_code, i);
		const char *reply = k->reply != NULL &&
		    g_utf8_validate(k->reply, -1, NULL) ? k->reply : "";
		g_autofree char *cut = g_utf8_substring(reply, 0,
		    MIN(g_utf8_strlen(reply, -1), 120));

		g_string_append_printf(h, "<tr><td data-label=\"code\">%d</td>"
		    "<td class=\"count\" data-label=\"recipients\">%"
		    G_GINT64_FORMAT "</td><td class=\"reply\" data-label=\"reply\">",
		    k->code,
		    k->count);
		report_esc(h, cut);
		g_string_append(h, "</td></tr>\n");
	}
	g_string_append(h, "</tbody></table></section>\n");
}

/* report_html - the page */
char *
report_html(const struct report *r)
{
	GString *h = g_string_new(NULL);

	report_html_head(h, r);
	report_html_cards(h, r);
	g_string_append(h, "<section><h2>Sending over time</h2>\n");
	report_curve(h, r);
	g_string_append(h, "</section>\n");
	report_html_segments(h, r);
	report_clicks_html(h, r->clicks);
	report_html_relays(h, r);
	g_string_append(h, "<div class=\"grid2\">");
	report_html_bounces(h, r);
	report_html_codes(h, r);
	g_string_append(h, "</div>\n<p class=\"sub\">herald report ");
	g_string_append_printf(h, "%" G_GINT64_FORMAT " &middot; ",
	    r->campaign->id);
	report_esc(h, r->campaign->announcement);
	g_string_append(h, "</p>\n</main></body></html>\n");
	return g_string_free(h, FALSE);
}
