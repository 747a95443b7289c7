/*
 * bounce.c - turn returned mail into failed recipients.
 *
 * A message is walked once (at most BOUNCE_MAX_DEPTH levels and
 * BOUNCE_MAX_PARTS parts) into a "scan": the delivery-status texts, the
 * human-readable notice (text parts outside the returned original, cut at
 * the first "copy of the original message follows" marker), and the
 * returned original's headers. Then, in order:
 *
 *   1. ARF complaints report nothing (bounce_complaint_parse reads them).
 *   2. RFC 3464 delivery-status blocks (also when a broken MTA puts them in
 *      a text part): every per-recipient block whose Action is failed or
 *      delayed. delivered, relayed and expanded blocks report nothing.
 *   3. If the message looks like a failure notice at all (sender, subject,
 *      or a notice phrase every MTA family uses) and is not an auto-reply,
 *      addresses are taken from the notice by shape, strongest first: the
 *      "<addr>:" and "<addr>..." lines of qmail, Postfix and Sendmail, SMTP
 *      replies naming an address, addresses alone on a line (Exim,
 *      Exchange, Domino, GroupWise), addresses after a phrase that names
 *      a failed recipient, and last the returned original's recipient.
 *
 * Kind comes from the enhanced status code (RFC 3463) or the SMTP reply
 * code; without either, from the notice's wording (a warning about delay
 * is soft, anything else hard). Reason comes from the status code's
 * subject and detail, then from words in the remote reply.
 *
 * Must stay true: no input makes this read more than BOUNCE_MAX_TEXT
 * decoded bytes of a part or walk deeper than BOUNCE_MAX_DEPTH; nothing
 * here prints or exits; addresses reported are lowercase and contain '@'.
 */
#include <string.h>

#include "bounce.h"
#include "herald.h"

#define BOUNCE_MAX_DIAG		512	/* bytes of remote reply kept */
#define BOUNCE_MAX_ADDRS	64	/* recipients reported per message */
#define BOUNCE_MAX_LINES	4000	/* notice lines looked at */
#define BOUNCE_MAX_LOOK		256	/* bytes of a line before an address read */
#define BOUNCE_MAX_HITS		512	/* addresses in a notice considered */

struct bounce_field {
	char	*name;		/* lowercase */
	char	*value;		/* unfolded, trimmed */
};

struct bounce_scan {
	GPtrArray	*dsn;		/* of GString *: delivery-status texts */
	GString		*notice;	/* the human-readable part(s), lowercase */
	GString		*orig;		/* returned original's header text, lowercase */
	gboolean	 feedback;	/* an ARF report */
	gboolean	 report;	/* multipart/report seen */
	int		 parts;
};

struct bounce_ctx {
	GMimeMessage		*msg;
	struct bounce_scan	 scan;
	GHashTable		*exclude;	/* addresses never reported */
	GHashTable		*senders;	/* the original's senders: only
						 * named with a strong shape */
	GHashTable		*seen;		/* addresses already reported */
	struct bounce_report	*report;
	gboolean		 warning;	/* the notice speaks of delay */
	gsize			 cut;		/* where the notice quotes the original */
};

static const char *const bounce_kind_names[] = { "unknown", "hard", "soft" };
static const char *const bounce_reason_names[] = {
	"other", "user_unknown", "mailbox_full", "host_unknown", "blocked",
	"spam", "too_big", "expired",
};

/* bounce_kind_name - the word for KIND, as herald prints it. */
const char *
bounce_kind_name(enum bounce_kind kind)
{
	if ((unsigned)kind >= G_N_ELEMENTS(bounce_kind_names))
		return "unknown";
	return bounce_kind_names[kind];
}

/* bounce_reason_name - the word for REASON, as herald prints and stores it. */
const char *
bounce_reason_name(enum bounce_reason reason)
{
	if ((unsigned)reason >= G_N_ELEMENTS(bounce_reason_names))
		return "other";
	return bounce_reason_names[reason];
}

/* bounce_recipient_free - free one recipient and its strings. */
static void
bounce_recipient_free(gpointer p)
{
	struct bounce_recipient *r = p;

	g_free(r->address);
	g_free(r->original);
	g_free(r->status);
	g_free(r->diagnostic);
	g_free(r);
}

/* bounce_report_free - free REPORT; NULL is fine. */
void
bounce_report_free(struct bounce_report *report)
{
	if (report == NULL)
		return;
	g_ptr_array_unref(report->recipients);
	g_free(report);
}

/* bounce_report_kind - the kind every recipient shares, else unknown. */
enum bounce_kind
bounce_report_kind(const struct bounce_report *report)
{
	enum bounce_kind kind = BOUNCE_UNKNOWN;
	guint i;

	for (i = 0; i < report->recipients->len; i++) {
		const struct bounce_recipient *r =
		    g_ptr_array_index(report->recipients, i);

		if (i == 0)
			kind = r->kind;
		else if (r->kind != kind)
			return BOUNCE_UNKNOWN;
	}
	return kind;
}

/* bounce_string_free - a GDestroyNotify for GString. */
static void
bounce_string_free(gpointer p)
{
	g_string_free(p, TRUE);
}

/* ------------------------------------------------------------------ */
/* Parsing input */

/* bounce_parse_bytes - parse one message from LEN bytes at DATA. */
GMimeMessage *
bounce_parse_bytes(const void *data, gsize len, GError **error)
{
	GMimeStream *stream;
	GMimeParser *parser;
	GMimeMessage *msg;

	if (len > BOUNCE_MAX_INPUT)
		len = BOUNCE_MAX_INPUT;
	stream = g_mime_stream_mem_new_with_buffer(data, len);
	parser = g_mime_parser_new_with_stream(stream);
	g_object_unref(stream);
	msg = g_mime_parser_construct_message(parser, NULL);
	g_object_unref(parser);
	if (msg == NULL)
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_DATA,
		    "no message could be parsed");
	return msg;
}

/* bounce_parse_stream - read at most BOUNCE_MAX_INPUT bytes of STREAM and
 * parse them; a read error is IO, no message DATA. */
GMimeMessage *
bounce_parse_stream(GMimeStream *stream, GError **error)
{
	GByteArray *buf;
	GMimeMessage *msg;
	char chunk[65536];
	gssize n;

	buf = g_byte_array_new();
	while (buf->len < BOUNCE_MAX_INPUT) {
		n = g_mime_stream_read(stream, chunk, sizeof(chunk));
		if (n < 0) {
			g_byte_array_unref(buf);
			g_set_error(error, HERALD_ERROR, HERALD_ERROR_IO,
			    "read error");
			return NULL;
		}
		if (n == 0)
			break;
		g_byte_array_append(buf, (guint8 *)chunk, (guint)n);
	}
	msg = bounce_parse_bytes(buf->data, buf->len, error);
	g_byte_array_unref(buf);
	return msg;
}

/* ------------------------------------------------------------------ */
/* Small string helpers */

/* bounce_ascii_lower - lowercase the ASCII letters of S in place; turn
 * NUL and other control bytes except tab and newline into spaces. */
static void
bounce_ascii_lower(char *s, gsize len)
{
	gsize i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 'A' && c <= 'Z')
			s[i] = (char)(c + 32);
		else if (c < 32 && c != '\n' && c != '\t')
			s[i] = ' ';
	}
}

/* bounce_lc_dup - a lowercase copy of S, or NULL. */
static char *
bounce_lc_dup(const char *s)
{
	char *d;

	if (s == NULL)
		return NULL;
	d = g_strdup(s);
	bounce_ascii_lower(d, strlen(d));
	return d;
}

/* bounce_contains_any - TRUE if lowercase S contains one of NEEDLES. */
static gboolean
bounce_contains_any(const char *s, const char *const *needles)
{
	if (s == NULL)
		return FALSE;
	for (; *needles != NULL; needles++)
		if (strstr(s, *needles) != NULL)
			return TRUE;
	return FALSE;
}

static gboolean
bounce_local_char(unsigned char c)
{
	return g_ascii_isalnum(c) || (c != 0 && strchr("!#$%&*+=?^_{|}~.-", c)
	    != NULL);
}

static gboolean
bounce_domain_char(unsigned char c)
{
	return g_ascii_isalnum(c) || c == '.' || c == '-' || c == '_';
}

/* bounce_addr_next - find the next address in S[*pos..len): return it as
 * a new lowercase string and set *start and *pos to its bounds; NULL when
 * there is none. An address has a local part, '@', and a domain with a
 * dot or a bracketed literal. */
