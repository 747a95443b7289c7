/*
 * web_track.c - the /l/ and /o/ routes of herald serve (see web_track.h
 * for the contract: redirects only to a registered link, counts written
 * in groups before the answer, people told apart from machines).
 *
 * Design. The MHD thread that reads a request verifies the token (the
 * MAC under the list's name, purpose click or open, nothing else),
 * finds the link's URL (a cache of the links table, filled on a miss),
 * decides person or machine, and queues the count for the writer with
 * its connection suspended, as the one-click POSTs are (web.c). The
 * writer sums what it took by (kind, link, delivery, minute, machine)
 * and upserts the sums in one transaction on a durable connection, then
 * resumes the connections, which answer.
 *
 * Must stay true: a Location is only ever a URL read from the links
 * table for the id a verified token names; a GET changes no subscriber
 * data; a HEAD and a test copy's token count nothing.
 */
#include <stdio.h>
#include <string.h>

#include "herald.h"
#include "action.h"
#include "log.h"
#include "store.h"
#include "store_clicks.h"
#include "store_inbound.h"
#include "web_track.h"

#define WEB_TRACK_BUSY_MS 3000
#define WEB_TRACK_BURST_KEYS 100000	/* forget every client past this */

struct web_track {
	const struct config *config;
	const struct token_key *key;
	GMutex lock;			/* the queue, the writer */
	GCond cond;
	GPtrArray *queue;		/* struct web_track_job */
	GThread *writer;
	gboolean stop;
	GMutex cache_lock;		/* links, bursts */
	GHashTable *links;		/* gint64 id -> char *url */
	GHashTable *bursts;		/* "client campaign" -> struct web_track_burst */
};

/* one client's recent links of one campaign */
struct web_track_burst {
	gint64 start;			/* monotonic µs of the first */
	gint64 links[WEB_TRACK_BURST_LINKS];
	guint n;
};

struct web_track_job {
	struct web_track *t;
	struct MHD_Connection *conn;
	char kind;			/* 'l' or 'o' */
	gint64 ref;			/* link (click) or campaign (open) */
	gint64 delivery;		/* 0: aggregate */
	gint64 at;			/* unix seconds */
	gboolean machine, count, queued, kept;
	char *location;			/* the link's URL, for 'l' */
	const char *why;		/* machine: which rule */
};

static GPrivate web_track_store_key =
    G_PRIVATE_INIT((GDestroyNotify)store_close);

/* the user agents of known link scanners and prefetchers, lowercased */
static const char *const web_track_scanners[] = {
	"bot", "crawler", "spider", "slurp", "preview", "scanner", "scan/",
	"barracuda", "mimecast", "proofpoint", "urldefense", "safelinks",
	"symantec", "messagelabs", "fortiguard", "trendmicro", "sophos",
	"checkpoint", "ironport", "cisco", "zscaler", "forcepoint",
	"headlesschrome", "phantomjs", "python-urllib", "go-http-client",
	"wget", "libwww", "okhttp", "java/", "apache-httpclient",
};

/* web_track_new - see web_track.h */
struct web_track *
web_track_new(const struct config *config, const struct token_key *key)
{
	struct web_track *t = g_new0(struct web_track, 1);

	t->config = config;
	t->key = key;
	g_mutex_init(&t->lock);
	g_cond_init(&t->cond);
	g_mutex_init(&t->cache_lock);
	t->queue = g_ptr_array_new();
	t->links = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free,
	    g_free);
	t->bursts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
	    g_free);
	return t;
}

/* web_track_free - T, stopped first */
void
web_track_free(struct web_track *t)
{
	if (t == NULL)
		return;
	web_track_stop(t);
	g_ptr_array_unref(t->queue);
	g_hash_table_unref(t->links);
	g_hash_table_unref(t->bursts);
	g_mutex_clear(&t->lock);
	g_cond_clear(&t->cond);
	g_mutex_clear(&t->cache_lock);
	g_free(t);
}

/* web_track_store - this thread's connection (durable: the writer's
 * commits are on disk when they return) */
static struct store *
web_track_store(struct web_track *t, GError **error)
{
	static const struct store_serve_options o = { WEB_TRACK_BUSY_MS, 2048 };
	struct store *s = g_private_get(&web_track_store_key);

	if (s == NULL && (s = store_serve_open(t->config, &o,
	    error)) != NULL)
		g_private_set(&web_track_store_key, s);
	return s;
}

