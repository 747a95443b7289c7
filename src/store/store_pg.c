/*
 * store_pg.c - the PostgreSQL backend of the store's table of operations
 * (store_backend.h), over libpq: one connection per struct store, each
 * statement prepared once per connection (PQprepare) and run with its
 * parameters bound (PQexecPrepared, text values, blobs in binary).
 *
 * The store's SQL is written once for both engines; this file turns the
 * few SQLite spellings that remain into PostgreSQL's as it prepares them
 * (store_pg_sql): ?N into $N, "IS [NOT] ?N" into "IS [NOT] DISTINCT FROM",
 * "LIMIT ?N" with a negative N into no limit,
 * INSERT OR IGNORE into ON CONFLICT DO NOTHING; PRAGMAs and NOT
 * INDEXED, which only tune SQLite, are dropped. The functions SQLite has built in that
 * PostgreSQL lacks (unixepoch, json_each over text, json_patch,
 * datetime, glob, ...) are created by the first PostgreSQL migration
 * (store.c).
 *
 * A lost connection (the server restarted) is TEMP; the next statement
 * outside a transaction connects again and prepares its statements anew
 * (each statement remembers the connection generation it was prepared
 * on), so a long-running sender or server carries on once the server is
 * back.
 *
 * Must stay true: parameters are always bound, never spliced; the
 * connection errors (SQLSTATE class 08, 57P0x), serialization failures,
 * deadlocks, lock timeouts and a full disk are HERALD_ERROR_TEMP;
 * synchronous_commit is on, so a COMMIT that returned is durable.
 */
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>

#include "herald.h"
#include "config.h"
#include "store.h"
#include "store_backend.h"

#define PG_BYTEA_OID 17
#define PG_BOOL_OID 16
#define PG_INT8_OID 20
#define PG_FLOAT8_OID 701

/* the connection and what the store needs to know of its last command */
struct store_pg {
	PGconn *conn;
	char *conninfo;		/* as given, for a reconnect */
	char *password;		/* from store.password_file, or NULL */
	guint generation;	/* bumped at every (re)connect */
	guint next_name;	/* statement names h1, h2, ... */
	int changes;		/* rows the last command touched */
	gboolean lastval_ready;	/* nextval called once on this connection */
};

/* one prepared statement and, once run, its result */
struct pg_stmt {
	struct store *store;
	char *sql;		/* translated */
	char name[16];
	guint generation;	/* the connection it was prepared on */
	int nparams;
	Oid *types;		/* from the values first bound: int8, float8,
				 * bytea; text and NULL left to the server */
	char **values;
	int *lengths;
	int *formats;
	char (*ibuf)[32];	/* numbers as text */
	PGresult *res;
	int row, nrows;
	unsigned char *blob;	/* the last blob unescaped (PQfreemem) */
};

#define PG(store) ((struct store_pg *)(store)->pg)

/* pg_error_class - the HERALD_ERROR class of a failed result (or of the
 * connection when RES is NULL) */
static int
pg_error_class(PGconn *conn, const PGresult *res)
{
	const char *state = res != NULL ?
	    PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	if (PQstatus(conn) != CONNECTION_OK || state == NULL)
		return HERALD_ERROR_TEMP;
	if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0 ||
	    strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
	    strcmp(state, "55P03") == 0 || strncmp(state, "53", 2) == 0 ||
	    strcmp(state, "25P03") == 0)
		return HERALD_ERROR_TEMP;
	if (strcmp(state, "42501") == 0)
		return HERALD_ERROR_CANTCREAT;
	return HERALD_ERROR_SOFTWARE;
}

/* pg_set_error - *ERROR from RES (or the connection), WHAT naming the work */
static void
pg_set_error(GError **error, PGconn *conn, const PGresult *res,
    const char *what)
{
	const char *msg = res != NULL ? PQresultErrorMessage(res) : "";
	g_autofree char *m = NULL;

	if (msg == NULL || *msg == '\0')
		msg = PQerrorMessage(conn);
	m = g_strstrip(g_strdup(msg != NULL ? msg : "unknown error"));
	g_set_error(error, HERALD_ERROR, pg_error_class(conn, res),
	    "PostgreSQL: %s: %s", what, m);
}

