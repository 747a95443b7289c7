/*
 * announcement.c - read an announcement's data file (libconfuse), check it,
 * turn it into a value tree, and compile the kind's templates.
 *
 * Design: each kind has a libconfuse schema (below) and a table of field
 * rules (required, date, time, time zone, URL, email, multi-line). The
 * rules run as libconfuse validate callbacks, while the lexer still knows
 * the line, so every complaint names FILE:LINE; a required field is
 * checked when its section closes (the line of the '}'), or at the line
 * of `kind =` for the file's top level. The parsed file becomes a map:
 * strings, numbers, booleans, lists; a repeated section becomes a list of
 * maps, a titled one with its title under "id". Every option of the
 * schema is present in the map (null, "" or an empty list when not set),
 * so a template that tests an optional field is not a "missing" name
 * under --strict. A date field X also gives X_date ("Monday, September
 * 15, 2014"), X_day ("September 15"), X_weekday, X_time ("9:00 AM", or ""
 * without a time), X_tz ("EDT"); a section with start and end gives
 * "dates" ("August 18-19, 2014") and "dates_short" ("Aug 18-19", for
 * subjects); a time field X gives X_12h ("1:30 PM"); a repeated section
 * X gives has_X (true when there is at least one).
 *
 * Must stay true: only fields the rules call multi-line may hold a line
 * break, so nothing from the data can reach a header with CR or LF in it
 * (compose.c checks the rendered subject again). One thread at a time:
 * libconfuse's lexer is global, and the rule callbacks share one static.
 */
#include <string.h>
#include <confuse.h>

#include "herald.h"
#include "announcement.h"

#ifndef DATADIR
#define DATADIR "/usr/local/share"
#endif

enum field_flags {
	F_REQUIRED = 1 << 0,
	F_DATE = 1 << 1,	/* YYYY-MM-DD or YYYY-MM-DD HH:MM */
	F_TIME = 1 << 2,	/* HH:MM */
	F_URL = 1 << 3,		/* http(s)://host… */
	F_EMAIL = 1 << 4,
	F_MULTILINE = 1 << 5,
	F_TZ = 1 << 6,		/* an IANA time zone name */
	F_NONEMPTY_LIST = 1 << 7,
};

struct field_rule {
	const char *section;	/* "root", "event", … (libconfuse's names) */
	const char *name;
	int flags;
};

static const char *const announcement_kind_names[] = {
	"summit", "talks", "sponsorship", NULL,
};

/* Options every kind has at its top level */
#define ROOT_COMMON \
	CFG_STR("kind", NULL, CFGF_NODEFAULT), \
	CFG_STR("title", NULL, CFGF_NODEFAULT), \
	CFG_STR("intro", NULL, CFGF_NODEFAULT), \
	CFG_STR("closing", NULL, CFGF_NODEFAULT), \
	CFG_STR("signature", NULL, CFGF_NODEFAULT), \
	CFG_STR("website", NULL, CFGF_NODEFAULT), \
	CFG_STR("templates", NULL, CFGF_NODEFAULT), \
	CFG_BOOL("calendar", cfg_false, CFGF_NONE)

/* summit */
static cfg_opt_t summit_discount_opts[] = {
	CFG_STR("code", NULL, CFGF_NODEFAULT),
	CFG_INT("percent", 0, CFGF_NODEFAULT),
	CFG_STR("note", NULL, CFGF_NODEFAULT),
	CFG_END()
};
static cfg_opt_t summit_topic_opts[] = {
	CFG_STR("title", NULL, CFGF_NODEFAULT),
	CFG_STR("text", NULL, CFGF_NODEFAULT),
	CFG_STR_LIST("audience", "{}", CFGF_NONE),
	CFG_END()
};
static cfg_opt_t summit_speaker_opts[] = {
	CFG_STR("name", NULL, CFGF_NODEFAULT),
	CFG_STR("org", NULL, CFGF_NODEFAULT),
	CFG_STR("talk", NULL, CFGF_NODEFAULT),
	CFG_STR_LIST("audience", "{}", CFGF_NONE),
	CFG_END()
};
static cfg_opt_t summit_sponsor_opts[] = {
	CFG_STR("name", NULL, CFGF_NODEFAULT),
	CFG_STR("url", NULL, CFGF_NODEFAULT),
	CFG_END()
};
static cfg_opt_t summit_event_opts[] = {
	CFG_STR("name", NULL, CFGF_NODEFAULT),
	CFG_STR("summary", NULL, CFGF_NODEFAULT),
	CFG_STR("start", NULL, CFGF_NODEFAULT),
	CFG_STR("end", NULL, CFGF_NODEFAULT),
	CFG_STR("timezone", NULL, CFGF_NODEFAULT),
	CFG_STR("venue", NULL, CFGF_NODEFAULT),
	CFG_STR("city", NULL, CFGF_NODEFAULT),
	CFG_STR("colocated", NULL, CFGF_NODEFAULT),
	CFG_FLOAT("price", 0, CFGF_NODEFAULT),
	CFG_STR("currency", "US$", CFGF_NONE),
	CFG_STR("register", NULL, CFGF_NODEFAULT),
	CFG_STR("schedule", NULL, CFGF_NODEFAULT),
	CFG_STR_LIST("audience", "{}", CFGF_NONE),
	CFG_SEC("discount", summit_discount_opts, CFGF_MULTI),
	CFG_SEC("topic", summit_topic_opts, CFGF_MULTI),
	CFG_SEC("speaker", summit_speaker_opts, CFGF_MULTI),
	CFG_SEC("sponsor", summit_sponsor_opts, CFGF_MULTI),
	CFG_END()
};
static cfg_opt_t summit_opts[] = {
	ROOT_COMMON,
	CFG_SEC("event", summit_event_opts, CFGF_MULTI | CFGF_TITLE |
	    CFGF_NO_TITLE_DUPES),
	CFG_END()
};

