/*
 * campaign.c - campaigns and deliveries in the store (see campaign.h).
 *
 * The snapshot is one INSERT … SELECT: the campaign's segments, compiled
 * to SQL by segment.c, pick the recipients and (as a CASE in the same
 * order) name the first that matches; every list segment is evaluated
 * once more for the `matched` column that rendering turns into
 * segments.NAME flags. Deliveries are then only ever touched by id.
 *
 * The lock is flock(2) on a file beside the database: the kernel drops it
 * when the holder dies, so a kill -9 never leaves a stale lock, and the
 * pid written in the file is only there to name the holder in the error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "herald.h"
#include "campaign.h"
#include "relay.h"
#include "segment.h"
#include "store_bounces.h"

#define CAMPAIGN_MAX_SHIFT 20	/* back-off doubles at most this often */

/* campaign_result_clear - free a result's reply */
void
campaign_result_clear(struct campaign_result *r)
{
	g_clear_pointer(&r->reply, g_free);
}

/* campaign_free - free C */
void
campaign_free(struct campaign *c)
{
	if (c == NULL)
		return;
	g_free(c->list);
	g_free(c->announcement);
	g_strfreev(c->segments);
	g_free(c->state);
	g_free(c->reason);
	g_free(c);
}

/* campaign_bind_all - bind PARAMS (strings) from index 1 */
static void
campaign_bind_all(sqlite3_stmt *st, GPtrArray *params)
{
	guint i;

	for (i = 0; i < params->len; i++)
		sqlite3_bind_text(st, i + 1, g_ptr_array_index(params, i), -1,
		    SQLITE_TRANSIENT);
}