/* pg_connect - a new connection with the settings every one needs */
static gboolean
pg_connect(struct store_pg *pg, gboolean at_start, GError **error)
{
	const char *keys[] = { "dbname", "password", "connect_timeout",
	    "application_name", NULL };
	const char *vals[] = { pg->conninfo, pg->password, "10", "herald",
	    NULL };
	PGresult *res;

	if (pg->password == NULL)
		keys[1] = "connect_timeout", vals[1] = "10", keys[2] =
		    "application_name", vals[2] = "herald", keys[3] = NULL;
	if (pg->conn != NULL)
		PQfinish(pg->conn);
	pg->conn = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(pg->conn) != CONNECTION_OK) {
		g_autofree char *m = g_strstrip(g_strdup(
		    PQerrorMessage(pg->conn)));

		/* at start it is the configuration's to fix (78; pipe and
		 * lmtp defer on every error of theirs); later the server
		 * went away for a while: TEMP */
		g_set_error(error, HERALD_ERROR, at_start ? HERALD_ERROR_CONFIG :
		    HERALD_ERROR_TEMP, "PostgreSQL: cannot connect: %s", m);
		return FALSE;
	}
	/* a lock waited for as long as SQLite's busy timeout, then TEMP */
	res = PQexec(pg->conn, "SET synchronous_commit = on;"
	    " SET lock_timeout = '" G_STRINGIFY(CONFIG_BUSY_TIMEOUT_DEFAULT)
	    "s'; SET client_min_messages = warning; SET TIME ZONE 'UTC'");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		pg_set_error(error, pg->conn, res, "setting up the connection");
		PQclear(res);
		return FALSE;
	}
	PQclear(res);
	pg->generation++;
	pg->lastval_ready = FALSE;
	return TRUE;
}

/* the time a lost connection is tried again (a server restarting, a
 * failover) before the statement fails TEMP, and the pause between */
#define PG_RECONNECT_TRIES	20
#define PG_RECONNECT_PAUSE_US	500000

/* pg_check - the connection usable: a lost one is made again when no
 * transaction was open on it (one that was is lost with it: TEMP),
 * trying for about ten seconds */
static gboolean
pg_check(struct store *store, GError **error)
{
	struct store_pg *pg = PG(store);
	int i;

	if (PQstatus(pg->conn) == CONNECTION_OK)
		return TRUE;
	if (store->depth > 0) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_TEMP,
		    "PostgreSQL: the connection was lost inside a transaction");
		return FALSE;
	}
	for (i = 1; i < PG_RECONNECT_TRIES; i++) {
		if (pg_connect(pg, FALSE, NULL))
			return TRUE;
		g_usleep(PG_RECONNECT_PAUSE_US);
	}
	return pg_connect(pg, FALSE, error);
}

/* pg_open - connect with CONNINFO (a libpq connection string or URI);
 * a string libpq cannot parse is a CONFIG error */
static gboolean
pg_open(struct store *store, const char *conninfo, int flags,
    GError **error)
{
	struct store_pg *pg = g_new0(struct store_pg, 1);
	char *perr = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo, &perr);

	if (opts == NULL) {
		g_autofree char *m = g_strstrip(g_strdup(perr != NULL ? perr :
		    "out of memory"));

		PQfreemem(perr);
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
		    "store conninfo \"%s\": %s", conninfo, m);
		g_free(pg);
		return FALSE;
	}
	PQconninfoFree(opts);
	pg->conninfo = g_strdup(conninfo);
	pg->password = g_strdup(store->password);
	store->pg = pg;
	return pg_connect(pg, TRUE, error);
}

/* pg_close - close the connection */
static void
pg_close(struct store *store)
{
	struct store_pg *pg = PG(store);

	if (pg == NULL)
		return;
	if (pg->conn != NULL)
		PQfinish(pg->conn);
	g_free(pg->conninfo);
	if (pg->password != NULL)
		memset(pg->password, 0, strlen(pg->password));
	g_free(pg->password);
	g_free(pg);
	store->pg = NULL;
}

/* pg_drop_pragmas - SQL without its PRAGMA statements (SQLite's tuning:
 * nothing to do here), but for busy_timeout, which becomes lock_timeout;
 * the caller frees. SQL that holds a PRAGMA is the
 * store's own short text, with no ';' inside a string. */
