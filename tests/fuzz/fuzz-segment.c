/*
 * fuzz-segment.c - libFuzzer target: arbitrary text through the segment
 * language's compiler (segment.c), and what it compiles counted on a
 * real database, as herald segment --where does.
 *
 * Must stay true: every input returns; an expression that compiles
 * becomes SQL that SQLite takes and runs (segment_count succeeds), with
 * one bound value for each "?".
 */
#include <stdlib.h>
#include <string.h>

#include "herald.h"
#include "fuzz.h"
#include "segment.h"
#include "store.h"
#include "store_segment.h"

/* fuzz_segment - compile DATA (up to a NUL, as a C string) and count it */
int
fuzz_segment(const uint8_t *data, size_t size)
{
	static struct store *store;
	g_autofree char *expr = g_strndup((const char *)data, size);
	g_autoptr(segment) seg = NULL;
	g_autoptr(GString) sql = g_string_new(NULL);
	g_autoptr(GArray) args = g_array_new(FALSE, FALSE, sizeof(struct store_arg));
	GError *error = NULL;
	const char *p;
	guint marks = 0;

	if (store == NULL) {
		struct fuzz_instance *fi = fuzz_instance();

		if ((store = store_open(fi->config->database,
		    STORE_OPEN_READONLY, NULL)) == NULL)
			abort();
	}
	if ((seg = segment_compile(expr, &error)) == NULL) {
		if (error == NULL || error->domain != HERALD_ERROR ||
		    error->code != HERALD_ERROR_DATA)
			abort();
		g_clear_error(&error);
		return 0;
	}
	store_segment_sql(seg, sql, args);
	for (p = sql->str; (p = strchr(p, '?')) != NULL; p++)
		marks++;
	if (marks != args->len)
		abort();
	if (store_segment_count(store, 1, seg, &error) < 0) {
		g_printerr("segment %s: %s\n", expr, error->message);
		abort();
	}
	return 0;
}

#ifndef FUZZ_REPLAY
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_segment(data, size);
}
#endif
