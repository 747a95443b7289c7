/*
 * dispatch.c - one run of a campaign: a producer (this thread), worker
 * threads that render, compose and send, results committed by the
 * workers in small transactions. See dispatch.h for the contract.
 *
 * A chunk is a range of delivery ids plus the instant the run started:
 * the worker selects the rows in the range that are queued and were due
 * at that instant, which is exactly the set the producer counted (nothing
 * else writes them during the run). Rows deferred during the run are due
 * later than that instant, so one run is one pass over the queue.
 *
 * The error rate is watched over a window of the last send.error_min
 * attempts (SMTP outcomes only; skipped deliveries do not count): when at
 * least send.error_threshold of the window failed, temporarily or not,
 * the run stops handing out chunks and says why. A refusal that blames
 * the sender or the session (SEND_HALT: AUTH refused, authentication
 * required, relay access denied, sender rejected) stops the run at once,
 * leaves its delivery queued and counts against nobody.
 *
 * Stopping (dispatch_stop): the producer hands out nothing more and
 * sender_stop() ends every session before its next MAIL FROM, so what
 * is in flight on each connection finishes and the rest of every chunk
 * stays queued, however long the chunk or slow the pacing. The producer
 * looks for a pause or a cancel from another command every tick, also
 * while the workers are busy.
 *
 * Membership: a chunk's rows come with their membership, and every
 * message is looked at once more just before its MAIL FROM (the admit
 * callback, one indexed read): an unsubscribe, a disabling or a
 * blocklisting committed by then stops it.
 *
 * Commits: a worker's results are committed every CAMPAIGN_COMMIT_EVERY
 * messages. A commit that fails (disk full, database locked past the
 * busy timeout) stops the run; the results stay pending and are tried
 * again when the worker ends, and only then given up: at most
 * CAMPAIGN_COMMIT_EVERY accepted messages per connection are then still
 * queued, the same window as a kill -9.
 */
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "herald.h"
#include "campaign.h"
#include "dispatch.h"
#include "send.h"
#include "subscriber.h"

#define DISPATCH_FIRST_CHUNK 16
#define DISPATCH_TICK_US 100000		/* how often the producer looks up */
#define DISPATCH_PROGRESS_US 500000

struct dispatch_chunk {
	gint64 first;
	gint64 last;
};

struct dispatch {
	const struct config *config;
	const struct composer *composer;
	struct sender *sender;
	gint64 id;
	gint64 list_id;
	gint64 now;			/* the run's start, unix time */
	GAsyncQueue *queue;		/* struct dispatch_chunk *, or &dispatch_end */
	gint stopping;			/* atomic: hand out nothing more */
	gint tripped;			/* atomic: the error rate stopped us */
	gint alive;			/* atomic: workers still running */
	GMutex commit;			/* one worker commits at a time */
	GMutex lock;			/* everything below */
	gint64 sent, failed, deferred;
	guint8 *window;
	guint wsize, wpos, wfill, wfails;
	char *reason;
	GError *error;
};

struct dispatch_worker {
	struct dispatch *d;
	struct store *store;
	sqlite3_stmt *rows;
	sqlite3_stmt *attrs;
	sqlite3_stmt *member;		/* one membership, before MAIL FROM */
	GArray *pending;		/* struct campaign_result */
	gboolean failed;		/* a commit failed: wait for the last try */
};

/* one delivery of a chunk, with its subscriber */
struct dispatch_item {
	gint64 delivery_id;
	struct subscriber *sub;
	char *segment;
	char **matched;
	char *status;
};

static struct dispatch_chunk dispatch_end;

/* dispatch_stop - hand out nothing more, and end every session before
 * its next MAIL FROM (a pacing wait included) */
static void
dispatch_stop(struct dispatch *d)
{
	g_atomic_int_set(&d->stopping, 1);
	if (d->sender != NULL)
		sender_stop(d->sender);
}

/* dispatch_fail - remember the first error and stop */
static void
dispatch_fail(struct dispatch *d, GError *error)
{
	g_mutex_lock(&d->lock);
	if (d->error == NULL)
		d->error = error;
	else
		g_error_free(error);
	g_mutex_unlock(&d->lock);
	dispatch_stop(d);
}