/* talks */
static cfg_opt_t talks_talk_opts[] = {
	CFG_STR("date", NULL, CFGF_NODEFAULT),
	CFG_STR("time", NULL, CFGF_NODEFAULT),
	CFG_STR("speaker", NULL, CFGF_NODEFAULT),
	CFG_STR("title", NULL, CFGF_NODEFAULT),
	CFG_STR("note", NULL, CFGF_NODEFAULT),
	CFG_END()
};
static cfg_opt_t talks_event_opts[] = {
	CFG_STR("name", NULL, CFGF_NODEFAULT),
	CFG_STR("city", NULL, CFGF_NODEFAULT),
	CFG_STR("start", NULL, CFGF_NODEFAULT),
	CFG_STR("end", NULL, CFGF_NODEFAULT),
	CFG_STR("timezone", NULL, CFGF_NODEFAULT),
	CFG_STR("register", NULL, CFGF_NODEFAULT),
	CFG_STR("price", NULL, CFGF_NODEFAULT),
	CFG_STR("summary", NULL, CFGF_NODEFAULT),
	CFG_STR_LIST("audience", "{}", CFGF_NONE),
	CFG_SEC("talk", talks_talk_opts, CFGF_MULTI),
	CFG_END()
};
static cfg_opt_t talks_opts[] = {
	ROOT_COMMON,
	CFG_STR("submit", NULL, CFGF_NODEFAULT),
	CFG_SEC("event", talks_event_opts, CFGF_MULTI | CFGF_TITLE |
	    CFGF_NO_TITLE_DUPES),
	CFG_END()
};

/* sponsorship */
static cfg_opt_t sponsorship_contact_opts[] = {
	CFG_STR("name", NULL, CFGF_NODEFAULT),
	CFG_STR("email", NULL, CFGF_NODEFAULT),
	CFG_END()
};
static cfg_opt_t sponsorship_event_opts[] = {
	CFG_STR("name", NULL, CFGF_NODEFAULT),
	CFG_STR("start", NULL, CFGF_NODEFAULT),
	CFG_STR("end", NULL, CFGF_NODEFAULT),
	CFG_STR("timezone", NULL, CFGF_NODEFAULT),
	CFG_STR("city", NULL, CFGF_NODEFAULT),
	CFG_STR("attendees", NULL, CFGF_NODEFAULT),
	CFG_STR_LIST("audience", "{}", CFGF_NONE),
	CFG_END()
};
static cfg_opt_t sponsorship_tier_opts[] = {
	CFG_STR("name", NULL, CFGF_NODEFAULT),
	CFG_FLOAT("price", 0, CFGF_NODEFAULT),
	CFG_STR("currency", "US$", CFGF_NONE),
	CFG_INT("available", 0, CFGF_NODEFAULT),
	CFG_STR_LIST("benefit", "{}", CFGF_NONE),
	CFG_END()
};
static cfg_opt_t sponsorship_opts[] = {
	ROOT_COMMON,
	CFG_STR("deadline", NULL, CFGF_NODEFAULT),
	CFG_SEC("contact", sponsorship_contact_opts, CFGF_NONE),
	CFG_SEC("event", sponsorship_event_opts, CFGF_MULTI | CFGF_TITLE |
	    CFGF_NO_TITLE_DUPES),
	CFG_SEC("tier", sponsorship_tier_opts, CFGF_MULTI | CFGF_TITLE |
	    CFGF_NO_TITLE_DUPES),
	CFG_END()
};

/* The rules: a section name of NULL matches any section. */
static const struct field_rule announcement_rules[] = {
	{ "root", "kind", F_REQUIRED },
	{ "root", "title", F_REQUIRED },
	{ "root", "intro", F_MULTILINE },
	{ "root", "closing", F_MULTILINE },
	{ "root", "website", F_URL },
	{ "root", "submit", F_URL },
	{ "root", "deadline", F_REQUIRED | F_DATE },
	{ "event", "name", F_REQUIRED },
	{ "event", "start", F_REQUIRED | F_DATE },
	{ "event", "end", F_DATE },
	{ "event", "timezone", F_REQUIRED | F_TZ },
	{ "event", "city", F_REQUIRED },
	{ "event", "register", F_URL },
	{ "event", "schedule", F_URL },
	{ "event", "summary", F_MULTILINE },
	{ "event", "attendees", F_MULTILINE },
	{ "discount", "code", F_REQUIRED },
	{ "discount", "percent", F_REQUIRED },
	{ "topic", "title", F_REQUIRED },
	{ "topic", "text", F_REQUIRED | F_MULTILINE },
	{ "speaker", "name", F_REQUIRED },
	{ "sponsor", "name", F_REQUIRED },
	{ "sponsor", "url", F_URL },
	{ "talk", "date", F_REQUIRED | F_DATE },
	{ "talk", "time", F_TIME },
	{ "talk", "speaker", F_REQUIRED },
	{ "talk", "title", F_REQUIRED },
	{ "contact", "name", F_REQUIRED },
	{ "contact", "email", F_REQUIRED | F_EMAIL },
	{ "tier", "name", F_REQUIRED },
	{ "tier", "price", F_REQUIRED },
	{ "tier", "benefit", F_NONEMPTY_LIST },
};

