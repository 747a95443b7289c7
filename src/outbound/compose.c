/*
 * compose.c - render an announcement for one subscriber and write the
 * message as the bytes the SMTP relay gets (CRLF, MIME, list headers).
 *
 * Design. Everything that is the same for every recipient is done once in
 * composer_new(): the data as seen by each campaign segment (lists whose
 * items carry an `audience` come out with that segment's items first, each
 * item flagged `for_you`), the `list` map, the From, Reply-To, List-Id and
 * other fixed headers (through GMime's address and RFC 2047 encoders), the
 * MIME boundaries, and the whole text/calendar part. A message is
 * written straight into the caller's GString, no GMime objects per
 * message; its parts come from this thread's cache of parts pre-rendered
 * per recipient shape (see "the per-thread cache" below), or, for a shape
 * not cached, from a small map for the subscriber, three template renders
 * and the encoding of two parts. The
 * result is checked by GMime's parser and by Python's email package in
 * the tests (t0301, test-compose).
 *
 * The context stack, bottom to top: the common map (list, kind,
 * announcement), the segment's view of the data (with `segment` and
 * `segment_description`), the subscriber's map. A missing name renders
 * empty; under COMPOSER_STRICT it is an error that lists every one.
 *
 * Part encodings follow GMime's best-encoding rule for a 7-bit transport:
 * 7bit when every byte is ASCII and no line passes 998 octets;
 * quoted-printable when fewer than 17% of the bytes are 8-bit (or a line
 * is too long); base64 otherwise. Both parts are charset=utf-8.
 *
 * Must stay true: composer_render() writes nothing in the composer (many
 * threads share it); a CR or LF from a subscriber's name, email or
 * attributes, or in the rendered subject, never reaches a header: it is
 * a DATA error naming the field. On any error OUT is truncated back.
 */
#include <string.h>
#include <gmime/gmime.h>

#include "herald.h"
#include "compose.h"
#include "dkim.h"
#include "track.h"

#define COMPOSE_FOLD 78		/* header lines are folded near this */
#define COMPOSE_QP_LINE 76	/* quoted-printable line limit, with '=' */
#define COMPOSE_B64_LINE 76

struct composer {
	const struct announcement *ann;
	const struct list_config *list;
	struct token_key key;
	int flags;
	struct value *common;		/* list, kind, announcement */
	GHashTable *layers;		/* segment name -> the data as it sees it */
	struct value *plain;		/* the data for no segment */
	char **segment_names;		/* the list's segments, for the flags */
	char *head;			/* the fixed headers, CRLF, from Reply-To on */
	char *from;			/* "From: …\r\n", folded and encoded */
	char *boundary;			/* multipart/alternative */
	char *outer;			/* multipart/mixed (calendar), or NULL */
	char *calendar;			/* the encoded calendar part, or NULL */
	GTimeZone *tz;			/* local time, for Date: */
	guint serial;			/* unique per composer: the caches' */
	gboolean no_cache;		/* HERALD_RENDER_CACHE=0: always slow */
	struct dkim_signer *signer;	/* the list's dkim { }, or NULL */
	struct track_links *track;	/* tracked links (track.h), or NULL */
	gint64 campaign_id;		/* Feedback-ID's first field (0: none yet) */
};

static const char *const compose_days[] = {
	"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun",
};
static const char *const compose_months[] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
	"Nov", "Dec",
};

/* compose_gmime_init - GMime's tables, once per process */
static void
compose_gmime_init(void)
{
	static gsize done;

	if (g_once_init_enter(&done)) {
		g_mime_init();
		g_once_init_leave(&done, 1);
	}
}

/* compose_random - 64 random bits, from a per-thread generator */
static guint64
compose_random(void)
{
	static __thread guint64 state;

	if (state == 0)
		state = ((guint64)g_random_int() << 32 | g_random_int()) ^
		    (guint64)g_get_real_time() ^ (guint64)(guintptr)&state;
	/* xorshift64* */
	state ^= state >> 12;
	state ^= state << 25;
	state ^= state >> 27;
	return state * G_GUINT64_CONSTANT(2685821657736338717);
}

/* compose_check_line - no CR or LF in S; else a DATA error naming WHAT */
static gboolean
compose_check_line(const char *what, const char *s, GError **error)
{
	if (s != NULL && strpbrk(s, "\r\n") != NULL) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_DATA,
		    "%s: contains a line break (CR or LF), refused", what);
		return FALSE;
	}
	return TRUE;
}

/* compose_is_ascii - every byte of S is 7-bit */
static gboolean
compose_is_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((guchar)*s >= 0x80)
			return FALSE;
	return TRUE;
}

/* compose_header - append "NAME: VALUE\r\n", folded at spaces so that
 * lines stay near COMPOSE_FOLD octets where the value allows it */
static void
compose_header(GString *out, const char *name, const char *value)
{
	gsize col = strlen(name) + 2;
	const char *p = value;

	g_string_append(out, name);
	g_string_append(out, ": ");
	while (*p != '\0') {
		const char *sp = strchr(p + 1, ' ');
		gsize word = sp != NULL ? (gsize)(sp - p) : strlen(p);

		if (*p == ' ' && col + word > COMPOSE_FOLD && col > 1) {
			g_string_append(out, "\r\n");
			col = 0;
		}
		g_string_append_len(out, p, word);
		col += word;
		p += word;
	}
	g_string_append(out, "\r\n");
}

/* compose_quoted - NAME in double quotes with \ and " escaped */
static char *
compose_quoted(const char *name)
{
	GString *q = g_string_new("\"");
	const char *p;

	for (p = name; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			g_string_append_c(q, '\\');
		g_string_append_c(q, *p);
	}
	g_string_append_c(q, '"');
	return g_string_free(q, FALSE);
}

/* compose_has_long_word - S holds a run without a space longer than a
 * header line should be: compose_header could not fold it, so it must go
 * as RFC 2047 encoded-words, which fold between words */
static gboolean
compose_has_long_word(const char *s)
{
	gsize run = 0;

	for (; *s != '\0'; s++)
		if (*s == ' ' || *s == '\t')
			run = 0;
		else if (++run > COMPOSE_FOLD - 10)
			return TRUE;
	return FALSE;
}

/* compose_display_name - NAME as an RFC 5322 display name: as is when
 * it is plain words, quoted when it has specials, RFC 2047 when not ASCII
 * or when a word is too long to fold */
static char *
compose_display_name(const char *name)
{
	const char *p;

	if (!compose_is_ascii(name) || compose_has_long_word(name))
		return g_mime_utils_header_encode_phrase(NULL, name, "utf-8");
	for (p = name; *p != '\0'; p++)
		if (!g_ascii_isalnum(*p) &&
		    strchr(" !#$%&'*+-/=?^_`{|}~", *p) == NULL)
			return compose_quoted(name);
	if (name[0] == ' ' || name[strlen(name) - 1] == ' ' ||
	    strstr(name, "  ") != NULL)
		return compose_quoted(name);
	return g_strdup(name);
}

/* compose_address - EMAIL ready for <…>: the domain in ASCII (IDNA); a
 * local part that is not ASCII is refused (it would need SMTPUTF8) */
static char *
compose_address(const char *email, GError **error)
{
	const char *at = strrchr(email, '@');
	g_autofree char *domain = NULL;

	if (at == NULL || at == email || at[1] == '\0' ||
	    strpbrk(email, "<>\r\n") != NULL) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_DATA,
		    "email: \"%s\" is not an address", email);
		return NULL;
	}
	if (compose_is_ascii(email))
		return g_strdup(email);
	for (const char *p = email; p < at; p++)
		if ((guchar)*p >= 0x80) {
			g_set_error(error, HERALD_ERROR, HERALD_ERROR_DATA,
			    "email: \"%s\" has a non-ASCII local part "
			    "(needs SMTPUTF8, not supported)", email);
			return NULL;
		}
	domain = g_hostname_to_ascii(at + 1);
	if (domain == NULL) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_DATA,
		    "email: \"%s\" has a bad domain", email);
		return NULL;
	}
	return g_strdup_printf("%.*s@%s", (int)(at - email), email, domain);
}

/* compose_date - "Date: …" for now, in the local zone TZ. The text is
 * kept per thread and made again only when the second changes (making a
 * GDateTime for "now, local" costs system calls). */
static void
compose_date(GString *out, GTimeZone *tz)
{
	static __thread gint64 cached_sec = -1;
	static __thread char cached[64];
	gint64 now_sec = g_get_real_time() / G_USEC_PER_SEC;

	if (now_sec != cached_sec) {
		g_autoptr(GDateTime) utc = g_date_time_new_from_unix_utc(now_sec);
		g_autoptr(GDateTime) now = g_date_time_to_timezone(utc, tz);
		gint64 off = g_date_time_get_utc_offset(now) / G_TIME_SPAN_MINUTE;

		g_snprintf(cached, sizeof(cached), "Date: %s, %d %s %04d "
		    "%02d:%02d:%02d %c%02d%02d\r\n",
		    compose_days[g_date_time_get_day_of_week(now) - 1],
		    g_date_time_get_day_of_month(now),
		    compose_months[g_date_time_get_month(now) - 1],
		    g_date_time_get_year(now), g_date_time_get_hour(now),
		    g_date_time_get_minute(now), g_date_time_get_second(now),
		    off < 0 ? '-' : '+', (int)(ABS(off) / 60),
		    (int)(ABS(off) % 60));
		cached_sec = now_sec;
	}
	g_string_append(out, cached);
}

enum compose_cte {
	CTE_QP,
	CTE_BASE64,
};

/* compose_count8 - how many bytes of TEXT have the high bit set; a word
 * at a time until one is found */
static gsize
compose_count8(const char *text, gsize len)
{
	const guint64 high = G_GUINT64_CONSTANT(0x8080808080808080);
	gsize i = 0, n = 0;
	guint64 acc = 0;

	for (; i + 8 <= len; i += 8) {
		guint64 w;

		memcpy(&w, text + i, 8);
		acc |= w;
	}
	for (; i < len; i++)
		acc |= (guchar)text[i];
	if ((acc & high) == 0)
		return 0;
	for (i = 0; i < len; i++)
		n += (guchar)text[i] >> 7;
	return n;
}