/* dispatch_flush - commit the worker's pending results. A failure stops
 * the run and keeps them for the LAST try, when the worker ends; then
 * they are given up (their deliveries stay queued: see the top of the
 * file). One try in between would only wait out the busy timeout again. */
static void
dispatch_flush(struct dispatch_worker *w, gboolean last)
{
	GError *error = NULL;
	gboolean ok;
	guint i;

	if (w->pending->len == 0 || (w->failed && !last))
		return;
	/* the workers take turns here rather than in SQLite, whose busy
	 * handler sleeps a millisecond or more while the SMTP session waits */
	g_mutex_lock(&w->d->commit);
	ok = campaign_record(w->store, w->d->config,
	    (struct campaign_result *)(void *)w->pending->data, w->pending->len,
	    &error);
	g_mutex_unlock(&w->d->commit);
	if (!ok) {
		dispatch_fail(w->d, error);
		w->failed = TRUE;
		if (!last)
			return;
	}
	for (i = 0; i < w->pending->len; i++)
		campaign_result_clear(&g_array_index(w->pending,
		    struct campaign_result, i));
	g_array_set_size(w->pending, 0);
}

/* dispatch_add - one result for the worker's next commit */
static void
dispatch_add(struct dispatch_worker *w, gint64 delivery_id,
    enum campaign_fate fate, int code, const char *reply, const char *stage)
{
	struct campaign_result r = { delivery_id, fate, code, g_strdup(reply),
	    stage };

	g_array_append_val(w->pending, r);
	if (w->pending->len >= CAMPAIGN_COMMIT_EVERY)
		dispatch_flush(w, FALSE);
}

/* dispatch_halt - a refusal that is the relay's or the configuration's
 * (SEND_HALT): stop the run and say so; the delivery is re-queued */
static enum campaign_fate
dispatch_halt(struct dispatch *d, const struct send_rcpt *r)
{
	char code[16] = "";

	g_mutex_lock(&d->lock);
	d->deferred++;
	if (!g_atomic_int_get(&d->tripped)) {
		g_atomic_int_set(&d->tripped, 1);
		if (r->code != 0)
			g_snprintf(code, sizeof code, "%d ", r->code);
		g_free(d->reason);
		d->reason = g_strdup_printf("the relay refused the session, not "
		    "a recipient: %s%s (at %s); the deliveries stay queued and no "
		    "bounce is counted. Fix the relay or the smtp settings first",
		    code, r->reply, send_stage_name(r->stage));
	}
	g_mutex_unlock(&d->lock);
	dispatch_stop(d);
	return CAMPAIGN_REQUEUE;
}

/* dispatch_count - count an outcome and watch the error rate; returns
 * the fate to record (a failure after the trip only re-queues) */
static enum campaign_fate
dispatch_count(struct dispatch *d, const struct send_rcpt *r)
{
	enum campaign_fate fate = r->outcome == SEND_OK ? CAMPAIGN_SENT :
	    r->outcome == SEND_PERM ? CAMPAIGN_PERM : CAMPAIGN_TEMP;
	double threshold = d->config->send.error_threshold;
	gboolean bad = fate != CAMPAIGN_SENT, trips = FALSE;

	if (r->outcome == SEND_HALT)
		return dispatch_halt(d, r);
	g_mutex_lock(&d->lock);
	if (bad && g_atomic_int_get(&d->tripped))
		fate = CAMPAIGN_REQUEUE;
	if (fate == CAMPAIGN_SENT)
		d->sent++;
	else if (fate == CAMPAIGN_PERM)
		d->failed++;
	else
		d->deferred++;
	if (d->wfill == d->wsize)
		d->wfails -= d->window[d->wpos];
	else
		d->wfill++;
	d->window[d->wpos] = bad;
	d->wfails += bad;
	d->wpos = (d->wpos + 1) % d->wsize;
	if (bad && threshold > 0 && d->wfill == d->wsize &&
	    d->wfails >= threshold * d->wsize &&
	    !g_atomic_int_get(&d->tripped)) {
		g_atomic_int_set(&d->tripped, 1);
		trips = TRUE;
		char code[16] = "";

		if (r->code != 0)
			g_snprintf(code, sizeof code, "%d ", r->code);
		g_free(d->reason);
		d->reason = g_strdup_printf("%u of the last %u attempts failed "
		    "(send.error_threshold %g); the last: %s%s (at %s)",
		    d->wfails, d->wsize, threshold, code, r->reply,
		    send_stage_name(r->stage));
	}
	g_mutex_unlock(&d->lock);
	if (trips)
		dispatch_stop(d);
	return fate;
}

