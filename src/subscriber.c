/*
 * subscriber.c - subscribers, their attributes and memberships.
 *
 * Address checks follow RFC 5321 (lengths: local part 64 octets, domain
 * 255, the whole address 254 so that "<address>" fits a 256-octet path)
 * and RFC 5322/6531 syntax: the local part is a dot-atom (UTF-8 allowed,
 * as SMTPUTF8 does) or a quoted string; exactly one @ outside the quotes;
 * the domain is dot-separated labels of at most 63 octets, letters, digits
 * and hyphens (not at a label's ends), or UTF-8 (an IDN written in
 * U-labels), stored as given. Address literals ([192.0.2.1]) and
 * single-label domains are refused: nobody subscribes from one.
 *
 * The writer keeps its prepared statements for its whole life: an import
 * of a million rows prepares each statement once.
 *
 * Must stay true: nothing here begins or commits a transaction except
 * the (nestable) ones of membership_set and subscriber_delete; every status change writes one
 * event in the same transaction as the change.
 */
#include <string.h>

#include "herald.h"
#include "store.h"
#include "subscriber.h"

#define EMAIL_MAX	254
#define LOCAL_MAX	64
#define DOMAIN_MAX	255
#define LABEL_MAX	63
#define KEY_MAX		64

static const char *const subscriber_fields[] = {
	"email", "name", "subscribed", "created",
};

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

/* subscriber_bad - set a DATA error about EMAIL */
static gboolean
subscriber_bad(GError **error, const char *email, const char *why)
{
	g_set_error(error, HERALD_ERROR, HERALD_ERROR_DATA,
	    "\"%s\" is not a valid address: %s", email, why);
	return FALSE;
}

/* subscriber_is_atext - RFC 5322 atext, plus any UTF-8 byte (RFC 6531) */
static gboolean
subscriber_is_atext(unsigned char c)
{
	return g_ascii_isalnum(c) || strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL ||
	    c >= 0x80;
}

/* subscriber_check_local - a dot-atom or a quoted string; END is the @ */
static gboolean
subscriber_check_local(const char *email, const char *at, GError **error)
{
	const char *p;

	if (at == email)
		return subscriber_bad(error, email, "the local part is empty");
	if (*email == '"') {
		for (p = email + 1; p < at - 1; p++) {
			unsigned char c = *p;

			if (c == '\\') {
				p++;
				c = *p;
				if (p >= at - 1 || c < 32 || c > 126)
					return subscriber_bad(error, email,
					    "a bad escape in the quoted local part");
			} else if (c == '"') {
				return subscriber_bad(error, email,
				    "a quote inside the quoted local part");
			} else if ((c < 32 || c == 127) && c < 0x80) {
				return subscriber_bad(error, email,
				    "a control character in the local part");
			}
		}
		if (at - email < 2 || at[-1] != '"')
			return subscriber_bad(error, email,
			    "the quoted local part is not closed");
		return TRUE;
	}
	if (*email == '.' || at[-1] == '.')
		return subscriber_bad(error, email,
		    "the local part starts or ends with a dot");
	for (p = email; p < at; p++) {
		if (*p == '.' && p[1] == '.')
			return subscriber_bad(error, email,
			    "two dots in a row in the local part");
		if (*p != '.' && !subscriber_is_atext(*p))
			return subscriber_bad(error, email, *p == ' ' ?
			    "a space in the local part (quote it)" :
			    "a character not allowed in an unquoted local part");
	}
	return TRUE;
}

/* subscriber_check_domain - dot-separated LDH or UTF-8 labels */
static gboolean
subscriber_check_domain(const char *email, const char *domain, GError **error)
{
	const char *p, *label = domain;
	int labels = 1;

	if (*domain == '\0')
		return subscriber_bad(error, email, "the domain is empty");
	if (strlen(domain) > DOMAIN_MAX)
		return subscriber_bad(error, email,
		    "the domain is longer than 255 octets");
	if (*domain == '[')
		return subscriber_bad(error, email,
		    "address literals are not accepted");
	for (p = domain;; p++) {
		unsigned char c = *p;

		if (c == '.' || c == '\0') {
			if (p == label)
				return subscriber_bad(error, email,
				    "an empty label in the domain");
			if (p - label > LABEL_MAX)
				return subscriber_bad(error, email,
				    "a domain label longer than 63 octets");
			if (*label == '-' || p[-1] == '-')
				return subscriber_bad(error, email,
				    "a domain label starts or ends with a hyphen");
			if (c == '\0')
				break;
			labels++;
			label = p + 1;
		} else if (c == '@') {
			return subscriber_bad(error, email,
			    "more than one @ outside quotes");
		} else if (!g_ascii_isalnum(c) && c != '-' && c < 0x80) {
			return subscriber_bad(error, email,
			    "a character not allowed in a domain");
		}
	}
	if (labels < 2)
		return subscriber_bad(error, email,
		    "the domain has a single label");
	return TRUE;
}

