/*
 * config.c - read etc/herald.conf and lists/NAME.conf with libconfuse.
 *
 * libconfuse reports errors through a callback; we collect the first one,
 * already prefixed with FILE:LINE, into a GError. Two of its gaps are closed
 * here: a file that ends inside a section is accepted by libconfuse 3.3, so
 * config_check_braces() scans for it first; and values with a fixed
 * vocabulary are checked by parse callbacks, which run while the lexer
 * still knows the line. Unknown options are libconfuse errors (we never set
 * CFGF_IGNORE_UNKNOWN).
 *
 * Must stay true: one thread at a time (libconfuse's lexer is global).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <confuse.h>

#include "herald.h"
#include "config.h"
#include "dkim_align.h"
#include "address.h"
#include "schedule_window.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

static GString *config_errbuf;		/* first error of the current parse */
static GHashTable *config_segment_lines;	/* segment title -> line */
static cfg_t *config_root;		/* the file being parsed */
static const char *config_path;		/* and its name */

/* config_at - where an error is, as its message begins: "FILE:LINE", or
 * "FILE" when LINE is 0 (a copy) */
static char *
config_at(const char *file, int line)
{
	return line > 0 ? g_strdup_printf("%s:%d", file, line) :
	    g_strdup(file);
}

/* config_errfunc - libconfuse's error callback: keep the first message,
 * prefixed with the file being parsed and the lexer's line (a section's
 * cfg_t has no line of its own: take the root's) */
static void
config_errfunc(cfg_t *cfg, const char *fmt, va_list ap)
{
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	int line = 0;

	if (config_errbuf == NULL || config_errbuf->len > 0)
		return;
	if (cfg != NULL && cfg->line > 0)
		line = cfg->line;
	else if (config_root != NULL)
		line = config_root->line;
	if (config_path != NULL) {
		g_autofree char *at = config_at(config_path, line);

		g_string_printf(config_errbuf, "%s: %s", at, msg);
	} else
		g_string_assign(config_errbuf, msg);
}

/* config_blank_comments - replace every comment outside strings by
 * spaces, keeping its line breaks: libconfuse 3.3 counts the lines of
 * "#" comments more than once, so every later error line would be off */
static void
config_blank_comments(char *p)
{
	for (; *p != '\0'; p++) {
		if (*p == '"' || *p == '\'') {
			char q = *p;

			for (p++; *p != '\0' && *p != q; p++)
				if (*p == '\\' && p[1] != '\0')
					p++;
			if (*p == '\0')
				return;
		} else if (*p == '#' || (p[0] == '/' && p[1] == '/')) {
			for (; *p != '\0' && *p != '\n'; p++)
				*p = ' ';
			if (*p == '\0')
				return;
		} else if (p[0] == '/' && p[1] == '*') {
			for (; *p != '\0' && !(p[0] == '*' && p[1] == '/'); p++)
				if (*p != '\n')
					*p = ' ';
			if (*p == '\0')
				return;
			p[0] = p[1] = ' ';
			p++;
		}
	}
}

/* config_check_braces - an unclosed '{' is an error at its line */
gboolean
config_check_braces(const char *path, const char *text, GError **error)
{
	g_autoptr(GArray) open = g_array_new(FALSE, FALSE, sizeof(int));
	const char *p;
	int line = 1;

	for (p = text; *p != '\0'; p++) {
		if (*p == '\n') {
			line++;
		} else if (*p == '#' || (p[0] == '/' && p[1] == '/')) {
			while (p[1] != '\0' && p[1] != '\n')
				p++;
		} else if (p[0] == '/' && p[1] == '*') {
			for (p += 2; *p != '\0' && !(p[0] == '*' && p[1] == '/'); p++)
				if (*p == '\n')
					line++;
			if (*p == '\0')
				break;
			p++;
		} else if (*p == '"' || *p == '\'') {
			char q = *p;

			for (p++; *p != '\0' && *p != q; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
				if (*p == '\n')
					line++;
			}
			if (*p == '\0') {
				g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
				    "%s:%d: unterminated string", path, line);
				return FALSE;
			}
		} else if (*p == '{') {
			g_array_append_val(open, line);
		} else if (*p == '}') {
			if (open->len == 0) {
				g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
				    "%s:%d: '}' without a section to close", path, line);
				return FALSE;
			}
			g_array_set_size(open, open->len - 1);
		}
	}
	if (open->len > 0) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
		    "%s:%d: section opened here is never closed (missing '}')",
		    path, g_array_index(open, int, open->len - 1));
		return FALSE;
	}
	return TRUE;
}

/*
 * config_scan - what libconfuse does not check, in one pass over a file's
 * text (herald.conf, a list file, an announcement's data) before it is
 * parsed. It knows libconfuse's tokens (strings, comments, braces, =, +=)
 * but no schema, so new options and sections need nothing here:
 *
 *  - a NUL byte is an error at its line (libconfuse would stop reading
 *    there and take the rest of the file as missing), and so is a byte
 *    that is not UTF-8, comments included (libconfuse takes any byte, and
 *    a Latin-1 value would reach headers, pages and the store as it is);
 *  - an option set twice with = in one section is an error at the second
 *    (libconfuse keeps the last one); += appends and is allowed;
 *  - libconfuse replaces ${NAME} in a double-quoted string by the
 *    environment variable NAME, and a bare ${NAME} too: the copy it parses
 *    has every "${" in a double-quoted string escaped (\$, which it reads
 *    as a plain $), and a bare one is an error. Nothing in a herald file
 *    comes from the environment.
 *
 * The copy keeps every line where it was. *LINES (if not NULL) maps each
 * top-level option to the line where it is set.
 */
struct config_scan {
	const char *path;
	const char *p;
	int line;
	GString *out;
	GPtrArray *scopes;	/* GHashTable * name -> line, innermost last */
	GError **error;
	const char *tok;	/* the last token in the text */
};

enum config_tok { TOK_EOF, TOK_STR, TOK_OPEN, TOK_CLOSE, TOK_SET, TOK_ADD,
	TOK_OTHER, TOK_ERROR };

/* config_scan_fail - a CONFIG error at the current line */
static enum config_tok
config_scan_fail(struct config_scan *sc, const char *what)
{
	g_set_error(sc->error, HERALD_ERROR, HERALD_ERROR_CONFIG, "%s:%d: %s",
	    sc->path, sc->line, what);
	return TOK_ERROR;
}

/* config_scan_quoted - a string from its opening quote Q; "${" escaped */
static enum config_tok
config_scan_quoted(struct config_scan *sc)
{
	char q = *sc->p;

	g_string_append_c(sc->out, *sc->p++);
	for (; *sc->p != q; sc->p++) {
		if (*sc->p == '\0')
			return config_scan_fail(sc, "unterminated string");
		if (*sc->p == '\\' && sc->p[1] != '\0') {
			g_string_append_c(sc->out, *sc->p++);
		} else if (q == '"' && sc->p[0] == '$' && sc->p[1] == '{')
			g_string_append_c(sc->out, '\\');
		if (*sc->p == '\n')
			sc->line++;
		g_string_append_c(sc->out, *sc->p);
	}
	g_string_append_c(sc->out, *sc->p++);
	return TOK_STR;
}

/* config_scan_token - the next token, copied to the output */
static enum config_tok
config_scan_token(struct config_scan *sc)
{
	const char *start;

	for (;;) {
		start = sc->p;
		if (*sc->p == '\0')
			return TOK_EOF;
		if (*sc->p == '\n') {
			sc->line++;
			sc->p++;
		} else if (*sc->p == ' ' || *sc->p == '\t' || *sc->p == '\r')
			sc->p++;
		else if (*sc->p == '#' || (sc->p[0] == '/' && sc->p[1] == '/'))
			sc->p = strchrnul(sc->p, '\n');
		else if (sc->p[0] == '/' && sc->p[1] == '*') {
			for (sc->p += 2; *sc->p != '\0' &&
			    !(sc->p[0] == '*' && sc->p[1] == '/'); sc->p++)
				if (*sc->p == '\n')
					sc->line++;
			if (*sc->p != '\0')
				sc->p += 2;
		} else
			break;
		g_string_append_len(sc->out, start, sc->p - start);
	}
	sc->tok = start;
	if (*sc->p == '"' || *sc->p == '\'')
		return config_scan_quoted(sc);
	if (sc->p[0] == '$' && sc->p[1] == '{')
		return config_scan_fail(sc, "${…} outside quotes: herald does "
		    "not read the environment here (write it in quotes for a "
		    "literal ${…})");
	if (strchr("{}=(),", *sc->p) != NULL || (sc->p[0] == '+' &&
	    sc->p[1] == '=')) {
		enum config_tok t = *sc->p == '{' ? TOK_OPEN :
		    *sc->p == '}' ? TOK_CLOSE : *sc->p == '=' ? TOK_SET :
		    *sc->p == '+' ? TOK_ADD : TOK_OTHER;

		sc->p += t == TOK_ADD ? 2 : 1;
		g_string_append_len(sc->out, start, sc->p - start);
		return t;
	}
	/* an unquoted word (libconfuse's rule), or a character it skips */
	while (*sc->p != '\0' && strchr(" #\"'\t\n\r={}()+,*", *sc->p) == NULL &&
	    !(sc->p[0] == '/' && (sc->p[1] == '/' || sc->p[1] == '*')))
		sc->p++;
	if (sc->p == start)
		sc->p++;
	g_string_append_len(sc->out, start, sc->p - start);
	return sc->p - start > 1 || strchr("+*", *start) == NULL ? TOK_STR :
	    TOK_OTHER;
}

/* config_scan_set - option NAME (at LINE) set with = in the innermost
 * section: an error if it was already */