/* state of the current parse (libconfuse is single-threaded anyway) */
static GString *announcement_errbuf;
static GHashTable *announcement_audience_lines;	/* cfg_opt_t * -> line */
static GPtrArray *announcement_audiences;	/* struct announcement_audience * */
static int announcement_kind_line;
static const char *announcement_path;	/* sections made at init lack it */

static const char *const announcement_months[] = {
	"January", "February", "March", "April", "May", "June", "July",
	"August", "September", "October", "November", "December",
};
static const char *const announcement_weekdays[] = {
	"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
	"Sunday",
};

/* announcement_errfunc - keep libconfuse's first message, FILE:LINE first */
static void
announcement_errfunc(cfg_t *cfg, const char *fmt, va_list ap)
{
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);

	if (announcement_errbuf == NULL || announcement_errbuf->len > 0)
		return;
	if (cfg != NULL && cfg->line > 0)
		g_string_printf(announcement_errbuf, "%s:%d: %s",
		    announcement_path, cfg->line, msg);
	else if (cfg != NULL)
		g_string_printf(announcement_errbuf, "%s: %s", announcement_path,
		    msg);
	else
		g_string_assign(announcement_errbuf, msg);
}

/* announcement_rule - the flags for option NAME in section SECTION */
static int
announcement_rule(const char *section, const char *name)
{
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(announcement_rules); i++)
		if (strcmp(announcement_rules[i].name, name) == 0 &&
		    strcmp(announcement_rules[i].section, section) == 0)
			return announcement_rules[i].flags;
	return 0;
}

/* announcement_parse_date - "YYYY-MM-DD" or "YYYY-MM-DD HH:MM"; FALSE if
 * malformed or not a real day. *HAS_TIME says whether a time was given. */
static gboolean
announcement_parse_date(const char *s, int *y, int *mo, int *d, int *h,
    int *mi, gboolean *has_time)
{
	int n = 0;

	*h = *mi = 0;
	*has_time = FALSE;
	if (sscanf(s, "%4d-%2d-%2d%n", y, mo, d, &n) != 3 || n != 10 ||
	    !g_ascii_isdigit(s[0]) || s[4] != '-' || s[7] != '-')
		return FALSE;
	if (s[10] != '\0') {
		int m = 0;

		if (s[10] != ' ' || sscanf(s + 11, "%2d:%2d%n", h, mi, &m) != 2 ||
		    m != 5 || s[11 + m] != '\0' || s[13] != ':')
			return FALSE;
		if (*h > 23 || *mi > 59 || *h < 0 || *mi < 0)
			return FALSE;
		*has_time = TRUE;
	}
	if (*y < 1970 || *y > 9999 || *mo < 1 || *mo > 12 || *d < 1)
		return FALSE;
	return g_date_valid_dmy(*d, *mo, *y);
}

/* announcement_parse_time - "HH:MM", 24-hour */
static gboolean
announcement_parse_time(const char *s, int *h, int *mi)
{
	int n = 0;

	if (strlen(s) != 5 || s[2] != ':' ||
	    sscanf(s, "%2d:%2d%n", h, mi, &n) != 2 || n != 5)
		return FALSE;
	return *h >= 0 && *h <= 23 && *mi >= 0 && *mi <= 59;
}

/* announcement_check_url - an absolute http(s) URL with a host */
static gboolean
announcement_check_url(const char *s)
{
	g_autoptr(GUri) uri = NULL;
	const char *scheme;

	if (strpbrk(s, " \t\"<>") != NULL)
		return FALSE;
	uri = g_uri_parse(s, G_URI_FLAGS_NONE, NULL);
	if (uri == NULL)
		return FALSE;
	scheme = g_uri_get_scheme(uri);
	if (g_ascii_strcasecmp(scheme, "https") != 0 &&
	    g_ascii_strcasecmp(scheme, "http") != 0)
		return FALSE;
	return g_uri_get_host(uri) != NULL && *g_uri_get_host(uri) != '\0';
}

/* announcement_check_email - one '@' with something on both sides, and
 * no characters that do not belong in a plain address */
static gboolean
announcement_check_email(const char *s)
{
	const char *at = strchr(s, '@');

	return at != NULL && at != s && at[1] != '\0' &&
	    strchr(at + 1, '@') == NULL && strchr(at + 1, '.') != NULL &&
	    strpbrk(s, " \t<>()[]\\,;:\"") == NULL;
}

/* announcement_check_string - one string value against FLAGS */
static gboolean
announcement_check_string(cfg_t *cfg, const char *name, const char *s,
    int flags)
{
	int y, mo, d, h, mi;
	gboolean has_time;

	if (!(flags & F_MULTILINE) && strpbrk(s, "\r\n") != NULL) {
		cfg_error(cfg, "%s: a line break is not allowed here "
		    "(only in multi-line fields such as intro and text)", name);
		return FALSE;
	}
	if ((flags & F_REQUIRED) && *s == '\0') {
		cfg_error(cfg, "%s must not be empty", name);
		return FALSE;
	}
	if ((flags & F_DATE) &&
	    !announcement_parse_date(s, &y, &mo, &d, &h, &mi, &has_time)) {
		cfg_error(cfg, "%s: bad date \"%s\" (want YYYY-MM-DD or "
		    "YYYY-MM-DD HH:MM)", name, s);
		return FALSE;
	}
	if ((flags & F_TIME) && !announcement_parse_time(s, &h, &mi)) {
		cfg_error(cfg, "%s: bad time \"%s\" (want HH:MM, 24-hour)",
		    name, s);
		return FALSE;
	}
	if ((flags & F_URL) && !announcement_check_url(s)) {
		cfg_error(cfg, "%s: bad URL \"%s\" (want http:// or https:// "
		    "and a host)", name, s);
		return FALSE;
	}
	if ((flags & F_EMAIL) && !announcement_check_email(s)) {
		cfg_error(cfg, "%s: bad email address \"%s\"", name, s);
		return FALSE;
	}
	if (flags & F_TZ) {
		GTimeZone *tz = g_time_zone_new_identifier(s);

		if (tz == NULL) {
			cfg_error(cfg, "%s: unknown time zone \"%s\" (want a "
			    "name like America/New_York)", name, s);
			return FALSE;
		}
		g_time_zone_unref(tz);
	}
	return TRUE;
}