/* subscriber_find_at - the @ that ends the local part, or NULL */
static const char *
subscriber_find_at(const char *email)
{
	const char *p;

	if (*email != '"')
		return strchr(email, '@');
	for (p = email + 1; *p != '\0'; p++) {
		if (*p == '\\' && p[1] != '\0')
			p++;
		else if (*p == '"')
			return p[1] == '@' ? p + 1 : strchr(p + 1, '@');
	}
	return NULL;
}

/* subscriber_check_email - the syntax and length checks */
gboolean
subscriber_check_email(const char *email, GError **error)
{
	const char *at;
	size_t len = strlen(email);

	if (len == 0)
		return subscriber_bad(error, email, "it is empty");
	if (!g_utf8_validate(email, -1, NULL))
		return subscriber_bad(error, email, "it is not valid UTF-8");
	if (strpbrk(email, "\r\n") != NULL)
		return subscriber_bad(error, email, "it contains a line break");
	if (len > EMAIL_MAX)
		return subscriber_bad(error, email,
		    "it is longer than 254 octets");
	at = subscriber_find_at(email);
	if (at == NULL)
		return subscriber_bad(error, email, "it has no @");
	if (at - email > LOCAL_MAX)
		return subscriber_bad(error, email,
		    "the local part is longer than 64 octets");
	return subscriber_check_local(email, at, error) &&
	    subscriber_check_domain(email, at + 1, error);
}

/* subscriber_check_text - no CR, LF (or NUL, which C strings cannot
 * carry anyway); valid UTF-8 */
gboolean
subscriber_check_text(const char *what, const char *text, GError **error)
{
	if (strpbrk(text, "\r\n") != NULL) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_DATA,
		    "%s contains a line break", what);
		return FALSE;
	}
	if (!g_utf8_validate(text, -1, NULL)) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_DATA,
		    "%s is not valid UTF-8", what);
		return FALSE;
	}
	return TRUE;
}

/* subscriber_key_fold - attribute keys are case-insensitive (ASCII) */
char *
subscriber_key_fold(const char *key)
{
	return g_ascii_strdown(key, -1);
}

/* subscriber_check_key - an attribute key the segment language can name */
gboolean
subscriber_check_key(const char *key, GError **error)
{
	const char *p;
	size_t i;

	if (*key == '\0' || strlen(key) > KEY_MAX ||
	    !(g_ascii_islower(*key) || *key == '_'))
		goto bad;
	for (p = key; *p != '\0'; p++)
		if (!g_ascii_islower(*p) && !g_ascii_isdigit(*p) &&
		    strchr("_.-", *p) == NULL)
			goto bad;
	for (i = 0; i < G_N_ELEMENTS(subscriber_fields); i++)
		if (strcmp(key, subscriber_fields[i]) == 0) {
			g_set_error(error, HERALD_ERROR, HERALD_ERROR_DATA,
			    "\"%s\" is a subscriber field, not an attribute", key);
			return FALSE;
		}
	return TRUE;
bad:
	g_set_error(error, HERALD_ERROR, HERALD_ERROR_DATA,
	    "\"%s\" is not a valid attribute name (a letter or _, then letters, "
	    "digits, _ . -; at most 64)", key);
	return FALSE;
}

/* subscriber_email_key - local part as given, domain lowercased */
char *
subscriber_email_key(const char *email)
{
	const char *at = subscriber_find_at(email);
	g_autofree char *domain = NULL;

	if (at == NULL)
		return g_strdup(email);
	domain = g_utf8_strdown(at + 1, -1);
	return g_strdup_printf("%.*s@%s", (int)(at - email), email, domain);
}