static gboolean
config_scan_set(struct config_scan *sc, const char *name, int line,
    gboolean add)
{
	GHashTable *scope = g_ptr_array_index(sc->scopes, sc->scopes->len - 1);
	gpointer first;

	if (g_hash_table_lookup_extended(scope, name, NULL, &first)) {
		if (add)
			return TRUE;
		g_set_error(sc->error, HERALD_ERROR, HERALD_ERROR_CONFIG,
		    "%s:%d: %s is set twice in one section (first at line %d)",
		    sc->path, line, name, GPOINTER_TO_INT(first));
		return FALSE;
	}
	g_hash_table_insert(scope, g_strdup(name), GINT_TO_POINTER(line));
	return TRUE;
}

gboolean
config_scan(const char *path, const char *text, gsize len, char **out,
    GHashTable **lines, GError **error)
{
	struct config_scan sc = { path, text, 1, NULL, NULL, error, NULL };
	g_autofree char *name = NULL;
	enum config_tok t;
	int name_line = 0;
	enum { S_NAME, S_AFTER_NAME, S_AFTER_TITLE, S_VALUE, S_LIST, S_SKIP }
	    state = S_NAME;
	const char *nul = memchr(text, '\0', len), *bad = NULL;
	gboolean ok = TRUE;

	if (nul != NULL || !g_utf8_validate(text, len, &bad)) {
		const char *q, *at = nul != NULL ? nul : bad;

		for (q = text; q < at; q++)
			if (*q == '\n')
				sc.line++;
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
		    "%s:%d: %s", path, sc.line, nul != NULL ?
		    "a NUL byte (the file must be text)" :
		    "invalid UTF-8 (the file must be UTF-8 text)");
		return FALSE;
	}
	sc.out = g_string_sized_new(len + 16);
	sc.scopes = g_ptr_array_new_with_free_func(
	    (GDestroyNotify)g_hash_table_unref);
	g_ptr_array_add(sc.scopes, g_hash_table_new_full(g_str_hash,
	    g_str_equal, g_free, NULL));
	while (ok && (t = config_scan_token(&sc)) != TOK_EOF) {
		if (t == TOK_ERROR) {
			ok = FALSE;
			break;
		}
		switch (state) {
		case S_NAME:
			if (t == TOK_STR) {
				g_free(name);
				name = g_strndup(sc.tok, sc.p - sc.tok);
				name_line = sc.line;
				state = S_AFTER_NAME;
			} else if (t == TOK_CLOSE && sc.scopes->len > 1)
				g_ptr_array_set_size(sc.scopes, sc.scopes->len - 1);
			break;
		case S_AFTER_NAME:
		case S_AFTER_TITLE:
			if ((t == TOK_SET || t == TOK_ADD) && state == S_AFTER_NAME) {
				ok = config_scan_set(&sc, name, name_line,
				    t == TOK_ADD);
				state = S_VALUE;
			} else if (t == TOK_OPEN) {
				g_ptr_array_add(sc.scopes, g_hash_table_new_full(
				    g_str_hash, g_str_equal, g_free, NULL));
				state = S_NAME;
			} else if (t == TOK_STR && state == S_AFTER_NAME)
				state = S_AFTER_TITLE;
			else
				state = t == TOK_OTHER ? S_SKIP : S_NAME;
			break;
		case S_VALUE:
			state = t == TOK_OPEN ? S_LIST : S_NAME;
			break;
		case S_LIST:
			if (t == TOK_CLOSE)
				state = S_NAME;
			break;
		case S_SKIP:	/* a function call's arguments */
			if (t == TOK_OTHER && sc.p[-1] == ')')
				state = S_NAME;
			break;
		}
	}
	if (ok && lines != NULL)
		*lines = g_hash_table_ref(g_ptr_array_index(sc.scopes, 0));
	g_ptr_array_unref(sc.scopes);
	if (!ok) {
		g_string_free(sc.out, TRUE);
		return FALSE;
	}
	*out = g_string_free(sc.out, FALSE);
	return TRUE;
}

/* config_parse_file - braces check, config_scan, then libconfuse; errors
 * as CONFIG; *LINES (may be NULL) as config_scan's */
static gboolean
config_parse_file(cfg_t *cfg, const char *path, GHashTable **lines,
    GError **error)
{
	g_autofree char *raw = NULL, *text = NULL;
	g_autoptr(GError) ioerr = NULL;
	gsize len;
	int rc;

	if (!g_file_get_contents(path, &raw, &len, &ioerr)) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG, "%s: %s",
		    path, ioerr->message);
		return FALSE;
	}
	if (!config_scan(path, raw, len, &text, lines, error))
		return FALSE;
	if (!config_check_braces(path, text, error))
		return FALSE;
	config_errbuf = g_string_new(NULL);
	cfg_set_error_function(cfg, config_errfunc);
	config_blank_comments(text);
	config_root = cfg;
	config_path = path;
	rc = cfg_parse_buf(cfg, text);
	config_root = NULL;
	config_path = NULL;
	if (rc != CFG_SUCCESS) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG, "%s",
		    config_errbuf->len > 0 ? config_errbuf->str :
		    rc == CFG_FILE_ERROR ? "cannot read the file" : "parse error");
		if (config_errbuf->len == 0)
			g_prefix_error(error, "%s: ", path);
	}
	g_string_free(config_errbuf, TRUE);
	config_errbuf = NULL;
	return rc == CFG_SUCCESS;
}

/* The options with a fixed vocabulary: each word and the value it stands
 * for, in the order the error message names them (config_cb_word) */
static const struct config_word {
	const char *option;	/* the option's name, in whatever section */
	const char *word;
	long value;
} config_words[] = {
	{ "starttls", "off", STARTTLS_OFF },
	{ "starttls", "when-offered", STARTTLS_WHEN_OFFERED },
	{ "starttls", "required", STARTTLS_REQUIRED },
	{ "reply_to", "list", REPLY_TO_LIST },
	{ "reply_to", "from", REPLY_TO_FROM },
	{ "reply_to", "owner", REPLY_TO_OWNER },
	{ "archive", "public", ARCHIVE_PUBLIC },
	{ "archive", "private", ARCHIVE_PRIVATE },
	{ "archive", "off", ARCHIVE_OFF },
	{ "clicks", "off", TRACK_CLICKS_OFF },
	{ "clicks", "aggregate", TRACK_CLICKS_AGGREGATE },
	{ "clicks", "per-subscriber", TRACK_CLICKS_PER_SUBSCRIBER },
	{ "opens", "off", 0 },
	{ "opens", "per-subscriber", 1 },
	/* send.on_quota: 1 pauses the run (send.quota_pause) */
	{ "on_quota", "wait", 0 },
	{ "on_quota", "pause", 1 },
};

/* config_cb_word - the parse callback of every option in config_words[]:
 * the value of word VALUE; another word is an error that names the
 * option's words ("a, b or c") */
static int
config_cb_word(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	g_autoptr(GString) others = g_string_new(NULL);
	const char *last = NULL;
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(config_words); i++) {
		const struct config_word *w = &config_words[i];

		if (strcmp(w->option, opt->name) != 0)
			continue;
		if (strcmp(w->word, value) == 0) {
			*(long *)result = w->value;
			return 0;
		}
		if (last != NULL)
			g_string_append_printf(others, "%s%s",
			    others->len > 0 ? ", " : "", last);
		last = w->word;
	}
	cfg_error(cfg, "%s must be %s or %s, not \"%s\"", opt->name,
	    others->str, last, value);
	return -1;
}

/* config_validate_positive - an integer option that must be > 0 */
static int
config_validate_positive(cfg_t *cfg, cfg_opt_t *opt)
{
	long v = cfg_opt_getnint(opt, cfg_opt_size(opt) - 1);

	if (v <= 0) {
		cfg_error(cfg, "%s must be greater than 0", opt->name);
		return -1;
	}
	return 0;
}

/* config_validate_nonneg_float - a number that must be 0 or more */
static int
config_validate_nonneg_float(cfg_t *cfg, cfg_opt_t *opt)
{
	double v = cfg_opt_getnfloat(opt, cfg_opt_size(opt) - 1);

	if (v < 0) {
		cfg_error(cfg, "%s must not be negative", opt->name);
		return -1;
	}
	return 0;
}

/* The integers that must be greater than 0 (config_validate_positive),
 * in herald.conf and in a list file */
static const char *const config_positive[] = {
	"pipe|max_size", "pipe|pending_expiry_hours", "pipe|spool_keep_days",
	"web|threads", "web|max_connections", "web|per_ip_connections",
	"web|timeout", "web|request_timeout", "web|max_body", "web|ip_rate", "web|token_rate",
	"web|retry_after",
};
static const char *const config_list_positive[] = {
	"bounce|stale_days", "bounce|warning_interval_days",
};

/* config_validate_each - FUNC validates each of the N options PATHS */
static void
config_validate_each(cfg_t *cfg, const char *const *paths, size_t n,
    cfg_validate_callback_t func)
{
	size_t i;

	for (i = 0; i < n; i++)
		cfg_set_validate_func(cfg, paths[i], func);
}

/* The bounds of the numbers that size what a send builds: past them a
 * value is a typo or a misunderstanding, and it would cost threads, file
 * descriptors or memory in proportion (send.connections = 100000 asked for
 * 100000 threads and their stacks), or wrap when stored in an int. */
