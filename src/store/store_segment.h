/*
 * store_segment.h - a segment's condition (core/segment.h's tree) as SQL
 * with bound parameters, and the queries of the store that select a
 * list's active members by one.
 *
 * The SQL refers to the subscriber as "s" (subscribers) and the membership
 * as "m" (memberships); a caller joins those aliases. The values travel
 * with the text: store_segment_sql appends them to an array of store_arg,
 * numbering each "?N" after the ones already there, so no caller counts
 * parameters.
 *
 * Must stay true: nothing the user wrote reaches the SQL text; names and
 * values are all parameters.
 */
#ifndef HERALD_STORE_SEGMENT_H
#define HERALD_STORE_SEGMENT_H

#include <glib.h>
#include "segment.h"
#include "store.h"

/* store_segment_sql - append SEG's condition (a parenthesised boolean) to
 * SQL and its values to ARGS (struct store_arg, text borrowed from SEG),
 * numbered ?N from ARGS->len + 1 on. Call it again to use it twice. */
void store_segment_sql(const struct segment *seg, GString *sql, GArray *args);

/* store_segment_select - the rows of HEAD (a "SELECT … FROM memberships m
 * JOIN subscribers s …" whose parameters are none) WHERE m.list_id is
 * LIST_ID, the member is active and matches SEG (NULL: any), then TAIL
 * (an ORDER BY, "" for none) */
struct store_rows *store_segment_select(struct store *store, const char *head,
    gint64 list_id, const struct segment *seg, const char *tail,
    GError **error);

/* store_segment_member - 1 when SUB_ID is an active member of LIST_ID
 * that SEG matches, 0 when not, -1 and ERROR when the store fails */
int store_segment_member(struct store *store, gint64 list_id,
    const struct segment *seg, gint64 sub_id, GError **error);

/* store_segment_count - active members of LIST_ID that SEG matches; -1
 * and ERROR when the store fails */
gint64 store_segment_count(struct store *store, gint64 list_id,
    const struct segment *seg, GError **error);

#endif
