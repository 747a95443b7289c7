/*
 * campaign.c - campaigns and deliveries in the store (see campaign.h).
 *
 * The snapshot is one INSERT … SELECT: the campaign's segments, compiled
 * by segment.c and written as SQL by store_segment.c, pick the recipients
 * and (as a CASE in the same order) name the first that matches; every
 * list segment is evaluated once more for the `matched` column that
 * rendering turns into segments.NAME flags. Deliveries are then only ever
 * touched by id.
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
#include "campaign_batch.h"
#include "store_relays.h"
#include "segment.h"
#include "store_bounces.h"
#include "store_dynamic.h"
#include "store_segment.h"

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
	g_free(c->subject);
	g_free(c);
}

/* campaign_set_subject - see campaign.h */
gboolean
campaign_set_subject(struct store *store, gint64 id, const char *subject,
    GError **error)
{
	return store_run(store, "UPDATE campaigns SET subject = ?2"
	    " WHERE id = ?1", error, SQ_INT(id), SQ_TEXT(subject), SQ_END);
}

/* campaign_compile - check SEGMENTS (each defined in LIST, none twice)
 * and compile them into SEGS, and every segment of LIST into LSEGS */
static gboolean
campaign_compile(const struct list_config *list, const char *const *segments,
    GPtrArray *segs, GPtrArray *lsegs, GError **error)
{
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
	return TRUE;
}

/* campaign_text - V as the next parameter: its ?N into SQL, V into ARGS */
static void
campaign_text(GString *sql, GArray *args, const char *v)
{
	struct store_arg arg = SQ_TEXT(v);

	g_array_append_val(args, arg);
	g_string_append_printf(sql, "?%u", args->len);
}

/* campaign_snapshot_sql - the INSERT … SELECT of the recipients of SEGS
 * (named SEGMENTS) into campaign ?1 from list ?2 (ARGS holds those two),
 * due at once or HELD;
 * LSEGS are LIST's segments, for the matched column; the strings made
 * for parameters go to KEEP */
static void
campaign_snapshot_sql(const struct list_config *list,
    const char *const *segments, GPtrArray *segs, GPtrArray *lsegs,
    gboolean held, GString *sql, GArray *args, GPtrArray *keep)
{
	guint i;

	g_string_append(sql, "INSERT INTO deliveries(campaign_id, subscriber_id,"
	    " next_attempt, segment, matched) SELECT ?1, s.id, ");
	g_string_append(sql, held ? G_STRINGIFY(CAMPAIGN_HELD) : "0");
	g_string_append(sql, ", CASE");
	for (i = 0; i < segs->len; i++) {
		g_string_append(sql, " WHEN ");
		store_segment_sql(g_ptr_array_index(segs, i), sql, args);
		g_string_append(sql, " THEN ");
		campaign_text(sql, args, segments[i]);
	}
	g_string_append(sql, " END, rtrim(''");
	for (i = 0; i < lsegs->len; i++) {
		const struct segment_def *def = g_ptr_array_index(list->segments, i);
		char *flag = g_strdup_printf("%s,", def->name);

		g_ptr_array_add(keep, flag);
		g_string_append(sql, " || CASE WHEN ");
		store_segment_sql(g_ptr_array_index(lsegs, i), sql, args);
		g_string_append(sql, " THEN ");
		campaign_text(sql, args, flag);
		g_string_append(sql, " ELSE '' END");
	}
	g_string_append(sql, ", ',') FROM memberships m"
	    " JOIN subscribers s ON s.id = m.subscriber_id"
	    " WHERE m.list_id = ?2 AND m.status = 'active'"
	    " AND NOT EXISTS (SELECT 1 FROM memberships b"
	    "   WHERE b.subscriber_id = s.id AND b.status = 'blocklisted')"
	    " AND (FALSE");
	for (i = 0; i < segs->len; i++) {
		g_string_append(sql, " OR ");
		store_segment_sql(g_ptr_array_index(segs, i), sql, args);
	}
	g_string_append(sql, ") ORDER BY s.id");
}

/* campaign_snapshot - the deliveries of campaign CID, from LIST_ID; the
 * number of them in *N */
