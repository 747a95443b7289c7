/*
 * web.c - herald serve's HTTP side (see web.h for the routes and what
 * must stay true).
 *
 * libmicrohttpd runs a pool of web.threads threads, each with its own
 * epoll set; a request is handled entirely in the thread that read it,
 * with that thread's own store connection (a struct store is one
 * thread's). The access handler is called first with the headers (a
 * request is set up, an announced body over web.max_body is refused at
 * once), then with each piece of the body (fed to MHD's post processor,
 * which parses both encodings RFC 8058 allows), then once more at the
 * end, when the request is routed and answered. The completion callback
 * (the answer is out) tries the notices the request's change queued in
 * the outbox, writes the one log line of the request and frees it.
 *
 * Limits: the request line and headers fit in MHD's per-connection
 * memory (web.max_body plus 16 KiB), bodies in web.max_body, a client
 * keeps web.per_ip_connections open at most and web.max_connections in
 * all, a connection idle for web.timeout seconds is closed, and one
 * client address (the proxy's X-Forwarded-For when the peer is a trusted
 * proxy) makes web.ip_rate requests a minute, one token web.token_rate
 * POSTs a minute; past them 429 with Retry-After. One-click POSTs with a
 * valid token are not counted per address (a mail provider sends them
 * for all its users from a few addresses); one with a bad token is.
 *
 * Pages are Mustache templates (templates/web/NAME.mustache, one layout),
 * rendered with HTML escaping; every page carries a Content-Security-
 * Policy that allows no script and forms to this origin only, and
 * Referrer-Policy: no-referrer (the URLs hold tokens). No cookies.
 */
#include <errno.h>
#include <netdb.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <microhttpd.h>
#include <gmime/gmime.h>

#include "herald.h"
#include "action.h"
#include "announcement.h"
#include "compose.h"
#include "config.h"
#include "listen_addr.h"
#include "log.h"
#include "mydata.h"
#include "store.h"
#include "store_inbound.h"
#include "segment_choice.h"
#include "subscriber.h"
#include "template.h"
#include "token.h"
#include "value.h"
#include "web.h"
#include "web_track.h"
#include "web_metrics.h"

#define WEB_MAX_FIELDS		40	/* form fields in one body */
#define WEB_MAX_FIELD		1024	/* bytes of one field's value */
#define WEB_BUSY_TIMEOUT_MS	3000	/* a web request waits this for a lock */
#define WEB_CACHE_KB		32768	/* SQLite page cache per thread */
#define WEB_CONN_MEMORY		(16 * 1024) /* request line and headers, per
					 * connection (MHD clears it per request) */
#define WEB_RATE_KEYS		100000	/* forget every client past this many */
#define WEB_DISCARD		(4 << 20) /* bytes of a refused body read on */
/* the archive's footer, in place of the partials footer-html and
 * footer-text (the page is /archive/LIST/ID: the form is ../../subscribe/) */
#define WEB_ARCHIVE_FOOTER_HTML \
	"<tr><td style=\"padding:16px 28px 24px 28px;border-top:1px solid" \
	" #e4e4e4;font-size:12px;line-height:1.5;color:#666666;\">" \
	"<p style=\"margin:0;\">From the archive of {{list.display_name}}." \
	" <a href=\"../../subscribe/{{list.name}}\" style=\"color:#5b2c86;\">" \
	"Subscribe</a> to get the next one by mail.</p></td></tr>\n"
#define WEB_ARCHIVE_FOOTER_TEXT \
	"-- \nFrom the archive of {{list.display_name}} <{{list.address}}>.\n"
#define WEB_GROUP_MAX		512	/* one-click POSTs in one commit at most */
#define WEB_CONTACTS		20	/* lists an error page names at most */

struct web_bucket {
	double tokens;
	gint64 last;		/* monotonic microseconds */
};

struct web_limiter {
	GMutex lock;
	GHashTable *buckets;	/* key -> struct web_bucket */
	double per_minute;
};

struct web {
	const struct config *config;
	const struct token_key *key;
	struct template_set *pages;
	struct MHD_Daemon *daemon;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char *listen;
	char *bound;
	struct web_limiter ip_limit, token_limit;
	GPrivate *stores;	/* the thread's struct store */
	GMutex write_lock;	/* one writer at a time among the threads */
	GMutex archive_lock;	/* announcement_load uses libconfuse */
	GHashTable *archive;	/* campaign id -> struct web_issue */
	/* the one-click group committer (see web_group_main) */
	GThread *writer;
	GMutex group_lock;
	GCond group_cond;
	GPtrArray *group;	/* struct web_req waiting to be written */
	gboolean group_stop;	/* the writer drains the queue and ends */
	/* the whole-request deadline (see web_deadline_main) */
	GThread *watchdog;
	GMutex conns_lock;
	GCond conns_cond;
	GHashTable *conns;	/* struct web_conn, the open connections */
	gboolean watchdog_stop;
	struct web_track *track;	/* /l/ and /o/ (web_track.c) */
	struct web_metrics *metrics;	/* GET /metrics, request counters */
};

/* one open connection, for the whole-request deadline: a request must be
 * read (headers and body) within web.request_timeout of its start */
struct web_conn {
	int fd;
	gint64 start;		/* monotonic: when this request began */
	gboolean routing;	/* read, being answered: no deadline */
	int timed_out;		/* 1: 408 written, 2: the reading side shut */
};

/* one campaign as the archive shows it, rendered once */
struct web_issue {
	char *subject;
	char *html;
};

/* one request, from its headers to its log line */
struct web_req {
	struct web *web;
	char *method;
	char *path;		/* for the log: tokens replaced by "-" */
	char client[INET6_ADDRSTRLEN];
	struct MHD_PostProcessor *pp;
	GHashTable *form;	/* field -> GString */
	gsize body;		/* bytes of body seen */
	gboolean too_big, bad_form, answered;
	gboolean one_click;	/* POST /unsubscribe/: not limited per address */
	int route;		/* web_metrics_route: counted under it */
	unsigned status;
	GString *outcome;
	GArray *notices;	/* struct action_notice: sent once answered */
	gint64 start;
	/* a one-click POST handed to the group committer: the connection is
	 * suspended until the writer has committed (or failed) it */
	struct MHD_Connection *conn;
	gboolean queued;
	const struct list_config *job_list;
	struct subscriber *job_sub;	/* NULL for a test copy's token */
	gint64 job_sub_id;
	char *job_token;
	enum action_state job_state;
	GError *job_err;
	struct web_track_job *track;	/* /l/ or /o/ (web_track.c) */
};

static GPrivate web_store_key = G_PRIVATE_INIT((GDestroyNotify)store_close);

/* ------------------------------------------------------------------ */
/* Small helpers */

/* web_issue_free - an archive entry */
static void
web_issue_free(gpointer p)
{
	struct web_issue *i = p;

	g_free(i->subject);
	g_free(i->html);
	g_free(i);
}

/* web_limiter_init - a token bucket per key, PER_MINUTE deep */
static void
web_limiter_init(struct web_limiter *l, int per_minute)
{
	g_mutex_init(&l->lock);
	l->buckets = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
	    g_free);
	l->per_minute = per_minute;
}

static void
web_limiter_clear(struct web_limiter *l)
{
	g_hash_table_unref(l->buckets);
	g_mutex_clear(&l->lock);
}

/* web_limiter_take - TRUE if KEY may make one more request now */
static gboolean
web_limiter_take(struct web_limiter *l, const char *key)
{
	gint64 now = g_get_monotonic_time();
	struct web_bucket *b;
	gboolean ok;

	g_mutex_lock(&l->lock);
	if ((b = g_hash_table_lookup(l->buckets, key)) == NULL) {
		if (g_hash_table_size(l->buckets) >= WEB_RATE_KEYS)
			g_hash_table_remove_all(l->buckets);
		b = g_new(struct web_bucket, 1);
		b->tokens = l->per_minute;
		b->last = now;
		g_hash_table_insert(l->buckets, g_strdup(key), b);
	}
	b->tokens += (double)(now - b->last) / (60.0 * G_USEC_PER_SEC) *
	    l->per_minute;
	if (b->tokens > l->per_minute)
		b->tokens = l->per_minute;
	b->last = now;
	if ((ok = b->tokens >= 1.0))
		b->tokens -= 1.0;
	g_mutex_unlock(&l->lock);
	return ok;
}

/* web_store_open - a connection of the server's own: durable (a 200 for
 * a change means the change is on disk), a web request's busy timeout,
 * and a page cache of its own (it lives long and reads pages all over
 * the tables; SQLite's default is 2 MB); failing, a TEMP error */
static struct store *
web_store_open(struct web *web, GError **error)
{
	static const struct store_serve_options o = { WEB_BUSY_TIMEOUT_MS,
	    WEB_CACHE_KB };

	struct store *s = store_serve_open(web->config, &o, error);

	/* the server checked the store when it started: a connection that
	 * cannot be made now (PostgreSQL restarting, failing over) is a
	 * 503 to retry, not a fault of the configuration */
	if (s == NULL && error != NULL && *error != NULL)
		(*error)->code = HERALD_ERROR_TEMP;
	return s;
}

/* web_store - this thread's store connection, opened on first use */
static struct store *
web_store(struct web *web, GError **error)
{
	struct store *s = g_private_get(&web_store_key);

	if (s == NULL && (s = web_store_open(web, error)) != NULL)
		g_private_set(&web_store_key, s);
	return s;
}

/* web_chars_ok - TEXT is 1 to MAX letters, digits and characters of
 * ALSO */
static gboolean
web_chars_ok(const char *text, size_t max, const char *also)
{
	const char *p;

	if (text == NULL || *text == '\0' || strlen(text) > max)
		return FALSE;
	for (p = text; *p != '\0'; p++)
		if (!g_ascii_isalnum(*p) && strchr(also, *p) == NULL)
			return FALSE;
	return TRUE;
}

/* web_token_ok - TEXT looks like a token: [a-z2-7-], bounded */
static gboolean
web_token_ok(const char *text)
{
	return web_chars_ok(text, 80, "-");
}

/* web_name_ok - a list name as config.c allows it */
static gboolean
web_name_ok(const char *text)
{
	return web_chars_ok(text, 64, "-_.");
}

/* web_field - a form field's value, or NULL */
static const char *
web_field(struct web_req *r, const char *name)
{
	GString *v = r->form != NULL ? g_hash_table_lookup(r->form, name) : NULL;

	return v != NULL ? v->str : NULL;
}

/* web_unescape - MHD's unescape callback, strict: a '%' not followed by
 * two hex digits, an encoded NUL or bytes that are not UTF-8 make the
 * whole string "\x01", which no route matches and web_route refuses */
static size_t
web_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	char *r = s, *w = s;

	for (; *r != '\0'; r++) {
		if (*r == '%') {
			int hi = g_ascii_xdigit_value(r[1]);
			int lo = hi >= 0 ? g_ascii_xdigit_value(r[2]) : -1;

			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				goto bad;
			*w++ = (char)(hi * 16 + lo);
			r += 2;
		} else
			*w++ = *r;
	}
	*w = '\0';
	if (!g_utf8_validate(s, w - s, NULL))
		goto bad;
	return (size_t)(w - s);
bad:
	s[0] = '\x01';
	s[1] = '\0';
	return 1;
}

/* ------------------------------------------------------------------ */
/* Answers */

