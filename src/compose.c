/*
 * compose.c - render an announcement for one subscriber and write the
 * message as the bytes the SMTP relay gets (CRLF, MIME, list headers).
 *
 * Design. Everything that is the same for every recipient is done once in
 * composer_new(): the data as seen by each campaign segment (lists whose
 * items carry an `audience` come out with that segment's items first, each
 * item flagged `for_you`), the `list` map, the From, Reply-To, List-Id and
 * other fixed headers (through GMime's address and RFC 2047 encoders), the
 * MIME boundaries, and the whole text/calendar part. A message then costs
 * one small map for the subscriber (subscriber, segments, unsubscribe
 * links), three template renders, and the encoding of two parts, written
 * straight into the caller's GString: no GMime objects per message. The
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

/* compose_display_name - NAME as an RFC 5322 display name: as is when
 * it is plain words, quoted when it has specials, RFC 2047 when not ASCII */
static char *
compose_display_name(const char *name)
{
	const char *p;

	if (!compose_is_ascii(name))
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

/* compose_part - one leaf part: its headers, a blank line, the body in
 * the best encoding (CRLF line ends, ending in CRLF). TEXT has LF or CRLF
 * line ends. For base64, line ends are made CRLF first (RFC 2045 says a
 * text type's canonical form has CRLF). */
static void
compose_part(GString *out, const char *ctype, const char *extra,
    const char *text, gsize len, const char *boundary)
{
	gsize eight = compose_count8(text, len), mark = out->len;
	enum compose_cte cte;

	if (eight == 0) {
		g_string_append_printf(out, "Content-Type: %s\r\n%s"
		    "Content-Transfer-Encoding: 7bit\r\n\r\n", ctype,
		    extra != NULL ? extra : "");
		if (compose_7bit(out, text, len, boundary))
			return;
		g_string_truncate(out, mark);
		cte = CTE_QP;
	} else {
		cte = eight * 100 < len * 17 ? CTE_QP : CTE_BASE64;
	}
	g_string_append_printf(out, "Content-Type: %s\r\n%s"
	    "Content-Transfer-Encoding: %s\r\n\r\n", ctype,
	    extra != NULL ? extra : "", cte == CTE_QP ? "quoted-printable" :
	    "base64");
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

/* compose_view - V as SEGMENT sees it: a copy in which every list of maps
 * with an `audience` has the items for SEGMENT first (stable), every such
 * item a `for_you` flag, and the list's key X a sibling X_for_you: the
 * first item when it is for SEGMENT, else false. Strings and numbers are
 * shared. */
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
		guint i, n = value_list_length(v);
		int pass;

		for (pass = 0; pass < 2; pass++)
			for (i = 0; i < n; i++) {
				struct value *item = value_list_index(v, i);
				struct value *aud = value_kind(item) == VALUE_MAP ?
				    value_map_get(item, "audience") : NULL;
				gboolean mine = compose_in_audience(aud, segment);

				if ((pass == 0) == mine)
					value_list_append(list,
					    compose_view(item, segment));
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
	value_map_set(list, "announce_only", value_new_bool(l->announce_only));
	value_map_set(common, "list", list);
	value_map_set(common, "kind", value_new_string(c->ann->kind));
	value_map_set(common, "announcement", value_new_string(c->ann->name));
	return common;
}

/* compose_first_name - the first word of NAME, or "" */
static struct value *
compose_first_name(const char *name)
{
	const char *p, *end;

	if (name == NULL)
		return value_new_string("");
	for (p = name; *p == ' ' || *p == '\t'; p++)
		;
	for (end = p; *end != '\0' && *end != ' ' && *end != '\t'; end++)
		;
	return value_new_string_len(p, end - p);
}

struct compose_recipient {
	const struct subscriber *sub;
	const char *segment;
	const char *const *matched;
	char *unsub_token;
	char *address;		/* the email, domain in ASCII */
};

/* compose_subscriber_layer - the per-message map */
static struct value *
compose_subscriber_layer(const struct composer *c,
    const struct compose_recipient *r)
{
	const struct list_config *l = c->list;
	struct value *top = value_new_map(), *s = value_new_map();
	struct value *attrs = value_new_map(), *flags = value_new_map();
	GHashTableIter it;
	gpointer k, v;
	char **n;

	value_map_set(s, "id", value_new_number(r->sub->id));
	value_map_set(s, "email", value_new_string(r->sub->email));
	value_map_set(s, "name", value_new_string(r->sub->name != NULL ?
	    r->sub->name : ""));
	value_map_set(s, "first_name", compose_first_name(r->sub->name));
	if (r->sub->attrs != NULL) {
		g_hash_table_iter_init(&it, r->sub->attrs);
		while (g_hash_table_iter_next(&it, &k, &v))
			value_map_set(attrs, k, value_new_string(v));
	}
	value_map_set(s, "attributes", attrs);
	value_map_set(top, "subscriber", s);
	for (n = c->segment_names; *n != NULL; n++)
		value_map_set(flags, *n, value_new_bool(r->matched != NULL &&
		    g_strv_contains((const char *const *)r->matched, *n)));
	value_map_set(top, "segments", flags);
	compose_set_string(top, "unsubscribe_mailto", "%s-unsubscribe+%s@%s",
	    l->local, r->unsub_token, l->domain);
	if (l->unsubscribe_base_url != NULL)
		compose_set_string(top, "unsubscribe_url", "%s%s",
		    l->unsubscribe_base_url, r->unsub_token);
	else
		value_map_set(top, "unsubscribe_url", value_new_string(""));
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

/* compose_render_parts - the three renders; SUBJECT, TEXT, HTML appended
 * (any may be NULL to skip it). Strict: every missing name is an error. */
static gboolean
compose_render_parts(const struct composer *c, struct value *sublayer,
    const char *segment, GString *subject, GString *text, GString *html,
    GError **error)
{
	struct value *stack[3];
	g_autoptr(GPtrArray) missing = NULL;

	stack[0] = c->common;
	stack[1] = segment != NULL ? g_hash_table_lookup(c->layers, segment) :
	    c->plain;
	stack[2] = sublayer;
	if (stack[1] == NULL) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_USAGE,
		    "segment \"%s\" is not one of this campaign's", segment);
		return FALSE;
	}
	if (c->flags & COMPOSER_STRICT)
		missing = g_ptr_array_new_with_free_func(g_free);
	if ((subject != NULL && !template_render(c->ann->set, "subject", stack,
	    3, TEMPLATE_ESCAPE_NONE, subject, missing, error)) ||
	    (text != NULL && !template_render(c->ann->set, "text", stack, 3,
	    TEMPLATE_ESCAPE_NONE, text, missing, error)) ||
	    (html != NULL && !template_render(c->ann->set, "html", stack, 3,
	    TEMPLATE_ESCAPE_HTML, html, missing, error)))
		return FALSE;
	if (missing != NULL && missing->len > 0) {
		GString *names = g_string_new(NULL);
		guint i;

		for (i = 0; i < missing->len; i++)
			g_string_append_printf(names, "%s%s", i ? ", " : "",
			    (char *)g_ptr_array_index(missing, i));
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_DATA,
		    "%s: missing variables (--strict): %s", c->ann->name,
		    names->str);
		g_string_free(names, TRUE);
		return FALSE;
	}
	return TRUE;
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
	c->head = g_strdup(h->str);
	return TRUE;
}

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
	if (c->tz != NULL)
		g_time_zone_unref(c->tz);
	g_free(c);
}

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

	compose_gmime_init();
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

