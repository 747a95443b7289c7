/*
 * segment.h - segment expressions over subscriber fields and attributes,
 * compiled to SQL with bound parameters.
 *
 *   role in ("developer", "maintainer") and region = "us-east"
 *   not exists(company)      email ~ "*@citrix.com"
 *   subscribed < "2014-06-01"    name != "x"    (a or b) and not c
 *
 * Fields: email, name, subscribed (membership date, "YYYY-MM-DD[ HH:MM]"),
 * created; any other name is an attribute. Operators: = != < <= > >= ~
 * (glob, case-insensitive) in (…), exists(NAME), and, or, not, parentheses.
 * Values are double-quoted strings; every value becomes a bound parameter,
 * never SQL text. A syntax error is a DATA error "column N: what".
 *
 * The SQL refers to the subscriber as "s" (subscribers) and the membership
 * as "m" (memberships); callers join those aliases.
 */
#ifndef HERALD_SEGMENT_H
#define HERALD_SEGMENT_H

#include <glib.h>
#include "store.h"

struct segment;

struct segment *segment_compile(const char *expr, GError **error);
void segment_free(struct segment *seg);

/* segment_to_sql - append a parenthesised boolean SQL expression to SQL,
 * with a "?" for each value, and append the values (borrowed strings, in
 * order) to PARAMS. Call it again to use the expression twice. */
void segment_to_sql(const struct segment *seg, GString *sql, GPtrArray *params);

/* segment_bind - bind PARAMS (from segment_to_sql) as text from index FIRST */
void segment_bind(sqlite3_stmt *st, int first, GPtrArray *params);

/* segment_count - active members of LIST_ID matching SEG */
gint64 segment_count(struct store *store, gint64 list_id,
    const struct segment *seg, GError **error);

/* g_autoptr needs a type name: this typedef exists for it alone */
typedef struct segment segment;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(segment, segment_free)

#endif
