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
	g_autoptr(store_stmt) at = NULL;
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
	at = store_cached(store, "SELECT key, value FROM json_each(?1)", error);
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
	g_autoptr(store_stmt) st = store_cached(store, "SELECT id, email, "
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
	    "DELETE FROM attribute_members WHERE subscriber_id = ?1 AND"
	    " value_id IN (SELECT v.id FROM subscriber_attributes a"
	    "  JOIN attribute_values v ON v.key = a.key AND v.value = a.value"
	    "  WHERE a.subscriber_id = ?1)", error);
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
	g_autoptr(store_stmt) st = store_cached(store, "SELECT status, "
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
	g_autoptr(store_stmt) st = NULL;

	if (membership_intern(status) == NULL) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_SOFTWARE,
		    "no membership status \"%s\"", status);
		return FALSE;
	}
	if (!store_begin(store, error))
		return FALSE;
	/* joining again (from unsubscribed, disabled, blocklisted) restarts
	 * the subscription date; other changes only stamp "changed" */
	st = store_cached(store, "INSERT INTO memberships(list_id, "
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
 * Rows are queued (checked first, so a bad row is refused at once) and
 * written W_BATCH at a time: one multi-row INSERT of the subscribers with
 * ids chosen here (max(id) + 1 on; when fewer rows went in than were
 * sent, a range scan of those ids says which);
 * then one multi-row INSERT of those new subscribers' attribute index
 * rows and one of their memberships. A row whose address was already
 * there (stored earlier, or earlier in the same batch) is then handled
 * alone, in file order: a lookup, its name, per attribute a delete of the
 * old index row and an insert of the new, a json_patch of attrs, and its
 * membership. The outcome is what writing the rows one by one would give.
 * Multi-row statements come in sizes 1, 2, 4 … W_BATCH rows, prepared
 * once each when first needed.
 */
#define W_BATCH		1024	/* rows per flush; a power of two */
#define W_SIZES		11	/* log2(W_BATCH) + 1 */
#define W_NONE		G_MAXSIZE	/* no name */

enum {
	W_MAXID, W_RANGE, W_FIND, W_NAME, W_ATTR_DEL, W_ATTR_ADD, W_ATTRS_PATCH,
	W_MEMBER_GET, W_MEMBER_ADD, W_EVENT, W_VALUE_ADD, W_VALUE_GET, W_NSTMT
};

static const char *const writer_sql[W_NSTMT] = {
	[W_MAXID] = "SELECT coalesce(max(id), 0) FROM subscribers",
	[W_RANGE] = "SELECT id FROM subscribers WHERE id BETWEEN ?1 AND ?2",
	[W_FIND] = "SELECT id FROM subscribers WHERE email_key = ?1",
	[W_NAME] = "UPDATE subscribers SET name = ?2 WHERE id = ?1"
	    " AND name IS NOT ?2",
	/* the old index row of key ?2, unless its value stays ?3 */
	[W_ATTR_DEL] = "DELETE FROM attribute_members WHERE subscriber_id = ?1"
	    " AND value_id = (SELECT id FROM attribute_values WHERE key = ?2"
	    " AND value = (SELECT json_extract(attrs, ?4) FROM subscribers"
	    " WHERE id = ?1) AND value IS NOT ?3)",
	/* ?2: the pair's id, from writer_value_id */
	[W_ATTR_ADD] = "INSERT OR IGNORE INTO attribute_members(value_id,"
	    " subscriber_id) VALUES (?2, ?1)",
	[W_ATTRS_PATCH] = "UPDATE subscribers SET attrs = json_patch(attrs, ?2)"
	    " WHERE id = ?1",
	[W_MEMBER_GET] = "SELECT status FROM memberships WHERE list_id = ?1"
	    " AND subscriber_id = ?2",
	[W_MEMBER_ADD] = "INSERT INTO memberships(list_id, subscriber_id, status,"
	    " channel) VALUES (?1, ?2, 'active', ?3)",
	[W_EVENT] = "INSERT INTO events(list_id, subscriber_id, action, channel)"
	    " VALUES (?1, ?2, 'subscribe', ?3)",
	[W_VALUE_ADD] = "INSERT INTO attribute_values(key, value) VALUES (?1, ?2)"
	    " ON CONFLICT DO NOTHING",
	[W_VALUE_GET] = "SELECT id FROM attribute_values WHERE key = ?1"
	    " AND value = ?2",
};

/* the multi-row statements: head, one row's placeholders, tail */
enum { M_SUBSCRIBERS, M_ATTRIBUTES, M_MEMBERS, M_NKIND };

static const struct {
	const char *head, *row, *tail;
	int nparams;
} writer_multi_sql[M_NKIND] = {
	[M_SUBSCRIBERS] = { "INSERT OR IGNORE INTO subscribers(id, email,"
	    " email_key, name, attrs) VALUES ", "(?, ?, ?, ?, ?)", "", 5 },
	[M_ATTRIBUTES] = { "INSERT OR IGNORE INTO attribute_members(value_id,"
	    " subscriber_id) VALUES ", "(?, ?)", "", 2 },
	[M_MEMBERS] = { "INSERT OR IGNORE INTO memberships(list_id,"
	    " subscriber_id, status, channel) VALUES ", "(?, ?, 'active', ?)",
	    "", 3 },
};

/* one queued row: offsets into the writer's arena */
struct writer_row {
	gsize email, key, name, json;	/* name: W_NONE for none */
	guint kv, nkv;			/* pairs at kv[kv…]: key, value (maybe "") */
	gint64 id;
	enum subscriber_outcome outcome;
	gboolean fresh;
};

/* one batch of queued rows: their strings, the rows, their pairs */
struct writer_batch {
	GString *arena;			/* the rows' strings */
	GArray *rows;			/* struct writer_row */
	GArray *kv;			/* gsize: arena offsets */
	GString *json;			/* scratch for writer_json */
};

struct subscriber_writer {
	struct store *store;
	gint64 list_id;
	char *channel;
	gboolean quiet;			/* no event per new member */
	sqlite3_stmt *st[W_NSTMT];
	sqlite3_stmt *multi[M_NKIND][W_SIZES];	/* [kind][k]: 2^k rows */
	struct writer_batch *fill;	/* being queued into (the caller's side) */
	struct writer_batch *b;		/* being written (the writing side) */
	/* the pipeline (subscriber_writer_pipeline): a thread writes the
	 * batches the caller hands over, through TO_WRITE; each comes back,
	 * emptied, through WRITTEN; PERROR is its first error */
	GThread *thread;
	GAsyncQueue *to_write, *written;
	GError *perror;
	GString *path, *pair;		/* scratch: a JSON path, a pair's key */
	GArray *items;			/* guint: what a multi-row statement binds */
	GArray *vids;			/* gint64: the pairs' ids it binds */
	GHashTable *value_ids;		/* "key\nvalue" -> id, a bounded cache */
	gint64 base;			/* the id of the first queued row */
	gint64 counts[4];		/* by enum subscriber_outcome */
	gint64 last_id;			/* the last row flushed */
	enum subscriber_outcome last_outcome;
	/* bulk mode: the email index is dropped; these are the hashes of
	 * the keys written, in an open-addressing set (0 = free) */
	gboolean bulk;
	guint64 *seen;
	gsize nseen, seen_size;		/* used, slots (a power of two) */
};

/* writer_batch_new, writer_batch_clear, writer_batch_free */
static struct writer_batch *
writer_batch_new(void)
{
	struct writer_batch *b = g_new0(struct writer_batch, 1);

	b->arena = g_string_sized_new(64 * W_BATCH);
	b->rows = g_array_sized_new(FALSE, FALSE, sizeof(struct writer_row),
	    W_BATCH);
	b->kv = g_array_new(FALSE, FALSE, sizeof(gsize));
	b->json = g_string_sized_new(256);
	return b;
}

static void
writer_batch_clear(struct writer_batch *b)
{
	g_array_set_size(b->rows, 0);
	g_array_set_size(b->kv, 0);
	g_string_truncate(b->arena, 0);
}

static void
writer_batch_free(struct writer_batch *b)
{
	if (b == NULL)
		return;
	g_string_free(b->arena, TRUE);
	g_array_unref(b->rows);
	g_array_unref(b->kv);
	g_string_free(b->json, TRUE);
	g_free(b);
}

static void writer_pipeline_stop(struct subscriber_writer *w);

/* subscriber_writer_new - prepare the single-row statements */
struct subscriber_writer *
subscriber_writer_new(struct store *store, gint64 list_id,
    const char *channel, GError **error)
{
	g_autoptr(subscriber_writer) w = g_new0(struct subscriber_writer, 1);
	int i;

	w->store = store;
	w->list_id = list_id;
	w->channel = g_strdup(channel);
	w->fill = writer_batch_new();
	w->b = writer_batch_new();
	w->path = g_string_sized_new(80);
	w->pair = g_string_sized_new(80);
	w->items = g_array_new(FALSE, FALSE, sizeof(guint));
	w->vids = g_array_new(FALSE, FALSE, sizeof(gint64));
	w->value_ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
	    NULL);
	for (i = 0; i < W_NSTMT; i++)
		if ((w->st[i] = store_prepare(store, writer_sql[i], error)) == NULL)
			return NULL;
	return g_steal_pointer(&w);
}