/* campaign_create - snapshot the recipients into a new campaign */
gboolean
campaign_create(struct store *store, const struct list_config *list,
    const char *announcement, const char *const *segments, gint64 *id,
    GError **error)
{
	g_autoptr(GPtrArray) segs = g_ptr_array_new_with_free_func(
	    (GDestroyNotify)segment_free);
	g_autoptr(GPtrArray) lsegs = g_ptr_array_new_with_free_func(
	    (GDestroyNotify)segment_free);
	g_autoptr(GPtrArray) params = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) tmp = g_ptr_array_new();
	g_autoptr(GString) sql = g_string_new(NULL);
	g_autoptr(sqlite3_stmt) st = NULL;
	g_autofree char *joined = NULL;
	gint64 list_id, cid;
	guint i, j;

	if (segments == NULL || segments[0] == NULL) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_USAGE,
		    "name at least one segment");
		return FALSE;
	}
	for (i = 0; segments[i] != NULL; i++) {
		const struct segment_def *def = config_segment(list, segments[i]);
		struct segment *seg;

		if (def == NULL) {
			g_set_error(error, HERALD_ERROR, HERALD_ERROR_NOUSER,
			    "list %s has no segment \"%s\" (see %s)", list->name,
			    segments[i], list->file);
			return FALSE;
		}
		for (j = 0; j < i; j++)
			if (strcmp(segments[j], segments[i]) == 0) {
				g_set_error(error, HERALD_ERROR, HERALD_ERROR_USAGE,
				    "segment \"%s\" is named twice", segments[i]);
				return FALSE;
			}
		if ((seg = segment_compile(def->where, error)) == NULL) {
			g_prefix_error(error, "%s: segment %s: ", list->file,
			    def->name);
			return FALSE;
		}
		g_ptr_array_add(segs, seg);
	}
	for (i = 0; i < list->segments->len; i++) {
		const struct segment_def *def = g_ptr_array_index(list->segments, i);
		struct segment *seg = segment_compile(def->where, error);

		if (seg == NULL) {
			g_prefix_error(error, "%s: segment %s: ", list->file,
			    def->name);
			return FALSE;
		}
		g_ptr_array_add(lsegs, seg);
	}

	if (!store_begin(store, error))
		return FALSE;
	if ((list_id = store_list_id(store, list->name, TRUE, error)) == 0)
		goto fail;
	joined = g_strjoinv(",", (char **)segments);
	st = store_prepare(store, "INSERT INTO campaigns(list_id, announcement,"
	    " segments) VALUES (?1, ?2, ?3)", error);
	if (st == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, list_id);
	sqlite3_bind_text(st, 2, announcement, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, joined, -1, SQLITE_STATIC);
	if (!store_step_done(store, st, "creating the campaign", error))
		goto fail;
	cid = sqlite3_last_insert_rowid(store->db);
	g_clear_pointer(&st, sqlite3_finalize);

	/* parameters are bound in the order their "?" appear */
	g_string_append(sql, "INSERT INTO deliveries(campaign_id, subscriber_id,"
	    " segment, matched) SELECT CAST(? AS INTEGER), s.id, CASE");
	g_ptr_array_add(params, g_strdup_printf("%" G_GINT64_FORMAT, cid));
	for (i = 0; i < segs->len; i++) {
		g_string_append(sql, " WHEN ");
		g_ptr_array_set_size(tmp, 0);
		segment_to_sql(g_ptr_array_index(segs, i), sql, tmp);
		for (j = 0; j < tmp->len; j++)
			g_ptr_array_add(params, g_strdup(g_ptr_array_index(tmp, j)));
		g_string_append(sql, " THEN ?");
		g_ptr_array_add(params, g_strdup(segments[i]));
	}
	g_string_append(sql, " END, rtrim(''");
	for (i = 0; i < lsegs->len; i++) {
		const struct segment_def *def = g_ptr_array_index(list->segments, i);

		g_string_append(sql, " || CASE WHEN ");
		g_ptr_array_set_size(tmp, 0);
		segment_to_sql(g_ptr_array_index(lsegs, i), sql, tmp);
		for (j = 0; j < tmp->len; j++)
			g_ptr_array_add(params, g_strdup(g_ptr_array_index(tmp, j)));
		g_string_append(sql, " THEN ? ELSE '' END");
		g_ptr_array_add(params, g_strdup_printf("%s,", def->name));
	}
	g_string_append(sql, ", ',') FROM memberships m"
	    " JOIN subscribers s ON s.id = m.subscriber_id"
	    " WHERE m.list_id = CAST(? AS INTEGER) AND m.status = 'active'"
	    " AND NOT EXISTS (SELECT 1 FROM memberships b"
	    "   WHERE b.subscriber_id = s.id AND b.status = 'blocklisted')"
	    " AND (0");
	g_ptr_array_add(params, g_strdup_printf("%" G_GINT64_FORMAT, list_id));
	for (i = 0; i < segs->len; i++) {
		g_string_append(sql, " OR ");
		g_ptr_array_set_size(tmp, 0);
		segment_to_sql(g_ptr_array_index(segs, i), sql, tmp);
		for (j = 0; j < tmp->len; j++)
			g_ptr_array_add(params, g_strdup(g_ptr_array_index(tmp, j)));
	}
	g_string_append(sql, ") ORDER BY s.id");
	if ((st = store_prepare(store, sql->str, error)) == NULL)
		goto fail;
	campaign_bind_all(st, params);
	if (!store_step_done(store, st, "taking the snapshot of recipients",
	    error))
		goto fail;
	if (sqlite3_changes(store->db) == 0) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_NOUSER,
		    "no active member of %s is in segment%s %s: nothing to send",
		    list->name, segs->len > 1 ? "s" : "", joined);
		goto fail;
	}
	if (!store_commit(store, error))
		return FALSE;
	*id = cid;
	return TRUE;
fail:
	store_rollback(store);
	return FALSE;
}

/* campaign_exec_id - run SQL (no rows) with ?1 = ID */
static gboolean
campaign_exec_id(struct store *store, const char *sql, gint64 id,
    const char *what, GError **error)
{
	g_autoptr(sqlite3_stmt) st = store_prepare(store, sql, error);

	if (st == NULL)
		return FALSE;
	sqlite3_bind_int64(st, 1, id);
	return store_step_done(store, st, what, error);
}