static char *
pg_drop_pragmas(const char *sql)
{
	g_auto(GStrv) parts = NULL;
	GString *out;
	int i;

	if (strstr(sql, "PRAGMA") == NULL)
		return g_strdup(sql);
	parts = g_strsplit(sql, ";", -1);
	out = g_string_new(NULL);
	for (i = 0; parts[i] != NULL; i++) {
		const char *p = parts[i];

		while (g_ascii_isspace(*p))
			p++;
		if (*p == '\0')
			continue;
		/* the one PRAGMA with a meaning here: how long a lock is
		 * waited for (herald serve's is shorter than the default) */
		if (g_ascii_strncasecmp(p, "PRAGMA busy_timeout = ", 22) == 0) {
			g_string_append_printf(out, "SET lock_timeout = %d;",
			    atoi(p + 22));
			continue;
		}
		if (g_ascii_strncasecmp(p, "PRAGMA", 6) == 0)
			continue;
		g_string_append_printf(out, "%s;", p);
	}
	return g_string_free(out, FALSE);
}

/* pg_exec - run SQL (no parameters, no rows; several statements may
 * follow each other) */
static gboolean
pg_exec(struct store *store, const char *sql, GError **error)
{
	g_autofree char *own = pg_drop_pragmas(sql);
	PGresult *res;
	ExecStatusType st;

	sql = own;
	if (*sql == '\0')
		return TRUE;
	if (g_ascii_strcasecmp(sql, "BEGIN IMMEDIATE") == 0)
		sql = "BEGIN";
	if (!pg_check(store, error))
		return FALSE;
	res = PQexec(PG(store)->conn, sql);
	st = PQresultStatus(res);
	/* a BEGIN on a connection found dead: nothing ran, begin again on
	 * a new one */
	if (st != PGRES_COMMAND_OK && store->depth == 0 &&
	    PQstatus(PG(store)->conn) != CONNECTION_OK &&
	    g_ascii_strcasecmp(sql, "BEGIN") == 0 && pg_check(store, NULL)) {
		PQclear(res);
		res = PQexec(PG(store)->conn, sql);
		st = PQresultStatus(res);
	}
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		pg_set_error(error, PG(store)->conn, res, "running SQL");
		g_prefix_error(error, "\"%.40s\": ", sql);
		PQclear(res);
		return FALSE;
	}
	/* a COMMIT of a transaction a failed statement aborted: the server
	 * rolls it back and says so in the command tag, not as an error */
	if (g_ascii_strcasecmp(sql, "COMMIT") == 0 &&
	    strcmp(PQcmdStatus(res), "ROLLBACK") == 0) {
		PQclear(res);
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_TEMP,
		    "PostgreSQL rolled the transaction back at its COMMIT (a "
		    "statement in it had failed): nothing of it was written");
		return FALSE;
	}
	PG(store)->changes = atoi(PQcmdTuples(res));
	PQclear(res);
	return TRUE;
}

/* pg_schema_version - the row of schema_version, 0 when the table is
 * not there yet (an empty database), -1 on error */
static int
pg_schema_version(struct store *store)
{
	PGconn *c = PG(store)->conn;
	PGresult *res;
	int v = -1;

	res = PQexec(c, "SELECT to_regclass('schema_version') IS NOT NULL");
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
	    strcmp(PQgetvalue(res, 0, 0), "f") == 0)
		v = 0;
	PQclear(res);
	if (v == 0)
		return 0;
	res = PQexec(c, "SELECT coalesce(max(version), 0) FROM schema_version");
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		v = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return v;
}

/* pg_word_before - TRUE when the text before AT (from START) ends with
 * WORD as a word, skipping spaces; *FROM is where WORD starts */
static gboolean
pg_word_before(const char *start, const char *at, const char *word,
    const char **from)
{
	size_t n = strlen(word);

	while (at > start && at[-1] == ' ')
		at--;
	if ((size_t)(at - start) < n || g_ascii_strncasecmp(at - n, word, n) != 0)
		return FALSE;
	if (at - n > start && (g_ascii_isalnum(at[-n - 1]) || at[-n - 1] == '_'))
		return FALSE;
	*from = at - n;
	return TRUE;
}

/* pg_param - ?N at P (P points at '?'): written as $N to OUT, with a
 * preceding "IS" or "IS NOT" made DISTINCT FROM; the highest N in *MAX.
 * Returns the characters consumed. */
