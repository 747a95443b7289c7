/*
 * subscriber.c - the part of the subscriber.h contract that herald pipe
 * needs (lookups, membership status, membership changes with their event),
 * written in the pipe branch so it builds before the subs branch lands.
 * The subs branch's subscriber.c replaces this file whole at merge.
 *
 * Must stay true: every status change writes its event in the same
 * transaction (membership_set runs inside store_begin/store_commit).
 */
#include <string.h>

#include "herald.h"
#include "store.h"
#include "subscriber.h"

/* subscriber_free - free SUB and what it owns */
void
subscriber_free(struct subscriber *sub)
{
	if (sub == NULL)
		return;
	g_free(sub->email);
	g_free(sub->name);
	if (sub->attrs != NULL)
		g_hash_table_unref(sub->attrs);
	g_free(sub);
}

/* subscriber_check_text - no CR, LF or NUL in a name or value */
gboolean
subscriber_check_text(const char *what, const char *text, GError **error)
{
	if (strpbrk(text, "\r\n") != NULL) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_DATA,
		    "%s contains a line break", what);
		return FALSE;
	}
	return TRUE;
}

/* subscriber_check_email - a plausible addr-spec within RFC 5321 limits */
gboolean
subscriber_check_email(const char *email, GError **error)
{
	const char *at = strrchr(email, '@');
	const char *p;

	if (at == NULL || at == email || at[1] == '\0' ||
	    strchr(email, '@') != at || at - email > 64 ||
	    strlen(email) > 254 || strchr(at + 1, '.') == NULL) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_DATA,
		    "\"%s\" is not a mail address", email);
		return FALSE;
	}
	for (p = email; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || *p == '<' || *p == '>' ||
		    *p == '(' || *p == ')' || *p == ',' || *p == ';' ||
		    *p == '\\' || *p == '"' || *p == '[' || *p == ']') {
			g_set_error(error, HERALD_ERROR, HERALD_ERROR_DATA,
			    "\"%s\" is not a mail address", email);
			return FALSE;
		}
	return TRUE;
}

/* subscriber_email_key - local part as given, domain lowercased */
char *
subscriber_email_key(const char *email)
{
	const char *at = strrchr(email, '@');
	g_autofree char *domain = NULL;

	if (at == NULL)
		return g_strdup(email);
	domain = g_ascii_strdown(at + 1, -1);
	return g_strdup_printf("%.*s@%s", (int)(at - email), email, domain);
}

/* subscriber_load - one row of "SELECT id, email, name, created" */
static struct subscriber *
subscriber_load(struct store *store, sqlite3_stmt *st, const char *what,
    GError **error)
{
	struct subscriber *sub;
	int rc = sqlite3_step(st);

	if (rc == SQLITE_DONE) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_NOUSER,
		    "no subscriber %s", what);
		return NULL;
	}
	if (rc != SQLITE_ROW) {
		herald_set_sqlite_error(error, store->db, rc,
		    "looking up subscriber %s", what);
		return NULL;
	}
	sub = g_new0(struct subscriber, 1);
	sub->id = sqlite3_column_int64(st, 0);
	sub->email = g_strdup((const char *)sqlite3_column_text(st, 1));
	sub->name = g_strdup((const char *)sqlite3_column_text(st, 2));
	sub->created = sqlite3_column_int64(st, 3);
	sub->attrs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
	    g_free);
	return sub;
}

/* subscriber_get - by row id */
struct subscriber *
subscriber_get(struct store *store, gint64 id, GError **error)
{
	g_autoptr(sqlite3_stmt) st = store_prepare(store,
	    "SELECT id, email, name, created FROM subscribers WHERE id = ?1",
	    error);
	g_autofree char *what = g_strdup_printf("#%" G_GINT64_FORMAT, id);

	if (st == NULL)
		return NULL;
	sqlite3_bind_int64(st, 1, id);
	return subscriber_load(store, st, what, error);
}

/* subscriber_find - by address (its email_key) */
struct subscriber *
subscriber_find(struct store *store, const char *email, GError **error)
{
	g_autoptr(sqlite3_stmt) st = store_prepare(store,
	    "SELECT id, email, name, created FROM subscribers"
	    " WHERE email_key = ?1", error);
	g_autofree char *key = subscriber_email_key(email);

	if (st == NULL)
		return NULL;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	return subscriber_load(store, st, email, error);
}

/* membership_status - the status string, static */
const char *
membership_status(struct store *store, gint64 list_id, gint64 subscriber_id,
    GError **error)
{
	static const char *const known[] = { MEMBER_PENDING, MEMBER_ACTIVE,
	    MEMBER_UNSUBSCRIBED, MEMBER_DISABLED, MEMBER_BLOCKLISTED };
	g_autoptr(sqlite3_stmt) st = store_prepare(store,
	    "SELECT status FROM memberships WHERE list_id = ?1 AND"
	    " subscriber_id = ?2", error);
	const char *s;
	size_t i;
	int rc;

	if (st == NULL)
		return NULL;
	sqlite3_bind_int64(st, 1, list_id);
	sqlite3_bind_int64(st, 2, subscriber_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_NOUSER,
		    "subscriber #%" G_GINT64_FORMAT " is not on the list",
		    subscriber_id);
		return NULL;
	}
	if (rc != SQLITE_ROW) {
		herald_set_sqlite_error(error, store->db, rc,
		    "reading a membership");
		return NULL;
	}
	s = (const char *)sqlite3_column_text(st, 0);
	for (i = 0; i < G_N_ELEMENTS(known); i++)
		if (strcmp(s, known[i]) == 0)
			return known[i];
	g_set_error(error, HERALD_ERROR, HERALD_ERROR_SOFTWARE,
	    "unknown membership status \"%s\"", s);
	return NULL;
}

/* membership_set - set a status and log it, in one transaction */
gboolean
membership_set(struct store *store, gint64 list_id, gint64 subscriber_id,
    const char *status, const char *action, const char *channel,
    const char *detail, GError **error)
{
	g_autoptr(sqlite3_stmt) st = NULL;

	if (!store_begin(store, error))
		return FALSE;
	st = store_prepare(store,
	    "INSERT INTO memberships(list_id, subscriber_id, status)"
	    " VALUES (?1, ?2, ?3) ON CONFLICT(list_id, subscriber_id) DO UPDATE"
	    " SET status = excluded.status, changed = unixepoch()", error);
	if (st == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, list_id);
	sqlite3_bind_int64(st, 2, subscriber_id);
	sqlite3_bind_text(st, 3, status, -1, SQLITE_STATIC);
	if (!store_step_done(store, st, "setting a membership", error) ||
	    !store_event(store, list_id, subscriber_id, action, channel, detail,
	    error))
		goto fail;
	return store_commit(store, error);
fail:
	store_rollback(store);
	return FALSE;
}