static char *
bounce_addr_next(const char *s, gsize len, gsize *pos, gsize *start)
{
	gsize at, b, e;

	for (at = *pos; at < len; at++) {
		if (s[at] != '@')
			continue;
		b = at;
		while (b > *pos && bounce_local_char((unsigned char)s[b - 1]))
			b--;
		while (b < at && s[b] == '.')
			b++;
		e = at + 1;
		if (e < len && s[e] == '[') {
			while (e < len && s[e] != ']' && e - at < 64)
				e++;
			if (e < len && s[e] == ']')
				e++;
		} else {
			while (e < len && bounce_domain_char((unsigned char)s[e]))
				e++;
			while (e > at + 1 && (s[e - 1] == '.' || s[e - 1] == '-'))
				e--;
		}
		if (b == at || e <= at + 1 || e - b > 254)
			continue;
		if (s[at + 1] != '[' && memchr(s + at + 1, '.', e - at - 1) == NULL)
			continue;
		if (at - b > 5 && g_ascii_strncasecmp(s + b, "smtp=", 5) == 0)
			b += 5;		/* X.400 "dda:SMTP=user@host" */
		*start = b;
		*pos = e;
		return g_ascii_strdown(s + b, (gssize)(e - b));
	}
	*pos = len;
	return NULL;
}

/* bounce_first_addr - the first address in S, or NULL. */
static char *
bounce_first_addr(const char *s)
{
	gsize pos = 0, start;

	if (s == NULL)
		return NULL;
	return bounce_addr_next(s, strlen(s), &pos, &start);
}

/* bounce_status_find - find an RFC 3463 code ("5.1.1") with class 2, 4 or
 * 5 in S; return a new string or NULL. */
static char *
bounce_status_find(const char *s, gsize len)
{
	gsize i, j, k;

	for (i = 0; i + 4 < len; i++) {
		if (s[i] != '2' && s[i] != '4' && s[i] != '5')
			continue;
		if (i > 0 && (g_ascii_isalnum(s[i - 1]) || s[i - 1] == '.' ||
		    s[i - 1] == '-'))
			continue;
		if (s[i + 1] != '.')
			continue;
		for (j = i + 2; j < len && j < i + 5 && g_ascii_isdigit(s[j]); j++)
			;
		if (j == i + 2 || j >= len || s[j] != '.')
			continue;
		for (k = j + 1; k < len && k < j + 4 && g_ascii_isdigit(s[k]); k++)
			;
		if (k == j + 1)
			continue;
		if (k < len && (g_ascii_isalnum(s[k]) || s[k] == '.' ||
		    s[k] == '@'))
			continue;
		return g_strndup(s + i, k - i);
	}
	return NULL;
}

/* bounce_smtp_code - the class (4 or 5) of the first SMTP reply code in
 * S that stands as a word ("550 ", "550-", "#550"), or 0. */
static int
bounce_smtp_code(const char *s, gsize len)
{
	gsize i;

	for (i = 0; i + 3 <= len; i++) {
		if (s[i] != '4' && s[i] != '5')
			continue;
		if (!g_ascii_isdigit(s[i + 1]) || !g_ascii_isdigit(s[i + 2]))
			continue;
		if (s[i + 1] > '5')
			continue;
		if (i > 0 && (g_ascii_isalnum(s[i - 1]) || s[i - 1] == '.' ||
		    s[i - 1] == '/' || s[i - 1] == '-' || s[i - 1] == '+'))
			continue;
		if (i > 1 && s[i - 1] == ':' && g_ascii_isdigit(s[i - 2]))
			continue;	/* a time, a port */
		if (i + 3 < len && s[i + 3] != ' ' && s[i + 3] != '-' &&
		    s[i + 3] != '\n' && s[i + 3] != ')' && s[i + 3] != ']')
			continue;
		if (i + 4 < len && s[i + 3] == '-' && !g_ascii_isalpha(s[i + 4])
		    && s[i + 4] != ' ' && !g_ascii_isdigit(s[i + 4]))
			continue;
		if (i + 5 < len && s[i + 3] == ' ' && g_ascii_isdigit(s[i + 4]) &&
		    !(s[i + 5] == '.'))
			continue;	/* "450 123": a number, not a reply */
		return s[i] - '0';
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Reading parts */

/* bounce_part_text - append at most BOUNCE_MAX_TEXT decoded bytes of
 * PART's content to OUT, lowercased. */
static void
bounce_part_text(GMimePart *part, GString *out)
{
	GMimeDataWrapper *content;
	GMimeStream *raw, *filtered;
	GMimeFilter *filter;
	GMimeContentEncoding enc;
	gsize start = out->len, want;
	char buf[4096];
	gssize n;

	content = g_mime_part_get_content(part);
	if (content == NULL)
		return;
	raw = g_mime_data_wrapper_get_stream(content);
	if (raw == NULL)
		return;
	g_mime_stream_reset(raw);
	filtered = g_mime_stream_filter_new(raw);
	enc = g_mime_data_wrapper_get_encoding(content);
	if (enc == GMIME_CONTENT_ENCODING_BASE64 ||
	    enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
	    enc == GMIME_CONTENT_ENCODING_UUENCODE) {
		filter = g_mime_filter_basic_new(enc, FALSE);
		g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered), filter);
		g_object_unref(filter);
	}
	while (out->len - start < BOUNCE_MAX_TEXT) {
		want = MIN(sizeof(buf), BOUNCE_MAX_TEXT - (out->len - start));
		n = g_mime_stream_read(filtered, buf, want);
		if (n <= 0)
			break;
		g_string_append_len(out, buf, n);
	}
	g_object_unref(filtered);
	g_mime_stream_reset(raw);
	bounce_ascii_lower(out->str + start, out->len - start);
	g_string_append_c(out, '\n');
}

/* bounce_strip_html - replace tags of HTML text in S (from START) by
 * spaces or newlines, in place, so addresses and phrases stay apart. */
static void
bounce_strip_html(GString *s, gsize start)
{
	gsize i, o = start;
	gboolean tag = FALSE;

	for (i = start; i < s->len; i++) {
		char c = s->str[i];

		if (c == '<') {
			tag = TRUE;
			if (i + 3 < s->len && (strncmp(s->str + i, "<br", 3) == 0
			    || strncmp(s->str + i, "<p", 2) == 0 ||
			    strncmp(s->str + i, "<tr", 3) == 0 ||
			    strncmp(s->str + i, "<li", 3) == 0 ||
			    strncmp(s->str + i, "</d", 3) == 0))
				s->str[o++] = '\n';
			continue;
		}
		if (c == '>' && tag) {
			tag = FALSE;
			s->str[o++] = ' ';
			continue;
		}
		if (!tag)
			s->str[o++] = c;
	}
	g_string_truncate(s, o);
	/* the common entities around addresses */
	for (i = start; i + 4 <= s->len; i++) {
		if (strncmp(s->str + i, "&lt;", 4) == 0) {
			g_string_erase(s, (gssize)i, 3);
			s->str[i] = '<';
		} else if (strncmp(s->str + i, "&gt;", 4) == 0) {
			g_string_erase(s, (gssize)i, 3);
			s->str[i] = '>';
		} else if (i + 6 <= s->len &&
		    strncmp(s->str + i, "&nbsp;", 6) == 0) {
			g_string_erase(s, (gssize)i, 5);
			s->str[i] = ' ';
		}
	}
}

/* bounce_headers_text - append HEADERS as "name: value" lines to OUT. */
static void
bounce_headers_text(GMimeHeaderList *headers, GString *out)
{
	int i, n;
	gsize start = out->len;

	n = g_mime_header_list_get_count(headers);
	for (i = 0; i < n && i < 200 && out->len - start < BOUNCE_MAX_TEXT; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(headers, i);
		const char *v = g_mime_header_get_raw_value(h);

		g_string_append_printf(out, "%s: %s\n",
		    g_mime_header_get_name(h), v != NULL ? v : "");
	}
	bounce_ascii_lower(out->str + start, out->len - start);
}

static gboolean
bounce_type_is(GMimeContentType *ct, const char *type, const char *sub)
{
	return ct != NULL && g_mime_content_type_is_type(ct, type, sub);
}