static size_t
pg_param(GString *out, const char *p, int *max)
{
	const char *start = out->str, *from;
	size_t k = 1;
	int n = 0;

	while (g_ascii_isdigit(p[k]))
		n = n * 10 + (p[k++] - '0');
	if (n > *max)
		*max = n;
	if (pg_word_before(start, start + out->len, "LIMIT", &from)) {
		/* SQLite's LIMIT -1 is no limit, PostgreSQL's LIMIT NULL */
		g_string_append_printf(out, "nullif(greatest($%d, -1), -1)", n);
		return k;
	}
	if (pg_word_before(start, start + out->len, "IS NOT", &from)) {
		g_string_truncate(out, from - start);
		g_string_append(out, "IS DISTINCT FROM ");
	} else if (pg_word_before(start, start + out->len, "IS", &from)) {
		g_string_truncate(out, from - start);
		g_string_append(out, "IS NOT DISTINCT FROM ");
	}
	g_string_append_printf(out, "$%d", n);
	return k;
}

/* store_pg_sql - SQL in PostgreSQL's spelling (see the top of the file);
 * the number of parameters in *NPARAMS. Quoted strings pass unchanged. */
char *
store_pg_sql(const char *sql, int *nparams)
{
	GString *out = g_string_sized_new(strlen(sql) + 32);
	gboolean ignore = FALSE;
	const char *p = sql;
	char quote = 0;

	*nparams = 0;
	if (g_ascii_strncasecmp(p, "INSERT OR IGNORE ", 17) == 0) {
		g_string_append(out, "INSERT ");
		p += 17;
		ignore = TRUE;
	}
	while (*p != '\0') {
		if (quote != 0) {
			if (*p == quote)
				quote = 0;
			g_string_append_c(out, *p++);
		} else if (*p == '\'' || *p == '"') {
			quote = *p;
			g_string_append_c(out, *p++);
		} else if (*p == '?' && g_ascii_isdigit(p[1])) {
			p += pg_param(out, p, nparams);
		} else if (strncmp(p, " NOT INDEXED", 12) == 0) {
			p += 12;	/* SQLite's planner hint */
		} else
			g_string_append_c(out, *p++);
	}
	if (ignore)
		g_string_append(out, " ON CONFLICT DO NOTHING");
	return g_string_free(out, FALSE);
}

/* pg_stmt_prepare - ST prepared on the current connection, with the
 * parameter types its first values had (PostgreSQL cannot tell the type
 * of "$2 - $3" or "$1 IS NULL" from the text alone) */
static gboolean
pg_stmt_prepare(struct pg_stmt *st, GError **error)
{
	struct store_pg *pg = PG(st->store);
	PGresult *res;

	g_snprintf(st->name, sizeof st->name, "h%u", ++pg->next_name);
	res = PQprepare(pg->conn, st->name, st->sql, st->nparams, st->types);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		pg_set_error(error, pg->conn, res, "preparing");
		g_prefix_error(error, "\"%.60s\": ", st->sql);
		PQclear(res);
		return FALSE;
	}
	PQclear(res);
	st->generation = pg->generation;
	return TRUE;
}

static void pg_finalize(void *stmt);

/* pg_stmt_prepare_again - pg_retry's form of pg_stmt_prepare */
static gboolean
pg_stmt_prepare_again(gpointer st, GError **error)
{
	return pg_stmt_prepare(st, error);
}

/* pg_retry - after WORK failed (*ERROR set) on a connection found dead
 * outside a transaction: connect again and do WORK once more (only work
 * that changed nothing, such as preparing, is given here) */
static gboolean
pg_retry(struct store *store, GError **error,
    gboolean (*work)(gpointer, GError **), gpointer data)
{
	if (store->depth > 0 || PQstatus(PG(store)->conn) == CONNECTION_OK)
		return FALSE;
	g_clear_error(error);
	return pg_check(store, error) && work(data, error);
}

/* pg_prepare - SQL translated and prepared on the store's connection */
static void *
pg_prepare(struct store *store, const char *sql, GError **error)
{
	struct pg_stmt *st = g_new0(struct pg_stmt, 1);

	st->store = store;
	st->sql = store_pg_sql(sql, &st->nparams);
	st->values = g_new0(char *, st->nparams + 1);
	st->lengths = g_new0(int, st->nparams + 1);
	st->formats = g_new0(int, st->nparams + 1);
	st->ibuf = g_malloc0_n(st->nparams + 1, sizeof *st->ibuf);
	st->types = g_new0(Oid, st->nparams + 1);
	/* prepared when it first runs, once its values say their types */
	if (!pg_check(store, error)) {
		pg_finalize(st);
		return NULL;
	}
	st->generation = G_MAXUINT;
	return st;
}