/* campaign_delete - remove an unattempted campaign */
gboolean
campaign_delete(struct store *store, gint64 id, GError **error)
{
	if (!store_begin(store, error))
		return FALSE;
	if (!campaign_exec_id(store, "DELETE FROM deliveries WHERE campaign_id = ?1",
	    id, "deleting deliveries", error) ||
	    !campaign_exec_id(store, "DELETE FROM campaigns WHERE id = ?1", id,
	    "deleting the campaign", error)) {
		store_rollback(store);
		return FALSE;
	}
	return store_commit(store, error);
}

#define CAMPAIGN_COLUMNS "c.id, c.list_id, l.name, c.announcement, " \
	"c.segments, c.state, c.reason, c.created, coalesce(c.started, 0), " \
	"coalesce(c.finished, 0), c.sending_seconds"

/* campaign_from_row - a struct campaign from CAMPAIGN_COLUMNS */
static struct campaign *
campaign_from_row(sqlite3_stmt *st)
{
	struct campaign *c = g_new0(struct campaign, 1);

	c->id = sqlite3_column_int64(st, 0);
	c->list_id = sqlite3_column_int64(st, 1);
	c->list = g_strdup((const char *)sqlite3_column_text(st, 2));
	c->announcement = g_strdup((const char *)sqlite3_column_text(st, 3));
	c->segments = g_strsplit((const char *)sqlite3_column_text(st, 4), ",",
	    -1);
	c->state = g_strdup((const char *)sqlite3_column_text(st, 5));
	c->reason = g_strdup((const char *)sqlite3_column_text(st, 6));
	c->created = sqlite3_column_int64(st, 7);
	c->started = sqlite3_column_int64(st, 8);
	c->finished = sqlite3_column_int64(st, 9);
	c->sending_seconds = sqlite3_column_double(st, 10);
	return c;
}

/* campaign_get - one campaign */
struct campaign *
campaign_get(struct store *store, gint64 id, GError **error)
{
	g_autoptr(sqlite3_stmt) st = store_prepare(store, "SELECT "
	    CAMPAIGN_COLUMNS " FROM campaigns c JOIN lists l ON l.id = c.list_id"
	    " WHERE c.id = ?1", error);
	int rc;

	if (st == NULL)
		return NULL;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return campaign_from_row(st);
	if (rc == SQLITE_DONE)
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_NOUSER,
		    "no campaign %" G_GINT64_FORMAT " (see herald campaigns)", id);
	else
		herald_set_sqlite_error(error, store->db, rc, "reading campaign");
	return NULL;
}

/* campaign_list - all campaigns, newest first */
GPtrArray *
campaign_list(struct store *store, GError **error)
{
	g_autoptr(sqlite3_stmt) st = store_prepare(store, "SELECT "
	    CAMPAIGN_COLUMNS " FROM campaigns c JOIN lists l ON l.id = c.list_id"
	    " ORDER BY c.id DESC", error);
	GPtrArray *out;
	int rc;

	if (st == NULL)
		return NULL;
	out = g_ptr_array_new_with_free_func((GDestroyNotify)campaign_free);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		g_ptr_array_add(out, campaign_from_row(st));
	if (rc != SQLITE_DONE) {
		herald_set_sqlite_error(error, store->db, rc, "listing campaigns");
		g_ptr_array_unref(out);
		return NULL;
	}
	return out;
}

/* campaign_find_earlier - the newest campaign of the same announcement
 * that may have reached anyone */
gint64
campaign_find_earlier(struct store *store, gint64 list_id,
    const char *announcement, GError **error)
{
	g_autoptr(sqlite3_stmt) st = store_prepare(store, "SELECT c.id FROM"
	    " campaigns c WHERE c.list_id = ?1 AND c.announcement = ?2 AND"
	    " (c.state != 'cancelled' OR EXISTS (SELECT 1 FROM deliveries d"
	    " WHERE d.campaign_id = c.id AND d.state = 'sent'))"
	    " ORDER BY c.id DESC LIMIT 1", error);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, list_id);
	sqlite3_bind_text(st, 2, announcement, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return sqlite3_column_int64(st, 0);
	if (rc != SQLITE_DONE) {
		herald_set_sqlite_error(error, store->db, rc, "finding campaigns");
		return -1;
	}
	return 0;
}