/* bounce_walk - collect what the classifier reads from OBJ and below. */
static void
bounce_walk(struct bounce_scan *scan, GMimeObject *obj, int depth,
    gboolean inside_original)
{
	GMimeContentType *ct;

	if (obj == NULL || depth > BOUNCE_MAX_DEPTH ||
	    ++scan->parts > BOUNCE_MAX_PARTS)
		return;
	ct = g_mime_object_get_content_type(obj);
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		int i, n = g_mime_multipart_get_count(mp);

		if (bounce_type_is(ct, "multipart", "report")) {
			const char *rt = g_mime_content_type_get_parameter(ct,
			    "report-type");

			if (!inside_original)
				scan->report = TRUE;
			if (rt != NULL && !inside_original &&
			    g_ascii_strcasecmp(rt, "feedback-report") == 0)
				scan->feedback = TRUE;
		}
		for (i = 0; i < n; i++)
			bounce_walk(scan, g_mime_multipart_get_part(mp, i),
			    depth + 1, inside_original);
		if (n == 0 && !inside_original) {
			/* a boundary that never comes: all is prologue */
			const char *pro = g_mime_multipart_get_prologue(mp);
			gsize start = scan->notice->len;

			if (pro != NULL)
				g_string_append_len(scan->notice, pro,
				    (gssize)MIN(strlen(pro), BOUNCE_MAX_TEXT));
			bounce_ascii_lower(scan->notice->str + start,
			    scan->notice->len - start);
		}
		return;
	}
	if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *m = g_mime_message_part_get_message(
		    GMIME_MESSAGE_PART(obj));

		if (m == NULL)
			return;
		if (!inside_original && scan->orig->len == 0)
			bounce_headers_text(g_mime_object_get_header_list(
			    GMIME_OBJECT(m)), scan->orig);
		/* a bounce of a bounce: the inner notice counts when the
		 * outer one said nothing */
		bounce_walk(scan, g_mime_message_get_mime_part(m), depth + 1,
		    TRUE);
		return;
	}
	if (!GMIME_IS_PART(obj) || inside_original)
		return;
	if (bounce_type_is(ct, "message", "delivery-status") ||
	    bounce_type_is(ct, "message", "global-delivery-status")) {
		GString *s = g_string_new(NULL);

		bounce_part_text(GMIME_PART(obj), s);
		g_ptr_array_add(scan->dsn, s);
		return;
	}
	if (bounce_type_is(ct, "message", "feedback-report")) {
		scan->feedback = TRUE;
		return;
	}
	if (bounce_type_is(ct, "text", "rfc822-headers") ||
	    bounce_type_is(ct, "message", "rfc822-headers") ||
	    bounce_type_is(ct, "message", "global-headers")) {
		if (scan->orig->len == 0)
			bounce_part_text(GMIME_PART(obj), scan->orig);
		return;
	}
	if (bounce_type_is(ct, "text", "plain") || ct == NULL ||
	    bounce_type_is(ct, "message", "rfc822")) {
		bounce_part_text(GMIME_PART(obj), scan->notice);
		return;
	}
	if (bounce_type_is(ct, "text", "html")) {
		gsize start = scan->notice->len;

		bounce_part_text(GMIME_PART(obj), scan->notice);
		bounce_strip_html(scan->notice, start);
		return;
	}
	if (bounce_type_is(ct, "text", "*")) {
		const char *name = g_mime_part_get_filename(GMIME_PART(obj));

		if (name == NULL)
			bounce_part_text(GMIME_PART(obj), scan->notice);
	}
}

/* ------------------------------------------------------------------ */
/* Header blocks (RFC 3464 section 2.1) */

static void
bounce_field_free(gpointer p)
{
	struct bounce_field *f = p;

	g_free(f->name);
	g_free(f->value);
	g_free(f);
}

/* bounce_blocks_parse - split TEXT into blocks of fields separated by
 * blank lines, unfolding continuation lines; lines that are no field are
 * skipped. Returns a GPtrArray of GPtrArray of struct bounce_field. */
static GPtrArray *
bounce_blocks_parse(const char *text, gsize len)
{
	GPtrArray *blocks = g_ptr_array_new_with_free_func(
	    (GDestroyNotify)g_ptr_array_unref);
	GPtrArray *cur = NULL;
	struct bounce_field *last = NULL;
	gsize i = 0, e, c;
	guint nfields = 0;

	while (i < len && nfields < 4096) {
		const char *line = text + i;
		gsize ll;

		e = i;
		while (e < len && text[e] != '\n')
			e++;
		ll = e - i;
		if (ll > 0 && line[ll - 1] == '\r')
			ll--;
		i = e + 1;
		if (ll == 0 || strspn(line, " \t") >= ll) {
			cur = NULL;
			last = NULL;
			continue;
		}
		if ((line[0] == ' ' || line[0] == '\t') && last != NULL) {
			char *old = last->value, *add;

			if (strlen(old) > 4096)
				continue;
			add = g_strstrip(g_strndup(line, ll));
			last->value = g_strconcat(old, " ", add, NULL);
			g_free(old);
			g_free(add);
			continue;
		}
		for (c = 0; c < ll && c < 64 && (g_ascii_isalnum(line[c]) ||
		    line[c] == '-' || line[c] == '_'); c++)
			;
		if (c == 0 || c >= ll || line[c] != ':') {
			last = NULL;
			continue;
		}
		if (cur == NULL) {
			cur = g_ptr_array_new_with_free_func(bounce_field_free);
			g_ptr_array_add(blocks, cur);
		}
		last = g_new0(struct bounce_field, 1);
		last->name = g_ascii_strdown(line, (gssize)c);
		last->value = g_strstrip(g_strndup(line + c + 1, ll - c - 1));
		g_ptr_array_add(cur, last);
		nfields++;
	}
	return blocks;
}

/* bounce_block_get - the value of field NAME in BLOCK, or NULL. */
static const char *
bounce_block_get(GPtrArray *block, const char *name)
{
	guint i;

	for (i = 0; i < block->len; i++) {
		struct bounce_field *f = g_ptr_array_index(block, i);

		if (strcmp(f->name, name) == 0)
			return f->value;
	}
	return NULL;
}

/* bounce_dsn_address - the address of a recipient field value
 * ("rfc822; <a@b>"), lowercase, or NULL when it names no address. */
static char *
bounce_dsn_address(const char *value)
{
	const char *semi;

	if (value == NULL)
		return NULL;
	semi = strchr(value, ';');
	return bounce_first_addr(semi != NULL ? semi + 1 : value);
}

/* ------------------------------------------------------------------ */
/* Kind and reason */

/* bounce_reason_of - the reason for STATUS and DIAG (both lowercase). */
static enum bounce_reason
bounce_reason_of(const char *status, const char *diag)
{
	static const char *const spam[] = { "spam", "junk mail", "blacklist",
	    "blocklist", "listed in", "rbl", "spamhaus", "reputation",
	    "content rejected", "virus", NULL };
	static const char *const unknown[] = { "user unknown", "unknown user",
	    "no such user", "no such mailbox", "does not exist",
	    "doesn't exist", "not exist", "unknown recipient",
	    "recipient unknown", "invalid recipient", "recipient not found",
	    "user not found", "address rejected", "mailbox unavailable",
	    "mailbox not found", "unknown local part", "no mailbox",
	    "not a valid", "unrouteable address", "address unknown",
	    "no such recipient", "not recognized", "not listed",
	    "disabled", "inactive", "account has been", "unknown address",
	    "is not a known user", "invalid address", "bad destination",
	    "mailbox is unavailable", "no longer", "unknown or illegal",
	    "user doesn't", "addressee unknown", "not our customer", NULL };
	static const char *const full[] = { "mailbox full", "mailbox is full",
	    "over quota", "quota exceeded", "exceeded storage",
	    "exceeds quota", "insufficient", "out of storage", "full",
	    "quota", NULL };
	static const char *const host[] = { "host unknown", "unknown host",
	    "host not found", "domain not found", "no mx", "nxdomain",
	    "name or service not known", "domain does not exist",
	    "no route to host", "unrouteable mail domain",
	    "host or domain name not found", "name server", NULL };
	static const char *const big[] = { "too big", "too large",
	    "size limit", "exceeds size", "message size", "maximum size",
	    NULL };
	static const char *const expired[] = { "retry time", "expired",
	    "timeout", "timed out", "too long", "not yet been delivered",
	    "delayed", "could not be delivered within", "giving up", NULL };
	static const char *const blocked[] = { "blocked", "denied",
	    "refused", "policy", "not allowed", "rejected", "banned",
	    "prohibited", "relay", "authentication", "spf", "dmarc", "ptr",
	    NULL };
	int s = 0, d = 0;

	if (status != NULL && sscanf(status, "%*d.%d.%d", &s, &d) == 2) {
		if (s == 1 && (d == 1 || d == 0 || d == 6))
			return BOUNCE_REASON_USER_UNKNOWN;
		if (s == 1 && d == 2)
			return BOUNCE_REASON_HOST_UNKNOWN;
		if (s == 2 && d == 2)
			return BOUNCE_REASON_MAILBOX_FULL;
		if ((s == 2 && d == 3) || (s == 3 && d == 4))
			return BOUNCE_REASON_TOO_BIG;
		if (s == 4 && (d == 7 || d == 6))
			return BOUNCE_REASON_EXPIRED;
		if (s == 4 && d == 4)
			return BOUNCE_REASON_HOST_UNKNOWN;
		if (s == 7 && d == 1 && bounce_contains_any(diag, spam))
			return BOUNCE_REASON_SPAM;
		if (s == 7)
			return BOUNCE_REASON_BLOCKED;
		if (s == 2 && d == 1)
			return BOUNCE_REASON_USER_UNKNOWN;
	}
	if (diag == NULL)
		return BOUNCE_REASON_OTHER;
	if (bounce_contains_any(diag, spam))
		return BOUNCE_REASON_SPAM;
	if (bounce_contains_any(diag, big))
		return BOUNCE_REASON_TOO_BIG;
	if (bounce_contains_any(diag, host))
		return BOUNCE_REASON_HOST_UNKNOWN;
	if (bounce_contains_any(diag, unknown))
		return BOUNCE_REASON_USER_UNKNOWN;
	if (bounce_contains_any(diag, full))
		return BOUNCE_REASON_MAILBOX_FULL;
	if (bounce_contains_any(diag, expired))
		return BOUNCE_REASON_EXPIRED;
	if (bounce_contains_any(diag, blocked))
		return BOUNCE_REASON_BLOCKED;
	return BOUNCE_REASON_OTHER;
}