/* announcement_validate_opt - libconfuse calls this as each option is
 * read: check it against its rule */
static int
announcement_validate_opt(cfg_t *cfg, cfg_opt_t *opt)
{
	int flags = announcement_rule(cfg->name, opt->name);
	unsigned int i, n = cfg_opt_size(opt);

	if ((flags & F_NONEMPTY_LIST) && n == 0) {
		cfg_error(cfg, "%s: the list must not be empty", opt->name);
		return -1;
	}
	/* the last call for a list is at its closing brace */
	if (strcmp(opt->name, "audience") == 0 &&
	    announcement_audience_lines != NULL)
		g_hash_table_insert(announcement_audience_lines, opt,
		    GINT_TO_POINTER(cfg->line));
	if (opt->type != CFGT_STR)
		return 0;
	for (i = 0; i < n; i++) {
		const char *s = cfg_opt_getnstr(opt, i);

		if (s != NULL && !announcement_check_string(cfg, opt->name, s,
		    flags))
			return -1;
	}
	return 0;
}

/* announcement_opt - option NAME of SEC, or NULL; unlike cfg_getopt()
 * it reports nothing when SEC's schema has no such option */
static cfg_opt_t *
announcement_opt(cfg_t *sec, const char *name)
{
	int i;

	for (i = 0; sec->opts[i].name != NULL; i++)
		if (strcmp(sec->opts[i].name, name) == 0)
			return &sec->opts[i];
	return NULL;
}

/* announcement_str - the string option NAME of SEC, NULL if unset or
 * not in its schema */
static const char *
announcement_str(cfg_t *sec, const char *name)
{
	cfg_opt_t *opt = announcement_opt(sec, name);

	return opt != NULL && cfg_opt_size(opt) > 0 ?
	    cfg_opt_getnstr(opt, 0) : NULL;
}

/* announcement_check_required - every required option of SEC is set */
static gboolean
announcement_check_required(cfg_t *report, cfg_t *sec, const char *what)
{
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(announcement_rules); i++) {
		const struct field_rule *r = &announcement_rules[i];

		if (strcmp(r->section, sec->name) != 0)
			continue;
		if (announcement_opt(sec, r->name) == NULL)
			continue;	/* not in this kind's schema */
		if ((r->flags & F_REQUIRED) && cfg_size(sec, r->name) == 0) {
			cfg_error(report, "%s has no %s (required)", what,
			    r->name);
			return FALSE;
		}
		if ((r->flags & F_NONEMPTY_LIST) && cfg_size(sec, r->name) == 0) {
			cfg_error(report, "%s has no %s (at least one needed)",
			    what, r->name);
			return FALSE;
		}
	}
	return TRUE;
}

/* announcement_section_times - start/end of an event section as unix
 * times in its time zone; FALSE when it has no start */
static gboolean
announcement_section_times(cfg_t *sec, gint64 *start, gint64 *end,
    gboolean *all_day)
{
	const char *s = announcement_str(sec, "start");
	const char *e = announcement_str(sec, "end");
	const char *tzname = announcement_str(sec, "timezone");
	g_autoptr(GTimeZone) tz = NULL;
	int y, mo, d, h, mi;
	gboolean has_time, end_time = FALSE;
	GDateTime *dt;

	if (s == NULL)
		return FALSE;
	tz = tzname != NULL ? g_time_zone_new_identifier(tzname) : NULL;
	if (tz == NULL)
		tz = g_time_zone_new_utc();
	if (!announcement_parse_date(s, &y, &mo, &d, &h, &mi, &has_time))
		return FALSE;
	dt = g_date_time_new(tz, y, mo, d, h, mi, 0);
	*start = g_date_time_to_unix(dt);
	g_date_time_unref(dt);
	*end = *start;
	if (e != NULL &&
	    announcement_parse_date(e, &y, &mo, &d, &h, &mi, &end_time)) {
		/* a day without a time ends at the end of that day */
		dt = g_date_time_new(tz, y, mo, d, end_time ? h : 0,
		    end_time ? mi : 0, 0);
		*end = g_date_time_to_unix(dt) + (end_time ? 0 : 86400);
		g_date_time_unref(dt);
	} else if (!has_time) {
		*end = *start + 86400;
	}
	*all_day = !has_time;
	return TRUE;
}

/* announcement_validate_sec - a section just closed: required fields and
 * the order of start and end */
