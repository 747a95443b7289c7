/*
 * store_erase.c - a subscriber's data read out, and erased (see
 * store_erase.h).
 *
 * Must stay true: portable SQL; the deletions run in one transaction,
 * children before the subscriber row. The raw inbound mail in the spool
 * folder is not touched here (herald maintain prunes it after
 * pipe.spool_keep_days).
 */
#include "herald.h"
#include "store.h"
#include "store_erase.h"
#include "subscriber.h"

static const char *const store_mydata_sub[] = {
	"i:id", "s:email", "s:name", "j:attributes", "t:created", NULL };
static const char *const store_mydata_member[] = {
	"s:list", "s:status", "t:subscribed", "t:changed", "s:channel", NULL };
static const char *const store_mydata_delivery[] = {
	"i:campaign", "s:announcement", "s:segment", "s:state",
	"t:last_attempt", "i:code", NULL };
static const char *const store_mydata_bounce[] = {
	"t:at", "s:list", "i:campaign", "s:kind", "s:reason", "s:status",
	"s:diagnostic", NULL };
static const char *const store_mydata_reply[] = {
	"t:received", "s:list", "s:kind", "s:subject", "i:campaign", NULL };
static const char *const store_mydata_click[] = {
	"s:kind", "i:campaign", "s:url", "t:minute", "i:count", "i:machine",
	NULL };
static const char *const store_mydata_event[] = {
	"t:at", "s:list", "s:action", "s:channel", NULL };

static const struct store_mydata_section store_mydata[] = {
	{ "subscriber", store_mydata_sub, "SELECT id, email, name, attrs,"
	    " created FROM subscribers WHERE id = ?1" },
	{ "memberships", store_mydata_member, "SELECT l.name, m.status,"
	    " m.subscribed, m.changed, m.channel FROM memberships m JOIN lists l"
	    " ON l.id = m.list_id WHERE m.subscriber_id = ?1 ORDER BY l.name" },
	{ "deliveries", store_mydata_delivery, "SELECT d.campaign_id,"
	    " c.announcement, d.segment, d.state, d.last_attempt, d.code"
	    " FROM deliveries d JOIN campaigns c ON c.id = d.campaign_id"
	    " WHERE d.subscriber_id = ?1 ORDER BY d.id" },
	{ "bounces", store_mydata_bounce, "SELECT b.at, l.name, b.campaign_id,"
	    " b.kind, b.reason, b.status, b.diagnostic FROM bounces b JOIN lists"
	    " l ON l.id = b.list_id WHERE b.subscriber_id = ?1 ORDER BY b.id" },
	{ "replies", store_mydata_reply, "SELECT r.received, l.name, r.kind,"
	    " r.subject, r.campaign_id FROM replies r LEFT JOIN lists l ON"
	    " l.id = r.list_id WHERE r.subscriber_id = ?1 ORDER BY r.id" },
	{ "clicks", store_mydata_click, "SELECT t.kind, d.campaign_id,"
	    " l.url, t.minute * 60, t.n, t.machine FROM track_counts t"
	    " JOIN deliveries d ON d.id = t.delivery_id LEFT JOIN links l"
	    " ON t.kind = 'click' AND l.id = t.ref_id WHERE t.delivery_id > 0"
	    " AND d.subscriber_id = ?1 ORDER BY t.minute, t.kind" },
	{ "events", store_mydata_event, "SELECT e.at, l.name, e.action,"
	    " e.channel FROM events e LEFT JOIN lists l ON l.id = e.list_id"
	    " WHERE e.subscriber_id = ?1 ORDER BY e.id" },
};

/* store_mydata_sections - see store_erase.h */
const struct store_mydata_section *
store_mydata_sections(guint *n)
{
	*n = G_N_ELEMENTS(store_mydata);
	return store_mydata;
}

