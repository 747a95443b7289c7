/*
 * csv.h - RFC 4180 CSV: a streaming reader (quoted fields with commas,
 * doubled quotes and line breaks; CRLF or LF; a UTF-8 byte order mark at
 * the start is skipped) and the writer's quoting.
 *
 * Must stay true: the reader holds one record in memory, never the file;
 * a malformed record is reported (CSV_BAD, with the line it starts on) and
 * reading goes on with the next one.
 */
#ifndef HERALD_CSV_H
#define HERALD_CSV_H

#include <stdio.h>
#include <glib.h>

enum csv_result {
	CSV_RECORD,	/* a record: csv_field(), csv_nfields() */
	CSV_BAD,	/* a malformed record, skipped: csv_why() */
	CSV_EOF,
	CSV_ERROR,	/* a read error: *error is set */
};

struct csv_reader;

/* csv_reader_new - read FP (not closed by the reader) */
struct csv_reader *csv_reader_new(FILE *fp);
void csv_reader_free(struct csv_reader *r);

/* csv_read - the next record; blank lines are skipped */
enum csv_result csv_read(struct csv_reader *r, GError **error);
guint csv_nfields(const struct csv_reader *r);
/* csv_field - field I of the last record (borrowed until the next read) */
const char *csv_field(const struct csv_reader *r, guint i);
/* csv_line - the line the last record started on (1 is the first) */
int csv_line(const struct csv_reader *r);
/* csv_why - what was wrong with the last CSV_BAD record */
const char *csv_why(const struct csv_reader *r);

/* csv_append_field - FIELD to OUT, quoted when it holds , " CR or LF */
void csv_append_field(GString *out, const char *field);

typedef struct csv_reader csv_reader;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(csv_reader, csv_reader_free)

#endif