/* web_respond - queue BODY (taken) with STATUS and CTYPE */
static enum MHD_Result
web_respond(struct MHD_Connection *c, struct web_req *r, unsigned status,
    const char *ctype, char *body, gboolean private_page)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer_with_free_callback(
	    strlen(body), body, g_free);
	enum MHD_Result ret;

	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(resp, "Content-Security-Policy",
	    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self';"
	    " frame-ancestors 'none'; base-uri 'none'");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
	    private_page ? "no-store" : "public, max-age=300");
	if (status == MHD_HTTP_SERVICE_UNAVAILABLE ||
	    status == MHD_HTTP_TOO_MANY_REQUESTS) {
		g_autofree char *ra = g_strdup_printf("%d",
		    r->web->config->web.retry_after);

		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
	}
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
		    r->outcome->len > 0 ? r->outcome->str : "GET, HEAD");
	if (status >= 400 && status != MHD_HTTP_NOT_FOUND &&
	    status != MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION,
		    status == MHD_HTTP_CONTENT_TOO_LARGE ? "close" : "keep-alive");
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	r->status = status;
	r->answered = TRUE;
	return ret;
}

/* web_list_value - what a page says of LIST */
static struct value *
web_list_value(const struct list_config *l)
{
	struct value *v = value_new_map();

	value_map_set(v, "name", value_new_string(l->name));
	value_map_set(v, "display_name", value_new_string(l->display_name));
	value_map_set(v, "address", value_new_string(l->address));
	value_map_set(v, "owner", value_new_string_take(g_strdup_printf(
	    "%s-owner@%s", l->local, l->domain)));
	if (l->description != NULL)
		value_map_set(v, "description", value_new_string(l->description));
	return v;
}

/* web_page - render page NAME with CTX (taken) and answer STATUS */
static enum MHD_Result
web_page(struct MHD_Connection *c, struct web_req *r, unsigned status,
    const char *name, struct value *ctx)
{
	GString *out = g_string_new(NULL);
	struct value *stack[] = { ctx };
	g_autoptr(GError) err = NULL;

	if (!template_render(r->web->pages, name, stack, 1,
	    TEMPLATE_ESCAPE_HTML, out, NULL, &err)) {
		log_warnx("serve: page %s: %s", name, err->message);
		g_string_assign(out, "<!DOCTYPE html><title>Error</title>"
		    "<p>This page cannot be shown.</p>\n");
		status = MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
	value_unref(ctx);
	return web_respond(c, r, status, "text/html; charset=utf-8",
	    g_string_free(out, FALSE), TRUE);
}

/* web_error_contacts - who a visitor of an error page can write to, in
 * CTX: LIST's owner address, or with no list known (a link that is not
 * valid names none) every configured list's, up to WEB_CONTACTS */
static void
web_error_contacts(const struct config *config,
    const struct list_config *list, struct value *ctx)
{
	struct value *owners = value_new_list();
	guint i;

	if (list != NULL)
		value_list_append(owners, web_list_value(list));
	for (i = 0; list == NULL && i < config->lists->len &&
	    i < WEB_CONTACTS; i++)
		value_list_append(owners, web_list_value(
		    g_ptr_array_index(config->lists, i)));
	value_map_set(ctx, "contact", value_new_bool(list != NULL ||
	    config->lists->len > 0));
	value_map_set(ctx, "owners", owners);
}

/* web_error - a plain page: HEADING, MESSAGE, and whom to write to */
static enum MHD_Result
web_error(struct MHD_Connection *c, struct web_req *r, unsigned status,
    const struct list_config *list, const char *heading, const char *message)
{
	struct value *ctx = value_new_map();

	if (list != NULL)
		value_map_set(ctx, "list", web_list_value(list));
	web_error_contacts(r->web->config, list, ctx);
	value_map_set(ctx, "heading", value_new_string(heading));
	value_map_set(ctx, "message", value_new_string(message));
	if (r->outcome->len == 0)
		g_string_append(r->outcome, heading);
	return web_page(c, r, status, "error", ctx);
}

/* web_failed - an action's error: TEMP is 503 (try again), DATA a bad or
 * expired token (400), NOUSER 404, anything else 500 */
static enum MHD_Result
web_failed(struct MHD_Connection *c, struct web_req *r,
    const struct list_config *list, GError *err)
{
	enum MHD_Result ret;

	if (r->outcome->len > 0)
		g_string_append(r->outcome, ": ");
	g_string_append(r->outcome, err->message);
	if (err->code == HERALD_ERROR_TEMP)
		ret = web_error(c, r, MHD_HTTP_SERVICE_UNAVAILABLE, list,
		    "Busy", "The list could not finish this right now. Please"
		    " try again in a few seconds.");
	else if (err->code == HERALD_ERROR_DATA)
		ret = web_error(c, r, MHD_HTTP_BAD_REQUEST, list,
		    "This link does not work", err->message);
	else if (err->code == HERALD_ERROR_NOUSER)
		ret = web_error(c, r, MHD_HTTP_NOT_FOUND, list, "Not here",
		    err->message);
	else {
		log_warnx("serve: %s", err->message);
		ret = web_error(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, list,
		    "Error", "Something went wrong on our side: nothing was"
		    " changed.");
	}
	g_error_free(err);
	return ret;
}

/* web_bad_token - a token that is no valid one for the route; WHY (the
 * verifier's words, never the token) goes to the log line */
static enum MHD_Result
web_bad_token(struct MHD_Connection *c, struct web_req *r, const char *why)
{
	g_string_printf(r->outcome, "token not valid: %s", why);
	if (r->one_click && !web_limiter_take(&r->web->ip_limit, r->client))
		return web_error(c, r, MHD_HTTP_TOO_MANY_REQUESTS, NULL,
		    "Slow down", "Too many requests from your address; please"
		    " wait a minute.");
	return web_error(c, r, MHD_HTTP_BAD_REQUEST, NULL,
	    "This link does not work", "The link is not valid: it may have"
	    " been cut short or changed on its way. Please use the link in"
	    " the message as it is, or write to the list owners.");
}

/* web_method - METHOD is one of ALLOWED ("GET, HEAD, POST"); else 405 */
static gboolean
web_method_ok(struct web_req *r, const char *allowed)
{
	g_auto(GStrv) words = g_strsplit(allowed, ", ", -1);
	GStrv w;

	for (w = words; *w != NULL; w++)
		if (strcmp(*w, r->method) == 0)
			return TRUE;
	g_string_assign(r->outcome, allowed);
	return FALSE;
}

static enum MHD_Result
web_wrong_method(struct MHD_Connection *c, struct web_req *r)
{
	return web_respond(c, r, MHD_HTTP_METHOD_NOT_ALLOWED,
	    "text/plain; charset=utf-8", g_strdup("method not allowed\n"), TRUE);
}

/* web_action_ctx - the shared actions' context for request R */
static gboolean
web_action_ctx(struct web_req *r, struct action_ctx *a, GError **error)
{
	memset(a, 0, sizeof(*a));
	a->config = r->web->config;
	a->key = r->web->key;
	a->channel = "web";
	a->now = g_get_real_time() / G_USEC_PER_SEC;
	a->outcome = r->outcome;
	a->notices = &r->notices;
	a->write_lock = &r->web->write_lock;
	return (a->store = web_store(r->web, error)) != NULL;
}

/* ------------------------------------------------------------------ */
/* The group committer of one-click POSTs */

/*
 * A one-click POST is the request that comes in bursts (a mail provider
 * passes on its users' clicks, a campaign's readers click at once), and
 * its cost was the commit: one durable transaction, with its fsync, per
 * click. So the MHD thread that read one checks the token (no database
 * statement), suspends the connection (MHD goes on serving the thread's
 * other connections) and queues the request for the writer thread, which
 * takes every request queued (up to WEB_GROUP_MAX) into one transaction
 * (store_group_begin), writes the requests of each list as one unit, a
 * savepoint (none when all are for one list: the unit is the
 * transaction; action_unsubscribe_group: a few set-based statements for
 * the lot, store_oneclick.c, where one at a time cost about nine per
 * request, each a round trip on PostgreSQL; a unit that fails undoes
 * only itself and answers its requests with the error), commits it
 * durably once, and resumes the connections; each is answered then, 200
 * only when its change is committed. A failed commit (or a database busy
 * past the timeout, or SQLite rolling the group back) fails every request
 * of the group with the error: 503 with Retry-After, nothing changed,
 * nothing lost. While the writer stops (web_stop) a one-click is done in its
 * own thread as any other change.
 */

static struct value *web_subscriber_ctx(const struct list_config *list,
    const char *token, const struct subscriber *sub);

/* web_unsubscribed - the answer to a one-click done with state ST */
static enum MHD_Result
web_unsubscribed(struct MHD_Connection *c, struct web_req *r,
    const struct list_config *list, const char *token,
    const struct subscriber *sub, enum action_state st)
{
	struct value *ctx = web_subscriber_ctx(list, token, sub);

	if (st == ACTION_DONE && action_goodbye_due(list, "one-click"))
		value_map_set(ctx, "goodbye", value_new_bool(TRUE));
	return web_page(c, r, MHD_HTTP_OK, "unsubscribed", ctx);
}

/* web_group_queue - hand R (a one-click for SUB_ID on LIST) to the
 * writer, which reads the subscriber too, and suspend C; FALSE when
 * there is no writer or nobody to act on */
static gboolean
web_group_queue(struct MHD_Connection *c, struct web_req *r,
    const struct list_config *list, gint64 sub_id, const char *token)
{
	struct web *web = r->web;

	if (sub_id <= 0)
		return FALSE;
	g_mutex_lock(&web->group_lock);
	if (web->writer == NULL || web->group_stop) {
		g_mutex_unlock(&web->group_lock);
		return FALSE;
	}
	r->conn = c;
	r->job_list = list;
	r->job_sub_id = sub_id;
	r->job_token = g_strdup(token);
	r->queued = TRUE;
	/* suspended before the writer can see it, so its resume always
	 * follows the suspend */
	MHD_suspend_connection(c);
	g_ptr_array_add(web->group, r);
	g_cond_signal(&web->group_cond);
	g_mutex_unlock(&web->group_lock);
	return TRUE;
}

/* web_group_answer - R is back from the writer: answer it */
static enum MHD_Result
web_group_answer(struct MHD_Connection *c, struct web_req *r)
{
	r->queued = FALSE;
	if (r->job_err != NULL)
		return web_failed(c, r, r->job_list, g_steal_pointer(&r->job_err));
	return web_unsubscribed(c, r, r->job_list, r->job_token, r->job_sub,
	    r->job_state);
}

/* web_group_fail - R's change is not committed: ERR (copied) is its
 * answer, its words and its notices go */
static void
web_group_fail(struct web_req *r, const GError *err)
{
	if (r->job_err == NULL)
		r->job_err = g_error_copy(err);
	g_string_truncate(r->outcome, 0);
	if (r->notices != NULL)
		g_array_set_size(r->notices, 0);
}

/* web_group_list - the requests of BATCH for the list of the one at
 * FIRST (each marked in DONE) as one unit of the open group, through
 * action_unsubscribe_group: each gets its state, subscriber and words,
 * or, when the unit fails, the error (nothing of the unit done) */
static void
web_group_list(struct web *web, struct store *store, GPtrArray *batch,
    guint first, gint64 now, gboolean *done)
{
	const struct list_config *list = ((struct web_req *)
	    g_ptr_array_index(batch, first))->job_list;
	g_autofree struct action_group_item *items = g_new0(
	    struct action_group_item, batch->len);
	g_autofree struct web_req **reqs = g_new0(struct web_req *,
	    batch->len);
	struct action_ctx a = { 0 };
	GError *err = NULL;
	guint i, n = 0;

	for (i = first; i < batch->len; i++) {
		struct web_req *r = g_ptr_array_index(batch, i);

		if (done[i] || r->job_list != list)
			continue;
		done[i] = TRUE;
		reqs[n] = r;
		items[n].sub_id = r->job_sub_id;
		items[n].outcome = r->outcome;
		items[n++].notices = &r->notices;
	}
	a.config = web->config;
	a.key = web->key;
	a.channel = "web";
	a.now = now;
	a.store = store;
	if (!action_unsubscribe_group(&a, list, "one-click", items, n, &err)) {
		for (i = 0; i < n; i++)
			web_group_fail(reqs[i], err);
		g_error_free(err);
		return;
	}
	for (i = 0; i < n; i++) {
		reqs[i]->job_state = items[i].state;
		reqs[i]->job_sub = items[i].sub;
		if (items[i].err != NULL) {
			web_group_fail(reqs[i], items[i].err);
			g_error_free(items[i].err);
		}
	}
}

/* web_group_one_list - every request of BATCH is for one list */
static gboolean
web_group_one_list(GPtrArray *batch)
{
	guint i;

	for (i = 1; i < batch->len; i++)
		if (((struct web_req *)g_ptr_array_index(batch, i))->job_list !=
		    ((struct web_req *)g_ptr_array_index(batch, 0))->job_list)
			return FALSE;
	return TRUE;
}

/* web_group_said - the words of a request written with others */
static void
web_group_said(GPtrArray *batch)
{
	guint i;

	for (i = 0; i < batch->len; i++) {
		struct web_req *r = g_ptr_array_index(batch, i);

		if (r->job_err == NULL && batch->len > 1)
			g_string_append_printf(r->outcome, "; one commit for %u",
			    batch->len);
	}
}

/* web_group_write - the requests of BATCH in one durable transaction on
 * *STORE (the writer's, opened on first use), a unit (a savepoint) per
 * list, or, all for one list (the usual case), that unit as the
 * transaction itself (two round trips fewer on PostgreSQL); each gets
 * its state or its error */
static void
web_group_write(struct web *web, struct store **store, GPtrArray *batch)
{
	GError *err = NULL;
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	g_autofree gboolean *done = g_new0(gboolean, batch->len);
	guint i;

	if (*store == NULL && (*store = web_store_open(web, &err)) == NULL)
		goto fail;
	g_mutex_lock(&web->write_lock);
	if (web_group_one_list(batch)) {
		web_group_list(web, *store, batch, 0, now, done);
		g_mutex_unlock(&web->write_lock);
		web_group_said(batch);
		return;
	}
	if (!store_group_begin(*store, &err)) {
		g_mutex_unlock(&web->write_lock);
		goto fail;
	}
	for (i = 0; i < batch->len; i++) {
		struct web_req *r = g_ptr_array_index(batch, i);

		if (done[i])
			continue;
		/* R's list's requests, R first: a unit's error is R's too */
		web_group_list(web, *store, batch, i, now, done);
		if (store_group_lost(*store)) {
			store_group_abort(*store);
			g_mutex_unlock(&web->write_lock);
			g_set_error(&err, HERALD_ERROR, HERALD_ERROR_TEMP,
			    "the database rolled the grouped transaction back");
			goto fail;
		}
		/* a lock not granted in time (PostgreSQL keeps the group
		 * open): the rest would each wait for the same lock, one
		 * after another, so the whole group answers 503 now */
		if (r->job_err != NULL &&
		    g_error_matches(r->job_err, HERALD_ERROR, HERALD_ERROR_TEMP)) {
			store_group_abort(*store);
			g_mutex_unlock(&web->write_lock);
			err = g_error_copy(r->job_err);
			goto fail;
		}
	}
	if (!store_group_commit(*store, &err)) {
		g_mutex_unlock(&web->write_lock);
		goto fail;
	}
	g_mutex_unlock(&web->write_lock);
	web_group_said(batch);
	return;
fail:
	for (i = 0; i < batch->len; i++)
		web_group_fail(g_ptr_array_index(batch, i), err);
	g_error_free(err);
}

/* web_group_main - the writer thread: take what is queued, write it,
 * resume its connections; at web_group_stop, drain the queue and end */
static gpointer
web_group_main(gpointer p)
{
	struct web *web = p;
	struct store *store = NULL;
	g_autoptr(GPtrArray) batch = g_ptr_array_new();
	guint i, n;

	g_mutex_lock(&web->group_lock);
	for (;;) {
		while (web->group->len == 0 && !web->group_stop)
			g_cond_wait(&web->group_cond, &web->group_lock);
		if (web->group->len == 0)
			break;
		n = MIN(web->group->len, WEB_GROUP_MAX);
		for (i = 0; i < n; i++)
			g_ptr_array_add(batch, g_ptr_array_index(web->group, i));
		g_ptr_array_remove_range(web->group, 0, n);
		g_mutex_unlock(&web->group_lock);
		web_group_write(web, &store, batch);
		/* a resumed request may be answered and freed at once */
		for (i = 0; i < batch->len; i++)
			MHD_resume_connection(((struct web_req *)
			    g_ptr_array_index(batch, i))->conn);
		g_ptr_array_set_size(batch, 0);
		g_mutex_lock(&web->group_lock);
	}
	g_mutex_unlock(&web->group_lock);
	store_close(store);
	return NULL;
}

/* web_group_stop - the writer writes what is queued and ends */
static void
web_group_stop(struct web *web)
{
	GThread *t;

	g_mutex_lock(&web->group_lock);
	web->group_stop = TRUE;
	t = web->writer;
	g_cond_signal(&web->group_cond);
	g_mutex_unlock(&web->group_lock);
	if (t != NULL)
		g_thread_join(t);
	g_mutex_lock(&web->group_lock);
	web->writer = NULL;
	g_mutex_unlock(&web->group_lock);
}

/* ------------------------------------------------------------------ */
/* Routes */

/* web_subscriber_ctx - a page context with LIST, the subscriber's EMAIL
 * and the token; SUB NULL when SUB_ID names nobody (a test copy) */
static struct value *
web_subscriber_ctx(const struct list_config *list, const char *token,
    const struct subscriber *sub)
{
	struct value *ctx = value_new_map();

	value_map_set(ctx, "list", web_list_value(list));
	/* a subscriber's page: the footer says why they get the mail */
	value_map_set(ctx, "reader", value_new_bool(TRUE));
	value_map_set(ctx, "token", value_new_string(token));
	value_map_set(ctx, "email", value_new_string(sub != NULL ?
	    sub->email : "the test address"));
	if (sub == NULL)
		value_map_set(ctx, "test", value_new_bool(TRUE));
	return ctx;
}

/* web_load_sub - the subscriber SUB_ID (NULL, no error, for id 0: a test
 * copy's token) */
static gboolean
web_load_sub(struct action_ctx *a, gint64 sub_id, struct subscriber **out,
    GError **error)
{
	*out = NULL;
	if (sub_id <= 0)
		return TRUE;
	*out = subscriber_get(a->store, sub_id, error);
	return *out != NULL;
}

/* web_slow_down - 429: past the POSTs a minute of one token */
static enum MHD_Result
web_slow_down(struct MHD_Connection *c, struct web_req *r,
    const struct list_config *list)
{
	g_string_assign(r->outcome, "token rate limit");
	return web_error(c, r, MHD_HTTP_TOO_MANY_REQUESTS, list, "Slow down",
	    "Too many requests for this link; please wait a minute.");
}

/* what the token routes take: their purpose, or a test copy's of it */
#define WEB_ACCEPT_UNSUBSCRIBE (TOKEN_ACCEPT_UNSUBSCRIBE | \
	TOKEN_ACCEPT_TEST_UNSUBSCRIBE)
