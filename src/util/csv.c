/*
 * csv.c - RFC 4180 CSV, read as a stream.
 *
 * The reader fills a 64 KiB buffer with read() and walks it a byte at a
 * time through a small state machine; fields go into one GString separated
 * by NULs, with their offsets kept aside, so a record costs no allocation
 * once the buffers have grown to the longest record seen.
 *
 * Leniency: LF alone ends a line as well as CRLF (files from Unix tools).
 * Strictness: a quote inside an unquoted field, text after a closing quote,
 * a NUL byte or invalid UTF-8 make the record bad; a quoted field still open
 * at the end of the file is bad.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "herald.h"
#include "csv.h"

#define CSV_BUFSIZE 65536

struct csv_reader {
	FILE *fp;
	unsigned char buf[CSV_BUFSIZE];
	size_t len, pos;
	gboolean eof, started;
	int line;		/* the line the reader is on */
	int record_line;	/* the line the last record started on */
	GString *data;		/* the fields, NUL-separated */
	GArray *offsets;	/* guint: where each field starts in data */
	const char *why;
	int read_errno;
};

/* csv_reader_new - a reader over FP */
struct csv_reader *
csv_reader_new(FILE *fp)
{
	struct csv_reader *r = g_new0(struct csv_reader, 1);

	r->fp = fp;
	r->line = 1;
	r->data = g_string_sized_new(256);
	r->offsets = g_array_new(FALSE, FALSE, sizeof(guint));
	return r;
}

/* csv_reader_free - free the reader (FP stays open) */
void
csv_reader_free(struct csv_reader *r)
{
	if (r == NULL)
		return;
	g_string_free(r->data, TRUE);
	g_array_unref(r->offsets);
	g_free(r);
}

/* csv_getc - the next byte, or -1 at the end (or on a read error) */
static inline int
csv_getc(struct csv_reader *r)
{
	if (r->pos == r->len) {
		if (r->eof)
			return -1;
		ssize_t n;

		/* read(2), not fread(3): a pipe yields what it has, so the
		 * rows are handled as they arrive */
		do
			n = read(fileno(r->fp), r->buf, sizeof(r->buf));
		while (n < 0 && errno == EINTR);
		r->pos = 0;
		r->len = n > 0 ? (size_t)n : 0;
		if (n <= 0) {
			r->eof = TRUE;
			if (n < 0)
				r->read_errno = errno;
			return -1;
		}
	}
	return r->buf[r->pos++];
}

/* csv_peek - the next byte without taking it, or -1 */
static inline int
csv_peek(struct csv_reader *r)
{
	int c = csv_getc(r);

	if (c >= 0)
		r->pos--;
	return c;
}

/* csv_end_field - close the field being built */
static void
csv_end_field(struct csv_reader *r)
{
	g_string_append_c(r->data, '\0');
}

/* csv_begin_field - start another field */
static void
csv_begin_field(struct csv_reader *r)
{
	guint off = r->data->len;

	g_array_append_val(r->offsets, off);
}

/* csv_bad - remember the first fault of this record */
static void
csv_bad(struct csv_reader *r, const char *why)
{
	if (r->why == NULL)
		r->why = why;
}

/* csv_read - one record */
enum csv_result
csv_read(struct csv_reader *r, GError **error)
{
	int c;
	guint i;

again:
	g_string_truncate(r->data, 0);
	g_array_set_size(r->offsets, 0);
	r->why = NULL;
	r->record_line = r->line;
	c = csv_getc(r);
	if (!r->started) {
		r->started = TRUE;
		if (c == 0xef && csv_peek(r) == 0xbb) {
			csv_getc(r);
			if (csv_getc(r) != 0xbf)
				csv_bad(r, "a broken byte order mark");
			c = csv_getc(r);
		}
	}
	if (c < 0)
		goto end;
	if (c == '\n' || (c == '\r' && csv_peek(r) == '\n')) {
		if (c == '\r')
			csv_getc(r);
		r->line++;
		goto again;		/* a blank line */
	}
	csv_begin_field(r);
	for (;;) {
		if (c == '"' && r->data->len == g_array_index(r->offsets, guint,
		    r->offsets->len - 1)) {
			/* a quoted field */
			for (;;) {
				c = csv_getc(r);
				if (c < 0) {
					csv_bad(r, "a quoted field is never closed");
					csv_end_field(r);
					goto done;
				}
				if (c == '"') {
					if (csv_peek(r) != '"')
						break;
					csv_getc(r);
				}
				if (c == '\n')
					r->line++;
				if (c == 0)
					csv_bad(r, "a NUL byte");
				g_string_append_c(r->data, c);
			}
			c = csv_getc(r);
			if (c != ',' && c != '\n' && c != '\r' && c >= 0) {
				csv_bad(r, "text after a closing quote");
				while (c >= 0 && c != ',' && c != '\n')
					c = csv_getc(r);
			}
		}
		if (c == '\r' && csv_peek(r) == '\n')
			c = csv_getc(r);
		if (c < 0 || c == '\n') {
			csv_end_field(r);
			if (c == '\n')
				r->line++;
			goto done;
		}
		if (c == ',') {
			csv_end_field(r);
			csv_begin_field(r);
		} else {
			if (c == '"')
				csv_bad(r, "a quote inside an unquoted field");
			if (c == 0)
				csv_bad(r, "a NUL byte");
			g_string_append_c(r->data, c);
		}
		c = csv_getc(r);
	}
done:
	if (r->why == NULL)
		for (i = 0; i < r->offsets->len; i++)
			if (!g_utf8_validate(csv_field(r, i), -1, NULL)) {
				csv_bad(r, "invalid UTF-8");
				break;
			}
	return r->why != NULL ? CSV_BAD : CSV_RECORD;
end:
	if (r->read_errno != 0) {
		g_set_error(error, HERALD_ERROR, herald_errno_class(r->read_errno),
		    "reading: %s", g_strerror(r->read_errno));
		return CSV_ERROR;
	}
	return CSV_EOF;
}

guint
csv_nfields(const struct csv_reader *r)
{
	return r->offsets->len;
}

const char *
csv_field(const struct csv_reader *r, guint i)
{
	return r->data->str + g_array_index(r->offsets, guint, i);
}

int
csv_line(const struct csv_reader *r)
{
	return r->record_line;
}

const char *
csv_why(const struct csv_reader *r)
{
	return r->why;
}

/* csv_append_field - one field, quoted if it must be */
void
csv_append_field(GString *out, const char *field)
{
	const char *p;

	if (field == NULL)
		return;
	if (strpbrk(field, ",\"\r\n") == NULL) {
		g_string_append(out, field);
		return;
	}
	g_string_append_c(out, '"');
	for (p = field; *p != '\0'; p++) {
		if (*p == '"')
			g_string_append_c(out, '"');
		g_string_append_c(out, *p);
	}
	g_string_append_c(out, '"');
}