/* dispatch_report - a message's fate, from inside the SMTP session */
static void
dispatch_report(struct send_message *msg, gpointer data)
{
	struct dispatch_worker *w = data;
	const struct send_rcpt *r = g_ptr_array_index(msg->rcpts, 0);
	enum campaign_fate fate = dispatch_count(w->d, r);

	dispatch_add(w, msg->id, fate, r->code, r->reply,
	    send_stage_name(r->stage));
}

/* dispatch_skip - DELIVERY_ID is not sent: the membership is STATUS now */
static void
dispatch_skip(struct dispatch_worker *w, gint64 delivery_id,
    const char *status)
{
	g_autofree char *why = g_strdup_printf("not sent: the membership is %s "
	    "now", *status != '\0' ? status : "gone");

	g_mutex_lock(&w->d->lock);
	w->d->failed++;
	g_mutex_unlock(&w->d->lock);
	dispatch_add(w, delivery_id, CAMPAIGN_SKIP, 0, why, "skipped");
}

/* dispatch_admit - just before MSG's MAIL FROM: is its subscriber (the
 * gint64 at msg->user) still an active member, blocklisted nowhere?
 * One read of the primary key and one of the subscriber index. A read
 * that fails lets the message go: the chunk's own read said yes. */
static gboolean
dispatch_admit(struct send_message *msg, gpointer data)
{
	struct dispatch_worker *w = data;
	sqlite3_stmt *st = w->member;
	g_autofree char *status = NULL;
	gboolean blocked = FALSE;

	sqlite3_bind_int64(st, 1, w->d->list_id);
	sqlite3_bind_int64(st, 2, *(const gint64 *)msg->user);
	if (sqlite3_step(st) == SQLITE_ROW) {
		status = g_strdup((const char *)sqlite3_column_text(st, 0));
		blocked = sqlite3_column_int(st, 1) != 0;
	}
	sqlite3_reset(st);
	if (status == NULL || (strcmp(status, MEMBER_ACTIVE) == 0 && !blocked))
		return TRUE;
	dispatch_skip(w, msg->id, blocked ? "blocklisted" : status);
	return FALSE;
}

static void
dispatch_item_clear(gpointer p)
{
	struct dispatch_item *it = p;

	subscriber_free(it->sub);
	g_free(it->segment);
	g_strfreev(it->matched);
	g_free(it->status);
}

/* dispatch_load - the chunk's deliveries with their subscribers */
static GArray *
dispatch_load(struct dispatch_worker *w, const struct dispatch_chunk *chunk,
    GError **error)
{
	GArray *items = g_array_new(FALSE, TRUE, sizeof(struct dispatch_item));
	g_autoptr(GHashTable) by_id = g_hash_table_new(g_int64_hash,
	    g_int64_equal);
	sqlite3_stmt *st;
	guint i;
	int rc;

	g_array_set_clear_func(items, dispatch_item_clear);
	st = w->rows;
	sqlite3_bind_int64(st, 1, w->d->id);
	sqlite3_bind_int64(st, 2, w->d->now);
	sqlite3_bind_int64(st, 3, chunk->first);
	sqlite3_bind_int64(st, 4, chunk->last);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct dispatch_item it = { 0 };
		const char *name = (const char *)sqlite3_column_text(st, 6);

		it.delivery_id = sqlite3_column_int64(st, 0);
		it.segment = g_strdup((const char *)sqlite3_column_text(st, 1));
		it.matched = g_strsplit((const char *)sqlite3_column_text(st, 2),
		    ",", -1);
		it.status = g_strdup((const char *)sqlite3_column_text(st, 3));
		it.sub = g_new0(struct subscriber, 1);
		it.sub->id = sqlite3_column_int64(st, 4);
		it.sub->email = g_strdup((const char *)sqlite3_column_text(st, 5));
		it.sub->name = name != NULL && *name != '\0' ? g_strdup(name) : NULL;
		it.sub->created = sqlite3_column_int64(st, 7);
		it.sub->attrs = g_hash_table_new_full(g_str_hash, g_str_equal,
		    g_free, g_free);
		g_array_append_val(items, it);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		goto fail;
	for (i = 0; i < items->len; i++) {
		struct dispatch_item *it = &g_array_index(items,
		    struct dispatch_item, i);

		g_hash_table_insert(by_id, &it->sub->id, it->sub);
	}
	st = w->attrs;
	sqlite3_bind_int64(st, 1, w->d->id);
	sqlite3_bind_int64(st, 2, w->d->now);
	sqlite3_bind_int64(st, 3, chunk->first);
	sqlite3_bind_int64(st, 4, chunk->last);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		gint64 sid = sqlite3_column_int64(st, 0);
		struct subscriber *sub = g_hash_table_lookup(by_id, &sid);

		if (sub != NULL)
			g_hash_table_insert(sub->attrs,
			    g_strdup((const char *)sqlite3_column_text(st, 1)),
			    g_strdup((const char *)sqlite3_column_text(st, 2)));
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		goto fail;
	return items;
fail:
	herald_set_sqlite_error(error, w->store->db, rc,
	    "reading the deliveries of a chunk");
	g_array_unref(items);
	return NULL;
}