#define WEB_ACCEPT_CONFIRM (TOKEN_ACCEPT_CONFIRM | \
	TOKEN_ACCEPT_TEST_CONFIRM_SUBSCRIBE | \
	TOKEN_ACCEPT_TEST_CONFIRM_UNSUBSCRIBE)

/* web_token_open - the start of a route on TOKEN, a token of ACCEPT:
 * the list is returned, *SUB_ID is its subscriber (0 for a test copy's
 * token: its pages act on nobody); with LIMIT one of the token's POSTs a
 * minute is taken; then the actions' context A, and *SUB, when SUB is
 * not NULL (NULL for id 0). NULL when R is answered instead, *RET the
 * answer: 400 for a bad token, 429 past the limit, else web_failed's. */
static const struct list_config *
web_token_open(struct MHD_Connection *c, struct web_req *r,
    const char *token, guint accept, gboolean limit, gint64 *sub_id,
    struct action_ctx *a, struct subscriber **sub, enum MHD_Result *ret)
{
	const struct list_config *list;
	struct token_claim tc;
	GError *err = NULL;

	if (!action_token_find(r->web->config, r->web->key, token, accept,
	    &list, &tc, &err)) {
		*ret = web_bad_token(c, r, err->message);
		g_clear_error(&err);
		return NULL;
	}
	*sub_id = token_is_test(tc.purpose) ? 0 : tc.subscriber_id;
	if (limit && !web_limiter_take(&r->web->token_limit, token)) {
		*ret = web_slow_down(c, r, list);
		return NULL;
	}
	if (!web_action_ctx(r, a, &err) ||
	    (sub != NULL && !web_load_sub(a, *sub_id, sub, &err))) {
		*ret = web_failed(c, r, list, err);
		return NULL;
	}
	return list;
}

/* web_unsubscribe - GET: the page; POST: one click (RFC 8058) */
static enum MHD_Result
web_unsubscribe(struct MHD_Connection *c, struct web_req *r,
    const char *token)
{
	const struct list_config *list;
	g_autoptr(subscriber) sub = NULL;
	struct action_ctx a;
	enum action_state st = ACTION_DONE;
	enum MHD_Result ret;
	gint64 sub_id;
	GError *err = NULL;
	const char *v = web_field(r, "List-Unsubscribe");
	gboolean post = strcmp(r->method, "POST") == 0;
	gboolean form_ok = v != NULL && strcmp(v, "One-Click") == 0;

	if (!web_method_ok(r, "GET, HEAD, POST"))
		return web_wrong_method(c, r);
	/* a POST is limited only when its form is one; a one-click's
	 * subscriber is read by the writer, with its change (no statement
	 * here: on PostgreSQL each is a round trip) */
	if ((list = web_token_open(c, r, token, WEB_ACCEPT_UNSUBSCRIBE,
	    post && form_ok, &sub_id, &a, post && form_ok ? NULL : &sub,
	    &ret)) == NULL)
		return ret;
	if (post && !form_ok) {
		g_string_assign(r->outcome, "no List-Unsubscribe=One-Click");
		return web_error(c, r, MHD_HTTP_BAD_REQUEST, list,
		    "Not understood", "An unsubscribe needs the form field"
		    " List-Unsubscribe=One-Click (RFC 8058).");
	}
	if (post) {
		if (web_group_queue(c, r, list, sub_id, token))
			return MHD_YES;	/* answered once the group is written */
		if (!web_load_sub(&a, sub_id, &sub, &err) ||
		    !action_unsubscribe(&a, list, sub_id, "one-click", &st, &err))
			return web_failed(c, r, list, err);
		return web_unsubscribed(c, r, list, token, sub, st);
	}
	g_string_assign(r->outcome, "unsubscribe page");
	return web_page(c, r, MHD_HTTP_OK, "unsubscribe",
	    web_subscriber_ctx(list, token, sub));
}

