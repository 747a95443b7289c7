/*
 * subscriber.c - subscribers, their attributes and memberships in the
 * store (the checks of addresses and names are core/address.c's).
 *
 * A subscriber is loaded in one way (subscriber_from_row and
 * subscriber_add_attr): by subscriber_get and subscriber_find here, and
 * by whoever reads subscribers along with other rows (the dispatcher, the
 * maildir writer of herald send).
 *
 * The writer's statements are prepared once per connection (the store's
 * cache), its multi-row ones once per size: an import of a million rows
 * prepares each statement once.
 *
 * Must stay true: nothing here begins or commits a transaction except
 * the (nestable) ones of membership_set and subscriber_delete; every
 * status change writes one event in the same transaction as the change.
 */
#include <string.h>

#include "herald.h"
#include "store.h"
#include "store_dynamic.h"
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

/* subscriber_from_row - see subscriber.h */
struct subscriber *
subscriber_from_row(struct store_rows *rows, int first)
{
	struct subscriber *sub = g_new0(struct subscriber, 1);
	const char *name = store_text(rows, first + 2);

	sub->id = store_int(rows, first);
	sub->email = store_text_dup(rows, first + 1);
	sub->name = name != NULL && *name != '\0' ? g_strdup(name) : NULL;
	sub->created = store_int(rows, first + 3);
	sub->attrs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
	    g_free);
	return sub;
}

/* subscriber_add_attr - see subscriber.h */
void
subscriber_add_attr(struct subscriber *sub, struct store_rows *rows, int col)
{
	if (!store_null(rows, col))
		g_hash_table_insert(sub->attrs, store_text_dup(rows, col),
		    store_text_dup(rows, col + 1));
}

/* subscriber_load - the subscriber ROWS select (a row per attribute, or
 * one with NULL ones: SUBSCRIBER_COLUMNS then key, value); WHAT names it
 * in the NOUSER error when there is none */
static struct subscriber *
subscriber_load(struct store_rows *rows, const char *what, GError **error)
{
	g_autoptr(subscriber) sub = NULL;
	GError *err = NULL;

	if (rows == NULL)
		return NULL;
	while (store_next(rows, &err)) {
		if (sub == NULL)
			sub = subscriber_from_row(rows, 0);
		subscriber_add_attr(sub, rows, 4);
	}
	if (err != NULL) {
		g_propagate_error(error, err);
		return NULL;
	}
	if (sub == NULL)
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_NOUSER,
		    "no subscriber %s", what);
	return g_steal_pointer(&sub);
}

/* subscriber_get - by id */
struct subscriber *
subscriber_get(struct store *store, gint64 id, GError **error)
{
	g_autoptr(store_rows) rows = store_select(store, "SELECT "
	    SUBSCRIBER_COLUMNS ", a.key, a.value FROM subscribers s"
	    " LEFT JOIN json_each(s.attrs) a ON TRUE WHERE s.id = ?1", error,
	    SQ_INT(id), SQ_END);
	g_autofree char *what = g_strdup_printf("#%" G_GINT64_FORMAT, id);

	return subscriber_load(rows, what, error);
}

/* subscriber_find - by address (domain case-insensitively) */
struct subscriber *
subscriber_find(struct store *store, const char *email, GError **error)
{
	g_autofree char *key = subscriber_email_key(email);
	g_autoptr(store_rows) rows = store_select(store, "SELECT "
	    SUBSCRIBER_COLUMNS ", a.key, a.value FROM subscribers s"
	    " LEFT JOIN json_each(s.attrs) a ON TRUE WHERE s.email_key = ?1", error,
	    SQ_TEXT(key), SQ_END);

	return subscriber_load(rows, email, error);
}

/* subscriber_delete - the subscriber and everything hanging off them
 * (the segment index by hand: it has no foreign key, which would cost a
 * scan of the whole table per deleted subscriber) */