/* subscriber_load - the row selected by ST (bound), with attributes */
static struct subscriber *
subscriber_load(struct store *store, sqlite3_stmt *st, const char *what,
    GError **error)
{
	g_autoptr(subscriber) sub = NULL;
	g_autoptr(sqlite3_stmt) at = NULL;
	int rc = sqlite3_step(st);

	if (rc == SQLITE_DONE) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_NOUSER,
		    "no subscriber %s", what);
		return NULL;
	}
	if (rc != SQLITE_ROW) {
		herald_set_sqlite_error(error, store->db, rc, "reading subscriber %s",
		    what);
		return NULL;
	}
	sub = g_new0(struct subscriber, 1);
	sub->id = sqlite3_column_int64(st, 0);
	sub->email = g_strdup((const char *)sqlite3_column_text(st, 1));
	sub->name = g_strdup((const char *)sqlite3_column_text(st, 2));
	sub->created = sqlite3_column_int64(st, 3);
	sub->attrs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
	    g_free);
	at = store_prepare(store, "SELECT key, value FROM json_each(?1)", error);
	if (at == NULL)
		return NULL;
	sqlite3_bind_text(at, 1, (const char *)sqlite3_column_text(st, 4), -1,
	    SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(at)) == SQLITE_ROW)
		g_hash_table_insert(sub->attrs,
		    g_strdup((const char *)sqlite3_column_text(at, 0)),
		    g_strdup((const char *)sqlite3_column_text(at, 1)));
	if (rc != SQLITE_DONE) {
		herald_set_sqlite_error(error, store->db, rc, "reading attributes");
		return NULL;
	}
	return g_steal_pointer(&sub);
}

/* subscriber_get - by id */
struct subscriber *
subscriber_get(struct store *store, gint64 id, GError **error)
{
	g_autoptr(sqlite3_stmt) st = store_prepare(store, "SELECT id, email, "
	    "name, created, attrs FROM subscribers WHERE id = ?1", error);
	g_autofree char *what = g_strdup_printf("#%" G_GINT64_FORMAT, id);

	if (st == NULL)
		return NULL;
	sqlite3_bind_int64(st, 1, id);
	return subscriber_load(store, st, what, error);
}

/* subscriber_find - by address (domain case-insensitively) */
struct subscriber *
subscriber_find(struct store *store, const char *email, GError **error)
{
	g_autoptr(sqlite3_stmt) st = store_prepare(store, "SELECT id, email, "
	    "name, created, attrs FROM subscribers WHERE email_key = ?1", error);
	g_autofree char *key = subscriber_email_key(email);

	if (st == NULL)
		return NULL;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	return subscriber_load(store, st, email, error);
}

/* subscriber_delete - the subscriber and everything hanging off them
 * (the segment index by hand: it has no foreign key, which would cost a
 * scan of the whole table per deleted subscriber) */
gboolean
subscriber_delete(struct store *store, gint64 id, GError **error)
{
	g_autoptr(sqlite3_stmt) at = store_prepare(store,
	    "DELETE FROM attributes WHERE (key, value, subscriber_id) IN"
	    " (SELECT key, value, subscriber_id FROM subscriber_attributes"
	    "  WHERE subscriber_id = ?1)", error);
	g_autoptr(sqlite3_stmt) st = NULL;

	if (at == NULL || (st = store_prepare(store,
	    "DELETE FROM subscribers WHERE id = ?1", error)) == NULL)
		return FALSE;
	sqlite3_bind_int64(at, 1, id);
	sqlite3_bind_int64(st, 1, id);
	if (!store_begin(store, error))
		return FALSE;
	if (!store_step_done(store, at, "deleting attributes", error) ||
	    !store_step_done(store, st, "deleting a subscriber", error)) {
		store_rollback(store);
		return FALSE;
	}
	return store_commit(store, error);
}

/* membership_intern - the MEMBER_* constant equal to S, or NULL */
static const char *
membership_intern(const char *s)
{
	static const char *const all[] = { MEMBER_PENDING, MEMBER_ACTIVE,
	    MEMBER_UNSUBSCRIBED, MEMBER_DISABLED, MEMBER_BLOCKLISTED };
	size_t i;

	for (i = 0; s != NULL && i < G_N_ELEMENTS(all); i++)
		if (strcmp(s, all[i]) == 0)
			return all[i];
	return NULL;
}