/* bounce_kind_of - the kind from STATUS, else DIAG's SMTP code, else
 * DFLT. */
static enum bounce_kind
bounce_kind_of(const char *status, const char *diag, enum bounce_kind dflt)
{
	int code;

	if (status != NULL && status[0] == '5')
		return BOUNCE_HARD;
	if (status != NULL && status[0] == '4')
		return BOUNCE_SOFT;
	code = diag != NULL ? bounce_smtp_code(diag, strlen(diag)) : 0;
	if (code == 5)
		return BOUNCE_HARD;
	if (code == 4)
		return BOUNCE_SOFT;
	return dflt;
}

/* bounce_add - report ADDR (taken) unless it is excluded or seen; the
 * other strings are copied. Returns TRUE if it was added. */
static gboolean
bounce_add(struct bounce_ctx *ctx, char *addr, const char *original,
    enum bounce_kind kind, const char *status, const char *diag)
{
	struct bounce_recipient *r;
	GPtrArray *list = ctx->report->recipients;

	if (addr == NULL)
		return FALSE;
	if (g_hash_table_contains(ctx->exclude, addr) ||
	    g_hash_table_contains(ctx->seen, addr) ||
	    list->len >= BOUNCE_MAX_ADDRS) {
		g_free(addr);
		return FALSE;
	}
	g_hash_table_add(ctx->seen, g_strdup(addr));
	r = g_new0(struct bounce_recipient, 1);
	r->address = addr;
	r->original = g_strdup(original);
	r->status = g_strdup(status);
	if (diag != NULL) {
		r->diagnostic = g_strndup(diag, BOUNCE_MAX_DIAG);
		g_strstrip(r->diagnostic);
	}
	r->kind = kind;
	r->reason = bounce_reason_of(status, r->diagnostic);
	if (r->reason == BOUNCE_REASON_OTHER && ctx->warning)
		r->reason = BOUNCE_REASON_EXPIRED;
	g_ptr_array_add(list, r);
	return TRUE;
}

/* ------------------------------------------------------------------ */
/* Stage 2: delivery-status blocks */

/* bounce_dsn_block - report the recipient of one per-recipient BLOCK;
 * set *any when the block names a recipient at all. */
static void
bounce_dsn_block(struct bounce_ctx *ctx, GPtrArray *block, gboolean *any)
{
	const char *final = bounce_block_get(block, "final-recipient");
	const char *orig = bounce_block_get(block, "original-recipient");
	const char *action = bounce_block_get(block, "action");
	const char *status_v = bounce_block_get(block, "status");
	const char *diag = bounce_block_get(block, "diagnostic-code");
	g_autofree char *addr = NULL, *oaddr = NULL, *status = NULL;
	g_autofree char *act = bounce_lc_dup(action), *dg = NULL;
	enum bounce_kind kind;

	if (final == NULL && orig == NULL)
		return;
	if (action == NULL && status_v == NULL && diag == NULL)
		return;
	addr = bounce_dsn_address(final);
	oaddr = bounce_dsn_address(orig);
	if (addr == NULL)
		addr = bounce_dsn_address(bounce_block_get(block,
		    "x-actual-recipient"));
	if (addr == NULL) {
		addr = g_steal_pointer(&oaddr);
	}
	if (addr == NULL)
		return;
	*any = TRUE;
	if (status_v != NULL)
		status = bounce_status_find(status_v, strlen(status_v));
	if (diag != NULL) {
		const char *semi = strchr(diag, ';');

		dg = bounce_lc_dup(semi != NULL && semi - diag < 16 ? semi + 1 :
		    diag);
		if (status == NULL || strcmp(status + 1, ".0.0") == 0) {
			char *better = bounce_status_find(dg, strlen(dg));

			if (better != NULL && (status == NULL ||
			    better[0] == status[0])) {
				g_free(status);
				status = better;
			} else
				g_free(better);
		}
	}
	if (act != NULL) {
		g_strstrip(act);
		if (g_str_has_prefix(act, "deliver") ||
		    g_str_has_prefix(act, "relay") ||
		    g_str_has_prefix(act, "expand"))
			return;
	} else if (status != NULL && status[0] == '2')
		return;
	if (status != NULL && status[0] == '2') {
		g_free(status);
		status = NULL;
	}
	if (act != NULL && g_str_has_prefix(act, "delay")) {
		kind = BOUNCE_SOFT;
		ctx->warning = TRUE;
	} else
		kind = bounce_kind_of(status, dg, act != NULL &&
		    g_str_has_prefix(act, "fail") ? BOUNCE_HARD : BOUNCE_UNKNOWN);
	bounce_add(ctx, g_steal_pointer(&addr), oaddr, kind, status, dg);
}

/* bounce_dsn_text - read the per-recipient blocks of TEXT; TRUE if any
 * named a recipient (even one not reported, such as a delivered one). */
static gboolean
bounce_dsn_text(struct bounce_ctx *ctx, const GString *text)
{
	GPtrArray *blocks = bounce_blocks_parse(text->str, text->len);
	gboolean any = FALSE;
	guint i;

	for (i = 0; i < blocks->len; i++)
		bounce_dsn_block(ctx, g_ptr_array_index(blocks, i), &any);
	g_ptr_array_unref(blocks);
	return any;
}

/* ------------------------------------------------------------------ */
/* Stage 3: notices */

static const char *const bounce_original_markers[] = {
	"below this line is a copy of the message",
	"this is a copy of the message",
	"original message follows",
	"----- original message -----",
	"-----original message-----",
	"the header of the original message",
	"original message headers",
	"message headers follow",
	"header of the original message",
	"----- returned message",
	"unsent message below",
	"returned mail follows",
	"--- original message",
	"start of returned message",
	"a copy of the original message",
	"message text follows",
	"original message header",
	"your message reads",
	"the text you sent follows",
	"--- message header ---",
	"original text follows",
	"content-type: message/rfc822",
	"----- the following is a copy",
	"copy of your message follows",
	"copy of your message below",
	"copy of your message is below",
	"- original message headers",
	NULL,
};

static const char *const bounce_warning_phrases[] = {
	"not yet been delivered", "has been delayed", "delivery delayed",
	"will continue trying", "will keep trying", "will be retried",
	"still trying", "delivery attempts will continue",
	"is delayed", "warning: message", "could not be delivered for",
	"temporarily deferred", "delayed mail", "delivery is delayed",
	"no action is required", "will retry", "have been delayed",
	"delay notification", "warning: could not send", "continue to try",
	"postponed", "warning message only",
	"message delivery has been delayed", "retry", NULL,
};

static const char *const bounce_fail_phrases[] = {
	"permanent error", "permanent failure", "fatal error",
	"i've given up", "have given up", "giving up on",
	"was not delivered", "delivery has failed", "could not be delivered:",
	"will not be retried", "no further attempts", NULL,
};

/* bounce_notice_cut - where in notice N the quoted original begins:
 * the start of the line holding the first marker, else N's length. */
static gsize
bounce_notice_cut(const GString *n)
{
	const char *const *m;
	gsize cut = n->len;

	for (m = bounce_original_markers; *m != NULL; m++) {
		const char *p = strstr(n->str, *m);

		if (p != NULL && (gsize)(p - n->str) < cut)
			cut = (gsize)(p - n->str);
	}
	while (cut > 0 && cut < n->len && n->str[cut - 1] != '\n')
		cut--;
	return cut;
}

/* bounce_looks_like_notice - TRUE if MSG and its text say it reports a
 * delivery failure (or delay). */
