/*
 * report_clicks.c - clicks and opens of a campaign for herald report
 * (see report_clicks.h): built from store_clicks.c's sums, written as
 * text, as a section of the HTML page with an inline SVG bar chart of
 * clicks per minute, and as JSON.
 */
#include <string.h>

#include "herald.h"
#include "report_clicks.h"
#include "store_clicks.h"

/* report_link_clear - a link's strings and segments */
static void
report_link_clear(gpointer p)
{
	struct report_link *l = p;
	guint i;

	g_free(l->url);
	for (i = 0; i < l->by_segment->len; i++)
		g_free(g_array_index(l->by_segment, struct report_link_segment,
		    i).segment);
	g_array_unref(l->by_segment);
}

/* report_clicks_free - C and all it holds */
void
report_clicks_free(struct report_clicks *c)
{
	if (c == NULL)
		return;
	g_array_unref(c->links);
	g_array_unref(c->minutes);
	g_free(c);
}

/* report_clicks_links - the rows of store_link_counts, one link per URL
 * with its segments */
static gboolean
report_clicks_links(struct store *store, gint64 id, struct report_clicks *c,
    GError **error)
{
	g_autoptr(store_rows) rows = store_link_counts(store, id, error);
	GError *err = NULL;

	if (rows == NULL)
		return FALSE;
	while (store_next(rows, &err)) {
		const char *url = store_text(rows, 0);
		struct report_link *l = c->links->len > 0 ? &g_array_index(
		    c->links, struct report_link, c->links->len - 1) : NULL;
		struct report_link_segment s = { store_text_dup(rows, 1),
		    store_int(rows, 2) };

		if (l == NULL || strcmp(l->url, url) != 0) {
			struct report_link n = { g_strdup(url), 0, 0,
			    g_array_new(FALSE, TRUE,
			    sizeof(struct report_link_segment)) };

			g_array_append_val(c->links, n);
			l = &g_array_index(c->links, struct report_link,
			    c->links->len - 1);
		}
		l->clicks += s.clicks;
		l->machine_clicks += store_int(rows, 3);
		c->clicks += s.clicks;
		c->machine_clicks += store_int(rows, 3);
		g_array_append_val(l->by_segment, s);
	}
	if (err != NULL) {
		g_propagate_error(error, err);
		return FALSE;
	}
	return TRUE;
}

/* report_clicks_build - see report_clicks.h */
struct report_clicks *
report_clicks_build(struct store *store, gint64 id, GError **error)
{
	struct report_clicks *c = g_new0(struct report_clicks, 1);
	g_autoptr(store_rows) rows = NULL;
	GError *err = NULL;

	c->links = g_array_new(FALSE, TRUE, sizeof(struct report_link));
	g_array_set_clear_func(c->links, report_link_clear);
	c->minutes = g_array_new(FALSE, TRUE,
	    sizeof(struct report_click_minute));
	if (!report_clicks_links(store, id, c, error) ||
	    !store_open_counts(store, id, &c->opens, &c->machine_opens,
	    &c->opened, error) ||
	    (rows = store_click_minutes(store, id, error)) == NULL)
		goto fail;
	while (store_next(rows, &err)) {
		struct report_click_minute m = { store_int(rows, 0) * 60,
		    store_int(rows, 1), store_int(rows, 2) };

		g_array_append_val(c->minutes, m);
	}
	if (err == NULL)
		return c;
	g_propagate_error(error, err);
fail:
	report_clicks_free(c);
	return NULL;
}

/* report_clicks_time - T as FORMAT in UTC (caller frees) */
static char *
report_clicks_time(gint64 t, const char *format)
{
	g_autoptr(GDateTime) d = g_date_time_new_from_unix_utc(t);

	return d != NULL ? g_date_time_format(d, format) : g_strdup("-");
}

