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

struct store_backend;
struct sqlite3;

struct store {
	const struct store_backend *ops;	/* store_backend.h */
	struct sqlite3 *db;	/* the SQLite connection (store_sqlite.h) */
	void *pg;		/* the PostgreSQL one (store_pg.c), or NULL */
	char *password;		/* PostgreSQL's, while connecting */
	char *path;		/* the file, or "postgresql:" and the conninfo */
	int depth;		/* nesting of store_begin() */
	int floor;		/* 1 inside a group (store_group_begin) */
	GHashTable *cached;	/* SQL text (static) -> statement, see store_cached */
	GHashTable *queries;	/* SQL text (static) -> store_query.c's cache */
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

struct config;
/* a database named "postgresql:" and a libpq connection string is
 * PostgreSQL's (store_pg.c) */
#define STORE_PG_PREFIX "postgresql:"
/* store_open_config - the store CONFIG names (config->database, with
 * the store password_file's first line as the PostgreSQL password): a
 * bad conninfo, a server that cannot be reached, a password file others
 * may read and a schema newer than the binary are CONFIG errors */
struct store *store_open_config(const struct config *config, int flags,
    GError **error);
/* store_backend_name - "sqlite" or "postgresql" (for messages: what a
 * store can do is asked with store_has) */
const char *store_backend_name(const struct store *store);
/* what a store's backend can do */
enum store_trait {
	/* several processes on any hosts at once: advisory locks, chunk
	 * claims, writers that do not wait for each other (PostgreSQL) */
	STORE_SHARED = 1 << 0,
	/* the whole store is one file, copied by herald backup (SQLite) */
	STORE_ONE_FILE = 1 << 1,
	/* a parameter may be an array, read with unnest (PostgreSQL) */
	STORE_ARRAYS = 1 << 2,
};
/* store_has - can STORE's backend do TRAIT? */
gboolean store_has(const struct store *store, enum store_trait trait);
/* store_id_list - IDS[0..N) as one parameter holding them all:
 * PostgreSQL's array literal {1,2} (read with unnest(CAST(?N AS
 * bigint[]))) or, elsewhere, a JSON array [1,2] (read with json_each) */
char *store_id_list(const struct store *store, const gint64 *ids, guint n);
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
/* store_in_transaction - TRUE between a store_begin and its commit or
 * rollback (or inside a group): what a caller must not hold across slow
 * work such as an SMTP session */
gboolean store_in_transaction(const struct store *store);
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

/* ------------------------------------------------------------------ */
/* Running a statement (store_query.c): the one helper every query of the
 * store goes through, whatever the backend. SQL numbers its parameters
 * ?1, ?2, ... in the order the values are given; the value list ends with
 * SQ_END. SQL must be a literal (it keys a per-connection cache). */

enum store_type {
	STORE_END = 0, STORE_NULL, STORE_INT, STORE_REAL, STORE_TEXT,
	STORE_BLOB,
};

/* one parameter's value; text and blobs are borrowed until the query
 * ends (store_rows_free, or the end of store_run/store_get_*) */
struct store_arg {
	enum store_type type;
	gint64 i;
	double r;
	const void *p;
	gsize len;
};

#define SQ_INT(v)	((struct store_arg){ .type = STORE_INT, .i = (gint64)(v) })
#define SQ_REAL(v)	((struct store_arg){ .type = STORE_REAL, .r = (v) })
#define SQ_TEXT(v)	((struct store_arg){ .type = STORE_TEXT, .p = (v) })
#define SQ_BLOB(v, n)	((struct store_arg){ .type = STORE_BLOB, .p = (v), \
			    .len = (n) })
#define SQ_NULL		((struct store_arg){ .type = STORE_NULL })
#define SQ_END		((struct store_arg){ .type = STORE_END })

/* a running query: its rows, read with store_next and the column readers */
struct store_rows;

/* store_select - SQL with the values after ERROR bound (…, SQ_END); NULL
 * and *ERROR when it cannot be prepared or bound */
struct store_rows *store_select(struct store *store, const char *sql,
    GError **error, ...);
/* store_next - TRUE: a row is there to read. FALSE: no more rows, or an
 * error (*ERROR set: busy past the timeout and a full disk are TEMP) */
gboolean store_next(struct store_rows *rows, GError **error);
void store_rows_free(struct store_rows *rows);
typedef struct store_rows store_rows;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(store_rows, store_rows_free)

/* the current row's columns, from 0; text is the row's until the next
 * store_next (store_text_dup: the caller's) */
gboolean store_null(struct store_rows *rows, int col);
gint64 store_int(struct store_rows *rows, int col);
double store_real(struct store_rows *rows, int col);
const char *store_text(struct store_rows *rows, int col);
char *store_text_dup(struct store_rows *rows, int col);
const void *store_blob(struct store_rows *rows, int col, gsize *len);

/* store_first_row - ROWS (a query's, NULL when it failed with *ERROR set)
 * on its first row: 1 on it, 0 no row, -1 an error (*ERROR set) */
int store_first_row(struct store_rows *rows, GError **error);
/* store_one_row - the same for a query that always gives a row (an
 * aggregate): TRUE on it; no row is a software error naming WHAT */
gboolean store_one_row(struct store_rows *rows, const char *what,
    GError **error);
/* store_run - run SQL to its end (a write); FALSE and *ERROR on failure */
gboolean store_run(struct store *store, const char *sql, GError **error,
    ...);
/* store_get_int, store_get_text - the first column of the first row:
 * 1 found (*OUT set; text the caller's), 0 no row, -1 an error */
int store_get_int(struct store *store, const char *sql, gint64 *out,
    GError **error, ...);
int store_get_text(struct store *store, const char *sql, char **out,
    GError **error, ...);
/* the row id the last INSERT made; the rows the last write changed */
gint64 store_last_id(struct store *store);
int store_changes(struct store *store);
/* store_queries_clear - the cached statements finalized (store_close) */
void store_queries_clear(struct store *store);

/* g_autoptr needs a type name: this typedef exists for it alone */
typedef struct store store;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(store, store_close)

#endif