/* web_track_url - link ID's URL (caller frees), from the cache or the
 * store; NULL when there is no such link */
static char *
web_track_url(struct web_track *t, gint64 id)
{
	g_autoptr(GError) err = NULL;
	struct store *s;
	char *url = NULL;
	gint64 campaign;

	g_mutex_lock(&t->cache_lock);
	url = g_strdup(g_hash_table_lookup(t->links, &id));
	g_mutex_unlock(&t->cache_lock);
	if (url != NULL)
		return url;
	if ((s = web_track_store(t, &err)) == NULL ||
	    store_link_get(s, id, &campaign, &url, &err) < 0) {
		log_warnx("serve: link %" G_GINT64_FORMAT ": %s", id,
		    err->message);
		return NULL;
	}
	if (url == NULL)
		return NULL;
	g_mutex_lock(&t->cache_lock);
	g_hash_table_replace(t->links, g_memdup2(&id, sizeof(id)),
	    g_strdup(url));
	g_mutex_unlock(&t->cache_lock);
	return url;
}

/* web_track_scanner - UA names no browser a person uses: missing, or a
 * known scanner's */
static gboolean
web_track_scanner(const char *ua)
{
	g_autofree char *low = NULL;
	guint i;

	if (ua == NULL || *ua == '\0')
		return TRUE;
	low = g_ascii_strdown(ua, -1);
	for (i = 0; i < G_N_ELEMENTS(web_track_scanners); i++)
		if (strstr(low, web_track_scanners[i]) != NULL)
			return TRUE;
	return FALSE;
}

/* web_track_burst - CLIENT's click on LINK is the
 * WEB_TRACK_BURST_LINKS-th different link (or later) within
 * WEB_TRACK_BURST_SECONDS of the first, of one copy (DELIVERY) in
 * per-subscriber mode, of any copy (0) in aggregate mode */
static gboolean
web_track_burst(struct web_track *t, const char *client, gint64 delivery,
    gint64 link)
{
	g_autofree char *key = g_strdup_printf("%s %" G_GINT64_FORMAT, client,
	    delivery);
	gint64 now = g_get_monotonic_time();
	struct web_track_burst *b;
	gboolean burst = FALSE;
	guint i;

	g_mutex_lock(&t->cache_lock);
	if (g_hash_table_size(t->bursts) >= WEB_TRACK_BURST_KEYS)
		g_hash_table_remove_all(t->bursts);
	b = g_hash_table_lookup(t->bursts, key);
	if (b == NULL || now - b->start > WEB_TRACK_BURST_SECONDS *
	    G_USEC_PER_SEC) {
		if (b == NULL) {
			b = g_new0(struct web_track_burst, 1);
			g_hash_table_replace(t->bursts, g_steal_pointer(&key), b);
		}
		b->start = now;
		b->n = 0;
	}
	for (i = 0; i < b->n && i < WEB_TRACK_BURST_LINKS; i++)
		if (b->links[i] == link)
			break;
	if (i == b->n) {
		if (b->n < WEB_TRACK_BURST_LINKS)
			b->links[b->n] = link;
		b->n++;
	}
	burst = b->n >= WEB_TRACK_BURST_LINKS;
	g_mutex_unlock(&t->cache_lock);
	return burst;
}

/* web_track_judge - person or machine, by the rules of web_track.h */
static void
web_track_judge(struct web_track *t, struct web_track_job *job,
    const char *client, const char *ua)
{
	g_autoptr(GError) err = NULL;
	gint64 campaign = 0, sent = 0;
	struct store *s;

	if (web_track_scanner(ua)) {
		job->machine = TRUE;
		job->why = "scanner user agent";
		return;
	}
	if (job->delivery > 0 && (s = web_track_store(t, &err)) != NULL &&
	    store_delivery_sent(s, job->delivery, &campaign, &sent, &err) > 0 &&
	    sent > 0 && job->at - sent < WEB_TRACK_EARLY_SECONDS) {
		job->machine = TRUE;
		job->why = "within seconds of delivery";
		return;
	}
	if (job->kind == 'l' && web_track_burst(t, client, job->delivery,
	    job->ref)) {
		job->machine = TRUE;
		job->why = "many links at once";
	}
}