static gboolean
bounce_looks_like_notice(struct bounce_ctx *ctx)
{
	static const char *const senders[] = { "mailer-daemon", "postmaster",
	    "mail-daemon", "mailerdaemon", "mail delivery", "maildelivery",
	    "mail system", "bounce", "mdaemon", "nobody@", "daemon@",
	    "mailadmin", "administrator", "returned", NULL };
	static const char *const subjects[] = { "undeliver", "undelivered",
	    "delivery fail", "delivery status", "returned mail",
	    "failure notice", "mail delivery", "not delivered",
	    "could not be delivered", "nondeliver", "non-deliver",
	    "non deliver", "delivery problem", "delivery notification",
	    "rejected", "delayed", "delivery report", "failed",
	    "error", "bounce", "warning", "returned", "unable to deliver",
	    "unknown", "ndn", "problem", "no such", "delivery", NULL };
	static const char *const body[] = { "qmail-send program",
	    "mail delivery software", "transcript of session follows",
	    "could not be delivered", "couldn't be delivered",
	    "permanent error", "following address", "following recipient",
	    "delivery has failed", "undeliverable", "delivery to the following",
	    "not be delivered", "user unknown", "unable to deliver",
	    "was not delivered", "delivery failed", "failed recipient",
	    "delivery problem", "message could not", "not yet been delivered",
	    "host unknown", "recipient address rejected", NULL };
	g_autofree char *from = NULL, *subject = NULL;
	const char *v;

	if (ctx->scan.report)
		return TRUE;
	v = g_mime_object_get_header(GMIME_OBJECT(ctx->msg), "From");
	from = bounce_lc_dup(v);
	if (bounce_contains_any(from, senders))
		return TRUE;
	v = g_mime_object_get_header(GMIME_OBJECT(ctx->msg), "Return-Path");
	if (v != NULL && strstr(v, "<>") != NULL)
		return TRUE;
	subject = bounce_lc_dup(g_mime_message_get_subject(ctx->msg));
	if (bounce_contains_any(subject, subjects))
		return TRUE;
	return bounce_contains_any(ctx->scan.notice->str, body);
}

/* bounce_line_end - the end of the line at S+I in S of LEN. */
static gsize
bounce_line_end(const char *s, gsize len, gsize i)
{
	const char *nl = memchr(s + i, '\n', len - i);

	return nl != NULL ? (gsize)(nl - s) : len;
}

/* bounce_blank_line - TRUE if S[b..e) is only white space. */
static gboolean
bounce_blank_line(const char *s, gsize b, gsize e)
{
	for (; b < e; b++)
		if (s[b] != ' ' && s[b] != '\t' && s[b] != '\r')
			return FALSE;
	return TRUE;
}

/* bounce_context - the remote reply around an address found in the
 * notice: from line start B to the end of the paragraph, at most 6
 * lines, stopping before a line that holds another address. */
static char *
bounce_context(const char *s, gsize len, gsize b)
{
	gsize e = bounce_line_end(s, len, b), next;
	int lines = 0;

	while (e < len && lines < 5) {
		next = bounce_line_end(s, len, e + 1);
		if (bounce_blank_line(s, e + 1, next) ||
		    memchr(s + e + 1, '@', next - e - 1) != NULL)
			break;
		e = next;
		lines++;
	}
	return g_strndup(s + b, e - b);
}

enum bounce_tier {
	BOUNCE_TIER_STRONG,	/* shape of the address line itself */
	BOUNCE_TIER_PHRASE,	/* a phrase names it a failed recipient */
	BOUNCE_TIER_ANY,	/* any address in a failure notice */
	BOUNCE_TIER_ALIAS,	/* "generated from": what a failed one expanded from */
	BOUNCE_TIER_COUNT,
};

/* bounce_line_tier - how strongly the address at S[ab..ae) on line
 * [lb, le) is named a failed recipient; BOUNCE_TIER_COUNT if not. */
static enum bounce_tier
bounce_line_tier(const char *s, gsize lb, gsize le, gsize ab, gsize ae,
    gboolean after_heading, gboolean *opens)
{
	static const char *const headerish[] = { "from:", "reply-to:",
	    "sender:", "return-path:", "message-id:", "mail from",
	    "in-reply-to:", "references:", "envelope-from", "received:",
	    "smtp.mailfrom", "by ", "dkim", "list-", "errors-to:",
	    "x-", "helo", "ehlo", "(sender)", "sender address", "www.",
	    "http", "mailto:", "contact", "assistance", "questions",
	    "send mail to", "write to", NULL };
	static const char *const alias[] = { "generated from",
	    "expanded from", "forwarded", "alias", NULL };
	static const char *const phrases[] = { "recipient", "rcpt to",
	    "delivered to", "delivery to", "deliver to", "deliver your",
	    "addressed", "user", "mailbox", "unknown", "failed",
	    "not exist", "undeliverable", "could not", "couldn't",
	    "unable", "rejected", "error", "invalid", "no such", "message to",
	    "not found", "sent to", "quota", "full", "denied", "for ",
	    "not reach", "not be", "disabled", "refused", NULL };
	/* look at most BOUNCE_MAX_LOOK bytes around the address, so a long
	 * line full of addresses costs linear time */
	g_autofree char *line = g_strndup(s + lb, MIN(le - lb,
	    BOUNCE_MAX_LOOK));
	g_autofree char *before = g_strndup(s + (ab - lb > BOUNCE_MAX_LOOK ?
	    ab - BOUNCE_MAX_LOOK : lb), MIN(ab - lb, BOUNCE_MAX_LOOK));
	const char *p = s + lb, *rest;
	gsize lead;

	*opens = FALSE;
	if (bounce_contains_any(before, headerish))
		return BOUNCE_TIER_COUNT;
	if (bounce_contains_any(before, alias))
		return BOUNCE_TIER_ALIAS;
	lead = strspn(p, " \t>-*#:");
	/* "<a@b>:", "<a@b>...", "a@b:" and "550 5.1.1 <a@b>..." shapes */
	rest = s + ae;
	if (ab > lb && s[ab - 1] == '<' && rest < s + le && *rest == '>')
		rest++;
	if (lb + lead >= ab - (ab > lb && s[ab - 1] == '<' ? 1 : 0)) {
		/* the address opens the line */
		*opens = rest >= s + le || *rest == ':' || *rest == '.' ||
		    bounce_blank_line(rest, 0, (gsize)(s + le - rest));
		if (rest >= s + le || *rest == ':' || *rest == '.' ||
		    *rest == ';' || *rest == ',' || *rest == ' ' ||
		    *rest == '\t' || *rest == '(' || *rest == '\r')
			return after_heading || *rest == ':' ||
			    *rest == '.' || *rest == ';' || *rest == '(' ||
			    g_str_has_prefix(rest, " on ") ||
			    g_str_has_prefix(rest, " (") ||
			    g_str_has_prefix(rest, " <") ||
			    g_str_has_prefix(rest, " -") ?
			    BOUNCE_TIER_STRONG : BOUNCE_TIER_PHRASE;
	}
	if (after_heading)
		return BOUNCE_TIER_STRONG;
	if (bounce_smtp_code(before, strlen(before)) != 0 &&
	    strstr(before, "mail from") == NULL)
		return BOUNCE_TIER_STRONG;
	if (bounce_contains_any(before, phrases))
		return BOUNCE_TIER_PHRASE;
	if (bounce_contains_any(line, phrases))
		return BOUNCE_TIER_ANY;
	return BOUNCE_TIER_ANY;
}

/* bounce_heading - TRUE if the line announces a list of failed
 * recipients ("the following addresses failed:"). */
static gboolean
bounce_heading(const char *line)
{
	static const char *const h[] = { "following address",
	    "following recipient", "following user", "following destination",
	    "addresses failed", "address failed", "not reach the following",
	    "recipients failed", "could not be delivered to",
	    "delivery to the following", "failed recipient",
	    "your message to", "could not be reached", "undeliverable to",
	    "has not yet been delivered", "to these recipients",
	    "recipients or groups", "addresses had permanent",
	    "unknown user", "user unknown", "not be delivered", "failed:",
	    "original recipient", "recipient address", "invalid recipient",
	    "deliver to", "permanent error", "was not delivered",
	    NULL };

	return bounce_contains_any(line, h);
}

struct bounce_hit {
	char			*addr;
	enum bounce_tier	 tier;
	gsize			 line;	/* offset of its line */
};

/* bounce_notice_collect - gather addresses of the notice S[0..len) with
 * their tiers into HITS. */
static void
bounce_notice_collect(struct bounce_ctx *ctx, const char *s, gsize len,
    GArray *hits)
{
	gsize lb = 0, le, pos, ab;
	int lines = 0, heading = 0;

	while (lb < len && lines++ < BOUNCE_MAX_LINES) {
		gboolean first = TRUE, opens;

		le = bounce_line_end(s, len, lb);
		pos = lb;
		for (;;) {
			struct bounce_hit h;
			char *a = bounce_addr_next(s, le, &pos, &ab);

			if (a == NULL)
				break;
			if (hits->len >= BOUNCE_MAX_HITS ||
			    g_hash_table_contains(ctx->exclude, a)) {
				g_free(a);
				continue;
			}
			h.addr = a;
			h.tier = bounce_line_tier(s, lb, le, ab, pos,
			    heading > 0 && first, &opens);
			h.line = lb;
			first = FALSE;
			if (!opens && g_hash_table_contains(ctx->senders, a))
				h.tier = BOUNCE_TIER_COUNT;
			if (h.tier < BOUNCE_TIER_COUNT)
				g_array_append_val(hits, h);
			else
				g_free(a);
		}
		if (!bounce_blank_line(s, lb, le)) {
			g_autofree char *line = g_strndup(s + lb, le - lb);

			if (bounce_heading(line))
				heading = 3;
			else if (heading > 0 && memchr(line, '@', le - lb)
			    == NULL)
				heading--;
		}
		lb = le + 1;
	}
}