static int
announcement_validate_sec(cfg_t *cfg, cfg_opt_t *opt)
{
	cfg_t *sec = cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1);
	g_autofree char *what = NULL;
	gint64 start, end;
	gboolean all_day;

	what = cfg_title(sec) != NULL ?
	    g_strdup_printf("%s \"%s\"", opt->name, cfg_title(sec)) :
	    g_strdup_printf("this %s section", opt->name);
	if (!announcement_check_required(cfg, sec, what))
		return -1;
	if (announcement_str(sec, "end") != NULL &&
	    announcement_section_times(sec, &start, &end, &all_day) &&
	    end <= start) {
		cfg_error(cfg, "%s ends (%s) before it starts (%s)", what,
		    cfg_getstr(sec, "end"), cfg_getstr(sec, "start"));
		return -1;
	}
	return 0;
}

/* announcement_hook - set the validate callbacks on every option of OPTS
 * (found under PATH) and below */
static void
announcement_hook(cfg_t *cfg, cfg_opt_t *opts, const char *path)
{
	int i;

	for (i = 0; opts[i].name != NULL; i++) {
		g_autofree char *p = path != NULL ?
		    g_strdup_printf("%s|%s", path, opts[i].name) :
		    g_strdup(opts[i].name);

		if (opts[i].type == CFGT_SEC) {
			cfg_set_validate_func(cfg, p, announcement_validate_sec);
			announcement_hook(cfg, opts[i].subopts, p);
		} else {
			cfg_set_validate_func(cfg, p, announcement_validate_opt);
		}
	}
}

/* announcement_parse - libconfuse over PATH with OPTS; NULL and a DATA
 * error (FILE:LINE) on failure */
static cfg_t *
announcement_parse(const char *path, cfg_opt_t *opts, int kind_line,
    GError **error)
{
	g_autofree char *raw = NULL, *text = NULL;
	g_autoptr(GError) ioerr = NULL;
	gsize len;
	cfg_t *cfg;
	int rc;

	if (!g_file_get_contents(path, &raw, &len, &ioerr)) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_NOINPUT, "%s: %s",
		    path, ioerr->message);
		return NULL;
	}
	/* NUL bytes, invalid UTF-8 (at their line), options set twice,
	 * ${…} (never expanded) */
	if (!config_scan(path, raw, len, &text, NULL, error)) {
		(*error)->code = HERALD_ERROR_DATA;
		return NULL;
	}
	if (!config_check_braces(path, text, error)) {
		(*error)->code = HERALD_ERROR_DATA;
		return NULL;
	}
	cfg = cfg_init(opts, CFGF_NONE);
	announcement_hook(cfg, opts, NULL);
	announcement_errbuf = g_string_new(NULL);
	announcement_kind_line = kind_line;
	announcement_path = path;
	cfg_set_error_function(cfg, announcement_errfunc);
	rc = cfg_parse_buf(cfg, text);
	if (rc == CFG_SUCCESS) {
		/* a top-level field is missing: point at `kind =` */
		cfg->line = announcement_kind_line;
		rc = announcement_check_required(cfg, cfg, "the file") ?
		    CFG_SUCCESS : CFG_PARSE_ERROR;
	}
	if (rc != CFG_SUCCESS) {
		if (announcement_errbuf->len == 0)
			g_string_printf(announcement_errbuf, "%s: parse error",
			    path);
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_DATA, "%s",
		    announcement_errbuf->str);
		cfg_free(cfg);
		cfg = NULL;
	}
	g_string_free(announcement_errbuf, TRUE);
	announcement_errbuf = NULL;
	announcement_path = NULL;
	return cfg;
}

/* announcement_hour12 - "9:00 AM" */
static char *
announcement_hour12(int h, int mi)
{
	return g_strdup_printf("%d:%02d %s", h % 12 == 0 ? 12 : h % 12, mi,
	    h < 12 ? "AM" : "PM");
}

/* announcement_add_date - the derived fields of date option NAME = S */
static void
announcement_add_date(struct value *map, const char *name, const char *s,
    const char *tzname)
{
	g_autoptr(GTimeZone) tz = NULL;
	g_autoptr(GDateTime) dt = NULL;
	int y, mo, d, h, mi;
	gboolean has_time;
	g_autofree char *k = NULL;

	if (!announcement_parse_date(s, &y, &mo, &d, &h, &mi, &has_time))
		return;
	tz = tzname != NULL ? g_time_zone_new_identifier(tzname) : NULL;
	if (tz == NULL)
		tz = g_time_zone_new_utc();
	dt = g_date_time_new(tz, y, mo, d, h, mi, 0);
	k = g_strconcat(name, "_date", NULL);
	value_map_set(map, k, value_new_string_take(g_strdup_printf(
	    "%s, %s %d, %d", announcement_weekdays[
	    g_date_time_get_day_of_week(dt) - 1], announcement_months[mo - 1],
	    d, y)));
	g_free(k);
	k = g_strconcat(name, "_day", NULL);
	value_map_set(map, k, value_new_string_take(g_strdup_printf("%s %d",
	    announcement_months[mo - 1], d)));
	g_free(k);
	k = g_strconcat(name, "_weekday", NULL);
	value_map_set(map, k, value_new_string(announcement_weekdays[
	    g_date_time_get_day_of_week(dt) - 1]));
	g_free(k);
	k = g_strconcat(name, "_time", NULL);
	value_map_set(map, k, has_time ?
	    value_new_string_take(announcement_hour12(h, mi)) :
	    value_new_string(""));
	g_free(k);
	k = g_strconcat(name, "_tz", NULL);
	value_map_set(map, k, tzname != NULL && has_time ?
	    value_new_string_take(g_date_time_format(dt, "%Z")) :
	    value_new_string(""));
}

/* announcement_dates_short - "dates_short" for a subject: no weekday,
 * months cut to three letters, the year only across years ("Sep 15",
 * "Aug 18-19", "Aug 30 - Sep 2", "Dec 30, 2014 - Jan 2, 2015") */