/* compose_7bit - TEXT as a 7bit body: LF or CRLF made CRLF, in one pass.
 * FALSE (OUT left longer; the caller truncates) when 7bit cannot carry
 * it: a lone CR, a line over 998 octets, or a line "--BOUNDARY…". */
static gboolean
compose_7bit(GString *out, const char *text, gsize len, const char *boundary)
{
	const char *p = text, *end = text + len, *nl;
	gsize blen = boundary != NULL ? strlen(boundary) : 0, start = out->len;
	char *w;

	for (nl = memchr(text, '\r', len); nl != NULL;
	    nl = memchr(nl + 1, '\r', end - nl - 1))
		if (nl + 1 == end || nl[1] != '\n')
			return FALSE;
	g_string_set_size(out, start + len * 2 + 2);
	w = out->str + start;
	while (p < end) {
		const char *eol;

		nl = memchr(p, '\n', end - p);
		if (nl == NULL)
			nl = end;
		eol = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
		if (eol - p > 998 || (blen > 0 && (gsize)(eol - p) >= blen + 2 &&
		    p[0] == '-' && p[1] == '-' && memcmp(p + 2, boundary, blen) == 0))
			return FALSE;
		memcpy(w, p, eol - p);
		w += eol - p;
		*w++ = '\r';
		*w++ = '\n';
		p = nl + 1;
	}
	g_string_truncate(out, w - out->str);
	return TRUE;
}

/* compose_crlf - TEXT with every line end made CRLF, ending in one */
static void
compose_crlf(GString *out, const char *text, gsize len)
{
	const char *p = text, *end = text + len, *nl;
	gsize start = out->len;
	char *w;

	if (memchr(text, '\r', len) != NULL) {
		/* rare: a CR in the template or the data; the careful way */
		while (p < end) {
			const char *q = p;

			while (q < end && *q != '\n' && *q != '\r')
				q++;
			g_string_append_len(out, p, q - p);
			g_string_append_len(out, "\r\n", 2);
			if (q < end && *q == '\r' && q + 1 < end && q[1] == '\n')
				q++;
			p = q + 1;
		}
		return;
	}
	/* at most one CR added per LF, plus a final CRLF */
	g_string_set_size(out, start + len * 2 + 2);
	w = out->str + start;
	while (p < end) {
		nl = memchr(p, '\n', end - p);
		if (nl == NULL)
			nl = end;
		memcpy(w, p, nl - p);
		w += nl - p;
		*w++ = '\r';
		*w++ = '\n';
		p = nl + 1;
	}
	g_string_truncate(out, w - out->str);
}

/* compose_qp_table - 1 for the bytes quoted-printable must encode
 * anywhere (the rest are literal, except space and tab at a line end) */
static const guint8 compose_qp_enc[256] = {
	[0 ... 8] = 1, [10 ... 31] = 1, ['='] = 1, [127 ... 255] = 1,
};

/* compose_qp - quoted-printable (RFC 2045 6.7) with CRLF line ends,
 * written straight into OUT's buffer (at most 3 bytes per input byte plus
 * a soft break per 25 encoded bytes) */
static void
compose_qp(GString *out, const char *text, gsize len)
{
	static const char hex[] = "0123456789ABCDEF";
	const guchar *p = (const guchar *)text, *end = p + len;
	gsize start = out->len;
	char *w;

	g_string_set_size(out, start + len * 4 + 4);
	w = out->str + start;
	while (p < end) {
		const guchar *eol = memchr(p, '\n', end - p);
		const guchar *stop;
		gsize col = 0;

		if (eol == NULL)
			eol = end;
		stop = eol;
		if (stop > p && stop[-1] == '\r')
			stop--;
		if (stop - p <= COMPOSE_QP_LINE) {
			/* a short line with nothing to encode goes as it is */
			const guchar *q = p;

			while (q < stop && !compose_qp_enc[*q])
				q++;
			if (q == stop && (q == p || (q[-1] != ' ' && q[-1] != '\t'))) {
				memcpy(w, p, stop - p);
				w += stop - p;
				p = stop;
			}
		}
		for (; p < stop; p++) {
			gboolean last = p + 1 == stop;
			gboolean enc = compose_qp_enc[*p] ||
			    ((*p == ' ' || *p == '\t') && last);
			gsize wid = enc ? 3 : 1;

			/* room for this and, unless it ends the line, a '=' */
			if (col + wid > COMPOSE_QP_LINE - (last ? 0 : 1)) {
				*w++ = '=';
				*w++ = '\r';
				*w++ = '\n';
				col = 0;
			}
			if (enc) {
				*w++ = '=';
				*w++ = hex[*p >> 4];
				*w++ = hex[*p & 15];
			} else {
				*w++ = *p;
			}
			col += wid;
		}
		*w++ = '\r';
		*w++ = '\n';
		p = eol + 1;
	}
	g_string_truncate(out, w - out->str);
}

/* compose_base64 - base64 in lines of COMPOSE_B64_LINE, CRLF */
static void
compose_base64(GString *out, const char *text, gsize len)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	gsize i, col = 0;

	for (i = 0; i < len; i += 3) {
		guint32 v = (guchar)text[i] << 16;
		char q[4];

		if (i + 1 < len)
			v |= (guchar)text[i + 1] << 8;
		if (i + 2 < len)
			v |= (guchar)text[i + 2];
		q[0] = b64[v >> 18 & 63];
		q[1] = b64[v >> 12 & 63];
		q[2] = i + 1 < len ? b64[v >> 6 & 63] : '=';
		q[3] = i + 2 < len ? b64[v & 63] : '=';
		g_string_append_len(out, q, 4);
		col += 4;
		if (col >= COMPOSE_B64_LINE) {
			g_string_append_len(out, "\r\n", 2);
			col = 0;
		}
	}
	if (col > 0)
		g_string_append_len(out, "\r\n", 2);
}

/* compose_part_head - a leaf part's headers and the blank line */
static void
compose_part_head(GString *out, const char *ctype, const char *extra,
    const char *cte)
{
	g_string_append_printf(out, "Content-Type: %s\r\n%s"
	    "Content-Transfer-Encoding: %s\r\n\r\n", ctype,
	    extra != NULL ? extra : "", cte);
}

/* compose_part - one leaf part: its headers, a blank line, the body in
 * the best encoding (CRLF line ends, ending in CRLF). TEXT has LF or CRLF
 * line ends. For base64, line ends are made CRLF first (RFC 2045 says a
 * text type's canonical form has CRLF). compose_cached_part() must choose
 * and write exactly as this does. */
static void
compose_part(GString *out, const char *ctype, const char *extra,
    const char *text, gsize len, const char *boundary)
{
	gsize eight = compose_count8(text, len), mark = out->len;
	enum compose_cte cte;

	if (eight == 0) {
		compose_part_head(out, ctype, extra, "7bit");
		if (compose_7bit(out, text, len, boundary))
			return;
		g_string_truncate(out, mark);
		cte = CTE_QP;
	} else {
		cte = eight * 100 < len * 17 ? CTE_QP : CTE_BASE64;
	}
	compose_part_head(out, ctype, extra, cte == CTE_QP ?
	    "quoted-printable" : "base64");
	if (cte == CTE_QP) {
		compose_qp(out, text, len);
	} else {
		g_autoptr(GString) canon = g_string_sized_new(len + len / 32);

		compose_crlf(canon, text, len);
		compose_base64(out, canon->str, canon->len);
	}
}

/* ---- the context ---- */

/* compose_in_audience - AUDIENCE (a list of strings) names SEGMENT */
static gboolean
compose_in_audience(struct value *audience, const char *segment)
{
	guint i;

	if (segment == NULL || audience == NULL ||
	    value_kind(audience) != VALUE_LIST)
		return FALSE;
	for (i = 0; i < value_list_length(audience); i++) {
		struct value *a = value_list_index(audience, i);

		if (value_kind(a) == VALUE_STRING &&
		    strcmp(value_string(a), segment) == 0)
			return TRUE;
	}
	return FALSE;
}

static struct value *compose_view(struct value *v, const char *segment);

/* compose_has_audience - V is a list with a map item that has `audience` */
static gboolean
compose_has_audience(struct value *v)
{
	guint i;

	if (value_kind(v) != VALUE_LIST)
		return FALSE;
	for (i = 0; i < value_list_length(v); i++) {
		struct value *item = value_list_index(v, i);

		if (value_kind(item) == VALUE_MAP &&
		    value_map_get(item, "audience") != NULL)
			return TRUE;
	}
	return FALSE;
}

struct compose_copy {
	struct value *map;
	const char *segment;
};

/* compose_view_entry - copy one map entry into the view */
static void
compose_view_entry(const char *key, struct value *v, gpointer data)
{
	struct compose_copy *c = data;
	struct value *view = compose_view(v, c->segment);

	value_map_set(c->map, key, view);
	if (compose_has_audience(v)) {
		g_autofree char *k = g_strconcat(key, "_for_you", NULL);
		struct value *first = value_list_length(view) > 0 ?
		    value_list_index(view, 0) : NULL;
		struct value *mine = first != NULL ?
		    value_map_get(first, "for_you") : NULL;

		value_map_set(c->map, k, mine != NULL && value_bool(mine) ?
		    value_ref(first) : value_new_bool(FALSE));
	}
}

/* compose_mine - how many items of the list V are for SEGMENT */
static guint
compose_mine(struct value *v, const char *segment)
{
	guint i, mine = 0;

	for (i = 0; i < value_list_length(v); i++) {
		struct value *item = value_list_index(v, i);

		if (value_kind(item) == VALUE_MAP && compose_in_audience(
		    value_map_get(item, "audience"), segment))
			mine++;
	}
	return mine;
}

/* compose_view - V as SEGMENT sees it: a copy in which every list of maps
 * with an `audience` has the items for SEGMENT first (stable), every such
 * item a `for_you` flag, and the list's key X a sibling X_for_you: the
 * first item when it is for SEGMENT, else false. An item is also
 * `picked` when it is for SEGMENT and at most half of its list is: a mark
 * on 5 topics of 6 sets nothing apart. Strings and numbers are shared. */