/* bounce_notice_local - some gateways name a failed local user without
 * a domain, alone on an indented line under a heading: qualify it with
 * the domain of the notice's sender. */
static void
bounce_notice_local(struct bounce_ctx *ctx, const char *s, gsize len,
    GArray *hits)
{
	g_autofree char *from = bounce_lc_dup(g_mime_object_get_header(
	    GMIME_OBJECT(ctx->msg), "From"));
	g_autofree char *sender = bounce_first_addr(from);
	const char *domain = sender != NULL ? strchr(sender, '@') : NULL;
	gsize lb = 0, le, b, e;
	gboolean heading = FALSE;
	int lines = 0;

	if (domain == NULL)
		return;
	while (lb < len && lines++ < BOUNCE_MAX_LINES) {
		le = bounce_line_end(s, len, lb);
		if (bounce_blank_line(s, lb, le)) {
			lb = le + 1;
			continue;
		}
		b = lb + strspn(s + lb, " \t");
		for (e = b; e < le && bounce_local_char((unsigned char)s[e]);
		    e++)
			;
		if (heading && b > lb && e > b && e - b <= 64 &&
		    bounce_blank_line(s, e, le)) {
			struct bounce_hit h;

			h.addr = g_strdup_printf("%.*s%s", (int)(e - b), s + b,
			    domain);
			h.tier = BOUNCE_TIER_PHRASE;
			h.line = lb;
			g_array_append_val(hits, h);
			return;
		}
		{
			g_autofree char *line = g_strndup(s + lb, le - lb);

			heading = bounce_heading(line);
		}
		lb = le + 1;
	}
}

/* bounce_text_kind - the kind of a failure whose context is CTXT. */
static enum bounce_kind
bounce_text_kind(struct bounce_ctx *ctx, const char *ctxt, char **status)
{
	const char *s = ctx->scan.notice->str;
	enum bounce_kind dflt = ctx->warning ? BOUNCE_SOFT : BOUNCE_HARD;
	int code;

	*status = bounce_status_find(ctxt, strlen(ctxt));
	if (*status != NULL && (*status)[0] == '2') {
		g_free(*status);
		*status = NULL;
	}
	if (*status == NULL) {
		code = bounce_smtp_code(ctxt, strlen(ctxt));
		if (code == 5)
			return BOUNCE_HARD;
		if (code == 4)
			return BOUNCE_SOFT;
		*status = bounce_status_find(s, ctx->scan.notice->len);
		if (*status != NULL && (*status)[0] == '2') {
			g_free(*status);
			*status = NULL;
		}
	}
	return bounce_kind_of(*status, NULL, dflt);
}

/* bounce_ses_json - Amazon SES bounce notifications (JSON, through
 * SNS): the addresses of "bouncedRecipients", hard when "bounceType" is
 * "Permanent". Returns TRUE if the notice was such a notification. */
static gboolean
bounce_ses_json(struct bounce_ctx *ctx)
{
	const char *p, *end;
	g_autofree char *n = g_strdup(ctx->scan.notice->str);
	enum bounce_kind kind;
	gsize i, o;

	/* SNS may carry the notification as a JSON string: unescape */
	for (i = o = 0; n[i] != '\0'; i++)
		if (n[i] != '\\')
			n[o++] = n[i];
	n[o] = '\0';
	p = strstr(n, "\"bouncedrecipients\"");
	if (p == NULL)
		return strstr(n, "\"notificationtype\"") != NULL;
	kind = strstr(n, "\"bouncetype\":\"permanent\"") != NULL ?
	    BOUNCE_HARD : strstr(n, "\"bouncetype\":\"transient\"") != NULL ?
	    BOUNCE_SOFT : BOUNCE_UNKNOWN;
	end = strchr(p, ']');
	while ((p = strstr(p, "\"emailaddress\":\"")) != NULL &&
	    (end == NULL || p < end)) {
		const char *q = strchr(p + 16, '}');
		g_autofree char *rec = q != NULL ? g_strndup(p, (gsize)(q - p)) :
		    g_strdup(p);
		g_autofree char *status = bounce_status_find(rec, strlen(rec));
		const char *d = strstr(rec, "\"diagnosticcode\":\"");

		bounce_add(ctx, bounce_first_addr(p + 16), NULL,
		    bounce_kind_of(status, NULL, kind), status,
		    d != NULL ? d + 18 : NULL);
		p += 16;
	}
	ctx->report->method = "ses";
	return TRUE;
}

/* bounce_text_scan - stage 3 over the notice text. */
static void
bounce_text_scan(struct bounce_ctx *ctx)
{
	GString *n = ctx->scan.notice;
	GArray *hits;
	gsize cut = ctx->cut;
	enum bounce_tier best = BOUNCE_TIER_COUNT;
	guint i, count = 0;

	if (bounce_ses_json(ctx))
		return;
	hits = g_array_new(FALSE, FALSE, sizeof(struct bounce_hit));
	ctx->warning = bounce_contains_any(n->str, bounce_warning_phrases) &&
	    !bounce_contains_any(n->str, bounce_fail_phrases);
	bounce_notice_collect(ctx, n->str, cut, hits);
	if (hits->len == 0)
		bounce_notice_local(ctx, n->str, cut, hits);
	for (i = 0; i < hits->len; i++) {
		struct bounce_hit *h = &g_array_index(hits, struct bounce_hit, i);

		if (h->tier < best)
			best = h->tier;
	}
	if (best == BOUNCE_TIER_ANY || best == BOUNCE_TIER_ALIAS) {
		GHashTable *d = g_hash_table_new(g_str_hash, g_str_equal);

		for (i = 0; i < hits->len; i++)
			g_hash_table_add(d, g_array_index(hits,
			    struct bounce_hit, i).addr);
		count = g_hash_table_size(d);
		g_hash_table_unref(d);
		if (count > 2)
			best = BOUNCE_TIER_COUNT;
	}
	for (i = 0; i < hits->len; i++) {
		struct bounce_hit *h = &g_array_index(hits, struct bounce_hit, i);

		if (h->tier == best) {
			g_autofree char *c = bounce_context(n->str, cut, h->line);
			g_autofree char *status = NULL;
			enum bounce_kind kind = bounce_text_kind(ctx, c,
			    &status);

			bounce_add(ctx, h->addr, NULL, kind, status, c);
		} else
			g_free(h->addr);
	}
	g_array_unref(hits);
	if (ctx->report->recipients->len > 0)
		ctx->report->method = best == BOUNCE_TIER_STRONG ? "notice" :
		    best == BOUNCE_TIER_PHRASE ? "phrase" : "any";
}

/* bounce_original_recipient - last resort: the recipient named in the
 * returned original's headers when there is exactly one. */
static void
bounce_original_recipient(struct bounce_ctx *ctx)
{
	static const char *const names[] = { "\nx-original-to:",
	    "\nenvelope-to:", "\nto:", NULL };
	GString *o = ctx->scan.orig;
	const char *const *n;
	g_autofree char *hdr = NULL;

	if (o->len == 0)
		return;
	hdr = g_strconcat("\n", o->str, NULL);
	for (n = names; *n != NULL; n++) {
		const char *p = strstr(hdr, *n), *e;
		g_autofree char *v = NULL;
		gsize pos = 0, start;
		char *a, *b;

		if (p == NULL)
			continue;
		p += strlen(*n);
		e = strchr(p, '\n');
		v = e != NULL ? g_strndup(p, (gsize)(e - p)) : g_strdup(p);
		a = bounce_addr_next(v, strlen(v), &pos, &start);
		if (a == NULL)
			continue;
		if (g_hash_table_contains(ctx->senders, a)) {
			g_free(a);
			return;
		}
		b = bounce_addr_next(v, strlen(v), &pos, &start);
		if (b != NULL) {
			g_free(a);
			g_free(b);
			return;
		}
		{
			g_autofree char *status = NULL;
			enum bounce_kind kind = bounce_text_kind(ctx, "",
			    &status);
			const char *s = ctx->scan.notice->str;

			if (bounce_add(ctx, a, NULL, kind, status,
			    strlen(s) > 0 ? s : NULL))
				ctx->report->method = "original";
		}
		return;
	}
}