/* web_resubscribe - POST: undo an unsubscribe */
static enum MHD_Result
web_resubscribe(struct MHD_Connection *c, struct web_req *r,
    const char *token)
{
	const struct list_config *list;
	g_autoptr(subscriber) sub = NULL;
	struct action_ctx a;
	enum action_state st = ACTION_DONE;
	enum MHD_Result ret;
	gint64 sub_id;
	GError *err = NULL;
	struct value *ctx;

	if (!web_method_ok(r, "POST"))
		return web_wrong_method(c, r);
	if ((list = web_token_open(c, r, token, WEB_ACCEPT_UNSUBSCRIBE, TRUE,
	    &sub_id, &a, &sub,
	    &ret)) == NULL)
		return ret;
	if (!action_resubscribe(&a, list, sub_id, &st, &err))
		return web_failed(c, r, list, err);
	ctx = web_subscriber_ctx(list, token, sub);
	if (st == ACTION_DONE || st == ACTION_ALREADY)
		value_map_set(ctx, "done", value_new_bool(TRUE));
	else if (st != ACTION_TEST) {
		GError *e = NULL;
		const char *s = sub != NULL ? action_status(&a, list, sub_id, &e) :
		    NULL;

		g_clear_error(&e);
		value_map_set(ctx, "refused", value_new_bool(TRUE));
		value_map_set(ctx, "status", value_new_string(s != NULL ? s :
		    "not a member"));
	}
	return web_page(c, r, MHD_HTTP_OK, "resubscribed", ctx);
}

/* web_choice_refused - WHY: VALUE is not one of CHOICES of KEY */
static void
web_choice_refused(GString *why, const char *key, const char *value,
    GPtrArray *choices)
{
	guint i;

	g_string_printf(why, "\"%s\" is not one of the choices for %s (", value,
	    key);
	for (i = 0; i < choices->len; i++)
		g_string_append_printf(why, "%s%s", i > 0 ? ", " : "",
		    ((struct segment_choice *)g_ptr_array_index(choices,
		    i))->value);
	g_string_append(why, "): nothing was changed. Please pick one from"
	    " the list.");
}

/* web_form_attrs - the editable attributes of LIST found in the form
 * (field "attr.KEY"); FALSE if a value is not acceptable: a line break,
 * too long, or (in WHY) not one of the values the list's segments use
 * for KEY (segment_choice.h), unless it is SUB's (may be NULL) value
 * now. An empty value where there was none is left out. */
static gboolean
web_form_attrs(struct web_req *r, const struct list_config *list,
    const struct subscriber *sub, GHashTable **out, GString *why)
{
	char **k;

	*out = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	for (k = list->editable; k != NULL && *k != NULL; k++) {
		g_autofree char *f = g_strconcat("attr.", *k, NULL);
		const char *v = web_field(r, f);
		const char *now = sub != NULL ?
		    g_hash_table_lookup(sub->attrs, *k) : NULL;
		g_autoptr(GPtrArray) choices = NULL;

		if (v == NULL)
			continue;
		if (!subscriber_check_text(*k, v, NULL) || strlen(v) > 200)
			return FALSE;
		if (*v == '\0' && (now == NULL || *now == '\0'))
			continue;
		choices = segment_choices(list, *k);
		if (!segment_choice_ok(choices, v) &&
		    (now == NULL || strcmp(now, v) != 0)) {
			web_choice_refused(why, *k, v, choices);
			return FALSE;
		}
		g_hash_table_insert(*out, g_strdup(*k), g_strstrip(g_strdup(v)));
	}
	return TRUE;
}

/* web_attr_choices - the radio buttons of CHOICES with NOW (may
 * be NULL) chosen: NOW first when it is none of them (kept as it is),
 * an empty "not set" option when there is no NOW */
static struct value *
web_attr_choices(GPtrArray *choices, const char *now)
{
	struct value *l = value_new_list();
	gboolean found = FALSE;
	guint i;

	for (i = 0; now != NULL && i < choices->len; i++)
		found = found || strcmp(((struct segment_choice *)
		    g_ptr_array_index(choices, i))->value, now) == 0;
	if (now == NULL || *now == '\0' || !found) {
		struct value *o = value_new_map();

		value_map_set(o, "value", value_new_string(now != NULL ? now :
		    ""));
		value_map_set(o, "label", value_new_string_take(now != NULL &&
		    *now != '\0' ? g_strdup_printf("%s (as it is now)", now) :
		    g_strdup("(not set)")));
		value_map_set(o, "selected", value_new_bool(TRUE));
		value_list_append(l, o);
	}
	for (i = 0; i < choices->len; i++) {
		const struct segment_choice *c = g_ptr_array_index(choices, i);
		struct value *o = value_new_map();

		value_map_set(o, "value", value_new_string(c->value));
		value_map_set(o, "label", value_new_string(c->label));
		value_map_set(o, "selected", value_new_bool(now != NULL &&
		    strcmp(now, c->value) == 0));
		value_list_append(l, o);
	}
	return l;
}

/* web_attr_list - the editable attributes of LIST as [{key, value,
 * choices}] with SUB's values (SUB may be NULL); choices (radio buttons)
 * when the list's segments test the attribute */
static struct value *
web_attr_list(const struct list_config *list, const struct subscriber *sub)
{
	struct value *l = value_new_list();
	char **k;

	for (k = list->editable; k != NULL && *k != NULL; k++) {
		struct value *m = value_new_map();
		const char *v = sub != NULL ?
		    g_hash_table_lookup(sub->attrs, *k) : NULL;

		g_autoptr(GPtrArray) choices = segment_choices(list, *k);

		value_map_set(m, "key", value_new_string(*k));
		value_map_set(m, "value", value_new_string(v != NULL ? v : ""));
		if (choices->len > 0) {
			value_map_set(m, "has_choices", value_new_bool(TRUE));
			value_map_set(m, "choices", web_attr_choices(choices, v));
		}
		value_list_append(l, m);
	}
	return l;
}

/* web_member_lists - the memberships MS (action_memberships, may be
 * NULL) of lists configured here, as [{display_name, status}] */
static struct value *
web_member_lists(const struct config *config, GPtrArray *ms)
{
	struct value *lists = value_new_list();
	guint i;

	for (i = 0; ms != NULL && i + 1 < ms->len; i += 2) {
		const struct list_config *l = config_list(config,
		    g_ptr_array_index(ms, i), NULL);
		struct value *m;

		if (l == NULL)
			continue;
		m = value_new_map();
		value_map_set(m, "display_name", value_new_string(
		    l->display_name));
		value_map_set(m, "status", value_new_string(
		    g_ptr_array_index(ms, i + 1)));
		value_list_append(lists, m);
	}
	return lists;
}

/* web_preferences - GET: the page; POST: save, or leave every list */
static enum MHD_Result
web_preferences(struct MHD_Connection *c, struct web_req *r,
    const char *token)
{
	const struct list_config *list;
	g_autoptr(subscriber) sub = NULL;
	g_autoptr(GHashTable) attrs = NULL;
	g_autoptr(GPtrArray) ms = NULL;
	struct action_ctx a;
	enum action_state st = ACTION_DONE;
	enum MHD_Result ret;
	gint64 sub_id;
	GError *err = NULL;
	struct value *ctx;
	const char *status, *what;
	guint left = 0;
	gboolean saved = FALSE;

	if (!web_method_ok(r, "GET, HEAD, POST"))
		return web_wrong_method(c, r);
	if ((list = web_token_open(c, r, token, WEB_ACCEPT_UNSUBSCRIBE, FALSE,
	    &sub_id, &a, &sub,
	    &ret)) == NULL)
		return ret;
	if (strcmp(r->method, "POST") == 0) {
		/* limited once the subscriber is known */
		if (!web_limiter_take(&r->web->token_limit, token))
			return web_slow_down(c, r, list);
		what = web_field(r, "action");
		if (what != NULL && strcmp(what, "unsubscribe-all") == 0) {
			if (!action_unsubscribe_all(&a, sub_id, "preferences",
			    &left, &err))
				return web_failed(c, r, list, err);
			if (sub_id <= 0)
				st = ACTION_TEST;
		} else if (what != NULL && strcmp(what, "save") == 0) {
			const char *name = web_field(r, "name");
			g_autofree char *n = name != NULL ?
			    g_strstrip(g_strdup(name)) : NULL;
			g_autoptr(GString) why = g_string_new(NULL);

			if (!web_form_attrs(r, list, sub, &attrs, why) ||
			    (n != NULL && (strlen(n) > 200 ||
			    !subscriber_check_text("name", n, NULL)))) {
				g_string_assign(r->outcome, why->len > 0 ?
				    "preferences: a value not offered" :
				    "preferences: a value not valid");
				return web_error(c, r, MHD_HTTP_BAD_REQUEST, list,
				    "Not saved", why->len > 0 ? why->str :
				    "A value is too long or holds a line break.");
			}
			if (!action_preferences(&a, list, sub_id, n, attrs, &st,
			    &err))
				return web_failed(c, r, list, err);
			saved = st == ACTION_DONE;
			g_clear_pointer(&sub, subscriber_free);
			if (!web_load_sub(&a, sub_id, &sub, &err))
				return web_failed(c, r, list, err);
		} else
			return web_error(c, r, MHD_HTTP_BAD_REQUEST, list,
			    "Not understood", "The form is not one of ours.");
	} else
		g_string_assign(r->outcome, "preferences page");
	ctx = web_subscriber_ctx(list, token, sub);
	if (saved)
		value_map_set(ctx, "saved", value_new_bool(TRUE));
	if (left > 0)
		value_map_set(ctx, "left", value_new_number(left));
	value_map_set(ctx, "name", value_new_string(sub != NULL &&
	    sub->name != NULL ? sub->name : ""));
	value_map_set(ctx, "attributes", web_attr_list(list, sub));
	status = sub != NULL ? action_status(&a, list, sub_id, &err) : "test";
	if (err != NULL) {
		value_unref(ctx);
		return web_failed(c, r, list, err);
	}
	value_map_set(ctx, "status", value_new_string(status != NULL ? status :
	    "not a member"));
	if (sub != NULL && (ms = action_memberships(&a, sub_id, &err)) == NULL) {
		value_unref(ctx);
		return web_failed(c, r, list, err);
	}
	value_map_set(ctx, "lists", web_member_lists(r->web->config, ms));
	return web_page(c, r, MHD_HTTP_OK, "preferences", ctx);
}

/* web_subscribe - GET: the form; POST: the double opt-in request */
static enum MHD_Result
web_subscribe(struct MHD_Connection *c, struct web_req *r, const char *name)
{
	const struct list_config *list;
	g_autoptr(GHashTable) attrs = NULL;
	g_autoptr(GString) why = g_string_new(NULL);
	g_autofree char *email = NULL, *who = NULL;
	struct action_ctx a;
	enum action_state st;
	GError *err = NULL;
	struct value *ctx;

	if (!web_name_ok(name) ||
	    (list = config_list(r->web->config, name, NULL)) == NULL)
		return web_error(c, r, MHD_HTTP_NOT_FOUND, NULL, "No such list",
		    "There is no list of that name here.");
	if (!web_method_ok(r, "GET, HEAD, POST"))
		return web_wrong_method(c, r);
	ctx = value_new_map();
	value_map_set(ctx, "list", web_list_value(list));
	value_map_set(ctx, "attributes", web_attr_list(list, NULL));
	if (strcmp(r->method, "POST") != 0) {
		g_string_assign(r->outcome, "subscribe form");
		return web_page(c, r, MHD_HTTP_OK, "subscribe", ctx);
	}
	email = g_strstrip(g_strdup(web_field(r, "email") != NULL ?
	    web_field(r, "email") : ""));
	who = g_strstrip(g_strdup(web_field(r, "name") != NULL ?
	    web_field(r, "name") : ""));
	if (!subscriber_check_email(email, NULL) ||
	    !web_form_attrs(r, list, NULL, &attrs, why) || strlen(who) > 200 ||
	    !subscriber_check_text("name", who, NULL)) {
		value_unref(ctx);
		g_string_assign(r->outcome, "subscribe form not valid");
		return web_error(c, r, MHD_HTTP_BAD_REQUEST, list,
		    "Not subscribed", why->len > 0 ? why->str : "That is not a"
		    " mail address we can use, or a value is too long or holds"
		    " a line break.");
	}
	if (!web_limiter_take(&r->web->token_limit, email)) {
		value_unref(ctx);
		return web_error(c, r, MHD_HTTP_TOO_MANY_REQUESTS, list,
		    "Slow down", "Too many requests for this address; please"
		    " wait a minute.");
	}
	if (!web_action_ctx(r, &a, &err) ||
	    !action_subscribe_request(&a, list, email, who, attrs, &st, NULL,
	    &err)) {
		value_unref(ctx);
		return web_failed(c, r, list, err);
	}
	/* the same page whatever the address's state: it tells a stranger
	 * nothing about who is subscribed */
	value_map_set(ctx, "sent", value_new_bool(TRUE));
	value_map_set(ctx, "email", value_new_string(email));
	return web_page(c, r, MHD_HTTP_OK, "subscribe", ctx);
}

