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
 * callback): an unsubscribe, a disabling or a blocklisting committed
 * DISPATCH_ADMIT_FRESH_US (100 ms) before then stops it. One read gets
 * the memberships of the next DISPATCH_ADMIT_BATCH messages of the
 * chunk; a message whose read is older than that bound (pacing, a slow
 * session) is read again. On PostgreSQL a read is a round trip that
 * cost about 95 us of CPU a message across herald and the server when
 * it was made for each message alone.
 *
 * Relays: each relay of config->relays has its own sender, its own
 * workers (relay.connections) and its own queue of chunks. The producer
 * gives each chunk to the relay that is up, under its quota (relay.c,
 * counted in the store, minus the rows it has in flight) and furthest
 * behind its weight, and waits for that relay's queue rather than
 * handing the chunk to another. With two relays or more, a relay's
 * failure (no reply, a 421, a SEND_HALT refusal) marks it down (the
 * breaker: it rests send.relay_backoff seconds, doubling at each failed
 * probe, then gets one small chunk); its messages are re-queued untouched
 * and the chunk, once its results are committed, goes back to the
 * producer (d->retry), which hands out what is still due of it to the
 * relays that are up. A relay the store has down (marked by a notice or
 * another run, its back-off not over) starts the run down, unless every
 * relay does (dispatch_relays_recall). Every relay down pauses the run.
 * With one relay,
 * a failure is the delivery's, as above. A relay at its quota gets
 * nothing; when every relay not down is, the run waits (the progress
 * says until when) or pauses (send.on_quota).
 *
 * Commits: a worker's results are committed every CAMPAIGN_COMMIT_EVERY
 * messages. On PostgreSQL, where a commit is a round trip and a WAL
 * flush, they are committed beside the sessions instead (the run's
 * committer thread, with a connection of its own, puts the batches the
 * workers handed over meanwhile in one commit: dispatch_commit.h):
 * every half of CAMPAIGN_COMMIT_EVERY, one half in flight while the
 * next fills, the worker waiting for the one in flight before it hands
 * over the next; and at a chunk's end everything is committed before
 * the worker goes on. Either way at most CAMPAIGN_COMMIT_EVERY messages
 * a connection has had accepted are unrecorded at any instant (t0424).
 * A commit that fails (disk full, database locked past the
 * busy timeout) stops the run; the results stay pending and are tried
 * again when the worker ends, and only then given up: at most
 * CAMPAIGN_COMMIT_EVERY accepted messages per connection are then still
 * queued, the same window as a kill -9.
 *
 * Several hosts (PostgreSQL, store_claims.h): a chunk is then a claim.
 * The producer claims the rows of each chunk for this run (d->owner)
 * with a lease of send.lease seconds, the worker reads only the rows
 * its run holds (other hosts hold others in the same id range), and the
 * producer renews the lease every third of it, also while the workers
 * drain. When nothing fresh is left while another run holds due rows,
 * the producer looks again from the start of the queue every second: a
 * lease that ran out (a host hung or cut off) lets this run claim its
 * rows, and so does a run's advisory lock gone (its process died: the
 * rows are freed at this run's start and at each look, without waiting
 * for the lease); the run ends once no other run holds any. What the run
 * still holds at its end is let go. A row is sent twice only when its
 * holder sent it and could not record it before its lease ran out (the
 * messages in flight, at most CAMPAIGN_COMMIT_EVERY per connection, of
 * a host killed or cut off for longer than the lease). On SQLite
 * d->owner is NULL and none of this runs: the campaign lock keeps one
 * process per campaign.
 */
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "herald.h"
#include "campaign.h"
#include "dispatch.h"
#include "dispatch_commit.h"
#include "relay.h"
#include "send.h"
#include "store_claims.h"
#include "store_deliveries.h"
#include "subscriber.h"

#define DISPATCH_FIRST_CHUNK 16
#define DISPATCH_TICK_US 100000		/* how often the producer looks up */
#define DISPATCH_PROGRESS_US 500000

#define DISPATCH_BACKOFF_MAX (600 * G_USEC_PER_SEC)

/* a message's membership is read at most this long before its MAIL
 * FROM, in reads of up to this many messages (t0423, t0425) */
#define DISPATCH_ADMIT_FRESH_US (100 * 1000)
#define DISPATCH_ADMIT_BATCH 16

struct dispatch_chunk {
	gint64 first;
	gint64 last;
	gint64 n;		/* due rows when it was handed out */
};

enum dispatch_relay_state {
	RELAY_UP,
	RELAY_DOWN,		/* until down_until, then probed */
	RELAY_PROBING,		/* one chunk out to see if it is back */
};

/* one relay of the pool: its settings, its sessions, its breaker */
struct dispatch_relay {
	const struct relay_config *cfg;
	struct sender *sender;
	GAsyncQueue *queue;	/* its chunks, or &dispatch_end */
	GThread **threads;	/* cfg->connections workers */
	gint64 assigned;	/* rows handed to it this run (producer's) */
	gint inflight;		/* atomic: rows handed out and not done */
	/* under the dispatch lock */
	struct dispatch *d;
	enum dispatch_relay_state state;
	gint64 down_until;	/* monotonic µs */
	gint64 backoff;		/* µs, doubles at each failed probe */
	char *reason;		/* why it is down */
	gboolean changed;	/* the store should hear of its state */
	gboolean at_quota;	/* the producer's: last seen at its quota */
	gboolean recalled;	/* down from the store's mark, not tried yet */
};

/* a group of destination domains (shape NAME { }): how many messages
 * are in flight to it, and its rate, halved at each "slow down" reply
 * and grown back by a 32nd of the configured rate at each success */
struct dispatch_shape {
	const struct shape_config *cfg;
	int inflight;
	double rate;		/* now; cfg->rate at most */
	gint64 next;		/* monotonic µs of its next slot */
	gint64 slowed;		/* 421 or 4.7.x replies from it */
	char *last;		/* the last of them */
};

/* what msg->user points at: the subscriber, and its shape: the slot
 * it holds (released when its report comes, or when its connection
 * moves on to the next message, whichever is first) and the rate its
 * report will adapt */
struct dispatch_held {
	gint64 sid;
	struct dispatch_shape *shape;	/* NULL: its report has come */
	gboolean holding;		/* it holds a slot of shape */
	char *status;			/* its membership as last read, or
					 * NULL (not read, or the read failed) */
	gboolean blocked;		/* ... and blocklisted somewhere */
	gint64 read_at;			/* monotonic µs of that read; 0 none */
};