/* pg_bind - one parameter as text (numbers printed), a blob in binary;
 * text and blobs are the caller's until the statement runs */
static gboolean
pg_bind(struct store *store, void *stmt, int idx,
    const struct store_arg *arg, GError **error)
{
	struct pg_stmt *st = stmt;
	int i = idx - 1;

	if (idx < 1 || idx > st->nparams) {
		/* SQLite takes a value for a parameter the SQL lacks as an
		 * error too; the store's SQL never does it on purpose */
		if (idx > st->nparams)
			return TRUE;
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_SOFTWARE,
		    "binding parameter %d of \"%.40s\"", idx, st->sql);
		return FALSE;
	}
	st->formats[i] = 0;
	st->lengths[i] = 0;
	switch (arg->type) {
	case STORE_INT:
		g_snprintf(st->ibuf[i], 32, "%" G_GINT64_FORMAT, arg->i);
		st->values[i] = st->ibuf[i];
		if (st->name[0] == '\0')
			st->types[i] = PG_INT8_OID;
		break;
	case STORE_REAL:
		g_ascii_formatd(st->ibuf[i], 32, "%.17g", arg->r);
		st->values[i] = st->ibuf[i];
		if (st->name[0] == '\0')
			st->types[i] = PG_FLOAT8_OID;
		break;
	case STORE_TEXT:
		st->values[i] = (char *)arg->p;
		break;
	case STORE_BLOB:
		st->values[i] = (char *)arg->p;
		st->lengths[i] = (int)arg->len;
		st->formats[i] = 1;
		if (st->name[0] == '\0')
			st->types[i] = PG_BYTEA_OID;
		break;
	default:
		st->values[i] = NULL;
	}
	return TRUE;
}

/* pg_run - run ST with its parameters; the result kept for the rows */
static gboolean
pg_run(struct pg_stmt *st, GError **error)
{
	struct store_pg *pg = PG(st->store);
	ExecStatusType s;

	if (!pg_check(st->store, error))
		return FALSE;
	if (st->generation != pg->generation && !pg_stmt_prepare(st, error) &&
	    !pg_retry(st->store, error, pg_stmt_prepare_again, st))
		return FALSE;
	st->res = PQexecPrepared(pg->conn, st->name, st->nparams,
	    (const char *const *)st->values, st->lengths, st->formats, 0);
	s = PQresultStatus(st->res);
	if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK) {
		pg_set_error(error, pg->conn, st->res, "running");
		g_prefix_error(error, "\"%.60s\": ", st->sql);
		PQclear(st->res);
		st->res = NULL;
		return FALSE;
	}
	pg->changes = atoi(PQcmdTuples(st->res));
	st->nrows = PQntuples(st->res);
	st->row = -1;
	return TRUE;
}

/* pg_step - a row (1), the end (0), or an error (-1) */
static int
pg_step(struct store *store, void *stmt, const char *sql, GError **error)
{
	struct pg_stmt *st = stmt;

	if (st->res == NULL && !pg_run(st, error))
		return -1;
	if (st->blob != NULL)
		g_clear_pointer(&st->blob, PQfreemem);
	if (++st->row < st->nrows)
		return 1;
	st->row = st->nrows;
	return 0;
}

/* pg_column_null - the column of the current row is NULL */
static gboolean
pg_column_null(void *stmt, int col)
{
	struct pg_stmt *st = stmt;

	return PQgetisnull(st->res, st->row, col);
}

/* pg_column_int - the column as a number (a boolean is 0 or 1, NULL 0) */
static gint64
pg_column_int(void *stmt, int col)
{
	struct pg_stmt *st = stmt;
	const char *v = PQgetvalue(st->res, st->row, col);

	if (PQftype(st->res, col) == PG_BOOL_OID)
		return *v == 't';
	return g_ascii_strtoll(v, NULL, 10);
}

/* pg_column_real - the column as a double */
static double
pg_column_real(void *stmt, int col)
{
	struct pg_stmt *st = stmt;

	return g_ascii_strtod(PQgetvalue(st->res, st->row, col), NULL);
}

/* pg_column_text - the column as text, NULL for NULL */
static const char *
pg_column_text(void *stmt, int col)
{
	struct pg_stmt *st = stmt;

	if (PQgetisnull(st->res, st->row, col))
		return NULL;
	if (PQftype(st->res, col) == PG_BOOL_OID)
		return *PQgetvalue(st->res, st->row, col) == 't' ? "1" : "0";
	return PQgetvalue(st->res, st->row, col);
}