/* web_confirm - GET: a button; POST: confirm */
static enum MHD_Result
web_confirm(struct MHD_Connection *c, struct web_req *r, const char *token)
{
	const struct list_config *list;
	g_autoptr(subscriber) sub = NULL;
	struct action_ctx a;
	enum token_purpose p;
	enum action_state st;
	enum MHD_Result ret;
	gint64 sub_id;
	GError *err = NULL;
	struct value *ctx;

	if (!web_method_ok(r, "GET, HEAD, POST"))
		return web_wrong_method(c, r);
	/* the subscriber once the confirmation is checked (not expired) */
	if ((list = web_token_open(c, r, token, WEB_ACCEPT_CONFIRM, FALSE,
	    &sub_id, &a, NULL,
	    &ret)) == NULL)
		return ret;
	if (!action_confirm_check(&a, list, token, &p, NULL, &err) ||
	    !web_load_sub(&a, sub_id, &sub, &err))
		return web_failed(c, r, list, err);
	ctx = web_subscriber_ctx(list, token, sub);
	/* not yet (or no longer) a reader: no "why you get this" */
	value_map_set(ctx, "reader", value_new_bool(FALSE));
	if (p == TOKEN_CONFIRM_SUBSCRIBE)
		value_map_set(ctx, "subscribe", value_new_bool(TRUE));
	if (strcmp(r->method, "POST") == 0) {
		if (!web_limiter_take(&r->web->token_limit, token)) {
			value_unref(ctx);
			return web_slow_down(c, r, list);
		}
		if (!action_confirm(&a, list, token, &st, &err)) {
			value_unref(ctx);
			return web_failed(c, r, list, err);
		}
		value_map_set(ctx, "done", value_new_bool(TRUE));
	} else
		g_string_assign(r->outcome, "confirm page");
	return web_page(c, r, MHD_HTTP_OK, "confirm", ctx);
}

/* ------------------------------------------------------------------ */
/* The archive */

/* web_html_part - the text/html part's text of MSG (caller frees) */
static char *
web_html_part(GMimeObject *obj, int depth)
{
	if (obj == NULL || depth > 6)
		return NULL;
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		int i, n = g_mime_multipart_get_count(mp);
		char *t;

		for (i = 0; i < n; i++)
			if ((t = web_html_part(g_mime_multipart_get_part(mp, i),
			    depth + 1)) != NULL)
				return t;
		return NULL;
	}
	if (GMIME_IS_TEXT_PART(obj) && g_mime_content_type_is_type(
	    g_mime_object_get_content_type(obj), "text", "html"))
		return g_mime_text_part_get_text(GMIME_TEXT_PART(obj));
	return NULL;
}

/* web_issue_page - the archive's page of the announcement's HTML
 * (taken): the line of page "issue" (its date WHEN, the way back to the
 * archive) after the <body> tag, the announcement in a <main> after it;
 * NULL and an error when the page cannot be rendered */
static char *
web_issue_page(struct web *web, const struct list_config *list,
    char *html, gint64 when, GError **error)
{
	g_autofree char *mail = html;
	g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(when);
	struct value *ctx = value_new_map();
	struct value *stack[] = { ctx };
	g_autoptr(GString) line = g_string_new(NULL);
	const char *body = strstr(mail, "<body"), *end, *close;
	gboolean ok;

	value_map_set(ctx, "list", web_list_value(list));
	value_map_set(ctx, "date", value_new_string_take(
	    g_date_time_format(dt, "%Y-%m-%d")));
	value_map_set(ctx, "iso", value_new_string_take(
	    g_date_time_format(dt, "%Y-%m-%dT%H:%M:%SZ")));
	ok = template_render(web->pages, "issue", stack, 1,
	    TEMPLATE_ESCAPE_HTML, line, NULL, error);
	value_unref(ctx);
	if (!ok)
		return NULL;
	/* an HTML part with no <body> of its own: one around it */
	if (body == NULL || (end = strchr(body, '>')) == NULL)
		return g_strdup_printf("<!DOCTYPE html>\n<html lang=\"en\">"
		    "<head><meta charset=\"utf-8\"><meta name=\"viewport\" "
		    "content=\"width=device-width, initial-scale=1\"><title>"
		    "%s</title></head><body>\n%s<main>\n%s</main>\n</body>"
		    "</html>\n", list->name, line->str, mail);
	end++;
	if ((close = g_strrstr(end, "</body>")) == NULL)
		close = end + strlen(end);
	return g_strdup_printf("%.*s\n%s<main>\n%.*s</main>\n%s",
	    (int)(end - mail), mail, line->str, (int)(close - end), end, close);
}

/* web_issue_render - campaign ANNOUNCEMENT (a path), sent at WHEN,
 * rendered for no one: no name, no address, and subscriber id 0, whose
 * tokens act on nobody; as the archive shows it (the announcement's
 * flag "archive" set, "calendar" unset: there is no attachment here) */
static struct web_issue *
web_issue_render(struct web *web, const struct list_config *list,
    const char *path, gint64 when, GError **error)
{
	g_autoptr(composer) comp = NULL;
	struct announcement *ann;
	struct subscriber nobody = { 0 };
	g_autoptr(GString) msg = g_string_new(NULL);
	g_autoptr(GHashTable) attrs = g_hash_table_new(g_str_hash, g_str_equal);
	struct web_issue *is;
	GMimeStream *mem;
	GMimeParser *parser;
	GMimeMessage *m;

	if ((ann = announcement_load(path, web->config, error)) == NULL)
		return NULL;
	/* text that only makes sense in the mail ("The attached calendar
	 * file…") is under {{#calendar}} or {{^archive}} */
	value_map_set(ann->data, "archive", value_new_bool(TRUE));
	value_map_set(ann->data, "calendar", value_new_bool(FALSE));
	/* the copy of no one carries no one's footer (the address it went
	 * to, the links to leave or to the preferences): the shared footer
	 * partials become a neutral line with the subscribe form's link */
	if ((template_set_has(ann->set, "footer-html") &&
	    !template_set_add(ann->set, "footer-html", WEB_ARCHIVE_FOOTER_HTML,
	    "(archive footer)", error)) ||
	    (template_set_has(ann->set, "footer-text") &&
	    !template_set_add(ann->set, "footer-text", WEB_ARCHIVE_FOOTER_TEXT,
	    "(archive footer)", error)) ||
	    !template_set_check(ann->set, FALSE, error)) {
		announcement_free(ann);
		return NULL;
	}
	/* the composer borrows the announcement's templates: free it last */
	comp = composer_new(ann, list, web->key, NULL, COMPOSER_NO_CALENDAR,
	    error);
	nobody.email = (char *)"reader@invalid";
	nobody.attrs = attrs;
	if (comp == NULL || !composer_render(comp, &nobody, NULL, NULL, 0, msg,
	    NULL, NULL, error)) {
		g_clear_pointer(&comp, composer_free);
		announcement_free(ann);
		return NULL;
	}
	is = g_new0(struct web_issue, 1);
	is->subject = composer_subject(comp, &nobody, NULL, NULL, NULL);
	g_clear_pointer(&comp, composer_free);
	announcement_free(ann);
	mem = g_mime_stream_mem_new_with_buffer(msg->str, msg->len);
	parser = g_mime_parser_new_with_stream(mem);
	if ((m = g_mime_parser_construct_message(parser, NULL)) != NULL) {
		is->html = web_html_part(g_mime_message_get_mime_part(m), 0);
		g_object_unref(m);
	}
	g_object_unref(parser);
	g_object_unref(mem);
	if (is->subject == NULL)
		is->subject = g_strdup("(no subject)");
	if (is->html == NULL)
		is->html = g_strdup("<p>(no HTML part)</p>");
	if ((is->html = web_issue_page(web, list, is->html, when,
	    error)) == NULL) {
		web_issue_free(is);
		return NULL;
	}
	return is;
}

/* web_issue - the cached rendering of campaign ID, sent at WHEN
 * (borrowed) */
static const struct web_issue *
web_issue(struct web *web, const struct list_config *list, gint64 id,
    const char *path, gint64 when, GError **error)
{
	struct web_issue *is;

	g_mutex_lock(&web->archive_lock);
	if ((is = g_hash_table_lookup(web->archive, &id)) == NULL &&
	    (is = web_issue_render(web, list, path, when, error)) != NULL) {
		gint64 *k = g_new(gint64, 1);

		*k = id;
		g_hash_table_insert(web->archive, k, is);
	}
	g_mutex_unlock(&web->archive_lock);
	return is;
}

/* web_archive_items - ISSUES (store_archive_issues) as the archive's
 * list of campaigns; *UPDATED the newest date. With WANT, *ONE is that
 * campaign's rendering when it could be made (NULL when not). */
static struct value *
web_archive_items(struct web *web, const struct list_config *list,
    GArray *issues, gint64 want, gint64 *updated,
    const struct web_issue **one)
{
	struct value *items = value_new_list();
	guint i;

	*one = NULL;
	for (i = 0; i < issues->len; i++) {
		struct store_archive_issue *si = &g_array_index(issues,
		    struct store_archive_issue, i);
		g_autoptr(GError) ierr = NULL;
		const struct web_issue *is = web_issue(web, list, si->id,
		    si->announcement, si->when, &ierr);
		g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(si->when);
		struct value *m;

		if (is == NULL)
			log_warnx("serve: archive of %s, campaign %" G_GINT64_FORMAT
			    ": %s", list->name, si->id, ierr->message);
		if (si->when > *updated)
			*updated = si->when;
		if (want > 0 && is != NULL) {
			*one = is;
			break;
		}
		m = value_new_map();
		value_map_set(m, "id", value_new_number((double)si->id));
		value_map_set(m, "subject", value_new_string(is != NULL ?
		    is->subject : "(not available)"));
		value_map_set(m, "date", value_new_string_take(
		    g_date_time_format(dt, "%Y-%m-%d")));
		value_map_set(m, "iso", value_new_string_take(
		    g_date_time_format(dt, "%Y-%m-%dT%H:%M:%SZ")));
		value_list_append(items, m);
	}
	return items;
}

/* web_archive_feed - the archive's Atom feed of CTX (taken), the newest
 * entry of UPDATED */
