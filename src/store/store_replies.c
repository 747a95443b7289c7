/*
 * store_replies.c - the replies table read for herald replies and herald
 * reply show (see store_replies.h); herald pipe writes it (pipe.c).
 *
 * Must stay true: read-only; every statement goes through the store's
 * query helper (store_select) with its values bound, never spliced.
 */
#include <string.h>

#include "herald.h"
#include "store.h"
#include "store_replies.h"

/* store_replies_list - see store_replies.h */
struct store_rows *
store_replies_list(struct store *store, const char *list, gint64 campaign,
    const char *kind, GError **error)
{
	struct store_rows *rows = store_select(store,
	    "SELECT r.id, r.received, l.name, r.route,"
	    " r.kind, r.forwarded, r.campaign_id, r.subscriber_id,"
	    " coalesce(r.from_addr, r.envelope_from), r.subject"
	    " FROM replies r LEFT JOIN lists l ON l.id = r.list_id"
	    " WHERE (CAST(?1 AS TEXT) IS NULL OR l.name = ?1)"
	    " AND (?2 = 0 OR r.campaign_id = ?2)"
	    " AND (CAST(?3 AS TEXT) IS NULL OR r.kind = ?3)"
	    " ORDER BY r.received DESC, r.id DESC", error, SQ_TEXT(list),
	    SQ_INT(campaign), SQ_TEXT(kind), SQ_END);

	if (rows == NULL)
		g_prefix_error(error, "listing replies: ");
	return rows;
}

/* store_replies_next - one row of store_replies_list into *R */
gboolean
store_replies_next(struct store_rows *rows, struct store_reply *r,
    GError **error)
{
	GError *err = NULL;

	memset(r, 0, sizeof(*r));
	if (!store_next(rows, &err)) {
		if (err != NULL)
			g_propagate_prefixed_error(error, err, "listing replies: ");
		return FALSE;
	}
	r->id = store_int(rows, 0);
	r->received = store_int(rows, 1);
	r->list = store_text(rows, 2);
	r->route = store_text(rows, 3);
	r->kind = store_text(rows, 4);
	r->forwarded = store_int(rows, 5) != 0;
	r->has_campaign = !store_null(rows, 6);
	r->campaign_id = store_int(rows, 6);
	r->has_subscriber = !store_null(rows, 7);
	r->subscriber_id = store_int(rows, 7);
	r->from = store_text(rows, 8);
	r->subject = store_text(rows, 9);
	return TRUE;
}

/* store_reply_read - the columns of store_reply_get's row into *R */
static void
store_reply_read(struct store_rows *rows, gint64 id, struct store_reply *r)
{
	memset(r, 0, sizeof(*r));
	r->id = id;
	r->received = store_int(rows, 0);
	r->list = store_text(rows, 1);
	r->route = store_text(rows, 2);
	r->kind = store_text(rows, 3);
	r->forwarded = store_int(rows, 4) != 0;
	r->envelope_from = store_text(rows, 5);
	r->from_addr = store_text(rows, 6);
	r->from_name = store_text(rows, 7);
	r->subject = store_text(rows, 8);
	r->message_id = store_text(rows, 9);
	r->in_reply_to = store_text(rows, 10);
	r->has_campaign = !store_null(rows, 11);
	r->campaign_id = store_int(rows, 11);
	r->has_subscriber = !store_null(rows, 12);
	r->subscriber_id = store_int(rows, 12);
	r->subscriber_email = store_text(rows, 13);
	r->size = store_int(rows, 14);
	r->raw = store_blob(rows, 15, &r->raw_len);
	r->from = r->from_addr != NULL ? r->from_addr : r->envelope_from;
}

/* store_reply_get - see store_replies.h */
struct store_rows *
store_reply_get(struct store *store, gint64 id, struct store_reply *r,
    GError **error)
{
	g_autoptr(store_rows) rows = store_select(store,
	    "SELECT r.received, l.name, r.route, r.kind,"
	    " r.forwarded, r.envelope_from, r.from_addr, r.from_name, r.subject,"
	    " r.message_id, r.in_reply_to, r.campaign_id, r.subscriber_id,"
	    " s.email, r.size, r.raw FROM replies r"
	    " LEFT JOIN lists l ON l.id = r.list_id"
	    " LEFT JOIN subscribers s ON s.id = r.subscriber_id"
	    " WHERE r.id = ?1", error, SQ_INT(id), SQ_END);
	GError *err = NULL;

	if (rows == NULL) {
		g_prefix_error(error, "reading a reply: ");
		return NULL;
	}
	if (!store_next(rows, &err)) {
		if (err != NULL)
			g_propagate_prefixed_error(error, err, "reading a reply: ");
		else
			g_set_error(error, HERALD_ERROR, HERALD_ERROR_NOUSER,
			    "no reply %" G_GINT64_FORMAT, id);
		return NULL;
	}
	store_reply_read(rows, id, r);
	return g_steal_pointer(&rows);
}