static const struct config_bound {
	const char *name;	/* the option, in its section */
	double min, max;
} config_bounds[] = {
	/* each connection is a thread with an SMTP session, a socket and
	 * its own SQLite connection (three more descriptors) */
	{ "send|connections", 1, 100 },
	/* libesmtp keeps every message of a session in memory */
	{ "send|batch", 1, 10000 },
	{ "send|rate", 0, 1000000 },
	{ "send|domain_rate", 0, 1000000 },
	/* a delivery's queue life and first retry: at most 30 days */
	{ "send|max_age", 1, 30 * 86400 },
	{ "send|retry_base", 1, 30 * 86400 },
	/* the error window is an array of this many attempts */
	{ "send|error_min", 1, 1000000 },
	/* a share of the attempts that failed */
	{ "send|error_threshold", 0, 1 },
	{ "smtp|timeout", 1, 3600 },
	/* a failed relay's first rest before it is probed, seconds */
	{ "send|relay_backoff", 1, 3600 },
	/* seconds a host's claim on a chunk of deliveries lasts */
	{ "send|lease", 5, 86400 },
	/* seconds a write waits for a lock another process holds */
	{ "store|busy_timeout", 1, 600 },
};

/* config_validate_bounded - a number of config_bounds[] within its bounds
 * (NaN is outside every bound) */
static int
config_validate_bounded(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *sec = cfg_name(cfg);
	double v;
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(config_bounds); i++) {
		const struct config_bound *b = &config_bounds[i];
		const char *bar = strchr(b->name, '|');

		if ((size_t)(bar - b->name) != strlen(sec) ||
		    strncmp(b->name, sec, bar - b->name) != 0 ||
		    strcmp(bar + 1, opt->name) != 0)
			continue;
		v = opt->type == CFGT_FLOAT ?
		    cfg_opt_getnfloat(opt, cfg_opt_size(opt) - 1) :
		    (double)cfg_opt_getnint(opt, cfg_opt_size(opt) - 1);
		if (!(v >= b->min && v <= b->max)) {
			cfg_error(cfg, "%s.%s must be between %.15g and %.15g,"
			    " not %.15g", sec, opt->name, b->min, b->max, v);
			return -1;
		}
		return 0;
	}
	return 0;
}

/* config_validate_port - smtp.port: 1 to 65535 */
static int
config_validate_port(cfg_t *cfg, cfg_opt_t *opt)
{
	long v = cfg_opt_getnint(opt, 0);

	if (v < 1 || v > 65535) {
		cfg_error(cfg, "port must be between 1 and 65535, not %ld", v);
		return -1;
	}
	return 0;
}

/* config_validate_timezone - a zone GLib knows (tzdata), or "" */
static int
config_validate_timezone(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *v = cfg_opt_getnstr(opt, 0);
	GTimeZone *tz;

	if (v == NULL || *v == '\0')
		return 0;
	if ((tz = g_time_zone_new_identifier(v)) == NULL) {
		cfg_error(cfg, "timezone \"%s\" is not a time zone (an IANA "
		    "name such as \"Europe/Berlin\" or \"UTC\")", v);
		return -1;
	}
	g_time_zone_unref(tz);
	return 0;
}

/* config_validate_window - "[DAYS ]HH:MM-HH:MM", or "" */
static int
config_validate_window(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *v = cfg_opt_getnstr(opt, 0);
	struct schedule_window w;
	GError *error = NULL;

	if (v == NULL || *v == '\0')
		return 0;
	if (!schedule_window_parse(v, &w, &error)) {
		cfg_error(cfg, "%s", error->message);
		g_error_free(error);
		return -1;
	}
	return 0;
}

/* config_validate_cap - daily_cap: 0 (none) or a positive number */
static int
config_validate_cap(cfg_t *cfg, cfg_opt_t *opt)
{
	long v = cfg_opt_getnint(opt, 0);

	if (v < 0 || v > G_MAXINT) {
		cfg_error(cfg, "daily_cap must be 0 (no cap) or a number of "
		    "messages a day, not %ld", v);
		return -1;
	}
	return 0;
}

/* config_validate_segment - remember the line where a segment ends */
static int
config_validate_segment(cfg_t *cfg, cfg_opt_t *opt)
{
	cfg_t *sec = cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1);

	if (sec == NULL)
		return 0;
	if (cfg_getstr(sec, "where") == NULL) {
		cfg_error(cfg, "segment \"%s\" has no where = \"…\" expression",
		    cfg_title(sec));
		return -1;
	}
	if (config_segment_lines != NULL)
		g_hash_table_insert(config_segment_lines,
		    g_strdup(cfg_title(sec)), GINT_TO_POINTER(cfg->line));
	return 0;
}

/* config_path_in - PATH made absolute against DIR (a copy) */
static char *
config_path_in(const char *dir, const char *path)
{
	if (path == NULL || *path == '\0')
		return NULL;
	if (path[0] == '~' && (path[1] == '/' || path[1] == '\0'))
		return g_build_filename(g_get_home_dir(), path + 1, NULL);
	if (g_path_is_absolute(path))
		return g_strdup(path);
	return g_canonicalize_filename(path, dir);
}

static char *
config_strdup_nonempty(const char *s)
{
	return s != NULL && *s != '\0' ? g_strdup(s) : NULL;
}

/* config_list_free - free a list_config */
void
config_list_free(struct list_config *list)
{
	if (list == NULL)
		return;
	g_free(list->name);
	g_free(list->file);
	g_free(list->address);
	g_free(list->local);
	g_free(list->domain);
	g_free(list->display_name);
	if (list->dkim != NULL) {
		g_free(list->dkim->domain);
		g_free(list->dkim->selector);
		g_free(list->dkim->key_file);
		g_free(list->dkim->ed25519_selector);
		g_free(list->dkim->ed25519_key_file);
		g_free(list->dkim);
	}
	g_free(list->from);
	g_strfreev(list->owners);
	g_free(list->unsubscribe_base_url);
	g_free(list->feedback_id);
	g_free(list->preferences_base_url);
	g_free(list->track_base_url);
	g_free(list->description);
	g_strfreev(list->editable);
	g_free(list->timezone);
	g_free(list->window);
	if (list->segments != NULL)
		g_ptr_array_unref(list->segments);
	g_free(list);
}

static void
config_segment_free(gpointer p)
{
	struct segment_def *s = p;

	g_free(s->name);
	g_free(s->where);
	g_free(s->description);
	g_free(s);
}

/* config_word - the next word of P up to END (separators: blank, tab,
 * double quote, "{"), its length in *LEN; NULL when there is none */
static const char *
config_word(const char **p, const char *end, size_t *len)
{
	const char *w;

	while (*p < end && strchr(" \t\"{", **p) != NULL)
		(*p)++;
	if (*p >= end)
		return NULL;
	for (w = *p; *p < end && strchr(" \t\"{", **p) == NULL; (*p)++)
		;
	*len = (size_t)(*p - w);
	return w;
}

/* config_where_lines - the line of each segment's "where" in the file
 * (what a segment error's column counts along); libconfuse reports a
 * section's validation only after reading past it, so its own line is
 * late. One pass: at the first "segment NAME {" line of each segment,
 * the first line from there on that holds "where". */
static void
config_where_lines(const char *path, GPtrArray *segments)
{
	g_autofree char *text = NULL;
	g_autofree gboolean *found = NULL;
	const char *line, *end, *p, *w, *k, *kend;
	size_t len, klen;
	guint i, n, left;

	if (segments->len == 0 || !g_file_get_contents(path, &text, NULL, NULL))
		return;
	found = g_new0(gboolean, segments->len);
	left = segments->len;
	for (line = text, n = 1; left > 0 && *line != '\0'; n++) {
		end = strchrnul(line, '\n');
		p = line;
		if ((w = config_word(&p, end, &len)) != NULL && len == 7 &&
		    memcmp(w, "segment", 7) == 0 &&
		    (w = config_word(&p, end, &len)) != NULL) {
			for (i = 0; i < segments->len; i++) {
				struct segment_def *def =
				    g_ptr_array_index(segments, i);
				guint m = n;

				if (found[i] || strlen(def->name) != len ||
				    memcmp(def->name, w, len) != 0)
					continue;
				found[i] = TRUE;
				left--;
				for (k = line; *k != '\0'; m++) {
					kend = strchrnul(k, '\n');
					klen = (size_t)(kend - k);
					if (g_strstr_len(k, (gssize)klen, "where")
					    != NULL) {
						def->line = (int)m;
						break;
					}
					k = *kend != '\0' ? kend + 1 : kend;
				}
			}
		}
		line = *end != '\0' ? end + 1 : end;
	}
}

/* config_valid_name - list and segment names: [a-z0-9][a-z0-9._-]* */
static gboolean
config_valid_name(const char *name)
{
	const char *p;

	if (name == NULL || !g_ascii_isalnum(name[0]))
		return FALSE;
	for (p = name; *p != '\0'; p++)
		if (!g_ascii_isalnum(*p) && *p != '-' && *p != '_' && *p != '.')
			return FALSE;
	return p - name <= 64;
}

/* config_line - the line where top-level option NAME is set, 0 if not */
static int
config_line(GHashTable *lines, const char *name)
{
	return lines != NULL ?
	    GPOINTER_TO_INT(g_hash_table_lookup(lines, name)) : 0;
}

/* config_valid_address - S (LEN bytes, -1: to its NUL) is local@domain: one
 * '@' not at either end, a domain with no empty label, and nothing that
 * has no place in a plain address (white space, controls, <>()[],;:\") */
static gboolean
config_valid_address(const char *s, gssize len)
{
	g_autofree char *a = len < 0 ? g_strdup(s) : g_strndup(s, len);
	const char *at = strrchr(a, '@'), *p;

	if (at == NULL || at == a || at[1] == '\0' || at[1] == '.' ||
	    g_str_has_suffix(at, ".") || strstr(at, "..") != NULL)
		return FALSE;
	for (p = a; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f ||
		    strchr("<>()[],;:\\\"", *p) != NULL ||
		    (*p == '@' && p != at))
			return FALSE;
	return TRUE;
}

/* config_valid_from - "local@domain" or "Display Name <local@domain>" (a
 * name with no line break, no < or >) */