static enum MHD_Result
web_archive_feed(struct MHD_Connection *c, struct web_req *r,
    const struct list_config *list, struct value *ctx, gint64 updated)
{
	GString *out = g_string_new(NULL);
	struct value *stack[] = { ctx };
	g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(updated);
	const char *base = r->web->config->web.base_url;
	g_autofree char *self = g_strdup_printf("%s/archive/%s/",
	    base != NULL ? base : "", list->name);
	GError *err = NULL;

	value_map_set(ctx, "updated", value_new_string_take(
	    g_date_time_format(dt, "%Y-%m-%dT%H:%M:%SZ")));
	value_map_set(ctx, "base", value_new_string(self));
	value_map_set(ctx, "self", value_new_string_take(g_strconcat(self,
	    "feed.atom", NULL)));
	if (!template_render(r->web->pages, "feed", stack, 1,
	    TEMPLATE_ESCAPE_HTML, out, NULL, &err)) {
		value_unref(ctx);
		g_string_free(out, TRUE);
		return web_failed(c, r, list, err);
	}
	value_unref(ctx);
	g_string_assign(r->outcome, "archive feed");
	return web_respond(c, r, MHD_HTTP_OK,
	    "application/atom+xml; charset=utf-8", g_string_free(out, FALSE),
	    FALSE);
}

/* web_archive_list - the archive's list of LIST, the feed (FEED), or
 * campaign WANT alone, read from the store */
static enum MHD_Result
web_archive_list(struct MHD_Connection *c, struct web_req *r,
    const struct list_config *list, gint64 want, gboolean feed)
{
	g_autoptr(GArray) issues = NULL;
	const struct web_issue *one;
	struct action_ctx a;
	GError *err = NULL;
	struct value *ctx, *items;
	gint64 updated = 0;

	if (!web_action_ctx(r, &a, &err) || (issues = store_archive_issues(
	    a.store, list->name, want, &err)) == NULL)
		return web_failed(c, r, list, err);
	items = web_archive_items(r->web, list, issues, want, &updated, &one);
	if (want > 0) {
		value_unref(items);
		if (one == NULL)
			return web_error(c, r, MHD_HTTP_NOT_FOUND, list,
			    "Not here", "There is no such page in this archive.");
		g_string_printf(r->outcome, "archive %" G_GINT64_FORMAT, want);
		return web_respond(c, r, MHD_HTTP_OK, "text/html; charset=utf-8",
		    g_strdup(one->html), FALSE);
	}
	ctx = value_new_map();
	value_map_set(ctx, "list", web_list_value(list));
	value_map_set(ctx, "campaigns", items);
	if (feed)
		return web_archive_feed(c, r, list, ctx, updated);
	g_string_assign(r->outcome, "archive");
	return web_page(c, r, MHD_HTTP_OK, "archive", ctx);
}

/* web_archive - /archive/LIST/, /archive/LIST/ID, /archive/LIST/feed.atom */
static enum MHD_Result
web_archive(struct MHD_Connection *c, struct web_req *r, const char *name,
    const char *rest)
{
	const struct list_config *list;
	gint64 want = 0;
	gboolean feed = FALSE;

	if (!web_name_ok(name) ||
	    (list = config_list(r->web->config, name, NULL)) == NULL ||
	    list->archive == ARCHIVE_OFF)
		return web_error(c, r, MHD_HTTP_NOT_FOUND, NULL, "Not here",
		    "There is no archive of that name here.");
	if (!web_method_ok(r, "GET, HEAD"))
		return web_wrong_method(c, r);
	if (list->archive == ARCHIVE_PRIVATE)
		return web_error(c, r, MHD_HTTP_FORBIDDEN, list, "Private",
		    "The archive of this list is not public.");
	if (rest == NULL)
		return web_respond(c, r, MHD_HTTP_NOT_FOUND,
		    "text/plain; charset=utf-8", g_strdup("not found\n"), FALSE);
	if (strcmp(rest, "feed.atom") == 0)
		feed = TRUE;
	else if (*rest != '\0') {
		char *end;

		want = g_ascii_strtoll(rest, &end, 10);
		if (*end != '\0' || want <= 0)
			return web_error(c, r, MHD_HTTP_NOT_FOUND, list, "Not here",
			    "There is no such page in this archive.");
	}
	return web_archive_list(c, r, list, want, feed);
}

/* web_health - the store answers */
static enum MHD_Result
web_health(struct MHD_Connection *c, struct web_req *r)
{
	struct action_ctx a;
	GError *err = NULL;

	if (!web_method_ok(r, "GET, HEAD"))
		return web_wrong_method(c, r);
	if (!web_action_ctx(r, &a, &err) || !store_serve_ping(a.store, &err)) {
		g_clear_error(&err);
		return web_respond(c, r, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "text/plain; charset=utf-8", g_strdup("store unavailable\n"),
		    TRUE);
	}
	return web_respond(c, r, MHD_HTTP_OK, "text/plain; charset=utf-8",
	    g_strdup("ok\n"), TRUE);
}

/* web_metrics_page - GET /metrics: the Prometheus text, to the clients
 * of web.metrics_allow only (others: 404, as for no page at all) */
static enum MHD_Result
web_metrics_page(struct MHD_Connection *c, struct web_req *r)
{
	struct action_ctx a;
	GError *err = NULL;
	char *text;

	if (!web_metrics_allowed(r->web->metrics, r->client))
		return web_error(c, r, MHD_HTTP_NOT_FOUND, NULL, "Not here",
		    "There is no page at this address.");
	if (!web_method_ok(r, "GET, HEAD"))
		return web_wrong_method(c, r);
	if (!web_action_ctx(r, &a, &err) || (text = web_metrics_render(
	    r->web->metrics, r->web->config, a.store, &err)) == NULL) {
		log_warnx("serve: /metrics: %s", err->message);
		g_clear_error(&err);
		return web_respond(c, r, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "text/plain; charset=utf-8", g_strdup("store unavailable\n"),
		    TRUE);
	}
	return web_respond(c, r, MHD_HTTP_OK,
	    "text/plain; version=0.0.4; charset=utf-8", text, TRUE);
}

/* web_form_utf8 - every form field's name and value is UTF-8 */
static gboolean
web_form_utf8(struct web_req *r)
{
	GHashTableIter it;
	gpointer k, v;

	g_hash_table_iter_init(&it, r->form);
	while (g_hash_table_iter_next(&it, &k, &v))
		if (!g_utf8_validate(k, -1, NULL) || !g_utf8_validate(
		    ((GString *)v)->str, (gssize)((GString *)v)->len, NULL))
			return FALSE;
	return TRUE;
}

/* web_mydata - POST /mydata/TOKEN: the subscriber's data as a JSON
 * file (mydata.c); a GET changes nothing and gets the preferences */
static enum MHD_Result
web_mydata(struct MHD_Connection *c, struct web_req *r, const char *token)
{
	const struct list_config *list;
	struct MHD_Response *resp;
	struct action_ctx a;
	enum MHD_Result ret;
	gint64 sub_id;
	GError *err = NULL;
	char *json;

	if (!web_method_ok(r, "POST"))
		return web_wrong_method(c, r);
	if ((list = web_token_open(c, r, token, WEB_ACCEPT_UNSUBSCRIBE, TRUE,
	    &sub_id, &a, NULL, &ret)) == NULL)
		return ret;
	if (sub_id <= 0)
		return web_error(c, r, MHD_HTTP_OK, list, "A test copy's link",
		    "This link came in a test copy: it holds nobody's data.");
	if ((json = mydata_json(a.store, sub_id, &err)) == NULL)
		return web_failed(c, r, list, err);
	resp = MHD_create_response_from_buffer_with_free_callback(strlen(json),
	    json, g_free);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "application/json; charset=utf-8");
	MHD_add_response_header(resp, "Content-Disposition",
	    "attachment; filename=\"my-data.json\"");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	ret = MHD_queue_response(c, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	r->status = MHD_HTTP_OK;
	r->answered = TRUE;
	g_string_assign(r->outcome, "data downloaded");
	return ret;
}

/* web_erase - GET or a POST without confirm=yes: the confirmation page,
 * nothing changed; POST confirm=yes: the subscriber erased (mydata.c) */
static enum MHD_Result
web_erase(struct MHD_Connection *c, struct web_req *r, const char *token)
{
	const struct list_config *list;
	g_autoptr(subscriber) sub = NULL;
	struct action_ctx a;
	enum MHD_Result ret;
	gint64 sub_id;
	GError *err = NULL;
	gboolean post = strcmp(r->method, "POST") == 0;
	const char *yes = web_field(r, "confirm");

	if (!web_method_ok(r, "GET, HEAD, POST"))
		return web_wrong_method(c, r);
	if ((list = web_token_open(c, r, token, WEB_ACCEPT_UNSUBSCRIBE, post,
	    &sub_id, &a, &sub, &ret)) == NULL)
		return ret;
	if (!post || yes == NULL || strcmp(yes, "yes") != 0) {
		g_string_assign(r->outcome, "erase: asked to confirm");
		return web_page(c, r, MHD_HTTP_OK, "erase",
		    web_subscriber_ctx(list, token, sub));
	}
	if (sub_id > 0 && !mydata_erase(a.store, r->web->key, sub_id, &err))
		return web_failed(c, r, list, err);
	g_string_assign(r->outcome, sub_id > 0 ? "erased" : "erase: test copy");
	return web_page(c, r, MHD_HTTP_OK, "erased",
	    web_subscriber_ctx(list, token, sub));
}

/* web_track_answer - R's tracked link or image (web_track.c) */
static enum MHD_Result
web_track_answer(struct MHD_Connection *c, struct web_req *r)
{
	struct MHD_Response *resp = web_track_response(r->track, &r->status,
	    r->outcome);
	enum MHD_Result ret = MHD_queue_response(c, r->status, resp);

	MHD_destroy_response(resp);
	r->answered = TRUE;
	return ret;
}

/* web_track_route - GET|HEAD /l/TOKEN or /o/TOKEN: answered at once, or
 * once its count is written; 404 and no Location for a bad token */
static enum MHD_Result
web_track_route(struct MHD_Connection *c, struct web_req *r,
    const char *what, const char *token)
{
	const char *why = NULL;

	if (!web_method_ok(r, "GET, HEAD"))
		return web_wrong_method(c, r);
	if (web_token_ok(token))
		r->track = web_track_begin(r->web->track, c, what[0], token,
		    r->method, r->client, MHD_lookup_connection_value(c,
		    MHD_HEADER_KIND, MHD_HTTP_HEADER_USER_AGENT), &why);
	if (r->track == NULL) {
		g_string_printf(r->outcome, "no such link: %s",
		    why != NULL ? why : "not token-shaped");
		if (!web_limiter_take(&r->web->ip_limit, r->client))
			return web_error(c, r, MHD_HTTP_TOO_MANY_REQUESTS, NULL,
			    "Slow down", "Too many requests from your address;"
			    " please wait a minute.");
		return web_error(c, r, MHD_HTTP_NOT_FOUND, NULL,
		    "This link does not work", "The link is not valid: it may"
		    " have been cut short or changed on its way. Please use the"
		    " link in the message as it is.");
	}
	return web_track_queued(r->track) ? MHD_YES : web_track_answer(c, r);
}