/* membership_get - status and times */
const char *
membership_get(struct store *store, gint64 list_id, gint64 subscriber_id,
    gint64 *subscribed, gint64 *changed, GError **error)
{
	g_autoptr(sqlite3_stmt) st = store_prepare(store, "SELECT status, "
	    "subscribed, changed FROM memberships WHERE list_id = ?1 AND "
	    "subscriber_id = ?2", error);
	int rc;

	if (st == NULL)
		return NULL;
	sqlite3_bind_int64(st, 1, list_id);
	sqlite3_bind_int64(st, 2, subscriber_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (subscribed != NULL)
			*subscribed = sqlite3_column_int64(st, 1);
		if (changed != NULL)
			*changed = sqlite3_column_int64(st, 2);
		return membership_intern((const char *)sqlite3_column_text(st, 0));
	}
	if (rc == SQLITE_DONE)
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_NOUSER,
		    "not a member of this list");
	else
		herald_set_sqlite_error(error, store->db, rc, "reading a membership");
	return NULL;
}

/* membership_channel - how the last change came */
char *
membership_channel(struct store *store, gint64 list_id, gint64 subscriber_id)
{
	g_autoptr(sqlite3_stmt) st = store_prepare(store, "SELECT channel FROM "
	    "memberships WHERE list_id = ?1 AND subscriber_id = ?2", NULL);

	if (st == NULL)
		return NULL;
	sqlite3_bind_int64(st, 1, list_id);
	sqlite3_bind_int64(st, 2, subscriber_id);
	if (sqlite3_step(st) != SQLITE_ROW)
		return NULL;
	return g_strdup((const char *)sqlite3_column_text(st, 0));
}

/* membership_status - the status alone */
const char *
membership_status(struct store *store, gint64 list_id, gint64 subscriber_id,
    GError **error)
{
	return membership_get(store, list_id, subscriber_id, NULL, NULL, error);
}

/* membership_set - change (or create) a membership and log it */
gboolean
membership_set(struct store *store, gint64 list_id, gint64 subscriber_id,
    const char *status, const char *action, const char *channel,
    const char *detail, GError **error)
{
	g_autoptr(sqlite3_stmt) st = NULL;

	if (membership_intern(status) == NULL) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_SOFTWARE,
		    "no membership status \"%s\"", status);
		return FALSE;
	}
	if (!store_begin(store, error))
		return FALSE;
	/* joining again (from unsubscribed, disabled, blocklisted) restarts
	 * the subscription date; other changes only stamp "changed" */
	st = store_prepare(store, "INSERT INTO memberships(list_id, "
	    "subscriber_id, status, channel) VALUES (?1, ?2, ?3, ?4)"
	    " ON CONFLICT(list_id, subscriber_id) DO UPDATE SET"
	    " subscribed = CASE WHEN excluded.status IN ('active', 'pending')"
	    "   AND status NOT IN ('active', 'pending') THEN unixepoch()"
	    "   ELSE subscribed END,"
	    " status = excluded.status, changed = unixepoch(),"
	    " channel = excluded.channel", error);
	if (st == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, list_id);
	sqlite3_bind_int64(st, 2, subscriber_id);
	sqlite3_bind_text(st, 3, status, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, channel, -1, SQLITE_STATIC);
	if (!store_step_done(store, st, "setting a membership", error) ||
	    !store_event(store, list_id, subscriber_id, action, channel, detail,
	    error))
		goto fail;
	return store_commit(store, error);
fail:
	store_rollback(store);
	return FALSE;
}

/*
 * The writer.
 *
 * A new subscriber (the common case in an import) costs three statements:
 * the subscriber row (attrs as JSON, built here), every attribute's index
 * row in one multi-row INSERT, and the membership; plus the event unless
 * the writer is quiet. A known one costs a lookup and, per attribute, a
 * delete of the old index row and an insert of the new, and a json_patch
 * of attrs.
 */
#define W_MAXATTRS 8		/* multi-row index inserts prepared up to this */

enum {
	W_FIND, W_INSERT, W_NAME, W_ATTR_DEL, W_ATTR_ADD, W_ATTRS_PATCH,
	W_MEMBER_GET, W_MEMBER_ADD, W_EVENT, W_NSTMT
};

