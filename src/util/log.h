/*
 * log.h - herald's small logging vocabulary. A person at a terminal reads
 * stderr; `herald pipe` also writes each line to syslog (LOG_MAIL), since
 * the MTA keeps only the first line of its stderr.
 */
#ifndef HERALD_LOG_H
#define HERALD_LOG_H

#include <glib.h>

void log_init(const char *ident, gboolean to_syslog);

/* log_token_shaped - TRUE when the LEN bytes at WORD look like one of
 * herald's tokens (token.h: [t]P<number>-<number>-<MAC>, any case, the MAC
 * at least 10 characters): a real one, a tampered one or one cut short */
gboolean log_token_shaped(const char *word, size_t len);

/* log_clean - TEXT as it may go to a log (caller frees): every
 * token-shaped word (a run of letters, digits and '-') replaced by "-", so
 * no log holds a token whatever path or address carried it; CR, LF and
 * tab made spaces; other control bytes, and with ESCAPE_8BIT bytes
 * 0x80-0xff too, written as \xHH */
char *log_clean(const char *text, gboolean escape_8bit);
void log_info(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void log_warn(const char *fmt, ...) G_GNUC_PRINTF(1, 2);	/* adds strerror(errno) */
void log_debug(const char *fmt, ...) G_GNUC_PRINTF(1, 2);	/* only with HERALD_DEBUG set */

#endif