/* dispatch_work - render, compose and send one chunk over one session */
static void
dispatch_work(struct dispatch_worker *w, const struct dispatch_chunk *chunk)
{
	struct dispatch *d = w->d;
	g_autoptr(GPtrArray) msgs = g_ptr_array_new_with_free_func(
	    (GDestroyNotify)send_message_free);
	g_autoptr(GArray) items = NULL;
	g_autofree gint64 *sids = NULL;
	GError *error = NULL;
	guint i;

	if ((items = dispatch_load(w, chunk, &error)) == NULL) {
		dispatch_fail(d, error);
		return;
	}
	sids = g_new0(gint64, MAX(items->len, 1));
	for (i = 0; i < items->len; i++) {
		struct dispatch_item *it = &g_array_index(items,
		    struct dispatch_item, i);
		GString *out;
		char *env = NULL;
		struct send_message *msg;
		g_autoptr(GBytes) body = NULL;

		if (g_atomic_int_get(&d->stopping))
			break;
		if (strcmp(it->status, MEMBER_ACTIVE) != 0) {
			dispatch_skip(w, it->delivery_id, it->status);
			continue;
		}
		out = g_string_sized_new(8192);
		if (!composer_render(d->composer, it->sub, it->segment,
		    (const char *const *)it->matched, it->delivery_id, out, &env,
		    NULL, &error)) {
			/* a DKIM signing failure is TEMP: the delivery waits
			 * in the queue, it is neither failed nor sent unsigned */
			gboolean temp = g_error_matches(error, HERALD_ERROR,
			    HERALD_ERROR_TEMP);

			g_mutex_lock(&d->lock);
			if (temp)
				d->deferred++;
			else
				d->failed++;
			g_mutex_unlock(&d->lock);
			dispatch_add(w, it->delivery_id, temp ? CAMPAIGN_TEMP :
			    CAMPAIGN_SKIP, 0, error->message, temp ? "sign" :
			    "compose");
			g_clear_error(&error);
			g_string_free(out, TRUE);
			continue;
		}
		body = g_string_free_to_bytes(out);
		msg = send_message_new(it->delivery_id, env, body);
		g_free(env);
		send_message_add_rcpt(msg, it->sub->email);
		sids[msgs->len] = it->sub->id;
		msg->user = &sids[msgs->len];
		g_ptr_array_add(msgs, msg);
	}
	g_clear_pointer(&items, g_array_unref);
	if (msgs->len > 0)
		sender_session(d->sender, (struct send_message **)msgs->pdata,
		    msgs->len, dispatch_admit, dispatch_report, w);
	dispatch_flush(w, FALSE);
}

/* dispatch_batch_policy - this thread is batch work for the scheduler
 * (SCHED_BATCH, no privilege needed): a relay on the same host (the
 * usual local Postfix), herald pipe and anything interactive win the CPU
 * when they wake, and bulk sending takes what is left. A refusal (a
 * kernel without it) changes nothing else. */