static gboolean
campaign_snapshot(struct store *store, const struct list_config *list,
    const char *const *segments, GPtrArray *segs, GPtrArray *lsegs,
    gboolean held, gint64 cid, gint64 list_id, gint64 *n, GError **error)
{
	g_autoptr(GString) sql = g_string_new(NULL);
	g_autoptr(GArray) args = g_array_new(FALSE, FALSE,
	    sizeof(struct store_arg));
	g_autoptr(GPtrArray) keep = g_ptr_array_new_with_free_func(g_free);
	struct store_arg fixed[] = { SQ_INT(cid), SQ_INT(list_id) };

	g_array_append_vals(args, fixed, G_N_ELEMENTS(fixed));
	campaign_snapshot_sql(list, segments, segs, lsegs, held, sql, args,
	    keep);
	if (!store_finish(store_select_dynamic(store, sql->str,
	    (const struct store_arg *)(void *)args->data, args->len, error),
	    error))
		return FALSE;
	*n = store_changes(store);
	return TRUE;
}

/* campaign_create - snapshot the recipients into a new campaign */
gboolean
campaign_create(struct store *store, const struct list_config *list,
    const char *announcement, const char *const *segments, gboolean held,
    gint64 *id, GError **error)
{
	g_autoptr(GPtrArray) segs = g_ptr_array_new_with_free_func(
	    (GDestroyNotify)segment_free);
	g_autoptr(GPtrArray) lsegs = g_ptr_array_new_with_free_func(
	    (GDestroyNotify)segment_free);
	g_autofree char *joined = NULL;
	gint64 list_id, cid, n;

	if (!campaign_compile(list, segments, segs, lsegs, error))
		return FALSE;
	if (!store_begin(store, error))
		return FALSE;
	if ((list_id = store_list_id(store, list->name, TRUE, error)) == 0)
		goto fail;
	joined = g_strjoinv(",", (char **)segments);
	if (store_get_int(store, "INSERT INTO campaigns(list_id, announcement,"
	    " segments) VALUES (?1, ?2, ?3) RETURNING id", &cid, error,
	    SQ_INT(list_id), SQ_TEXT(announcement), SQ_TEXT(joined),
	    SQ_END) != 1)
		goto fail;
	if (!campaign_snapshot(store, list, segments, segs, lsegs, held, cid,
	    list_id, &n, error))
		goto fail;
	if (n == 0) {
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

/* campaign_delete - remove an unattempted campaign */
gboolean
campaign_delete(struct store *store, gint64 id, GError **error)
{
	if (!store_begin(store, error))
		return FALSE;
	if (!store_run(store, "DELETE FROM deliveries WHERE campaign_id = ?1",
	    error, SQ_INT(id), SQ_END) ||
	    !store_run(store, "DELETE FROM campaigns WHERE id = ?1", error,
	    SQ_INT(id), SQ_END)) {
		store_rollback(store);
		return FALSE;
	}
	return store_commit(store, error);
}

#define CAMPAIGN_COLUMNS "c.id, c.list_id, l.name, c.announcement, " \
	"c.segments, c.state, c.reason, c.created, coalesce(c.started, 0), " \
	"coalesce(c.finished, 0), c.sending_seconds, c.subject"

/* campaign_from_row - a struct campaign from CAMPAIGN_COLUMNS */
static struct campaign *
campaign_from_row(struct store_rows *rows)
{
	struct campaign *c = g_new0(struct campaign, 1);

	c->id = store_int(rows, 0);
	c->list_id = store_int(rows, 1);
	c->list = store_text_dup(rows, 2);
	c->announcement = store_text_dup(rows, 3);
	c->segments = g_strsplit(store_text(rows, 4), ",", -1);
	c->state = store_text_dup(rows, 5);
	c->reason = store_text_dup(rows, 6);
	c->created = store_int(rows, 7);
	c->started = store_int(rows, 8);
	c->finished = store_int(rows, 9);
	c->sending_seconds = store_real(rows, 10);
	c->subject = store_text_dup(rows, 11);
	return c;
}

/* campaign_get - one campaign */
struct campaign *
campaign_get(struct store *store, gint64 id, GError **error)
{
	g_autoptr(store_rows) rows = store_select(store, "SELECT "
	    CAMPAIGN_COLUMNS " FROM campaigns c JOIN lists l ON l.id = c.list_id"
	    " WHERE c.id = ?1", error, SQ_INT(id), SQ_END);
	GError *err = NULL;

	if (rows == NULL)
		return NULL;
	if (store_next(rows, &err))
		return campaign_from_row(rows);
	if (err != NULL)
		g_propagate_error(error, err);
	else
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_NOUSER,
		    "no campaign %" G_GINT64_FORMAT " (see herald campaigns)", id);
	return NULL;
}

/* campaign_list - all campaigns, newest first */
GPtrArray *
campaign_list(struct store *store, GError **error)
{
	g_autoptr(store_rows) rows = store_select(store, "SELECT "
	    CAMPAIGN_COLUMNS " FROM campaigns c JOIN lists l ON l.id = c.list_id"
	    " ORDER BY c.id DESC", error, SQ_END);
	g_autoptr(GPtrArray) out = NULL;
	GError *err = NULL;

	if (rows == NULL)
		return NULL;
	out = g_ptr_array_new_with_free_func((GDestroyNotify)campaign_free);
	while (store_next(rows, &err))
		g_ptr_array_add(out, campaign_from_row(rows));
	if (err != NULL) {
		g_propagate_error(error, err);
		return NULL;
	}
	return g_steal_pointer(&out);
}

/* campaign_find_earlier - the newest campaign of the same announcement
 * that may have reached anyone */
gint64
campaign_find_earlier(struct store *store, gint64 list_id,
    const char *announcement, GError **error)
{
	gint64 id = 0;
	int found = store_get_int(store, "SELECT c.id FROM campaigns c"
	    " WHERE c.list_id = ?1 AND c.announcement = ?2 AND"
	    " (c.state != 'cancelled' OR EXISTS (SELECT 1 FROM deliveries d"
	    " WHERE d.campaign_id = c.id AND d.state = 'sent'))"
	    " ORDER BY c.id DESC LIMIT 1", &id, error, SQ_INT(list_id),
	    SQ_TEXT(announcement), SQ_END);

	return found < 0 ? -1 : id;
}

/* campaign_counts - deliveries by state */
gboolean
campaign_counts(struct store *store, gint64 id, struct campaign_counts *counts,
    GError **error)
{
	g_autoptr(store_rows) rows = NULL;

	memset(counts, 0, sizeof *counts);
	rows = store_select(store, "SELECT count(*),"
	    " count(*) FILTER (WHERE state = 'sent'),"
	    " count(*) FILTER (WHERE state = 'failed'),"
	    " count(*) FILTER (WHERE state = 'queued'),"
	    " count(*) FILTER (WHERE state = 'queued' AND next_attempt <= ?2),"
	    " coalesce(min(next_attempt) FILTER (WHERE state = 'queued'"
	    "   AND next_attempt < " G_STRINGIFY(CAMPAIGN_HELD) "), 0)"
	    " FROM deliveries WHERE campaign_id = ?1", error, SQ_INT(id),
	    SQ_INT(herald_now()), SQ_END);
	if (!store_one_row(rows, "counting deliveries", error))
		return FALSE;
	counts->total = store_int(rows, 0);
	counts->sent = store_int(rows, 1);
	counts->failed = store_int(rows, 2);
	counts->queued = store_int(rows, 3);
	counts->due = store_int(rows, 4);
	counts->next_due = store_int(rows, 5);
	return TRUE;
}

/* campaign_segment_count_clear - free a row's segment name */
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
	g_autoptr(GArray) out = g_array_new(FALSE, TRUE,
	    sizeof(struct campaign_segment_count));
	guint i;

	g_array_set_clear_func(out, campaign_segment_count_clear);
	for (i = 0; c->segments[i] != NULL; i++) {
		g_autoptr(store_rows) rows = store_select(store, "SELECT count(*),"
		    " count(*) FILTER (WHERE state = 'sent'),"
		    " count(*) FILTER (WHERE state = 'failed'),"
		    " count(*) FILTER (WHERE state = 'queued')"
		    " FROM deliveries WHERE campaign_id = ?1 AND segment = ?2",
		    error, SQ_INT(c->id), SQ_TEXT(c->segments[i]), SQ_END);
		struct campaign_segment_count sc = { 0 };

		if (!store_one_row(rows, "counting deliveries by segment",
		    error))
			return NULL;
		sc.segment = g_strdup(c->segments[i]);
		sc.total = store_int(rows, 0);
		sc.sent = store_int(rows, 1);
		sc.failed = store_int(rows, 2);
		sc.queued = store_int(rows, 3);
		g_array_append_val(out, sc);
	}
	return g_steal_pointer(&out);
}

