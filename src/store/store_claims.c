/*
 * store_claims.c - chunk claims with a lease on PostgreSQL (see
 * store_claims.h). Each function is one statement, run outside any
 * transaction (it commits by itself: a claim is visible to the other
 * hosts at once).
 */
#include <unistd.h>

#include "herald.h"
#include "store_claims.h"

/* store_claims_used - PostgreSQL shares a campaign by claims */
gboolean
store_claims_used(const struct store *store)
{
	return g_strcmp0(store_backend_name(store), "postgresql") == 0;
}

/* store_claim_owner - host:pid:random */
char *
store_claim_owner(void)
{
	return g_strdup_printf("%s:%ld:%08x", g_get_host_name(),
	    (long)getpid(), g_random_int());
}

/* store_claim_next - one statement: pick the free rows (skipping those
 * another transaction is writing), write the claim, count what it got */
gboolean
store_claim_next(struct store *store, gint64 id, gint64 due, gint64 now,
    gint64 after, gint64 upto, int size, const char *owner, gint64 until,
    struct store_delivery_range *r, GError **error)
{
	g_autoptr(store_rows) rows = store_select(store, "WITH c AS ("
	    "SELECT id FROM deliveries WHERE campaign_id = ?1"
	    " AND state = 'queued' AND next_attempt <= ?2"
	    " AND id > ?4 AND id <= ?5 AND (claim_owner IS NULL"
	    "  OR claim_owner = ?7 OR claim_until < ?3)"
	    " ORDER BY id LIMIT ?6 FOR UPDATE SKIP LOCKED),"
	    " u AS (UPDATE deliveries d SET claim_owner = ?7,"
	    "  claim_until = ?8 FROM c WHERE d.id = c.id RETURNING d.id)"
	    " SELECT count(*), coalesce(min(id), 0), coalesce(max(id), 0)"
	    " FROM u", error, SQ_INT(id), SQ_INT(due), SQ_INT(now),
	    SQ_INT(after), SQ_INT(upto), SQ_INT(size), SQ_TEXT(owner),
	    SQ_INT(until), SQ_END);
	GError *err = NULL;

	memset(r, 0, sizeof *r);
	if (rows == NULL)
		return FALSE;
	if (store_next(rows, &err)) {
		r->n = store_int(rows, 0);
		r->first = store_int(rows, 1);
		r->last = store_int(rows, 2);
	}
	if (err == NULL)
		return TRUE;
	g_propagate_prefixed_error(error, err, "claiming from the queue: ");
	return FALSE;
}

/* store_claim_renew - push the lease of OWNER's queued rows to UNTIL */
gint64
store_claim_renew(struct store *store, gint64 id, const char *owner,
    gint64 until, GError **error)
{
	if (!store_run(store, "UPDATE deliveries SET claim_until = ?3"
	    " WHERE campaign_id = ?1 AND state = 'queued'"
	    " AND claim_owner = ?2", error, SQ_INT(id), SQ_TEXT(owner),
	    SQ_INT(until), SQ_END))
		return -1;
	return store_changes(store);
}

/* store_claim_others - due rows this run does not hold */
gint64
store_claim_others(struct store *store, gint64 id, gint64 due,
    const char *owner, GError **error)
{
	gint64 n = 0;

	if (store_get_int(store, "SELECT count(*) FROM deliveries"
	    " WHERE campaign_id = ?1 AND state = 'queued'"
	    " AND next_attempt <= ?2 AND (claim_owner IS NULL"
	    "  OR claim_owner <> ?3)", &n, error, SQ_INT(id), SQ_INT(due),
	    SQ_TEXT(owner), SQ_END) < 0)
		return -1;
	return n;
}

/* store_claim_release - OWNER's queued rows free again */
gboolean
store_claim_release(struct store *store, gint64 id, const char *owner,
    GError **error)
{
	return store_run(store, "UPDATE deliveries SET claim_owner = NULL,"
	    " claim_until = NULL WHERE campaign_id = ?1"
	    " AND state = 'queued' AND claim_owner = ?2", error, SQ_INT(id),
	    SQ_TEXT(owner), SQ_END);
}