static void
dispatch_batch_policy(void)
{
	struct sched_param sp = { 0 };

	(void)sched_setscheduler(0, SCHED_BATCH, &sp);
}

/* dispatch_worker_main - a worker thread: its own store, chunks until
 * the end marker */
static gpointer
dispatch_worker_main(gpointer data)
{
	struct dispatch *d = data;
	struct dispatch_worker w = { d };
	struct dispatch_chunk *chunk;
	GError *error = NULL;
	static const char rows_sql[] = "SELECT d.id, d.segment, d.matched,"
	    " coalesce(m.status, ''), s.id, s.email, s.name, s.created"
	    " FROM deliveries d NOT INDEXED JOIN campaigns c ON c.id = d.campaign_id"
	    " JOIN subscribers s ON s.id = d.subscriber_id"
	    " LEFT JOIN memberships m ON m.list_id = c.list_id"
	    "   AND m.subscriber_id = d.subscriber_id"
	    " WHERE d.campaign_id = ?1 AND d.state = 'queued'"
	    " AND d.next_attempt <= ?2 AND d.id BETWEEN ?3 AND ?4 ORDER BY d.id";
	static const char attrs_sql[] = "SELECT d.subscriber_id, a.key, a.value"
	    " FROM deliveries d NOT INDEXED JOIN subscribers s"
	    "   ON s.id = d.subscriber_id, json_each(s.attrs) a"
	    " WHERE d.campaign_id = ?1 AND d.state = 'queued'"
	    " AND d.next_attempt <= ?2 AND d.id BETWEEN ?3 AND ?4";
	static const char member_sql[] = "SELECT coalesce((SELECT status FROM"
	    " memberships WHERE list_id = ?1 AND subscriber_id = ?2), ''),"
	    " EXISTS (SELECT 1 FROM memberships WHERE subscriber_id = ?2"
	    " AND status = 'blocklisted')";

	dispatch_batch_policy();
	w.pending = g_array_new(FALSE, TRUE, sizeof(struct campaign_result));
	w.store = store_open(d->config->database, 0, &error);
	if (w.store != NULL &&
	    ((w.rows = store_prepare(w.store, rows_sql, &error)) == NULL ||
	    (w.attrs = store_prepare(w.store, attrs_sql, &error)) == NULL ||
	    (w.member = store_prepare(w.store, member_sql, &error)) == NULL))
		g_clear_pointer(&w.store, store_close);
	if (w.store == NULL)
		dispatch_fail(d, error);
	while ((chunk = g_async_queue_pop(d->queue)) != &dispatch_end) {
		if (w.store != NULL && !g_atomic_int_get(&d->stopping))
			dispatch_work(&w, chunk);
		g_free(chunk);
	}
	if (w.store != NULL) {
		dispatch_flush(&w, TRUE);
		sqlite3_finalize(w.rows);
		sqlite3_finalize(w.attrs);
		sqlite3_finalize(w.member);
		store_close(w.store);
	}
	g_array_unref(w.pending);
	g_atomic_int_add(&d->alive, -1);
	return NULL;
}

/* dispatch_snapshot - fill P from the counters */
static void
dispatch_snapshot(struct dispatch *d, gint64 start,
    struct dispatch_progress *p)
{
	g_mutex_lock(&d->lock);
	p->sent = d->sent;
	p->failed = d->failed;
	p->deferred = d->deferred;
	g_mutex_unlock(&d->lock);
	p->elapsed = (g_get_monotonic_time() - start) / 1e6;
	p->rate = p->elapsed > 0 ? (p->sent + p->failed + p->deferred) /
	    p->elapsed : 0;
}

/* dispatch_list_id - the list of campaign ID, 0 on error (set) */
static gint64
dispatch_list_id(struct store *store, gint64 id, GError **error)
{
	g_autoptr(sqlite3_stmt) st = store_prepare(store,
	    "SELECT list_id FROM campaigns WHERE id = ?1", error);
	int rc;

	if (st == NULL)
		return 0;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		return sqlite3_column_int64(st, 0);
	herald_set_sqlite_error(error, store->db, rc == SQLITE_DONE ?
	    SQLITE_NOTFOUND : rc, "reading the campaign's list");
	return 0;
}

/* dispatch_external - paused or cancelled by another command? Returns
 * the state then, NULL otherwise */
