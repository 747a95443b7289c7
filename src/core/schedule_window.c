/*
 * schedule_window.c - sending windows (see schedule_window.h): days of the
 * week and a time-of-day range, read from "[DAYS ]HH:MM-HH:MM", and the
 * instants they open and close in a zone, computed with GDateTime so a
 * window keeps its local times across a change to or from summer time.
 *
 * Must stay true: nothing here reads the clock or the store; the caller
 * gives the instant and the zone.
 */
#include <stdio.h>
#include <string.h>

#include "herald.h"
#include "schedule_window.h"

static const char *const schedule_days[] = {
	"mon", "tue", "wed", "thu", "fri", "sat", "sun"
};

/* schedule_day - 0 (Monday) … 6, or -1 */
static int
schedule_day(const char *p, size_t n)
{
	int i;

	if (n != 3)
		return -1;
	for (i = 0; i < 7; i++)
		if (g_ascii_strncasecmp(p, schedule_days[i], 3) == 0)
			return i;
	return -1;
}

/* schedule_days_parse - "Mon-Fri,Sun" to a day mask; 0 when wrong */
static guint8
schedule_days_parse(const char *text)
{
	g_auto(GStrv) parts = g_strsplit(text, ",", -1);
	guint8 mask = 0;
	int i, a, b;

	for (i = 0; parts[i] != NULL; i++) {
		const char *dash = strchr(parts[i], '-');

		if (dash == NULL) {
			if ((a = schedule_day(parts[i], strlen(parts[i]))) < 0)
				return 0;
			mask |= 1 << a;
			continue;
		}
		a = schedule_day(parts[i], dash - parts[i]);
		b = schedule_day(dash + 1, strlen(dash + 1));
		if (a < 0 || b < 0)
			return 0;
		for (;;) {	/* Fri-Mon wraps over the weekend */
			mask |= 1 << a;
			if (a == b)
				break;
			a = (a + 1) % 7;
		}
	}
	return mask;
}

/* schedule_window_parse - "[DAYS ]HH:MM-HH:MM" */
gboolean
schedule_window_parse(const char *text, struct schedule_window *w,
    GError **error)
{
	g_auto(GStrv) words = g_strsplit_set(text, " \t", -1);
	const char *days = NULL, *times = NULL;
	int h1, m1, h2, m2, n = 0, i;

	for (i = 0; words[i] != NULL; i++) {
		if (*words[i] == '\0')
			continue;
		if (days == NULL && times == NULL && !g_ascii_isdigit(*words[i]))
			days = words[i];
		else if (times == NULL)
			times = words[i];
		else
			goto bad;
	}
	if (times == NULL || sscanf(times, "%2d:%2d-%2d:%2d%n", &h1, &m1, &h2,
	    &m2, &n) != 4 || times[n] != '\0')
		goto bad;
	if (h1 < 0 || h1 > 23 || m1 < 0 || m1 > 59 || h2 < 0 || h2 > 24 ||
	    m2 < 0 || m2 > 59 || (h2 == 24 && m2 != 0))
		goto bad;
	w->start = h1 * 60 + m1;
	w->end = h2 * 60 + m2;
	w->days = days == NULL ? 0x7f : schedule_days_parse(days);
	if (w->days == 0)
		goto bad;
	if (w->start == w->end || (w->start == 0 && w->end == 0)) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
		    "window \"%s\" is empty (it opens when it closes)", text);
		return FALSE;
	}
	return TRUE;
bad:
	g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
	    "window \"%s\" is not [DAYS ]HH:MM-HH:MM (for example "
	    "\"Mon-Fri 09:00-17:00\"; days Mon … Sun, ranges and commas)", text);
	return FALSE;
}

/* schedule_local - T as a date and time in TZ */
GDateTime *
schedule_local(GTimeZone *tz, gint64 t)
{
	g_autoptr(GDateTime) utc = g_date_time_new_from_unix_utc(t);

	return g_date_time_to_timezone(utc, tz);
}

/* schedule_window_is_open - is W open at T in TZ? */
gboolean
schedule_window_is_open(const struct schedule_window *w, GTimeZone *tz,
    gint64 t)
{
	g_autoptr(GDateTime) dt = schedule_local(tz, t);
	int day = g_date_time_get_day_of_week(dt) - 1;
	int prev = (day + 6) % 7;
	int tod = g_date_time_get_hour(dt) * 60 + g_date_time_get_minute(dt);

	if (w->end > w->start)
		return (w->days & 1 << day) && tod >= w->start && tod < w->end;
	return ((w->days & 1 << day) && tod >= w->start) ||
	    ((w->days & 1 << prev) && tod < w->end);
}

/* schedule_at_minute - MINUTES after midnight of the day of DAY in TZ
 * (1440: the next midnight), by the clock on the wall */
gint64
schedule_at_minute(GTimeZone *tz, GDateTime *day, int minutes)
{
	g_autoptr(GDateTime) midnight = g_date_time_new(tz,
	    g_date_time_get_year(day), g_date_time_get_month(day),
	    g_date_time_get_day_of_month(day), 0, 0, 0);
	g_autoptr(GDateTime) next = NULL;
	g_autoptr(GDateTime) at = NULL;

	if (minutes >= 1440) {
		next = g_date_time_add_days(midnight, 1);
		at = g_date_time_new(tz, g_date_time_get_year(next),
		    g_date_time_get_month(next),
		    g_date_time_get_day_of_month(next), 0, 0, 0);
	} else
		at = g_date_time_new(tz, g_date_time_get_year(midnight),
		    g_date_time_get_month(midnight),
		    g_date_time_get_day_of_month(midnight), minutes / 60,
		    minutes % 60, 0);
	return g_date_time_to_unix(at);
}

static gint
schedule_cmp(gconstpointer a, gconstpointer b)
{
	gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;

	return x < y ? -1 : x > y;
}

/* schedule_window_next - the next opening or closing after T */
gint64
schedule_window_next(const struct schedule_window *w, GTimeZone *tz,
    gint64 t)
{
	g_autoptr(GDateTime) now = schedule_local(tz, t);
	g_autoptr(GArray) edges = g_array_new(FALSE, FALSE, sizeof(gint64));
	gboolean open = schedule_window_is_open(w, tz, t);
	guint i;
	int d;

	/* every opening and closing from yesterday to eight days on */
	for (d = -1; d <= 8; d++) {
		g_autoptr(GDateTime) day = g_date_time_add_days(now, d);
		g_autoptr(GDateTime) after = g_date_time_add_days(now, d + 1);
		gint64 e;

		e = schedule_at_minute(tz, day, w->start);
		g_array_append_val(edges, e);
		e = w->end > w->start ? schedule_at_minute(tz, day, w->end) :
		    schedule_at_minute(tz, after, w->end);
		g_array_append_val(edges, e);
	}
	g_array_sort(edges, schedule_cmp);
	for (i = 0; i < edges->len; i++) {
		gint64 e = g_array_index(edges, gint64, i);

		if (e > t && schedule_window_is_open(w, tz, e) != open)
			return e;
	}
	return 0;
}