/* campaign_counts - deliveries by state */
gboolean
campaign_counts(struct store *store, gint64 id, struct campaign_counts *counts,
    GError **error)
{
	g_autoptr(sqlite3_stmt) st = store_prepare(store, "SELECT count(*),"
	    " count(*) FILTER (WHERE state = 'sent'),"
	    " count(*) FILTER (WHERE state = 'failed'),"
	    " count(*) FILTER (WHERE state = 'queued'),"
	    " count(*) FILTER (WHERE state = 'queued' AND next_attempt <= ?2),"
	    " coalesce(min(next_attempt) FILTER (WHERE state = 'queued'"
	    "   AND next_attempt < " G_STRINGIFY(CAMPAIGN_HELD) "), 0)"
	    " FROM deliveries WHERE campaign_id = ?1", error);
	int rc;

	memset(counts, 0, sizeof *counts);
	if (st == NULL)
		return FALSE;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, herald_now());
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		herald_set_sqlite_error(error, store->db, rc, "counting deliveries");
		return FALSE;
	}
	counts->total = sqlite3_column_int64(st, 0);
	counts->sent = sqlite3_column_int64(st, 1);
	counts->failed = sqlite3_column_int64(st, 2);
	counts->queued = sqlite3_column_int64(st, 3);
	counts->due = sqlite3_column_int64(st, 4);
	counts->next_due = sqlite3_column_int64(st, 5);
	return TRUE;
}

static void
campaign_segment_count_clear(gpointer p)
{
	g_free(((struct campaign_segment_count *)p)->segment);
}

/* campaign_segment_counts - deliveries by segment and state */
GArray *
campaign_segment_counts(struct store *store, const struct campaign *c,
    GError **error)
{
	g_autoptr(sqlite3_stmt) st = store_prepare(store, "SELECT count(*),"
	    " count(*) FILTER (WHERE state = 'sent'),"
	    " count(*) FILTER (WHERE state = 'failed'),"
	    " count(*) FILTER (WHERE state = 'queued')"
	    " FROM deliveries WHERE campaign_id = ?1 AND segment = ?2", error);
	GArray *out;
	guint i;

	if (st == NULL)
		return NULL;
	out = g_array_new(FALSE, TRUE, sizeof(struct campaign_segment_count));
	g_array_set_clear_func(out, campaign_segment_count_clear);
	for (i = 0; c->segments[i] != NULL; i++) {
		struct campaign_segment_count sc = { 0 };
		int rc;

		sqlite3_bind_int64(st, 1, c->id);
		sqlite3_bind_text(st, 2, c->segments[i], -1, SQLITE_STATIC);
		if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
			herald_set_sqlite_error(error, store->db, rc,
			    "counting deliveries by segment");
			g_array_unref(out);
			return NULL;
		}
		sc.segment = g_strdup(c->segments[i]);
		sc.total = sqlite3_column_int64(st, 0);
		sc.sent = sqlite3_column_int64(st, 1);
		sc.failed = sqlite3_column_int64(st, 2);
		sc.queued = sqlite3_column_int64(st, 3);
		g_array_append_val(out, sc);
		sqlite3_reset(st);
	}
	return out;
}

static void
campaign_error_group_clear(gpointer p)
{
	struct campaign_error_group *g = p;

	g_free(g->stage);
	g_free(g->reply);
}

