/*
 * schedule_window.h - a sending window ("Mon-Fri 09:00-17:00"): its
 * parser and the two questions a schedule asks of it. A leaf of the core
 * layer: the configuration checks a list's window with it, and
 * outbound/schedule.c runs campaigns by it.
 */
#ifndef HERALD_SCHEDULE_WINDOW_H
#define HERALD_SCHEDULE_WINDOW_H

#include <glib.h>

/* a sending window: days of the week and a time of day range; end <= start
 * wraps past midnight (the day is the one the window opens on) */
struct schedule_window {
	guint8 days;		/* bit 0 Monday … bit 6 Sunday */
	int start, end;		/* minutes after midnight, end up to 1440 */
};

/* schedule_window_parse - "[DAYS ]HH:MM-HH:MM", DAYS a comma list of Mon
 * … Sun or ranges (Mon-Fri, Sat-Sun); no DAYS is every day. FALSE and a
 * CONFIG error saying what is wrong otherwise. */
gboolean schedule_window_parse(const char *text, struct schedule_window *w,
    GError **error);

/* schedule_window_is_open - is W open at T (unix seconds) in TZ? */
gboolean schedule_window_is_open(const struct schedule_window *w,
    GTimeZone *tz, gint64 t);

/* schedule_window_next - the first instant after T at which W opens (when
 * closed at T) or closes (when open at T); 0 if never (no day given) */
gint64 schedule_window_next(const struct schedule_window *w, GTimeZone *tz,
    gint64 t);

/* schedule_local - T as a date and time in TZ (caller unrefs) */
GDateTime *schedule_local(GTimeZone *tz, gint64 t);

/* schedule_at_minute - unix seconds of MINUTES after midnight of DAY's
 * date in TZ (1440: the next midnight), by the clock on the wall */
gint64 schedule_at_minute(GTimeZone *tz, GDateTime *day, int minutes);

#endif