gboolean
subscriber_delete(struct store *store, gint64 id, GError **error)
{
	if (!store_begin(store, error))
		return FALSE;
	if (!store_run(store, "DELETE FROM attribute_members"
	    " WHERE subscriber_id = ?1 AND value_id IN (SELECT v.id"
	    "  FROM subscriber_attributes a JOIN attribute_values v"
	    "  ON v.key = a.key AND v.value = a.value"
	    "  WHERE a.subscriber_id = ?1)", error, SQ_INT(id), SQ_END) ||
	    !store_run(store, "DELETE FROM subscribers WHERE id = ?1", error,
	    SQ_INT(id), SQ_END)) {
		store_rollback(store);
		return FALSE;
	}
	return store_commit(store, error);
}

/* membership_intern - see subscriber.h */
const char *
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
	g_autoptr(store_rows) rows = store_select(store, "SELECT status,"
	    " subscribed, changed FROM memberships WHERE list_id = ?1"
	    " AND subscriber_id = ?2", error, SQ_INT(list_id),
	    SQ_INT(subscriber_id), SQ_END);
	GError *err = NULL;

	if (rows == NULL)
		return NULL;
	if (store_next(rows, &err)) {
		if (subscribed != NULL)
			*subscribed = store_int(rows, 1);
		if (changed != NULL)
			*changed = store_int(rows, 2);
		return membership_intern(store_text(rows, 0));
	}
	if (err != NULL)
		g_propagate_error(error, err);
	else
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_NOUSER,
		    "not a member of this list");
	return NULL;
}

/* membership_channel - how the last change came */
char *
membership_channel(struct store *store, gint64 list_id, gint64 subscriber_id)
{
	char *channel = NULL;

	store_get_text(store, "SELECT channel FROM memberships"
	    " WHERE list_id = ?1 AND subscriber_id = ?2", &channel, NULL,
	    SQ_INT(list_id), SQ_INT(subscriber_id), SQ_END);
	return channel;
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
	if (membership_intern(status) == NULL) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_SOFTWARE,
		    "no membership status \"%s\"", status);
		return FALSE;
	}
	if (!store_begin(store, error))
		return FALSE;
	/* joining again (from unsubscribed, disabled, blocklisted) restarts
	 * the subscription date; other changes only stamp "changed" */
	if (!store_run(store, "INSERT INTO memberships(list_id,"
	    " subscriber_id, status, channel) VALUES (?1, ?2, ?3, ?4)"
	    " ON CONFLICT(list_id, subscriber_id) DO UPDATE SET"
	    " subscribed = CASE WHEN excluded.status IN ('active', 'pending')"
	    "   AND memberships.status NOT IN ('active', 'pending')"
	    "   THEN unixepoch() ELSE memberships.subscribed END,"
	    " status = excluded.status, changed = unixepoch(),"
	    " channel = excluded.channel", error, SQ_INT(list_id),
	    SQ_INT(subscriber_id), SQ_TEXT(status), SQ_TEXT(channel), SQ_END) ||
	    !store_event(store, list_id, subscriber_id, action, channel, detail,
	    error)) {
		store_rollback(store);
		return FALSE;
	}
	return store_commit(store, error);
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
 * Multi-row statements come in sizes 1, 2, 4 … W_BATCH rows, their text
 * built once each when first needed (and kept for the process: the
 * store caches statements by their text).
 */
#define W_BATCH		1024	/* rows per flush; a power of two */
#define W_SIZES		11	/* log2(W_BATCH) + 1 */
#define W_NONE		G_MAXSIZE	/* no name */

/* the multi-row statements: head, one row's values ("?" for each
 * parameter, numbered when the text is built), tail */
enum { M_SUBSCRIBERS, M_ATTRIBUTES, M_MEMBERS, M_NKIND };

