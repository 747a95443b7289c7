/*
 * herald.c - the error domain and the one mapping from an error class to a
 * sysexits status. Every exit status herald returns comes through here, so
 * the MTA contract (75 defers, anything else bounces) is decided in one
 * place.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "herald.h"

G_DEFINE_QUARK(herald-error-quark, herald_error)

/* herald_exit_status - the sysexits status for ERROR (EX_SOFTWARE if not ours) */
int
herald_exit_status(const GError *error)
{
	if (error == NULL)
		return EX_OK;
	if (error->domain != HERALD_ERROR)
		return EX_SOFTWARE;
	switch ((enum herald_error_code)error->code) {
	case HERALD_ERROR_TEMP:		return EX_TEMPFAIL;
	case HERALD_ERROR_PERM:		return EX_UNAVAILABLE;
	case HERALD_ERROR_CONFIG:	return EX_CONFIG;
	case HERALD_ERROR_USAGE:	return EX_USAGE;
	case HERALD_ERROR_DATA:		return EX_DATAERR;
	case HERALD_ERROR_NOUSER:	return EX_NOUSER;
	case HERALD_ERROR_NOINPUT:	return EX_NOINPUT;
	case HERALD_ERROR_CANTCREAT:	return EX_CANTCREAT;
	case HERALD_ERROR_IO:		return EX_IOERR;
	case HERALD_ERROR_SOFTWARE:	return EX_SOFTWARE;
	}
	return EX_SOFTWARE;
}

/* herald_errno_class - the error class an errno value belongs to */
int
herald_errno_class(int errnum)
{
	switch (errnum) {
	case ENOSPC:
	case EAGAIN:
	case EINTR:
	case EDQUOT:
	case ENOMEM:
	case EMFILE:
	case ENFILE:
		return HERALD_ERROR_TEMP;
	case ENOENT:
		return HERALD_ERROR_NOINPUT;
	case EACCES:
	case EPERM:
		return HERALD_ERROR_CANTCREAT;
	default:
		return HERALD_ERROR_IO;
	}
}

/* herald_parse_local - a local date and time in TZ to unix seconds */
gboolean
herald_parse_local(const char *text, GTimeZone *tz, gint64 *out)
{
	g_autoptr(GDateTime) dt = NULL;
	int y, mo, d, hh, mm, ss = 0, n = 0, m = 0;
	const char *rest;
	char sep;

	if (sscanf(text, "%4d-%2d-%2d%c%2d:%2d%n", &y, &mo, &d, &sep, &hh, &mm,
	    &n) == 6 && (sep == ' ' || sep == 'T')) {
		rest = text + n;
		if (*rest == ':') {
			if (sscanf(rest, ":%2d%n", &ss, &m) != 1)
				return FALSE;
			rest += m;
		}
		if (*rest != '\0')
			goto iso;	/* an offset or a fraction follows */
		if (mo < 1 || mo > 12 || d < 1 || d > 31 || hh < 0 || hh > 23 ||
		    mm < 0 || mm > 59 || ss < 0 || ss > 59)
			return FALSE;
		if ((dt = g_date_time_new(tz, y, mo, d, hh, mm, ss)) == NULL)
			return FALSE;
		*out = g_date_time_to_unix(dt);
		return TRUE;
	}
iso:
	if ((dt = g_date_time_new_from_iso8601(text, tz)) == NULL)
		return FALSE;
	*out = g_date_time_to_unix(dt);
	return TRUE;
}

/* herald_clock_offset - HERALD_NOW minus the real clock, read once;
 * G_MININT64 when HERALD_NOW is set but unreadable */
static gint64
herald_clock_offset(void)
{
	static gsize once;
	static gint64 offset;

	if (g_once_init_enter(&once)) {
		const char *text = g_getenv("HERALD_NOW");
		g_autoptr(GTimeZone) local = g_time_zone_new_local();
		gint64 t;

		if (text == NULL || *text == '\0')
			offset = 0;
		else if (herald_parse_local(text, local, &t))
			offset = t - g_get_real_time() / G_USEC_PER_SEC;
		else
			offset = G_MININT64;
		g_once_init_leave(&once, 1);
	}
	return offset;
}

/* herald_now - herald's clock */
gint64
herald_now(void)
{
	gint64 offset = herald_clock_offset();

	return g_get_real_time() / G_USEC_PER_SEC +
	    (offset == G_MININT64 ? 0 : offset);
}

/* herald_clock_check - is HERALD_NOW readable? */
gboolean
herald_clock_check(GError **error)
{
	if (herald_clock_offset() != G_MININT64)
		return TRUE;
	g_set_error(error, HERALD_ERROR, HERALD_ERROR_USAGE, "HERALD_NOW=\"%s\" "
	    "is not a time (YYYY-MM-DD HH:MM[:SS], local zone; for tests)",
	    g_getenv("HERALD_NOW"));
	return FALSE;
}