/* ------------------------------------------------------------------ */
/* Exclusions, auto-replies, complaints */

/* bounce_header_addrs - add the addresses of header NAME of OBJ to SET
 * (ctx->exclude: never reported; ctx->senders: reported only when a
 * notice names them in the strongest shape). */
static void
bounce_header_addrs(GHashTable *set, GMimeObject *obj, const char *name)
{
	const char *v = g_mime_object_get_header(obj, name);
	gsize pos = 0, start, len;
	char *a;

	if (v == NULL)
		return;
	len = strlen(v);
	while ((a = bounce_addr_next(v, len, &pos, &start)) != NULL)
		g_hash_table_add(set, a);
}

/* bounce_exclude_orig - exclude the sender addresses of the returned
 * original's header text. */
static void
bounce_exclude_orig(struct bounce_ctx *ctx)
{
	static const char *const names[] = { "\nfrom:", "\nsender:",
	    "\nreturn-path:", "\nreply-to:", "\nerrors-to:", NULL };
	g_autofree char *hdr = g_strconcat("\n", ctx->scan.orig->str, NULL);
	const char *const *n;

	for (n = names; *n != NULL; n++) {
		const char *p = strstr(hdr, *n), *e;
		gsize pos = 0, start;
		char *a;

		if (p == NULL)
			continue;
		p += strlen(*n);
		e = strchr(p, '\n');
		while ((a = bounce_addr_next(p, e != NULL ? (gsize)(e - p) :
		    strlen(p), &pos, &start)) != NULL)
			g_hash_table_add(ctx->senders, a);
	}
}

/* bounce_is_daemon - TRUE for addresses of mail systems, not people. */
static gboolean
bounce_is_daemon(const char *a)
{
	static const char *const locals[] = { "mailer-daemon@",
	    "mail-daemon@", "mailerdaemon@", "double-bounce@", NULL };
	const char *const *l;

	for (l = locals; *l != NULL; l++)
		if (g_str_has_prefix(a, *l))
			return TRUE;
	return FALSE;
}

/* bounce_is_autoreply - see bounce.h. */
gboolean
bounce_is_autoreply(GMimeMessage *msg)
{
	static const char *const subjects[] = { "out of office",
	    "out of the office", "auto:", "autoreply", "auto-reply",
	    "auto reply", "automatic reply", "autoresponse",
	    "auto response", "vacation", "away from", "away until",
	    "abwesend", "absence", "on leave", "i am away", "is away",
	    "please confirm", "confirm your", "verify your", "challenge",
	    "automatische antwort", "réponse automatique", "congés", NULL };
	static const char *const flags[] = { "X-Autoreply", "X-Autorespond",
	    "X-Autoresponder", "X-Vacation", "X-Mail-Autoreply",
	    "X-Challenge", "X-ASK-Info", "X-TMDA-Fingerprint",
	    "X-Spam-Challenge", NULL };
	GMimeObject *obj = GMIME_OBJECT(msg);
	g_autofree char *subject = NULL, *auto_sub = NULL, *prec = NULL;
	g_autofree char *from = NULL;
	const char *const *f;

	if (msg == NULL)
		return FALSE;
	for (f = flags; *f != NULL; f++)
		if (g_mime_object_get_header(obj, *f) != NULL)
			return TRUE;
	from = bounce_lc_dup(g_mime_object_get_header(obj, "From"));
	if (from != NULL && (strstr(from, "mailer-daemon") != NULL ||
	    strstr(from, "postmaster") != NULL))
		return FALSE;
	prec = bounce_lc_dup(g_mime_object_get_header(obj, "Precedence"));
	if (prec != NULL && strstr(prec, "auto_reply") != NULL)
		return TRUE;
	subject = bounce_lc_dup(g_mime_message_get_subject(msg));
	auto_sub = bounce_lc_dup(g_mime_object_get_header(obj,
	    "Auto-Submitted"));
	if (auto_sub != NULL && strstr(auto_sub, "auto-replied") != NULL &&
	    !bounce_contains_any(subject, (const char *const[]){ "deliver",
	    "fail", "undeliver", "returned", NULL }))
		return TRUE;
	return bounce_contains_any(subject, subjects);
}

/* bounce_ctx_init - set up CTX for MSG: walk it, list exclusions. */
static void
bounce_ctx_init(struct bounce_ctx *ctx, GMimeMessage *msg)
{
	GMimeObject *obj = GMIME_OBJECT(msg);

	memset(ctx, 0, sizeof(*ctx));
	ctx->msg = msg;
	ctx->scan.dsn = g_ptr_array_new_with_free_func(bounce_string_free);
	ctx->scan.notice = g_string_new(NULL);
	ctx->scan.orig = g_string_new(NULL);
	ctx->exclude = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
	    NULL);
	ctx->seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
	    NULL);
	ctx->senders = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
	    NULL);
	ctx->report = g_new0(struct bounce_report, 1);
	ctx->report->recipients = g_ptr_array_new_with_free_func(
	    bounce_recipient_free);
	bounce_walk(&ctx->scan, g_mime_message_get_mime_part(msg), 0, FALSE);
	ctx->cut = bounce_notice_cut(ctx->scan.notice);
	if (ctx->scan.orig->len == 0 && ctx->cut < ctx->scan.notice->len) {
		/* the original returned inline, after the marker line */
		const char *p = ctx->scan.notice->str + ctx->cut;
		const char *nl = strchr(p, '\n');

		if (nl != NULL)
			g_string_append(ctx->scan.orig, nl + 1);
	}
	bounce_header_addrs(ctx->exclude, obj, "From");
	bounce_header_addrs(ctx->exclude, obj, "Sender");
	bounce_header_addrs(ctx->exclude, obj, "Reply-To");
	bounce_header_addrs(ctx->exclude, obj, "Return-Path");
	bounce_header_addrs(ctx->exclude, obj, "Message-ID");
	bounce_exclude_orig(ctx);
	bounce_header_addrs(ctx->senders, obj, "To");
	bounce_header_addrs(ctx->senders, obj, "Cc");
}

/* bounce_ctx_clear - free what CTX holds except the report. */
static void
bounce_ctx_clear(struct bounce_ctx *ctx)
{
	g_ptr_array_unref(ctx->scan.dsn);
	g_string_free(ctx->scan.notice, TRUE);
	g_string_free(ctx->scan.orig, TRUE);
	g_hash_table_unref(ctx->exclude);
	g_hash_table_unref(ctx->seen);
	g_hash_table_unref(ctx->senders);
}

/* bounce_drop_daemons - remove mail-system addresses from the report. */
static void
bounce_drop_daemons(struct bounce_ctx *ctx)
{
	GPtrArray *r = ctx->report->recipients;
	guint i = 0;

	while (i < r->len) {
		struct bounce_recipient *x = g_ptr_array_index(r, i);

		if (bounce_is_daemon(x->address))
			g_ptr_array_remove_index(r, i);
		else
			i++;
	}
}

/* bounce_inner_message - the first message attached at the top level of
 * MSG (a notice forwarded whole by a gateway), or NULL. */
static GMimeMessage *
bounce_inner_message(GMimeMessage *msg)
{
	GMimeObject *top = g_mime_message_get_mime_part(msg);
	int i, n;

	if (top != NULL && GMIME_IS_MESSAGE_PART(top))
		return g_mime_message_part_get_message(GMIME_MESSAGE_PART(top));
	if (top == NULL || !GMIME_IS_MULTIPART(top))
		return NULL;
	n = g_mime_multipart_get_count(GMIME_MULTIPART(top));
	for (i = 0; i < n && i < BOUNCE_MAX_PARTS; i++) {
		GMimeObject *p = g_mime_multipart_get_part(GMIME_MULTIPART(top),
		    i);

		if (GMIME_IS_MESSAGE_PART(p))
			return g_mime_message_part_get_message(
			    GMIME_MESSAGE_PART(p));
	}
	return NULL;
}

/* bounce_classify_at - classify MSG, DEPTH messages deep. */
static struct bounce_report *
bounce_classify_at(GMimeMessage *msg, int depth)
{
	struct bounce_ctx ctx;
	gboolean named = FALSE;
	guint i;

	bounce_ctx_init(&ctx, msg);
	if (ctx.scan.feedback)
		goto done;
	for (i = 0; i < ctx.scan.dsn->len; i++)
		named |= bounce_dsn_text(&ctx, g_ptr_array_index(ctx.scan.dsn,
		    i));
	if (!named && strstr(ctx.scan.notice->str, "final-recipient:") != NULL)
		named = bounce_dsn_text(&ctx, ctx.scan.notice);
	bounce_drop_daemons(&ctx);
	if (ctx.report->recipients->len > 0)
		ctx.report->method = "dsn";
	if (named)
		goto done;
	if (bounce_is_autoreply(msg) || !bounce_looks_like_notice(&ctx))
		goto done;
	bounce_text_scan(&ctx);
	if (ctx.report->recipients->len == 0)
		bounce_original_recipient(&ctx);
	bounce_drop_daemons(&ctx);
done:
	bounce_ctx_clear(&ctx);
	if (ctx.report->recipients->len == 0 && !ctx.scan.feedback &&
	    !named && depth < 2) {
		GMimeMessage *inner = bounce_inner_message(msg);

		if (inner != NULL) {
			struct bounce_report *r = bounce_classify_at(inner,
			    depth + 1);

			if (r->recipients->len > 0) {
				bounce_report_free(ctx.report);
				return r;
			}
			bounce_report_free(r);
		}
	}
	return ctx.report;
}