/* campaign_errors - what went wrong, grouped by reply */
GArray *
campaign_errors(struct store *store, gint64 id, int limit, GError **error)
{
	g_autoptr(sqlite3_stmt) st = store_prepare(store, "SELECT"
	    " coalesce(stage, ''), coalesce(code, 0), coalesce(reply, ''),"
	    " count(*), count(*) FILTER (WHERE state = 'failed')"
	    " FROM deliveries WHERE campaign_id = ?1 AND state <> 'sent'"
	    " AND attempts + (state = 'failed') > 0"
	    " GROUP BY 1, 2, 3 ORDER BY 4 DESC, 2 LIMIT ?2", error);
	GArray *out;
	int rc;

	if (st == NULL)
		return NULL;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, limit);
	out = g_array_new(FALSE, TRUE, sizeof(struct campaign_error_group));
	g_array_set_clear_func(out, campaign_error_group_clear);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct campaign_error_group g;

		g.stage = g_strdup((const char *)sqlite3_column_text(st, 0));
		g.code = sqlite3_column_int(st, 1);
		g.reply = g_strdup((const char *)sqlite3_column_text(st, 2));
		g.count = sqlite3_column_int64(st, 3);
		g.failed = sqlite3_column_int64(st, 4);
		g_array_append_val(out, g);
	}
	if (rc != SQLITE_DONE) {
		herald_set_sqlite_error(error, store->db, rc, "grouping errors");
		g_array_unref(out);
		return NULL;
	}
	return out;
}

/* campaign_set_state - state and reason */
gboolean
campaign_set_state(struct store *store, gint64 id, const char *state,
    const char *reason, GError **error)
{
	g_autoptr(sqlite3_stmt) st = store_prepare(store, "UPDATE campaigns SET"
	    " state = ?2, reason = ?3,"
	    " started = CASE WHEN ?2 = 'sending' THEN coalesce(started,"
	    "   unixepoch()) ELSE started END,"
	    " finished = CASE WHEN ?2 = 'done' THEN unixepoch() ELSE NULL END"
	    " WHERE id = ?1", error);

	if (st == NULL)
		return FALSE;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, reason, -1, SQLITE_STATIC);
	return store_step_done(store, st, "setting the campaign state", error);
}

/* campaign_requeue - failed back to queued, queued due now */
gboolean
campaign_requeue(struct store *store, gint64 id, gint64 *n, GError **error)
{
	gint64 changed;

	if (!store_begin(store, error))
		return FALSE;
	if (!campaign_exec_id(store, "UPDATE deliveries SET state = 'queued',"
	    " next_attempt = 0, first_attempt = NULL WHERE campaign_id = ?1"
	    " AND state = 'failed'", id, "re-queueing failed deliveries", error))
		goto fail;
	changed = sqlite3_changes(store->db);
	/* a scheduled campaign's held deliveries stay held: the schedule
	 * releases them */
	if (!campaign_exec_id(store, "UPDATE deliveries SET next_attempt = 0"
	    " WHERE campaign_id = ?1 AND state = 'queued' AND next_attempt <> "
	    G_STRINGIFY(CAMPAIGN_HELD), id,
	    "making queued deliveries due", error))
		goto fail;
	if (!store_commit(store, error))
		return FALSE;
	if (n != NULL)
		*n = changed;
	return TRUE;
fail:
	store_rollback(store);
	return FALSE;
}

/* campaign_record_rejection - a 5xx at RCPT or DATA is a hard bounce of
 * the recipient: hand it to the bounce policy (source "sync") inside the
 * caller's transaction. A 5xx at MAIL FROM is about the message, not the
 * recipient, and is not one. */
static gboolean
campaign_record_rejection(struct store *store, const struct config *config,
    const struct campaign_result *r, gint64 now, GError **error)
{
	g_autoptr(sqlite3_stmt) st = NULL;
	const struct list_config *list;
	gint64 sub, list_id;

	if (r->fate != CAMPAIGN_PERM || r->code < 500 || r->code > 599 ||
	    r->stage == NULL || (strcmp(r->stage, "rcpt") != 0 &&
	    strcmp(r->stage, "data") != 0))
		return TRUE;
	st = store_prepare(store, "SELECT d.subscriber_id, c.list_id, l.name"
	    " FROM deliveries d JOIN campaigns c ON c.id = d.campaign_id"
	    " JOIN lists l ON l.id = c.list_id WHERE d.id = ?1", error);
	if (st == NULL)
		return FALSE;
	sqlite3_bind_int64(st, 1, r->delivery_id);
	if (sqlite3_step(st) != SQLITE_ROW)
		return TRUE;	/* the delivery is gone (campaign deleted) */
	sub = sqlite3_column_int64(st, 0);
	list_id = sqlite3_column_int64(st, 1);
	list = config_list(config, (const char *)sqlite3_column_text(st, 2),
	    NULL);
	if (list == NULL)
		return TRUE;	/* the list file was removed since: no policy */
	return store_bounce_record_sync(store, list, list_id, sub,
	    r->delivery_id, NULL, r->reply, now, error);
}