static gboolean
config_valid_from(const char *s)
{
	const char *lt = strchr(s, '<');
	size_t n = strlen(s);

	if (strpbrk(s, "\r\n") != NULL)
		return FALSE;
	if (lt == NULL)
		return strchr(s, '>') == NULL && config_valid_address(s, -1);
	if (n < 3 || s[n - 1] != '>' || strchr(lt + 1, '<') != NULL ||
	    memchr(s, '>', lt - s) != NULL)
		return FALSE;
	return config_valid_address(lt + 1, (gssize)(s + n - 1 - (lt + 1)));
}

/* config_from_domain - the domain of the From of LIST */
char *
config_from_domain(const struct list_config *list)
{
	const char *f = list->from, *lt, *at, *end;

	if (f == NULL)
		return NULL;
	if ((lt = strrchr(f, '<')) != NULL)
		f = lt + 1;
	if ((at = strrchr(f, '@')) == NULL || at[1] == '\0')
		return NULL;
	end = at + 1 + strcspn(at + 1, "> \t");
	return g_ascii_strdown(at + 1, end - at - 1);
}

/* config_file_line - the first line of PATH whose first word is WORD
 * (libconfuse keeps no line for a section) */
static int
config_file_line(const char *path, const char *word)
{
	g_autofree char *text = NULL;
	const char *p;
	size_t n = strlen(word);
	int line = 1;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return 0;
	for (p = text; *p != '\0'; line++) {
		const char *q = p + strspn(p, " \t");

		if (strncmp(q, word, n) == 0 && strchr(" \t{", q[n]) != NULL)
			return line;
		p = strchrnul(p, '\n');
		if (*p == '\n')
			p++;
	}
	return 0;
}

/* config_valid_selector - a DNS label or dotted labels: [A-Za-z0-9-.] */
static gboolean
config_valid_selector(const char *s)
{
	const char *p;

	if (*s == '\0' || *s == '.' || *s == '-' || strlen(s) > 63)
		return FALSE;
	for (p = s; *p != '\0'; p++)
		if (!g_ascii_isalnum(*p) && *p != '-' && *p != '.')
			return FALSE;
	return TRUE;
}

/* config_list_dkim - LIST's dkim { } section; key paths relative to DIR,
 * the defaults under the data folder are filled in by config_load */
static gboolean
config_list_dkim(struct list_config *list, cfg_t *sec, const char *dir,
    GError **error)
{
	struct list_dkim *k = g_new0(struct list_dkim, 1);
	g_autofree char *from = config_from_domain(list);
	const char *v;

	list->dkim = k;
	k->line = config_file_line(list->file, "dkim");
	v = cfg_getstr(sec, "domain");
	k->domain = *v != '\0' ? g_ascii_strdown(v, -1) : g_strdup(from);
	k->selector = g_strdup(cfg_getstr(sec, "selector"));
	k->key_file = config_path_in(dir, cfg_getstr(sec, "key_file"));
	v = cfg_getstr(sec, "ed25519_selector");
	k->ed25519_selector = config_strdup_nonempty(v);
	k->ed25519_key_file = config_path_in(dir,
	    cfg_getstr(sec, "ed25519_key_file"));
	if (k->domain == NULL || strchr(k->domain, '.') == NULL) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
		    "%s:%d: dkim: no domain (and From has none)", list->file,
		    k->line);
		return FALSE;
	}
	if (!config_valid_selector(k->selector) ||
	    (k->ed25519_selector != NULL &&
	    !config_valid_selector(k->ed25519_selector))) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
		    "%s:%d: dkim: a selector is letters, digits, - and .",
		    list->file, k->line);
		return FALSE;
	}
	if (k->ed25519_selector != NULL &&
	    g_ascii_strcasecmp(k->ed25519_selector, k->selector) == 0) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
		    "%s:%d: dkim: ed25519_selector must differ from selector "
		    "(one key per DNS record)", list->file, k->line);
		return FALSE;
	}
	if (k->ed25519_key_file != NULL && k->ed25519_selector == NULL) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
		    "%s:%d: dkim: ed25519_key_file needs ed25519_selector",
		    list->file, k->line);
		return FALSE;
	}
	if (from != NULL && dkim_alignment(k->domain, from) == DKIM_ALIGN_NONE) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
		    "%s:%d: dkim: domain %s is not aligned with the From "
		    "domain %s (use %s or a parent of it)", list->file, k->line,
		    k->domain, from, from);
		return FALSE;
	}
	return TRUE;
}

/* config_list_cfg - libconfuse's parser for a list file, with its
 * validators (cfg_init copies the option tables) */
static cfg_t *
config_list_cfg(void)
{
	cfg_opt_t bounce_opts[] = {
		CFG_FLOAT("hard_score", 1.0, CFGF_NONE),
		CFG_FLOAT("soft_score", 0.5, CFGF_NONE),
		CFG_FLOAT("threshold", 5.0, CFGF_NONE),
		CFG_INT("stale_days", 7, CFGF_NONE),
		CFG_INT("warnings", 3, CFGF_NONE),
		CFG_INT("warning_interval_days", 7, CFGF_NONE),
		CFG_BOOL("notify_owner", cfg_true, CFGF_NONE),
		CFG_END()
	};
	cfg_opt_t dkim_opts[] = {
		CFG_STR("domain", "", CFGF_NONE),
		CFG_STR("selector", "herald", CFGF_NONE),
		CFG_STR("key_file", "", CFGF_NONE),
		CFG_STR("ed25519_selector", "", CFGF_NONE),
		CFG_STR("ed25519_key_file", "", CFGF_NONE),
		CFG_END()
	};
	cfg_opt_t tracking_opts[] = {
		CFG_INT_CB("clicks", TRACK_CLICKS_OFF, CFGF_NONE, config_cb_word),
		CFG_INT_CB("opens", 0, CFGF_NONE, config_cb_word),
		CFG_END()
	};
	cfg_opt_t segment_opts[] = {
		CFG_STR("where", NULL, CFGF_NONE),
		CFG_STR("description", "", CFGF_NONE),
		CFG_END()
	};
	cfg_opt_t opts[] = {
		CFG_STR("address", "", CFGF_NONE),
		CFG_STR("display_name", "", CFGF_NONE),
		CFG_STR("description", "", CFGF_NONE),
		CFG_STR("from", "", CFGF_NONE),
		CFG_STR_LIST("owners", "{}", CFGF_NONE),
		CFG_INT_CB("reply_to", REPLY_TO_LIST, CFGF_NONE, config_cb_word),
		CFG_BOOL("announce_only", cfg_true, CFGF_NONE),
		CFG_BOOL("subscribe_by_mail", cfg_true, CFGF_NONE),
		CFG_BOOL("goodbye_notice", cfg_true, CFGF_NONE),
		CFG_BOOL("goodbye_after_one_click", cfg_false, CFGF_NONE),
		CFG_STR("unsubscribe_base_url", "", CFGF_NONE),
		CFG_STR("feedback_id", "", CFGF_NONE),
		CFG_STR_LIST("editable_attributes", "{}", CFGF_NONE),
		CFG_INT_CB("archive", ARCHIVE_PUBLIC, CFGF_NONE,
		    config_cb_word),
		CFG_SEC("bounce", bounce_opts, CFGF_NONE),
		CFG_SEC("dkim", dkim_opts, CFGF_NODEFAULT),
		CFG_SEC("tracking", tracking_opts, CFGF_NONE),
		CFG_STR("timezone", "", CFGF_NONE),
		CFG_STR("window", "", CFGF_NONE),
		CFG_INT("daily_cap", 0, CFGF_NONE),
		CFG_SEC("segment", segment_opts,
		    CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
		CFG_END()
	};
	cfg_t *cfg = cfg_init(opts, CFGF_NONE);

	cfg_set_validate_func(cfg, "segment", config_validate_segment);
	config_validate_each(cfg, config_list_positive,
	    G_N_ELEMENTS(config_list_positive), config_validate_positive);
	cfg_set_validate_func(cfg, "bounce|threshold", config_validate_nonneg_float);
	cfg_set_validate_func(cfg, "timezone", config_validate_timezone);
	cfg_set_validate_func(cfg, "window", config_validate_window);
	cfg_set_validate_func(cfg, "daily_cap", config_validate_cap);
	return cfg;
}

/* config_list_name - the list name a file's name gives (NAME.conf);
 * NULL and a CONFIG error when it gives none */
static char *
config_list_name(const char *path, GError **error)
{
	g_autofree char *base = g_path_get_basename(path);

	if (!g_str_has_suffix(base, ".conf")) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
		    "%s: a list file's name must end in .conf", path);
		return NULL;
	}
	base[strlen(base) - 5] = '\0';
	if (!config_valid_name(base)) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
		    "%s: \"%s\" is not a valid list name (letters, digits, . _ -)",
		    path, base);
		return NULL;
	}
	return g_steal_pointer(&base);
}

/* config_list_identity - address, names, description and From */
static gboolean
config_list_identity(struct list_config *list, cfg_t *cfg, GHashTable *lines,
    const char *default_domain, GError **error)
{
	const char *path = list->file, *addr = cfg_getstr(cfg, "address");
	const char *from, *at;

	if (addr == NULL || *addr == '\0') {
		list->local = g_strdup(list->name);
		list->domain = g_strdup(default_domain);
	} else if (!config_valid_address(addr, -1)) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
		    "%s:%d: address \"%s\" is not LOCAL@DOMAIN", path,
		    config_line(lines, "address"), addr);
		return FALSE;
	} else {
		at = strrchr(addr, '@');
		list->local = g_strndup(addr, at - addr);
		list->domain = g_strdup(at + 1);
		list->address_line = config_line(lines, "address");
	}
	list->address = g_strdup_printf("%s@%s", list->local, list->domain);
	list->display_name = g_strdup(*cfg_getstr(cfg, "display_name") != '\0' ?
	    cfg_getstr(cfg, "display_name") : list->name);
	list->description = config_strdup_nonempty(cfg_getstr(cfg, "description"));
	from = cfg_getstr(cfg, "from");
	if (*from != '\0' && !config_valid_from(from)) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
		    "%s:%d: from = \"%s\" is not an address (want "
		    "\"local@domain\" or \"Name <local@domain>\")", path,
		    config_line(lines, "from"), from);
		return FALSE;
	}
	list->from = g_strdup(*from != '\0' ? from : list->address);
	return TRUE;
}

