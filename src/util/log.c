/*
 * log.c - stderr for people, syslog (LOG_MAIL) as well when asked to.
 * Messages are one line each; callers never end them with a newline.
 * Must stay true: no log line holds a token (token.h). Every line passes
 * log_clean, which masks whatever is token-shaped, wherever it came from
 * (an address, a path, an error's words), and escapes control bytes.
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

/* log_base32 - a digit of the tokens' alphabet (a-z, 2-7), any case */
static gboolean
log_base32(char c)
{
	return g_ascii_isalpha(c) || (c >= '2' && c <= '7');
}

/* log_token_shaped - see log.h */
gboolean
log_token_shaped(const char *word, size_t len)
{
	size_t i = 0, part, n;

	if (len > 1 && g_ascii_tolower(word[0]) == 't')
		i++;
	if (i >= len || strchr("bucslo", g_ascii_tolower(word[i])) == NULL)
		return FALSE;
	i++;
	for (part = 0; part < 3; part++) {
		for (n = 0; i < len && log_base32(word[i]); i++)
			n++;
		if (part < 2 && (n == 0 || i >= len || word[i++] != '-'))
			return FALSE;
		if (part == 2)
			return n >= 10 && i == len;
	}
	return FALSE;
}

/* log_clean - see log.h */
char *
log_clean(const char *text, gboolean escape_8bit)
{
	GString *out = g_string_sized_new(strlen(text) + 8);
	const char *p = text;

	while (*p != '\0') {
		size_t n = 0;

		while (g_ascii_isalnum(p[n]) || p[n] == '-')
			n++;
		if (n > 0) {
			if (log_token_shaped(p, n))
				g_string_append_c(out, '-');
			else
				g_string_append_len(out, p, (gssize)n);
			p += n;
			continue;
		}
		if (*p == '\r' || *p == '\n' || *p == '\t')
			g_string_append_c(out, ' ');
		else if ((guchar)*p < 0x20 || *p == 0x7f ||
		    (escape_8bit && (guchar)*p >= 0x80))
			g_string_append_printf(out, "\\x%02x", (guchar)*p);
		else
			g_string_append_c(out, *p);
		p++;
	}
	return g_string_free(out, FALSE);
}

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
	g_autofree char *raw = g_strdup_vprintf(fmt, ap);
	g_autofree char *msg = log_clean(raw, FALSE);

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