/* bounce_classify - see bounce.h. */
gboolean
bounce_classify(GMimeMessage *msg, struct bounce_report **out,
    GError **error)
{
	*out = NULL;
	if (msg == NULL) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_DATA,
		    "no message to classify");
		return FALSE;
	}
	*out = bounce_classify_at(msg, 0);
	return TRUE;
}

/* ------------------------------------------------------------------ */
/* Complaints */

/* bounce_is_complaint - see bounce.h. */
gboolean
bounce_is_complaint(GMimeMessage *msg)
{
	struct bounce_scan scan = { 0 };

	if (msg == NULL)
		return FALSE;
	scan.dsn = g_ptr_array_new_with_free_func(bounce_string_free);
	scan.notice = g_string_new(NULL);
	scan.orig = g_string_new(NULL);
	bounce_walk(&scan, g_mime_message_get_mime_part(msg), 0, FALSE);
	g_ptr_array_unref(scan.dsn);
	g_string_free(scan.notice, TRUE);
	g_string_free(scan.orig, TRUE);
	return scan.feedback;
}

/* bounce_complaint_free - free COMPLAINT; NULL is fine. */
void
bounce_complaint_free(struct bounce_complaint *c)
{
	if (c == NULL)
		return;
	g_free(c->feedback_type);
	g_free(c->recipient);
	g_free(c->user_agent);
	if (c->original_headers != NULL)
		g_object_unref(c->original_headers);
	g_free(c);
}

/* bounce_complaint_walk - fill C from the parts of an ARF report. */
static void
bounce_complaint_walk(struct bounce_complaint *c, GMimeObject *obj,
    int depth)
{
	GMimeContentType *ct;

	if (obj == NULL || depth > BOUNCE_MAX_DEPTH)
		return;
	ct = g_mime_object_get_content_type(obj);
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		int i, n = g_mime_multipart_get_count(mp);

		for (i = 0; i < n && i < BOUNCE_MAX_PARTS; i++)
			bounce_complaint_walk(c, g_mime_multipart_get_part(mp,
			    i), depth + 1);
	} else if (GMIME_IS_MESSAGE_PART(obj) && c->original_headers == NULL) {
		GMimeMessage *m = g_mime_message_part_get_message(
		    GMIME_MESSAGE_PART(obj));
		GMimeHeaderList *src;
		int i, n;

		if (m == NULL)
			return;
		src = g_mime_object_get_header_list(GMIME_OBJECT(m));
		c->original_headers = g_mime_header_list_new(NULL);
		n = g_mime_header_list_get_count(src);
		for (i = 0; i < n && i < 500; i++) {
			GMimeHeader *h = g_mime_header_list_get_header_at(src, i);

			g_mime_header_list_append(c->original_headers,
			    g_mime_header_get_name(h),
			    g_mime_header_get_value(h), NULL);
		}
	} else if (GMIME_IS_PART(obj) &&
	    bounce_type_is(ct, "message", "feedback-report")) {
		g_autoptr(GString) s = g_string_new(NULL);
		GPtrArray *blocks;
		guint i;

		bounce_part_text(GMIME_PART(obj), s);
		blocks = bounce_blocks_parse(s->str, s->len);
		for (i = 0; i < blocks->len; i++) {
			GPtrArray *b = g_ptr_array_index(blocks, i);
			const char *v;

			if (c->feedback_type == NULL &&
			    (v = bounce_block_get(b, "feedback-type")) != NULL)
				c->feedback_type = g_strdup(v);
			if (c->user_agent == NULL &&
			    (v = bounce_block_get(b, "user-agent")) != NULL)
				c->user_agent = g_strdup(v);
			if (c->recipient == NULL)
				c->recipient = bounce_first_addr(
				    bounce_block_get(b, "original-rcpt-to"));
			if (c->recipient == NULL)
				c->recipient = bounce_first_addr(
				    bounce_block_get(b, "removal-recipient"));
		}
		g_ptr_array_unref(blocks);
	}
}

/* bounce_complaint_parse - see bounce.h. When the report names no
 * Original-Rcpt-To, the original's To is the complained-of recipient if
 * it holds exactly one address. */
struct bounce_complaint *
bounce_complaint_parse(GMimeMessage *msg)
{
	struct bounce_complaint *c;

	if (!bounce_is_complaint(msg))
		return NULL;
	c = g_new0(struct bounce_complaint, 1);
	bounce_complaint_walk(c, g_mime_message_get_mime_part(msg), 0);
	if (c->recipient == NULL && c->original_headers != NULL) {
		const char *to = g_mime_header_list_get_header(
		    c->original_headers, "To") != NULL ?
		    g_mime_header_get_value(g_mime_header_list_get_header(
		    c->original_headers, "To")) : NULL;
		gsize pos = 0, start;
		char *a, *b;

		if (to != NULL &&
		    (a = bounce_addr_next(to, strlen(to), &pos, &start)) != NULL) {
			b = bounce_addr_next(to, strlen(to), &pos, &start);
			if (b == NULL)
				c->recipient = a;
			else {
				g_free(a);
				g_free(b);
			}
		}
	}
	return c;
}

/* ------------------------------------------------------------------ */
/* VERP */

/* bounce_verp_scan - add the "…-bounces+TOKEN" local parts in V to OUT. */
static void
bounce_verp_scan(GPtrArray *out, GHashTable *seen, const char *v)
{
	gsize pos = 0, start, len;
	char *a;

	if (v == NULL)
		return;
	len = strlen(v);
	while ((a = bounce_addr_next(v, len, &pos, &start)) != NULL) {
		char *at = strchr(a, '@'), *plus;

		*at = '\0';
		plus = strstr(a, "-bounces+");
		if (plus != NULL && plus > a && plus[9] != '\0' &&
		    !g_hash_table_contains(seen, a)) {
			/* keep the case as written: tokens may be case-sensitive */
			char *orig = g_strndup(v + start, (gsize)(at - a));

			g_hash_table_add(seen, g_strdup(a));
			g_ptr_array_add(out, orig);
		}
		g_free(a);
	}
}

/* bounce_verp_candidates - see bounce.h. */
GPtrArray *
bounce_verp_candidates(GMimeMessage *msg)
{
	static const char *const outer[] = { "Delivered-To", "X-Original-To",
	    "Envelope-To", "X-Envelope-To", "To", NULL };
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	GHashTable *seen;
	const char *const *n;
	GMimeHeaderList *hl;
	struct bounce_scan scan = { 0 };
	int i, c;

	if (msg == NULL)
		return out;
	seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	hl = g_mime_object_get_header_list(GMIME_OBJECT(msg));
	c = g_mime_header_list_get_count(hl);
	for (n = outer; *n != NULL; n++)
		for (i = 0; i < c && i < 500; i++) {
			GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);

			if (g_ascii_strcasecmp(g_mime_header_get_name(h), *n) == 0)
				bounce_verp_scan(out, seen,
				    g_mime_header_get_raw_value(h));
		}
	scan.dsn = g_ptr_array_new_with_free_func(bounce_string_free);
	scan.notice = g_string_new(NULL);
	scan.orig = g_string_new(NULL);
	bounce_walk(&scan, g_mime_message_get_mime_part(msg), 0, FALSE);
	{
		g_autofree char *hdr = g_strconcat("\n", scan.orig->str, NULL);
		static const char *const inner[] = { "\nreturn-path:",
		    "\nsender:", "\nerrors-to:", NULL };

		for (n = inner; *n != NULL; n++) {
			const char *p = strstr(hdr, *n), *e;
			g_autofree char *v = NULL;

			if (p == NULL)
				continue;
			p += strlen(*n);
			e = strchr(p, '\n');
			v = e != NULL ? g_strndup(p, (gsize)(e - p)) :
			    g_strdup(p);
			bounce_verp_scan(out, seen, v);
		}
	}
	g_ptr_array_unref(scan.dsn);
	g_string_free(scan.notice, TRUE);
	g_string_free(scan.orig, TRUE);
	g_hash_table_unref(seen);
	return out;
}