/* config_list_owners - owners = { … }: at least one address when given */
static gboolean
config_list_owners(struct list_config *list, cfg_t *cfg, GHashTable *lines,
    GError **error)
{
	unsigned i, n = cfg_size(cfg, "owners");

	if (n == 0 && g_hash_table_contains(lines, "owners")) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
		    "%s:%d: owners = {} names nobody (leave it out, or name "
		    "at least one address)", list->file,
		    config_line(lines, "owners"));
		return FALSE;
	}
	list->owners = g_new0(char *, n + 1);
	for (i = 0; i < n; i++) {
		const char *o = cfg_getnstr(cfg, "owners", i);

		if (!config_valid_address(o, -1)) {
			g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
			    "%s:%d: owner \"%s\" is not an address", list->file,
			    config_line(lines, "owners"), o);
			return FALSE;
		}
		list->owners[i] = g_strdup(o);
	}
	return TRUE;
}

/* config_list_feedback_id - feedback_id = "SENDERID": 5 to 15 letters,
 * digits, dots and dashes (the last field of Gmail's Feedback-ID) */
static gboolean
config_list_feedback_id(struct list_config *list, cfg_t *cfg,
    GHashTable *lines, GError **error)
{
	const char *v = cfg_getstr(cfg, "feedback_id"), *p;

	if (v == NULL || cfg_size(cfg, "feedback_id") == 0 ||
	    (*v == '\0' && config_line(lines, "feedback_id") == 0))
		return TRUE;
	for (p = v; *p != '\0'; p++)
		if (!g_ascii_isalnum(*p) && *p != '.' && *p != '-')
			break;
	if (*p != '\0' || p - v < 5 || p - v > 15) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
		    "%s:%d: feedback_id \"%s\" is not a sender id (5 to 15 "
		    "letters, digits, dots and dashes)", list->file,
		    config_line(lines, "feedback_id"), v);
		return FALSE;
	}
	list->feedback_id = g_strdup(v);
	return TRUE;
}

/* config_list_web - the unsubscribe base URL and the attributes
 * subscribers may edit on the web */
static gboolean
config_list_web(struct list_config *list, cfg_t *cfg, GError **error)
{
	unsigned i, n = cfg_size(cfg, "editable_attributes");

	list->unsubscribe_base_url = config_strdup_nonempty(
	    cfg_getstr(cfg, "unsubscribe_base_url"));
	if (list->unsubscribe_base_url != NULL &&
	    !g_str_has_prefix(list->unsubscribe_base_url, "https://")) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
		    "%s: unsubscribe_base_url must start with https://",
		    list->file);
		return FALSE;
	}
	list->editable = g_new0(char *, n + 1);
	for (i = 0; i < n; i++) {
		g_autofree char *k = subscriber_key_fold(
		    cfg_getnstr(cfg, "editable_attributes", i));

		if (!subscriber_check_key(k, NULL)) {
			g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
			    "%s: editable_attributes: \"%s\" is not an attribute"
			    " name", list->file, cfg_getnstr(cfg,
			    "editable_attributes", i));
			return FALSE;
		}
		list->editable[i] = g_steal_pointer(&k);
	}
	return TRUE;
}

/* config_list_bounce - bounce { } */
static void
config_list_bounce(struct list_config *list, cfg_t *b)
{
	list->bounce.hard_score = cfg_getfloat(b, "hard_score");
	list->bounce.soft_score = cfg_getfloat(b, "soft_score");
	list->bounce.threshold = cfg_getfloat(b, "threshold");
	list->bounce.stale_days = cfg_getint(b, "stale_days");
	list->bounce.warnings = cfg_getint(b, "warnings");
	list->bounce.warning_interval_days = cfg_getint(b, "warning_interval_days");
	list->bounce.notify_owner = cfg_getbool(b, "notify_owner");
}

/* config_list_segments - segment NAME { } sections, each name valid */
static gboolean
config_list_segments(struct list_config *list, cfg_t *cfg, GError **error)
{
	unsigned i, n = cfg_size(cfg, "segment");

	list->segments = g_ptr_array_new_with_free_func(config_segment_free);
	for (i = 0; i < n; i++) {
		cfg_t *s = cfg_getnsec(cfg, "segment", i);
		struct segment_def *def = g_new0(struct segment_def, 1);

		def->name = g_strdup(cfg_title(s));
		def->where = g_strdup(cfg_getstr(s, "where"));
		def->description = config_strdup_nonempty(cfg_getstr(s, "description"));
		def->line = GPOINTER_TO_INT(g_hash_table_lookup(
		    config_segment_lines, def->name));
		g_ptr_array_add(list->segments, def);
		if (!config_valid_name(def->name)) {
			g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
			    "%s:%d: \"%s\" is not a valid segment name",
			    list->file, def->line, def->name);
			return FALSE;
		}
	}
	return TRUE;
}

/* config_parse_list_file - read one lists/NAME.conf */

struct list_config *
config_parse_list_file(const char *path, const char *default_domain,
    GError **error)
{
	g_autofree char *name = config_list_name(path, error);
	g_autofree char *dir = g_path_get_dirname(path);
	g_autoptr(GHashTable) lines = NULL;
	struct list_config *list;
	cfg_t *cfg;

	if (name == NULL)
		return NULL;
	cfg = config_list_cfg();
	config_segment_lines = g_hash_table_new_full(g_str_hash, g_str_equal,
	    g_free, NULL);
	if (!config_parse_file(cfg, path, &lines, error)) {
		g_clear_pointer(&config_segment_lines, g_hash_table_unref);
		cfg_free(cfg);
		return NULL;
	}
	list = g_new0(struct list_config, 1);
	list->name = g_steal_pointer(&name);
	list->file = g_strdup(path);
	if (!config_list_identity(list, cfg, lines, default_domain, error) ||
	    !config_list_owners(list, cfg, lines, error))
		goto fail;
	list->reply_to = cfg_getint(cfg, "reply_to");
	list->announce_only = cfg_getbool(cfg, "announce_only");
	list->subscribe_by_mail = cfg_getbool(cfg, "subscribe_by_mail");
	list->goodbye_notice = cfg_getbool(cfg, "goodbye_notice");
	list->goodbye_after_one_click = cfg_getbool(cfg,
	    "goodbye_after_one_click");
	if (!config_list_web(list, cfg, error) ||
	    !config_list_feedback_id(list, cfg, lines, error))
		goto fail;
	list->archive = cfg_getint(cfg, "archive");
	list->timezone = config_strdup_nonempty(cfg_getstr(cfg, "timezone"));
	list->window = config_strdup_nonempty(cfg_getstr(cfg, "window"));
	list->daily_cap = cfg_getint(cfg, "daily_cap");
	config_list_bounce(list, cfg_getsec(cfg, "bounce"));
	list->track_clicks = cfg_getint(cfg_getsec(cfg, "tracking"), "clicks");
	list->track_opens = cfg_getint(cfg_getsec(cfg, "tracking"), "opens") != 0;
	list->tracking_line = config_file_line(path, "tracking");
	if ((cfg_size(cfg, "dkim") > 0 &&
	    !config_list_dkim(list, cfg_getsec(cfg, "dkim"), dir, error)) ||
	    !config_list_segments(list, cfg, error))
		goto fail;
	g_clear_pointer(&config_segment_lines, g_hash_table_unref);
	cfg_free(cfg);
	config_where_lines(path, list->segments);
	return list;
fail:
	g_clear_pointer(&config_segment_lines, g_hash_table_unref);
	config_list_free(list);
	cfg_free(cfg);
	return NULL;
}

/* config_find - the first of -c, $HERALD_CONFIG, ./etc/herald.conf and
 * the system file that exists */
char *
config_find(const char *option, GError **error)
{
	const char *const tried[] = { "./etc/herald.conf",
	    SYSCONFDIR "/herald/herald.conf" };
	const char *env = g_getenv("HERALD_CONFIG");
	const char *named = option != NULL ? option :
	    env != NULL && *env != '\0' ? env : NULL;
	g_autofree char *cwd = NULL;
	size_t i;

	if (named != NULL) {
		if (g_file_test(named, G_FILE_TEST_IS_REGULAR))
			return g_strdup(named);
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
		    "%s: no such configuration file (named by %s)", named,
		    option != NULL ? "-c" : "$HERALD_CONFIG");
		return NULL;
	}
	for (i = 0; i < G_N_ELEMENTS(tried); i++)
		if (g_file_test(tried[i], G_FILE_TEST_IS_REGULAR))
			return g_strdup(tried[i] + (i == 0 ? 2 : 0));
	cwd = g_get_current_dir();
	g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
	    "no configuration file found: tried %s/%s and %s; name one"
	    " with -c FILE or $HERALD_CONFIG", cwd, tried[0] + 2, tried[1]);
	return NULL;
}

static gint
config_list_cmp(gconstpointer a, gconstpointer b)
{
	const struct list_config *x = *(struct list_config *const *)a;
	const struct list_config *y = *(struct list_config *const *)b;

	return strcmp(x->name, y->name);
}

/* The suffixes of a list's other addresses, as herald pipe routes them
 * (pipe.c, pipe_suffixes) */
static const char *const config_list_suffixes[] = {
	"-bounces", "-unsubscribe", "-subscribe", "-confirm", "-owner",
	"-request",
};