/* pg_column_blob - bytea unescaped (kept until the next row), other
 * types as their text */
static const void *
pg_column_blob(void *stmt, int col, gsize *len)
{
	struct pg_stmt *st = stmt;
	size_t n = 0;

	*len = 0;
	if (PQgetisnull(st->res, st->row, col))
		return NULL;
	if (PQftype(st->res, col) != PG_BYTEA_OID) {
		*len = (gsize)PQgetlength(st->res, st->row, col);
		return PQgetvalue(st->res, st->row, col);
	}
	if (st->blob != NULL)
		g_clear_pointer(&st->blob, PQfreemem);
	st->blob = PQunescapeBytea((const unsigned char *)PQgetvalue(st->res,
	    st->row, col), &n);
	*len = n;
	return st->blob;
}

/* pg_reset - the result dropped, parameters cleared */
static void
pg_reset(void *stmt)
{
	struct pg_stmt *st = stmt;

	g_clear_pointer(&st->blob, PQfreemem);
	g_clear_pointer(&st->res, PQclear);
	memset(st->values, 0, sizeof(char *) * (st->nparams + 1));
	memset(st->lengths, 0, sizeof(int) * (st->nparams + 1));
	memset(st->formats, 0, sizeof(int) * (st->nparams + 1));
}

/* pg_finalize - the statement dropped on the server too (when it still
 * lives there: not after a reconnect, nor inside a failed transaction,
 * where the server would refuse and the statement dies with the
 * connection anyway) */
static void
pg_finalize(void *stmt)
{
	struct pg_stmt *st = stmt;
	struct store_pg *pg = PG(st->store);

	pg_reset(st);
	if (st->name[0] != '\0' && pg != NULL &&
	    PQstatus(pg->conn) == CONNECTION_OK &&
	    st->generation == pg->generation &&
	    PQtransactionStatus(pg->conn) != PQTRANS_INERROR) {
		g_autofree char *sql = g_strdup_printf("DEALLOCATE %s", st->name);

		PQclear(PQexec(pg->conn, sql));
	}
	g_free(st->sql);
	g_free(st->types);
	g_free(st->values);
	g_free(st->lengths);
	g_free(st->formats);
	g_free(st->ibuf);
	g_free(st);
}

/* pg_last_id - lastval(): the id the last INSERT drew from its sequence
 * (a first nextval on a sequence of our own makes it defined, so the
 * call never fails inside a transaction) */
static gint64
pg_last_id(struct store *store)
{
	struct store_pg *pg = PG(store);
	PGresult *res;
	gint64 id = 0;

	if (!pg->lastval_ready) {
		PQclear(PQexec(pg->conn,
		    "SELECT nextval('store_session_seq'), lastval()"));
		pg->lastval_ready = TRUE;
	}
	res = PQexec(pg->conn, "SELECT lastval()");
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		id = g_ascii_strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return id;
}

/* pg_changes - the rows the last command touched */
static int
pg_changes(struct store *store)
{
	return PG(store)->changes;
}

/* pg_in_transaction - a transaction is open (or failed and not yet
 * rolled back) on the connection */
static gboolean
pg_in_transaction(struct store *store)
{
	PGTransactionStatusType t = PQtransactionStatus(PG(store)->conn);

	return t == PQTRANS_INTRANS || t == PQTRANS_INERROR ||
	    t == PQTRANS_ACTIVE;
}

/* store_pg_version - libpq's version, for herald --version */
int
store_pg_version(void)
{
	return PQlibVersion();
}

const struct store_backend store_pg_backend = {
	.name = "postgresql",
	.traits = STORE_SHARED | STORE_ARRAYS,
	.version_sql = "UPDATE schema_version SET version = %d;",
	.lock_sql = "SELECT pg_advisory_xact_lock(7243001)",
	.open = pg_open,
	.close = pg_close,
	.exec = pg_exec,
	.schema_version = pg_schema_version,
	.prepare = pg_prepare,
	.bind = pg_bind,
	.step = pg_step,
	.column_null = pg_column_null,
	.column_int = pg_column_int,
	.column_real = pg_column_real,
	.column_text = pg_column_text,
	.column_blob = pg_column_blob,
	.reset = pg_reset,
	.finalize = pg_finalize,
	.last_id = pg_last_id,
	.changes = pg_changes,
	.in_transaction = pg_in_transaction,
};