/* subscriber_writer_quiet - log no event per new member */
void
subscriber_writer_quiet(struct subscriber_writer *w)
{
	w->quiet = TRUE;
}

/* subscriber_writer_counts - rows written so far, by outcome */
const gint64 *
subscriber_writer_counts(const struct subscriber_writer *w)
{
	return w->counts;
}

/* subscriber_writer_free - finalize the statements (queued rows are
 * dropped: flush first) */
void
subscriber_writer_free(struct subscriber_writer *w)
{
	int i, k;

	if (w == NULL)
		return;
	for (i = 0; i < W_NSTMT; i++)
		sqlite3_finalize(w->st[i]);
	for (i = 0; i < M_NKIND; i++)
		for (k = 0; k < W_SIZES; k++)
			sqlite3_finalize(w->multi[i][k]);
	writer_pipeline_stop(w);
	writer_batch_free(w->fill);
	writer_batch_free(w->b);
	g_clear_error(&w->perror);
	g_string_free(w->path, TRUE);
	g_string_free(w->pair, TRUE);
	g_array_unref(w->items);
	g_array_unref(w->vids);
	g_hash_table_unref(w->value_ids);
	g_free(w->seen);
	g_free(w->channel);
	g_free(w);
}

/* writer_str - the string at OFF in B's arena */
static inline const char *
writer_str(const struct writer_batch *b, gsize off)
{
	return off == W_NONE ? NULL : b->arena->str + off;
}

