/*
 * store_backup.h - which backend holds the store, and a consistent copy
 * of a live SQLite store (herald backup).
 *
 * Must stay true: a copy is one snapshot (one read transaction of the
 * source), is written beside FILE and renamed into place only once it is
 * complete, synced and has passed an integrity check, so FILE is either
 * the old file (or absent) or a whole, checked copy.
 */
#ifndef HERALD_STORE_BACKUP_H
#define HERALD_STORE_BACKUP_H

#include "store.h"


/* what a copy held */
struct store_backup_info {
	gint64 pages;		/* database pages copied */
	gint64 bytes;		/* size of the file written */
	int schema;		/* schema version of the copy */
};

/* store_backup - copy STORE (SQLite only: another backend is a PERM
 * error) to the file DEST, replacing it only when REPLACE (else an
 * existing DEST is CANTCREAT); the copy is a single file (rollback
 * journal mode; WAL comes back when herald opens it). Writers in other
 * processes go on meanwhile. FALSE and *ERROR on failure, DEST untouched. */
gboolean store_backup(struct store *store, const char *dest, gboolean replace,
    struct store_backup_info *info, GError **error);

#endif
