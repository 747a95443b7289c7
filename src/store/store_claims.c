/*
 * store_claims.c - chunk claims with a lease on PostgreSQL (see
 * store_claims.h). Each function is one statement, run outside any
 * transaction (it commits by itself: a claim is visible to the other
 * hosts at once).
 */
#include <string.h>
#include <unistd.h>

#include "herald.h"
#include "store_claims.h"

/* store_claims_used - PostgreSQL shares a campaign by claims */
gboolean
store_claims_used(const struct store *store)
{
	return store_has(store, STORE_SHARED);
}

/* the advisory lock space of runs (the second key is the owner's
 * number) */
#define CLAIM_PG_LOCK 7243102

/* store_claim_owner - host:pid:number, the number 31 random bits (the
 * second key of the run's advisory lock) */
char *
store_claim_owner(void)
{
	return g_strdup_printf("%s:%ld:%u", g_get_host_name(),
	    (long)getpid(), g_random_int() & 0x7fffffffu);
}

/* claim_number - the number at the end of OWNER */
static gint64
claim_number(const char *owner)
{
	const char *colon = strrchr(owner, ':');

	return colon != NULL ? g_ascii_strtoll(colon + 1, NULL, 10) : 0;
}

/* store_claim_hold - take OWNER's advisory lock on this connection,
 * unless it holds it already (a reconnect lost it) */
gboolean
store_claim_hold(struct store *store, const char *owner, GError **error)
{
	return store_get_int(store, "SELECT count(*) FROM (SELECT"
	    " pg_try_advisory_lock(CAST(?1 AS INTEGER), CAST(?2 AS INTEGER))"
	    " WHERE NOT EXISTS (SELECT 1 FROM pg_locks WHERE"
	    " pid = pg_backend_pid() AND locktype = 'advisory'"
	    " AND classid = ?1 AND objid = ?2 AND objsubid = 2)) l", NULL,
	    error, SQ_INT(CLAIM_PG_LOCK), SQ_INT(claim_number(owner)),
	    SQ_END) == 1;
}

/* store_claim_unhold - let go of OWNER's advisory lock, when this
 * connection holds it (not after a reconnect) */
void
store_claim_unhold(struct store *store, const char *owner)
{
	(void)store_get_int(store, "SELECT count(*) FROM (SELECT"
	    " pg_advisory_unlock(CAST(?1 AS INTEGER), CAST(?2 AS INTEGER))"
	    " FROM pg_locks WHERE pid = pg_backend_pid() AND"
	    " locktype = 'advisory' AND classid = ?1 AND objid = ?2"
	    " AND objsubid = 2) l", NULL, NULL, SQ_INT(CLAIM_PG_LOCK),
	    SQ_INT(claim_number(owner)), SQ_END);
}

/* store_claim_free_dead - one statement: the owners (other than OWNER)
 * of campaign ID's queued rows whose advisory lock nobody holds in this
 * database, then their rows free. The rows are chosen by those owners'
 * names, so a row another run claims meanwhile keeps its claim (the
 * recheck of a changed row sees a live name). Owners of an older
 * herald, without a number, are left to their lease. */
gint64
store_claim_free_dead(struct store *store, gint64 id, const char *owner,
    GError **error)
{
	if (!store_run(store, "WITH dead AS (SELECT o FROM (SELECT DISTINCT"
	    " claim_owner AS o FROM deliveries WHERE campaign_id = ?1"
	    " AND state = 'queued' AND claim_owner IS NOT NULL"
	    " AND claim_owner <> ?2) h"
	    " WHERE o ~ ':[0-9]{1,10}$' AND NOT EXISTS (SELECT 1 FROM pg_locks"
	    "  WHERE locktype = 'advisory' AND classid = ?3 AND objsubid = 2"
	    "  AND granted AND database = (SELECT oid FROM pg_database"
	    "  WHERE datname = current_database()) AND CAST(objid AS BIGINT)"
	    "  = CAST(substring(o from ':([0-9]{1,10})$') AS BIGINT)))"
	    " UPDATE deliveries SET claim_owner = NULL, claim_until = NULL"
	    " WHERE campaign_id = ?1 AND state = 'queued'"
	    " AND claim_owner IN (SELECT o FROM dead)", error, SQ_INT(id),
	    SQ_TEXT(owner), SQ_INT(CLAIM_PG_LOCK), SQ_END))
		return -1;
	return store_changes(store);
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
