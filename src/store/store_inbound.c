/*
 * store_inbound.c - the typed queries of inbound mail and requests (see
 * store_inbound.h): replies, complaints, bounce arrivals, confirmations,
 * the memberships the subscriber actions read, the archive, and herald
 * serve's connections. Every statement goes through store_query.c.
 *
 * Must stay true: no function here begins or commits; the caller's
 * transaction holds what it writes. A failure keeps the words of what
 * was being done at the front of the error's message.
 */
#include "herald.h"
#include "store.h"
#include "store_inbound.h"
#include "subscriber.h"

/* store_inbound_found - a store_get_int answer as an id: the id, 0 for
 * no row, -1 on error (prefixed with WHAT) */
static gint64
store_inbound_found(int found, gint64 id, const char *what, GError **error)
{
	if (found < 0) {
		g_prefix_error(error, "%s: ", what);
		return -1;
	}
	return found == 1 ? id : 0;
}

/* store_inbound_done - OK, or FALSE with WHAT before the error */
static gboolean
store_inbound_done(gboolean ok, const char *what, GError **error)
{
	if (!ok)
		g_prefix_error(error, "%s: ", what);
	return ok;
}

/* ------------------------------------------------------------------ */
/* Replies */

/* store_reply_find - see store_inbound.h */
gint64
store_reply_find(struct store *store, const char *digest, gint64 list_id,
    gboolean *forwarded, GError **error)
{
	g_autoptr(store_rows) q = store_select(store, "SELECT id, forwarded"
	    " FROM replies WHERE digest = ?1 AND list_id = ?2", error,
	    SQ_TEXT(digest), SQ_INT(list_id), SQ_END);
	GError *err = NULL;

	if (q == NULL)
		return store_inbound_found(-1, 0, "looking for a message seen"
		    " before", error);
	if (store_next(q, &err)) {
		if (forwarded != NULL)
			*forwarded = store_int(q, 1) != 0;
		return store_int(q, 0);
	}
	if (err != NULL) {
		g_propagate_error(error, err);
		return store_inbound_found(-1, 0, "looking for a message seen"
		    " before", error);
	}
	return 0;
}

/* store_reply_add - see store_inbound.h */
gint64
store_reply_add(struct store *store, const struct store_reply *r,
    GError **error)
{
	gsize len;
	const void *raw = g_bytes_get_data(r->raw, &len);
	gint64 id = 0;

	if (store_get_int(store, "INSERT INTO replies(list_id, route, kind,"
	    " envelope_from, from_addr, from_name, subject, message_id,"
	    " in_reply_to, campaign_id, subscriber_id, size, digest, raw)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, nullif(?10, 0),"
	    " nullif(?11, 0), ?12, ?13, ?14) RETURNING id", &id, error, SQ_INT(r->list_id),
	    SQ_TEXT(r->route), SQ_TEXT(r->kind), SQ_TEXT(r->envelope_from),
	    SQ_TEXT(r->from_addr), SQ_TEXT(r->from_name), SQ_TEXT(r->subject),
	    SQ_TEXT(r->message_id), SQ_TEXT(r->in_reply_to),
	    SQ_INT(r->campaign_id), SQ_INT(r->subscriber_id), SQ_INT(len),
	    SQ_TEXT(r->digest), SQ_BLOB(raw, len), SQ_END) != 1)
		return store_inbound_done(FALSE, "storing a reply", error);
	return id;
}

/* store_reply_forwarded - see store_inbound.h */
gboolean
store_reply_forwarded(struct store *store, gint64 id, GError **error)
{
	return store_inbound_done(store_run(store, "UPDATE replies SET"
	    " forwarded = 1 WHERE id = ?1", error, SQ_INT(id), SQ_END),
	    "marking a reply forwarded", error);
}

/* store_reply_delivery - see store_inbound.h */
gboolean
store_reply_delivery(struct store *store, gint64 delivery, gint64 *campaign,
    gint64 *subscriber, GError **error)
{
	g_autoptr(store_rows) q = NULL;

	if (delivery <= 0)
		return FALSE;
	q = store_select(store, "SELECT campaign_id, subscriber_id FROM"
	    " deliveries WHERE id = ?1", error, SQ_INT(delivery), SQ_END);
	if (q == NULL || !store_next(q, error))
		return FALSE;
	*campaign = store_int(q, 0);
	*subscriber = store_int(q, 1);
	return TRUE;
}