/* writer_keep - copy S into the arena of the batch being queued into;
 * its offset */
static gsize
writer_keep(struct subscriber_writer *w, const char *s, gssize len)
{
	gsize off = w->fill->arena->len;

	if (len < 0)
		len = strlen(s);
	g_string_append_len(w->fill->arena, s, len);
	g_string_append_c(w->fill->arena, '\0');
	return off;
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

/* writer_json - ROW's attributes (in B) as a JSON object into b->json; with
 * PATCH, an empty value is null (json_patch removes the key), else it is
 * left out */
static void
writer_json(struct writer_batch *b, const struct writer_row *row,
    gboolean patch)
{
	gboolean first = TRUE;
	guint i;

	g_string_truncate(b->json, 0);
	g_string_append_c(b->json, '{');
	for (i = 0; i < row->nkv; i++) {
		const char *k = writer_str(b, g_array_index(b->kv, gsize,
		    row->kv + 2 * i));
		const char *v = writer_str(b, g_array_index(b->kv, gsize,
		    row->kv + 2 * i + 1));

		if (*v == '\0' && !patch)
			continue;
		if (!first)
			g_string_append_c(b->json, ',');
		first = FALSE;
		writer_json_string(b->json, k);
		g_string_append_c(b->json, ':');
		if (*v == '\0')
			g_string_append(b->json, "null");
		else
			writer_json_string(b->json, v);
	}
	g_string_append_c(b->json, '}');
}

/* writer_multi_stmt - the KIND statement for 2^K rows */
static sqlite3_stmt *
writer_multi_stmt(struct subscriber_writer *w, int kind, int k,
    GError **error)
{
	g_autoptr(GString) sql = NULL;
	int i;

	if (w->multi[kind][k] != NULL)
		return w->multi[kind][k];
	sql = g_string_new(writer_multi_sql[kind].head);
	for (i = 0; i < 1 << k; i++) {
		if (i > 0)
			g_string_append(sql, ", ");
		g_string_append(sql, writer_multi_sql[kind].row);
	}
	g_string_append(sql, writer_multi_sql[kind].tail);
	w->multi[kind][k] = store_prepare(w->store, sql->str, error);
	return w->multi[kind][k];
}

/* writer_multi - run KIND over NITEMS items, each bound by BIND(w, st,
 * first parameter, item); *CHANGED counts the rows that went in */
static gboolean
writer_multi(struct subscriber_writer *w, int kind, guint nitems,
    void (*bind)(struct subscriber_writer *, sqlite3_stmt *, int, guint),
    gint64 *changed, GError **error)
{
	guint done = 0;
	int k, rc;

	while (done < nitems) {
		sqlite3_stmt *st;
		guint n, i;

		for (k = W_SIZES - 1; (1u << k) > nitems - done; k--)
			;
		n = 1u << k;
		if ((st = writer_multi_stmt(w, kind, k, error)) == NULL)
			return FALSE;
		for (i = 0; i < n; i++)
			bind(w, st, 1 + (int)i * writer_multi_sql[kind].nparams,
			    done + i);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		*changed += sqlite3_changes64(w->store->db);
		if (rc != SQLITE_DONE) {
			herald_set_sqlite_error(error, w->store->db, rc,
			    "writing subscribers");
			return FALSE;
		}
		done += n;
	}
	return TRUE;
}

/* writer_bind_subscriber - row I */
static void
writer_bind_subscriber(struct subscriber_writer *w, sqlite3_stmt *st, int p,
    guint i)
{
	struct writer_row *row = &g_array_index(w->b->rows, struct writer_row, i);

	row->id = w->base + i;
	sqlite3_bind_int64(st, p, row->id);
	sqlite3_bind_text(st, p + 1, writer_str(w->b, row->email), -1,
	    SQLITE_STATIC);
	sqlite3_bind_text(st, p + 2, writer_str(w->b, row->key), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, p + 3, writer_str(w->b, row->name), -1,
	    SQLITE_STATIC);
	sqlite3_bind_text(st, p + 4, writer_str(w->b, row->json), -1,
	    SQLITE_STATIC);
}

/* writer_bind_attribute - index row I: w->items[I] is the row, and
 * w->vids[I] the id of its pair */
static void
writer_bind_attribute(struct subscriber_writer *w, sqlite3_stmt *st, int p,
    guint i)
{
	guint r = g_array_index(w->items, guint, i);

	sqlite3_bind_int64(st, p, g_array_index(w->vids, gint64, i));
	sqlite3_bind_int64(st, p + 1,
	    g_array_index(w->b->rows, struct writer_row, r).id);
}

/* writer_value_id - the id of the pair (K, V) in attribute_values, added
 * if new; 0 on error. The cache holds ids made or read in this writer's
 * transaction, and is emptied when it grows past W_VALUE_CACHE pairs (an
 * attribute with a value per subscriber would otherwise fill memory). */
#define W_VALUE_CACHE	65536
static gint64
writer_value_id(struct subscriber_writer *w, const char *k, const char *v,
    GError **error)
{
	gpointer hit;
	sqlite3_stmt *st;
	gint64 id = 0;
	int rc;

	/* the key, built in a scratch buffer: copied only when cached */
	g_string_assign(w->pair, k);
	g_string_append_c(w->pair, '\n');
	g_string_append(w->pair, v);
	if ((hit = g_hash_table_lookup(w->value_ids, w->pair->str)) != NULL)
		return GPOINTER_TO_SIZE(hit);
	st = w->st[W_VALUE_ADD];
	sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, v, -1, SQLITE_STATIC);
	if (!store_step_done(w->store, st, "writing an attribute value",
	    error))
		return 0;
	st = w->st[W_VALUE_GET];
	sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, v, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (id <= 0) {
		herald_set_sqlite_error(error, w->store->db,
		    rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_CORRUPT : rc,
		    "reading an attribute value");
		return 0;
	}
	if (g_hash_table_size(w->value_ids) >= W_VALUE_CACHE)
		g_hash_table_remove_all(w->value_ids);
	g_hash_table_insert(w->value_ids, g_strdup(w->pair->str),
	    GSIZE_TO_POINTER((gsize)id));
	return id;
}