static const char *
dispatch_external(struct store *store, gint64 id)
{
	g_autoptr(sqlite3_stmt) st = store_prepare(store,
	    "SELECT state FROM campaigns WHERE id = ?1", NULL);
	const char *state;

	if (st == NULL)
		return NULL;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_ROW)
		return "cancelled";
	state = (const char *)sqlite3_column_text(st, 0);
	if (strcmp(state, "paused") == 0)
		return "paused";
	if (strcmp(state, "cancelled") == 0)
		return "cancelled";
	return NULL;
}

/* dispatch_watch - a signal (*STOP), or a pause or cancel from another
 * command (looked up at most every DISPATCH_TICK_US, in *EXTERNAL):
 * stop the run */
static void
dispatch_watch(struct dispatch *d, struct store *store,
    volatile sig_atomic_t *stop, const char **external, gint64 *looked)
{
	gint64 now = g_get_monotonic_time();

	if (stop != NULL && *stop)
		dispatch_stop(d);
	if (*external == NULL && now - *looked >= DISPATCH_TICK_US) {
		*looked = now;
		if ((*external = dispatch_external(store, d->id)) != NULL)
			dispatch_stop(d);
	}
}

/* dispatch_next - the next chunk of at most SIZE due rows after *CURSOR;
 * FALSE at the end (or on error, set) */
static gboolean
dispatch_next(struct store *store, sqlite3_stmt *st, struct dispatch *d,
    gint64 *cursor, int size, struct dispatch_chunk *chunk, GError **error)
{
	int rc;
	gint64 n;

	sqlite3_bind_int64(st, 1, d->id);
	sqlite3_bind_int64(st, 2, d->now);
	sqlite3_bind_int64(st, 3, *cursor);
	sqlite3_bind_int(st, 4, size);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		herald_set_sqlite_error(error, store->db, rc, "reading the queue");
		return FALSE;
	}
	n = sqlite3_column_int64(st, 0);
	chunk->first = sqlite3_column_int64(st, 1);
	chunk->last = sqlite3_column_int64(st, 2);
	sqlite3_reset(st);
	if (n == 0)
		return FALSE;
	*cursor = chunk->last;
	return TRUE;
}

/* dispatch_tick - progress, at most every DISPATCH_PROGRESS_US */
static void
dispatch_tick(struct dispatch *d, gint64 start, gint64 *last,
    struct dispatch_progress *p, dispatch_progress_fn fn, gpointer data)
{
	gint64 now = g_get_monotonic_time();

	if (fn == NULL || now - *last < DISPATCH_PROGRESS_US)
		return;
	*last = now;
	dispatch_snapshot(d, start, p);
	fn(p, data);
}