static const char *const writer_sql[W_NSTMT] = {
	[W_FIND] = "SELECT id FROM subscribers WHERE email_key = ?1",
	[W_INSERT] = "INSERT INTO subscribers(email, email_key, name, attrs)"
	    " VALUES (?1, ?2, ?3, ?4) ON CONFLICT(email_key) DO NOTHING",
	[W_NAME] = "UPDATE subscribers SET name = ?2 WHERE id = ?1"
	    " AND name IS NOT ?2",
	/* the old index row of key ?2, unless its value stays ?3 */
	[W_ATTR_DEL] = "DELETE FROM attributes WHERE key = ?2 AND"
	    " subscriber_id = ?1 AND value = (SELECT json_extract(attrs, ?4)"
	    " FROM subscribers WHERE id = ?1) AND value IS NOT ?3",
	[W_ATTR_ADD] = "INSERT OR IGNORE INTO attributes(key, value,"
	    " subscriber_id) VALUES (?2, ?3, ?1)",
	[W_ATTRS_PATCH] = "UPDATE subscribers SET attrs = json_patch(attrs, ?2)"
	    " WHERE id = ?1",
	[W_MEMBER_GET] = "SELECT status FROM memberships WHERE list_id = ?1"
	    " AND subscriber_id = ?2",
	[W_MEMBER_ADD] = "INSERT INTO memberships(list_id, subscriber_id, status,"
	    " channel) VALUES (?1, ?2, 'active', ?3)",
	[W_EVENT] = "INSERT INTO events(list_id, subscriber_id, action, channel)"
	    " VALUES (?1, ?2, 'subscribe', ?3)",
};

struct subscriber_writer {
	struct store *store;
	gint64 list_id;
	char *channel;
	gboolean quiet;			/* no event per row */
	sqlite3_stmt *st[W_NSTMT];
	sqlite3_stmt *index[W_MAXATTRS + 1];	/* [n]: n index rows at once */
	GString *key, *json, *path;	/* reused for every row */
	GPtrArray *set;			/* the non-empty attributes: k, v, k, v… */
};

/* subscriber_writer_new - prepare every statement once */
struct subscriber_writer *
subscriber_writer_new(struct store *store, gint64 list_id,
    const char *channel, GError **error)
{
	g_autoptr(subscriber_writer) w = g_new0(struct subscriber_writer, 1);
	int i;

	w->store = store;
	w->list_id = list_id;
	w->channel = g_strdup(channel);
	w->key = g_string_sized_new(256);
	w->json = g_string_sized_new(256);
	w->path = g_string_sized_new(80);
	w->set = g_ptr_array_new();
	for (i = 0; i < W_NSTMT; i++)
		if ((w->st[i] = store_prepare(store, writer_sql[i], error)) == NULL)
			return NULL;
	return g_steal_pointer(&w);
}

/* subscriber_writer_quiet - log no event per new member: the caller logs
 * one for the whole batch (an import) */
void
subscriber_writer_quiet(struct subscriber_writer *w)
{
	w->quiet = TRUE;
}

/* subscriber_writer_free - finalize the statements */
void
subscriber_writer_free(struct subscriber_writer *w)
{
	int i;

	if (w == NULL)
		return;
	for (i = 0; i < W_NSTMT; i++)
		sqlite3_finalize(w->st[i]);
	for (i = 0; i <= W_MAXATTRS; i++)
		sqlite3_finalize(w->index[i]);
	g_string_free(w->key, TRUE);
	g_string_free(w->json, TRUE);
	g_string_free(w->path, TRUE);
	g_ptr_array_unref(w->set);
	g_free(w->channel);
	g_free(w);
}

/* writer_json_string - S as a JSON string (UTF-8 already checked) */
static void
writer_json_string(GString *out, const char *s)
{
	const unsigned char *p;

	g_string_append_c(out, '"');
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\') {
			g_string_append_c(out, '\\');
			g_string_append_c(out, *p);
		} else if (*p < 0x20)
			g_string_append_printf(out, "\\u%04x", *p);
		else
			g_string_append_c(out, *p);
	}
	g_string_append_c(out, '"');
}

/* writer_json - ATTRS as a JSON object into w->json; with PATCH, an empty
 * value is null (json_patch removes the key), else it is left out; the
 * non-empty pairs also go to w->set */
