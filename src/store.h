/*
 * store.h - the SQLite database: opening it the one right way (WAL, a busy
 * timeout, foreign keys), the schema and its migrations, transactions, and
 * the small queries every part shares (lists, the event log).
 *
 * Must stay true: every statement binds its parameters; a change of more
 * than one row happens inside store_begin()/store_commit(), so a failure
 * leaves nothing half-written; SQLITE_BUSY past the timeout, a full disk
 * and I/O errors are HERALD_ERROR_TEMP (herald pipe exits 75 on them).
 * A struct store is used by one thread at a time.
 */
#ifndef HERALD_STORE_H
#define HERALD_STORE_H

#include <glib.h>
#include <sqlite3.h>

struct store {
	sqlite3 *db;
	char *path;
	int depth;		/* nesting of store_begin() */
	int floor;		/* 1 inside a group (store_group_begin) */
	GHashTable *cached;	/* SQL text (static) -> statement, see store_cached */
};

enum store_open_flags {
	STORE_OPEN_CREATE = 1 << 0,	/* create the file (herald init) */
	STORE_OPEN_READONLY = 1 << 1,
	STORE_OPEN_DURABLE = 1 << 2,	/* synchronous = FULL: a commit is on disk */
};

/* memberships.status values */
#define MEMBER_PENDING		"pending"
#define MEMBER_ACTIVE		"active"
#define MEMBER_UNSUBSCRIBED	"unsubscribed"
#define MEMBER_DISABLED		"disabled"	/* by bounces */
#define MEMBER_BLOCKLISTED	"blocklisted"

/* the two indexes of subscribers' addresses, as the latest migration
 * leaves them; a bulk import drops them and builds them with these (so
 * the schema after an import is the schema init made) */
#define STORE_SQL_EMAIL_KEY_INDEX \
	"CREATE UNIQUE INDEX subscribers_email_key ON subscribers(email_key)"
#define STORE_SQL_EMAIL_LOWER_INDEX \
	"CREATE INDEX subscribers_email_lower ON subscribers(lower(email_key))" \
	" WHERE email_key <> lower(email_key)"

/* store_open - open PATH; without CREATE a missing file is a NOINPUT
 * error that says to run herald init. Checks the schema version unless
 * CREATE: older says "run herald init", newer says the binary is too old. */
struct store *store_open(const char *path, int flags, GError **error);
void store_close(struct store *store);

/* store_migrate - apply every migration the file lacks, each in its own
 * transaction; returns the number applied in *APPLIED (may be NULL). */
gboolean store_migrate(struct store *store, int *applied, GError **error);
gboolean store_migrate_to(struct store *store, int target, int *applied,
    GError **error);
int store_schema_version(struct store *store);
int store_schema_latest(void);

/* transactions: BEGIN IMMEDIATE, so a writer waits for the lock up front
 * (within the busy timeout) instead of failing at its first write */
gboolean store_begin(struct store *store, GError **error);
gboolean store_commit(struct store *store, GError **error);
void store_rollback(struct store *store);

/* Grouped commits: several units of work (herald lmtp: one per message
 * and recipient) in one durable transaction, so a burst costs one fsync
 * per group, not per message. Between store_group_begin() and
 * store_group_commit() each outermost store_begin()/store_commit() is a
 * savepoint and store_rollback() undoes only that unit's open one, so a
 * unit behaves exactly as it would alone except that nothing is durable
 * before the group commits. SQLite itself may roll the whole transaction
 * back (a full disk, an I/O error): store_group_lost() says so, and every
 * unit done in the group so far is undone. */
gboolean store_group_begin(struct store *store, GError **error);
gboolean store_group_lost(struct store *store);
gboolean store_group_commit(struct store *store, GError **error);
void store_group_abort(struct store *store);

gboolean store_exec(struct store *store, const char *sql, GError **error);

/* store_prepare - a statement, or NULL and an error naming SQL's first words */
sqlite3_stmt *store_prepare(struct store *store, const char *sql,
    GError **error);

/* store_cached - SQL (a literal: it is the key) compiled once per
 * connection; the statement stays the store's, the caller leaves it
 * reset. g_autoptr(store_stmt) st = store_cached(…) does that: at the end
 * of the scope it resets the statement and clears its bindings instead
 * of finalizing it. A function that uses one must not call itself while
 * it steps it. */
sqlite3_stmt *store_cached(struct store *store, const char *sql,
    GError **error);
typedef sqlite3_stmt store_stmt;	/* for g_autoptr alone */
void store_stmt_reset(store_stmt *stmt);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(store_stmt, store_stmt_reset)

/* store_step_done - step a statement that returns no rows; reset it */
gboolean store_step_done(struct store *store, sqlite3_stmt *stmt,
    const char *what, GError **error);

/* store_list_id - the row id of list NAME, creating the row if CREATE */
gint64 store_list_id(struct store *store, const char *name, gboolean create,
    GError **error);

/* store_list_row - store_list_id, where a list with no row yet (CREATE
 * FALSE) is 0 and no error; -1 on error */
gint64 store_list_row(struct store *store, const char *name, gboolean create,
    GError **error);

/* store_event - one row of the event log: who (subscriber, may be 0) on
 * which list (may be 0) did ACTION through CHANNEL ("cli", "mail",
 * "import", "bounce", "complaint", "web"), with DETAIL (may be NULL). */
gboolean store_event(struct store *store, gint64 list_id,
    gint64 subscriber_id, const char *action, const char *channel,
    const char *detail, GError **error);

/* g_autoptr needs a type name: this typedef exists for it alone */
typedef struct store store;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(store, store_close)

#endif