/* report_clicks_text - see report_clicks.h */
void
report_clicks_text(GString *s, const struct report_clicks *c)
{
	guint i, k;

	g_string_append_printf(s, "\nclicks %" G_GINT64_FORMAT " by people, %"
	    G_GINT64_FORMAT " by machines (scanners, prefetches); opens %"
	    G_GINT64_FORMAT " (%" G_GINT64_FORMAT " copies), %" G_GINT64_FORMAT
	    " by machines: a lower bound (Apple Mail Privacy Protection"
	    " fetches images for the reader)\n", c->clicks, c->machine_clicks,
	    c->opens, c->opened, c->machine_opens);
	if (c->links->len > 0)
		g_string_append_printf(s, "\n%7s %8s  %s\n", "CLICKS", "MACHINE",
		    "LINK (people's clicks by segment)");
	for (i = 0; i < c->links->len; i++) {
		const struct report_link *l = &g_array_index(c->links,
		    struct report_link, i);

		g_string_append_printf(s, "%7" G_GINT64_FORMAT " %8"
		    G_GINT64_FORMAT "  %s\n", l->clicks, l->machine_clicks,
		    l->url);
		for (k = 0; k < l->by_segment->len; k++) {
			const struct report_link_segment *g = &g_array_index(
			    l->by_segment, struct report_link_segment, k);

			g_string_append_printf(s, "%7" G_GINT64_FORMAT " %8s    "
			    "%s\n", g->clicks, "", *g->segment != '\0' ?
			    g->segment : "(no segment)");
		}
	}
	if (c->minutes->len > 0)
		g_string_append_printf(s, "\n%-16s %7s %8s\n", "MINUTE (UTC)",
		    "CLICKS", "MACHINE");
	for (i = 0; i < c->minutes->len; i++) {
		const struct report_click_minute *m = &g_array_index(c->minutes,
		    struct report_click_minute, i);
		g_autofree char *t = report_clicks_time(m->minute, "%F %R");

		g_string_append_printf(s, "%-16s %7" G_GINT64_FORMAT " %8"
		    G_GINT64_FORMAT "\n", t, m->clicks, m->machine_clicks);
	}
}

/* report_clicks_esc - S escaped for HTML, appended */
static void
report_clicks_esc(GString *h, const char *s)
{
	g_autofree char *valid = g_utf8_make_valid(s != NULL ? s : "", -1);
	g_autofree char *e = g_markup_escape_text(valid, -1);

	g_string_append(h, e);
}

/* report_clicks_svg - clicks per minute as bars (people, machines on
 * top), an inline SVG drawn W units wide with class CLS (the report's
 * style shows the "wide" one, or the "narrow" one on a phone, where its
 * text stays legible) */
static void
report_clicks_svg(GString *h, const struct report_clicks *c, double width,
    const char *cls)
{
	const double x0 = width < 400 ? 40 : 48, x1 = width - 12, y0 = 200,
	    y1 = 14;
	guint n = c->minutes->len, i;
	gint64 top = 1;
	double w;

	for (i = 0; i < n; i++) {
		const struct report_click_minute *m = &g_array_index(c->minutes,
		    struct report_click_minute, i);

		top = MAX(top, m->clicks + m->machine_clicks);
	}
	w = n > 0 ? (x1 - x0) / n : 0;
	g_string_append_printf(h, "<svg class=\"chart %s\" id=\"clicks-chart-"
	    "%s\" viewBox=\"0 0 %.0f 236\" role=\"img\" aria-label=\"clicks "
	    "per minute\">\n<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" "
	    "class=\"grid\"/><text x=\"%.0f\" y=\"%.0f\" class=\"tick\" "
	    "text-anchor=\"end\">%" G_GINT64_FORMAT "</text>\n", cls, cls, width,
	    x0, y1, x1, y1, x0 - 6, y1 + 4, top);
	for (i = 0; i < n; i++) {
		const struct report_click_minute *m = &g_array_index(c->minutes,
		    struct report_click_minute, i);
		g_autofree char *t = report_clicks_time(m->minute, "%F %R");
		double hp = (y0 - y1) * m->clicks / top;
		double hm = (y0 - y1) * m->machine_clicks / top;

		g_string_append_printf(h, "<g><title>%s UTC: %" G_GINT64_FORMAT
		    " by people, %" G_GINT64_FORMAT " by machines</title>"
		    "<rect class=\"bar\" data-clicks=\"%" G_GINT64_FORMAT "\" "
		    "x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
		    "fill=\"#5b2c86\"/><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
		    "height=\"%.1f\" fill=\"#bbbbbb\"/></g>\n", t, m->clicks,
		    m->machine_clicks, m->clicks, x0 + w * i, y0 - hp,
		    MAX(w - 2, 1), hp, x0 + w * i, y0 - hp - hm, MAX(w - 2, 1),
		    hm);
	}
	g_string_append(h, "</svg>\n");
}

/* report_clicks_chart - the clicks over time, drawn wide and narrow, and
 * its legend; a sentence when nothing was clicked yet */