/* writer_bind_member - membership I: w->items[I] is the row */
static void
writer_bind_member(struct subscriber_writer *w, sqlite3_stmt *st, int p,
    guint i)
{
	guint r = g_array_index(w->items, guint, i);

	sqlite3_bind_int64(st, p, w->list_id);
	sqlite3_bind_int64(st, p + 1,
	    g_array_index(w->b->rows, struct writer_row, r).id);
	sqlite3_bind_text(st, p + 2, w->channel, -1, SQLITE_STATIC);
}

/* writer_update_attrs - a known subscriber's attributes from ROW */
static gboolean
writer_update_attrs(struct subscriber_writer *w, struct writer_row *row,
    GError **error)
{
	sqlite3_stmt *st;
	gint64 vid;
	guint i;

	if (row->nkv == 0)
		return TRUE;
	for (i = 0; i < row->nkv; i++) {
		const char *k = writer_str(w->b, g_array_index(w->b->kv, gsize,
		    row->kv + 2 * i));
		const char *v = writer_str(w->b, g_array_index(w->b->kv, gsize,
		    row->kv + 2 * i + 1));

		if (*v == '\0')
			v = NULL;
		/* keys are [a-z_][a-z0-9_.-]*: safe inside a quoted path */
		g_string_printf(w->path, "$.\"%s\"", k);
		st = w->st[W_ATTR_DEL];
		sqlite3_bind_int64(st, 1, row->id);
		sqlite3_bind_text(st, 2, k, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, v, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, w->path->str, -1, SQLITE_STATIC);
		if (!store_step_done(w->store, st, "writing an attribute", error))
			return FALSE;
		if (v == NULL)
			continue;
		if ((vid = writer_value_id(w, k, v, error)) == 0)
			return FALSE;
		st = w->st[W_ATTR_ADD];
		sqlite3_bind_int64(st, 1, row->id);
		sqlite3_bind_int64(st, 2, vid);
		if (!store_step_done(w->store, st, "writing an attribute", error))
			return FALSE;
	}
	writer_json(w->b, row, TRUE);
	st = w->st[W_ATTRS_PATCH];
	sqlite3_bind_int64(st, 1, row->id);
	sqlite3_bind_text(st, 2, w->b->json->str, (int)w->b->json->len, SQLITE_STATIC);
	return store_step_done(w->store, st, "writing attributes", error);
}