static void
writer_json(struct subscriber_writer *w, GHashTable *attrs, gboolean patch)
{
	GHashTableIter it;
	gpointer k, v;
	gboolean first = TRUE;

	g_string_truncate(w->json, 0);
	g_ptr_array_set_size(w->set, 0);
	g_string_append_c(w->json, '{');
	if (attrs != NULL) {
		g_hash_table_iter_init(&it, attrs);
		while (g_hash_table_iter_next(&it, &k, &v)) {
			if (*(char *)v == '\0' && !patch)
				continue;
			if (!first)
				g_string_append_c(w->json, ',');
			first = FALSE;
			writer_json_string(w->json, k);
			g_string_append_c(w->json, ':');
			if (*(char *)v == '\0') {
				g_string_append(w->json, "null");
				continue;
			}
			writer_json_string(w->json, v);
			g_ptr_array_add(w->set, k);
			g_ptr_array_add(w->set, v);
		}
	}
	g_string_append_c(w->json, '}');
}

/* writer_index - the index rows of w->set for a new subscriber ID */
static gboolean
writer_index(struct subscriber_writer *w, gint64 id, GError **error)
{
	guint done = 0, n, i;

	while (done < w->set->len / 2) {
		sqlite3_stmt *st;

		n = MIN(w->set->len / 2 - done, W_MAXATTRS);
		if (w->index[n] == NULL) {
			g_autoptr(GString) sql = g_string_new("INSERT INTO "
			    "attributes(key, value, subscriber_id) VALUES ");

			for (i = 0; i < n; i++)
				g_string_append_printf(sql, "%s(?%u, ?%u, ?1)",
				    i > 0 ? ", " : "", 2 * i + 2, 2 * i + 3);
			if ((w->index[n] = store_prepare(w->store, sql->str,
			    error)) == NULL)
				return FALSE;
		}
		st = w->index[n];
		sqlite3_bind_int64(st, 1, id);
		for (i = 0; i < 2 * n; i++)
			sqlite3_bind_text(st, (int)i + 2,
			    g_ptr_array_index(w->set, 2 * done + i), -1,
			    SQLITE_STATIC);
		if (!store_step_done(w->store, st, "writing an attribute", error))
			return FALSE;
		done += n;
	}
	return TRUE;
}

/* writer_attrs - update a known subscriber's attributes from ATTRS */
static gboolean
writer_attrs(struct subscriber_writer *w, gint64 id, GHashTable *attrs,
    GError **error)
{
	GHashTableIter it;
	gpointer k, v;
	sqlite3_stmt *st;

	if (attrs == NULL || g_hash_table_size(attrs) == 0)
		return TRUE;
	g_hash_table_iter_init(&it, attrs);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		const char *value = *(char *)v != '\0' ? v : NULL;

		/* keys are [a-z_][a-z0-9_.-]*: safe inside a quoted path */
		g_string_printf(w->path, "$.\"%s\"", (char *)k);
		st = w->st[W_ATTR_DEL];
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_text(st, 2, k, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, value, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, w->path->str, -1, SQLITE_STATIC);
		if (!store_step_done(w->store, st, "writing an attribute", error))
			return FALSE;
		if (value == NULL)
			continue;
		st = w->st[W_ATTR_ADD];
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_text(st, 2, k, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, value, -1, SQLITE_STATIC);
		if (!store_step_done(w->store, st, "writing an attribute", error))
			return FALSE;
	}
	writer_json(w, attrs, TRUE);
	st = w->st[W_ATTRS_PATCH];
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, w->json->str, (int)w->json->len, SQLITE_STATIC);
	return store_step_done(w->store, st, "writing attributes", error);
}

/* writer_check - the address, the name, the attributes */
static gboolean
writer_check(const char *email, const char *name, GHashTable *attrs,
    GError **error)
{
	GHashTableIter it;
	gpointer k, v;

	if (!subscriber_check_email(email, error))
		return FALSE;
	if (name != NULL && !subscriber_check_text("the name", name, error))
		return FALSE;
	if (attrs == NULL)
		return TRUE;
	g_hash_table_iter_init(&it, attrs);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		if (!subscriber_check_key(k, error))
			return FALSE;
		/* the message names the attribute: built only when needed */
		if (!subscriber_check_text("a value", v, NULL)) {
			g_autofree char *what = g_strdup_printf("attribute %s",
			    (char *)k);

			return subscriber_check_text(what, v, error);
		}
	}
	return TRUE;
}

