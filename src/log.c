/*
 * log.c - stderr for people, syslog (LOG_MAIL) as well when asked to.
 * Messages are one line each; callers never end them with a newline.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "log.h"

static const char *log_ident = "herald";
static gboolean log_syslog;
static int log_verbose = -1;

/* log_init - name the program in every line; open syslog if TO_SYSLOG */
void
log_init(const char *ident, gboolean to_syslog)
{
	log_ident = ident;
	log_syslog = to_syslog;
	if (to_syslog)
		openlog(ident, LOG_PID, LOG_MAIL);
}

/* log_emit - one line to stderr and maybe syslog */
static void
log_emit(int prio, const char *suffix, const char *fmt, va_list ap)
{
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);

	fprintf(stderr, "%s: %s%s%s\n", log_ident, msg,
	    suffix != NULL ? ": " : "", suffix != NULL ? suffix : "");
	if (log_syslog)
		syslog(prio, "%s%s%s", msg, suffix != NULL ? ": " : "",
		    suffix != NULL ? suffix : "");
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_INFO, NULL, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_WARNING, NULL, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	log_emit(LOG_WARNING, strerror(saved), fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (log_verbose < 0)
		log_verbose = g_getenv("HERALD_DEBUG") != NULL;
	if (!log_verbose)
		return;
	va_start(ap, fmt);
	log_emit(LOG_DEBUG, NULL, fmt, ap);
	va_end(ap);
}