/* Per-thread buffers for the rendered parts: a message then allocates
 * nothing for them once a thread's buffers have grown to size. They are
 * freed when the thread ends. */
struct compose_scratch {
	GString *s[3];		/* subject, text, html */
};

/* compose_scratch_free - at thread exit */
static void
compose_scratch_free(gpointer p)
{
	struct compose_scratch *sc = p;
	int i;

	for (i = 0; i < 3; i++)
		g_string_free(sc->s[i], TRUE);
	g_free(sc);
}

static GPrivate compose_scratch_key = G_PRIVATE_INIT(compose_scratch_free);

/* compose_scratch_get - this thread's buffers, emptied */
static struct compose_scratch *
compose_scratch_get(void)
{
	struct compose_scratch *sc = g_private_get(&compose_scratch_key);
	int i;

	if (sc == NULL) {
		sc = g_new(struct compose_scratch, 1);
		sc->s[0] = g_string_sized_new(256);
		sc->s[1] = g_string_sized_new(16384);
		sc->s[2] = g_string_sized_new(32768);
		g_private_set(&compose_scratch_key, sc);
	}
	for (i = 0; i < 3; i++)
		g_string_truncate(sc->s[i], 0);
	return sc;
}

/* compose_recipient_clear - the per-message strings */
static void
compose_recipient_clear(struct compose_recipient *r)
{
	g_free(r->unsub_token);
	g_free(r->address);
}