/* ------------------------------------------------------------------ */
/* Complaints and bounce arrivals */

/* store_complaint_find - see store_inbound.h */
gint64
store_complaint_find(struct store *store, const char *digest,
    gint64 list_id, GError **error)
{
	gint64 id = 0;
	int found = store_get_int(store, "SELECT id FROM complaints WHERE"
	    " digest = ?1 AND (list_id = ?2 OR ?2 = 0)", &id, error,
	    SQ_TEXT(digest), SQ_INT(list_id), SQ_END);

	return store_inbound_found(found, id, "looking for a message seen"
	    " before", error);
}

/* store_complaint_record - see store_inbound.h */
gboolean
store_complaint_record(struct store *store, const struct store_complaint *c,
    GError **error)
{
	gsize len;
	const void *raw = g_bytes_get_data(c->raw, &len);

	return store_inbound_done(store_run(store, "INSERT INTO"
	    " complaints(list_id, subscriber_id, delivery_id, feedback_type,"
	    " user_agent, reporter, recipient, digest, raw) VALUES (?1,"
	    " nullif(?2, 0), nullif(?3, 0), ?4, ?5, ?6, ?7, ?8, ?9)", error,
	    SQ_INT(c->list_id), SQ_INT(c->subscriber_id),
	    SQ_INT(c->delivery_id), SQ_TEXT(c->feedback_type),
	    SQ_TEXT(c->user_agent), SQ_TEXT(c->reporter),
	    SQ_TEXT(c->recipient), SQ_TEXT(c->digest), SQ_BLOB(raw, len),
	    SQ_END), "recording a complaint", error);
}

/* store_bounce_arrival_find - see store_inbound.h */
gint64
store_bounce_arrival_find(struct store *store, const char *digest,
    gint64 list_id, GError **error)
{
	gint64 id = 0;
	int found = store_get_int(store, "SELECT id FROM inbound_bounces"
	    " WHERE digest = ?1 AND list_id = ?2", &id, error,
	    SQ_TEXT(digest), SQ_INT(list_id), SQ_END);

	return store_inbound_found(found, id, "looking for a message seen"
	    " before", error);
}

/* store_bounce_arrival_add - see store_inbound.h */
gboolean
store_bounce_arrival_add(struct store *store,
    const struct store_bounce_arrival *b, GError **error)
{
	return store_inbound_done(store_run(store, "INSERT INTO"
	    " inbound_bounces(list_id, subscriber_id, delivery_id, token,"
	    " envelope_from, digest, mail_id) VALUES (?1, nullif(?2, 0), ?3,"
	    " ?4, ?5, ?6, nullif(?7, 0))", error, SQ_INT(b->list_id),
	    SQ_INT(b->subscriber_id), SQ_INT(b->delivery_id),
	    SQ_TEXT(b->token), SQ_TEXT(b->envelope_from), SQ_TEXT(b->digest),
	    SQ_INT(b->mail_id), SQ_END), "storing a bounce", error);
}

/* ------------------------------------------------------------------ */
/* Memberships and subscribers */

/* store_membership_lists_of - see store_inbound.h */
GArray *
store_membership_lists_of(struct store *store, gint64 sub, GError **error)
{
	g_autoptr(store_rows) q = store_select(store, "SELECT list_id FROM"
	    " memberships WHERE subscriber_id = ?1 AND"
	    " status != 'blocklisted'", error, SQ_INT(sub), SQ_END);
	GArray *out;
	GError *err = NULL;

	if (q == NULL)
		return NULL;
	out = g_array_new(FALSE, FALSE, sizeof(gint64));
	while (store_next(q, &err)) {
		gint64 id = store_int(q, 0);

		g_array_append_val(out, id);
	}
	if (err != NULL) {
		g_propagate_prefixed_error(error, err, "reading memberships: ");
		g_array_unref(out);
		return NULL;
	}
	return out;
}

