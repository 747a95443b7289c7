/*
 * herald.h - what every module shares: the error domain, its classes, the
 * mapping from an error to a sysexits status, and the clock.
 *
 * Must stay true: modules return gboolean or a pointer and take GError **
 * last; they never print and never exit. Only cmd_*.c and main.c turn an
 * error into a message and an exit status, through herald_exit_status().
 */
#ifndef HERALD_H
#define HERALD_H

#include <glib.h>
#include <sysexits.h>

#define HERALD_VERSION "0.1.0"

#define HERALD_ERROR (herald_error_quark())

/* The error classes. TEMP is anything that may pass on retry (SQLITE_BUSY,
 * ENOSPC, an SMTP 4xx, a relay that is down); PERM is final. */
enum herald_error_code {
	HERALD_ERROR_TEMP,	/* EX_TEMPFAIL 75 */
	HERALD_ERROR_PERM,	/* EX_UNAVAILABLE 69 */
	HERALD_ERROR_CONFIG,	/* EX_CONFIG 78 */
	HERALD_ERROR_USAGE,	/* EX_USAGE 64 */
	HERALD_ERROR_DATA,	/* EX_DATAERR 65 */
	HERALD_ERROR_NOUSER,	/* EX_NOUSER 67: no such list, address, subscriber */
	HERALD_ERROR_NOINPUT,	/* EX_NOINPUT 66: a named input file is missing */
	HERALD_ERROR_CANTCREAT,	/* EX_CANTCREAT 73 */
	HERALD_ERROR_IO,	/* EX_IOERR 74 */
	HERALD_ERROR_SOFTWARE,	/* EX_SOFTWARE 70: a bug, a broken invariant */
};

GQuark herald_error_quark(void);
int herald_exit_status(const GError *error);

/* errno to an error class: ENOSPC, EAGAIN, EINTR, EDQUOT are TEMP. */
int herald_errno_class(int errnum);

/* herald_now - unix seconds by herald's clock: the real clock, or, when
 * the environment sets HERALD_NOW ("YYYY-MM-DD HH:MM[:SS]" in the local
 * zone, or ISO 8601 with an offset), that instant at the first call,
 * advancing with the real clock from there. HERALD_NOW is for tests
 * only. Every due time herald compares (deliveries, schedules, caps) is
 * taken from here. */
gint64 herald_now(void);

/* herald_clock_check - FALSE and a USAGE error when HERALD_NOW is set
 * but cannot be read (main checks it once, before any command) */
gboolean herald_clock_check(GError **error);

/* herald_parse_local - "YYYY-MM-DD HH:MM[:SS]" (or with a T) in the zone
 * TZ, or ISO 8601 with its own offset, to unix seconds; FALSE if TEXT is
 * neither */
gboolean herald_parse_local(const char *text, GTimeZone *tz, gint64 *out);


#ifdef GMIME_H_INCLUDED_BY_HERALD
#endif

#endif