gboolean
composer_render(const struct composer *c, const struct subscriber *sub,
    const char *segment, const char *const *matched, gint64 delivery_id,
    GString *out, char **envelope_from, char **message_id, GError **error)
{
	const struct list_config *l = c->list;
	struct compose_recipient r = { sub, segment, matched, NULL, NULL };
	struct compose_scratch *scratch = compose_scratch_get();
	GString *subject = scratch->s[0], *text = scratch->s[1];
	GString *html = scratch->s[2];
	g_autoptr(value) layer = NULL;
	g_autofree char *msgid = NULL, *bounce = NULL, *enc = NULL;
	const char *inner = c->boundary;

	if (!compose_check_subscriber(sub, error))
		return FALSE;
	r.address = compose_address(sub->email, error);
	if (r.address == NULL) {
		g_prefix_error(error, "subscriber %" G_GINT64_FORMAT ": ", sub->id);
		return FALSE;
	}
	r.unsub_token = token_make(&c->key, TOKEN_UNSUBSCRIBE, l->name, sub->id, 0);
	layer = compose_subscriber_layer(c, &r);
	if (!compose_render_parts(c, layer, segment, subject, text, html, error) ||
	    !compose_clean_subject(subject, error)) {
		compose_recipient_clear(&r);
		return FALSE;
	}

	/* headers */
	g_string_append(out, c->from);
	{
		g_autofree char *addr = NULL;

		if (sub->name != NULL && *sub->name != '\0') {
			g_autofree char *phrase = compose_display_name(sub->name);

			addr = g_strdup_printf("%s <%s>", phrase, r.address);
		} else {
			addr = g_strdup(r.address);
		}
		compose_header(out, "To", addr);
	}
	if (compose_is_ascii(subject->str))
		compose_header(out, "Subject", subject->str);
	else {
		enc = g_mime_utils_header_encode_text(NULL, subject->str, "utf-8");
		compose_header(out, "Subject", enc);
	}
	compose_date(out, c->tz);
	msgid = g_strdup_printf(COMPOSE_MSGID_PREFIX "%" G_GINT64_FORMAT
	    ".%016" G_GINT64_MODIFIER "x@%s", delivery_id, compose_random(),
	    l->domain);
	g_string_append_printf(out, "Message-ID: <%s>\r\n", msgid);
	g_string_append(out, c->head);
	{
		g_autoptr(GString) v = g_string_new(NULL);

		g_string_printf(v, "<mailto:%s-unsubscribe+%s@%s?subject="
		    "unsubscribe>", l->local, r.unsub_token, l->domain);
		if (l->unsubscribe_base_url != NULL)
			g_string_append_printf(v, ", <%s%s>",
			    l->unsubscribe_base_url, r.unsub_token);
		compose_header(out, "List-Unsubscribe", v->str);
		if (l->unsubscribe_base_url != NULL)
			compose_header(out, "List-Unsubscribe-Post",
			    "List-Unsubscribe=One-Click");
	}

	/* body */
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
	compose_part(out, "text/plain; charset=utf-8", NULL, text->str,
	    text->len, inner);
	g_string_append_printf(out, "--%s\r\n", inner);
	compose_part(out, "text/html; charset=utf-8", NULL, html->str,
	    html->len, inner);
	g_string_append_printf(out, "--%s--\r\n", inner);
	if (c->outer != NULL) {
		g_string_append_printf(out, "--%s\r\n", c->outer);
		g_string_append(out, c->calendar);
		g_string_append_printf(out, "--%s--\r\n", c->outer);
	}

	bounce = token_make(&c->key, TOKEN_BOUNCE, l->name, sub->id,
	    delivery_id);
	if (envelope_from != NULL)
		*envelope_from = g_strdup_printf("%s-bounces+%s@%s", l->local,
		    bounce, l->domain);
	if (message_id != NULL)
		*message_id = g_steal_pointer(&msgid);
	compose_recipient_clear(&r);
	return TRUE;
}

char *
composer_subject(const struct composer *c, const struct subscriber *sub,
    const char *segment, const char *const *matched, GError **error)
{
	struct compose_recipient r = { sub, segment, matched, NULL, NULL };
	g_autoptr(GString) subject = g_string_new(NULL);
	g_autoptr(value) layer = NULL;
	gboolean ok;

	if (!compose_check_subscriber(sub, error))
		return NULL;
	r.unsub_token = token_make(&c->key, TOKEN_UNSUBSCRIBE, c->list->name,
	    sub->id, 0);
	layer = compose_subscriber_layer(c, &r);
	ok = compose_render_parts(c, layer, segment, subject, NULL, NULL,
	    error) && compose_clean_subject(subject, error);
	compose_recipient_clear(&r);
	return ok ? g_string_free(g_steal_pointer(&subject), FALSE) : NULL;
}

gboolean
compose_message_id_delivery(const char *msgid, const char *domain,
    gint64 *delivery_id)
{
	const char *p, *at;
	char *end;
	gint64 id;

	if (msgid == NULL)
		return FALSE;
	while (*msgid == ' ' || *msgid == '\t' || *msgid == '<')
		msgid++;
	if (!g_str_has_prefix(msgid, COMPOSE_MSGID_PREFIX))
		return FALSE;
	p = msgid + strlen(COMPOSE_MSGID_PREFIX);
	if (!g_ascii_isdigit(*p))
		return FALSE;
	id = g_ascii_strtoll(p, &end, 10);
	if (*end != '.')
		return FALSE;
	at = strchr(end, '@');
	if (at == NULL || strspn(end + 1, "0123456789abcdef") !=
	    (gsize)(at - end - 1) || at - end - 1 != 16)
		return FALSE;
	if (domain != NULL && (g_ascii_strncasecmp(at + 1, domain,
	    strlen(domain)) != 0 || (at[1 + strlen(domain)] != '\0' &&
	    at[1 + strlen(domain)] != '>')))
		return FALSE;
	if (delivery_id != NULL)
		*delivery_id = id;
	return TRUE;
}