/* campaign_error_group_clear - free a group's strings */
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
	g_autoptr(store_rows) rows = store_select(store, "SELECT"
	    " coalesce(stage, ''), coalesce(code, 0), coalesce(reply, ''),"
	    " count(*), count(*) FILTER (WHERE state = 'failed')"
	    " FROM deliveries WHERE campaign_id = ?1 AND state <> 'sent'"
	    " AND (attempts > 0 OR state = 'failed')"
	    " GROUP BY 1, 2, 3 ORDER BY 4 DESC, 2 LIMIT ?2", error, SQ_INT(id),
	    SQ_INT(limit), SQ_END);
	g_autoptr(GArray) out = NULL;
	GError *err = NULL;

	if (rows == NULL)
		return NULL;
	out = g_array_new(FALSE, TRUE, sizeof(struct campaign_error_group));
	g_array_set_clear_func(out, campaign_error_group_clear);
	while (store_next(rows, &err)) {
		struct campaign_error_group g;

		g.stage = store_text_dup(rows, 0);
		g.code = (int)store_int(rows, 1);
		g.reply = store_text_dup(rows, 2);
		g.count = store_int(rows, 3);
		g.failed = store_int(rows, 4);
		g_array_append_val(out, g);
	}
	if (err != NULL) {
		g_propagate_error(error, err);
		return NULL;
	}
	return g_steal_pointer(&out);
}

