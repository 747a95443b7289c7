/*
 * json_out.h - a small streaming JSON writer for the --json output of the
 * commands: values go straight to a FILE as they come, so a listing of a
 * million rows needs no memory of its own.
 *
 * Must stay true: the output is valid JSON (RFC 8259) whatever the
 * strings hold: control characters are escaped, and bytes that are not
 * UTF-8 become U+FFFD, so a stored subject with raw 8-bit bytes still
 * parses. Nesting is bounded by JSON_OUT_DEPTH (a programming error past
 * it). Separators are ", " and ": "; json_out_end_line() ends a document
 * (one document a line: the JSON lines of sub export).
 */
#ifndef HERALD_JSON_OUT_H
#define HERALD_JSON_OUT_H

#include <stdio.h>
#include <glib.h>

#define JSON_OUT_DEPTH	16

struct json_out {
	FILE *fp;
	int depth;
	gboolean first[JSON_OUT_DEPTH];	/* no value yet at this depth */
	char close[JSON_OUT_DEPTH];	/* what ends this depth: } or ] */
	gboolean keyed;			/* a key was just written */
};

void json_out_init(struct json_out *j, FILE *fp);
void json_out_object(struct json_out *j);	/* { */
void json_out_array(struct json_out *j);	/* [ */
void json_out_end(struct json_out *j);		/* } or ] */
void json_out_key(struct json_out *j, const char *key);
void json_out_string(struct json_out *j, const char *s);	/* NULL: null */
void json_out_int(struct json_out *j, gint64 n);
void json_out_double(struct json_out *j, double d);	/* not finite: null */
void json_out_bool(struct json_out *j, gboolean b);
void json_out_null(struct json_out *j);
/* json_out_time - unix time T as "YYYY-MM-DDTHH:MM:SSZ", 0: null */
void json_out_time(struct json_out *j, gint64 t);
void json_out_end_line(struct json_out *j);	/* newline, ready for the next */

/* key and value in one call */
void json_out_kstring(struct json_out *j, const char *key, const char *s);
void json_out_kint(struct json_out *j, const char *key, gint64 n);
void json_out_kdouble(struct json_out *j, const char *key, double d);
void json_out_kbool(struct json_out *j, const char *key, gboolean b);
void json_out_ktime(struct json_out *j, const char *key, gint64 t);

#endif
