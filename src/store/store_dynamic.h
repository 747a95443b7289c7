/*
 * store_dynamic.h - statements whose SQL is built at run time, for the
 * store's own files (a segment's condition, a multi-row INSERT): the
 * values come in an array instead of a list ending in SQ_END, and are
 * bound to ?1, ?2, ... in order. Nothing outside src/store/ includes this.
 *
 * Must stay true: SQL built here holds no value given by a user, only
 * numbered parameters (store_segment.c numbers a segment's own).
 */
#ifndef HERALD_STORE_DYNAMIC_H
#define HERALD_STORE_DYNAMIC_H

#include <glib.h>
#include "store.h"

/* store_select_dynamic - SQL (copied) prepared for this query alone and
 * finalized when it ends: for text that seldom repeats (segments) */
struct store_rows *store_select_dynamic(struct store *store, const char *sql,
    const struct store_arg *args, guint nargs, GError **error);

/* store_select_array - as store_select, cached by SQL, which must outlive
 * the store (a literal, or g_intern_string's): for a few texts built
 * once and run again and again (the subscriber writer's batches) */
struct store_rows *store_select_array(struct store *store, const char *sql,
    const struct store_arg *args, guint nargs, GError **error);

/* store_finish - step ROWS (NULL: FALSE, the error already set) to their
 * end and free them: a write */
gboolean store_finish(struct store_rows *rows, GError **error);

#endif