/* config_check_addresses - no two lists share an address (the pipe would
 * route all its mail to the first); the error is at the later file's
 * address line, naming the other. Nor is a list's address another list's
 * LIST-owner@ (or any of its suffixed addresses); the error is at the
 * line of the address that no mail would reach. */
static gboolean
config_check_addresses(const struct config *config, GError **error)
{
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash,
	    g_str_equal, g_free, NULL);
	guint i;

	for (i = 0; i < config->lists->len; i++) {
		const struct list_config *l = g_ptr_array_index(config->lists, i);
		const struct list_config *o;
		char *key = g_ascii_strdown(l->address, -1);
		g_autofree char *at = NULL;

		if ((o = g_hash_table_lookup(seen, key)) == NULL) {
			g_hash_table_insert(seen, key, (gpointer)l);
			continue;
		}
		g_free(key);
		if (l->address_line == 0 && o->address_line > 0) {
			const struct list_config *t = l;

			l = o;	/* only its name gives L that address */
			o = t;
		}
		at = config_at(l->file, l->address_line);
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
		    "%s: address %s is also the address of list %s (%s)", at,
		    l->address, o->name, o->file);
		return FALSE;
	}
	/* a list's address that is another list's LIST-owner@ (or -bounces,
	 * -request…): herald pipe tries those routes before a list's own
	 * address, so no mail would ever reach the list */
	for (i = 0; i < config->lists->len; i++) {
		const struct list_config *l = g_ptr_array_index(config->lists, i);
		const struct list_config *o;
		guint j;

		for (j = 0; j < G_N_ELEMENTS(config_list_suffixes); j++) {
			g_autofree char *addr = g_strdup_printf("%s%s@%s",
			    l->local, config_list_suffixes[j], l->domain);
			g_autofree char *key = g_ascii_strdown(addr, -1);
			g_autofree char *at = NULL;

			if ((o = g_hash_table_lookup(seen, key)) == NULL)
				continue;
			at = config_at(o->file, o->address_line);
			g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
			    "%s: address %s is also the %s address of list %s "
			    "(%s), where herald pipe would take its mail", at,
			    o->address, config_list_suffixes[j], l->name,
			    l->file);
			return FALSE;
		}
	}
	return TRUE;
}

/* config_load_lists - every DIR/NAME.conf, sorted by name */
static gboolean
config_load_lists(struct config *config, GError **error)
{
	g_autoptr(GError) ioerr = NULL;
	g_autoptr(GDir) dir = NULL;
	const char *ent;

	config->lists = g_ptr_array_new_with_free_func(
	    (GDestroyNotify)config_list_free);
	/* a folder with no lists is a configuration with no lists; a folder
	 * that is not there is a mistake (herald pipe would answer "no such
	 * list" for every list's mail, and the MTA bounce it) */
	if (!g_file_test(config->list_dir, G_FILE_TEST_IS_DIR)) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
		    "%s: the list folder %s is not there%s", config->path !=
		    NULL ? config->path : "herald.conf", config->list_dir,
		    config->path != NULL ? " (list_dir)" : "");
		return FALSE;
	}
	dir = g_dir_open(config->list_dir, 0, &ioerr);
	if (dir == NULL) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG, "%s",
		    ioerr->message);
		return FALSE;
	}
	while ((ent = g_dir_read_name(dir)) != NULL) {
		g_autofree char *path = NULL;
		struct list_config *list;

		if (!g_str_has_suffix(ent, ".conf") || ent[0] == '.')
			continue;
		path = g_build_filename(config->list_dir, ent, NULL);
		list = config_parse_list_file(path, config->domain, error);
		if (list == NULL)
			return FALSE;
		if (list->dkim != NULL && list->dkim->key_file == NULL)
			list->dkim->key_file = dkim_default_key_path(
			    config->data_dir, list->name, list->dkim->selector);
		if (list->dkim != NULL && list->dkim->ed25519_selector != NULL &&
		    list->dkim->ed25519_key_file == NULL)
			list->dkim->ed25519_key_file = dkim_default_key_path(
			    config->data_dir, list->name,
			    list->dkim->ed25519_selector);
		g_ptr_array_add(config->lists, list);
	}
	g_ptr_array_sort(config->lists, config_list_cmp);
	return config_check_addresses(config, error);
}

/* config_validate_base_url - web base_url is an http(s) URL (https for
 * mail providers' one-click; http only makes sense for a local demo) */
static int
config_validate_base_url(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *v = cfg_opt_getnstr(opt, 0);

	if (v == NULL || *v == '\0')
		return 0;
	if ((!g_str_has_prefix(v, "https://") &&
	    !g_str_has_prefix(v, "http://")) || strpbrk(v, " \t\r\n\"<>?#")) {
		cfg_error(cfg, "base_url must be an https:// URL without query"
		    " or fragment, not \"%s\"", v);
		return -1;
	}
	return 0;
}

/* The options of smtp { } and of each relay NAME { } (config_smtp) */
#define CONFIG_SMTP_OPTS \
	CFG_STR("host", "127.0.0.1", CFGF_NONE), \
	CFG_INT("port", 25, CFGF_NONE), \
	CFG_INT_CB("starttls", STARTTLS_WHEN_OFFERED, CFGF_NONE, \
	    config_cb_word), \
	CFG_STR("user", "", CFGF_NONE), \
	CFG_STR("password_file", "", CFGF_NONE), \
	CFG_INT("timeout", 60, CFGF_NONE), \
	CFG_STR("helo", "", CFGF_NONE)

/* config_smtp - TO from the CONFIG_SMTP_OPTS of section S (the password
 * file against DIR) */
static void
config_smtp(struct smtp_config *to, cfg_t *s, const char *dir)
{
	to->host = g_strdup(cfg_getstr(s, "host"));
	to->port = cfg_getint(s, "port");
	to->starttls = cfg_getint(s, "starttls");
	to->user = config_strdup_nonempty(cfg_getstr(s, "user"));
	to->password_file = config_path_in(dir, cfg_getstr(s, "password_file"));
	to->timeout = cfg_getint(s, "timeout");
	to->helo = config_strdup_nonempty(cfg_getstr(s, "helo"));
}

/* config_smtp_clear - free the strings of SMTP (not SMTP itself) */
static void
config_smtp_clear(struct smtp_config *smtp)
{
	g_free(smtp->host);
	g_free(smtp->user);
	g_free(smtp->password_file);
	g_free(smtp->helo);
}

/* config_smtp_copy - a deep copy of FROM */
static void
config_smtp_copy(struct smtp_config *to, const struct smtp_config *from)
{
	*to = *from;
	to->host = g_strdup(from->host);
	to->user = g_strdup(from->user);
	to->password_file = g_strdup(from->password_file);
	to->helo = g_strdup(from->helo);
}

/* config_relay_free - free a relay_config */
static void
config_relay_free(struct relay_config *r)
{
	g_free(r->name);
	config_smtp_clear(&r->smtp);
	g_free(r);
}

/* config_relay - one relay NAME { } section (paths against DIR) */
static struct relay_config *
config_relay(cfg_t *s, const char *dir, int connections)
{
	struct relay_config *r = g_new0(struct relay_config, 1);
	cfg_t *q = cfg_getsec(s, "quota");

	r->name = g_strdup(cfg_title(s));
	config_smtp(&r->smtp, s, dir);
	r->weight = cfg_getint(s, "weight");
	r->connections = cfg_getint(s, "connections");
	if (r->connections == 0)
		r->connections = connections;
	r->per_hour = cfg_getint(q, "per_hour");
	r->per_day = cfg_getint(q, "per_day");
	return r;
}

/* config_shape_free - free a shape_config */
static void
config_shape_free(struct shape_config *sh)
{
	g_free(sh->name);
	g_strfreev(sh->domains);
	g_free(sh);
}

/* config_shape - one shape NAME { } section */
static struct shape_config *
config_shape(cfg_t *s)
{
	struct shape_config *sh = g_new0(struct shape_config, 1);
	guint i, n = cfg_size(s, "domains");

	sh->name = g_strdup(cfg_title(s));
	sh->domains = g_new0(char *, n + 1);
	for (i = 0; i < n; i++)
		sh->domains[i] = g_ascii_strdown(cfg_getnstr(s, "domains", i), -1);
	sh->rate = cfg_getfloat(s, "rate");
	sh->connections = cfg_getint(s, "connections");
	return sh;
}

/* A number of a shape or relay section, and the bounds it must be within */
struct config_range {
	const char *name;
	double value, min, max;
};

/* config_out_of_range - "NAME must be between MIN and MAX" (a copy) for
 * the first of the N RANGES whose value is outside its bounds (NaN is
 * outside every bound); NULL when none is */
static char *
config_out_of_range(const struct config_range *ranges, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!(ranges[i].value >= ranges[i].min &&
		    ranges[i].value <= ranges[i].max))
			return g_strdup_printf("%s must be between %.15g and "
			    "%.15g", ranges[i].name, ranges[i].min,
			    ranges[i].max);
	return NULL;
}

/* config_check_shapes - domains named, each in one group at most,
 * numbers within bounds */
static gboolean
config_check_shapes(const struct config *config, GError **error)
{
	const char *file = config->path != NULL ? config->path : "herald.conf";
	g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
	const char *why = NULL;
	g_autofree char *what = NULL;
	guint i;
	char **d;

	for (i = 0; i < config->shapes->len && why == NULL; i++) {
		const struct shape_config *sh = g_ptr_array_index(config->shapes, i);
		const struct config_range ranges[] = {
			{ "rate", sh->rate, 0, 1000000 },
			{ "connections", sh->connections, 0, 100 },
		};

		if (sh->domains[0] == NULL)
			why = "domains names no domain";
		else
			why = what = config_out_of_range(ranges,
			    G_N_ELEMENTS(ranges));
		for (d = sh->domains; why == NULL && *d != NULL; d++) {
			const char *other = g_hash_table_lookup(seen, *d);

			if (other != NULL) {
				what = g_strdup_printf("%s is in shape \"%s\" already",
				    *d, other);
				why = what;
			} else
				g_hash_table_insert(seen, *d, sh->name);
		}
		if (why != NULL) {
			g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
			    "%s: shape \"%s\": %s", file, sh->name, why);
			return FALSE;
		}
	}
	return TRUE;
}