static void
report_clicks_chart(GString *h, const struct report_clicks *c)
{
	if (c->minutes->len == 0) {
		g_string_append(h, "<p class=\"sub\" id=\"no-clicks\">No clicks "
		    "yet.</p>\n");
		return;
	}
	report_clicks_svg(h, c, 600, "wide");
	report_clicks_svg(h, c, 340, "narrow");
	g_string_append(h, "<p class=\"legend\"><span><i style=\""
	    "background:#5b2c86\"></i>people</span> <span><i style=\"background:"
	    "#bbbbbb\"></i>machines</span> <small>per minute, UTC</small></p>\n");
}

/* report_clicks_html - see report_clicks.h */
void
report_clicks_html(GString *h, const struct report_clicks *c)
{
	guint i, k;

	g_string_append_printf(h, "<section id=\"engagement\"><h2>Clicks</h2>\n"
	    "<p class=\"sub\"><b id=\"n-clicks\">%" G_GINT64_FORMAT "</b> by "
	    "people, <b id=\"n-machine-clicks\">%" G_GINT64_FORMAT "</b> by "
	    "machines (scanners, prefetches) &middot; opens <b id=\"n-opens\">%"
	    G_GINT64_FORMAT "</b>: a lower bound (Apple Mail Privacy Protection"
	    " fetches images for the reader)</p>\n", c->clicks,
	    c->machine_clicks, c->opens);
	report_clicks_chart(h, c);
	if (c->links->len == 0) {
		/* no table of nothing: say why there are no rows */
		g_string_append(h, "<p class=\"sub\" id=\"no-links\">No "
		    "tracked links: the list's tracking { clicks } was off "
		    "when this was sent.</p></section>\n");
		return;
	}
	g_string_append(h, "<table><thead><tr><th>link</th><th>clicks</th>"
	    "<th>machines</th><th>by segment</th></tr></thead><tbody>\n");
	for (i = 0; i < c->links->len; i++) {
		const struct report_link *l = &g_array_index(c->links,
		    struct report_link, i);

		g_string_append(h, "<tr class=\"link\"><td class=\"reply\">");
		report_clicks_esc(h, l->url);
		g_string_append_printf(h, "</td><td>%" G_GINT64_FORMAT "</td><td>%"
		    G_GINT64_FORMAT "</td><td>", l->clicks, l->machine_clicks);
		for (k = 0; k < l->by_segment->len; k++) {
			const struct report_link_segment *g = &g_array_index(
			    l->by_segment, struct report_link_segment, k);

			g_string_append(h, k > 0 ? ", " : "");
			report_clicks_esc(h, *g->segment != '\0' ? g->segment :
			    "(none)");
			g_string_append_printf(h, " %" G_GINT64_FORMAT, g->clicks);
		}
		g_string_append(h, "</td></tr>\n");
	}
	g_string_append(h, "</tbody></table></section>\n");
}

/* report_clicks_json - see report_clicks.h */
void
report_clicks_json(struct json_out *j, const struct report_clicks *c)
{
	guint i, k;

	json_out_kint(j, "clicks", c->clicks);
	json_out_kint(j, "machine_clicks", c->machine_clicks);
	json_out_kint(j, "opens", c->opens);
	json_out_kint(j, "machine_opens", c->machine_opens);
	json_out_kint(j, "opened", c->opened);
	json_out_key(j, "links");
	json_out_array(j);
	for (i = 0; i < c->links->len; i++) {
		const struct report_link *l = &g_array_index(c->links,
		    struct report_link, i);

		json_out_object(j);
		json_out_kstring(j, "url", l->url);
		json_out_kint(j, "clicks", l->clicks);
		json_out_kint(j, "machine_clicks", l->machine_clicks);
		json_out_key(j, "by_segment");
		json_out_array(j);
		for (k = 0; k < l->by_segment->len; k++) {
			const struct report_link_segment *g = &g_array_index(
			    l->by_segment, struct report_link_segment, k);

			json_out_object(j);
			json_out_kstring(j, "segment", g->segment);
			json_out_kint(j, "clicks", g->clicks);
			json_out_end(j);
		}
		json_out_end(j);
		json_out_end(j);
	}
	json_out_end(j);
	json_out_key(j, "clicks_per_minute");
	json_out_array(j);
	for (i = 0; i < c->minutes->len; i++) {
		const struct report_click_minute *m = &g_array_index(c->minutes,
		    struct report_click_minute, i);

		json_out_object(j);
		json_out_ktime(j, "minute", m->minute);
		json_out_kint(j, "clicks", m->clicks);
		json_out_kint(j, "machine_clicks", m->machine_clicks);
		json_out_end(j);
	}
	json_out_end(j);
}