static const struct {
	const char *head, *row, *tail;
} writer_multi_text[M_NKIND] = {
	[M_SUBSCRIBERS] = { "INSERT OR IGNORE INTO subscribers(id, email,"
	    " email_key, name, attrs) VALUES ", "(?, ?, ?, ?, ?)", "" },
	[M_ATTRIBUTES] = { "INSERT OR IGNORE INTO attribute_members(value_id,"
	    " subscriber_id) VALUES ", "(?, ?)", "" },
	[M_MEMBERS] = { "INSERT OR IGNORE INTO memberships(list_id,"
	    " subscriber_id, status, channel) VALUES ", "(?, ?, 'active', ?)",
	    "" },
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
	const char *multi[M_NKIND][W_SIZES];	/* [kind][k]: 2^k rows' SQL */
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
	GArray *args;			/* struct store_arg: its values */
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

/* writer_batch_new - an empty batch */
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

/* writer_batch_clear - empty B, keeping its memory */
static void
writer_batch_clear(struct writer_batch *b)
{
	g_array_set_size(b->rows, 0);
	g_array_set_size(b->kv, 0);
	g_string_truncate(b->arena, 0);
}

/* writer_batch_free - free B */
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

/* subscriber_writer_new - a writer into LIST_ID through CHANNEL */
struct subscriber_writer *
subscriber_writer_new(struct store *store, gint64 list_id,
    const char *channel, GError **error)
{
	struct subscriber_writer *w = g_new0(struct subscriber_writer, 1);

	w->store = store;
	w->list_id = list_id;
	w->channel = g_strdup(channel);
	w->fill = writer_batch_new();
	w->b = writer_batch_new();
	w->path = g_string_sized_new(80);
	w->pair = g_string_sized_new(80);
	w->items = g_array_new(FALSE, FALSE, sizeof(guint));
	w->args = g_array_new(FALSE, FALSE, sizeof(struct store_arg));
	w->vids = g_array_new(FALSE, FALSE, sizeof(gint64));
	w->value_ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
	    NULL);
	(void)error;	/* nothing is prepared before it is needed */
	return w;
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

/* subscriber_writer_free - end the pipeline and free W (queued rows are
 * dropped: flush first) */
void
subscriber_writer_free(struct subscriber_writer *w)
{
	if (w == NULL)
		return;
	writer_pipeline_stop(w);
	writer_batch_free(w->fill);
	writer_batch_free(w->b);
	g_clear_error(&w->perror);
	g_string_free(w->path, TRUE);
	g_string_free(w->pair, TRUE);
	g_array_unref(w->items);
	g_array_unref(w->args);
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

/* writer_multi_sql - the SQL of KIND for 2^K rows, parameters numbered
 * ?1 on; built once (interned: it keys the store's statement cache) */
static const char *
writer_multi_sql(struct subscriber_writer *w, int kind, int k)
{
	g_autoptr(GString) sql = NULL;
	const char *p;
	int i, n = 0;

	if (w->multi[kind][k] != NULL)
		return w->multi[kind][k];
	sql = g_string_new(writer_multi_text[kind].head);
	for (i = 0; i < 1 << k; i++) {
		if (i > 0)
			g_string_append(sql, ", ");
		for (p = writer_multi_text[kind].row; *p != '\0'; p++)
			if (*p == '?')
				g_string_append_printf(sql, "?%d", ++n);
			else
				g_string_append_c(sql, *p);
	}
	g_string_append(sql, writer_multi_text[kind].tail);
	w->multi[kind][k] = g_intern_string(sql->str);
	return w->multi[kind][k];
}

/* writer_arg - append one value to what the next multi-row statement
 * binds */
static inline void
writer_arg(struct subscriber_writer *w, struct store_arg arg)
{
	g_array_append_vals(w->args, &arg, 1);
}

/* writer_multi - run KIND over NITEMS items, each one's values added by
 * ADD(w, item); *CHANGED counts the rows that went in */
static gboolean
writer_multi(struct subscriber_writer *w, int kind, guint nitems,
    void (*add)(struct subscriber_writer *, guint), gint64 *changed,
    GError **error)
{
	guint done = 0;
	int k;

	while (done < nitems) {
		guint n, i;

		for (k = W_SIZES - 1; (1u << k) > nitems - done; k--)
			;
		n = 1u << k;
		g_array_set_size(w->args, 0);
		for (i = 0; i < n; i++)
			add(w, done + i);
		if (!store_finish(store_select_array(w->store,
		    writer_multi_sql(w, kind, k),
		    (const struct store_arg *)(void *)w->args->data,
		    w->args->len, error), error))
			return FALSE;
		*changed += store_changes(w->store);
		done += n;
	}
	return TRUE;
}

/* writer_add_subscriber - row I */
static void
writer_add_subscriber(struct subscriber_writer *w, guint i)
{
	struct writer_row *row = &g_array_index(w->b->rows, struct writer_row, i);

	row->id = w->base + i;
	writer_arg(w, SQ_INT(row->id));
	writer_arg(w, SQ_TEXT(writer_str(w->b, row->email)));
	writer_arg(w, SQ_TEXT(writer_str(w->b, row->key)));
	writer_arg(w, SQ_TEXT(writer_str(w->b, row->name)));
	writer_arg(w, SQ_TEXT(writer_str(w->b, row->json)));
}

/* writer_add_attribute - index row I: w->items[I] is the row, and
 * w->vids[I] the id of its pair */
static void
writer_add_attribute(struct subscriber_writer *w, guint i)
{
	guint r = g_array_index(w->items, guint, i);

	writer_arg(w, SQ_INT(g_array_index(w->vids, gint64, i)));
	writer_arg(w, SQ_INT(g_array_index(w->b->rows, struct writer_row,
	    r).id));
}

#define W_VALUE_CACHE	65536	/* pairs cached, at most */

/* writer_value_id - the id of the pair (K, V) in attribute_values, added
 * if new; 0 on error. The cache holds ids made or read in this writer's
 * transaction, and is emptied when it grows past W_VALUE_CACHE pairs (an
 * attribute with a value per subscriber would otherwise fill memory). */
static gint64
writer_value_id(struct subscriber_writer *w, const char *k, const char *v,
    GError **error)
{
	gpointer hit;
	gint64 id = 0;
	int found;

	/* the key, built in a scratch buffer: copied only when cached */
	g_string_assign(w->pair, k);
	g_string_append_c(w->pair, '\n');
	g_string_append(w->pair, v);
	if ((hit = g_hash_table_lookup(w->value_ids, w->pair->str)) != NULL)
		return GPOINTER_TO_SIZE(hit);
	if (!store_run(w->store, "INSERT INTO attribute_values(key, value)"
	    " VALUES (?1, ?2) ON CONFLICT DO NOTHING", error, SQ_TEXT(k),
	    SQ_TEXT(v), SQ_END))
		return 0;
	found = store_get_int(w->store, "SELECT id FROM attribute_values"
	    " WHERE key = ?1 AND value = ?2", &id, error, SQ_TEXT(k),
	    SQ_TEXT(v), SQ_END);
	if (found < 0)
		return 0;
	if (id <= 0) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_SOFTWARE,
		    "reading an attribute value: the pair %s is not there", k);
		return 0;
	}
	if (g_hash_table_size(w->value_ids) >= W_VALUE_CACHE)
		g_hash_table_remove_all(w->value_ids);
	g_hash_table_insert(w->value_ids, g_strdup(w->pair->str),
	    GSIZE_TO_POINTER((gsize)id));
	return id;
}

