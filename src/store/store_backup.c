/*
 * store_backup.c - herald backup's copy of a live SQLite store, through
 * SQLite's online backup API (sqlite3_backup_*), and the name of the
 * store's backend.
 *
 * The copy is made in one sqlite3_backup_step(-1): one read transaction
 * of the source, so it holds the database as one commit left it. In WAL
 * mode a reader blocks no writer: sends, pipes and serve go on writing
 * while it runs (their commits land in the WAL, past the snapshot). It is
 * written to a temporary file beside the destination, switched to a
 * rollback journal (a single self-contained file), checked with PRAGMA
 * integrity_check, synced, and renamed over the destination.
 *
 * Must stay true: the destination is never a half-written file; the
 * source is only read.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <glib/gstdio.h>

#include "herald.h"
#include "store_backend.h"
#include "store_backup.h"
#include "store_sqlite.h"

/* the source busy (a rollback-journal writer, a checkpoint): retries */
#define BACKUP_BUSY_TRIES	100
#define BACKUP_BUSY_SLEEP_US	100000

/* backup_copy - every page of SRC's main database into DST, in one step */
static gboolean
backup_copy(struct store *store, sqlite3 *dst, const char *tmp,
    struct store_backup_info *info, GError **error)
{
	sqlite3_backup *b = sqlite3_backup_init(dst, "main", store->db, "main");
	int rc, tries = 0;

	if (b == NULL) {
		store_sqlite_error(error, dst, sqlite3_errcode(dst),
		    "%s: starting the copy", tmp);
		return FALSE;
	}
	while ((rc = sqlite3_backup_step(b, -1)) == SQLITE_BUSY ||
	    rc == SQLITE_LOCKED) {
		if (++tries >= BACKUP_BUSY_TRIES)
			break;
		g_usleep(BACKUP_BUSY_SLEEP_US);
	}
	info->pages = sqlite3_backup_pagecount(b);
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE) {
		store_sqlite_error(error, NULL, rc, "copying %s", store->path);
		return FALSE;
	}
	return TRUE;
}

/* backup_check - the copy DST made self-contained and checked: rollback
 * journal, integrity_check "ok", its schema version in *SCHEMA */
static gboolean
backup_check(sqlite3 *dst, const char *tmp, int *schema, GError **error)
{
	g_autoptr(sqlite3_stmt) st = NULL;
	const char *verdict;
	int rc;

	rc = sqlite3_exec(dst, "PRAGMA journal_mode = DELETE;", NULL, NULL,
	    NULL);
	if (rc != SQLITE_OK) {
		store_sqlite_error(error, dst, rc, "%s", tmp);
		return FALSE;
	}
	rc = sqlite3_prepare_v2(dst, "PRAGMA integrity_check(1)", -1, &st, NULL);
	if (rc != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
		store_sqlite_error(error, dst, sqlite3_errcode(dst),
		    "%s: checking the copy", tmp);
		return FALSE;
	}
	verdict = (const char *)sqlite3_column_text(st, 0);
	if (verdict == NULL || strcmp(verdict, "ok") != 0) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_SOFTWARE,
		    "%s: the copy fails its integrity check: %s", tmp,
		    verdict != NULL ? verdict : "(no answer)");
		return FALSE;
	}
	g_clear_pointer(&st, sqlite3_finalize);
	if (sqlite3_prepare_v2(dst, "PRAGMA user_version", -1, &st, NULL) ==
	    SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		*schema = sqlite3_column_int(st, 0);
	return TRUE;
}

/* backup_sync - fsync PATH (a file or a folder); errno-based error */
static gboolean
backup_sync(const char *path, GError **error)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) != 0) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		g_set_error(error, HERALD_ERROR, e == ENOSPC || e == EIO ?
		    HERALD_ERROR_TEMP : HERALD_ERROR_CANTCREAT, "%s: %s", path,
		    g_strerror(e));
		return FALSE;
	}
	close(fd);
	return TRUE;
}

/* backup_write - the whole copy into TMP: copied, checked, closed, synced */
static gboolean
backup_write(struct store *store, const char *tmp,
    struct store_backup_info *info, GError **error)
{
	sqlite3 *dst = NULL;
	gboolean ok;
	int rc;

	rc = sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	    NULL);
	if (rc != SQLITE_OK) {
		store_sqlite_error(error, dst, rc, "%s", tmp);
		sqlite3_close_v2(dst);
		return FALSE;
	}
	ok = backup_copy(store, dst, tmp, info, error) &&
	    backup_check(dst, tmp, &info->schema, error);
	rc = sqlite3_close_v2(dst);
	if (ok && rc != SQLITE_OK) {
		store_sqlite_error(error, NULL, rc, "%s: closing the copy", tmp);
		ok = FALSE;
	}
	return ok && backup_sync(tmp, error);
}

/* store_backup - see store_backup.h */
gboolean
store_backup(struct store *store, const char *dest, gboolean replace,
    struct store_backup_info *info, GError **error)
{
	g_autofree char *dir = g_path_get_dirname(dest);
	g_autofree char *base = g_path_get_basename(dest);
	g_autofree char *tmp = g_strdup_printf("%s/.%s.tmp%d", dir, base,
	    (int)getpid());
	GStatBuf sb;

	memset(info, 0, sizeof(*info));
	if (!store_has(store, STORE_ONE_FILE)) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_PERM,
		    "the store is on %s, which herald backup does not copy",
		    store_backend_name(store));
		return FALSE;
	}
	if (!replace && g_lstat(dest, &sb) == 0) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CANTCREAT,
		    "%s exists (--force replaces it)", dest);
		return FALSE;
	}
	g_unlink(tmp);		/* a crashed run's, with our pid */
	if (!backup_write(store, tmp, info, error) ||
	    g_stat(tmp, &sb) != 0 || rename(tmp, dest) != 0) {
		if (error != NULL && *error == NULL)
			g_set_error(error, HERALD_ERROR, HERALD_ERROR_CANTCREAT,
			    "%s: %s", dest, g_strerror(errno));
		g_unlink(tmp);
		return FALSE;
	}
	info->bytes = sb.st_size;
	return backup_sync(dir, error);
}