/* web_track_verify - TOKEN as a click or open token of any list: the
 * claim, or FALSE and *WHY */
static gboolean
web_track_verify(struct web_track *t, char kind, const char *token,
    struct token_claim *tc, const char **why)
{
	guint accept = kind == 'l' ? TOKEN_ACCEPT_CLICK | TOKEN_ACCEPT_TEST_CLICK :
	    TOKEN_ACCEPT_OPEN | TOKEN_ACCEPT_TEST_OPEN;
	g_autoptr(GError) err = NULL;

	if (!action_token_find(t->config, t->key, token, accept, NULL, tc,
	    &err)) {
		*why = err->code == HERALD_ERROR_DATA &&
		    strstr(err->message, "not taken") != NULL ?
		    "a token of another purpose" : "token not valid";
		return FALSE;
	}
	return TRUE;
}

/* web_track_begin - see web_track.h */
struct web_track_job *
web_track_begin(struct web_track *t, struct MHD_Connection *c, char kind,
    const char *token, const char *method, const char *client,
    const char *ua, const char **why)
{
	struct web_track_job *job;
	struct token_claim tc;
	char *url = NULL;

	if (!web_track_verify(t, kind, token, &tc, why))
		return NULL;
	if (kind == 'l' && (url = web_track_url(t, tc.subscriber_id)) == NULL) {
		*why = "no such link";
		return NULL;
	}
	job = g_new0(struct web_track_job, 1);
	job->t = t;
	job->kind = kind;
	job->ref = tc.subscriber_id;
	job->delivery = tc.extra_id;
	job->location = url;
	job->at = g_get_real_time() / G_USEC_PER_SEC;
	job->count = strcmp(method, "GET") == 0 && !token_is_test(tc.purpose);
	job->why = token_is_test(tc.purpose) ? "a test copy's" :
	    job->count ? NULL : "HEAD";
	if (!job->count)
		return job;
	web_track_judge(t, job, client, ua);
	g_mutex_lock(&t->lock);
	if (t->writer != NULL && !t->stop) {
		job->conn = c;
		job->queued = TRUE;
		/* suspended before the writer can see it */
		MHD_suspend_connection(c);
		g_ptr_array_add(t->queue, job);
		g_cond_signal(&t->cond);
	}
	g_mutex_unlock(&t->lock);
	return job;
}

/* web_track_queued - see web_track.h */
gboolean
web_track_queued(const struct web_track_job *job)
{
	return job->queued;
}

/* web_track_key - the count row JOB adds to */
static char *
web_track_key(const struct web_track_job *job)
{
	return g_strdup_printf("%c %" G_GINT64_FORMAT " %" G_GINT64_FORMAT
	    " %" G_GINT64_FORMAT " %d", job->kind, job->ref, job->delivery,
	    job->at / 60, job->machine ? 1 : 0);
}

/* web_track_write - BATCH's counts, summed, in one durable transaction;
 * each job's kept says whether its count is on disk */
static void
web_track_write(struct web_track *t, GPtrArray *batch)
{
	g_autoptr(GHashTable) sums = g_hash_table_new_full(g_str_hash,
	    g_str_equal, g_free, NULL);
	g_autoptr(GError) err = NULL;
	GHashTableIter it;
	gpointer k, v;
	struct store *s;
	guint i;

	for (i = 0; i < batch->len; i++) {
		struct web_track_job *job = g_ptr_array_index(batch, i);
		char *key = web_track_key(job);

		v = g_hash_table_lookup(sums, key);
		g_hash_table_replace(sums, key, GSIZE_TO_POINTER(
		    GPOINTER_TO_SIZE(v) + 1));
	}
	if ((s = web_track_store(t, &err)) == NULL || !store_begin(s, &err))
		goto fail;
	g_hash_table_iter_init(&it, sums);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		char kind;
		gint64 ref, delivery, minute;
		int machine;

		if (sscanf(k, "%c %" G_GINT64_FORMAT " %" G_GINT64_FORMAT " %"
		    G_GINT64_FORMAT " %d", &kind, &ref, &delivery, &minute,
		    &machine) != 5 || !store_track_add(s, kind == 'l' ?
		    "click" : "open", ref, delivery, minute, machine != 0,
		    (gint64)GPOINTER_TO_SIZE(v), &err)) {
			store_rollback(s);
			goto fail;
		}
	}
	if (!store_commit(s, &err))
		goto fail;
	for (i = 0; i < batch->len; i++)
		((struct web_track_job *)g_ptr_array_index(batch, i))->kept = TRUE;
	return;