/* web_route - the request is whole: answer it */
static enum MHD_Result
web_route(struct MHD_Connection *c, struct web_req *r, const char *url)
{
	g_auto(GStrv) parts = NULL;
	const char *what, *arg;
	guint n;

	if (r->too_big)
		return web_error(c, r, MHD_HTTP_CONTENT_TOO_LARGE, NULL,
		    "Too large", "The request is larger than this server takes.");
	if (url[0] != '/' || r->bad_form || !web_form_utf8(r))
		return web_error(c, r, MHD_HTTP_BAD_REQUEST, NULL, "Not understood",
		    "The request's address or form is malformed.");
	parts = g_strsplit(url + 1, "/", 4);
	n = g_strv_length(parts);
	what = n > 0 ? parts[0] : "";
	arg = n > 1 ? parts[1] : NULL;
	if (strcmp(what, "health") == 0 && n == 1)
		return web_health(c, r);
	if (strcmp(what, "metrics") == 0 && n == 1)
		return web_metrics_page(c, r);
	if (strcmp(what, "archive") == 0 && n >= 2 && n <= 3)
		return web_archive(c, r, arg, n == 3 ? parts[2] : NULL);
	if ((strcmp(what, "l") == 0 || strcmp(what, "o") == 0) && n == 2 &&
	    arg != NULL)
		return web_track_route(c, r, what, arg);
	if (n != 2 || arg == NULL || *arg == '\0')
		return web_error(c, r, MHD_HTTP_NOT_FOUND, NULL, "Not here",
		    "There is no page at this address.");
	if (strcmp(what, "subscribe") == 0)
		return web_subscribe(c, r, arg);
	if (strcmp(what, "unsubscribe") != 0 && strcmp(what, "resubscribe") &&
	    strcmp(what, "preferences") != 0 && strcmp(what, "confirm") != 0 &&
	    strcmp(what, "mydata") != 0 && strcmp(what, "erase") != 0)
		return web_error(c, r, MHD_HTTP_NOT_FOUND, NULL, "Not here",
		    "There is no page at this address.");
	if (!web_token_ok(arg))
		return web_bad_token(c, r, "not token-shaped");
	if (strcmp(what, "unsubscribe") == 0)
		return web_unsubscribe(c, r, arg);
	if (strcmp(what, "resubscribe") == 0)
		return web_resubscribe(c, r, arg);
	if (strcmp(what, "preferences") == 0)
		return web_preferences(c, r, arg);
	if (strcmp(what, "mydata") == 0)
		return web_mydata(c, r, arg);
	if (strcmp(what, "erase") == 0)
		return web_erase(c, r, arg);
	return web_confirm(c, r, arg);
}

/* ------------------------------------------------------------------ */
/* libmicrohttpd's callbacks */

/* web_post_field - one piece of a form field */
static enum MHD_Result
web_post_field(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *filename, const char *content_type,
    const char *transfer_encoding, const char *data, uint64_t off,
    size_t size)
{
	struct web_req *r = cls;
	GString *v;

	if (key == NULL || filename != NULL) {
		r->bad_form = r->bad_form || filename != NULL;
		return MHD_YES;
	}
	if ((v = g_hash_table_lookup(r->form, key)) == NULL) {
		if (g_hash_table_size(r->form) >= WEB_MAX_FIELDS) {
			r->bad_form = TRUE;
			return MHD_NO;
		}
		v = g_string_new(NULL);
		g_hash_table_insert(r->form, g_strdup(key), v);
	}
	if (v->len + size > WEB_MAX_FIELD) {
		r->bad_form = TRUE;
		return MHD_NO;
	}
	g_string_append_len(v, data, (gssize)size);
	if (memchr(v->str, '\0', v->len) != NULL)
		r->bad_form = TRUE;
	return MHD_YES;
}

/* web_gstring_free - a form field's value */
static void
web_gstring_free(gpointer p)
{
	g_string_free(p, TRUE);
}

/* web_path_for_log - URL as the log shows it: every token-shaped path
 * segment (log_token_shaped) made "-", whatever route it is on or
 * however the path was spelled (//unsubscribe/T, /./Unsubscribe/T,
 * /archive/T/), bytes outside printable ASCII made '?', at most 120
 * characters */
static char *
web_path_for_log(const char *url)
{
	g_autofree char *masked = NULL;
	GString *s;
	const char *p;

	if (url[0] == '\x01')
		return g_strdup("(malformed)");
	masked = log_clean(url, TRUE);
	s = g_string_new(NULL);
	for (p = masked; *p != '\0' && s->len < 120; p++)
		g_string_append_c(s, g_ascii_isprint(*p) && *p != '\\' ? *p :
		    '?');
	return g_string_free(s, FALSE);
}

/* web_client - the client's address: the peer, or the last
 * X-Forwarded-For hop when the peer is a trusted proxy */
static void
web_client(struct web *web, struct MHD_Connection *c, char *out, size_t len)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c,
	    MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const char *xff;
	char **p;

	g_strlcpy(out, "?", len);
	if (ci == NULL || ci->client_addr == NULL || getnameinfo(ci->client_addr,
	    ci->client_addr->sa_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in), out,
	    (socklen_t)len, NULL, 0, NI_NUMERICHOST) != 0)
		return;
	if ((xff = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    "X-Forwarded-For")) == NULL)
		return;
	for (p = web->config->web.trusted_proxies; p != NULL && *p != NULL; p++)
		if (strcmp(*p, out) == 0) {
			const char *last = strrchr(xff, ',');
			g_autofree char *hop = g_strstrip(g_strdup(last != NULL ?
			    last + 1 : xff));
			struct in6_addr a6;
			struct in_addr a4;

			if (inet_pton(AF_INET, hop, &a4) == 1 ||
			    inet_pton(AF_INET6, hop, &a6) == 1)
				g_strlcpy(out, hop, len);
			return;
		}
}

/* web_conn_of - C's deadline record (NULL before it was noted) */
static struct web_conn *
web_conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c,
	    MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci != NULL ? ci->socket_context : NULL;
}

/* web_conn_next_request - a request of C was answered: the next one's
 * deadline counts from now */
static void
web_conn_next_request(struct web *web, struct MHD_Connection *c)
{
	struct web_conn *wc = web_conn_of(c);

	if (wc == NULL)
		return;
	g_mutex_lock(&web->conns_lock);
	wc->start = g_get_monotonic_time();
	wc->routing = FALSE;
	g_mutex_unlock(&web->conns_lock);
}

/* web_conn_notify - MHD's connection start and end: keep the set the
 * deadline watchdog walks */
static void
web_conn_notify(void *cls, struct MHD_Connection *c, void **socket_context,
    enum MHD_ConnectionNotificationCode code)
{
	struct web *web = cls;
	struct web_conn *wc;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c,
		    MHD_CONNECTION_INFO_CONNECTION_FD);

		wc = g_new0(struct web_conn, 1);
		wc->fd = ci != NULL ? ci->connect_fd : -1;
		wc->start = g_get_monotonic_time();
		g_mutex_lock(&web->conns_lock);
		g_hash_table_add(web->conns, wc);
		g_mutex_unlock(&web->conns_lock);
		*socket_context = wc;
		return;
	}
	if ((wc = *socket_context) == NULL)
		return;
	g_mutex_lock(&web->conns_lock);
	g_hash_table_remove(web->conns, wc);
	g_mutex_unlock(&web->conns_lock);
	g_free(wc);
	*socket_context = NULL;
}

/* web_deadline_main - the watchdog: a connection whose request is not
 * read within web.request_timeout gets a 408 written on its socket and
 * its sending side shut; a second later its reading side too, so MHD
 * sees the end and closes it (the client had that second to read the
 * 408). MHD's own timeout counts idle time only: a client sending a byte
 * a second would hold its connection for ever. Nothing is written to a
 * connection being answered (routing). */
static gpointer
web_deadline_main(gpointer data)
{
	static const char answer[] = "HTTP/1.1 408 Request Timeout\r\n"
	    "Connection: close\r\nContent-Type: text/plain; charset=utf-8\r\n"
	    "Content-Length: 42\r\n\r\n"
	    "The request took too long; please retry.\r\n";
	struct web *web = data;
	gint64 limit = (gint64)web->config->web.request_timeout *
	    G_USEC_PER_SEC;

	g_mutex_lock(&web->conns_lock);
	while (!web->watchdog_stop) {
		gint64 now = g_get_monotonic_time();
		GHashTableIter it;
		gpointer key;

		g_hash_table_iter_init(&it, web->conns);
		while (g_hash_table_iter_next(&it, &key, NULL)) {
			struct web_conn *wc = key;

			if (wc->fd < 0 || wc->routing)
				continue;
			if (wc->timed_out == 1) {
				shutdown(wc->fd, SHUT_RD);
				g_atomic_int_set(&wc->timed_out, 2);
			} else if (wc->timed_out == 0 && now - wc->start > limit) {
				/* best effort: a full send buffer drops it */
				(void)!send(wc->fd, answer, sizeof(answer) - 1,
				    MSG_NOSIGNAL | MSG_DONTWAIT);
				shutdown(wc->fd, SHUT_WR);
				g_atomic_int_set(&wc->timed_out, 1);
				log_info("serve: a request not read within %ds:"
				    " 408", web->config->web.request_timeout);
			}
		}
		g_cond_wait_until(&web->conns_cond, &web->conns_lock,
		    g_get_monotonic_time() + G_USEC_PER_SEC);
	}
	g_mutex_unlock(&web->conns_lock);
	return NULL;
}

/* web_count_length - MHD_get_connection_values's callback: the
 * Content-Length values seen, and whether two differ */
static enum MHD_Result
web_count_length(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	const char **first = cls;

	if (g_ascii_strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) != 0)
		return MHD_YES;
	if (first[0] == NULL)
		first[0] = value;
	else if (strcmp(first[0], value) != 0)
		first[1] = value;
	return MHD_YES;
}

/* web_content_lengths_differ - the request has two Content-Length
 * headers that disagree (a request smuggler's shape; RFC 9112 6.3 says
 * refuse it) */
static gboolean
web_content_lengths_differ(struct MHD_Connection *c)
{
	const char *seen[2] = { NULL, NULL };

	MHD_get_connection_values(c, MHD_HEADER_KIND, web_count_length, seen);
	return seen[1] != NULL;
}

/* web_access - MHD's access handler: set up, take the body, answer */
static enum MHD_Result
web_access(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct web *web = cls;
	struct web_req *r = *con_cls;
	struct web_conn *wc = web_conn_of(c);
	const char *cl;

	if (wc != NULL && g_atomic_int_get(&wc->timed_out) != 0)
		return MHD_NO;	/* answered 408 by the watchdog: hang up */
	if (r == NULL) {
		r = g_new0(struct web_req, 1);
		r->web = web;
		r->start = g_get_monotonic_time();
		r->method = g_strndup(method, 16);
		r->path = web_path_for_log(url);
		r->route = web_metrics_route(url);
		r->outcome = g_string_new(NULL);
		r->form = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
		    web_gstring_free);
		web_client(web, c, r->client, sizeof(r->client));
		*con_cls = r;
		if (web_content_lengths_differ(c))
			return web_error(c, r, MHD_HTTP_BAD_REQUEST, NULL,
			    "Not understood", "The request has two different"
			    " Content-Length headers.");
		/* one-click POSTs come in bursts from a few mail providers'
		 * addresses: they are limited per token, and their client
		 * address pays only for a token that is not valid */
		r->one_click = (strcmp(method, "POST") == 0 &&
		    g_str_has_prefix(url, "/unsubscribe/")) ||
		    /* clicks too: a bad token pays (web_track_route) */
		    g_str_has_prefix(url, "/l/") || g_str_has_prefix(url, "/o/");
		if (!r->one_click && !web_limiter_take(&web->ip_limit, r->client))
			return web_error(c, r, MHD_HTTP_TOO_MANY_REQUESTS, NULL,
			    "Slow down", "Too many requests from your address;"
			    " please wait a minute.");
		cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl != NULL && g_ascii_strtoull(cl, NULL, 10) >
		    (guint64)web->config->web.max_body) {
			r->too_big = TRUE;
			return web_route(c, r, url);
		}
		if (strcmp(method, "POST") == 0)
			r->pp = MHD_create_post_processor(c, 4096, web_post_field,
			    r);
		return MHD_YES;
	}
	if (r->answered) {
		*upload_data_size = 0;	/* a refused body is not read on */
		return MHD_YES;
	}
	if (r->queued) {
		*upload_data_size = 0;
		return web_group_answer(c, r);
	}
	if (r->track != NULL) {	/* its count is written: resumed */
		*upload_data_size = 0;
		return web_track_answer(c, r);
	}
	if (*upload_data_size > 0) {
		r->body += *upload_data_size;
		if (r->body > (gsize)web->config->web.max_body) {
			/* read on and drop it, so the client (still sending)
			 * reads the 413; past WEB_DISCARD, hang up */
			r->too_big = TRUE;
			*upload_data_size = 0;
			return r->body > WEB_DISCARD ? MHD_NO : MHD_YES;
		}
		if (r->pp == NULL)	/* a POST body in no form encoding */
			r->bad_form = r->bad_form || strcmp(method, "POST") == 0;
		else if (!r->bad_form && MHD_post_process(r->pp, upload_data,
		    *upload_data_size) != MHD_YES)
			r->bad_form = TRUE;
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (wc != NULL) {
		g_mutex_lock(&web->conns_lock);
		wc->routing = wc->timed_out == 0;
		g_mutex_unlock(&web->conns_lock);
		if (!wc->routing)
			return MHD_NO;
	}
	return web_route(c, r, url);
}

