/*
 * dispatch_commit.c - a campaign run's commits made beside its SMTP
 * sessions (see dispatch_commit.h): one thread with a store connection
 * of its own records the batches the run's workers hand it, every batch
 * waiting at that moment in one statement, while the workers go on
 * sending.
 *
 * Why: on PostgreSQL a commit is a round trip and a WAL flush (fsync),
 * and a worker that made its own left its SMTP connection idle for it;
 * one commit for the batches of several workers also costs the server
 * one transaction instead of one each. SQLite commits in the process:
 * its workers keep committing themselves.
 *
 * What must stay true: a worker has at most one batch in flight, and
 * hands over the next only once that one is committed, so what a kill -9
 * can leave accepted but unrecorded is the batch in flight and the one
 * filling (the caller sizes them to keep that within
 * CAMPAIGN_COMMIT_EVERY). A batch whose commit fails goes back to its
 * worker, older results first, for the worker's last try; nothing is
 * dropped here.
 */
#include "herald.h"
#include "dispatch_commit.h"

/* one worker's place at the committer */
struct dispatch_commit_slot {
	struct dispatch_committer *c;
	GArray *batch;		/* struct campaign_result: in flight, or empty */
	gboolean busy;		/* BATCH handed over, not done */
	gboolean taken;		/* ... and in the commit under way */
	GError *error;		/* its last commit failed (it stays in BATCH) */
};

struct dispatch_committer {
	const struct config *config;
	struct store *store;
	GThread *thread;
	GMutex lock;
	GCond cond;
	GPtrArray *slots;	/* struct dispatch_commit_slot * */
	int waiting;		/* workers waiting for their batch */
	gboolean quit;
};

/* how long the committer waits for more workers' batches to join the
 * first one into its commit, unless a worker waits for it meanwhile (a
 * worker fills its next batch in about as many milliseconds as it sends
 * messages a second per thousand: at 1,000 a second, 10 ms) */
#define COMMIT_GATHER_US 4000

/* committer_take - under the lock: every batch handed over and not yet
 * taken, marked taken, appended to ALL; how many slots */
static guint
committer_take(struct dispatch_committer *c, GArray *all)
{
	guint i, n = 0;

	for (i = 0; i < c->slots->len; i++) {
		struct dispatch_commit_slot *s = g_ptr_array_index(c->slots, i);

		if (!s->busy || s->taken)
			continue;
		s->taken = TRUE;
		g_array_append_vals(all, s->batch->data, s->batch->len);
		n++;
	}
	return n;
}

/* committer_done - under the lock: the taken batches committed (their
 * results freed) or not (ERROR, copied to each, the batches kept) */
static void
committer_done(struct dispatch_committer *c, const GError *error)
{
	guint i, j;

	for (i = 0; i < c->slots->len; i++) {
		struct dispatch_commit_slot *s = g_ptr_array_index(c->slots, i);

		if (!s->taken)
			continue;
		if (error != NULL)
			s->error = g_error_copy(error);
		else {
			for (j = 0; j < s->batch->len; j++)
				campaign_result_clear(&g_array_index(s->batch,
				    struct campaign_result, j));
			g_array_set_size(s->batch, 0);
		}
		s->taken = s->busy = FALSE;
	}
	g_cond_broadcast(&c->cond);
}

/* committer_gather - under the lock, a batch taken into ALL: wait up to
 * COMMIT_GATHER_US for the other workers' batches, and take them too;
 * at once when a worker waits, every slot has handed one over, or the
 * run ends */
static void
committer_gather(struct dispatch_committer *c, GArray *all, guint taken)
{
	gint64 until = g_get_monotonic_time() + COMMIT_GATHER_US;

	while (taken < c->slots->len && c->waiting == 0 && !c->quit &&
	    g_cond_wait_until(&c->cond, &c->lock, until))
		taken += committer_take(c, all);
	(void)committer_take(c, all);
}

/* committer_main - the thread: whatever the workers handed over, in one
 * commit, until told to quit */
