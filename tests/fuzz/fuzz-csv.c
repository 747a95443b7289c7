/*
 * fuzz-csv.c - libFuzzer target: arbitrary bytes as a CSV file through
 * csv.c's reader, as herald sub import reads one, and every good record
 * back through the writer's quoting (as herald sub export writes it).
 *
 * Must stay true: every input returns; a bad record says why; the good
 * records, written with csv_append_field and read again, come back the
 * same, field for field.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "herald.h"
#include "csv.h"
#include "fuzz.h"

/* fuzz_csv_file - stream SLOT (0 or 1) holding a copy of DATA, from its
 * start: the reader read()s its descriptor, so it must be a real one
 * (fmemopen has none); one memory file per slot for the process, made
 * once (making one per input cost more than the parsing) */
static FILE *
fuzz_csv_file(int slot, const void *data, size_t size)
{
	static FILE *files[2];
	int fd;

	if (files[slot] == NULL) {
		if ((fd = memfd_create("fuzz-csv", 0)) < 0 ||
		    (files[slot] = fdopen(fd, "r")) == NULL)
			abort();
	}
	fd = fileno(files[slot]);
	if (ftruncate(fd, 0) != 0 ||
	    pwrite(fd, data, size, 0) != (ssize_t)size ||
	    lseek(fd, 0, SEEK_SET) != 0)
		abort();
	return files[slot];
}

/* fuzz_csv_again - RECORDS (GStrv each) written and read back are
 * themselves */
static void
fuzz_csv_again(GPtrArray *records)
{
	/* a blank line first: a byte order mark is only looked for at the
	 * very start, and a first field may begin with one */
	g_autoptr(GString) text = g_string_new("\n");
	g_autoptr(csv_reader) r = NULL;
	FILE *fp;
	guint i, j;

	for (i = 0; i < records->len; i++) {
		char **f = g_ptr_array_index(records, i);

		for (j = 0; f[j] != NULL; j++) {
			if (j > 0)
				g_string_append_c(text, ',');
			csv_append_field(text, f[j]);
		}
		g_string_append(text, "\r\n");
	}
	fp = fuzz_csv_file(1, text->str, text->len);
	r = csv_reader_new(fp);
	for (i = 0; i < records->len; i++) {
		char **f = g_ptr_array_index(records, i);

		if (csv_read(r, NULL) != CSV_RECORD ||
		    csv_nfields(r) != g_strv_length(f))
			abort();
		for (j = 0; f[j] != NULL; j++)
			if (strcmp(csv_field(r, j), f[j]) != 0)
				abort();
	}
	if (csv_read(r, NULL) != CSV_EOF)
		abort();
}

/* fuzz_csv - read DATA as a CSV file to its end */
int
fuzz_csv(const uint8_t *data, size_t size)
{
	g_autoptr(csv_reader) r = NULL;
	g_autoptr(GPtrArray) records = g_ptr_array_new_with_free_func(
	    (GDestroyNotify)g_strfreev);
	enum csv_result res;
	GError *error = NULL;
	FILE *fp;
	guint i;

	fp = fuzz_csv_file(0, data, size);
	r = csv_reader_new(fp);
	while ((res = csv_read(r, &error)) != CSV_EOF && res != CSV_ERROR) {
		char **f;

		if (csv_line(r) < 1)
			abort();
		if (res == CSV_BAD) {
			if (csv_why(r) == NULL)
				abort();
			continue;
		}
		/* one empty field is a blank line: skipped, by design */
		if (csv_nfields(r) == 1 && *csv_field(r, 0) == '\0')
			continue;
		f = g_new0(char *, csv_nfields(r) + 1);
		for (i = 0; i < csv_nfields(r); i++)
			f[i] = g_strdup(csv_field(r, i));
		g_ptr_array_add(records, f);
	}
	if (res == CSV_ERROR)
		abort();	/* a memory file cannot fail */
	g_clear_pointer(&r, csv_reader_free);
	fuzz_csv_again(records);
	return 0;
}

#ifndef FUZZ_REPLAY
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_csv(data, size);
}
#endif