/* writer_add_member - membership I: w->items[I] is the row */
static void
writer_add_member(struct subscriber_writer *w, guint i)
{
	guint r = g_array_index(w->items, guint, i);

	writer_arg(w, SQ_INT(w->list_id));
	writer_arg(w, SQ_INT(g_array_index(w->b->rows, struct writer_row,
	    r).id));
	writer_arg(w, SQ_TEXT(w->channel));
}

/* writer_update_attrs - a known subscriber's attributes from ROW */
static gboolean
writer_update_attrs(struct subscriber_writer *w, struct writer_row *row,
    GError **error)
{
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
		/* keys are [a-z_][a-z0-9_.-]*: safe inside a quoted path; the
		 * old index row of key ?2 goes, unless its value stays ?3 */
		g_string_printf(w->path, "$.\"%s\"", k);
		if (!store_run(w->store, "DELETE FROM attribute_members"
		    " WHERE subscriber_id = ?1 AND value_id = (SELECT id"
		    " FROM attribute_values WHERE key = ?2 AND value = (SELECT"
		    " json_extract(attrs, ?4) FROM subscribers WHERE id = ?1)"
		    " AND value IS NOT ?3)", error, SQ_INT(row->id), SQ_TEXT(k),
		    SQ_TEXT(v), SQ_TEXT(w->path->str), SQ_END))
			return FALSE;
		if (v == NULL)
			continue;
		if ((vid = writer_value_id(w, k, v, error)) == 0 ||
		    !store_run(w->store, "INSERT OR IGNORE INTO"
		    " attribute_members(value_id, subscriber_id) VALUES (?1, ?2)",
		    error, SQ_INT(vid), SQ_INT(row->id), SQ_END))
			return FALSE;
	}
	writer_json(w->b, row, TRUE);
	return store_run(w->store, "UPDATE subscribers"
	    " SET attrs = json_patch(attrs, ?2) WHERE id = ?1", error,
	    SQ_INT(row->id), SQ_TEXT(w->b->json->str), SQ_END);
}