static char *
announcement_dates_short(int y1, int m1, int d1, int y2, int m2, int d2)
{
	const char *a = announcement_months[m1 - 1];
	const char *b = announcement_months[m2 - 1];

	if (y1 == y2 && m1 == m2 && d1 == d2)
		return g_strdup_printf("%.3s %d", a, d1);
	if (y1 == y2 && m1 == m2)
		return g_strdup_printf("%.3s %d-%d", a, d1, d2);
	if (y1 == y2)
		return g_strdup_printf("%.3s %d - %.3s %d", a, d1, b, d2);
	return g_strdup_printf("%.3s %d, %d - %.3s %d, %d", a, d1, y1, b, d2,
	    y2);
}

/* announcement_add_dates - "dates" for a section with start (and end):
 * one day, a range within a month, or a range across months; and
 * "dates_short" (announcement_dates_short) */
static void
announcement_add_dates(struct value *map, cfg_t *sec)
{
	int y1, m1, d1, y2, m2, d2, h, mi;
	gboolean t;
	const char *s = announcement_str(sec, "start");
	const char *e = announcement_str(sec, "end");
	char *text;

	if (s == NULL || !announcement_parse_date(s, &y1, &m1, &d1, &h, &mi, &t))
		return;
	if (e == NULL || !announcement_parse_date(e, &y2, &m2, &d2, &h, &mi, &t)) {
		y2 = y1;
		m2 = m1;
		d2 = d1;
	}
	if (y1 == y2 && m1 == m2 && d1 == d2) {
		GDate *gd = g_date_new_dmy(d1, m1, y1);

		text = g_strdup_printf("%s, %s %d, %d", announcement_weekdays[
		    g_date_get_weekday(gd) - 1], announcement_months[m1 - 1],
		    d1, y1);
		g_date_free(gd);
	} else if (y1 == y2 && m1 == m2) {
		text = g_strdup_printf("%s %d-%d, %d",
		    announcement_months[m1 - 1], d1, d2, y1);
	} else if (y1 == y2) {
		text = g_strdup_printf("%s %d - %s %d, %d",
		    announcement_months[m1 - 1], d1,
		    announcement_months[m2 - 1], d2, y1);
	} else {
		text = g_strdup_printf("%s %d, %d - %s %d, %d",
		    announcement_months[m1 - 1], d1, y1,
		    announcement_months[m2 - 1], d2, y2);
	}
	value_map_set(map, "dates", value_new_string_take(text));
	value_map_set(map, "dates_short", value_new_string_take(
	    announcement_dates_short(y1, m1, d1, y2, m2, d2)));
}

static struct value *announcement_section_value(cfg_t *sec);

/* announcement_opt_value - one option of SEC as a value */
static struct value *
announcement_opt_value(cfg_opt_t *opt)
{
	unsigned int i, n = cfg_opt_size(opt);
	struct value *list;

	if (opt->type == CFGT_SEC && !(opt->flags & CFGF_MULTI))
		return n > 0 ? announcement_section_value(cfg_opt_getnsec(opt, 0)) :
		    value_new_null();
	if (opt->type == CFGT_SEC) {
		list = value_new_list();
		for (i = 0; i < n; i++)
			value_list_append(list, announcement_section_value(
			    cfg_opt_getnsec(opt, i)));
		return list;
	}
	if (opt->flags & CFGF_LIST) {
		list = value_new_list();
		for (i = 0; i < n; i++)
			value_list_append(list, value_new_string(
			    cfg_opt_getnstr(opt, i)));
		return list;
	}
	if (n == 0)
		return opt->type == CFGT_STR ? value_new_string("") :
		    value_new_null();
	switch (opt->type) {
	case CFGT_STR:
		return value_new_string(cfg_opt_getnstr(opt, 0));
	case CFGT_INT:
		return value_new_number(cfg_opt_getnint(opt, 0));
	case CFGT_FLOAT:
		return value_new_number(cfg_opt_getnfloat(opt, 0));
	case CFGT_BOOL:
		return value_new_bool(cfg_opt_getnbool(opt, 0));
	default:
		return value_new_null();
	}
}

/* announcement_note_audience - keep the segments an audience names, with
 * its line, for announcement_check_audience */
static void
announcement_note_audience(cfg_opt_t *opt)
{
	unsigned int i;

	if (announcement_audiences == NULL || announcement_audience_lines == NULL)
		return;
	for (i = 0; i < cfg_opt_size(opt); i++) {
		struct announcement_audience *a = g_new0(
		    struct announcement_audience, 1);

		a->segment = g_strdup(cfg_opt_getnstr(opt, i));
		a->line = GPOINTER_TO_INT(g_hash_table_lookup(
		    announcement_audience_lines, opt));
		g_ptr_array_add(announcement_audiences, a);
	}
}

static void
announcement_audience_free(gpointer p)
{
	struct announcement_audience *a = p;

	g_free(a->segment);
	g_free(a);
}

gboolean
announcement_check_audience(const struct announcement *ann,
    const struct list_config *list, GError **error)
{
	guint i;

	for (i = 0; ann->audiences != NULL && i < ann->audiences->len; i++) {
		const struct announcement_audience *a =
		    g_ptr_array_index(ann->audiences, i);

		if (config_segment(list, a->segment) == NULL) {
			g_set_error(error, HERALD_ERROR, HERALD_ERROR_DATA,
			    "%s:%d: audience names segment \"%s\", which list "
			    "%s does not have (see %s)", ann->file, a->line,
			    a->segment, list->name, list->file);
			return FALSE;
		}
	}
	return TRUE;
}