/* writer_event - the subscribe event of ROW, unless quiet */
static gboolean
writer_event(struct subscriber_writer *w, const struct writer_row *row,
    GError **error)
{
	sqlite3_stmt *st = w->st[W_EVENT];

	if (w->quiet)
		return TRUE;
	sqlite3_bind_int64(st, 1, w->list_id);
	sqlite3_bind_int64(st, 2, row->id);
	sqlite3_bind_text(st, 3, w->channel, -1, SQLITE_STATIC);
	return store_step_done(w->store, st, "writing the event log", error);
}

/* writer_known - ROW, whose address was already stored */
static gboolean
writer_known(struct subscriber_writer *w, struct writer_row *row,
    GError **error)
{
	sqlite3_stmt *st = w->st[W_FIND];
	const char *status = NULL;
	int rc;

	sqlite3_bind_text(st, 1, writer_str(w->b, row->key), -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		row->id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW) {
		herald_set_sqlite_error(error, w->store->db,
		    rc == SQLITE_DONE ? SQLITE_ERROR : rc, "finding %s",
		    writer_str(w->b, row->email));
		return FALSE;
	}
	if (row->name != W_NONE) {
		st = w->st[W_NAME];
		sqlite3_bind_int64(st, 1, row->id);
		sqlite3_bind_text(st, 2, writer_str(w->b, row->name), -1,
		    SQLITE_STATIC);
		if (!store_step_done(w->store, st, "setting a name", error))
			return FALSE;
	}
	if (!writer_update_attrs(w, row, error))
		return FALSE;
	st = w->st[W_MEMBER_GET];
	sqlite3_bind_int64(st, 1, w->list_id);
	sqlite3_bind_int64(st, 2, row->id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		status = membership_intern((const char *)sqlite3_column_text(st, 0));
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		herald_set_sqlite_error(error, w->store->db, rc,
		    "reading a membership");
		return FALSE;
	}
	if (status != NULL) {
		row->outcome = g_strcmp0(status, MEMBER_ACTIVE) == 0 ?
		    SUBSCRIBER_UPDATED : SUBSCRIBER_KEPT;
		return TRUE;
	}
	st = w->st[W_MEMBER_ADD];
	sqlite3_bind_int64(st, 1, w->list_id);
	sqlite3_bind_int64(st, 2, row->id);
	sqlite3_bind_text(st, 3, w->channel, -1, SQLITE_STATIC);
	if (!store_step_done(w->store, st, "adding a membership", error))
		return FALSE;
	row->outcome = SUBSCRIBER_JOINED;
	return writer_event(w, row, error);
}