/* config_check_relays - each relay's numbers within bounds, a password
 * file wherever a user is set; at most 100 connections in all */
static gboolean
config_check_relays(const struct config *config, GError **error)
{
	const char *file = config->path != NULL ? config->path : "herald.conf";
	int total = 0;
	guint i;

	for (i = 0; i < config->relays->len; i++) {
		const struct relay_config *r = g_ptr_array_index(config->relays, i);
		const struct config_range ranges[] = {
			{ "port", r->smtp.port, 1, 65535 },
			{ "weight", r->weight, 1, 1000 },
			{ "connections", r->connections, 1, 100 },
			{ "timeout", r->smtp.timeout, 1, 3600 },
		};
		g_autofree char *range = config_out_of_range(ranges,
		    G_N_ELEMENTS(ranges));
		const char *why = NULL;

		if (range != NULL)
			why = range;
		else if (r->per_hour < 0 || r->per_day < 0)
			why = "a quota must not be negative";
		else if (r->smtp.user != NULL && r->smtp.password_file == NULL)
			why = "user is set but password_file is not";
		if (why != NULL) {
			g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
			    "%s: relay \"%s\": %s", file, r->name, why);
			return FALSE;
		}
		total += r->connections;
	}
	if (total > 100) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
		    "%s: the relays have %d connections in all; at most 100",
		    file, total);
		return FALSE;
	}
	return TRUE;
}

/* config_web_urls - a list without its own unsubscribe_base_url gets
 * BASE_URL/unsubscribe/ when web.base_url is set, and every list the
 * preferences page BASE_URL/preferences/ (the same token) */
static void
config_web_urls(struct config *config)
{
	guint i;

	if (config->web.base_url == NULL)
		return;
	for (i = 0; i < config->lists->len; i++) {
		struct list_config *l = g_ptr_array_index(config->lists, i);

		if (l->unsubscribe_base_url == NULL)
			l->unsubscribe_base_url = g_strdup_printf(
			    "%s/unsubscribe/", config->web.base_url);
		l->preferences_base_url = g_strdup_printf("%s/preferences/",
		    config->web.base_url);
	}
}

/* config_tracking - a list that tracks clicks or opens needs
 * web.base_url (herald serve answers the links): a CONFIG error at the
 * line of its tracking { } otherwise */
static gboolean
config_tracking(struct config *config, GError **error)
{
	guint i;

	for (i = 0; i < config->lists->len; i++) {
		struct list_config *l = g_ptr_array_index(config->lists, i);

		if (l->track_clicks == TRACK_CLICKS_OFF && !l->track_opens)
			continue;
		if (config->web.base_url == NULL) {
			g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
			    "%s:%d: tracking: clicks and opens are answered by"
			    " herald serve: set web.base_url in %s", l->file,
			    l->tracking_line, config->path != NULL ?
			    config->path : "herald.conf");
			return FALSE;
		}
		l->track_base_url = g_strdup(config->web.base_url);
	}
	return TRUE;
}

/* config_data_path - PATH made absolute against DATA_DIR, or
 * DATA_DIR/NAME when PATH is "" (a copy) */
static char *
config_data_path(const char *data_dir, const char *path, const char *name)
{
	return *path != '\0' ? config_path_in(data_dir, path) :
	    g_build_filename(data_dir, name, NULL);
}

/* config_main_cfg - libconfuse's parser for herald.conf, with its
 * validators (cfg_init copies the option tables) */
static cfg_t *
config_main_cfg(void)
{
	cfg_opt_t smtp_opts[] = {
		CONFIG_SMTP_OPTS,
		CFG_END()
	};
	cfg_opt_t quota_opts[] = {
		CFG_INT("per_hour", 0, CFGF_NONE),
		CFG_INT("per_day", 0, CFGF_NONE),
		CFG_END()
	};
	cfg_opt_t relay_opts[] = {
		CONFIG_SMTP_OPTS,
		CFG_INT("weight", 1, CFGF_NONE),
		CFG_INT("connections", 0, CFGF_NONE),
		CFG_SEC("quota", quota_opts, CFGF_NONE),
		CFG_END()
	};
	cfg_opt_t shape_opts[] = {
		CFG_STR_LIST("domains", "{}", CFGF_NONE),
		CFG_FLOAT("rate", 0, CFGF_NONE),
		CFG_INT("connections", 0, CFGF_NONE),
		CFG_END()
	};
	cfg_opt_t send_opts[] = {
		CFG_INT("connections", 4, CFGF_NONE),
		CFG_INT("batch", 200, CFGF_NONE),
		CFG_FLOAT("rate", 0, CFGF_NONE),
		CFG_FLOAT("domain_rate", 0, CFGF_NONE),
		CFG_INT("max_age", 3 * 24 * 3600, CFGF_NONE),
		CFG_INT("retry_base", 300, CFGF_NONE),
		CFG_FLOAT("error_threshold", 0.5, CFGF_NONE),
		CFG_INT("error_min", 50, CFGF_NONE),
		CFG_INT_CB("on_quota", 0, CFGF_NONE, config_cb_word),
		CFG_INT("relay_backoff", 30, CFGF_NONE),
		CFG_INT("lease", 60, CFGF_NONE),
		CFG_END()
	};
	cfg_opt_t store_opts[] = {
		CFG_STR("backend", "sqlite", CFGF_NONE),
		CFG_STR("conninfo", "", CFGF_NONE),
		CFG_STR("password_file", "", CFGF_NONE),
		CFG_INT("busy_timeout", CONFIG_BUSY_TIMEOUT_DEFAULT, CFGF_NONE),
		CFG_END()
	};
	cfg_opt_t pipe_opts[] = {
		CFG_INT("max_size", 10 * 1024 * 1024, CFGF_NONE),
		CFG_INT("pending_expiry_hours", 72, CFGF_NONE),
		CFG_INT("spool_keep_days", 30, CFGF_NONE),
		CFG_END()
	};
	cfg_opt_t web_opts[] = {
		CFG_STR("listen", "127.0.0.1:8025", CFGF_NONE),
		CFG_STR("base_url", "", CFGF_NONE),
		CFG_STR("templates", "", CFGF_NONE),
		CFG_STR_LIST("trusted_proxies", "{\"127.0.0.1\", \"::1\"}",
		    CFGF_NONE),
		CFG_STR_LIST("metrics_allow", "{\"127.0.0.1\", \"::1\"}",
		    CFGF_NONE),
		CFG_INT("threads", 4, CFGF_NONE),
		CFG_INT("max_connections", 512, CFGF_NONE),
		CFG_INT("per_ip_connections", 64, CFGF_NONE),
		CFG_INT("timeout", 15, CFGF_NONE),
		CFG_INT("request_timeout", 30, CFGF_NONE),
		CFG_INT("max_body", 16384, CFGF_NONE),
		CFG_INT("ip_rate", 600, CFGF_NONE),
		CFG_INT("token_rate", 10, CFGF_NONE),
		CFG_INT("retry_after", 5, CFGF_NONE),
		CFG_END()
	};
	cfg_opt_t opts[] = {
		CFG_STR("data_dir", "", CFGF_NONE),
		CFG_STR("database", "", CFGF_NONE),
		CFG_STR("secret", "", CFGF_NONE),
		CFG_STR("spool_dir", "", CFGF_NONE),
		CFG_STR("list_dir", "", CFGF_NONE),
		CFG_STR("domain", "lists.example.org", CFGF_NONE),
		CFG_SEC("smtp", smtp_opts, CFGF_NONE),
		CFG_SEC("relay", relay_opts,
		    CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
		CFG_SEC("shape", shape_opts,
		    CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
		CFG_SEC("send", send_opts, CFGF_NONE),
		CFG_SEC("store", store_opts, CFGF_NONE),
		CFG_SEC("pipe", pipe_opts, CFGF_NONE),
		CFG_SEC("web", web_opts, CFGF_NONE),
		CFG_END()
	};
	cfg_t *cfg = cfg_init(opts, CFGF_NONE);
	size_t i;

	cfg_set_validate_func(cfg, "smtp|port", config_validate_port);
	for (i = 0; i < G_N_ELEMENTS(config_bounds); i++)
		cfg_set_validate_func(cfg, config_bounds[i].name,
		    config_validate_bounded);
	config_validate_each(cfg, config_positive,
	    G_N_ELEMENTS(config_positive), config_validate_positive);
	cfg_set_validate_func(cfg, "web|base_url", config_validate_base_url);
	return cfg;
}

/* config_read_paths - the data folder and what lives in it, the list
 * folder and the domain; DIR is the configuration's folder */
static void
config_read_paths(struct config *config, cfg_t *cfg, const char *dir,
    const char *path)
{
	const char *v = cfg_getstr(cfg, "data_dir");

	config->data_dir = *v != '\0' ? config_path_in(dir, v) :
	    g_build_filename(g_get_user_data_dir(), "herald", NULL);
	config->database = config_data_path(config->data_dir,
	    cfg_getstr(cfg, "database"), "herald.db");
	config->secret = config_data_path(config->data_dir,
	    cfg_getstr(cfg, "secret"), "secret");
	config->spool_dir = config_data_path(config->data_dir,
	    cfg_getstr(cfg, "spool_dir"), "spool");
	v = cfg_getstr(cfg, "list_dir");
	config->list_dir = *v != '\0' ? config_path_in(dir, v) :
	    config_path_in(dir, path != NULL ? "../lists" : "lists");
	config->domain = g_strdup(cfg_getstr(cfg, "domain"));
}

/* config_read_sending - smtp { }, send { }, the relays and the shapes */
static void
config_read_sending(struct config *config, cfg_t *cfg, const char *dir)
{
	cfg_t *s = cfg_getsec(cfg, "smtp");
	size_t i;

	/* a section the file never opened is libconfuse's default one, made
	 * at cfg_init and never parsed: its line stays 0 (a parsed section
	 * has the line it opens on, 1 or more) */
	config->smtp_given = s->line > 0;
	config_smtp(&config->smtp, s, dir);
	s = cfg_getsec(cfg, "send");
	config->send.connections = cfg_getint(s, "connections");
	config->send.batch = cfg_getint(s, "batch");
	config->send.rate = cfg_getfloat(s, "rate");
	config->send.domain_rate = cfg_getfloat(s, "domain_rate");
	config->send.max_age = cfg_getint(s, "max_age");
	config->send.retry_base = cfg_getint(s, "retry_base");
	config->send.error_threshold = cfg_getfloat(s, "error_threshold");
	config->send.error_min = cfg_getint(s, "error_min");
	config->send.quota_pause = cfg_getint(s, "on_quota") != 0;
	config->send.relay_backoff = cfg_getint(s, "relay_backoff");
	config->send.lease = cfg_getint(s, "lease");
	config->relays = g_ptr_array_new_with_free_func(
	    (GDestroyNotify)config_relay_free);
	config->shapes = g_ptr_array_new_with_free_func(
	    (GDestroyNotify)config_shape_free);
	for (i = 0; i < cfg_size(cfg, "shape"); i++)
		g_ptr_array_add(config->shapes,
		    config_shape(cfg_getnsec(cfg, "shape", i)));
	config->relays_given = cfg_size(cfg, "relay") > 0;
	for (i = 0; i < cfg_size(cfg, "relay"); i++)
		g_ptr_array_add(config->relays,
		    config_relay(cfg_getnsec(cfg, "relay", i), dir,
		    config->send.connections));
}

/* config_read_web - web { } */
static void
config_read_web(struct config *config, cfg_t *s, const char *dir)
{
	unsigned i, n = cfg_size(s, "trusted_proxies");

	config->web.listen = g_strdup(cfg_getstr(s, "listen"));
	config->web.base_url = config_strdup_nonempty(cfg_getstr(s, "base_url"));
	if (config->web.base_url != NULL) {
		char *e = config->web.base_url + strlen(config->web.base_url);

		while (e > config->web.base_url && e[-1] == '/')
			*--e = '\0';
	}
	config->web.templates = config_path_in(dir, cfg_getstr(s, "templates"));
	config->web.trusted_proxies = g_new0(char *, n + 1);
	for (i = 0; i < n; i++)
		config->web.trusted_proxies[i] = g_strdup(
		    cfg_getnstr(s, "trusted_proxies", i));
	n = cfg_size(s, "metrics_allow");
	config->web.metrics_allow = g_new0(char *, n + 1);
	for (i = 0; i < n; i++)
		config->web.metrics_allow[i] = g_strdup(
		    cfg_getnstr(s, "metrics_allow", i));
	config->web.threads = cfg_getint(s, "threads");
	config->web.max_connections = cfg_getint(s, "max_connections");
	config->web.per_ip_connections = cfg_getint(s, "per_ip_connections");
	config->web.timeout = cfg_getint(s, "timeout");
	config->web.request_timeout = cfg_getint(s, "request_timeout");
	config->web.max_body = cfg_getint(s, "max_body");
	config->web.ip_rate = cfg_getint(s, "ip_rate");
	config->web.token_rate = cfg_getint(s, "token_rate");
	config->web.retry_after = cfg_getint(s, "retry_after");
}

/* config_finish - the checks across sections, the relay smtp { } stands
 * for when there is none, then the lists */
static gboolean
config_finish(struct config *config, const char *path, GError **error)
{
	if (config->smtp.user != NULL && config->smtp.password_file == NULL) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
		    "%s: smtp user is set but password_file is not",
		    path != NULL ? path : "herald.conf");
		return FALSE;
	}
	if (config->relays->len == 0) {
		struct relay_config *r = g_new0(struct relay_config, 1);

		r->name = g_strdup("smtp");
		config_smtp_copy(&r->smtp, &config->smtp);
		r->weight = 1;
		r->connections = config->send.connections;
		g_ptr_array_add(config->relays, r);
	}
	if (!config_check_relays(config, error) ||
	    !config_check_shapes(config, error) ||
	    !config_load_lists(config, error))
		return FALSE;
	config_web_urls(config);
	return config_tracking(config, error);
}