/* announcement_section_value - SEC as a map (see the file comment) */
static struct value *
announcement_section_value(cfg_t *sec)
{
	struct value *map = value_new_map();
	const char *tzname = announcement_str(sec, "timezone");
	unsigned int i;

	if (cfg_title(sec) != NULL)
		value_map_set(map, "id", value_new_string(cfg_title(sec)));
	for (i = 0; i < cfg_num(sec); i++) {
		cfg_opt_t *opt = cfg_getnopt(sec, i);
		int flags = announcement_rule(sec->name, opt->name);
		int h, mi;

		if (strcmp(opt->name, "templates") == 0)
			continue;
		if (strcmp(opt->name, "audience") == 0)
			announcement_note_audience(opt);
		value_map_set(map, opt->name, announcement_opt_value(opt));
		if (opt->type == CFGT_SEC && (opt->flags & CFGF_MULTI)) {
			g_autofree char *k = g_strconcat("has_", opt->name, NULL);

			value_map_set(map, k, value_new_bool(cfg_opt_size(opt) > 0));
		}
		if (opt->type != CFGT_STR || cfg_opt_size(opt) == 0)
			continue;
		if (flags & F_DATE)
			announcement_add_date(map, opt->name,
			    cfg_opt_getnstr(opt, 0), tzname);
		if ((flags & F_TIME) &&
		    announcement_parse_time(cfg_opt_getnstr(opt, 0), &h, &mi)) {
			g_autofree char *k = g_strconcat(opt->name, "_12h", NULL);

			value_map_set(map, k, value_new_string_take(
			    announcement_hour12(h, mi)));
		}
	}
	if (announcement_opt(sec, "start") != NULL)
		announcement_add_dates(map, sec);
	return map;
}

/* announcement_event_free - one calendar event */
static void
announcement_event_free(gpointer p)
{
	struct announcement_event *ev = p;

	g_free(ev->id);
	g_free(ev->name);
	g_free(ev->location);
	g_free(ev->url);
	g_free(ev);
}

/* announcement_collect_events - the event sections, for the calendar */
static void
announcement_collect_events(struct announcement *ann, cfg_t *cfg)
{
	unsigned int i;

	if (announcement_opt(cfg, "event") == NULL)
		return;
	for (i = 0; i < cfg_size(cfg, "event"); i++) {
		cfg_t *sec = cfg_getnsec(cfg, "event", i);
		struct announcement_event *ev = g_new0(struct announcement_event, 1);
		const char *venue = announcement_str(sec, "venue");

		announcement_section_times(sec, &ev->start, &ev->end,
		    &ev->all_day);
		ev->id = g_strdup(cfg_title(sec));
		ev->name = g_strdup(cfg_getstr(sec, "name"));
		ev->location = venue != NULL ?
		    g_strdup_printf("%s, %s", venue, cfg_getstr(sec, "city")) :
		    g_strdup(cfg_getstr(sec, "city"));
		ev->url = g_strdup(announcement_str(sec, "register"));
		g_ptr_array_add(ann->events, ev);
	}
}

/* announcement_find_templates - the templates folder (see the header) */
static char *
announcement_find_templates(const char *data_file, const char *option,
    const struct config *config)
{
	const char *env = g_getenv("HERALD_TEMPLATES");
	g_autofree char *dir = NULL;

	if (option != NULL) {
		g_autofree char *base = g_path_get_dirname(data_file);

		return g_path_is_absolute(option) ? g_strdup(option) :
		    g_build_filename(base, option, NULL);
	}
	if (env != NULL && *env != '\0')
		return g_strdup(env);
	if (config != NULL && config->path != NULL) {
		g_autofree char *cdir = g_path_get_dirname(config->path);

		dir = g_build_filename(cdir, "..", "templates", NULL);
		if (g_file_test(dir, G_FILE_TEST_IS_DIR))
			return g_steal_pointer(&dir);
		g_clear_pointer(&dir, g_free);
	}
	if (g_file_test("templates", G_FILE_TEST_IS_DIR))
		return g_strdup("templates");
	return g_build_filename(DATADIR, "herald", "templates", NULL);
}

/* announcement_known_kind - KIND is one herald ships */
static gboolean
announcement_known_kind(const char *kind)
{
	return g_strv_contains(announcement_kind_names, kind);
}

/* announcement_schema - the libconfuse options of KIND */
static cfg_opt_t *
announcement_schema(const char *kind)
{
	if (strcmp(kind, "summit") == 0)
		return summit_opts;
	if (strcmp(kind, "talks") == 0)
		return talks_opts;
	return sponsorship_opts;
}

/* announcement_compile - the kind's templates and the shared partials */
static gboolean
announcement_compile(struct announcement *ann, GError **error)
{
	g_autofree char *partials = g_build_filename(ann->templates,
	    "partials", NULL);
	g_autofree char *kinddir = g_build_filename(ann->templates, ann->kind,
	    NULL);
	static const char *const parts[] = { "subject", "text", "html" };
	size_t i;

	if (!g_file_test(kinddir, G_FILE_TEST_IS_DIR)) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_NOINPUT,
		    "%s: no templates for kind \"%s\" here", kinddir, ann->kind);
		return FALSE;
	}
	ann->set = template_set_new();
	if (g_file_test(partials, G_FILE_TEST_IS_DIR) &&
	    !template_set_add_dir(ann->set, partials, error))
		return FALSE;
	if (!template_set_add_dir(ann->set, kinddir, error))
		return FALSE;
	for (i = 0; i < G_N_ELEMENTS(parts); i++)
		if (!template_set_has(ann->set, parts[i])) {
			g_set_error(error, HERALD_ERROR, HERALD_ERROR_NOINPUT,
			    "%s/%s.mustache: missing (every kind needs subject, "
			    "text and html)", kinddir, parts[i]);
			return FALSE;
		}
	return template_set_check(ann->set, FALSE, error);
}