/* writer_fresh - mark the queued rows that went in, ADDED of them */
static gboolean
writer_fresh(struct subscriber_writer *w, gint64 added, GError **error)
{
	sqlite3_stmt *st = w->st[W_RANGE];
	guint i;
	int rc;

	if (added == (gint64)w->b->rows->len) {
		for (i = 0; i < w->b->rows->len; i++)
			g_array_index(w->b->rows, struct writer_row, i).fresh = TRUE;
		return TRUE;
	}
	if (added == 0)
		return TRUE;
	sqlite3_bind_int64(st, 1, w->base);
	sqlite3_bind_int64(st, 2, w->base + w->b->rows->len - 1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		g_array_index(w->b->rows, struct writer_row,
		    sqlite3_column_int64(st, 0) - w->base).fresh = TRUE;
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		herald_set_sqlite_error(error, w->store->db, rc, "reading ids");
		return FALSE;
	}
	return TRUE;
}

/* writer_hash - FNV-1a, 64 bits, never 0 */
static guint64
writer_hash(const char *s)
{
	guint64 h = G_GUINT64_CONSTANT(14695981039346656037);

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= G_GUINT64_CONSTANT(1099511628211);
	}
	return h != 0 ? h : 1;
}

/* writer_seen - add H to the set; TRUE if it was there already */
static gboolean
writer_seen(struct subscriber_writer *w, guint64 h)
{
	gsize i, mask;

	if (2 * (w->nseen + 1) > w->seen_size) {
		guint64 *old = w->seen;
		gsize n = w->seen_size;

		w->seen_size = MAX(n * 2, 1 << 16);
		w->seen = g_new0(guint64, w->seen_size);
		w->nseen = 0;
		for (i = 0; i < n; i++)
			if (old[i] != 0)
				writer_seen(w, old[i]);
		g_free(old);
	}
	mask = w->seen_size - 1;
	for (i = h & mask; w->seen[i] != 0; i = (i + 1) & mask)
		if (w->seen[i] == h)
			return TRUE;
	w->seen[i] = h;
	w->nseen++;
	return FALSE;
}

/* writer_build_index - leave bulk mode: build the email indexes (the
 * same two that store.c's migrations create, by the same names) */
static gboolean
writer_build_index(struct subscriber_writer *w, GError **error)
{
	w->bulk = FALSE;
	g_clear_pointer(&w->seen, g_free);
	w->nseen = w->seen_size = 0;
	/* the sort spills to a temporary file, not to memory, whatever the
	 * caller chose for statement journals (fixed when it began) */
	return store_exec(w->store, "PRAGMA temp_store = FILE;"
	    STORE_SQL_EMAIL_KEY_INDEX ";" STORE_SQL_EMAIL_LOWER_INDEX, error);
}

/* subscriber_writer_bulk - an import into an empty subscribers table:
 * drop the two email indexes (a million random inserts into each cost
 * more than sorting once), detect repeated addresses by hash, and build the index
 * at the first possible repeat or in subscriber_writer_finish */
gboolean
subscriber_writer_bulk(struct subscriber_writer *w, GError **error)
{
	sqlite3_stmt *st = w->st[W_MAXID];
	gint64 max;
	int rc;

	rc = sqlite3_step(st);
	max = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW) {
		herald_set_sqlite_error(error, w->store->db, rc, "reading ids");
		return FALSE;
	}
	if (max != 0 || w->bulk)
		return TRUE;
	/* only the tables' last pages are hot now: a small cache, which is
	 * also what the sort that builds the index may hold in memory */
	if (!store_exec(w->store, "DROP INDEX subscribers_email_key;"
	    "DROP INDEX subscribers_email_lower;"
	    "PRAGMA cache_size = -8192", error))
		return FALSE;
	w->bulk = TRUE;
	return TRUE;
}

/* subscriber_writer_finish - flush, and build the email index if bulk */
gboolean
subscriber_writer_finish(struct subscriber_writer *w, GError **error)
{
	if (!subscriber_writer_flush(w, error))
		return FALSE;
	writer_pipeline_stop(w);
	return !w->bulk || writer_build_index(w, error);
}