/* config_read_store - store { }: SQLite keeps config->database (the
 * file); PostgreSQL makes it "postgresql:" and the conninfo, and keeps
 * the password file's path. A wrong backend or a PostgreSQL store
 * without conninfo is an error at the section's line. */
static gboolean
config_read_store(struct config *config, cfg_t *s, const char *dir,
    const char *path, GError **error)
{
	const char *backend = cfg_getstr(s, "backend");
	const char *conninfo = cfg_getstr(s, "conninfo");
	const char *pw = cfg_getstr(s, "password_file");

	config->store_busy_timeout = (int)cfg_getint(s, "busy_timeout");
	if (g_strcmp0(backend, "sqlite") == 0)
		return TRUE;
	if (g_strcmp0(backend, "postgresql") != 0) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
		    "%s:%d: store backend \"%s\": it is \"sqlite\" or"
		    " \"postgresql\"", path != NULL ? path : "(defaults)",
		    s->line, backend);
		return FALSE;
	}
	if (*conninfo == '\0') {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
		    "%s:%d: store backend \"postgresql\" needs conninfo (a"
		    " libpq connection string, such as \"host=/run/postgresql"
		    " dbname=herald\")", path != NULL ? path : "(defaults)",
		    s->line);
		return FALSE;
	}
	g_free(config->database);
	config->database = g_strconcat("postgresql:", conninfo, NULL);
	if (*pw != '\0')
		config->store_password_file = config_path_in(dir, pw);
	return TRUE;
}

/* config_load - the main file and the lists */
struct config *
config_load(const char *path, GError **error)
{
	g_autoptr(config) config = g_new0(struct config, 1);
	g_autofree char *dir = NULL;
	cfg_t *cfg = config_main_cfg();

	if (path != NULL) {
		g_autofree char *d = g_path_get_dirname(path);

		if (!config_parse_file(cfg, path, NULL, error)) {
			cfg_free(cfg);
			return NULL;
		}
		config->path = g_strdup(path);
		dir = g_canonicalize_filename(d, NULL);
	} else
		dir = g_get_current_dir();
	config_read_paths(config, cfg, dir, path);
	if (!config_read_store(config, cfg_getsec(cfg, "store"), dir, path,
	    error)) {
		cfg_free(cfg);
		return NULL;
	}
	config_read_sending(config, cfg, dir);
	config->pipe.max_size = cfg_getint(cfg_getsec(cfg, "pipe"), "max_size");
	config->pipe.pending_expiry_hours = cfg_getint(cfg_getsec(cfg, "pipe"),
	    "pending_expiry_hours");
	config->pipe.spool_keep_days = cfg_getint(cfg_getsec(cfg, "pipe"),
	    "spool_keep_days");
	config_read_web(config, cfg_getsec(cfg, "web"), dir);
	cfg_free(cfg);
	if (!config_finish(config, path, error))
		return NULL;
	return g_steal_pointer(&config);
}

/* config_free - free everything config_load made */
void
config_free(struct config *config)
{
	if (config == NULL)
		return;
	g_free(config->path);
	g_free(config->data_dir);
	g_free(config->database);
	g_free(config->store_password_file);
	g_free(config->secret);
	g_free(config->spool_dir);
	g_free(config->list_dir);
	g_free(config->domain);
	config_smtp_clear(&config->smtp);
	if (config->relays != NULL)
		g_ptr_array_unref(config->relays);
	if (config->shapes != NULL)
		g_ptr_array_unref(config->shapes);
	g_free(config->web.listen);
	g_free(config->web.base_url);
	g_free(config->web.templates);
	g_strfreev(config->web.trusted_proxies);
	g_strfreev(config->web.metrics_allow);
	if (config->lists != NULL)
		g_ptr_array_unref(config->lists);
	g_free(config);
}

/* config_list - a list by name */
const struct list_config *
config_list(const struct config *config, const char *name, GError **error)
{
	guint i;

	for (i = 0; config->lists != NULL && i < config->lists->len; i++) {
		const struct list_config *l = g_ptr_array_index(config->lists, i);

		if (strcmp(l->name, name) == 0)
			return l;
	}
	g_set_error(error, HERALD_ERROR, HERALD_ERROR_NOUSER,
	    "no list named \"%s\" (lists live in %s)", name, config->list_dir);
	return NULL;
}

/* config_list_by_local - a list by its address's local part and domain */
const struct list_config *
config_list_by_local(const struct config *config, const char *local,
    const char *domain)
{
	guint i;

	for (i = 0; config->lists != NULL && i < config->lists->len; i++) {
		const struct list_config *l = g_ptr_array_index(config->lists, i);

		if (g_ascii_strcasecmp(l->local, local) == 0 &&
		    (domain == NULL || g_ascii_strcasecmp(l->domain, domain) == 0))
			return l;
	}
	return NULL;
}

/* config_segment - a segment of LIST by name, or NULL */
const struct segment_def *
config_segment(const struct list_config *list, const char *name)
{
	guint i;

	for (i = 0; i < list->segments->len; i++) {
		const struct segment_def *s = g_ptr_array_index(list->segments, i);

		if (strcmp(s->name, name) == 0)
			return s;
	}
	return NULL;
}