/* campaign_set_state - state and reason */
gboolean
campaign_set_state(struct store *store, gint64 id, const char *state,
    const char *reason, GError **error)
{
	return store_run(store, "UPDATE campaigns SET"
	    " state = ?2, reason = ?3,"
	    " started = CASE WHEN ?2 = 'sending' THEN coalesce(started,"
	    "   unixepoch()) ELSE started END,"
	    " finished = CASE WHEN ?2 = 'done' THEN unixepoch() ELSE NULL END"
	    " WHERE id = ?1", error, SQ_INT(id), SQ_TEXT(state),
	    SQ_TEXT(reason), SQ_END);
}

/* campaign_requeue - failed back to queued, queued due now */
gboolean
campaign_requeue(struct store *store, gint64 id, gint64 *n, GError **error)
{
	gint64 changed;

	if (!store_begin(store, error))
		return FALSE;
	if (!store_run(store, "UPDATE deliveries SET state = 'queued',"
	    " next_attempt = 0, first_attempt = NULL WHERE campaign_id = ?1"
	    " AND state = 'failed'", error, SQ_INT(id), SQ_END))
		goto fail;
	changed = store_changes(store);
	/* a scheduled campaign's held deliveries stay held: the schedule
	 * releases them */
	if (!store_run(store, "UPDATE deliveries SET next_attempt = 0"
	    " WHERE campaign_id = ?1 AND state = 'queued' AND next_attempt <> "
	    G_STRINGIFY(CAMPAIGN_HELD), error, SQ_INT(id), SQ_END))
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

/* campaign_is_rejection - is R a 5xx at RCPT or DATA (a hard bounce)? A
 * 5xx at MAIL FROM is about the message, not the recipient, and is not
 * one. */
static gboolean
campaign_is_rejection(const struct campaign_result *r)
{
	return r->fate == CAMPAIGN_PERM && r->code >= 500 && r->code <= 599 &&
	    r->stage != NULL && (strcmp(r->stage, "rcpt") == 0 ||
	    strcmp(r->stage, "data") == 0);
}

/* campaign_record_rejection - a 5xx at RCPT or DATA is a hard bounce of
 * the recipient: hand it to the bounce policy (source "sync") inside the
 * caller's transaction. */
static gboolean
campaign_record_rejection(struct store *store, const struct config *config,
    const struct campaign_result *r, gint64 now, GError **error)
{
	g_autoptr(store_rows) rows = NULL;
	const struct list_config *list;
	gint64 sub, list_id;

	if (!campaign_is_rejection(r))
		return TRUE;
	rows = store_select(store, "SELECT d.subscriber_id, c.list_id, l.name"
	    " FROM deliveries d JOIN campaigns c ON c.id = d.campaign_id"
	    " JOIN lists l ON l.id = c.list_id WHERE d.id = ?1", error,
	    SQ_INT(r->delivery_id), SQ_END);
	if (rows == NULL)
		return FALSE;
	if (!store_next(rows, NULL))
		return TRUE;	/* the delivery is gone (campaign deleted) */
	sub = store_int(rows, 0);
	list_id = store_int(rows, 1);
	list = config_list(config, store_text(rows, 2), NULL);
	g_clear_pointer(&rows, store_rows_free);
	if (list == NULL)
		return TRUE;	/* the list file was removed since: no policy */
	return store_bounce_record_sync(store, list, list_id, sub,
	    r->delivery_id, NULL, r->reply, now, error);
}

/* campaign_record_one - R's delivery as its fate says; *CHANGED: whether
 * it was still queued (and so changed) */
static gboolean
campaign_record_one(struct store *store, const struct send_config *cfg,
    const struct campaign_result *r, gint64 now, gboolean *changed,
    GError **error)
{
	gboolean ok;

	switch (r->fate) {
	case CAMPAIGN_SENT:
	case CAMPAIGN_PERM:
	case CAMPAIGN_SKIP:
		ok = store_run(store, "UPDATE deliveries SET state = ?2,"
		    " attempts = attempts + ?7, code = ?3, reply = ?4, stage = ?5,"
		    " last_attempt = ?6, first_attempt = coalesce(first_attempt,"
		    " ?6), relay = coalesce(?8, relay)"
		    " WHERE id = ?1 AND state = 'queued'", error,
		    SQ_INT(r->delivery_id),
		    SQ_TEXT(r->fate == CAMPAIGN_SENT ? "sent" : "failed"),
		    SQ_INT(r->code), SQ_TEXT(r->reply), SQ_TEXT(r->stage),
		    SQ_INT(now), SQ_INT(r->fate != CAMPAIGN_SKIP),
		    SQ_TEXT(r->relay), SQ_END);
		break;
	case CAMPAIGN_TEMP:
		/* the old values of attempts and first_attempt are used
		 * throughout */
		ok = store_run(store, "UPDATE deliveries SET"
		    " attempts = attempts + 1, code = ?2, reply = ?3, stage = ?4,"
		    " last_attempt = ?5, first_attempt = coalesce(first_attempt,"
		    " ?5), state = CASE WHEN ?5 - coalesce(first_attempt, ?5)"
		    "   >= ?6 THEN 'failed' ELSE 'queued' END,"
		    " next_attempt = min(?5 + ?7 * (1 << CAST(min(attempts, ?8) AS INTEGER)),"
		    "   coalesce(first_attempt, ?5) + ?6),"
		    " relay = coalesce(?9, relay)"
		    " WHERE id = ?1 AND state = 'queued'", error,
		    SQ_INT(r->delivery_id), SQ_INT(r->code), SQ_TEXT(r->reply),
		    SQ_TEXT(r->stage), SQ_INT(now), SQ_INT(cfg->max_age),
		    SQ_INT(MAX(cfg->retry_base, 1)), SQ_INT(CAMPAIGN_MAX_SHIFT),
		    SQ_TEXT(r->relay), SQ_END);
		break;
	default:
		ok = store_run(store, "UPDATE deliveries SET code = ?2,"
		    " reply = ?3, stage = ?4, next_attempt = 0"
		    " WHERE id = ?1 AND state = 'queued'", error,
		    SQ_INT(r->delivery_id), SQ_INT(r->code), SQ_TEXT(r->reply),
		    SQ_TEXT(r->stage), SQ_END);
		break;
	}
	*changed = ok && store_changes(store) > 0;
	return ok;
}

/* campaign_record - one batch of results, one transaction */
gboolean
campaign_record(struct store *store, const struct config *config,
    const struct campaign_result *results, guint n, GError **error)
{
	gint64 now = herald_now(), clock = herald_now(), used = 0;
	const char *used_by = NULL;	/* the relay of the USED sent so far */
	g_autoptr(GHashTable) done = NULL;	/* batched and changed */
	gboolean changed;
	guint i;

	if (n == 0)
		return TRUE;
	/* PostgreSQL: results that are all final and no bounce go in one
	 * statement, its own transaction (campaign_batch_commit) */
	for (i = 0; i < n && !campaign_is_rejection(&results[i]); i++)
		;
	if (i == n) {
		int got = campaign_batch_commit(store, results, n, now, error);

		if (got != 0)
			return got > 0;
	}
	if (!store_begin(store, error))
		return FALSE;
	if (!campaign_batch_record(store, results, n, now, &done, error)) {
		store_rollback(store);
		return FALSE;
	}
	for (i = 0; i < n; i++) {
		const struct campaign_result *r = &results[i];

		if (done != NULL && campaign_batch_final(r))
			changed = g_hash_table_contains(done, &r->delivery_id);
		else if (!campaign_record_one(store, &config->send, r, now,
		    &changed, error)) {
			store_rollback(store);
			return FALSE;
		}
		if (!campaign_record_rejection(store, config, r, now, error)) {
			store_rollback(store);
			return FALSE;
		}
		if (r->fate == CAMPAIGN_SENT && r->relay != NULL && changed) {
			if (used_by != NULL && strcmp(used_by, r->relay) != 0 &&
			    !store_relay_record_usage(store, used_by, clock, used,
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
	    !store_relay_record_usage(store, used_by, clock, used, error)) {
		store_rollback(store);
		return FALSE;
	}
	return store_commit(store, error);
}

/* campaign_shared - is STORE (may be NULL) shared by several hosts (its
 * campaign locks advisory, PostgreSQL)? */
static gboolean
campaign_shared(struct store *store)
{
	return store != NULL && store_has(store, STORE_SHARED);
}

/* campaign_finish_run - account the run and set the state it leaves */
gboolean
campaign_finish_run(struct store *store, gint64 id, double seconds,
    const char *reason, GError **error)
{
	g_autoptr(campaign) c = NULL;
	struct campaign_counts counts;
	const char *state;

	if (!store_begin(store, error))
		return FALSE;
	/* several hosts: whoever finishes last sees every other's results
	 * (the row lock orders the finishes; SQLite has one writer) */
	if (campaign_shared(store) && store_get_int(store, "SELECT id FROM"
	    " campaigns WHERE id = ?1 FOR UPDATE", NULL, error, SQ_INT(id),
	    SQ_END) < 0)
		goto fail;
	if (!store_run(store, "UPDATE campaigns SET sending_seconds ="
	    " sending_seconds + ?2 WHERE id = ?1", error, SQ_INT(id),
	    SQ_REAL(seconds), SQ_END))
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

static int campaign_lock_file(const char *data_dir, gint64 id,
    gboolean take, GError **error);


/* the advisory lock space of campaigns (the second key is the id) */
#define CAMPAIGN_PG_LOCK 7243100

/* campaign_lock_shared - on PostgreSQL, the campaign's advisory lock for
 * this connection, in shared mode: every host sending the campaign holds
 * it at once (they share the rows by claims, store_claims.h), and
 * campaign_locked sees any of them. TRUE taken (or SQLite: nothing to
 * take), FALSE and a TEMP error when a connection holds it exclusively */
static gboolean
campaign_lock_shared(struct store *store, gint64 id, GError **error)
{
	gint64 got = 0;

	if (!campaign_shared(store))
		return TRUE;
	if (store_get_int(store, "SELECT pg_try_advisory_lock_shared(CAST(?1 AS"
	    " INTEGER), CAST(?2 AS INTEGER))", &got, error,
	    SQ_INT(CAMPAIGN_PG_LOCK), SQ_INT(id), SQ_END) != 1)
		return FALSE;
	if (got == 0)
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_TEMP,
		    "campaign %" G_GINT64_FORMAT " is being sent by another "
		    "herald (on another host, or another connection); nothing "
		    "was sent twice. Wait for it, or stop it with \"herald "
		    "campaign pause %" G_GINT64_FORMAT "\"", id, id);
	return got != 0;
}

/* the advisory lock space of a campaign's start (herald run) */
#define CAMPAIGN_PG_START 7243101

/* campaign_start_lock - on PostgreSQL, wait for the campaign's start
 * lock (exclusive, this connection); SQLite: nothing to take */
gboolean
campaign_start_lock(struct store *store, gint64 id, GError **error)
{
	if (!campaign_shared(store))
		return TRUE;
	return store_get_int(store, "SELECT 1 FROM (SELECT"
	    " pg_advisory_lock(CAST(?1 AS INTEGER), CAST(?2 AS INTEGER))) l",
	    NULL, error, SQ_INT(CAMPAIGN_PG_START), SQ_INT(id), SQ_END) == 1;
}

/* campaign_start_unlock - let go of the start lock (a lost connection
 * has let go of it already) */
void
campaign_start_unlock(struct store *store, gint64 id)
{
	if (campaign_shared(store))
		(void)store_get_int(store, "SELECT 1 FROM (SELECT"
		    " pg_advisory_unlock(CAST(?1 AS INTEGER), CAST(?2 AS"
		    " INTEGER))) l", NULL, NULL, SQ_INT(CAMPAIGN_PG_START),
		    SQ_INT(id), SQ_END);
}

/* campaign_lock - take the campaign's lock or say who holds it: the
 * flock (one process of a data folder), or on PostgreSQL the shared
 * advisory lock alone (any number of processes, claims share the work;
 * the file is only opened, to give a handle) */
int
campaign_lock(struct store *store, const char *data_dir, gint64 id,
    GError **error)
{
	int fd = campaign_lock_file(data_dir, id, !campaign_shared(store),
	    error);

	if (fd < 0)
		return -1;
	if (!campaign_lock_shared(store, id, error)) {
		campaign_unlock(NULL, fd, id);
		return -1;
	}
	return fd;
}

/* campaign_lock_file - DATA_DIR/campaign-ID.lock opened, and when
 * TAKE its flock */
static int
campaign_lock_file(const char *data_dir, gint64 id, gboolean take,
    GError **error)
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
	if (!take)
		return fd;
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

/* campaign_unlock - release and close (and on PostgreSQL let go of the
 * advisory lock when this connection holds it: a lost connection has let
 * go of it already, and the server would warn of a lock not held) */
void
campaign_unlock(struct store *store, int fd, gint64 id)
{
	if (fd >= 0 && campaign_shared(store))
		(void)store_get_int(store, "SELECT count(*) FROM (SELECT"
		    " pg_advisory_unlock_shared(CAST(?1 AS INTEGER), CAST(?2 AS"
		    " INTEGER)) FROM pg_locks WHERE pid = pg_backend_pid() AND"
		    " locktype = 'advisory' AND classid = ?1 AND objid = ?2"
		    " AND objsubid = 2 AND mode = 'ShareLock') l", NULL, NULL,
		    SQ_INT(CAMPAIGN_PG_LOCK), SQ_INT(id), SQ_END);
	if (fd >= 0) {
		if (ftruncate(fd, 0) != 0) {
			/* only the courtesy pid stays behind */
		}
		flock(fd, LOCK_UN);
		close(fd);
	}
}

/* campaign_locked - does a process (on PostgreSQL: of any host) hold
 * the lock now? */
gboolean
campaign_locked(struct store *store, const char *data_dir, gint64 id)
{
	g_autofree char *path = campaign_lock_path(data_dir, id);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	gboolean held;
	gint64 n = 0;

	if (store != NULL &&
	    store_has(store, STORE_SHARED) &&
	    /* pg_locks lists the locks of every database of the server:
	     * another herald's database has its own campaign 1 */
	    store_get_int(store, "SELECT count(*) FROM pg_locks WHERE"
	    " locktype = 'advisory' AND classid = ?1 AND objid = ?2"
	    " AND objsubid = 2 AND database = (SELECT oid FROM pg_database"
	    " WHERE datname = current_database())", &n, NULL,
	    SQ_INT(CAMPAIGN_PG_LOCK),
	    SQ_INT(id), SQ_END) == 1 && n > 0) {
		if (fd >= 0)
			close(fd);
		return TRUE;
	}

	if (fd < 0)
		return FALSE;
	held = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
	close(fd);
	return held;
}