/* writer_write_batch - write the rows of w->b, and empty it */
static gboolean
writer_write_batch(struct subscriber_writer *w, GError **error)
{
	sqlite3_stmt *st = w->st[W_MAXID];
	gint64 added = 0;
	guint i, j, n = w->b->rows->len;
	gboolean ok = FALSE;
	int rc;

	if (n == 0)
		return TRUE;
	/* bulk: a key seen before (or a hash collision) ends bulk mode before
	 * this batch is written, so the index finds the repeat */
	for (i = 0; w->bulk && i < n; i++)
		if (writer_seen(w, writer_hash(writer_str(w->b,
		    g_array_index(w->b->rows, struct writer_row, i).key))) &&
		    !writer_build_index(w, error))
			goto out;
	rc = sqlite3_step(st);
	w->base = sqlite3_column_int64(st, 0) + 1;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW) {
		herald_set_sqlite_error(error, w->store->db, rc, "reading ids");
		goto out;
	}
	if (!writer_multi(w, M_SUBSCRIBERS, n, writer_bind_subscriber, &added,
	    error) || !writer_fresh(w, added, error))
		goto out;
	/* the new subscribers' index rows, then their memberships */
	g_array_set_size(w->items, 0);
	g_array_set_size(w->vids, 0);
	for (i = 0; i < n; i++) {
		struct writer_row *row = &g_array_index(w->b->rows,
		    struct writer_row, i);

		if (!row->fresh)
			continue;
		for (j = 0; j < row->nkv; j++) {
			guint kv = row->kv + 2 * j;
			const char *v = writer_str(w->b, g_array_index(w->b->kv, gsize,
			    kv + 1));
			gint64 vid;

			if (*v == '\0')
				continue;
			if ((vid = writer_value_id(w, writer_str(w->b,
			    g_array_index(w->b->kv, gsize, kv)), v, error)) == 0)
				goto out;
			g_array_append_val(w->items, i);
			g_array_append_val(w->vids, vid);
		}
	}
	if (!writer_multi(w, M_ATTRIBUTES, w->items->len,
	    writer_bind_attribute, &added, error))
		goto out;
	g_array_set_size(w->items, 0);
	for (i = 0; i < n; i++)
		if (g_array_index(w->b->rows, struct writer_row, i).fresh)
			g_array_append_val(w->items, i);
	if (!writer_multi(w, M_MEMBERS, w->items->len, writer_bind_member,
	    &added, error))
		goto out;
	/* then, in order, the events of the new and the rows already known */
	for (i = 0; i < n; i++) {
		struct writer_row *row = &g_array_index(w->b->rows,
		    struct writer_row, i);

		if (row->fresh) {
			row->outcome = SUBSCRIBER_ADDED;
			if (!writer_event(w, row, error))
				goto out;
		} else if (!writer_known(w, row, error))
			goto out;
		w->counts[row->outcome]++;
	}
	w->last_id = g_array_index(w->b->rows, struct writer_row, n - 1).id;
	w->last_outcome = g_array_index(w->b->rows, struct writer_row,
	    n - 1).outcome;
	ok = TRUE;
out:
	writer_batch_clear(w->b);
	return ok;
}

/*
 * The pipeline: the caller's thread reads, checks and queues rows into
 * one batch while a second thread writes the other one, so parsing costs
 * no time of its own. Two batches in all: w->fill (the caller's), and one
 * either free (in WRITTEN) or being written. The SQLite connection is the
 * writing thread's alone while the pipeline runs; the caller only waits
 * for it (writer_settle) or stops it.
 */
static struct writer_batch writer_batch_end;

static gpointer
writer_thread_main(gpointer data)
{
	struct subscriber_writer *w = data;
	struct writer_batch *b;

	while ((b = g_async_queue_pop(w->to_write)) != &writer_batch_end) {
		GError *error = NULL;

		w->b = b;
		if (w->perror == NULL && !writer_write_batch(w, &error))
			w->perror = error;	/* read after WRITTEN hands b back */
		writer_batch_clear(b);
		g_async_queue_push(w->written, b);
	}
	return NULL;
}

/* writer_perror - the writing thread's first error, if any */
static gboolean
writer_perror(struct subscriber_writer *w, GError **error)
{
	if (w->perror == NULL)
		return TRUE;
	if (error != NULL)
		*error = g_error_copy(w->perror);
	return FALSE;
}

/* writer_hand_over - give the filled batch to the writing thread and
 * take the free one (waiting while it is being written) */
static gboolean
writer_hand_over(struct subscriber_writer *w, GError **error)
{
	struct writer_batch *free_batch = g_async_queue_pop(w->written);

	if (!writer_perror(w, error)) {
		g_async_queue_push(w->written, free_batch);
		return FALSE;
	}
	g_async_queue_push(w->to_write, w->fill);
	w->fill = free_batch;
	return TRUE;
}

