/*
 * store_send.c - a campaign's deliveries read for herald send's copies
 * that record nothing (--dry-run, --test; see store_send.h).
 *
 * Must stay true: read-only; every statement goes through the store's
 * query helper with its values bound.
 */
#include "herald.h"
#include "store.h"
#include "store_send.h"
#include "subscriber.h"

/* store_send_attrs - subscriber SUB's attributes into SUB->attrs */
static gboolean
store_send_attrs(struct store *store, struct subscriber *sub, GError **error)
{
	g_autoptr(store_rows) rows = store_select(store,
	    "SELECT j.key, j.value FROM subscribers s,"
	    " json_each(s.attrs) j WHERE s.id = ?1", error, SQ_INT(sub->id),
	    SQ_END);
	GError *err = NULL;

	if (rows == NULL)
		return FALSE;
	while (store_next(rows, &err))
		g_hash_table_insert(sub->attrs, store_text_dup(rows, 0),
		    store_text_dup(rows, 1));
	if (err != NULL) {
		g_propagate_error(error, err);
		return FALSE;
	}
	return TRUE;
}

/* store_send_subscriber - the subscriber of the delivery ROWS is on */
static struct subscriber *
store_send_subscriber(struct store *store, struct store_rows *rows,
    GError **error)
{
	/* s.id, s.email, s.name, s.created from column 3: SUBSCRIBER_COLUMNS */
	g_autoptr(subscriber) sub = subscriber_from_row(rows, 3);

	if (!store_send_attrs(store, sub, error))
		return NULL;
	return g_steal_pointer(&sub);
}

/* store_send_recipients - see store_send.h */
gboolean
store_send_recipients(struct store *store, gint64 campaign_id,
    store_send_fn fn, gpointer data, GError **error)
{
	g_autoptr(store_rows) rows = store_select(store,
	    "SELECT d.id, d.segment, d.matched, s.id,"
	    " s.email, s.name, s.created FROM deliveries d JOIN subscribers s"
	    " ON s.id = d.subscriber_id WHERE d.campaign_id = ?1 ORDER BY d.id",
	    error, SQ_INT(campaign_id), SQ_END);
	GError *err = NULL;

	if (rows == NULL)
		return FALSE;
	while (store_next(rows, &err)) {
		g_autoptr(subscriber) sub = store_send_subscriber(store, rows,
		    &err);

		if (sub == NULL)
			break;
		if (!fn(sub, store_text(rows, 1), store_text(rows, 2), data,
		    error))
			return FALSE;
	}
	if (err != NULL) {
		g_propagate_prefixed_error(error, err, "reading recipients: ");
		return FALSE;
	}
	return TRUE;
}

/* store_send_sample - see store_send.h */
int
store_send_sample(struct store *store, gint64 campaign_id,
    gint64 subscriber_id, gint64 *sub_id, char **segment, char **matched,
    GError **error)
{
	g_autoptr(store_rows) rows = store_select(store,
	    "SELECT d.subscriber_id, d.segment,"
	    " d.matched FROM deliveries d WHERE d.campaign_id = ?1 AND"
	    " (CAST(?2 AS BIGINT) IS NULL OR d.subscriber_id = ?2) ORDER BY d.id LIMIT 1", error,
	    SQ_INT(campaign_id), subscriber_id != 0 ? SQ_INT(subscriber_id) :
	    SQ_NULL, SQ_END);
	int found = store_first_row(rows, error);

	if (found != 1)
		return found;
	*sub_id = store_int(rows, 0);
	*segment = store_text_dup(rows, 1);
	*matched = store_text_dup(rows, 2);
	return 1;
}
