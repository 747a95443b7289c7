/*
 * log.h - herald's small logging vocabulary. A person at a terminal reads
 * stderr; `herald pipe` also writes each line to syslog (LOG_MAIL), since
 * the MTA keeps only the first line of its stderr.
 */
#ifndef HERALD_LOG_H
#define HERALD_LOG_H

#include <glib.h>

void log_init(const char *ident, gboolean to_syslog);
void log_info(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void log_warn(const char *fmt, ...) G_GNUC_PRINTF(1, 2);	/* adds strerror(errno) */
void log_debug(const char *fmt, ...) G_GNUC_PRINTF(1, 2);	/* only with HERALD_DEBUG set */

#endif
