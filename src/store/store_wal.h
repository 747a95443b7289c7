/*
 * store_wal.h - the write-ahead log of a short-lived writer (one herald
 * pipe per message): its connection leaves the WAL in place on close,
 * and the WAL is cut back now and then instead of at every close.
 *
 * The first connection to open the database - every pipe, when nothing
 * else has it open - finds its -shm truncated by the unix VFS and rebuilds
 * the WAL index from every valid frame of the WAL, and that rebuild
 * forgets what was checkpointed: SQLite's auto-checkpoint then copies the
 * whole WAL again on each commit and never restarts it, so the WAL and
 * every pipe's start-up grew without bound (70 MB and tens of ms after a
 * few thousand messages). So the writer counts the WAL's frames after its
 * commit (store_wal_keep) and, past STORE_WAL_TRIM_FRAMES, checkpoints and
 * truncates it before it closes (store_wal_trim), not waiting for anyone:
 * when another process has the database open, the index is not rebuilt,
 * and that process's own close checkpoints.
 *
 * Must stay true: store_wal_trim comes after the outcome is committed; a
 * failure there changes nothing but speed.
 */
#ifndef HERALD_STORE_WAL_H
#define HERALD_STORE_WAL_H

#include "store.h"

/* the frames in the WAL past which store_wal_trim cuts it */
#define STORE_WAL_TRIM_FRAMES	64

/* store_wal_keep - no checkpoint and no unlink of the WAL when STORE
 * closes; after each commit the WAL's frames in *FRAMES, and no
 * checkpoint then either (this replaces the auto-checkpoint) */
void store_wal_keep(struct store *store, int *frames);

/* store_wal_trim - with FRAMES at STORE_WAL_TRIM_FRAMES or more, copy the
 * WAL into the database and truncate it, if no one else is busy with it
 * (STORE may be NULL: nothing) */
void store_wal_trim(struct store *store, int frames);

#endif