struct dispatch {
	const struct config *config;
	const struct composer *composer;
	struct dispatch_relay *relays;
	guint nrelays;
	GQueue retry;			/* struct dispatch_chunk *: given back */
	struct dispatch_shape *shapes;
	guint nshapes;
	GHashTable *shape_of;		/* domain -> struct dispatch_shape * */
	GMutex shape_lock;		/* the shapes' counters */
	GCond shape_cond;		/* a slot came free, or a stop */
	gint chunks;			/* atomic: chunks out with the workers */
	gint64 id;
	gint64 list_id;
	gint64 now;			/* the run's start, unix time */
	char *owner;			/* its claims' name; NULL: no claims */
	GAsyncQueue *queue;		/* struct dispatch_chunk *, or &dispatch_end */
	gint stopping;			/* atomic: hand out nothing more */
	gint tripped;			/* atomic: the error rate stopped us */
	gint alive;			/* atomic: workers still running */
	GMutex commit;			/* one worker commits at a time */
	gboolean one_writer;		/* ... when the store is SQLite */
	struct dispatch_committer *committer;	/* otherwise the workers'
					 * commits (dispatch_commit.h) */
	GMutex lock;			/* everything below */
	gint64 sent, failed, deferred;
	guint8 *window;
	guint wsize, wpos, wfill, wfails;
	char *reason;
	GError *error;
};

struct dispatch_worker {
	struct dispatch *d;
	struct dispatch_relay *relay;
	struct store *store;		/* its own connection */
	struct dispatch_commit_slot *committer;	/* PostgreSQL: its
					 * place at the run's committer, or NULL */
	GArray *pending;		/* struct campaign_result */
	struct dispatch_held *admitted;	/* the last message admitted */
	struct dispatch_held *held;	/* the chunk's messages, in order */
	guint nheld;
	gboolean failed;		/* a commit failed: wait for the last try */
	gboolean fault;			/* the relay failed under this chunk */
};

/* the producer's side of a run: dispatch_run's thread */
struct dispatch_producer {
	struct dispatch *d;
	struct store *store;
	volatile sig_atomic_t *stop;	/* a signal's number, or 0 */
	dispatch_progress_fn progress;
	gpointer data;
	struct dispatch_progress p;
	const char *external;	/* paused or cancelled by another command */
	gint64 start;		/* monotonic µs */
	gint64 last;		/* the last progress report */
	gint64 looked;		/* the last look for EXTERNAL */
	gint64 cursor;		/* the last id handed out fresh */
	gint64 renewed;		/* monotonic µs of the last lease renewal */
	gint64 rescanned;	/* ... and of the last look at others' claims */
	int size;		/* the next fresh chunk's */
	gboolean fresh_done;	/* no fresh chunk left */
};

static struct dispatch_chunk dispatch_end;

static void dispatch_shape_release(struct dispatch *d,
    struct dispatch_held *held, const struct send_rcpt *r);

/* dispatch_stop - hand out nothing more, and end every session before
 * its next MAIL FROM (a pacing wait included) */