static struct value *
compose_view(struct value *v, const char *segment)
{
	if (value_kind(v) == VALUE_MAP) {
		struct compose_copy c = { value_new_map(), segment };
		struct value *aud = value_map_get(v, "audience");

		value_map_foreach(v, compose_view_entry, &c);
		if (aud != NULL)
			value_map_set(c.map, "for_you", value_new_bool(
			    compose_in_audience(aud, segment)));
		return c.map;
	}
	if (value_kind(v) == VALUE_LIST) {
		struct value *list = value_new_list();
		guint i, n = value_list_length(v), mine = compose_mine(v, segment);
		int pass;

		for (pass = 0; pass < 2; pass++)
			for (i = 0; i < n; i++) {
				struct value *item = value_list_index(v, i);
				struct value *aud = value_kind(item) == VALUE_MAP ?
				    value_map_get(item, "audience") : NULL;
				gboolean for_me = compose_in_audience(aud, segment);
				struct value *view;

				if ((pass == 0) != for_me)
					continue;
				view = compose_view(item, segment);
				if (aud != NULL)
					value_map_set(view, "picked", value_new_bool(
					    for_me && mine * 2 <= n));
				value_list_append(list, view);
			}
		return list;
	}
	return value_ref(v);
}

/* compose_layer - the data as SEGMENT (NULL: none) sees it */
static struct value *
compose_layer(const struct composer *c, const char *segment)
{
	struct value *layer = compose_view(c->ann->data, segment);
	const struct segment_def *def = segment != NULL ?
	    config_segment(c->list, segment) : NULL;

	value_map_set(layer, "segment", value_new_string(
	    segment != NULL ? segment : ""));
	value_map_set(layer, "segment_description", value_new_string(
	    def != NULL && def->description != NULL ? def->description : ""));
	return layer;
}

/* compose_set_string - MAP[KEY] = printf(FMT, …) */
static void
compose_set_string(struct value *map, const char *key, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
static void
compose_set_string(struct value *map, const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	value_map_set(map, key, value_new_string_take(g_strdup_vprintf(fmt, ap)));
	va_end(ap);
}

/* compose_common - the map of things every message shares */
static struct value *
compose_common(const struct composer *c)
{
	const struct list_config *l = c->list;
	struct value *common = value_new_map(), *list = value_new_map();

	value_map_set(list, "name", value_new_string(l->name));
	value_map_set(list, "address", value_new_string(l->address));
	value_map_set(list, "display_name", value_new_string(
	    l->display_name != NULL ? l->display_name : l->name));
	value_map_set(list, "description", value_new_string(
	    l->description != NULL ? l->description : ""));
	value_map_set(list, "from", value_new_string(l->from != NULL ?
	    l->from : l->address));
	compose_set_string(list, "owner", "%s-owner@%s", l->local, l->domain);
	compose_set_string(list, "request", "%s-request@%s", l->local, l->domain);
	compose_set_string(list, "subscribe", "%s-subscribe@%s", l->local,
	    l->domain);
	compose_set_string(list, "unsubscribe", "%s-unsubscribe@%s", l->local,
	    l->domain);
	/* unsubscribe_mailto is unsubscribe_local "+" unsubscribe_token "@"
	 * domain: the HTML footer lets the line break only between them */
	compose_set_string(list, "unsubscribe_local", "%s-unsubscribe",
	    l->local);
	value_map_set(list, "domain", value_new_string(l->domain));
	value_map_set(list, "announce_only", value_new_bool(l->announce_only));
	value_map_set(common, "list", list);
	value_map_set(common, "kind", value_new_string(c->ann->kind));
	value_map_set(common, "announcement", value_new_string(c->ann->name));
	return common;
}

struct compose_recipient {
	const struct subscriber *sub;
	const char *segment;
	const char *const *matched;
	char *unsub_token;
	char *address;		/* the email, domain in ASCII */
	gint64 delivery;	/* for per-subscriber tokens, 0: none */
};

/* The per-subscriber strings of the context are its "slots". A
 * pre-rendered part (see "the per-thread cache" below) holds a marker
 * where a slot's text goes: MARK, the slot's number + SLOT_BASE, "&" (or
 * "&amp;" where the template HTML-escaped it), MARK. None of these bytes
 * is a newline, and a marker is never empty, so it takes a non-empty
 * value's place in the engine's output without changing anything else. */
#define COMPOSE_MARK '\001'
#define COMPOSE_SLOT_BASE 0x40
#define COMPOSE_SLOTS_MAX 60	/* more slots than that: no cache */
#define COMPOSE_SLOTS_INLINE 16

enum compose_slot {
	SLOT_EMAIL,
	SLOT_NAME,
	SLOT_FIRST_NAME,
	SLOT_ID,
	SLOT_MAILTO,
	SLOT_URL,
	SLOT_PREFS,		/* the preferences page (herald serve) */
	SLOT_TOKEN,		/* the token of the three above, alone */
	SLOT_ATTR0,		/* the attributes, sorted by name */
};

struct compose_slots {
	guint n;
	const char **s;		/* each slot's text, not NUL-terminated */
	gsize *len;
	const char **attr;	/* attribute names, [SLOT_ATTR0] on, sorted */
	const char *s_in[COMPOSE_SLOTS_INLINE];	/* the arrays, unless */
	gsize len_in[COMPOSE_SLOTS_INLINE];	/* there are more slots */
	const char *attr_in[COMPOSE_SLOTS_INLINE];
	char buf[3][256];	/* mailto, url, prefs when they fit */
	char *heap[3];		/* mailto, url, prefs when they do not */
};

/* compose_slot_set - slot I is the N bytes at S */
static void
compose_slot_set(struct compose_slots *sl, guint i, const char *s, gsize n)
{
	sl->s[i] = s;
	sl->len[i] = n;
}

/* compose_slot_print - slot I is printf(FMT, …), in sl->buf[B] if it
 * fits, else in sl->heap[H] */
static void G_GNUC_PRINTF(5, 6)
compose_slot_print(struct compose_slots *sl, guint i, int b, int h,
    const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = g_vsnprintf(sl->buf[b], sizeof(sl->buf[b]), fmt, ap);
	va_end(ap);
	if (n >= 0 && (gsize)n < sizeof(sl->buf[b])) {
		compose_slot_set(sl, i, sl->buf[b], n);
		return;
	}
	va_start(ap, fmt);
	sl->heap[h] = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	compose_slot_set(sl, i, sl->heap[h], strlen(sl->heap[h]));
}

/* compose_strcmp - qsort order of an array of strings */
static int
compose_strcmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* compose_slots_make - R's per-subscriber strings (the id's text goes in
 * IDTEXT, which must outlive SL; compose_slots_clear after) */
static void
compose_slots_make(const struct composer *c, const struct compose_recipient *r,
    GString *idtext, struct compose_slots *sl)
{
	const struct list_config *l = c->list;
	const char *name = r->sub->name != NULL ? r->sub->name : "";
	const char *p, *end;
	guint nattr = r->sub->attrs != NULL ? g_hash_table_size(r->sub->attrs) : 0;
	g_autoptr(value) id = value_new_number(r->sub->id);
	GHashTableIter it;
	gpointer k, v;
	guint i;

	sl->heap[0] = sl->heap[1] = sl->heap[2] = NULL;
	sl->n = SLOT_ATTR0 + nattr;
	if (sl->n <= COMPOSE_SLOTS_INLINE) {
		sl->s = sl->s_in;
		sl->len = sl->len_in;
		sl->attr = sl->attr_in;
	} else {
		sl->s = g_new(const char *, sl->n);
		sl->len = g_new(gsize, sl->n);
		sl->attr = g_new(const char *, sl->n);
	}
	compose_slot_set(sl, SLOT_EMAIL, r->sub->email, strlen(r->sub->email));
	compose_slot_set(sl, SLOT_NAME, name, strlen(name));
	/* as compose_first_name */
	for (p = name; *p == ' ' || *p == '\t'; p++)
		;
	for (end = p; *end != '\0' && *end != ' ' && *end != '\t'; end++)
		;
	compose_slot_set(sl, SLOT_FIRST_NAME, p, end - p);
	/* the id prints as a variable tag prints the number */
	g_string_truncate(idtext, 0);
	value_to_text(id, idtext);
	compose_slot_set(sl, SLOT_ID, idtext->str, idtext->len);
	compose_slot_print(sl, SLOT_MAILTO, 0, 0, "%s-unsubscribe+%s@%s",
	    l->local, r->unsub_token, l->domain);
	if (l->unsubscribe_base_url != NULL)
		compose_slot_print(sl, SLOT_URL, 1, 1, "%s%s",
		    l->unsubscribe_base_url, r->unsub_token);
	else
		compose_slot_set(sl, SLOT_URL, "", 0);
	if (l->preferences_base_url != NULL)
		compose_slot_print(sl, SLOT_PREFS, 2, 2, "%s%s",
		    l->preferences_base_url, r->unsub_token);
	else
		compose_slot_set(sl, SLOT_PREFS, "", 0);
	compose_slot_set(sl, SLOT_TOKEN, r->unsub_token, strlen(r->unsub_token));
	if (nattr > 0) {
		i = SLOT_ATTR0;
		g_hash_table_iter_init(&it, r->sub->attrs);
		while (g_hash_table_iter_next(&it, &k, NULL))
			sl->attr[i++] = k;
		qsort(sl->attr + SLOT_ATTR0, nattr, sizeof(sl->attr[0]),
		    compose_strcmp);
		for (i = SLOT_ATTR0; i < sl->n; i++) {
			v = g_hash_table_lookup(r->sub->attrs, sl->attr[i]);
			compose_slot_set(sl, i, v, strlen(v));
		}
	}
}

/* compose_slots_clear - what compose_slots_make allocated */
static void
compose_slots_clear(struct compose_slots *sl)
{
	g_free(sl->heap[0]);
	g_free(sl->heap[1]);
	g_free(sl->heap[2]);
	if (sl->s != sl->s_in) {
		g_free(sl->s);
		g_free(sl->len);
		g_free(sl->attr);
	}
}