fail:
	log_warnx("serve: %u click and open counts not kept: %s", batch->len,
	    err != NULL ? err->message : "no store");
}

/* web_track_main - the writer: take what is queued, write it, resume
 * the connections; at web_track_stop, drain the queue and end */
static gpointer
web_track_main(gpointer p)
{
	struct web_track *t = p;
	g_autoptr(GPtrArray) batch = g_ptr_array_new();
	guint i, n;

	g_mutex_lock(&t->lock);
	for (;;) {
		while (t->queue->len == 0 && !t->stop)
			g_cond_wait(&t->cond, &t->lock);
		if (t->queue->len == 0)
			break;
		n = MIN(t->queue->len, WEB_TRACK_GROUP_MAX);
		for (i = 0; i < n; i++)
			g_ptr_array_add(batch, g_ptr_array_index(t->queue, i));
		g_ptr_array_remove_range(t->queue, 0, n);
		g_mutex_unlock(&t->lock);
		web_track_write(t, batch);
		for (i = 0; i < batch->len; i++)
			MHD_resume_connection(((struct web_track_job *)
			    g_ptr_array_index(batch, i))->conn);
		g_ptr_array_set_size(batch, 0);
		g_mutex_lock(&t->lock);
	}
	g_mutex_unlock(&t->lock);
	return NULL;
}

/* web_track_start - see web_track.h */
void
web_track_start(struct web_track *t)
{
	g_mutex_lock(&t->lock);
	t->stop = FALSE;
	t->writer = g_thread_new("herald-web-track", web_track_main, t);
	g_mutex_unlock(&t->lock);
}

/* web_track_stop - see web_track.h */
void
web_track_stop(struct web_track *t)
{
	GThread *w;

	g_mutex_lock(&t->lock);
	t->stop = TRUE;
	w = t->writer;
	g_cond_signal(&t->cond);
	g_mutex_unlock(&t->lock);
	if (w != NULL)
		g_thread_join(w);
	g_mutex_lock(&t->lock);
	t->writer = NULL;
	g_mutex_unlock(&t->lock);
}

/* the open image: a 1x1 transparent GIF */
static const unsigned char web_track_gif[] = {
	'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0x80, 0, 0, 0, 0, 0,
	0xff, 0xff, 0xff, 0x21, 0xf9, 4, 1, 0, 0, 0, 0, 0x2c, 0, 0, 0, 0,
	1, 0, 1, 0, 0, 2, 2, 0x44, 1, 0, 0x3b,
};

/* web_track_response - see web_track.h */
struct MHD_Response *
web_track_response(struct web_track_job *job, unsigned *status,
    GString *outcome)
{
	struct MHD_Response *resp;

	job->queued = FALSE;
	if (job->kind == 'l') {
		resp = MHD_create_response_from_buffer(0, (void *)"",
		    MHD_RESPMEM_PERSISTENT);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION,
		    job->location);
		*status = MHD_HTTP_FOUND;
	} else {
		resp = MHD_create_response_from_buffer(sizeof(web_track_gif),
		    (void *)web_track_gif, MHD_RESPMEM_PERSISTENT);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
		    "image/gif");
		*status = MHD_HTTP_OK;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
	    "no-store");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	g_string_append_printf(outcome, "%s %s", job->kind == 'l' ? "click" :
	    "open", !job->count ? "not counted" : !job->kept ?
	    "count NOT kept" : job->machine ? "counted as a machine's" :
	    "counted");
	if (job->why != NULL)
		g_string_append_printf(outcome, ": %s", job->why);
	return resp;
}

/* web_track_job_free - see web_track.h */
void
web_track_job_free(struct web_track_job *job)
{
	if (job == NULL)
		return;
	g_free(job->location);
	g_free(job);
}