/* web_completed - the request's one log line, and its end */
static void
web_completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct web_req *r = *con_cls;
	gint64 us;

	if (r == NULL)
		return;
	web_conn_next_request(r->web, c);
	us = g_get_monotonic_time() - r->start;
	web_metrics_count(r->web->metrics, r->route, r->answered ? r->status :
	    0, r->one_click, us);
	/* the answer is out (the change was committed before it): now the
	 * notices the change queued, whose words end the log line */
	if (r->notices != NULL) {
		struct store *st = web_store(r->web, NULL);

		if (st != NULL)
			action_notices_send(r->web->config, st, r->notices,
			    g_get_real_time() / G_USEC_PER_SEC, r->outcome);
		g_array_unref(r->notices);
	}
	log_info("serve: %s %s %s %u %.1fms%s%s%s", r->client, r->method,
	    r->path, r->answered ? r->status : 0, us / 1000.0,
	    r->outcome->len > 0 ? " (" : "", r->outcome->str,
	    r->outcome->len > 0 ? ")" : "");
	if (r->pp != NULL)
		MHD_destroy_post_processor(r->pp);
	g_clear_pointer(&r->job_sub, subscriber_free);
	g_clear_error(&r->job_err);
	g_free(r->job_token);
	web_track_job_free(r->track);
	g_hash_table_unref(r->form);
	g_string_free(r->outcome, TRUE);
	g_free(r->method);
	g_free(r->path);
	g_free(r);
	*con_cls = NULL;
}

/* ------------------------------------------------------------------ */
/* The server */

/* web_templates - the folder of the pages */
static char *
web_templates(const struct config *config)
{
	if (config->web.templates != NULL)
		return g_strdup(config->web.templates);
	if (config->path != NULL) {
		g_autofree char *d = g_path_get_dirname(config->path);
		char *dir = g_build_filename(d, "..", "templates", "web", NULL);

		if (g_file_test(dir, G_FILE_TEST_IS_DIR))
			return dir;
		g_free(dir);
	}
	if (g_file_test("templates/web", G_FILE_TEST_IS_DIR))
		return g_strdup("templates/web");
	return g_build_filename(DATADIR, "herald", "templates", "web", NULL);
}

/* web_new - see web.h */
struct web *
web_new(const struct config *config, const struct token_key *key,
    const char *listen, GError **error)
{
	struct web *web = g_new0(struct web, 1);
	g_autofree char *dir = web_templates(config);
	static const char *const pages[] = { "layout", "error", "unsubscribe",
	    "unsubscribed", "resubscribed", "preferences", "subscribe",
	    "confirm", "archive", "feed", "erase", "erased", "issue" };
	size_t i;

	web->config = config;
	web->key = key;
	web->listen = g_strdup(listen != NULL ? listen : config->web.listen);
	web->pages = template_set_new();
	web_limiter_init(&web->ip_limit, config->web.ip_rate);
	web_limiter_init(&web->token_limit, config->web.token_rate);
	g_mutex_init(&web->archive_lock);
	g_mutex_init(&web->write_lock);
	g_mutex_init(&web->group_lock);
	g_mutex_init(&web->conns_lock);
	g_cond_init(&web->conns_cond);
	web->conns = g_hash_table_new(NULL, NULL);
	g_cond_init(&web->group_cond);
	web->group = g_ptr_array_new();
	web->track = web_track_new(config, key);
	web->archive = g_hash_table_new_full(g_int64_hash, g_int64_equal,
	    g_free, web_issue_free);
	if (!listen_addr_parse(web->listen, &web->addr, &web->addrlen, error) ||
	    (web->metrics = web_metrics_new(config, error)) == NULL)
		goto fail;
	if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
		    "%s: no page templates here (web { templates = … })", dir);
		goto fail;
	}
	if (!template_set_add_dir(web->pages, dir, error) ||
	    !template_set_check(web->pages, FALSE, error))
		goto fail;
	for (i = 0; i < G_N_ELEMENTS(pages); i++)
		if (!template_set_has(web->pages, pages[i])) {
			g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
			    "%s: the page template %s.mustache is missing", dir,
			    pages[i]);
			goto fail;
		}
	return web;
fail:
	web_free(web);
	return NULL;
}

/* web_deadline_stop - end the watchdog */
static void
web_deadline_stop(struct web *web)
{
	g_mutex_lock(&web->conns_lock);
	web->watchdog_stop = TRUE;
	g_cond_signal(&web->conns_cond);
	g_mutex_unlock(&web->conns_lock);
	if (web->watchdog != NULL)
		g_thread_join(web->watchdog);
	web->watchdog = NULL;
}

/* web_start - see web.h */
gboolean
web_start(struct web *web, GError **error)
{
	const struct web_config *wc = &web->config->web;
	const union MHD_DaemonInfo *di;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
	    MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
	char host[INET6_ADDRSTRLEN];
	int port = 0;

	if (web->addr.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	web->group_stop = FALSE;
	web->writer = g_thread_new("herald-web-writer", web_group_main, web);
	web_track_start(web->track);
	web->watchdog_stop = FALSE;
	web->watchdog = g_thread_new("herald-web-deadline", web_deadline_main,
	    web);
	web->daemon = MHD_start_daemon(flags, 0, NULL, NULL, web_access, web,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&web->addr,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned)wc->threads,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)wc->max_connections,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)wc->per_ip_connections,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)wc->timeout,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)WEB_CONN_MEMORY,
	    MHD_OPTION_LISTEN_BACKLOG_SIZE, 512u,
	    MHD_OPTION_NOTIFY_COMPLETED, web_completed, web,
	    MHD_OPTION_NOTIFY_CONNECTION, web_conn_notify, web,
	    MHD_OPTION_UNESCAPE_CALLBACK, web_unescape, NULL,
	    MHD_OPTION_END);
	if (web->daemon == NULL) {
		int e = errno;

		web_group_stop(web);
		web_track_stop(web->track);
		web_deadline_stop(web);
		errno = e;
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_TEMP,
		    "cannot listen on %s: %s", web->listen, g_strerror(errno));
		return FALSE;
	}
	di = MHD_get_daemon_info(web->daemon, MHD_DAEMON_INFO_BIND_PORT);
	if (di != NULL)
		port = di->port;
	if (getnameinfo((struct sockaddr *)&web->addr, web->addrlen, host,
	    sizeof(host), NULL, 0, NI_NUMERICHOST) != 0)
		g_strlcpy(host, "?", sizeof(host));
	web->bound = g_strdup_printf(web->addr.ss_family == AF_INET6 ?
	    "[%s]:%d" : "%s:%d", host, port);
	return TRUE;
}

/* web_address - see web.h */
const char *
web_address(const struct web *web)
{
	return web->bound != NULL ? web->bound : web->listen;
}

/* web_stop - see web.h */
void
web_stop(struct web *web)
{
	if (web->daemon == NULL)
		return;
	MHD_quiesce_daemon(web->daemon);
	/* MHD must not stop with a connection suspended: the writer writes
	 * and resumes every one it holds first */
	web_group_stop(web);
	web_track_stop(web->track);
	MHD_stop_daemon(web->daemon);
	web->daemon = NULL;
	web_deadline_stop(web);
}

/* web_free - see web.h */
void
web_free(struct web *web)
{
	if (web == NULL)
		return;
	web_stop(web);
	template_set_free(web->pages);
	web_limiter_clear(&web->ip_limit);
	web_limiter_clear(&web->token_limit);
	g_hash_table_unref(web->archive);
	g_mutex_clear(&web->archive_lock);
	g_mutex_clear(&web->write_lock);
	g_mutex_clear(&web->group_lock);
	g_cond_clear(&web->group_cond);
	g_mutex_clear(&web->conns_lock);
	g_cond_clear(&web->conns_cond);
	g_hash_table_unref(web->conns);
	g_ptr_array_unref(web->group);
	web_track_free(web->track);
	g_free(web->listen);
	g_free(web->bound);
	web_metrics_free(web->metrics);
	g_free(web);
}

/* web_nginx - see web.h */
char *
web_nginx(const struct config *config)
{
	const char *base = config->web.base_url != NULL ?
	    config->web.base_url : "https://lists.example.org";
	const char *host = strstr(base, "://") != NULL ?
	    strstr(base, "://") + 3 : base;
	g_autofree char *name = g_strndup(host, strcspn(host, "/:"));
	const char *path = strchr(host, '/');

	return g_strdup_printf("# herald serve behind nginx: TLS here, plain"
	    " HTTP to herald on %s.\n# herald trusts X-Forwarded-For only from"
	    " web { trusted_proxies } (default\n# 127.0.0.1 and ::1), so run"
	    " nginx on the same host or list its address.\n"
	    "server {\n"
	    "\tlisten 443 ssl http2;\n"
	    "\tlisten [::]:443 ssl http2;\n"
	    "\tserver_name %s;\n"
	    "\tssl_certificate /etc/letsencrypt/live/%s/fullchain.pem;\n"
	    "\tssl_certificate_key /etc/letsencrypt/live/%s/privkey.pem;\n"
	    "\n"
	    "\tclient_max_body_size %dk;\n"
	    "\tclient_body_timeout 10s;\n"
	    "\tclient_header_timeout 10s;\n"
	    "\n"
	    "\tlocation %s/ {\n"
	    "\t\tproxy_pass http://%s/;\n"
	    "\t\tproxy_http_version 1.1;\n"
	    "\t\tproxy_set_header Connection \"\";\n"
	    "\t\tproxy_set_header Host $host;\n"
	    "\t\tproxy_set_header X-Forwarded-For $remote_addr;\n"
	    "\t\tproxy_set_header X-Forwarded-Proto $scheme;\n"
	    "\t\tproxy_read_timeout 30s;\n"
	    "\t\t# the URLs carry tokens: keep them out of the access log\n"
	    "\t\taccess_log off;\n"
	    "\t}\n"
	    "}\n", config->web.listen, name, name, name,
	    (config->web.max_body + 1023) / 1024,
	    path != NULL ? path : "", config->web.listen);
}