/* writer_event - the subscribe event of ROW, unless quiet */
static gboolean
writer_event(struct subscriber_writer *w, const struct writer_row *row,
    GError **error)
{
	if (w->quiet)
		return TRUE;
	return store_run(w->store, "INSERT INTO events(list_id, subscriber_id,"
	    " action, channel) VALUES (?1, ?2, 'subscribe', ?3)", error,
	    SQ_INT(w->list_id), SQ_INT(row->id), SQ_TEXT(w->channel), SQ_END);
}

/* writer_member_status - ROW's membership of the writer's list (a
 * MEMBER_* string) in *STATUS, NULL when none */
static gboolean
writer_member_status(struct subscriber_writer *w,
    const struct writer_row *row, const char **status, GError **error)
{
	g_autoptr(store_rows) rows = store_select(w->store, "SELECT status"
	    " FROM memberships WHERE list_id = ?1 AND subscriber_id = ?2",
	    error, SQ_INT(w->list_id), SQ_INT(row->id), SQ_END);
	GError *err = NULL;

	*status = NULL;
	if (rows == NULL)
		return FALSE;
	if (store_next(rows, &err))
		*status = membership_intern(store_text(rows, 0));
	if (err != NULL) {
		g_propagate_error(error, err);
		return FALSE;
	}
	return TRUE;
}

/* writer_known - ROW, whose address was already stored */
static gboolean
writer_known(struct subscriber_writer *w, struct writer_row *row,
    GError **error)
{
	const char *status;
	int found;

	found = store_get_int(w->store, "SELECT id FROM subscribers"
	    " WHERE email_key = ?1", &row->id, error,
	    SQ_TEXT(writer_str(w->b, row->key)), SQ_END);
	if (found < 0)
		return FALSE;
	if (found == 0) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_SOFTWARE,
		    "finding %s: it is not there", writer_str(w->b, row->email));
		return FALSE;
	}
	if (row->name != W_NONE && !store_run(w->store, "UPDATE subscribers"
	    " SET name = ?2 WHERE id = ?1 AND name IS NOT ?2", error,
	    SQ_INT(row->id), SQ_TEXT(writer_str(w->b, row->name)), SQ_END))
		return FALSE;
	if (!writer_update_attrs(w, row, error) ||
	    !writer_member_status(w, row, &status, error))
		return FALSE;
	if (status != NULL) {
		row->outcome = g_strcmp0(status, MEMBER_ACTIVE) == 0 ?
		    SUBSCRIBER_UPDATED : SUBSCRIBER_KEPT;
		return TRUE;
	}
	if (!store_run(w->store, "INSERT INTO memberships(list_id,"
	    " subscriber_id, status, channel) VALUES (?1, ?2, 'active', ?3)",
	    error, SQ_INT(w->list_id), SQ_INT(row->id), SQ_TEXT(w->channel),
	    SQ_END))
		return FALSE;
	row->outcome = SUBSCRIBER_JOINED;
	return writer_event(w, row, error);
}