/* announcement_read_kind - the value of the first top-level `kind = "…"`
 * line of PATH (*LINE its line); a DATA error naming FILE:LINE if none */
static char *
announcement_read_kind(const char *path, int *line, GError **error)
{
	g_autofree char *text = NULL;
	g_autoptr(GError) ioerr = NULL;
	g_auto(GStrv) lines = NULL;
	int i;

	if (!g_file_get_contents(path, &text, NULL, &ioerr)) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_NOINPUT, "%s: %s",
		    path, ioerr->message);
		return NULL;
	}
	lines = g_strsplit(text, "\n", -1);
	for (i = 0; lines[i] != NULL; i++) {
		const char *p = lines[i];
		const char *q;

		while (*p == ' ' || *p == '\t')
			p++;
		if (!g_str_has_prefix(p, "kind"))
			continue;
		for (p += 4; *p == ' ' || *p == '\t'; p++)
			;
		if (*p++ != '=')
			continue;
		while (*p == ' ' || *p == '\t')
			p++;
		if ((*p != '"' && *p != '\'') || (q = strchr(p + 1, *p)) == NULL)
			continue;
		*line = i + 1;
		return g_strndup(p + 1, q - p - 1);
	}
	g_set_error(error, HERALD_ERROR, HERALD_ERROR_DATA, "%s:1: no kind = "
	    "\"…\" line (one of summit, talks, sponsorship)", path);
	return NULL;
}

/* announcement_resolve - the data file named by KIND_OR_PATH */
static char *
announcement_resolve(const char *kind_or_path, const struct config *config)
{
	g_autofree char *dir = NULL;

	if (strchr(kind_or_path, '/') != NULL ||
	    g_str_has_suffix(kind_or_path, ".conf") ||
	    !announcement_known_kind(kind_or_path))
		return g_strdup(kind_or_path);
	dir = announcement_find_templates("", NULL, config);
	return g_build_filename(dir, kind_or_path, "example.conf", NULL);
}

struct announcement *
announcement_load(const char *kind_or_path, const struct config *config,
    GError **error)
{
	g_autoptr(announcement) ann = g_new0(struct announcement, 1);
	g_autofree char *path = announcement_resolve(kind_or_path, config);
	g_autofree char *base = NULL;
	g_autofree char *kind = NULL;
	cfg_t *cfg;
	const char *tmpl;
	int kind_line = 1;

	/* first, only the kind, to pick the schema */
	if ((kind = announcement_read_kind(path, &kind_line, error)) == NULL)
		return NULL;
	if (!announcement_known_kind(kind)) {
		g_autofree char *known = g_strjoinv(", ",
		    (char **)announcement_kind_names);

		g_set_error(error, HERALD_ERROR, HERALD_ERROR_DATA,
		    "%s:%d: unknown kind \"%s\" (kind = one of %s)", path,
		    kind_line, kind, known);
		return NULL;
	}
	ann->kind = g_steal_pointer(&kind);
	announcement_audience_lines = g_hash_table_new(g_direct_hash,
	    g_direct_equal);
	cfg = announcement_parse(path, announcement_schema(ann->kind), kind_line,
	    error);
	if (cfg == NULL) {
		g_clear_pointer(&announcement_audience_lines, g_hash_table_unref);
		return NULL;
	}
	ann->file = g_strdup(path);
	base = g_path_get_basename(path);
	ann->name = g_str_has_suffix(base, ".conf") ?
	    g_strndup(base, strlen(base) - 5) : g_strdup(base);
	if (strcmp(ann->name, "example") == 0) {
		g_free(ann->name);
		ann->name = g_strdup_printf("%s-example", ann->kind);
	}
	tmpl = cfg_size(cfg, "templates") > 0 ? cfg_getstr(cfg, "templates") :
	    NULL;
	ann->templates = announcement_find_templates(path, tmpl, config);
	ann->calendar = cfg_getbool(cfg, "calendar");
	ann->audiences = g_ptr_array_new_with_free_func(
	    announcement_audience_free);
	announcement_audiences = ann->audiences;
	ann->data = announcement_section_value(cfg);
	announcement_audiences = NULL;
	g_clear_pointer(&announcement_audience_lines, g_hash_table_unref);
	ann->events = g_ptr_array_new_with_free_func(announcement_event_free);
	announcement_collect_events(ann, cfg);
	cfg_free(cfg);
	if (!announcement_compile(ann, error))
		return NULL;
	return g_steal_pointer(&ann);
}

void
announcement_free(struct announcement *ann)
{
	if (ann == NULL)
		return;
	g_free(ann->kind);
	g_free(ann->name);
	g_free(ann->file);
	g_free(ann->templates);
	if (ann->data != NULL)
		value_unref(ann->data);
	if (ann->set != NULL)
		template_set_free(ann->set);
	if (ann->events != NULL)
		g_ptr_array_unref(ann->events);
	if (ann->audiences != NULL)
		g_ptr_array_unref(ann->audiences);
	g_free(ann);
}

const char *const *
announcement_kinds(void)
{
	return announcement_kind_names;
}