/* campaign_record - one batch of results, one transaction */
gboolean
campaign_record(struct store *store, const struct config *config,
    const struct campaign_result *results, guint n, GError **error)
{
	const struct send_config *cfg = &config->send;
	sqlite3_stmt *fin, *tmp, *req;	/* the store's: never finalized here */
	gint64 now = herald_now(), clock = relay_now(), used = 0;
	const char *used_by = NULL;	/* the relay of the USED sent so far */
	guint i;

	if (n == 0)
		return TRUE;
	fin = store_cached(store, "UPDATE deliveries SET state = ?2,"
	    " attempts = attempts + ?7, code = ?3, reply = ?4, stage = ?5,"
	    " last_attempt = ?6, first_attempt = coalesce(first_attempt, ?6),"
	    " relay = coalesce(?8, relay)"
	    " WHERE id = ?1 AND state = 'queued'", error);
	/* the old values of attempts and first_attempt are used throughout */
	tmp = store_cached(store, "UPDATE deliveries SET"
	    " attempts = attempts + 1, code = ?2, reply = ?3, stage = ?4,"
	    " last_attempt = ?5, first_attempt = coalesce(first_attempt, ?5),"
	    " state = CASE WHEN ?5 - coalesce(first_attempt, ?5) >= ?6"
	    "   THEN 'failed' ELSE 'queued' END,"
	    " next_attempt = min(?5 + ?7 * (1 << min(attempts, ?8)),"
	    "   coalesce(first_attempt, ?5) + ?6),"
	    " relay = coalesce(?9, relay)"
	    " WHERE id = ?1 AND state = 'queued'", error);
	req = store_cached(store, "UPDATE deliveries SET code = ?2, reply = ?3,"
	    " stage = ?4, next_attempt = 0 WHERE id = ?1 AND state = 'queued'",
	    error);
	if (fin == NULL || tmp == NULL || req == NULL)
		return FALSE;
	if (!store_begin(store, error))
		return FALSE;
	for (i = 0; i < n; i++) {
		const struct campaign_result *r = &results[i];
		sqlite3_stmt *st;

		switch (r->fate) {
		case CAMPAIGN_SENT:
		case CAMPAIGN_PERM:
		case CAMPAIGN_SKIP:
			st = fin;
			sqlite3_bind_text(st, 2, r->fate == CAMPAIGN_SENT ? "sent" :
			    "failed", -1, SQLITE_STATIC);
			sqlite3_bind_int(st, 3, r->code);
			sqlite3_bind_text(st, 4, r->reply, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 5, r->stage, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 6, now);
			sqlite3_bind_int(st, 7, r->fate != CAMPAIGN_SKIP);
			sqlite3_bind_text(st, 8, r->relay, -1, SQLITE_STATIC);
			break;
		case CAMPAIGN_TEMP:
			st = tmp;
			sqlite3_bind_int(st, 2, r->code);
			sqlite3_bind_text(st, 3, r->reply, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 4, r->stage, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 5, now);
			sqlite3_bind_int64(st, 6, cfg->max_age);
			sqlite3_bind_int64(st, 7, MAX(cfg->retry_base, 1));
			sqlite3_bind_int(st, 8, CAMPAIGN_MAX_SHIFT);
			sqlite3_bind_text(st, 9, r->relay, -1, SQLITE_STATIC);
			break;
		default:
			st = req;
			sqlite3_bind_int(st, 2, r->code);
			sqlite3_bind_text(st, 3, r->reply, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 4, r->stage, -1, SQLITE_STATIC);
			break;
		}
		sqlite3_bind_int64(st, 1, r->delivery_id);
		if (!store_step_done(store, st, "recording a delivery", error) ||
		    !campaign_record_rejection(store, config, r, now, error)) {
			store_rollback(store);
			return FALSE;
		}
		if (r->fate == CAMPAIGN_SENT && r->relay != NULL &&
		    sqlite3_changes(store->db) > 0) {
			if (used_by != NULL && strcmp(used_by, r->relay) != 0 &&
			    !relay_record_usage(store, used_by, clock, used,
			    error)) {
				store_rollback(store);
				return FALSE;
			}
			if (used_by == NULL || strcmp(used_by, r->relay) != 0)
				used = 0;
			used_by = r->relay;
			used++;
		}
	}
	if (used_by != NULL &&
	    !relay_record_usage(store, used_by, clock, used, error)) {
		store_rollback(store);
		return FALSE;
	}
	return store_commit(store, error);
}