/* compose_slot_value - slot I as a string value: its text, or with
 * MARKERS its marker (the empty string stays empty) */
static struct value *
compose_slot_value(const struct compose_slots *sl, guint i, gboolean markers)
{
	char m[5] = { COMPOSE_MARK, (char)(COMPOSE_SLOT_BASE + i), '&',
	    COMPOSE_MARK, '\0' };

	if (markers && sl->len[i] > 0)
		return value_new_string(m);
	return value_new_string_len(sl->s[i], sl->len[i]);
}

/* compose_subscriber_layer - the per-message map: subscriber (id, email,
 * name, first_name, attributes), segments.NAME flags, unsubscribe_mailto,
 * unsubscribe_url, preferences_url, unsubscribe_token (theirs alone). With MARKERS, every non-empty slot is its marker (the
 * id too, which otherwise is a number). */
static struct value *
compose_subscriber_layer(const struct composer *c,
    const struct compose_recipient *r, const struct compose_slots *sl,
    gboolean markers)
{
	struct value *top = value_new_map(), *s = value_new_map();
	struct value *attrs = value_new_map(), *flags = value_new_map();
	char **n;
	guint i;

	value_map_set(s, "id", markers ? compose_slot_value(sl, SLOT_ID, TRUE) :
	    value_new_number(r->sub->id));
	value_map_set(s, "email", compose_slot_value(sl, SLOT_EMAIL, markers));
	value_map_set(s, "name", compose_slot_value(sl, SLOT_NAME, markers));
	value_map_set(s, "first_name", compose_slot_value(sl, SLOT_FIRST_NAME,
	    markers));
	for (i = SLOT_ATTR0; i < sl->n; i++)
		value_map_set(attrs, sl->attr[i], compose_slot_value(sl, i,
		    markers));
	value_map_set(s, "attributes", attrs);
	value_map_set(top, "subscriber", s);
	for (n = c->segment_names; *n != NULL; n++)
		value_map_set(flags, *n, value_new_bool(r->matched != NULL &&
		    g_strv_contains((const char *const *)r->matched, *n)));
	value_map_set(top, "segments", flags);
	value_map_set(top, "unsubscribe_mailto", compose_slot_value(sl,
	    SLOT_MAILTO, markers));
	value_map_set(top, "unsubscribe_url", compose_slot_value(sl, SLOT_URL,
	    markers));
	value_map_set(top, "preferences_url", compose_slot_value(sl,
	    SLOT_PREFS, markers));
	value_map_set(top, "unsubscribe_token", compose_slot_value(sl,
	    SLOT_TOKEN, markers));
	return top;
}

/* compose_check_subscriber - no line breaks anywhere in SUB */
static gboolean
compose_check_subscriber(const struct subscriber *sub, GError **error)
{
	GHashTableIter it;
	gpointer k, v;

	if (sub->email == NULL || !compose_check_line("email", sub->email, error) ||
	    !compose_check_line("name", sub->name, error))
		goto fail;
	if (sub->attrs != NULL) {
		g_hash_table_iter_init(&it, sub->attrs);
		while (g_hash_table_iter_next(&it, &k, &v)) {
			g_autofree char *what = g_strdup_printf("attribute %s",
			    (char *)k);

			if (!compose_check_line(what, v, error))
				goto fail;
		}
	}
	return TRUE;
fail:
	if (error != NULL && *error == NULL)
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_DATA,
		    "subscriber has no email");
	g_prefix_error(error, "subscriber %" G_GINT64_FORMAT " (%s): ",
	    sub->id, sub->email != NULL ? sub->email : "?");
	return FALSE;
}

/* compose_segment_layer - the data as SEGMENT (NULL: none) sees it; NULL
 * if SEGMENT is not one of the campaign's */
static struct value *
compose_segment_layer(const struct composer *c, const char *segment)
{
	return segment != NULL ? g_hash_table_lookup(c->layers, segment) :
	    c->plain;
}

/* compose_render_parts - the three renders with SUBLAYER on top; SUBJECT,
 * TEXT, HTML appended (any may be NULL to skip it), every name that
 * resolved to nothing added to MISSING (if not NULL) */
static gboolean
compose_render_parts(const struct composer *c, struct value *sublayer,
    const char *segment, gint64 delivery, GString *subject, GString *text,
    GString *html, GPtrArray *missing, GError **error)
{
	struct value *stack[3];
	gsize t0 = text != NULL ? text->len : 0, h0 = html != NULL ?
	    html->len : 0;

	stack[0] = c->common;
	stack[1] = compose_segment_layer(c, segment);
	stack[2] = sublayer;
	if (stack[1] == NULL) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_USAGE,
		    "segment \"%s\" is not one of this campaign's", segment);
		return FALSE;
	}
	if (!((subject == NULL || template_render(c->ann->set, "subject",
	    stack, 3, TEMPLATE_ESCAPE_NONE, subject, missing, error)) &&
	    (text == NULL || template_render(c->ann->set, "text", stack, 3,
	    TEMPLATE_ESCAPE_NONE, text, missing, error)) &&
	    (html == NULL || template_render(c->ann->set, "html", stack, 3,
	    TEMPLATE_ESCAPE_HTML, html, missing, error))))
		return FALSE;
	if (c->track != NULL && text != NULL)
		track_rewrite(c->track, segment, delivery, text, t0, FALSE);
	if (c->track != NULL && html != NULL)
		track_rewrite(c->track, segment, delivery, html, h0, TRUE);
	return TRUE;
}

/* compose_missing_error - under COMPOSER_STRICT, FALSE and the error that
 * lists every name in MISSING (if any) */
static gboolean
compose_missing_error(const struct composer *c, GPtrArray *missing,
    GError **error)
{
	GString *names;
	guint i;

	if (!(c->flags & COMPOSER_STRICT) || missing == NULL ||
	    missing->len == 0)
		return TRUE;
	names = g_string_new(NULL);
	for (i = 0; i < missing->len; i++)
		g_string_append_printf(names, "%s%s", i ? ", " : "",
		    (char *)g_ptr_array_index(missing, i));
	g_set_error(error, HERALD_ERROR, HERALD_ERROR_DATA,
	    "%s: missing variables (--strict): %s", c->ann->name, names->str);
	g_string_free(names, TRUE);
	return FALSE;
}

/* compose_clean_subject - strip the template's surrounding white space;
 * a line break left inside is an error */
static gboolean
compose_clean_subject(GString *subject, GError **error)
{
	gsize a = 0, b = subject->len;

	while (a < b && g_ascii_isspace(subject->str[a]))
		a++;
	while (b > a && g_ascii_isspace(subject->str[b - 1]))
		b--;
	g_string_truncate(subject, b);
	g_string_erase(subject, 0, a);
	if (strpbrk(subject->str, "\r\n") != NULL) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_DATA,
		    "subject: the rendered subject has a line break (a "
		    "multi-line field in subject.mustache?), refused");
		return FALSE;
	}
	if (subject->len == 0) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_DATA,
		    "subject: renders empty");
		return FALSE;
	}
	return TRUE;
}

/* ---- the per-thread cache of pre-rendered parts ----
 *
 * Most of a message is the same for every subscriber who gets the same
 * segment's view. So each thread keeps, per "shape" of recipient, the
 * three parts rendered once with markers in place of the subscriber's
 * strings (COMPOSE_MARK), the text and HTML cut into runs of whole lines
 * without a marker (kept raw, as 7bit CRLF and as quoted-printable) and
 * single lines with markers. A message then copies the runs and fills in
 * and encodes only the lines with markers; it renders no template.
 *
 * The shape is everything the engine can branch on: the segment layer,
 * the segments.NAME flags, which slots are empty (a section on a name
 * renders or not), and the attribute names. Two recipients of one shape
 * differ only in the text of non-empty slots, which has no line break
 * (compose_check_subscriber refuses it) and is never empty, like its
 * marker: the engine's output for one is the other's with the slots'
 * texts swapped (HTML-escaped where the marker was). That is what makes
 * the cache exact. An entry is also checked once when made, against a
 * full render for the recipient it was made for; one that does not match
 * (data with a marker byte in it, say) is kept as unusable and that shape
 * renders the slow way. Quoted-printable and the 7bit checks work line by
 * line, so encoding the runs and the lines apiece gives the same bytes as
 * encoding the whole part; base64 (which never happens for text mostly
 * ASCII) puts the part back together and goes the usual way.
 *
 * HERALD_RENDER_CACHE=0 in the environment of composer_new() turns the
 * cache off for that composer: test-compose-cache compares the two ways.
 *
 * Must stay true: the cache is per thread (composer_render stays
 * thread-safe with the composer read-only); it belongs to one composer at
 * a time (c->serial: a different composer empties it); it holds at most
 * COMPOSE_CACHE_MAX entries (later shapes render the slow way), so memory
 * does not grow with the number of messages.
 */
#define COMPOSE_CACHE_MAX 128

struct compose_run {
	gboolean marked;	/* one line with markers, filled per message */
	char *raw;		/* the text: LF line ends, markers */
	gsize len;
	gsize eight;		/* unmarked: its 8-bit bytes */
	gboolean ok7;		/* unmarked: compose_7bit takes it */
	char *crlf;		/* unmarked: as 7bit (if ok7) */
	gsize crlf_len;
	char *qp;		/* unmarked: as quoted-printable */
	gsize qp_len;
};

struct compose_body {
	GArray *runs;		/* struct compose_run */
	gsize len;		/* bytes in the unmarked runs */
	gsize eight;		/* 8-bit bytes in them */
	gboolean ok7;		/* every unmarked run is ok7 */
};

struct compose_entry {
	gboolean usable;	/* FALSE: this shape renders the slow way */
	char *subject;		/* with markers */
	gsize subject_len;
	struct compose_body text, html;
	GPtrArray *missing;	/* the names that resolved to nothing */
};

/* Per-thread buffers (a message then allocates nothing for its parts
 * once they have grown to size) and the cache; freed when the thread
 * ends. */