/* writer_fresh - mark the queued rows that went in, ADDED of them */
static gboolean
writer_fresh(struct subscriber_writer *w, gint64 added, GError **error)
{
	g_autoptr(store_rows) rows = NULL;
	GError *err = NULL;
	guint i;

	if (added == (gint64)w->b->rows->len) {
		for (i = 0; i < w->b->rows->len; i++)
			g_array_index(w->b->rows, struct writer_row, i).fresh = TRUE;
		return TRUE;
	}
	if (added == 0)
		return TRUE;
	rows = store_select(w->store, "SELECT id FROM subscribers"
	    " WHERE id BETWEEN ?1 AND ?2", error, SQ_INT(w->base),
	    SQ_INT(w->base + w->b->rows->len - 1), SQ_END);
	if (rows == NULL)
		return FALSE;
	while (store_next(rows, &err))
		g_array_index(w->b->rows, struct writer_row,
		    store_int(rows, 0) - w->base).fresh = TRUE;
	if (err != NULL) {
		g_propagate_error(error, err);
		return FALSE;
	}
	return TRUE;
}

/* writer_max_id - the highest subscriber id (0: none) in *MAX */
static gboolean
writer_max_id(struct subscriber_writer *w, gint64 *max, GError **error)
{
	*max = 0;
	return store_get_int(w->store, "SELECT coalesce(max(id), 0)"
	    " FROM subscribers", max, error, SQ_END) >= 0;
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
 * more than sorting once), detect repeated addresses by hash, and build
 * the index at the first possible repeat or in subscriber_writer_finish */
gboolean
subscriber_writer_bulk(struct subscriber_writer *w, GError **error)
{
	gint64 max;

	if (!writer_max_id(w, &max, error))
		return FALSE;
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

/* writer_fresh_rows - the attribute index rows of the batch's new
 * subscribers, then their memberships */
static gboolean
writer_fresh_rows(struct subscriber_writer *w, GError **error)
{
	gint64 added = 0;
	guint i, j, n = w->b->rows->len;

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
				return FALSE;
			g_array_append_val(w->items, i);
			g_array_append_val(w->vids, vid);
		}
	}
	if (!writer_multi(w, M_ATTRIBUTES, w->items->len,
	    writer_add_attribute, &added, error))
		return FALSE;
	g_array_set_size(w->items, 0);
	for (i = 0; i < n; i++)
		if (g_array_index(w->b->rows, struct writer_row, i).fresh)
			g_array_append_val(w->items, i);
	return writer_multi(w, M_MEMBERS, w->items->len, writer_add_member,
	    &added, error);
}

/* writer_write_batch - write the rows of w->b, and empty it */
static gboolean
writer_write_batch(struct subscriber_writer *w, GError **error)
{
	gint64 added = 0, max;
	guint i, n = w->b->rows->len;
	gboolean ok = FALSE;

	if (n == 0)
		return TRUE;
	/* bulk: a key seen before (or a hash collision) ends bulk mode before
	 * this batch is written, so the index finds the repeat */
	for (i = 0; w->bulk && i < n; i++)
		if (writer_seen(w, writer_hash(writer_str(w->b,
		    g_array_index(w->b->rows, struct writer_row, i).key))) &&
		    !writer_build_index(w, error))
			goto out;
	if (!writer_max_id(w, &max, error))
		goto out;
	w->base = max + 1;
	if (!writer_multi(w, M_SUBSCRIBERS, n, writer_add_subscriber, &added,
	    error) || !writer_fresh(w, added, error))
		goto out;
	if (!writer_fresh_rows(w, error))
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

/* writer_thread_main - the writing thread: batches until the end marker */
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
	const char *at = address_find_at(email), *p;
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
