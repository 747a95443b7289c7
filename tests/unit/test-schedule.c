/*
 * test-schedule.c - sending windows: parsing, open or closed at an
 * instant, and the next opening or closing, in a zone with summer time
 * (Europe/Berlin) and across midnight.
 */
#include "herald.h"
#include "schedule.h"

static GTimeZone *berlin;

/* at - a Berlin wall-clock time to unix seconds */
static gint64
at(const char *text)
{
	gint64 t = 0;

	g_assert_true(herald_parse_local(text, berlin, &t));
	return t;
}

static void
test_parse(void)
{
	struct schedule_window w;
	GError *error = NULL;
	const char *bad[] = { "", "Mon-Fri", "9-17", "Mon-Fry 09:00-17:00",
	    "09:00-25:00", "09:60-10:00", "09:00-09:00", "Mon 09:00-17:00 x",
	    "24:00-01:00", NULL };
	int i;

	g_assert_true(schedule_window_parse("Mon-Fri 09:00-17:00", &w, NULL));
	g_assert_cmpint(w.days, ==, 0x1f);
	g_assert_cmpint(w.start, ==, 540);
	g_assert_cmpint(w.end, ==, 1020);
	g_assert_true(schedule_window_parse("09:00-24:00", &w, NULL));
	g_assert_cmpint(w.days, ==, 0x7f);
	g_assert_cmpint(w.end, ==, 1440);
	g_assert_true(schedule_window_parse("fri-mon,wed 22:00-06:00", &w, NULL));
	g_assert_cmpint(w.days, ==, 1 << 4 | 1 << 5 | 1 << 6 | 1 << 0 | 1 << 2);
	for (i = 0; bad[i] != NULL; i++) {
		g_assert_false(schedule_window_parse(bad[i], &w, &error));
		g_assert_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG);
		g_clear_error(&error);
	}
}

static void
test_open_and_next(void)
{
	struct schedule_window w;

	g_assert_true(schedule_window_parse("Mon-Fri 09:00-17:00", &w, NULL));
	/* 2014-08-01 is a Friday */
	g_assert_false(schedule_window_is_open(&w, berlin, at("2014-08-01 08:59:59")));
	g_assert_true(schedule_window_is_open(&w, berlin, at("2014-08-01 09:00:00")));
	g_assert_true(schedule_window_is_open(&w, berlin, at("2014-08-01 16:59:59")));
	g_assert_false(schedule_window_is_open(&w, berlin, at("2014-08-01 17:00:00")));
	g_assert_false(schedule_window_is_open(&w, berlin, at("2014-08-02 12:00:00")));
	g_assert_cmpint(schedule_window_next(&w, berlin, at("2014-08-01 12:00:00")),
	    ==, at("2014-08-01 17:00:00"));
	g_assert_cmpint(schedule_window_next(&w, berlin, at("2014-08-01 17:00:00")),
	    ==, at("2014-08-04 09:00:00"));
	/* summer time ends on Sunday 2014-10-26: Monday 09:00 is 08:00 UTC */
	g_assert_cmpint(schedule_window_next(&w, berlin, at("2014-10-24 18:00:00")),
	    ==, at("2014-10-27 09:00:00"));
	g_assert_cmpint(at("2014-10-27 09:00:00"), ==, 1414396800);
}

static void
test_overnight(void)
{
	struct schedule_window w;

	g_assert_true(schedule_window_parse("Fri 22:00-06:00", &w, NULL));
	g_assert_true(schedule_window_is_open(&w, berlin, at("2014-08-01 23:00:00")));
	g_assert_true(schedule_window_is_open(&w, berlin, at("2014-08-02 05:59:00")));
	g_assert_false(schedule_window_is_open(&w, berlin, at("2014-08-02 06:00:00")));
	g_assert_false(schedule_window_is_open(&w, berlin, at("2014-08-02 23:00:00")));
	g_assert_cmpint(schedule_window_next(&w, berlin, at("2014-08-01 23:00:00")),
	    ==, at("2014-08-02 06:00:00"));
	g_assert_cmpint(schedule_window_next(&w, berlin, at("2014-08-02 06:00:00")),
	    ==, at("2014-08-08 22:00:00"));
	/* always open: nothing to wait for */
	g_assert_true(schedule_window_parse("00:00-24:00", &w, NULL));
	g_assert_cmpint(schedule_window_next(&w, berlin, at("2014-08-01 12:00:00")),
	    ==, 0);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	berlin = g_time_zone_new_identifier("Europe/Berlin");
	g_assert_nonnull(berlin);
	g_test_add_func("/schedule/parse", test_parse);
	g_test_add_func("/schedule/open-and-next", test_open_and_next);
	g_test_add_func("/schedule/overnight", test_overnight);
	return g_test_run();
}
