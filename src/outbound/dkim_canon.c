/*
 * dkim_canon.c - relaxed/relaxed canonicalization for DKIM (see
 * dkim_canon.h): one pass over the body, runs of it passed on uncopied.
 *
 * The body pass keeps SPAN, the start of input bytes that are already in
 * canonical form and not yet passed on. Text bytes and the CRLF of a line
 * with text extend it; it is cut (the bytes before passed on) where the
 * output differs from the input: a WSP run other than a single space
 * becomes one space, WSP before a CRLF goes, and the CRLF of an empty
 * line is held back (counted in EMPTY) until text follows, since empty
 * lines at the end of the body are dropped. A composed message has few
 * such places, so most of a body goes to the digest in a handful of
 * calls.
 *
 * Must stay true: every byte of input is looked at once; chunk borders
 * change nothing (a WSP run or a CR at a chunk's end is carried over in
 * the state, see dkim_canon_body).
 */
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "dkim_canon.h"

#define DKIM_WSP(c)	((c) == ' ' || (c) == '\t')

/* dkim_canon_put - pass on [FROM, TO) when it is not empty */
static inline void
dkim_canon_put(struct dkim_canon_body *b, const guchar *from,
    const guchar *to)
{
	if (to > from)
		b->sink(b->data, from, (gsize)(to - from));
}

/* dkim_canon_plain - past the plain text at P (before END), bytes whose
 * canonical form is themselves while the line has text: no tab; a space
 * only before a byte above a space; a CR only in a CRLF followed by a
 * byte above a space (a line with text ends, the next one starts with
 * text). Sixteen at a time where SSE2 is there, then one by one. Returns
 * where the first byte that needs a look is. */
static inline const guchar *
dkim_canon_plain(const guchar *p, const guchar *end)
{
#ifdef __SSE2__
	const __m128i sp = _mm_set1_epi8(' '), tab = _mm_set1_epi8('\t');
	const __m128i cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n');
	const __m128i above = _mm_set1_epi8('!');

	while (end - p >= 18) {
		__m128i a = _mm_loadu_si128((const __m128i *)p);
		__m128i b = _mm_loadu_si128((const __m128i *)(p + 1));
		__m128i c = _mm_loadu_si128((const __m128i *)(p + 2));
		__m128i bwsp = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(b, sp),
		    _mm_cmpeq_epi8(b, tab)), _mm_cmpeq_epi8(b, cr));
		/* LF, then a byte of at least '!' (unsigned) */
		__m128i eol = _mm_and_si128(_mm_cmpeq_epi8(b, lf),
		    _mm_cmpeq_epi8(_mm_max_epu8(c, above), c));
		__m128i bad = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(a, tab),
		    _mm_andnot_si128(eol, _mm_cmpeq_epi8(a, cr))),
		    _mm_and_si128(_mm_cmpeq_epi8(a, sp), bwsp));
		int m = _mm_movemask_epi8(bad);

		if (m != 0)
			return p + __builtin_ctz((unsigned int)m);
		p += 16;
	}
#endif
	while (p < end) {
		if (*p > ' ')
			p++;
		else if (*p == ' ' && end - p > 1 && p[1] > ' ')
			p += 2;
		else if (*p == '\r' && end - p > 2 && p[1] == '\n' &&
		    p[2] > ' ')
			p += 3;
		else
			break;
	}
	return p;
}

/* dkim_canon_body_init - see dkim_canon.h */
void
dkim_canon_body_init(struct dkim_canon_body *b, dkim_canon_sink sink,
    gpointer data)
{
	memset(b, 0, sizeof *b);
	b->sink = sink;
	b->data = data;
}

/* dkim_canon_empties - the held-back CRLFs of empty lines, now that text
 * follows them */
static void
dkim_canon_empties(struct dkim_canon_body *b)
{
	static const char crlfs[] = "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n";

	while (b->empty > 0) {
		guint n = MIN(b->empty, (guint)(sizeof crlfs - 1) / 2);

		b->sink(b->data, crlfs, n * 2);
		b->empty -= n;
	}
}