/* store_membership_blocklisted - see store_inbound.h */
gboolean
store_membership_blocklisted(struct store *store, gint64 sub, gboolean *out,
    GError **error)
{
	int found = store_get_int(store, "SELECT 1 FROM memberships WHERE"
	    " subscriber_id = ?1 AND status = 'blocklisted' LIMIT 1", NULL,
	    error, SQ_INT(sub), SQ_END);

	if (found < 0)
		return store_inbound_done(FALSE, "reading the blocklist", error);
	*out = found == 1;
	return TRUE;
}

/* store_membership_names - see store_inbound.h */
GPtrArray *
store_membership_names(struct store *store, gint64 sub, GError **error)
{
	g_autoptr(store_rows) q = store_select(store, "SELECT l.name,"
	    " m.status FROM memberships m JOIN lists l ON l.id = m.list_id"
	    " WHERE m.subscriber_id = ?1 ORDER BY l.name", error, SQ_INT(sub),
	    SQ_END);
	GPtrArray *out;
	GError *err = NULL;

	if (q == NULL)
		return NULL;
	out = g_ptr_array_new_with_free_func(g_free);
	while (store_next(q, &err)) {
		g_ptr_array_add(out, store_text_dup(q, 0));
		g_ptr_array_add(out, store_text_dup(q, 1));
	}
	if (err != NULL) {
		g_propagate_prefixed_error(error, err, "reading memberships: ");
		g_ptr_array_unref(out);
		return NULL;
	}
	return out;
}

/* store_membership_pending_before - see store_inbound.h */
GArray *
store_membership_pending_before(struct store *store, gint64 cutoff,
    GError **error)
{
	g_autoptr(store_rows) q = store_select(store, "SELECT list_id,"
	    " subscriber_id FROM memberships WHERE status = 'pending' AND"
	    " changed < ?1", error, SQ_INT(cutoff), SQ_END);
	GArray *out;
	GError *err = NULL;

	if (q == NULL)
		return NULL;
	out = g_array_new(FALSE, FALSE, sizeof(gint64));
	while (store_next(q, &err)) {
		gint64 l = store_int(q, 0), s = store_int(q, 1);

		g_array_append_val(out, l);
		g_array_append_val(out, s);
	}
	if (err != NULL) {
		g_propagate_prefixed_error(error, err, "reading pending"
		    " subscriptions: ");
		g_array_unref(out);
		return NULL;
	}
	return out;
}

/* store_membership_pending_drop - see store_inbound.h */
gboolean
store_membership_pending_drop(struct store *store, gint64 list_id,
    gint64 sub, GError **error)
{
	return store_inbound_done(store_run(store, "DELETE FROM memberships"
	    " WHERE list_id = ?1 AND subscriber_id = ?2 AND status = 'pending'",
	    error, SQ_INT(list_id), SQ_INT(sub), SQ_END),
	    "expiring a subscription", error);
}

/* store_subscriber_add_if_new - see store_inbound.h */
gboolean
store_subscriber_add_if_new(struct store *store, const char *email,
    const char *name, gboolean *fresh, GError **error)
{
	g_autofree char *key = subscriber_email_key(email);

	if (!store_run(store, "INSERT INTO subscribers(email, email_key, name)"
	    " VALUES (?1, ?2, ?3) ON CONFLICT(email_key) DO NOTHING", error,
	    SQ_TEXT(email), SQ_TEXT(key), SQ_TEXT(name), SQ_END))
		return store_inbound_done(FALSE, "adding a subscriber", error);
	*fresh = store_changes(store) > 0;
	return TRUE;
}

/* ------------------------------------------------------------------ */
/* Confirmations */

/* store_confirmation_asked - see store_inbound.h */
int
store_confirmation_asked(struct store *store, gint64 list_id, gint64 sub,
    const char *action, gint64 *when, GError **error)
{
	int found = store_get_int(store, "SELECT requested FROM confirmations"
	    " WHERE list_id = ?1 AND subscriber_id = ?2 AND action = ?3", when,
	    error, SQ_INT(list_id), SQ_INT(sub), SQ_TEXT(action), SQ_END);

	if (found < 0)
		g_prefix_error(error, "reading confirmations: ");
	return found;
}