/* writer_settle - wait until the writing thread has written all it has */
static gboolean
writer_settle(struct subscriber_writer *w, GError **error)
{
	struct writer_batch *free_batch = g_async_queue_pop(w->written);

	g_async_queue_push(w->written, free_batch);
	return writer_perror(w, error);
}

/* subscriber_writer_pipeline - from now on, write batches in a second
 * thread (call with nothing queued; an import does) */
void
subscriber_writer_pipeline(struct subscriber_writer *w)
{
	if (w->thread != NULL || w->fill->rows->len > 0)
		return;
	w->to_write = g_async_queue_new();
	w->written = g_async_queue_new();
	g_async_queue_push(w->written, w->b);
	w->b = NULL;
	w->thread = g_thread_new("herald-import", writer_thread_main, w);
}

/* writer_pipeline_stop - end the writing thread (after what it has) */
static void
writer_pipeline_stop(struct subscriber_writer *w)
{
	if (w->thread == NULL)
		return;
	g_async_queue_push(w->to_write, &writer_batch_end);
	g_thread_join(w->thread);
	w->thread = NULL;
	w->b = g_async_queue_pop(w->written);
	g_async_queue_unref(w->to_write);
	g_async_queue_unref(w->written);
	w->to_write = w->written = NULL;
}

/* subscriber_writer_flush - write every queued row */
gboolean
subscriber_writer_flush(struct subscriber_writer *w, GError **error)
{
	struct writer_batch *t;

	if (w->thread != NULL)
		return (w->fill->rows->len == 0 || writer_hand_over(w, error)) &&
		    writer_settle(w, error);
	t = w->b;
	w->b = w->fill;
	w->fill = t;
	return writer_write_batch(w, error);
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

/* writer_email_key - subscriber_email_key into the arena, without a
 * temporary when the domain is ASCII */
static gsize
writer_email_key(struct subscriber_writer *w, const char *email)
{
	const char *at = subscriber_find_at(email), *p;
	g_autofree char *key = NULL;
	gsize off;

	if (at != NULL) {
		for (p = at + 1; *p != '\0' && (unsigned char)*p < 0x80; p++)
			;
		if (*p == '\0') {
			off = writer_keep(w, email, -1);
			for (p = w->fill->arena->str + off + (at + 1 - email); *p != '\0';
			    p++)
				*(char *)p = g_ascii_tolower(*p);
			return off;
		}
	}
	key = subscriber_email_key(email);
	return writer_keep(w, key, -1);
}

/* subscriber_writer_queue - check and queue one row; write the queue when
 * it is full */
gboolean
subscriber_writer_queue(struct subscriber_writer *w, const char *email,
    const char *name, GHashTable *attrs, GError **error)
{
	struct writer_row row = { 0 };
	GHashTableIter it;
	gpointer k, v;

	if (!writer_check(email, name, attrs, error))
		return FALSE;
	row.email = writer_keep(w, email, -1);
	row.key = writer_email_key(w, email);
	row.name = name != NULL && *name != '\0' ? writer_keep(w, name, -1) :
	    W_NONE;
	row.kv = w->fill->kv->len;
	if (attrs != NULL) {
		g_hash_table_iter_init(&it, attrs);
		while (g_hash_table_iter_next(&it, &k, &v)) {
			gsize ko = writer_keep(w, k, -1), vo = writer_keep(w, v, -1);

			g_array_append_val(w->fill->kv, ko);
			g_array_append_val(w->fill->kv, vo);
			row.nkv++;
		}
	}
	writer_json(w->fill, &row, FALSE);
	row.json = writer_keep(w, w->fill->json->str,
	    (gssize)w->fill->json->len);
	g_array_append_val(w->fill->rows, row);
	if (w->fill->rows->len == W_BATCH)
		return w->thread != NULL ? writer_hand_over(w, error) :
		    subscriber_writer_flush(w, error);
	return TRUE;
}

/* subscriber_write - one row, written at once */
gboolean
subscriber_write(struct subscriber_writer *w, const char *email,
    const char *name, GHashTable *attrs, enum subscriber_outcome *outcome,
    gint64 *subscriber_id, GError **error)
{
	if (!subscriber_writer_flush(w, error) ||
	    !subscriber_writer_queue(w, email, name, attrs, error) ||
	    !subscriber_writer_flush(w, error))
		return FALSE;
	if (outcome != NULL)
		*outcome = w->last_outcome;
	if (subscriber_id != NULL)
		*subscriber_id = w->last_id;
	return TRUE;
}
