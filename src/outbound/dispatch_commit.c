/*
 * dispatch_commit.c - a campaign worker's commits made beside its SMTP
 * session (see dispatch_commit.h): a thread of the worker's own, with a
 * store connection of its own, records one batch of results while the
 * worker goes on sending.
 *
 * Why: on PostgreSQL a commit is a round trip and a WAL flush (fsync),
 * and the workers' commits queue behind each other on their relay's
 * usage row; a worker that waited for them left its SMTP connection
 * idle. SQLite commits in the process: it keeps committing in the
 * worker.
 *
 * What must stay true: at most one batch is in flight per worker, and
 * the worker hands one over only once the one before is committed, so
 * what a kill -9 can leave accepted but unrecorded is the batch in
 * flight and the one filling (the caller sizes them to keep that within
 * CAMPAIGN_COMMIT_EVERY). A batch that fails comes back to the worker,
 * older results first, for its last try; nothing is dropped here.
 */
#include "herald.h"
#include "dispatch_commit.h"

struct dispatch_committer {
	const struct config *config;
	struct store *store;
	GThread *thread;
	GMutex lock;
	GCond cond;
	GArray *batch;		/* struct campaign_result: in flight, or empty */
	gboolean busy;		/* BATCH handed over, not done */
	gboolean quit;
	GError *error;		/* the last batch failed (it stays in BATCH) */
};

/* committer_main - the thread: each batch handed over, recorded */
static gpointer
committer_main(gpointer data)
{
	struct dispatch_committer *c = data;
	GError *error = NULL;
	guint i;

	g_mutex_lock(&c->lock);
	for (;;) {
		while (!c->busy && !c->quit)
			g_cond_wait(&c->cond, &c->lock);
		if (!c->busy)
			break;
		g_mutex_unlock(&c->lock);
		if (campaign_record(c->store, c->config,
		    (struct campaign_result *)(void *)c->batch->data,
		    c->batch->len, &error)) {
			for (i = 0; i < c->batch->len; i++)
				campaign_result_clear(&g_array_index(c->batch,
				    struct campaign_result, i));
			g_array_set_size(c->batch, 0);
		}
		g_mutex_lock(&c->lock);
		c->error = error;
		error = NULL;
		c->busy = FALSE;
		g_cond_broadcast(&c->cond);
	}
	g_mutex_unlock(&c->lock);
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
	c->batch = g_array_new(FALSE, TRUE, sizeof(struct campaign_result));
	g_mutex_init(&c->lock);
	g_cond_init(&c->cond);
	c->thread = g_thread_new("herald-commit", committer_main, c);
	return c;
}

/* committer_settle - under the lock: wait for the batch in flight; a
 * failed one goes back to the front of *PENDING and its error to ERROR
 * (FALSE) */
static gboolean
committer_settle(struct dispatch_committer *c, GArray **pending,
    GError **error)
{
	while (c->busy)
		g_cond_wait(&c->cond, &c->lock);
	if (c->error == NULL)
		return TRUE;
	g_array_prepend_vals(*pending, c->batch->data, c->batch->len);
	g_array_set_size(c->batch, 0);	/* its strings moved to *PENDING */
	g_propagate_error(error, c->error);
	c->error = NULL;
	return FALSE;
}

/* dispatch_committer_hand - see dispatch_commit.h */
gboolean
dispatch_committer_hand(struct dispatch_committer *c, GArray **pending,
    GError **error)
{
	GArray *empty;

	g_mutex_lock(&c->lock);
	if (!committer_settle(c, pending, error)) {
		g_mutex_unlock(&c->lock);
		return FALSE;
	}
	empty = c->batch;
	c->batch = *pending;
	*pending = empty;
	c->busy = c->batch->len > 0;
	g_cond_broadcast(&c->cond);
	g_mutex_unlock(&c->lock);
	return TRUE;
}

/* dispatch_committer_drain - see dispatch_commit.h */
gboolean
dispatch_committer_drain(struct dispatch_committer *c, GArray **pending,
    GError **error)
{
	gboolean ok;

	g_mutex_lock(&c->lock);
	ok = committer_settle(c, pending, error);
	g_mutex_unlock(&c->lock);
	return ok;
}

/* dispatch_committer_free - see dispatch_commit.h */
void
dispatch_committer_free(struct dispatch_committer *c)
{
	guint i;

	if (c == NULL)
		return;
	g_mutex_lock(&c->lock);
	while (c->busy)
		g_cond_wait(&c->cond, &c->lock);
	c->quit = TRUE;
	g_cond_broadcast(&c->cond);
	g_mutex_unlock(&c->lock);
	g_thread_join(c->thread);
	for (i = 0; i < c->batch->len; i++)
		campaign_result_clear(&g_array_index(c->batch,
		    struct campaign_result, i));
	g_array_unref(c->batch);
	g_clear_error(&c->error);
	store_close(c->store);
	g_mutex_clear(&c->lock);
	g_cond_clear(&c->cond);
	g_free(c);
}