/* store_confirmation_note - see store_inbound.h */
gboolean
store_confirmation_note(struct store *store, gint64 list_id, gint64 sub,
    const char *action, gint64 now, GError **error)
{
	return store_inbound_done(store_run(store, "INSERT INTO"
	    " confirmations(list_id, subscriber_id, action, requested, sent)"
	    " VALUES (?1, ?2, ?3, ?4, 1) ON CONFLICT(list_id, subscriber_id,"
	    " action) DO UPDATE SET requested = excluded.requested,"
	    " sent = confirmations.sent + 1", error, SQ_INT(list_id), SQ_INT(sub),
	    SQ_TEXT(action), SQ_INT(now), SQ_END), "noting a confirmation",
	    error);
}

/* store_confirmation_clear - see store_inbound.h */
gboolean
store_confirmation_clear(struct store *store, gint64 list_id, gint64 sub,
    const char *action, GError **error)
{
	return store_inbound_done(store_run(store, "DELETE FROM confirmations"
	    " WHERE list_id = ?1 AND subscriber_id = ?2 AND action = ?3", error,
	    SQ_INT(list_id), SQ_INT(sub), SQ_TEXT(action), SQ_END),
	    "clearing a confirmation", error);
}

/* store_confirmation_expire - see store_inbound.h */
gboolean
store_confirmation_expire(struct store *store, gint64 cutoff, GError **error)
{
	return store_inbound_done(store_run(store, "DELETE FROM confirmations"
	    " WHERE requested < ?1", error, SQ_INT(cutoff), SQ_END),
	    "expiring confirmations", error);
}

/* ------------------------------------------------------------------ */
/* herald serve */

/* store_serve_open - see store_inbound.h */
struct store *
store_serve_open(const struct config *config,
    const struct store_serve_options *o,
    GError **error)
{
	struct store *s = store_open_config(config, STORE_OPEN_DURABLE, error);
	g_autofree char *busy = NULL, *cache = NULL;

	if (s == NULL)
		return NULL;
	/* numbers of our own: a pragma takes no parameter */
	busy = g_strdup_printf("PRAGMA busy_timeout = %d", o->busy_timeout_ms);
	cache = g_strdup_printf("PRAGMA cache_size = -%d", o->cache_kb);
	if (!store_exec(s, busy, error) || !store_exec(s, cache, error)) {
		store_close(s);
		return NULL;
	}
	return s;
}

/* store_serve_ping - see store_inbound.h */
gboolean
store_serve_ping(struct store *store, GError **error)
{
	return store_get_int(store, "SELECT 1", NULL, error, SQ_END) == 1;
}

/* store_archive_issue_clear - an archive entry's path */
static void
store_archive_issue_clear(gpointer p)
{
	g_free(((struct store_archive_issue *)p)->announcement);
}

/* store_archive_issues - see store_inbound.h */
GArray *
store_archive_issues(struct store *store, const char *list, gint64 want,
    GError **error)
{
	g_autoptr(store_rows) q = store_select(store, "SELECT c.id,"
	    " c.announcement, coalesce(c.started, c.created) FROM campaigns c"
	    " JOIN lists l ON l.id = c.list_id WHERE l.name = ?1 AND"
	    " c.started IS NOT NULL AND c.state IN ('done', 'sending',"
	    " 'waiting') AND (?2 = 0 OR c.id = ?2) AND EXISTS (SELECT 1"
	    " FROM deliveries d WHERE d.campaign_id = c.id AND"
	    " d.state = 'sent') ORDER BY c.id DESC LIMIT 50",
	    error, SQ_TEXT(list), SQ_INT(want), SQ_END);
	GArray *out;
	GError *err = NULL;

	if (q == NULL)
		return NULL;
	out = g_array_new(FALSE, TRUE, sizeof(struct store_archive_issue));
	g_array_set_clear_func(out, store_archive_issue_clear);
	while (store_next(q, &err)) {
		struct store_archive_issue is = { store_int(q, 0),
		    store_text_dup(q, 1), store_int(q, 2) };

		g_array_append_val(out, is);
	}
	if (err != NULL) {
		g_propagate_prefixed_error(error, err, "reading campaigns: ");
		g_array_unref(out);
		return NULL;
	}
	return out;
}