/* writer_email_key - subscriber_email_key into w->key, without allocating
 * when the domain is ASCII */
static const char *
writer_email_key(struct subscriber_writer *w, const char *email)
{
	const char *at = subscriber_find_at(email), *p;
	g_autofree char *key = NULL;

	g_string_truncate(w->key, 0);
	if (at != NULL) {
		for (p = at + 1; *p != '\0' && (unsigned char)*p < 0x80; p++)
			;
		if (*p == '\0') {
			g_string_append_len(w->key, email, at + 1 - email);
			for (p = at + 1; *p != '\0'; p++)
				g_string_append_c(w->key, g_ascii_tolower(*p));
			return w->key->str;
		}
	}
	key = subscriber_email_key(email);
	g_string_assign(w->key, key);
	return w->key->str;
}

/* subscriber_write - add or update one subscriber and their membership */
gboolean
subscriber_write(struct subscriber_writer *w, const char *email,
    const char *name, GHashTable *attrs, enum subscriber_outcome *outcome,
    gint64 *subscriber_id, GError **error)
{
	sqlite3_stmt *st;
	const char *key;
	gint64 id = 0, before;
	gboolean fresh = FALSE;
	const char *status = NULL;
	int rc;

	if (!writer_check(email, name, attrs, error))
		return FALSE;
	if (name != NULL && *name == '\0')
		name = NULL;
	key = writer_email_key(w, email);
	writer_json(w, attrs, FALSE);
	/* insert first: for a new address (the common case in an import)
	 * that is one probe of the email_key index instead of two */
	st = w->st[W_INSERT];
	sqlite3_bind_text(st, 1, email, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, w->json->str, (int)w->json->len, SQLITE_STATIC);
	before = sqlite3_total_changes64(w->store->db);
	if (!store_step_done(w->store, st, "adding a subscriber", error))
		return FALSE;
	if (sqlite3_total_changes64(w->store->db) != before) {
		id = sqlite3_last_insert_rowid(w->store->db);
		fresh = TRUE;
		if (!writer_index(w, id, error))
			return FALSE;
	} else {
		st = w->st[W_FIND];
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			id = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
		if (rc != SQLITE_ROW) {
			herald_set_sqlite_error(error, w->store->db,
			    rc == SQLITE_DONE ? SQLITE_ERROR : rc, "finding %s", email);
			return FALSE;
		}
		if (name != NULL) {
			st = w->st[W_NAME];
			sqlite3_bind_int64(st, 1, id);
			sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
			if (!store_step_done(w->store, st, "setting a name", error))
				return FALSE;
		}
		if (!writer_attrs(w, id, attrs, error))
			return FALSE;
		st = w->st[W_MEMBER_GET];
		sqlite3_bind_int64(st, 1, w->list_id);
		sqlite3_bind_int64(st, 2, id);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			status = membership_intern(
			    (const char *)sqlite3_column_text(st, 0));
		sqlite3_reset(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
			herald_set_sqlite_error(error, w->store->db, rc,
			    "reading a membership");
			return FALSE;
		}
	}
	if (subscriber_id != NULL)
		*subscriber_id = id;
	if (status != NULL) {
		if (outcome != NULL)
			*outcome = g_strcmp0(status, MEMBER_ACTIVE) == 0 ? SUBSCRIBER_UPDATED :
			    SUBSCRIBER_KEPT;
		return TRUE;
	}
	st = w->st[W_MEMBER_ADD];
	sqlite3_bind_int64(st, 1, w->list_id);
	sqlite3_bind_int64(st, 2, id);
	sqlite3_bind_text(st, 3, w->channel, -1, SQLITE_STATIC);
	if (!store_step_done(w->store, st, "adding a membership", error))
		return FALSE;
	if (!w->quiet) {
		st = w->st[W_EVENT];
		sqlite3_bind_int64(st, 1, w->list_id);
		sqlite3_bind_int64(st, 2, id);
		sqlite3_bind_text(st, 3, w->channel, -1, SQLITE_STATIC);
		if (!store_step_done(w->store, st, "writing the event log", error))
			return FALSE;
	}
	if (outcome != NULL)
		*outcome = fresh ? SUBSCRIBER_ADDED : SUBSCRIBER_JOINED;
	return TRUE;
}