static gpointer
committer_main(gpointer data)
{
	struct dispatch_committer *c = data;
	GArray *all = g_array_new(FALSE, FALSE, sizeof(struct campaign_result));
	GError *error = NULL;
	guint taken;

	g_mutex_lock(&c->lock);
	for (;;) {
		g_array_set_size(all, 0);	/* copies: the slots own them */
		if ((taken = committer_take(c, all)) == 0) {
			if (c->quit)
				break;
			g_cond_wait(&c->cond, &c->lock);
			continue;
		}
		committer_gather(c, all, taken);
		g_mutex_unlock(&c->lock);
		(void)campaign_record(c->store, c->config,
		    (struct campaign_result *)(void *)all->data, all->len,
		    &error);
		g_mutex_lock(&c->lock);
		committer_done(c, error);
		g_clear_error(&error);
	}
	g_mutex_unlock(&c->lock);
	g_array_unref(all);
	return NULL;
}

/* dispatch_committer_new - see dispatch_commit.h */
struct dispatch_committer *
dispatch_committer_new(const struct config *config, GError **error)
{
	struct dispatch_committer *c = g_new0(struct dispatch_committer, 1);

	if ((c->store = store_open_config(config, 0, error)) == NULL) {
		g_free(c);
		return NULL;
	}
	c->config = config;
	c->slots = g_ptr_array_new();
	g_mutex_init(&c->lock);
	g_cond_init(&c->cond);
	c->thread = g_thread_new("herald-commit", committer_main, c);
	return c;
}

/* dispatch_committer_slot - see dispatch_commit.h */
struct dispatch_commit_slot *
dispatch_committer_slot(struct dispatch_committer *c)
{
	struct dispatch_commit_slot *s = g_new0(struct dispatch_commit_slot, 1);

	s->c = c;
	s->batch = g_array_new(FALSE, TRUE, sizeof(struct campaign_result));
	g_mutex_lock(&c->lock);
	g_ptr_array_add(c->slots, s);
	g_mutex_unlock(&c->lock);
	return s;
}

/* slot_settle - under the lock: wait for S's batch in flight; a failed
 * one goes back to the front of *PENDING and its error to ERROR (FALSE) */
static gboolean
slot_settle(struct dispatch_commit_slot *s, GArray **pending, GError **error)
{
	if (s->busy) {
		s->c->waiting++;
		g_cond_broadcast(&s->c->cond);	/* no gathering: commit now */
		while (s->busy)
			g_cond_wait(&s->c->cond, &s->c->lock);
		s->c->waiting--;
	}
	if (s->error == NULL)
		return TRUE;
	g_array_prepend_vals(*pending, s->batch->data, s->batch->len);
	g_array_set_size(s->batch, 0);	/* its strings moved to *PENDING */
	g_propagate_error(error, s->error);
	s->error = NULL;
	return FALSE;
}

/* dispatch_committer_hand - see dispatch_commit.h */
gboolean
dispatch_committer_hand(struct dispatch_commit_slot *s, GArray **pending,
    GError **error)
{
	GArray *empty;

	g_mutex_lock(&s->c->lock);
	if (!slot_settle(s, pending, error)) {
		g_mutex_unlock(&s->c->lock);
		return FALSE;
	}
	empty = s->batch;
	s->batch = *pending;
	*pending = empty;
	s->busy = s->batch->len > 0;
	g_cond_broadcast(&s->c->cond);
	g_mutex_unlock(&s->c->lock);
	return TRUE;
}

/* dispatch_committer_drain - see dispatch_commit.h */
gboolean
dispatch_committer_drain(struct dispatch_commit_slot *s, GArray **pending,
    GError **error)
{
	gboolean ok;

	g_mutex_lock(&s->c->lock);
	ok = slot_settle(s, pending, error);
	g_mutex_unlock(&s->c->lock);
	return ok;
}

/* dispatch_committer_free - see dispatch_commit.h */
void
dispatch_committer_free(struct dispatch_committer *c)
{
	guint i, j;

	if (c == NULL)
		return;
	g_mutex_lock(&c->lock);
	c->quit = TRUE;
	g_cond_broadcast(&c->cond);
	g_mutex_unlock(&c->lock);
	g_thread_join(c->thread);	/* it commits what is handed over first */
	for (i = 0; i < c->slots->len; i++) {
		struct dispatch_commit_slot *s = g_ptr_array_index(c->slots, i);

		for (j = 0; j < s->batch->len; j++)
			campaign_result_clear(&g_array_index(s->batch,
			    struct campaign_result, j));
		g_array_unref(s->batch);
		g_clear_error(&s->error);
		g_free(s);
	}
	g_ptr_array_unref(c->slots);
	store_close(c->store);
	g_mutex_clear(&c->lock);
	g_cond_clear(&c->cond);
	g_free(c);
}