/* dispatch_run - one run of campaign ID */
gboolean
dispatch_run(struct store *store, const struct config *config,
    const struct composer *composer, gint64 id, volatile sig_atomic_t *stop,
    dispatch_progress_fn progress,
    gpointer data, struct dispatch_progress *final, char **reason,
    GError **error)
{
	struct dispatch d = { 0 };
	struct dispatch_progress p = { 0 };
	g_autoptr(sqlite3_stmt) next = NULL;
	g_autoptr(sqlite3_stmt) count_due = NULL;
	g_autofree GThread **threads = NULL;
	const char *external = NULL;
	GError *err = NULL;
	gint64 cursor = 0, start, last = 0, looked = 0;
	int size = DISPATCH_FIRST_CHUNK, nworkers, i;
	sigset_t block, old;
	gboolean ok;

	if (reason != NULL)
		*reason = NULL;
	send_init();
	d.config = config;
	d.composer = composer;
	d.id = id;
	d.now = herald_now();
	d.wsize = MAX(config->send.error_min, 1);
	d.window = g_new0(guint8, d.wsize);
	g_mutex_init(&d.lock);
	g_mutex_init(&d.commit);
	nworkers = MAX(config->send.connections, 1);
	size = MIN(size, MAX(config->send.batch, 1));

	next = store_prepare(store, "SELECT count(*), min(id), max(id) FROM"
	    " (SELECT id FROM deliveries WHERE campaign_id = ?1 AND state ="
	    " 'queued' AND next_attempt <= ?2 AND id > ?3 ORDER BY id LIMIT ?4)",
	    error);
	count_due = store_prepare(store, "SELECT count(*) FROM deliveries WHERE"
	    " campaign_id = ?1 AND state = 'queued' AND next_attempt <= ?2",
	    error);
	if (next == NULL || count_due == NULL)
		goto fail_early;
	sqlite3_bind_int64(count_due, 1, id);
	sqlite3_bind_int64(count_due, 2, d.now);
	if (sqlite3_step(count_due) == SQLITE_ROW)
		p.due_at_start = sqlite3_column_int64(count_due, 0);
	sqlite3_reset(count_due);	/* no read transaction left open */
	d.sender = sender_new(&config->smtp, config->send.rate,
	    config->send.domain_rate, error);
	if (d.sender == NULL)
		goto fail_early;
	if (!campaign_set_state(store, id, "sending", NULL, error) ||
	    (d.list_id = dispatch_list_id(store, id, error)) == 0)
		goto fail_early;

	d.queue = g_async_queue_new();
	threads = g_new0(GThread *, nworkers);
	/* the workers never see SIGINT or SIGTERM: this thread handles them */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	d.alive = nworkers;
	for (i = 0; i < nworkers; i++)
		threads[i] = g_thread_new("herald-send", dispatch_worker_main, &d);
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	start = g_get_monotonic_time();
	for (;;) {
		struct dispatch_chunk chunk;

		dispatch_watch(&d, store, stop, &external, &looked);
		if (g_atomic_int_get(&d.stopping))
			break;
		if (g_async_queue_length(d.queue) >= nworkers) {
			g_usleep(DISPATCH_TICK_US / 10);
			dispatch_tick(&d, start, &last, &p, progress, data);
			continue;
		}
		if (!dispatch_next(store, next, &d, &cursor, size, &chunk, &err)) {
			if (err != NULL)
				dispatch_fail(&d, g_steal_pointer(&err));
			break;
		}
		g_async_queue_push(d.queue, g_memdup2(&chunk, sizeof chunk));
		size = MIN(size * 2, MAX(config->send.batch, 1));
		dispatch_tick(&d, start, &last, &p, progress, data);
	}
	for (i = 0; i < nworkers; i++)
		g_async_queue_push(d.queue, &dispatch_end);
	while (g_atomic_int_get(&d.alive) > 0) {
		dispatch_watch(&d, store, stop, &external, &looked);
		g_usleep(DISPATCH_TICK_US / 10);
		dispatch_tick(&d, start, &last, &p, progress, data);
	}
	for (i = 0; i < nworkers; i++)
		g_thread_join(threads[i]);
	dispatch_snapshot(&d, start, &p);
	p.final = TRUE;

	if (g_atomic_int_get(&d.tripped))
		;	/* d.reason says why */
	else if (external != NULL) {
		g_free(d.reason);
		d.reason = g_strdup(strcmp(external, "paused") == 0 ?
		    "paused by \"herald campaign pause\"" :
		    "cancelled by \"herald campaign cancel\"");
	} else if (stop != NULL && *stop) {
		g_free(d.reason);
		d.reason = g_strdup_printf("interrupted by %s",
		    *stop == SIGTERM ? "SIGTERM" : *stop == SIGINT ? "SIGINT" :
		    "a signal");
	} else if (d.error != NULL) {
		g_free(d.reason);
		d.reason = g_strdup_printf("stopped by an error: %s",
		    d.error->message);
	}
	ok = campaign_finish_run(store, id, p.elapsed, d.reason, error);
	if (ok && d.error != NULL) {
		g_propagate_error(error, d.error);
		d.error = NULL;
		ok = FALSE;
	}
	if (progress != NULL)
		progress(&p, data);
	if (final != NULL)
		*final = p;
	if (reason != NULL)
		*reason = g_steal_pointer(&d.reason);
	g_async_queue_unref(d.queue);
	sender_free(d.sender);
	g_free(d.reason);
	g_clear_error(&d.error);
	g_free(d.window);
	g_mutex_clear(&d.lock);
	g_mutex_clear(&d.commit);
	return ok;

fail_early:
	sender_free(d.sender);
	g_free(d.window);
	g_mutex_clear(&d.lock);
	g_mutex_clear(&d.commit);
	return FALSE;
}