struct compose_scratch {
	GString *s[3];		/* subject, text, html */
	GString *key;		/* the shape being looked up */
	GString *fill;		/* a part's marked lines, filled in */
	GString *whole;		/* a part put back together (base64) */
	GString *idtext;	/* the subscriber id as text */
	GArray *ends;		/* gsize: where each filled line ends */
	guint serial;		/* the composer the cache is for, 0: none */
	GHashTable *cache;	/* shape -> struct compose_entry */
};

/* compose_run_clear - a run's strings */
static void
compose_run_clear(gpointer p)
{
	struct compose_run *run = p;

	g_free(run->raw);
	g_free(run->crlf);
	g_free(run->qp);
}

/* compose_entry_free - an entry and its runs */
static void
compose_entry_free(gpointer p)
{
	struct compose_entry *e = p;

	g_free(e->subject);
	if (e->text.runs != NULL)
		g_array_unref(e->text.runs);
	if (e->html.runs != NULL)
		g_array_unref(e->html.runs);
	g_ptr_array_unref(e->missing);
	g_free(e);
}

/* compose_markers_ok - every MARK in S starts a whole marker of a slot
 * below N */
static gboolean
compose_markers_ok(const char *s, gsize len, guint n)
{
	const char *p = s, *end = s + len;

	while ((p = memchr(p, COMPOSE_MARK, end - p)) != NULL) {
		if (end - p < 4 || (guchar)p[1] < COMPOSE_SLOT_BASE ||
		    (guchar)p[1] >= COMPOSE_SLOT_BASE + n)
			return FALSE;
		if (p[2] == '&' && p[3] == COMPOSE_MARK)
			p += 4;
		else if (end - p >= 8 && memcmp(p + 2, "&amp;", 5) == 0 &&
		    p[7] == COMPOSE_MARK)
			p += 8;
		else
			return FALSE;
	}
	return TRUE;
}

/* compose_escape - append N bytes of S with & < > " ' as the template
 * engine writes them in HTML */
static void
compose_escape(GString *out, const char *s, gsize n)
{
	const char *end = s + n, *run = s;

	for (; s < end; s++) {
		const char *ent;

		switch (*s) {
		case '&': ent = "&amp;"; break;
		case '<': ent = "&lt;"; break;
		case '>': ent = "&gt;"; break;
		case '"': ent = "&quot;"; break;
		case '\'': ent = "&#39;"; break;
		default: continue;
		}
		g_string_append_len(out, run, s - run);
		g_string_append(out, ent);
		run = s + 1;
	}
	g_string_append_len(out, run, end - run);
}

/* compose_fill - append N bytes of S (checked by compose_markers_ok)
 * with every marker replaced by its slot's text */
static void
compose_fill(GString *out, const char *s, gsize n,
    const struct compose_slots *sl)
{
	const char *p = s, *end = s + n, *m;

	while ((m = memchr(p, COMPOSE_MARK, end - p)) != NULL) {
		guint i = (guchar)m[1] - COMPOSE_SLOT_BASE;

		g_string_append_len(out, p, m - p);
		if (m[3] == COMPOSE_MARK) {
			g_string_append_len(out, sl->s[i], sl->len[i]);
			p = m + 4;
		} else {
			compose_escape(out, sl->s[i], sl->len[i]);
			p = m + 8;
		}
	}
	g_string_append_len(out, p, end - p);
}

/* compose_body_add - end the unmarked run RUN (if any) in B */
static void
compose_body_add(struct compose_body *b, GString *run, const char *boundary)
{
	struct compose_run r = { FALSE, NULL, 0, 0, FALSE, NULL, 0, NULL, 0 };
	g_autoptr(GString) enc = g_string_new(NULL);

	if (run->len == 0)
		return;
	r.len = run->len;
	r.raw = g_strndup(run->str, run->len);
	r.eight = compose_count8(run->str, run->len);
	r.ok7 = compose_7bit(enc, run->str, run->len, boundary);
	if (r.ok7) {
		r.crlf_len = enc->len;
		r.crlf = g_strndup(enc->str, enc->len);
	}
	g_string_truncate(enc, 0);
	compose_qp(enc, run->str, run->len);
	r.qp_len = enc->len;
	r.qp = g_strndup(enc->str, enc->len);
	b->len += r.len;
	b->eight += r.eight;
	b->ok7 = b->ok7 && r.ok7;
	g_array_append_val(b->runs, r);
	g_string_truncate(run, 0);
}

/* compose_body_make - TEXT (with markers) cut into runs, see above */
static void
compose_body_make(struct compose_body *b, const char *text, gsize len,
    const char *boundary)
{
	const char *p = text, *end = text + len;
	g_autoptr(GString) run = g_string_new(NULL);

	b->runs = g_array_new(FALSE, FALSE, sizeof(struct compose_run));
	g_array_set_clear_func(b->runs, compose_run_clear);
	b->len = b->eight = 0;
	b->ok7 = TRUE;
	while (p < end) {
		const char *nl = memchr(p, '\n', end - p);
		const char *next = nl != NULL ? nl + 1 : end;
		struct compose_run r = { TRUE, NULL, 0, 0, FALSE, NULL, 0,
		    NULL, 0 };

		if (memchr(p, COMPOSE_MARK, next - p) == NULL) {
			g_string_append_len(run, p, next - p);
		} else {
			compose_body_add(b, run, boundary);
			r.raw = g_strndup(p, next - p);
			r.len = next - p;
			g_array_append_val(b->runs, r);
		}
		p = next;
	}
	compose_body_add(b, run, boundary);
}

/* compose_body_text - B for SL as plain text, appended to OUT */
static void
compose_body_text(GString *out, const struct compose_body *b,
    const struct compose_slots *sl)
{
	guint i;

	for (i = 0; i < b->runs->len; i++) {
		const struct compose_run *run = &g_array_index(b->runs,
		    struct compose_run, i);

		if (run->marked)
			compose_fill(out, run->raw, run->len, sl);
		else
			g_string_append_len(out, run->raw, run->len);
	}
}

/* compose_cached_part - what compose_part writes for B filled in for SL,
 * from the runs: the same choice of encoding, the same bytes */
static void
compose_cached_part(GString *out, const char *ctype,
    const struct compose_body *b, const struct compose_slots *sl,
    struct compose_scratch *sc, const char *boundary)
{
	GString *fill = sc->fill;
	gsize len, eight, mark = out->len, at, end;
	gboolean ok;
	guint i, j;

	/* the marked lines first: they decide the encoding too */
	g_string_truncate(fill, 0);
	g_array_set_size(sc->ends, 0);
	for (i = 0; i < b->runs->len; i++) {
		const struct compose_run *run = &g_array_index(b->runs,
		    struct compose_run, i);

		if (run->marked) {
			compose_fill(fill, run->raw, run->len, sl);
			g_array_append_val(sc->ends, fill->len);
		}
	}
	len = b->len + fill->len;
	eight = b->eight + compose_count8(fill->str, fill->len);
	if (eight == 0 || eight * 100 < len * 17) {
		ok = eight == 0 && b->ok7;
		if (ok)
			compose_part_head(out, ctype, NULL, "7bit");
		for (i = j = 0, at = 0; ok && i < b->runs->len; i++) {
			const struct compose_run *run = &g_array_index(b->runs,
			    struct compose_run, i);

			if (!run->marked) {
				g_string_append_len(out, run->crlf,
				    run->crlf_len);
				continue;
			}
			end = g_array_index(sc->ends, gsize, j++);
			ok = compose_7bit(out, fill->str + at, end - at,
			    boundary);
			at = end;
		}
		if (ok)
			return;
		g_string_truncate(out, mark);
		compose_part_head(out, ctype, NULL, "quoted-printable");
		for (i = j = 0, at = 0; i < b->runs->len; i++) {
			const struct compose_run *run = &g_array_index(b->runs,
			    struct compose_run, i);

			if (!run->marked) {
				g_string_append_len(out, run->qp, run->qp_len);
				continue;
			}
			end = g_array_index(sc->ends, gsize, j++);
			compose_qp(out, fill->str + at, end - at);
			at = end;
		}
		return;
	}
	/* base64 takes the whole part */
	g_string_truncate(sc->whole, 0);
	compose_body_text(sc->whole, b, sl);
	compose_part(out, ctype, NULL, sc->whole->str, sc->whole->len,
	    boundary);
}

/* compose_scratch_free - at thread exit */
static void
compose_scratch_free(gpointer p)
{
	struct compose_scratch *sc = p;
	int i;

	for (i = 0; i < 3; i++)
		g_string_free(sc->s[i], TRUE);
	g_string_free(sc->key, TRUE);
	g_string_free(sc->fill, TRUE);
	g_string_free(sc->whole, TRUE);
	g_string_free(sc->idtext, TRUE);
	g_array_unref(sc->ends);
	g_hash_table_unref(sc->cache);
	g_free(sc);
}

static GPrivate compose_scratch_key = G_PRIVATE_INIT(compose_scratch_free);

/* compose_scratch_get - this thread's buffers, emptied, and its cache,
 * emptied unless it was C's */
static struct compose_scratch *
compose_scratch_get(const struct composer *c)
{
	struct compose_scratch *sc = g_private_get(&compose_scratch_key);
	int i;

	if (sc == NULL) {
		sc = g_new0(struct compose_scratch, 1);
		sc->s[0] = g_string_sized_new(256);
		sc->s[1] = g_string_sized_new(16384);
		sc->s[2] = g_string_sized_new(32768);
		sc->key = g_string_sized_new(128);
		sc->fill = g_string_sized_new(1024);
		sc->whole = g_string_new(NULL);
		sc->idtext = g_string_sized_new(32);
		sc->ends = g_array_new(FALSE, FALSE, sizeof(gsize));
		sc->cache = g_hash_table_new_full(g_str_hash, g_str_equal,
		    g_free, compose_entry_free);
		g_private_set(&compose_scratch_key, sc);
	}
	for (i = 0; i < 3; i++)
		g_string_truncate(sc->s[i], 0);
	if (sc->serial != c->serial) {
		g_hash_table_remove_all(sc->cache);
		sc->serial = c->serial;
	}
	return sc;
}

