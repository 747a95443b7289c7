/*
 * store_admin.h - what the administrator's commands read of the lists
 * and their members: counts by status (herald lists), a segment's
 * addresses (herald segment --list), the members with their attributes
 * (herald sub export); the settings of a bulk import (herald sub
 * import); and the version of the database engine (herald version).
 *
 * Must stay true: the reads change nothing. A segment's condition comes
 * from segment.h and its values are bound, never spliced into SQL. The
 * strings a callback gets belong to the row: they last for the call.
 */
#ifndef HERALD_STORE_ADMIN_H
#define HERALD_STORE_ADMIN_H

#include <glib.h>
#include "segment.h"
#include "store.h"

/* store_list_status_counts - how many members of list NAME have each of
 * the N STATUSES (MEMBER_*), into COUNTS[0..N-1]; 0 for a status none
 * has, and for a list with no row yet */
gboolean store_list_status_counts(struct store *store, const char *name,
    const char *const *statuses, guint n, gint64 *counts, GError **error);

/* store_segment_moves - the members of list NAME that preference edits
 * on the web moved into or out of a segment since SINCE (unix time): FN
 * gets each segment named, LEFT (TRUE: out of it, FALSE: into it) and
 * how many distinct subscribers, in no particular order */
gboolean store_segment_moves(struct store *store, const char *name,
    gint64 since, void (*fn)(const char *segment, gboolean left,
    gint64 count, gpointer data), gpointer data, GError **error);

/* store_segment_emails - the address of every active member of LIST_ID
 * that SEG matches, in the order they were first added, to FN */
gboolean store_segment_emails(struct store *store, gint64 list_id,
    const struct segment *seg, void (*fn)(const char *email, gpointer data),
    gpointer data, GError **error);

/* one row of an export: a member and one attribute (KEY and VALUE NULL
 * for a member with none); a member's rows come together */
struct store_export_row {
	gint64 id;			/* the subscriber */
	const char *email;
	const char *name;		/* NULL when none */
	const char *key, *value;
};

/* store_export_keys - every attribute key the active members of LIST_ID
 * (only those SEG matches, unless NULL) have, in byte order (char *,
 * the caller's), or NULL and *ERROR */
GPtrArray *store_export_keys(struct store *store, gint64 list_id,
    const struct segment *seg, GError **error);

/* store_export_members - the rows of those members, in the order they
 * were first added, to FN; FN's FALSE (with its *ERROR) stops them */
gboolean store_export_members(struct store *store, gint64 list_id,
    const struct segment *seg,
    gboolean (*fn)(const struct store_export_row *row, gpointer data,
    GError **error), gpointer data, GError **error);

/* store_bulk_settings - ON: the connection set for a bulk import, before
 * its transaction begins (a larger page cache, statement journals in
 * memory, no foreign key or CHECK enforcement: the import's writer only
 * writes ids it has just read or made, and the status 'active'); OFF:
 * enforcement back on (cache size and journals stay for the command) */
gboolean store_bulk_settings(struct store *store, gboolean on,
    GError **error);

/* store_engine_version - the database library's version, as it runs */
const char *store_engine_version(void);

#endif