/* dkim_canon_text - text starts at Q, after the canonical bytes
 * [SPAN, VEND) and a WSP run [VEND, Q) (RUN: one is pending, maybe from
 * an earlier chunk; SIMPLE: it is a single space inside this chunk).
 * Returns where the new span starts. */
static const guchar *
dkim_canon_text(struct dkim_canon_body *b, const guchar *span,
    const guchar *vend, const guchar *q, gboolean run, gboolean simple)
{
	if (!b->text && b->empty > 0) {
		dkim_canon_put(b, span, vend);
		dkim_canon_empties(b);
		span = vend;
	}
	if (run && !simple) {
		dkim_canon_put(b, span, vend);
		b->sink(b->data, " ", 1);
		span = q;
	}
	b->text = TRUE;
	b->any = TRUE;
	b->wsp = FALSE;
	return span;
}

/* dkim_canon_eol - a CRLF at P ends a line whose canonical bytes are
 * [SPAN, VEND) (WSP after VEND is dropped); returns the new span */
static const guchar *
dkim_canon_eol(struct dkim_canon_body *b, const guchar *span,
    const guchar *vend, const guchar *p)
{
	if (b->text) {
		/* a line with text: its CRLF is passed on, with the span
		 * when nothing lies between */
		if (vend != p) {
			dkim_canon_put(b, span, vend);
			span = p;
		}
	} else {
		dkim_canon_put(b, span, vend);
		b->empty++;
		span = p + 2;
	}
	b->text = FALSE;
	b->wsp = FALSE;
	return span;
}

/* dkim_canon_carried_cr - the chunk at P (not empty) follows one that
 * ended in a CR: a line end when P starts with LF, else the CR was text.
 * Returns how many bytes of P were used. */
static gsize
dkim_canon_carried_cr(struct dkim_canon_body *b, const guchar *p)
{
	b->cr = FALSE;
	if (*p == '\n') {
		if (b->text)
			b->sink(b->data, "\r\n", 2);
		else
			b->empty++;
		b->text = FALSE;
		b->wsp = FALSE;
		return 1;
	}
	(void)dkim_canon_text(b, p, p, p, b->wsp, FALSE);
	b->sink(b->data, "\r", 1);
	return 0;
}

/* dkim_canon_body_update - see dkim_canon.h */
void
dkim_canon_body_update(struct dkim_canon_body *b, const char *buf, gsize len)
{
	const guchar *p = (const guchar *)buf, *end = p + len;
	const guchar *span, *ws = NULL;	/* ws: a WSP run begun in this chunk */
	const guchar *vend;

	if (len == 0)
		return;
	if (b->cr)
		p += dkim_canon_carried_cr(b, p);
	span = p;
	while (p < end) {
		guchar c;

		if (b->text && !b->wsp && ws == NULL) {
			/* inside a line's text: what is above a space, and
			 * one space before such a byte, stays as it is */
			p = dkim_canon_plain(p, end);
			if (p == end)
				break;
		}
		c = *p;
		if (c != ' ' && c != '\t' && c != '\r') {
			/* text: the common cases need no call, the span
			 * goes on (after no WSP, or after one space) */
			if (b->text && !b->wsp && (ws == NULL ||
			    (p - ws == 1 && *ws == ' '))) {
				ws = NULL;
				p++;
				continue;
			}
			span = dkim_canon_text(b, span, ws != NULL ? ws :
			    b->wsp ? span : p, p, ws != NULL || b->wsp,
			    ws != NULL && p - ws == 1 && *ws == ' ');
			ws = NULL;
			p++;
			continue;
		}
		if (DKIM_WSP(c)) {
			if (ws == NULL && !b->wsp)
				ws = p;
			p++;
			continue;
		}
		/* the canonical bytes end where a pending WSP run starts */
		vend = ws != NULL ? ws : b->wsp ? span : p;
		if (c == '\r' && p + 1 == end) {
			/* a CR at the chunk's end: line end or text, we
			 * shall see */
			dkim_canon_put(b, span, vend);
			b->wsp = ws != NULL || b->wsp;
			b->cr = TRUE;
			return;
		}
		if (c == '\r' && p[1] == '\n') {
			span = dkim_canon_eol(b, span, vend, p);
			ws = NULL;
			p += 2;
			continue;
		}
		/* a CR that is not a line end is text */
		span = dkim_canon_text(b, span, vend, p, ws != NULL || b->wsp,
		    ws != NULL && p - ws == 1 && *ws == ' ');
		ws = NULL;
		p++;
	}
	vend = ws != NULL ? ws : b->wsp ? span : end;
	dkim_canon_put(b, span, vend);
	b->wsp = ws != NULL || b->wsp;
}