/* compose_shape - the cache key for R with slots SL, in KEY */
static void
compose_shape(GString *key, const struct composer *c,
    const struct value *layer, const struct compose_recipient *r,
    const struct compose_slots *sl)
{
	char **n;
	guint i;

	g_string_printf(key, "%p/", (const void *)layer);
	for (n = c->segment_names; *n != NULL; n++)
		g_string_append_c(key, r->matched != NULL &&
		    g_strv_contains(r->matched, *n) ? '1' : '0');
	g_string_append_c(key, '/');
	for (i = 0; i < sl->n; i++)
		g_string_append_c(key, sl->len[i] > 0 ? '1' : '0');
	for (i = SLOT_ATTR0; i < sl->n; i++)
		g_string_append_printf(key, "/%zu:%s", strlen(sl->attr[i]),
		    sl->attr[i]);
}

/* compose_entry_make - the entry for R's shape (never NULL; unusable if
 * the shape cannot be cached or the check fails) */
static struct compose_entry *
compose_entry_make(const struct composer *c,
    const struct compose_recipient *r, const struct compose_slots *sl,
    struct compose_scratch *sc)
{
	struct compose_entry *e = g_new0(struct compose_entry, 1);
	g_autoptr(GString) subject = g_string_new(NULL);
	g_autoptr(GString) text = g_string_new(NULL);
	g_autoptr(GString) html = g_string_new(NULL);
	g_autoptr(GPtrArray) missing = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(value) marked = NULL, real = NULL;
	guint i;

	e->missing = g_ptr_array_new_with_free_func(g_free);
	if (sl->n > COMPOSE_SLOTS_MAX)
		return e;
	marked = compose_subscriber_layer(c, r, sl, TRUE);
	if (!compose_render_parts(c, marked, r->segment, 0, subject, text, html,
	    e->missing, NULL) ||
	    !compose_markers_ok(subject->str, subject->len, sl->n) ||
	    !compose_markers_ok(text->str, text->len, sl->n) ||
	    !compose_markers_ok(html->str, html->len, sl->n))
		return e;
	e->subject_len = subject->len;
	e->subject = g_strndup(subject->str, subject->len);
	compose_body_make(&e->text, text->str, text->len, c->boundary);
	compose_body_make(&e->html, html->str, html->len, c->boundary);

	/* the check: the full render for R, and the entry filled for R */
	real = compose_subscriber_layer(c, r, sl, FALSE);
	if (!compose_render_parts(c, real, r->segment, 0, sc->s[0], sc->s[1],
	    sc->s[2], missing, NULL))
		return e;
	g_string_truncate(subject, 0);
	compose_fill(subject, e->subject, e->subject_len, sl);
	g_string_truncate(text, 0);
	compose_body_text(text, &e->text, sl);
	g_string_truncate(html, 0);
	compose_body_text(html, &e->html, sl);
	if (!g_string_equal(subject, sc->s[0]) ||
	    !g_string_equal(text, sc->s[1]) ||
	    !g_string_equal(html, sc->s[2]) ||
	    missing->len != e->missing->len)
		return e;
	for (i = 0; i < missing->len; i++)
		if (strcmp(g_ptr_array_index(missing, i),
		    g_ptr_array_index(e->missing, i)) != 0)
			return e;
	e->usable = TRUE;
	return e;
}

/* compose_entry_get - the usable entry for R's shape, made if need be;
 * NULL: render the slow way */
static const struct compose_entry *
compose_entry_get(const struct composer *c,
    const struct compose_recipient *r, const struct compose_slots *sl,
    struct compose_scratch *sc)
{
	struct value *layer = compose_segment_layer(c, r->segment);
	struct compose_entry *e;

	if (layer == NULL || c->no_cache ||
	    (c->track != NULL && track_per_message(c->track)))
		return NULL;	/* (the slow way says what is wrong) */
	compose_shape(sc->key, c, layer, r, sl);
	e = g_hash_table_lookup(sc->cache, sc->key->str);
	if (e == NULL) {
		if (g_hash_table_size(sc->cache) >= COMPOSE_CACHE_MAX)
			return NULL;
		e = compose_entry_make(c, r, sl, sc);
		g_hash_table_insert(sc->cache, g_strdup(sc->key->str), e);
	}
	return e->usable ? e : NULL;
}

/* ---- built once ---- */

/* compose_ics_text - append S escaped as an RFC 5545 TEXT value */
static void
compose_ics_text(GString *out, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == ';' || *s == ',')
			g_string_append_c(out, '\\');
		if (*s == '\n') {
			g_string_append(out, "\\n");
			continue;
		}
		if (*s != '\r')
			g_string_append_c(out, *s);
	}
}

/* compose_ics_line - append LINE folded at 75 octets (never inside a
 * UTF-8 character), CRLF */
static void
compose_ics_line(GString *out, const char *line)
{
	gsize col = 0;
	const char *p = line;

	while (*p != '\0') {
		const char *next = g_utf8_next_char(p);
		gsize w = next - p;

		if (col + w > 75) {
			g_string_append(out, "\r\n ");
			col = 1;
		}
		g_string_append_len(out, p, w);
		col += w;
		p = next;
	}
	g_string_append(out, "\r\n");
}

/* compose_ics_time - a UTC DATE-TIME, or a DATE for all-day events */
static char *
compose_ics_time(gint64 t, gboolean date_only, gboolean is_end)
{
	g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(t);

	if (date_only) {
		/* the event's own day: its start was midnight in its zone,
		 * so take the calendar date of the middle of that day */
		g_autoptr(GDateTime) mid = g_date_time_add_hours(dt, is_end ?
		    -12 : 12);
		g_autoptr(GDateTime) day = is_end ?
		    g_date_time_add_days(mid, 1) : g_date_time_ref(mid);

		return g_date_time_format(day, ";VALUE=DATE:%Y%m%d");
	}
	return g_date_time_format(dt, ":%Y%m%dT%H%M%SZ");
}

/* compose_calendar - the text/calendar part (RFC 5545, METHOD:PUBLISH) */
static char *
compose_calendar(const struct composer *c)
{
	g_autoptr(GString) ics = g_string_new(NULL);
	g_autoptr(GString) line = g_string_new(NULL);
	g_autoptr(GDateTime) now = g_date_time_new_now_utc();
	g_autofree char *stamp = g_date_time_format(now, "%Y%m%dT%H%M%SZ");
	g_autofree char *fname = g_strdup(c->ann->name);
	GString *part = g_string_new(NULL);
	g_autofree char *ctype = NULL, *disp = NULL;
	guint i;

	for (char *p = fname; *p != '\0'; p++)
		if (!g_ascii_isalnum(*p) && *p != '-' && *p != '_' && *p != '.')
			*p = '-';
	compose_ics_line(ics, "BEGIN:VCALENDAR");
	compose_ics_line(ics, "VERSION:2.0");
	compose_ics_line(ics, "PRODID:-//herald//herald " HERALD_VERSION "//EN");
	compose_ics_line(ics, "CALSCALE:GREGORIAN");
	compose_ics_line(ics, "METHOD:PUBLISH");
	for (i = 0; i < c->ann->events->len; i++) {
		const struct announcement_event *ev =
		    g_ptr_array_index(c->ann->events, i);
		g_autofree char *s = compose_ics_time(ev->start, ev->all_day,
		    FALSE);
		g_autofree char *e = compose_ics_time(ev->end, ev->all_day, TRUE);

		compose_ics_line(ics, "BEGIN:VEVENT");
		g_string_printf(line, "UID:%s.%s@%s", ev->id, fname,
		    c->list->domain);
		compose_ics_line(ics, line->str);
		g_string_printf(line, "DTSTAMP:%s", stamp);
		compose_ics_line(ics, line->str);
		g_string_printf(line, "DTSTART%s", s);
		compose_ics_line(ics, line->str);
		g_string_printf(line, "DTEND%s", e);
		compose_ics_line(ics, line->str);
		g_string_assign(line, "SUMMARY:");
		compose_ics_text(line, ev->name);
		compose_ics_line(ics, line->str);
		g_string_assign(line, "LOCATION:");
		compose_ics_text(line, ev->location);
		compose_ics_line(ics, line->str);
		if (ev->url != NULL) {
			g_string_printf(line, "URL:%s", ev->url);
			compose_ics_line(ics, line->str);
			g_string_assign(line, "DESCRIPTION:Registration: ");
			compose_ics_text(line, ev->url);
			compose_ics_line(ics, line->str);
		}
		compose_ics_line(ics, "END:VEVENT");
	}
	compose_ics_line(ics, "END:VCALENDAR");
	ctype = g_strdup_printf("text/calendar; charset=utf-8; method=PUBLISH;"
	    "\r\n name=\"%s.ics\"", fname);
	disp = g_strdup_printf("Content-Disposition: attachment;"
	    " filename=\"%s.ics\"\r\n", fname);
	compose_part(part, ctype, disp, ics->str, ics->len, c->outer);
	return g_string_free(part, FALSE);
}

/* compose_boundary - a fresh boundary; "=_" cannot occur in QP or base64 */
static char *
compose_boundary(const char *what)
{
	return g_strdup_printf("=_herald_%s_%016" G_GINT64_MODIFIER "x%08x",
	    what, compose_random(), g_random_int());
}

/* compose_fixed_headers - From and the headers after Message-ID that do
 * not change per message */