/* store_mydata_rows - see store_erase.h */
struct store_rows *
store_mydata_rows(struct store *store, guint i, gint64 sub, GError **error)
{
	g_return_val_if_fail(i < G_N_ELEMENTS(store_mydata), NULL);
	return store_select(store, store_mydata[i].sql, error, SQ_INT(sub),
	    SQ_END);
}

/* the statements of an erasure, in order (?1 the subscriber) */
static const char *const store_erase_sql[] = {
	/* the per-delivery counts become anonymous ones */
	"INSERT INTO track_counts (kind, ref_id, delivery_id, minute, machine,"
	" n) SELECT t.kind, t.ref_id, 0, t.minute, t.machine, sum(t.n)"
	" FROM track_counts t JOIN deliveries d ON d.id = t.delivery_id"
	" WHERE d.subscriber_id = ?1 AND t.delivery_id > 0"
	" GROUP BY t.kind, t.ref_id, t.minute, t.machine"
	" ON CONFLICT (kind, ref_id, delivery_id, minute, machine)"
	" DO UPDATE SET n = track_counts.n + excluded.n",
	"DELETE FROM track_counts WHERE delivery_id IN (SELECT id FROM"
	" deliveries WHERE subscriber_id = ?1) AND delivery_id > 0",
	"DELETE FROM replies WHERE subscriber_id = ?1",
	"DELETE FROM bounce_mail WHERE id IN (SELECT mail_id FROM bounces"
	" WHERE subscriber_id = ?1 UNION SELECT mail_id FROM inbound_bounces"
	" WHERE subscriber_id = ?1)",
	"DELETE FROM bounces WHERE subscriber_id = ?1",
	"DELETE FROM inbound_bounces WHERE subscriber_id = ?1",
	"DELETE FROM complaints WHERE subscriber_id = ?1",
	"DELETE FROM bounce_notices WHERE subscriber_id = ?1",
	"DELETE FROM events WHERE subscriber_id = ?1",
};

/* store_erase_subscriber - see store_erase.h */
gboolean
store_erase_subscriber(struct store *store, gint64 sub, const char *hash,
    gint64 now, GError **error)
{
	guint i;

	if (!store_begin(store, error))
		return FALSE;
	if (!store_run(store, "INSERT INTO erased (list_id, hash, at)"
	    " SELECT list_id, ?2, ?3 FROM memberships WHERE subscriber_id = ?1"
	    " ON CONFLICT (list_id, hash) DO NOTHING", error, SQ_INT(sub),
	    SQ_TEXT(hash), SQ_INT(now), SQ_END))
		goto fail;
	for (i = 0; i < G_N_ELEMENTS(store_erase_sql); i++)
		if (!store_run(store, store_erase_sql[i], error, SQ_INT(sub),
		    SQ_END))
			goto fail;
	if (!subscriber_delete(store, sub, error))
		goto fail;
	return store_commit(store, error);
fail:
	store_rollback(store);
	return FALSE;
}

/* store_erased_set - see store_erase.h */
GHashTable *
store_erased_set(struct store *store, gint64 list_id, GError **error)
{
	g_autoptr(store_rows) rows = store_select(store, "SELECT hash FROM"
	    " erased WHERE list_id = ?1", error, SQ_INT(list_id), SQ_END);
	GHashTable *set;
	GError *err = NULL;

	if (rows == NULL)
		return NULL;
	set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	while (store_next(rows, &err))
		g_hash_table_add(set, store_text_dup(rows, 0));
	if (err != NULL) {
		g_propagate_error(error, err);
		g_hash_table_unref(set);
		return NULL;
	}
	return set;
}

/* store_erased_forget - see store_erase.h */
gboolean
store_erased_forget(struct store *store, gint64 list_id, const char *hash,
    GError **error)
{
	return store_run(store, "DELETE FROM erased WHERE list_id = ?1 AND"
	    " hash = ?2", error, SQ_INT(list_id), SQ_TEXT(hash), SQ_END);
}
