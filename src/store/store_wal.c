/*
 * store_wal.c - the WAL of a short-lived writer, kept on close and cut
 * back past a number of frames (see store_wal.h). SQLite's own hooks:
 * another backend has nothing to do here.
 *
 * Must stay true: nothing here waits for a lock (the busy timeout is 0
 * for the trim) and nothing here can lose a committed transaction.
 */
#include <sqlite3.h>

#include "herald.h"
#include "store.h"
#include "store_sqlite.h"
#include "store_wal.h"

/* store_wal_hook - after each commit: the frames in the WAL, in *ARG;
 * no checkpoint here */
static int
store_wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	*(int *)arg = frames;
	return SQLITE_OK;
}

/* store_wal_keep - see store_wal.h */
void
store_wal_keep(struct store *store, int *frames)
{
	int on = 1;

	if (store->db == NULL)	/* PostgreSQL: no WAL of ours */
		return;
	sqlite3_db_config(store->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	sqlite3_file_control(store->db, "main", SQLITE_FCNTL_PERSIST_WAL, &on);
	sqlite3_wal_hook(store->db, store_wal_hook, frames);
}

/* store_wal_trim - see store_wal.h */
void
store_wal_trim(struct store *store, int frames)
{
	if (store == NULL || store->db == NULL ||
	    frames < STORE_WAL_TRIM_FRAMES)
		return;
	sqlite3_busy_timeout(store->db, 0);
	sqlite3_wal_checkpoint_v2(store->db, "main", SQLITE_CHECKPOINT_TRUNCATE,
	    NULL, NULL);
}