static void
dispatch_stop(struct dispatch *d)
{
	guint i;

	g_atomic_int_set(&d->stopping, 1);
	g_mutex_lock(&d->shape_lock);
	g_cond_broadcast(&d->shape_cond);
	g_mutex_unlock(&d->shape_lock);
	for (i = 0; i < d->nrelays; i++)
		if (d->relays[i].sender != NULL)
			sender_stop(d->relays[i].sender);
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

/* how a worker's flush commits: a batch handed to its committer, the
 * worker going on (mid-chunk, PostgreSQL); everything committed before
 * the worker goes on (a chunk's end: a chunk given back for another
 * relay is read again only after); the worker's last */
enum dispatch_flush_mode { FLUSH_BESIDE, FLUSH_NOW, FLUSH_LAST };

/* dispatch_flush_committer - the committer's part of a flush: hand the
 * batch over (FLUSH_BESIDE; TRUE: nothing more to do), or wait for the
 * batch in flight. A batch that failed comes back to the front of the
 * pending results and stops the run, as a failed commit does. */
static gboolean
dispatch_flush_committer(struct dispatch_worker *w,
    enum dispatch_flush_mode mode)
{
	GError *error = NULL;
	gboolean ok;

	if (mode == FLUSH_BESIDE && w->failed)
		return TRUE;
	ok = mode == FLUSH_BESIDE ? dispatch_committer_hand(w->committer,
	    &w->pending, &error) : dispatch_committer_drain(w->committer,
	    &w->pending, &error);
	if (!ok) {
		dispatch_fail(w->d, error);
		w->failed = TRUE;
	}
	return ok && mode == FLUSH_BESIDE;
}

/* dispatch_flush - commit the worker's pending results. A failure stops
 * the run and keeps them for the LAST try, when the worker ends; then
 * they are given up (their deliveries stay queued: see the top of the
 * file). One try in between would only wait out the busy timeout again. */
static void
dispatch_flush(struct dispatch_worker *w, enum dispatch_flush_mode mode)
{
	GError *error = NULL;
	gboolean ok, last = mode == FLUSH_LAST;
	guint i;

	if (w->committer != NULL && dispatch_flush_committer(w, mode))
		return;
	if (w->pending->len == 0 || (w->failed && !last))
		return;
	/* on SQLite the workers take turns here rather than in SQLite, whose
	 * busy handler sleeps a millisecond or more while the SMTP session
	 * waits; PostgreSQL takes them at once (each worker's rows are its
	 * own), so their commits share a WAL flush instead of queueing for
	 * one each */
	if (w->d->one_writer)
		g_mutex_lock(&w->d->commit);
	ok = campaign_record(w->store, w->d->config,
	    (struct campaign_result *)(void *)w->pending->data, w->pending->len,
	    &error);
	if (w->d->one_writer)
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

/* dispatch_add - one result for the worker's next commit: with a
 * committer, every half of CAMPAIGN_COMMIT_EVERY (one half in flight,
 * one filling: what a kill -9 leaves unrecorded stays within it) */
static void
dispatch_add(struct dispatch_worker *w, gint64 delivery_id,
    enum campaign_fate fate, int code, const char *reply, const char *stage)
{
	struct campaign_result r = { delivery_id, fate, code, g_strdup(reply),
	    stage, fate == CAMPAIGN_SENT || fate == CAMPAIGN_TEMP ||
	    fate == CAMPAIGN_PERM ? w->relay->cfg->name : NULL };

	g_array_append_val(w->pending, r);
	if (w->pending->len >= (w->committer != NULL ?
	    CAMPAIGN_COMMIT_EVERY / 2 : CAMPAIGN_COMMIT_EVERY))
		dispatch_flush(w, FLUSH_BESIDE);
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

/* dispatch_all_down - every relay is down (call with the lock held) */
static gboolean
dispatch_all_down(struct dispatch *d)
{
	guint i;

	for (i = 0; i < d->nrelays; i++)
		if (d->relays[i].state != RELAY_DOWN)
			return FALSE;
	return TRUE;
}

/* dispatch_wake_recalled - every relay is down, and some only by the
 * store's mark (not tried this run): they are probed now rather than the
 * run paused on another process's word. TRUE if there was one. Under the
 * dispatch lock. */
static gboolean
dispatch_wake_recalled(struct dispatch *d)
{
	gboolean any = FALSE;
	guint i;

	for (i = 0; i < d->nrelays; i++)
		if (d->relays[i].recalled && d->relays[i].state == RELAY_DOWN) {
			d->relays[i].recalled = FALSE;
			d->relays[i].down_until = 0;
			any = TRUE;
		}
	return any;
}

/* dispatch_relay_down - R failed (R's result says how): the breaker
 * opens for its back-off (doubled after a failed probe). When every
 * relay is down the run stops, saying why for each. */
static void
dispatch_relay_down(struct dispatch *d, struct dispatch_relay *relay,
    const struct send_rcpt *r)
{
	gint64 base = (gint64)d->config->send.relay_backoff * G_USEC_PER_SEC;
	char code[16] = "";
	gboolean all;

	if (r->code != 0)
		g_snprintf(code, sizeof code, "%d ", r->code);
	g_mutex_lock(&d->lock);
	if (relay->state == RELAY_DOWN) {
		g_mutex_unlock(&d->lock);
		return;
	}
	relay->backoff = relay->state == RELAY_PROBING ?
	    MIN(MAX(relay->backoff, base) * 2, DISPATCH_BACKOFF_MAX) : base;
	relay->state = RELAY_DOWN;
	relay->down_until = g_get_monotonic_time() + relay->backoff;
	relay->changed = TRUE;
	g_free(relay->reason);
	relay->reason = g_strdup_printf("%s%s (at %s)", code, r->reply,
	    send_stage_name(r->stage));
	all = dispatch_all_down(d) && !dispatch_wake_recalled(d);
	if (all && !g_atomic_int_get(&d->tripped)) {
		GString *why = g_string_new("every relay is down:");
		guint i;

		g_atomic_int_set(&d->tripped, 1);
		for (i = 0; i < d->nrelays; i++)
			g_string_append_printf(why, "%s %s: %s", i > 0 ? ";" : "",
			    d->relays[i].cfg->name, d->relays[i].reason);
		g_string_append(why, "; the deliveries stay queued");
		g_free(d->reason);
		d->reason = g_string_free(why, FALSE);
	}
	g_mutex_unlock(&d->lock);
	if (all)
		dispatch_stop(d);
}

/* dispatch_report - a message's fate, from inside the SMTP session. With
 * more than one relay, a relay's failure marks it down and leaves the
 * message queued for another relay (the chunk goes back to the queue) */
static void
dispatch_report(struct send_message *msg, gpointer data)
{
	struct dispatch_worker *w = data;
	const struct send_rcpt *r = g_ptr_array_index(msg->rcpts, 0);
	enum campaign_fate fate;

	dispatch_shape_release(w->d, msg->user, r);
	if (w->d->nrelays > 1 && send_relay_fault(r)) {
		w->fault = TRUE;
		dispatch_relay_down(w->d, w->relay, r);
		dispatch_add(w, msg->id, CAMPAIGN_REQUEUE, r->code, r->reply,
		    send_stage_name(r->stage));
		return;
	}
	fate = dispatch_count(w->d, r);

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

/* dispatch_shape_slowdown - does R ask the sender to slow down: a 421
 * or a 4.7.x (RFC 3463: security or policy, as rate limits are) 4xx? */
static gboolean
dispatch_shape_slowdown(const struct send_rcpt *r)
{
	return r->code / 100 == 4 && (r->code == 421 ||
	    (r->reply != NULL && strncmp(r->reply, "4.7.", 4) == 0));
}

/* dispatch_shape_acquire - before a message to ADDRESS: wait for a
 * slot of its domain's group (its connections) and for the group's
 * pace; FALSE on a stop (the message stays queued, untouched) */
static gboolean
dispatch_shape_acquire(struct dispatch *d, struct dispatch_held *held,
    const char *address)
{
	const char *at = strrchr(address, '@');
	g_autofree char *domain = g_ascii_strdown(at != NULL ? at + 1 : "", -1);
	struct dispatch_shape *sh;
	gint64 slot = 0, now;

	if (d->shape_of == NULL ||
	    (sh = g_hash_table_lookup(d->shape_of, domain)) == NULL)
		return TRUE;
	g_mutex_lock(&d->shape_lock);
	while (!g_atomic_int_get(&d->stopping) && sh->cfg->connections > 0 &&
	    sh->inflight >= sh->cfg->connections)
		g_cond_wait_until(&d->shape_cond, &d->shape_lock,
		    g_get_monotonic_time() + DISPATCH_TICK_US);
	if (g_atomic_int_get(&d->stopping)) {
		g_mutex_unlock(&d->shape_lock);
		return FALSE;
	}
	sh->inflight++;
	held->shape = sh;
	held->holding = TRUE;
	if (sh->rate > 0) {
		now = g_get_monotonic_time();
		slot = MAX(sh->next, now);
		sh->next = slot + (gint64)(G_USEC_PER_SEC / sh->rate);
	}
	g_mutex_unlock(&d->shape_lock);
	while (!g_atomic_int_get(&d->stopping) &&
	    (now = g_get_monotonic_time()) < slot)
		g_usleep(MIN(slot - now, DISPATCH_TICK_US));
	return TRUE;
}

/* dispatch_shape_release - HELD's message is over (R: how, NULL: never
 * sent); the group adapts its rate to R (additive increase,
 * multiplicative decrease) */
static void
dispatch_shape_release(struct dispatch *d, struct dispatch_held *held,
    const struct send_rcpt *r)
{
	struct dispatch_shape *sh = held->shape;
	double top;

	if (sh == NULL || (r == NULL && !held->holding))
		return;
	top = sh->cfg->rate;
	g_mutex_lock(&d->shape_lock);
	if (held->holding)
		sh->inflight--;
	held->holding = FALSE;
	if (r != NULL)
		held->shape = NULL;
	if (r != NULL && dispatch_shape_slowdown(r)) {
		sh->slowed++;
		g_free(sh->last);
		sh->last = g_strdup_printf("%d %s", r->code, r->reply);
		if (top > 0)
			sh->rate = MAX(sh->rate / 2, top / 64);
	} else if (r != NULL && r->outcome == SEND_OK && top > 0)
		sh->rate = MIN(sh->rate + top / 32, top);
	g_cond_broadcast(&d->shape_cond);
	g_mutex_unlock(&d->shape_lock);
}

/* dispatch_admit_read - the memberships of the chunk's messages from
 * the one at AT on (DISPATCH_ADMIT_BATCH at most), in one read. A read
 * that fails leaves them unknown: the message at AT then goes (the
 * chunk's own read said yes), the next ones are read again. */
static void
dispatch_admit_read(struct dispatch_worker *w, guint at)
{
	guint n = MIN(DISPATCH_ADMIT_BATCH, w->nheld - at), i;
	gint64 sids[DISPATCH_ADMIT_BATCH];
	char *status[DISPATCH_ADMIT_BATCH];
	gboolean blocked[DISPATCH_ADMIT_BATCH];
	gint64 now = g_get_monotonic_time();
	gboolean ok;

	for (i = 0; i < n; i++)
		sids[i] = w->held[at + i].sid;
	ok = store_delivery_members(w->store, w->d->list_id, sids, n, status,
	    blocked);
	for (i = 0; i < n; i++) {
		struct dispatch_held *h = &w->held[at + i];

		g_free(h->status);
		h->status = status[i];
		h->blocked = blocked[i];
		h->read_at = ok ? now : 0;
	}
	w->held[at].read_at = now;	/* this one is decided either way */
}

/* dispatch_admit - just before MSG's MAIL FROM: is its subscriber (the
 * struct dispatch_held at msg->user) still an active member, blocklisted
 * nowhere, as read at most DISPATCH_ADMIT_FRESH_US ago? Then the
 * destination's shaping (dispatch_shape_acquire). */
static gboolean
dispatch_admit(struct send_message *msg, gpointer data)
{
	struct dispatch_worker *w = data;
	struct dispatch_held *h = msg->user;

	/* one message at a time per connection: the one before is over */
	if (w->admitted != NULL)
		dispatch_shape_release(w->d, w->admitted, NULL);
	w->admitted = h;
	if (h->read_at == 0 ||
	    g_get_monotonic_time() - h->read_at > DISPATCH_ADMIT_FRESH_US)
		dispatch_admit_read(w, (guint)(h - w->held));
	if (h->status == NULL || (strcmp(h->status, MEMBER_ACTIVE) == 0 &&
	    !h->blocked))
		return dispatch_shape_acquire(w->d, h,
		    ((struct send_rcpt *)g_ptr_array_index(msg->rcpts, 0))->address);
	dispatch_skip(w, msg->id, h->blocked ? "blocklisted" : h->status);
	return FALSE;
}

/* dispatch_done - after a chunk: a probe its relay did not fail brings
 * the relay back; a chunk its relay failed goes back to the queue (after its
 * results are committed, so another relay sends only what is left) */
static void
dispatch_done(struct dispatch_worker *w, const struct dispatch_chunk *chunk)
{
	struct dispatch *d = w->d;
	struct dispatch_relay *relay = w->relay;

	g_mutex_lock(&d->lock);
	if (!w->fault && relay->state == RELAY_PROBING) {
		relay->state = RELAY_UP;
		relay->changed = TRUE;
		g_clear_pointer(&relay->reason, g_free);
	}
	if (w->fault && !w->failed && !g_atomic_int_get(&d->stopping))
		g_queue_push_tail(&d->retry, g_memdup2(chunk, sizeof *chunk));
	g_mutex_unlock(&d->lock);
}

/* dispatch_pass - a chunk that reached a relay marked down since goes
 * straight back to the queue, for the relays that are up */
static gboolean
dispatch_pass(struct dispatch_worker *w, const struct dispatch_chunk *chunk)
{
	struct dispatch *d = w->d;
	gboolean down;

	if (d->nrelays < 2)
		return FALSE;
	g_mutex_lock(&d->lock);
	if ((down = w->relay->state == RELAY_DOWN))
		g_queue_push_tail(&d->retry, g_memdup2(chunk, sizeof *chunk));
	g_mutex_unlock(&d->lock);
	return down;
}

/* dispatch_work - render, compose and send one chunk over one session */
static void
dispatch_work(struct dispatch_worker *w, const struct dispatch_chunk *chunk)
{
	struct dispatch *d = w->d;
	g_autoptr(GPtrArray) msgs = g_ptr_array_new_with_free_func(
	    (GDestroyNotify)send_message_free);
	g_autoptr(GArray) items = NULL;
	g_autofree struct dispatch_held *held = NULL;
	GError *error = NULL;
	guint i;

	if ((items = store_delivery_chunk(w->store, d->id, d->now, chunk->first,
	    chunk->last, d->owner, &error)) == NULL) {
		dispatch_fail(d, error);
		return;
	}
	held = g_new0(struct dispatch_held, MAX(items->len, 1));
	for (i = 0; i < items->len; i++) {
		struct store_delivery *it = &g_array_index(items,
		    struct store_delivery, i);
		GString *out;
		char *env = NULL;
		struct send_message *msg;
		g_autoptr(GBytes) body = NULL;

		if (g_atomic_int_get(&d->stopping))
			break;
		if (strcmp(it->status, MEMBER_ACTIVE) != 0) {
			dispatch_skip(w, it->id, it->status);
			continue;
		}
		out = g_string_sized_new(8192);
		if (!composer_render(d->composer, it->sub, it->segment,
		    (const char *const *)it->matched, it->id, out, &env,
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
			dispatch_add(w, it->id, temp ? CAMPAIGN_TEMP :
			    CAMPAIGN_SKIP, 0, error->message, temp ? "sign" :
			    "compose");
			g_clear_error(&error);
			g_string_free(out, TRUE);
			continue;
		}
		body = g_string_free_to_bytes(out);
		msg = send_message_new(it->id, env, body);
		g_free(env);
		send_message_add_rcpt(msg, it->sub->email);
		held[msgs->len].sid = it->sub->id;
		msg->user = &held[msgs->len];
		g_ptr_array_add(msgs, msg);
	}
	g_clear_pointer(&items, g_array_unref);
	w->fault = FALSE;
	w->held = held;
	w->nheld = msgs->len;
	if (msgs->len > 0)
		sender_session(w->relay->sender,
		    (struct send_message **)msgs->pdata, msgs->len,
		    dispatch_admit, dispatch_report, w);
	for (i = 0; i < msgs->len; i++) {	/* admitted, never reported */
		dispatch_shape_release(d, &held[i], NULL);
		g_free(held[i].status);
	}
	w->admitted = NULL;
	w->held = NULL;
	w->nheld = 0;
	dispatch_flush(w, FLUSH_NOW);
	dispatch_done(w, chunk);
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
	struct dispatch_relay *relay = data;
	struct dispatch *d = relay->d;
	struct dispatch_worker w = { d, relay };
	struct dispatch_chunk *chunk;
	GError *error = NULL;

	dispatch_batch_policy();
	w.pending = g_array_new(FALSE, TRUE, sizeof(struct campaign_result));
	if ((w.store = store_open_config(d->config, 0, &error)) == NULL)
		dispatch_fail(d, error);
	else if (d->committer != NULL)
		w.committer = dispatch_committer_slot(d->committer);
	while ((chunk = g_async_queue_pop(relay->queue)) != &dispatch_end) {
		if (w.store != NULL && !g_atomic_int_get(&d->stopping) &&
		    !dispatch_pass(&w, chunk))
			dispatch_work(&w, chunk);
		g_atomic_int_add(&relay->inflight, -(gint)chunk->n);
		g_atomic_int_add(&d->chunks, -1);
		g_free(chunk);
	}
	if (w.store != NULL) {
		dispatch_flush(&w, FLUSH_LAST);
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

/* dispatch_external - paused or cancelled by another command? Returns
 * the state then, NULL otherwise (a campaign gone is cancelled; one that
 * cannot be read now is looked at again) */
static const char *
dispatch_external(struct store *store, gint64 id)
{
	g_autofree char *state = NULL;
	int found = store_delivery_campaign_state(store, id, &state, NULL);

	/* a read that failed (the connection lost: the next statement
	 * connects again) says nothing of another command: looked at again
	 * at the next tick */
	if (found < 0)
		return NULL;
	if (found == 0)
		return "cancelled";
	if (strcmp(state, "paused") == 0)
		return "paused";
	if (strcmp(state, "cancelled") == 0)
		return "cancelled";
	return NULL;
}

/* dispatch_renew - every third of send.lease, this run's claims held
 * a lease longer (a failure is tried again at the next tick: the
 * lease is three times as long) */
static void
dispatch_renew(struct dispatch_producer *pr, gint64 now)
{
	struct dispatch *d = pr->d;
	gint64 lease = d->config->send.lease;

	if (d->owner == NULL || now - pr->renewed < lease * G_USEC_PER_SEC / 3)
		return;
	(void)store_claim_hold(pr->store, d->owner, NULL);	/* reconnected */
	if (store_claim_renew(pr->store, d->id, d->owner, herald_now() + lease,
	    NULL) >= 0)
		pr->renewed = now;
}

/* dispatch_watch - a signal (*STOP), or a pause or cancel from another
 * command (looked up at most every DISPATCH_TICK_US, in EXTERNAL):
 * stop the run; and the claims' lease renewed */
static void
dispatch_watch(struct dispatch_producer *pr)
{
	gint64 now = g_get_monotonic_time();

	dispatch_renew(pr, now);

	if (pr->stop != NULL && *pr->stop)
		dispatch_stop(pr->d);
	if (pr->external == NULL && now - pr->looked >= DISPATCH_TICK_US) {
		pr->looked = now;
		if ((pr->external = dispatch_external(pr->store, pr->d->id)) !=
		    NULL)
			dispatch_stop(pr->d);
	}
}

/* dispatch_next - the next chunk of at most SIZE due rows after *CURSOR
 * and up to UPTO; FALSE at the end (or on error, set) */
static gboolean
dispatch_next(struct store *store, struct dispatch *d, gint64 *cursor,
    gint64 upto, int size, struct dispatch_chunk *chunk, GError **error)
{
	struct store_delivery_range r;
	gint64 now = herald_now();

	/* the run's lock again at once when a reconnect lost it (the
	 * others would take this run for dead); tried twice, as the first
	 * statement on a connection the server closed fails and the next
	 * one connects again */
	if (d->owner != NULL && !store_claim_hold(store, d->owner, NULL) &&
	    !store_claim_hold(store, d->owner, error))
		return FALSE;
	if (d->owner != NULL ? !store_claim_next(store, d->id, d->now, now,
	    *cursor, upto, size, d->owner, now + d->config->send.lease, &r,
	    error) : !store_delivery_next(store, d->id, d->now, *cursor, upto,
	    size, &r, error))
		return FALSE;
	chunk->n = r.n;
	chunk->first = r.first;
	chunk->last = r.last;
	if (r.n == 0)
		return FALSE;
	*cursor = chunk->last;
	return TRUE;
}

/* dispatch_tick - progress, at most every DISPATCH_PROGRESS_US */
static void
dispatch_tick(struct dispatch_producer *pr)
{
	gint64 now = g_get_monotonic_time();

	if (pr->progress == NULL || now - pr->last < DISPATCH_PROGRESS_US)
		return;
	pr->last = now;
	dispatch_snapshot(pr->d, pr->start, &pr->p);
	pr->progress(&pr->p, pr->data);
}

/* dispatch_relays_new - a sender for every relay; send.rate is shared
 * out by weight */
static gboolean
dispatch_relays_new(struct dispatch *d, GError **error)
{
	const struct config *config = d->config;
	double total = 0;
	guint i;

	d->nrelays = config->relays->len;
	d->relays = g_new0(struct dispatch_relay, d->nrelays);
	for (i = 0; i < d->nrelays; i++)
		total += ((const struct relay_config *)g_ptr_array_index(
		    config->relays, i))->weight;
	for (i = 0; i < d->nrelays; i++) {
		struct dispatch_relay *r = &d->relays[i];

		r->d = d;
		r->cfg = g_ptr_array_index(config->relays, i);
		r->changed = TRUE;
		r->sender = sender_new(&r->cfg->smtp, config->send.rate *
		    r->cfg->weight / total, config->send.domain_rate, error);
		if (r->sender == NULL) {
			if (d->nrelays > 1)
				g_prefix_error(error, "relay \"%s\": ", r->cfg->name);
			return FALSE;
		}
	}
	return TRUE;
}

/* dispatch_relays_recall - a relay the store has down (a notice, or
 * another run, found it failing) less than send.relay_backoff seconds
 * ago starts this run down, resting out the rest of its back-off before
 * its probe, as mailer.c rests it for notices; its mark is left as it is
 * (not refreshed, which would lengthen the rest). Unless every relay is
 * resting: then the run tries them all, as a run with no marks would;
 * and should the others fail in the run, a resting relay is probed at
 * once (dispatch_wake_recalled) before the run pauses.
 * One relay has no breaker, so nothing to recall. A store that cannot
 * be read recalls nothing. */
static void
dispatch_relays_recall(struct dispatch *d, struct store *store)
{
	gint64 backoff = d->config->send.relay_backoff, *rest;
	guint i, resting = 0;

	if (d->nrelays < 2)
		return;
	rest = g_new0(gint64, d->nrelays);
	for (i = 0; i < d->nrelays; i++)
		if ((rest[i] = relay_rest_left(store, d->relays[i].cfg->name,
		    backoff, NULL, &d->relays[i].reason)) > 0)
			resting++;
	for (i = 0; i < d->nrelays; i++) {
		struct dispatch_relay *r = &d->relays[i];

		if (rest[i] == 0 || resting == d->nrelays) {
			g_clear_pointer(&r->reason, g_free);
			continue;
		}
		r->state = RELAY_DOWN;
		r->recalled = TRUE;
		r->backoff = backoff * G_USEC_PER_SEC;
		r->down_until = g_get_monotonic_time() + rest[i] * G_USEC_PER_SEC;
		r->changed = FALSE;
	}
	g_free(rest);
}

/* dispatch_relays_start - the worker threads of every relay */
static void
dispatch_relays_start(struct dispatch *d)
{
	guint i;
	int j;

	for (i = 0; i < d->nrelays; i++) {
		struct dispatch_relay *r = &d->relays[i];

		r->queue = g_async_queue_new();
		r->threads = g_new0(GThread *, r->cfg->connections);
		g_atomic_int_add(&d->alive, r->cfg->connections);
		for (j = 0; j < r->cfg->connections; j++)
			r->threads[j] = g_thread_new("herald-send",
			    dispatch_worker_main, r);
	}
}

/* dispatch_shapes_new - the destination groups of shape NAME { } */
static void
dispatch_shapes_new(struct dispatch *d)
{
	const GPtrArray *shapes = d->config->shapes;
	guint i;
	char **dom;

	d->nshapes = shapes != NULL ? shapes->len : 0;
	if (d->nshapes == 0)
		return;
	d->shapes = g_new0(struct dispatch_shape, d->nshapes);
	d->shape_of = g_hash_table_new(g_str_hash, g_str_equal);
	for (i = 0; i < d->nshapes; i++) {
		struct dispatch_shape *sh = &d->shapes[i];

		sh->cfg = g_ptr_array_index(shapes, i);
		sh->rate = sh->cfg->rate;
		for (dom = sh->cfg->domains; *dom != NULL; dom++)
			g_hash_table_insert(d->shape_of, *dom, sh);
	}
}

/* dispatch_shapes_persist - each group's state for campaign show, as
 * relay_state rows named "shape NAME" */
static void
dispatch_shapes_persist(struct dispatch *d, struct store *store)
{
	guint i;

	for (i = 0; i < d->nshapes; i++) {
		struct dispatch_shape *sh = &d->shapes[i];
		g_autofree char *name = g_strdup_printf("shape %s", sh->cfg->name);
		g_autofree char *state = NULL;

		if (sh->slowed == 0)
			state = sh->cfg->rate > 0 ? g_strdup_printf("%g msg/s",
			    sh->rate) : g_strdup("no rate limit");
		else
			state = g_strdup_printf("slowed by %" G_GINT64_FORMAT
			    " repl%s to %.3g msg/s (of %g)", sh->slowed,
			    sh->slowed == 1 ? "y" : "ies", sh->rate, sh->cfg->rate);
		(void)relay_set_state(store, name, state, sh->last, NULL);
	}
}

/* dispatch_relays_free - after every worker has ended */
static void
dispatch_relays_free(struct dispatch *d)
{
	guint i;

	for (i = 0; i < d->nshapes; i++)
		g_free(d->shapes[i].last);
	g_free(d->shapes);
	if (d->shape_of != NULL)
		g_hash_table_unref(d->shape_of);

	for (i = 0; i < d->nrelays; i++) {
		struct dispatch_relay *r = &d->relays[i];

		sender_free(r->sender);
		if (r->queue != NULL)
			g_async_queue_unref(r->queue);
		g_free(r->threads);
		g_free(r->reason);
	}
	g_free(d->relays);
	g_queue_clear_full(&d->retry, g_free);
}

/* dispatch_persist - tell the store of every relay whose state changed
 * (best effort: it is what campaign show reports); a relay that came
 * back starts level with the others, not owed what it missed */
static void
dispatch_persist(struct dispatch *d, struct store *store)
{
	guint i, j;

	for (i = 0; i < d->nrelays; i++) {
		struct dispatch_relay *r = &d->relays[i];
		g_autofree char *reason = NULL;
		const char *state;

		g_mutex_lock(&d->lock);
		if (!r->changed) {
			g_mutex_unlock(&d->lock);
			continue;
		}
		r->changed = FALSE;
		state = r->state == RELAY_DOWN ? "down" : r->at_quota ?
		    "at quota" : "up";
		reason = g_strdup(r->reason);
		if (r->state == RELAY_UP)
			for (j = 0; j < d->nrelays; j++)
				if (j != i && d->relays[j].state == RELAY_UP)
					r->assigned = MAX(r->assigned,
					    d->relays[j].assigned * r->cfg->weight /
					    d->relays[j].cfg->weight);
		g_mutex_unlock(&d->lock);
		(void)relay_set_state(store, r->cfg->name, state, reason, NULL);
	}
}

/* dispatch_pick - the relay for the next chunk: a down relay whose back-off is over gets a probe first;
 * otherwise the relay that is up, under its quota and furthest behind
 * its weight, whose queue has room (else NULL: wait a tick). *LIMIT gets
 * how many rows it may take. NULL with *OPENS set when every relay that
 * is not down is at its quota (the first instant one opens). */
static struct dispatch_relay *
dispatch_pick(struct dispatch *d, struct store *store, gint64 *limit,
    gint64 *opens, GError **error)
{
	struct dispatch_relay *best = NULL;
	gint64 now = g_get_monotonic_time(), clock = relay_now(), best_left = 0;
	gboolean others = FALSE;
	guint i;

	*opens = 0;
	for (i = 0; i < d->nrelays; i++) {
		struct dispatch_relay *r = &d->relays[i];
		enum dispatch_relay_state state;
		gint64 left, at = 0;

		g_mutex_lock(&d->lock);
		state = r->state;
		g_mutex_unlock(&d->lock);
		if (state == RELAY_PROBING ||
		    (state == RELAY_DOWN && now < r->down_until)) {
			others = TRUE;
			continue;
		}
		left = r->cfg->per_hour > 0 || r->cfg->per_day > 0 ?
		    relay_quota_left(store, r->cfg, clock, &at, error) :
		    G_MAXINT64;
		if (left < 0)
			return NULL;
		if ((left == 0) != r->at_quota) {
			g_mutex_lock(&d->lock);
			r->at_quota = left == 0;
			r->changed = TRUE;
			g_mutex_unlock(&d->lock);
		}
		if (left == 0) {
			if (*opens == 0 || at < *opens)
				*opens = at;
			continue;
		}
		if (left != G_MAXINT64)
			left -= g_atomic_int_get(&r->inflight);
		/* full by what is in flight: wait for the chunks out */
		if (left <= 0) {
			others = TRUE;
			continue;
		}
		if (state == RELAY_DOWN) {
			/* the probe: one small chunk, before anything else */
			g_mutex_lock(&d->lock);
			r->state = RELAY_PROBING;
			r->recalled = FALSE;
			g_mutex_unlock(&d->lock);
			*limit = MIN(left, DISPATCH_FIRST_CHUNK);
			return r;
		}
		if (best == NULL || r->assigned * best->cfg->weight <
		    best->assigned * r->cfg->weight) {
			best = r;
			best_left = left;
		}
	}
	if (best == NULL) {
		if (others)	/* a probe or a chunk out may change it */
			*opens = 0;
		return NULL;
	}
	*opens = 0;
	if ((gint64)g_async_queue_length(best->queue) >= best->cfg->connections)
		return NULL;
	*limit = best_left;
	return best;
}

/* dispatch_quota_pause - every relay is at its quota and the run is to
 * pause: say until when */
static void
dispatch_quota_pause(struct dispatch *d, gint64 opens)
{
	g_autofree char *when = relay_format_time(opens);

	g_mutex_lock(&d->lock);
	if (!g_atomic_int_get(&d->tripped)) {
		g_atomic_int_set(&d->tripped, 1);
		g_free(d->reason);
		d->reason = g_strdup_printf("every relay is at its quota "
		    "(send.on_quota = pause); the first window opens at %s; the "
		    "deliveries stay queued", when);
	}
	g_mutex_unlock(&d->lock);
	dispatch_stop(d);
}

/* dispatch_wait - a tick of the producer's waiting */
static void
dispatch_wait(struct dispatch_producer *pr)
{
	g_usleep(DISPATCH_TICK_US / 10);
	dispatch_tick(pr);
}

/* dispatch_retry_first - BACK, a chunk taken from the retry queue, goes
 * back to its head */
static void
dispatch_retry_first(struct dispatch *d, struct dispatch_chunk *back)
{
	g_mutex_lock(&d->lock);
	g_queue_push_head(&d->retry, back);
	g_mutex_unlock(&d->lock);
}

/* dispatch_none_due - nothing was due for the chunk meant for RELAY: a
 * probing relay is down again (nothing probed it) and an error from the
 * look-up (*ERR, taken) fails the run; FALSE when the run is to stop */
static gboolean
dispatch_none_due(struct dispatch *d, struct dispatch_relay *relay,
    GError **err)
{
	if (relay->state == RELAY_PROBING) {
		g_mutex_lock(&d->lock);
		relay->state = RELAY_DOWN;
		g_mutex_unlock(&d->lock);
	}
	if (*err != NULL) {
		dispatch_fail(d, g_steal_pointer(err));
		return FALSE;
	}
	return TRUE;
}

/* dispatch_clear - free what dispatch_run set up in D, after every
 * worker has ended or before any started */
static void
dispatch_clear(struct dispatch *d)
{
	dispatch_committer_free(d->committer);
	dispatch_relays_free(d);
	g_free(d->owner);
	g_free(d->reason);
	g_clear_error(&d->error);
	g_free(d->window);
	g_mutex_clear(&d->lock);
	g_mutex_clear(&d->commit);
	g_mutex_clear(&d->shape_lock);
	g_cond_clear(&d->shape_cond);
}

/* dispatch_init - D set up for a run of campaign ID, nothing started */
static void
dispatch_init(struct dispatch *d, const struct config *config,
    const struct composer *composer, gint64 id)
{
	send_init();
	d->config = config;
	d->composer = composer;
	d->id = id;
	d->now = herald_now();
	d->wsize = MAX(config->send.error_min, 1);
	d->window = g_new0(guint8, d->wsize);
	g_mutex_init(&d->lock);
	g_mutex_init(&d->commit);
	g_queue_init(&d->retry);
	g_mutex_init(&d->shape_lock);
	g_cond_init(&d->shape_cond);
	dispatch_shapes_new(d);
}

/* dispatch_start - the run begins: the due count, the relays' senders
 * and the store's marks, the campaign "sending", then the workers;
 * FALSE (ERROR set) when any of it fails, no worker started */
static gboolean
dispatch_start(struct dispatch_producer *pr, GError **error)
{
	struct dispatch *d = pr->d;
	sigset_t block, old;

	/* only for the progress: a count that cannot be read is 0 */
	pr->p.due_at_start = MAX(store_delivery_due(pr->store, d->id, d->now,
	    NULL), 0);
	if (!dispatch_relays_new(d, error))
		return FALSE;
	dispatch_relays_recall(d, pr->store);
	if (!campaign_set_state(pr->store, d->id, "sending", NULL, error) ||
	    (d->list_id = store_delivery_list(pr->store, d->id, error)) == 0)
		return FALSE;
	/* several hosts: this run's lock first, then the rows of runs that
	 * died (a kill -9 before this resume) free at once */
	if (d->owner != NULL && (!store_claim_hold(pr->store, d->owner,
	    error) || store_claim_free_dead(pr->store, d->id, d->owner,
	    error) < 0))
		return FALSE;

	/* the workers never see SIGINT or SIGTERM: this thread handles them */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	if (!d->one_writer &&
	    (d->committer = dispatch_committer_new(d->config, error)) == NULL) {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		return FALSE;
	}
	dispatch_relays_start(d);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return TRUE;
}

/* dispatch_over - nothing fresh is left: is every chunk back from the
 * workers and none given back to hand out again? */
static gboolean
dispatch_over(struct dispatch *d)
{
	gboolean idle = g_atomic_int_get(&d->chunks) == 0;

	g_mutex_lock(&d->lock);
	idle = idle && g_queue_is_empty(&d->retry);
	g_mutex_unlock(&d->lock);
	return idle;
}

/* dispatch_no_relay - no relay takes a chunk now: BACK (may be NULL)
 * goes back to the retry queue; an error (ERR, taken) fails the run,
 * every relay at its quota pauses it (send.on_quota = pause), else the
 * producer waits a tick. FALSE when the run is to stop. */
static gboolean
dispatch_no_relay(struct dispatch_producer *pr, struct dispatch_chunk *back,
    gint64 opens, GError *err)
{
	struct dispatch *d = pr->d;

	if (back != NULL)
		dispatch_retry_first(d, back);
	if (err != NULL) {
		dispatch_fail(d, err);
		return FALSE;
	}
	if (opens != 0 && d->config->send.quota_pause) {
		dispatch_quota_pause(d, opens);
		return FALSE;
	}
	pr->p.quota_until = opens;
	dispatch_wait(pr);
	return TRUE;
}

/* dispatch_take - the chunk for RELAY, at most LIMIT rows: what is still
 * due of BACK (its rest goes back to the head of the retry queue), or
 * the next fresh one. 1 a chunk, 0 none due, -1 the run is to stop. */
static int
dispatch_take(struct dispatch_producer *pr, struct dispatch_relay *relay,
    struct dispatch_chunk *back, gint64 limit, struct dispatch_chunk *chunk)
{
	struct dispatch *d = pr->d;
	GError *err = NULL;
	gint64 from;
	gboolean any;

	if (back != NULL) {
		from = back->first - 1;
		any = dispatch_next(pr->store, d, &from, back->last,
		    (int)MIN(back->n, limit), chunk, &err);
		if (any && chunk->last < back->last) {
			back->first = chunk->last + 1;
			back->n = MAX(back->n - chunk->n, 1);
			dispatch_retry_first(d, back);
		} else
			g_free(back);
		if (!any)
			return dispatch_none_due(d, relay, &err) ? 0 : -1;
		return 1;
	}
	if (!dispatch_next(pr->store, d, &pr->cursor, G_MAXINT64,
	    (int)MIN(pr->size, limit), chunk, &err)) {
		if (!dispatch_none_due(d, relay, &err))
			return -1;
		pr->fresh_done = TRUE;
		return 0;
	}
	pr->size = MIN(pr->size * 2, MAX(d->config->send.batch, 1));
	return 1;
}

/* dispatch_others - nothing is left for this run: are due rows left
 * that it does not hold (another run holds them, or held them until its
 * lease ran out)? Then look again from the start of the queue, at most
 * every second; TRUE while there are such rows, FALSE when the run is
 * over (or the store cannot say: the run fails) */
static gboolean
dispatch_others(struct dispatch_producer *pr)
{
	struct dispatch *d = pr->d;
	gint64 now = g_get_monotonic_time(), n;
	GError *err = NULL;

	if (d->owner == NULL)
		return FALSE;
	if (pr->rescanned != 0 && now - pr->rescanned < G_USEC_PER_SEC)
		return TRUE;
	pr->rescanned = now;
	if (store_claim_free_dead(pr->store, d->id, d->owner, &err) < 0 ||
	    (n = store_claim_others(pr->store, d->id, d->now, d->owner,
	    &err)) < 0) {
		dispatch_fail(d, err);
		return FALSE;
	}
	if (n == 0)
		return FALSE;
	pr->cursor = 0;
	pr->fresh_done = FALSE;
	return TRUE;
}

/* dispatch_produce - one turn of the producer: a chunk handed to a
 * relay, or a tick's wait; FALSE when the run is to stop */
static gboolean
dispatch_produce(struct dispatch_producer *pr)
{
	struct dispatch *d = pr->d;
	struct dispatch_chunk chunk, *back;
	struct dispatch_relay *relay;
	gint64 limit = 0, opens = 0;
	GError *err = NULL;
	int got;

	dispatch_watch(pr);
	if (g_atomic_int_get(&d->stopping))
		return FALSE;
	dispatch_persist(d, pr->store);
	g_mutex_lock(&d->lock);
	back = g_queue_pop_head(&d->retry);
	g_mutex_unlock(&d->lock);
	if (back == NULL && pr->fresh_done) {
		if (dispatch_over(d) && !dispatch_others(pr))
			return FALSE;
		dispatch_wait(pr);
		return TRUE;
	}
	relay = dispatch_pick(d, pr->store, &limit, &opens, &err);
	if (relay == NULL)
		return dispatch_no_relay(pr, back, opens, err);
	pr->p.quota_until = 0;
	if ((got = dispatch_take(pr, relay, back, limit, &chunk)) <= 0)
		return got == 0;
	relay->assigned += chunk.n;
	g_atomic_int_add(&relay->inflight, (gint)chunk.n);
	g_atomic_int_add(&d->chunks, 1);
	g_async_queue_push(relay->queue, g_memdup2(&chunk, sizeof chunk));
	dispatch_tick(pr);
	return TRUE;
}

/* dispatch_drain - the end marker to every worker, and wait for them all
 * (watching and reporting meanwhile); then the relays' and shapes'
 * states to the store, and the final counts */
static void
dispatch_drain(struct dispatch_producer *pr)
{
	struct dispatch *d = pr->d;
	guint i;
	int j;

	for (i = 0; i < d->nrelays; i++)
		for (j = 0; j < d->relays[i].cfg->connections; j++)
			g_async_queue_push(d->relays[i].queue, &dispatch_end);
	while (g_atomic_int_get(&d->alive) > 0) {
		dispatch_watch(pr);
		dispatch_wait(pr);
	}
	for (i = 0; i < d->nrelays; i++)
		for (j = 0; j < d->relays[i].cfg->connections; j++)
			g_thread_join(d->relays[i].threads[j]);
	dispatch_persist(d, pr->store);
	dispatch_shapes_persist(d, pr->store);
	dispatch_snapshot(d, pr->start, &pr->p);
	pr->p.final = TRUE;
	pr->p.quota_until = 0;
}

/* dispatch_explain - why the run ended, when nothing tripped it (its
 * reason says why then): another command, a signal, or an error */
static void
dispatch_explain(struct dispatch_producer *pr)
{
	struct dispatch *d = pr->d;
	char *why;

	if (g_atomic_int_get(&d->tripped))
		return;
	if (pr->external != NULL)
		why = g_strdup(strcmp(pr->external, "paused") == 0 ?
		    "paused by \"herald campaign pause\"" :
		    "cancelled by \"herald campaign cancel\"");
	else if (pr->stop != NULL && *pr->stop)
		why = g_strdup_printf("interrupted by %s",
		    *pr->stop == SIGTERM ? "SIGTERM" : *pr->stop == SIGINT ?
		    "SIGINT" : "a signal");
	else if (d->error != NULL)
		why = g_strdup_printf("stopped by an error: %s",
		    d->error->message);
	else
		return;
	g_free(d->reason);
	d->reason = why;
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
	struct dispatch_producer pr = { &d, store, stop, progress, data };
	gboolean ok;

	if (reason != NULL)
		*reason = NULL;
	dispatch_init(&d, config, composer, id);
	if (store_claims_used(store))
		d.owner = store_claim_owner();
	d.one_writer = !store_has(store, STORE_SHARED);
	pr.size = MIN(DISPATCH_FIRST_CHUNK, MAX(config->send.batch, 1));
	if (!dispatch_start(&pr, error)) {
		if (d.owner != NULL)
			store_claim_unhold(store, d.owner);
		dispatch_clear(&d);
		return FALSE;
	}
	pr.start = g_get_monotonic_time();
	while (dispatch_produce(&pr))
		;
	dispatch_drain(&pr);
	if (d.owner != NULL) {	/* a failure: the rows free when the lock goes */
		(void)store_claim_release(store, id, d.owner, NULL);
		store_claim_unhold(store, d.owner);
	}
	dispatch_explain(&pr);
	ok = campaign_finish_run(store, id, pr.p.elapsed, d.reason, error);
	if (ok && d.error != NULL) {
		g_propagate_error(error, d.error);
		d.error = NULL;
		ok = FALSE;
	}
	if (progress != NULL)
		progress(&pr.p, data);
	if (final != NULL)
		*final = pr.p;
	if (reason != NULL)
		*reason = g_steal_pointer(&d.reason);
	dispatch_clear(&d);
	return ok;
}