static gboolean
compose_fixed_headers(struct composer *c, GError **error)
{
	const struct list_config *l = c->list;
	g_autoptr(GString) h = g_string_new(NULL);
	g_autoptr(GString) v = g_string_new(NULL);
	InternetAddressList *from;
	g_autofree char *fromtext = NULL, *label = NULL;
	const char *fromspec = l->from != NULL ? l->from : l->address;

	if (!compose_check_line("list from", fromspec, error) ||
	    !compose_check_line("list display_name", l->display_name, error))
		return FALSE;
	from = internet_address_list_parse(NULL, fromspec);
	if (from == NULL || internet_address_list_length(from) != 1) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
		    "%s: from = \"%s\" is not one address", l->file, fromspec);
		g_clear_object(&from);
		return FALSE;
	}
	fromtext = internet_address_list_to_string(from, NULL, TRUE);
	g_object_unref(from);
	g_string_truncate(h, 0);
	compose_header(h, "From", fromtext);
	c->from = g_strdup(h->str);
	g_string_truncate(h, 0);

	g_string_append(h, "MIME-Version: 1.0\r\n");
	switch (l->reply_to) {
	case REPLY_TO_LIST:
		compose_header(h, "Reply-To", l->address);
		break;
	case REPLY_TO_OWNER:
		g_string_printf(v, "%s-owner@%s", l->local, l->domain);
		compose_header(h, "Reply-To", v->str);
		break;
	case REPLY_TO_FROM:
		break;
	}
	label = compose_display_name(l->display_name != NULL ?
	    l->display_name : l->name);
	g_string_printf(v, "%s <%s.%s>", label, l->local, l->domain);
	compose_header(h, "List-Id", v->str);
	g_string_printf(v, "<mailto:%s-request@%s?subject=help>", l->local,
	    l->domain);
	compose_header(h, "List-Help", v->str);
	g_string_printf(v, "<mailto:%s-owner@%s>", l->local, l->domain);
	compose_header(h, "List-Owner", v->str);
	if (l->announce_only) {
		compose_header(h, "List-Post", "NO");
	} else {
		g_string_printf(v, "<mailto:%s>", l->address);
		compose_header(h, "List-Post", v->str);
	}
	if (l->subscribe_by_mail) {
		g_string_printf(v, "<mailto:%s-subscribe@%s?subject=subscribe>",
		    l->local, l->domain);
		compose_header(h, "List-Subscribe", v->str);
	}
	compose_header(h, "Precedence", "bulk");
	compose_header(h, COMPOSE_LOOP_HEADER, l->address);
	if (c->flags & COMPOSER_TEST)
		compose_header(h, COMPOSE_TEST_HEADER, "yes");
	c->head = g_strdup(h->str);
	return TRUE;
}

/* composer_set_campaign - see compose.h */
void
composer_set_campaign(struct composer *c, gint64 campaign_id)
{
	c->campaign_id = campaign_id;
}

/* composer_free - free C and all it holds */
void
composer_free(struct composer *c)
{
	if (c == NULL)
		return;
	if (c->common != NULL)
		value_unref(c->common);
	if (c->plain != NULL)
		value_unref(c->plain);
	if (c->layers != NULL)
		g_hash_table_unref(c->layers);
	g_strfreev(c->segment_names);
	g_free(c->head);
	g_free(c->from);
	g_free(c->boundary);
	g_free(c->outer);
	g_free(c->calendar);
	dkim_signer_free(c->signer);
	track_links_free(c->track);
	if (c->tz != NULL)
		g_time_zone_unref(c->tz);
	g_free(c);
}

/* composer_new - see compose.h */
struct composer *
composer_new(const struct announcement *ann, const struct list_config *list,
    const struct token_key *key, const char *const *campaign_segments,
    int flags, GError **error)
{
	g_autoptr(composer) c = g_new0(struct composer, 1);
	g_autoptr(GString) probe = g_string_new(NULL);
	GPtrArray *names = g_ptr_array_new();
	struct subscriber sample = { 0 };
	guint i;

	static gint serials;

	if (!announcement_check_audience(ann, list, error)) {
		g_ptr_array_unref(names);
		return NULL;
	}
	compose_gmime_init();
	c->serial = (guint)g_atomic_int_add(&serials, 1) + 1;
	/* the tests compare the cache's messages with the slow way's */
	c->no_cache = g_strcmp0(g_getenv("HERALD_RENDER_CACHE"), "0") == 0;
	c->ann = ann;
	c->list = list;
	c->key = *key;
	c->flags = flags;
	c->tz = g_time_zone_new_local();
	for (i = 0; list->segments != NULL && i < list->segments->len; i++) {
		const struct segment_def *d = g_ptr_array_index(list->segments, i);

		g_ptr_array_add(names, g_strdup(d->name));
	}
	g_ptr_array_add(names, NULL);
	c->segment_names = (char **)g_ptr_array_free(names, FALSE);
	c->common = compose_common(c);
	c->plain = compose_layer(c, NULL);
	c->layers = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
	    (GDestroyNotify)value_unref);
	if (campaign_segments == NULL)
		campaign_segments = (const char *const *)c->segment_names;
	for (i = 0; campaign_segments[i] != NULL; i++) {
		if (config_segment(list, campaign_segments[i]) == NULL) {
			g_set_error(error, HERALD_ERROR, HERALD_ERROR_USAGE,
			    "list %s has no segment \"%s\"", list->name,
			    campaign_segments[i]);
			return NULL;
		}
		g_hash_table_replace(c->layers, g_strdup(campaign_segments[i]),
		    compose_layer(c, campaign_segments[i]));
	}
	if (!compose_fixed_headers(c, error))
		return NULL;
	c->boundary = compose_boundary("alt");
	if (ann->calendar && ann->events->len > 0 &&
	    !(flags & COMPOSER_NO_CALENDAR)) {
		c->outer = compose_boundary("mix");
		c->calendar = compose_calendar(c);
	}
	/* a list that signs: its keys are loaded and checked here, so a
	 * missing or bad key stops a send before it starts */
	if (list->dkim != NULL && !(flags & COMPOSER_NO_SIGN) &&
	    (c->signer = dkim_signer_new(list->dkim, error)) == NULL)
		return NULL;
	/* one render now, so a template or data error stops us before any
	 * message is made (strict mode judges real subscribers only) */
	sample.email = (char *)"sample@example.invalid";
	sample.name = (char *)"Sample Subscriber";
	{
		int saved = c->flags;
		gboolean ok;

		c->flags &= ~COMPOSER_STRICT;
		ok = composer_render(c, &sample, NULL, NULL, 0, probe, NULL,
		    NULL, error);
		c->flags = saved;
		if (!ok)
			return NULL;
	}
	return g_steal_pointer(&c);
}

/* compose_purpose - P, as a test token for a test copy */
static enum token_purpose
compose_purpose(const struct composer *c, enum token_purpose p)
{
	return (c->flags & COMPOSER_TEST) ?
	    (enum token_purpose)(p | TOKEN_TEST) : p;
}

/* compose_recipient_clear - the per-message strings */
static void
compose_recipient_clear(struct compose_recipient *r)
{
	g_free(r->unsub_token);
	g_free(r->address);
}

/* compose_texts - the subject, text and HTML for R: from the cache
 * entry E when there is one (its parts are written by compose_body),
 * else rendered; the subject checked and marked for a test copy */
static gboolean
compose_texts(const struct composer *c, struct compose_recipient *r,
    const struct compose_slots *slots, struct compose_scratch *scratch,
    const struct compose_entry *e, GError **error)
{
	GString *subject = scratch->s[0], *text = scratch->s[1];
	GString *html = scratch->s[2];
	gboolean ok;

	/* making an entry used the buffers */
	g_string_truncate(subject, 0);
	g_string_truncate(text, 0);
	g_string_truncate(html, 0);
	if (e != NULL) {
		compose_fill(subject, e->subject, e->subject_len, slots);
		ok = compose_missing_error(c, e->missing, error);
	} else {
		g_autoptr(value) layer = compose_subscriber_layer(c, r, slots,
		    FALSE);
		g_autoptr(GPtrArray) missing = c->flags & COMPOSER_STRICT ?
		    g_ptr_array_new_with_free_func(g_free) : NULL;

		ok = compose_render_parts(c, layer, r->segment, r->delivery,
		    subject, text,
		    html, missing, error) &&
		    compose_missing_error(c, missing, error);
	}
	if (!ok || !compose_clean_subject(subject, error))
		return FALSE;
	if (c->flags & COMPOSER_TEST)
		g_string_prepend(subject, COMPOSE_TEST_SUBJECT);
	return TRUE;
}

/* compose_head - the message's header: From and the list's fixed
 * headers (c->head), To, Subject, Date, a Message-ID for DELIVERY_ID
 * (*MSGID, the caller's) and R's List-Unsubscribe */
static void
compose_head(GString *out, const struct composer *c,
    const struct compose_recipient *r, const GString *subject,
    gint64 delivery_id, char **msgid)
{
	const struct list_config *l = c->list;
	g_autofree char *addr = NULL, *enc = NULL;
	g_autoptr(GString) v = g_string_new(NULL);
	guint32 nonce = (guint32)compose_random();
	char mac[TOKEN_MAC_CHARS + 1];

	g_string_append(out, c->from);
	if (r->sub->name != NULL && *r->sub->name != '\0') {
		g_autofree char *phrase = compose_display_name(r->sub->name);

		addr = g_strdup_printf("%s <%s>", phrase, r->address);
	} else
		addr = g_strdup(r->address);
	compose_header(out, "To", addr);
	if (compose_is_ascii(subject->str) &&
	    !compose_has_long_word(subject->str))
		compose_header(out, "Subject", subject->str);
	else {
		enc = g_mime_utils_header_encode_text(NULL, subject->str, "utf-8");
		compose_header(out, "Subject", enc);
	}
	compose_date(out, c->tz);
	token_message_mac(&c->key, delivery_id, nonce, mac);
	*msgid = g_strdup_printf(COMPOSE_MSGID_PREFIX "%" G_GINT64_FORMAT
	    ".%08x.%s@%s", delivery_id, nonce, mac, l->domain);
	g_string_append_printf(out, "Message-ID: <%s>\r\n", *msgid);
	g_string_append(out, c->head);
	g_string_printf(v, "<mailto:%s-unsubscribe+%s@%s?subject="
	    "unsubscribe>", l->local, r->unsub_token, l->domain);
	if (l->unsubscribe_base_url != NULL)
		g_string_append_printf(v, ", <%s%s>", l->unsubscribe_base_url,
		    r->unsub_token);
	compose_header(out, "List-Unsubscribe", v->str);
	if (l->unsubscribe_base_url != NULL)
		compose_header(out, "List-Unsubscribe-Post",
		    "List-Unsubscribe=One-Click");
	/* Gmail's feedback loop groups complaints by it; signed (h=) */
	if (l->feedback_id != NULL)
		g_string_append_printf(out, "Feedback-ID: %" G_GINT64_FORMAT
		    ":%s:%s:%s\r\n", c->campaign_id, r->segment != NULL ?
		    r->segment : "none", l->name, l->feedback_id);
}