/* dkim_canon_body_final - see dkim_canon.h */
void
dkim_canon_body_final(struct dkim_canon_body *b)
{
	if (b->cr) {
		/* a CR ended the body: text, a last line without CRLF */
		(void)dkim_canon_text(b, NULL, NULL, NULL, b->wsp, FALSE);
		b->sink(b->data, "\r", 1);
		b->cr = FALSE;
	}
	/* WSP at the end of the last line is dropped, as at any line's end;
	 * that line gets the CRLF it lacked */
	if (b->text)
		b->sink(b->data, "\r\n", 2);
	b->text = FALSE;
	b->wsp = FALSE;
	b->empty = 0;
}

/* dkim_canon_header - see dkim_canon.h */
void
dkim_canon_header(GString *out, const char *field, gsize len)
{
	const char *end = field + len, *colon, *n, *p;
	gboolean sp = FALSE, any = FALSE;

	colon = memchr(field, ':', len);
	if (colon == NULL)
		colon = end;
	for (n = colon; n > field && DKIM_WSP(n[-1]); n--)
		;
	for (p = field; p < n; p++)
		g_string_append_c(out, g_ascii_tolower(*p));
	g_string_append_c(out, ':');
	for (p = colon + 1; p < end; ) {
		const char *run = p;

		if (*p == '\r' && p + 1 < end && p[1] == '\n') {
			p += 2;	/* unfold: the CRLF goes, the WSP after it stays */
			continue;
		}
		if (DKIM_WSP(*p)) {
			sp = TRUE;
			p++;
			continue;
		}
		/* a run of bytes kept as they are, copied at once */
		while (p < end && !DKIM_WSP(*p) && *p != '\r')
			p++;
		if (p == run)	/* a CR not before LF: kept, like any byte */
			p++;
		if (sp && any)
			g_string_append_c(out, ' ');
		sp = FALSE;
		any = TRUE;
		g_string_append_len(out, run, p - run);
	}
	g_string_append(out, "\r\n");
}

/* dkim_canon_fields - see dkim_canon.h */
gsize
dkim_canon_fields(const char *msg, gsize len, GArray *fields)
{
	const char *p = msg, *end = msg + len;

	while (p < end) {
		const char *e = p, *colon;
		struct dkim_field f;

		if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
			return (gsize)(p + 2 - msg);	/* the empty line */
		/* the field runs to a CRLF not followed by WSP */
		for (;;) {
			e = memchr(e, '\n', (gsize)(end - e));
			if (e == NULL) {
				e = end;
				break;
			}
			if (e + 1 < end && DKIM_WSP(e[1])) {
				e++;
				continue;
			}
			e++;
			break;
		}
		f.start = p;
		f.len = (gsize)(e - p);
		if (f.len >= 2 && e[-1] == '\n' && e[-2] == '\r')
			f.len -= 2;
		else if (f.len >= 1 && e[-1] == '\n')
			f.len -= 1;
		colon = memchr(p, ':', f.len);
		if (colon != NULL) {
			const char *n = colon;

			while (n > p && DKIM_WSP(n[-1]))
				n--;
			f.name_len = (gsize)(n - p);
			g_array_append_val(fields, f);
		}
		p = e;
	}
	return len;
}

/* dkim_canon_field_is - see dkim_canon.h */
gboolean
dkim_canon_field_is(const struct dkim_field *f, const char *name)
{
	return strlen(name) == f->name_len &&
	    g_ascii_strncasecmp(f->start, name, f->name_len) == 0;
}