/* campaign_finish_run - account the run and set the state it leaves */
gboolean
campaign_finish_run(struct store *store, gint64 id, double seconds,
    const char *reason, GError **error)
{
	g_autoptr(sqlite3_stmt) st = NULL;
	g_autoptr(campaign) c = NULL;
	struct campaign_counts counts;
	const char *state;

	if (!store_begin(store, error))
		return FALSE;
	st = store_prepare(store, "UPDATE campaigns SET sending_seconds ="
	    " sending_seconds + ?2 WHERE id = ?1", error);
	if (st == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_double(st, 2, seconds);
	if (!store_step_done(store, st, "updating the campaign", error))
		goto fail;
	if ((c = campaign_get(store, id, error)) == NULL ||
	    !campaign_counts(store, id, &counts, error))
		goto fail;
	if (strcmp(c->state, "cancelled") == 0 ||
	    strcmp(c->state, "paused") == 0)
		return store_commit(store, error);
	if (reason != NULL)
		state = "paused";
	else
		state = counts.queued == 0 ? "done" : "waiting";
	if (!campaign_set_state(store, id, state, reason, error))
		goto fail;
	return store_commit(store, error);
fail:
	store_rollback(store);
	return FALSE;
}

/* campaign_lock_path - DATA_DIR/campaign-ID.lock */
static char *
campaign_lock_path(const char *data_dir, gint64 id)
{
	return g_strdup_printf("%s/campaign-%" G_GINT64_FORMAT ".lock", data_dir,
	    id);
}

/* campaign_lock - take the campaign's lock or say who holds it */
int
campaign_lock(const char *data_dir, gint64 id, GError **error)
{
	g_autofree char *path = campaign_lock_path(data_dir, id);
	g_autofree char *pid = NULL;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0) {
		int e = errno;

		g_set_error(error, HERALD_ERROR, herald_errno_class(e),
		    "%s: %s", path, g_strerror(e));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;

		close(fd);
		if (e != EWOULDBLOCK) {
			g_set_error(error, HERALD_ERROR, herald_errno_class(e),
			    "locking %s: %s", path, g_strerror(e));
			return -1;
		}
		g_file_get_contents(path, &pid, NULL, NULL);
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_TEMP,
		    "campaign %" G_GINT64_FORMAT " is being sent by another "
		    "herald (process %s); nothing was sent twice. Wait for it, "
		    "or stop it with \"herald campaign pause %" G_GINT64_FORMAT
		    "\"", id, pid != NULL && *pid != '\0' ? g_strstrip(pid) : "?",
		    id);
		return -1;
	}
	pid = g_strdup_printf("%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == 0 && write(fd, pid, strlen(pid)) < 0) {
		/* the pid is only a courtesy for the error above */
	}
	return fd;
}

/* campaign_unlock - release and close */
void
campaign_unlock(int fd)
{
	if (fd >= 0) {
		if (ftruncate(fd, 0) != 0) {
			/* only the courtesy pid stays behind */
		}
		flock(fd, LOCK_UN);
		close(fd);
	}
}

/* campaign_locked - does a process hold the lock now? */
gboolean
campaign_locked(const char *data_dir, gint64 id)
{
	g_autofree char *path = campaign_lock_path(data_dir, id);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	gboolean held;

	if (fd < 0)
		return FALSE;
	held = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
	close(fd);
	return held;
}