/* compose_body - the MIME body: text and HTML alternatives (from the
 * cache entry E, else from the scratch buffers), and the calendar */
static void
compose_body(GString *out, const struct composer *c,
    const struct compose_entry *e, const struct compose_slots *slots,
    struct compose_scratch *scratch)
{
	const char *inner = c->boundary;
	GString *text = scratch->s[1], *html = scratch->s[2];

	if (c->outer != NULL) {
		g_string_append_printf(out, "Content-Type: multipart/mixed;\r\n"
		    " boundary=\"%s\"\r\n\r\n"
		    "This is a MIME message: text, HTML and a calendar entry.\r\n"
		    "--%s\r\n", c->outer, c->outer);
		g_string_append_printf(out, "Content-Type: multipart/alternative;"
		    "\r\n boundary=\"%s\"\r\n\r\n", inner);
	} else {
		g_string_append_printf(out, "Content-Type: multipart/alternative;"
		    "\r\n boundary=\"%s\"\r\n\r\n"
		    "This is a MIME message: a text and an HTML version.\r\n",
		    inner);
	}
	g_string_append_printf(out, "--%s\r\n", inner);
	if (e != NULL)
		compose_cached_part(out, "text/plain; charset=utf-8", &e->text,
		    slots, scratch, inner);
	else
		compose_part(out, "text/plain; charset=utf-8", NULL, text->str,
		    text->len, inner);
	g_string_append_printf(out, "--%s\r\n", inner);
	if (e != NULL)
		compose_cached_part(out, "text/html; charset=utf-8", &e->html,
		    slots, scratch, inner);
	else
		compose_part(out, "text/html; charset=utf-8", NULL, html->str,
		    html->len, inner);
	g_string_append_printf(out, "--%s--\r\n", inner);
	if (c->outer != NULL) {
		g_string_append_printf(out, "--%s\r\n", c->outer);
		g_string_append(out, c->calendar);
		g_string_append_printf(out, "--%s--\r\n", c->outer);
	}
}

/* composer_render - see compose.h */
gboolean
composer_render(const struct composer *c, const struct subscriber *sub,
    const char *segment, const char *const *matched, gint64 delivery_id,
    GString *out, char **envelope_from, char **message_id, GError **error)
{
	const struct list_config *l = c->list;
	struct compose_recipient r = { sub, segment, matched, NULL, NULL,
	    delivery_id };
	struct compose_scratch *scratch = compose_scratch_get(c);
	struct compose_slots slots;
	const struct compose_entry *e;
	g_autofree char *msgid = NULL, *bounce = NULL;
	gsize start = out->len;
	gboolean ok;

	if (!compose_check_subscriber(sub, error))
		return FALSE;
	r.address = compose_address(sub->email, error);
	if (r.address == NULL) {
		g_prefix_error(error, "subscriber %" G_GINT64_FORMAT ": ", sub->id);
		return FALSE;
	}
	r.unsub_token = token_make(&c->key, compose_purpose(c,
	    TOKEN_UNSUBSCRIBE), l->name, sub->id, 0);
	compose_slots_make(c, &r, scratch->idtext, &slots);
	e = compose_entry_get(c, &r, &slots, scratch);
	ok = compose_texts(c, &r, &slots, scratch, e, error);
	if (ok) {
		compose_head(out, c, &r, scratch->s[0], delivery_id, &msgid);
		compose_body(out, c, e, &slots, scratch);
		/* the signature covers the bytes exactly as they leave */
		if (c->signer != NULL &&
		    !dkim_signer_sign(c->signer, out, start, error)) {
			g_string_truncate(out, start);
			ok = FALSE;
		}
	}
	compose_slots_clear(&slots);
	compose_recipient_clear(&r);
	if (!ok)
		return FALSE;
	bounce = token_make(&c->key, compose_purpose(c, TOKEN_BOUNCE), l->name,
	    sub->id, delivery_id);
	if (envelope_from != NULL)
		*envelope_from = g_strdup_printf("%s-bounces+%s@%s", l->local,
		    bounce, l->domain);
	if (message_id != NULL)
		*message_id = g_steal_pointer(&msgid);
	return TRUE;
}

/* composer_subject - see compose.h */
char *
composer_subject(const struct composer *c, const struct subscriber *sub,
    const char *segment, const char *const *matched, GError **error)
{
	struct compose_recipient r = { sub, segment, matched, NULL, NULL, 0 };
	g_autoptr(GString) subject = g_string_new(NULL);
	g_autoptr(GString) idtext = g_string_new(NULL);
	g_autoptr(GPtrArray) missing = c->flags & COMPOSER_STRICT ?
	    g_ptr_array_new_with_free_func(g_free) : NULL;
	g_autoptr(value) layer = NULL;
	struct compose_slots slots;
	gboolean ok;

	if (!compose_check_subscriber(sub, error))
		return NULL;
	r.unsub_token = token_make(&c->key, compose_purpose(c,
	    TOKEN_UNSUBSCRIBE), c->list->name, sub->id, 0);
	compose_slots_make(c, &r, idtext, &slots);
	layer = compose_subscriber_layer(c, &r, &slots, FALSE);
	ok = compose_render_parts(c, layer, segment, 0, subject, NULL, NULL,
	    missing, error) && compose_missing_error(c, missing, error) &&
	    compose_clean_subject(subject, error);
	if (ok && (c->flags & COMPOSER_TEST))
		g_string_prepend(subject, COMPOSE_TEST_SUBJECT);
	compose_slots_clear(&slots);
	compose_recipient_clear(&r);
	return ok ? g_string_free(g_steal_pointer(&subject), FALSE) : NULL;
}

/* compose_message_id_delivery - see compose.h */
gboolean
compose_message_id_delivery(const char *msgid, const char *domain,
    const struct token_key *key, gint64 *delivery_id)
{
	char mac[TOKEN_MAC_CHARS + 1], *end;
	const char *p, *at;
	guint32 nonce;
	guint diff = 0, i;
	gint64 id;

	if (msgid == NULL || key == NULL)
		return FALSE;
	while (*msgid == ' ' || *msgid == '\t' || *msgid == '<')
		msgid++;
	if (!g_str_has_prefix(msgid, COMPOSE_MSGID_PREFIX))
		return FALSE;
	p = msgid + strlen(COMPOSE_MSGID_PREFIX);
	if (!g_ascii_isdigit(*p))
		return FALSE;
	id = g_ascii_strtoll(p, &end, 10);
	if (*end != '.' || id < 0)
		return FALSE;
	p = end + 1;
	if (strspn(p, "0123456789abcdefABCDEF") != 8 || p[8] != '.')
		return FALSE;
	nonce = (guint32)g_ascii_strtoull(p, NULL, 16);
	p += 9;
	at = strchr(p, '@');
	if (at == NULL || at - p != TOKEN_MAC_CHARS)
		return FALSE;
	if (domain != NULL && (g_ascii_strncasecmp(at + 1, domain,
	    strlen(domain)) != 0 || (at[1 + strlen(domain)] != '\0' &&
	    at[1 + strlen(domain)] != '>')))
		return FALSE;
	token_message_mac(key, id, nonce, mac);
	for (i = 0; i < TOKEN_MAC_CHARS; i++)
		diff |= (guint)(mac[i] ^ g_ascii_tolower(p[i]));
	if (diff != 0)
		return FALSE;
	if (delivery_id != NULL)
		*delivery_id = id;
	return TRUE;
}

/* composer_key - see compose.h */
const struct token_key *
composer_key(const struct composer *c)
{
	return &c->key;
}

/* composer_set_tracking - see compose.h */
void
composer_set_tracking(struct composer *c, struct track_links *t)
{
	track_links_free(c->track);
	c->track = t;
}

/* compose_links_of - the links of SEGMENT's copy for SAMPLE into SET */
static gboolean
compose_links_of(const struct composer *c, const char *segment,
    const struct subscriber *sample, GHashTable *set, GError **error)
{
	struct compose_recipient r = { sample, segment, NULL, NULL, NULL, 0 };
	g_autoptr(GString) text = g_string_new(NULL);
	g_autoptr(GString) html = g_string_new(NULL);
	g_autoptr(GString) idtext = g_string_new(NULL);
	g_autoptr(value) layer = NULL;
	g_autofree char *base = g_strdup_printf("%s/",
	    c->list->track_base_url != NULL ? c->list->track_base_url : "");
	struct compose_slots slots;
	const char *skip[6];
	gboolean ok;

	r.unsub_token = token_make(&c->key, TOKEN_UNSUBSCRIBE, c->list->name,
	    sample->id, 0);
	skip[0] = r.unsub_token;
	skip[1] = sample->email;
	skip[2] = "sample%40example.invalid";
	skip[3] = base;
	skip[4] = c->list->unsubscribe_base_url;
	skip[5] = NULL;
	compose_slots_make(c, &r, idtext, &slots);
	layer = compose_subscriber_layer(c, &r, &slots, FALSE);
	ok = compose_render_parts(c, layer, segment, 0, NULL, text, html, NULL,
	    error);
	if (ok) {
		track_collect(text->str, text->len, FALSE, segment, skip, set);
		track_collect(html->str, html->len, TRUE, segment, skip, set);
	}
	compose_slots_clear(&slots);
	compose_recipient_clear(&r);
	return ok;
}

/* composer_links - see compose.h */
GHashTable *
composer_links(const struct composer *c, GError **error)
{
	g_autoptr(GHashTable) set = g_hash_table_new_full(g_str_hash,
	    g_str_equal, g_free, NULL);
	struct subscriber sample = { 0 };
	GHashTableIter it;
	gpointer k;

	sample.email = (char *)"sample@example.invalid";
	sample.name = (char *)"Sample Subscriber";
	if (!compose_links_of(c, NULL, &sample, set, error))
		return NULL;
	g_hash_table_iter_init(&it, c->layers);
	while (g_hash_table_iter_next(&it, &k, NULL))
		if (!compose_links_of(c, k, &sample, set, error))
			return NULL;
	return g_steal_pointer(&set);
}
