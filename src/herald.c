/*
 * herald.c - the error domain and the one mapping from an error class to a
 * sysexits status. Every exit status herald returns comes through here, so
 * the MTA contract (75 defers, anything else bounces) is decided in one
 * place.
 */
#include <errno.h>
#include <stdarg.h>

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

/* herald_set_sqlite_error - an error from a SQLite result code */
void
herald_set_sqlite_error(GError **error, sqlite3 *db, int rc,
    const char *fmt, ...)
{
	va_list ap;
	g_autofree char *what = NULL;
	int code;

	va_start(ap, fmt);
	what = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_FULL:
	case SQLITE_IOERR:
	case SQLITE_NOMEM:
		code = HERALD_ERROR_TEMP;
		break;
	case SQLITE_CANTOPEN:
	case SQLITE_READONLY:
	case SQLITE_PERM:
		code = HERALD_ERROR_CANTCREAT;
		break;
	default:
		code = HERALD_ERROR_SOFTWARE;
	}
	g_set_error(error, HERALD_ERROR, code, "%s: %s", what,
	    db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}
