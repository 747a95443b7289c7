/*
 * json_out.c - the streaming JSON writer of json_out.h: each value first
 * writes the separator its position needs (", " after a sibling, nothing
 * after a key or at the start), then itself.
 */
#include <math.h>
#include <string.h>

#include "json_out.h"

/* json_out_init - a writer on FP, at the top level */
void
json_out_init(struct json_out *j, FILE *fp)
{
	memset(j, 0, sizeof(*j));
	j->fp = fp;
	j->first[0] = TRUE;
}

/* json_out_sep - the separator before a value or a key */
static void
json_out_sep(struct json_out *j)
{
	if (j->keyed) {
		j->keyed = FALSE;
		return;
	}
	if (!j->first[j->depth])
		fputs(", ", j->fp);
	j->first[j->depth] = FALSE;
}

/* json_out_open - { or [ (C), closed by CLOSE */
static void
json_out_open(struct json_out *j, int c, char close)
{
	json_out_sep(j);
	g_assert(j->depth + 1 < JSON_OUT_DEPTH);
	fputc(c, j->fp);
	j->first[++j->depth] = TRUE;
	j->close[j->depth] = close;
}

void
json_out_object(struct json_out *j)
{
	json_out_open(j, '{', '}');
}

void
json_out_array(struct json_out *j)
{
	json_out_open(j, '[', ']');
}

/* json_out_end - close what the last open call opened */
void
json_out_end(struct json_out *j)
{
	g_assert(j->depth > 0 && !j->keyed);
	fputc(j->close[j->depth], j->fp);
	j->depth--;
}

/* json_out_raw_string - S as a JSON string */
static void
json_out_raw_string(struct json_out *j, const char *s)
{
	g_autofree char *valid = NULL;
	const unsigned char *p;

	if (!g_utf8_validate(s, -1, NULL))
		s = valid = g_utf8_make_valid(s, -1);
	fputc('"', j->fp);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		switch (*p) {
		case '"':	fputs("\\\"", j->fp); break;
		case '\\':	fputs("\\\\", j->fp); break;
		case '\n':	fputs("\\n", j->fp); break;
		case '\r':	fputs("\\r", j->fp); break;
		case '\t':	fputs("\\t", j->fp); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(j->fp, "\\u%04x", *p);
			else
				fputc(*p, j->fp);
		}
	}
	fputc('"', j->fp);
}

void
json_out_key(struct json_out *j, const char *key)
{
	json_out_sep(j);
	json_out_raw_string(j, key);
	fputs(": ", j->fp);
	j->keyed = TRUE;
}

void
json_out_string(struct json_out *j, const char *s)
{
	if (s == NULL) {
		json_out_null(j);
		return;
	}
	json_out_sep(j);
	json_out_raw_string(j, s);
}

void
json_out_int(struct json_out *j, gint64 n)
{
	json_out_sep(j);
	fprintf(j->fp, "%" G_GINT64_FORMAT, n);
}

void
json_out_double(struct json_out *j, double d)
{
	char buf[G_ASCII_DTOSTR_BUF_SIZE];

	if (!isfinite(d)) {
		json_out_null(j);
		return;
	}
	json_out_sep(j);
	fputs(g_ascii_formatd(buf, sizeof(buf), "%.3f", d), j->fp);
}

void
json_out_bool(struct json_out *j, gboolean b)
{
	json_out_sep(j);
	fputs(b ? "true" : "false", j->fp);
}

void
json_out_null(struct json_out *j)
{
	json_out_sep(j);
	fputs("null", j->fp);
}

void
json_out_time(struct json_out *j, gint64 t)
{
	g_autoptr(GDateTime) dt = t > 0 ? g_date_time_new_from_unix_utc(t) :
	    NULL;
	g_autofree char *s = dt != NULL ?
	    g_date_time_format(dt, "%Y-%m-%dT%H:%M:%SZ") : NULL;

	json_out_string(j, s);
}

/* json_out_end_line - end a top-level document */
void
json_out_end_line(struct json_out *j)
{
	fputc('\n', j->fp);
	j->first[0] = TRUE;
	j->keyed = FALSE;
}

void
json_out_kstring(struct json_out *j, const char *key, const char *s)
{
	json_out_key(j, key);
	json_out_string(j, s);
}

void
json_out_kint(struct json_out *j, const char *key, gint64 n)
{
	json_out_key(j, key);
	json_out_int(j, n);
}

void
json_out_kdouble(struct json_out *j, const char *key, double d)
{
	json_out_key(j, key);
	json_out_double(j, d);
}

void
json_out_kbool(struct json_out *j, const char *key, gboolean b)
{
	json_out_key(j, key);
	json_out_bool(j, b);
}

void
json_out_ktime(struct json_out *j, const char *key, gint64 t)
{
	json_out_key(j, key);
	json_out_time(j, t);
}
