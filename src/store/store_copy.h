/*
 * store_copy.h - herald store copy: every row of one store (SQLite or
 * PostgreSQL) into another, empty one whose schema the migrations make,
 * with a checksum per table computed the same way on both sides.
 *
 * Must stay true: a target that holds rows is refused before anything is
 * written to it; the rows go in within one transaction on the target, so
 * a failure leaves it with the schema and no rows; views are not copied.
 */
#ifndef HERALD_STORE_COPY_H
#define HERALD_STORE_COPY_H

#include "store.h"

/* called once per table copied: its rows, and the checksums (64 hex
 * digits) of the source's and the target's rows */
typedef void (*store_copy_fn)(const char *table, gint64 rows,
    gint64 target_rows, const char *source_sum, const char *target_sum,
    void *data);

/* store_copy - SOURCE's rows into TARGET (opened with STORE_OPEN_CREATE):
 * TARGET is migrated to the latest schema, checked empty (else a
 * CANTCREAT error naming it), filled in dependency order in one
 * transaction, its PostgreSQL sequences moved past the ids copied; then
 * REPORT is called per table. A checksum that differs is a SOFTWARE
 * error after the reports. */
gboolean store_copy(struct store *source, struct store *target,
    store_copy_fn report, void *data, GError **error);

/* store_copy_checksum - the checksum of TABLE's rows in STORE (64 hex
 * digits, the caller's) and their number in *ROWS: see store_copy.c */
char *store_copy_checksum(struct store *store, const char *table,
    gint64 *rows, GError **error);

#endif
