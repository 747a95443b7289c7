/*
 * lmtp.c - the LMTP server of herald lmtp (RFC 2033; see lmtp.h for what
 * must stay true).
 *
 * Design: the main thread accepts (up to max_connections; beyond, 421 at
 * once); a thread per connection speaks the protocol, with a deadline for
 * each command and for each DATA, and reads a message whole (dots
 * unstuffed, CRLF made LF: the bytes herald pipe gets from pipe(8)) before
 * handing it, with its recipients, to the delivery queue. It then waits,
 * holding no transaction, for its answers. A few delivery workers, each
 * with its own SQLite connection (synchronous=FULL), take whatever the
 * queue holds (up to group_max messages) and deliver every recipient of
 * every message through pipe_deliver() inside one grouped commit
 * (store_group_begin): a burst costs one fsync per group, and the group
 * grows by itself while the previous one is being committed. Nothing is
 * answered before its group commits. No mail leaves while the group's
 * transaction is open: the notices a message causes (a goodbye, a
 * confirmation, a forward to the owners) are queued in the outbox in the
 * group's transaction, as herald pipe queues them in its own, and sent
 * after the commit (pipe_send_queued); the bounce policy's notices too
 * (pipe_flush).
 *
 * Replies: the status herald pipe would exit with (pipe_exit_status, or
 * pipe_oversize), as 250, 451, 550 5.1.1, 550 5.6.0 or 552 5.3.4, and
 * the text of herald pipe's log line. Handled messages are archived in
 * the spool as herald pipe's are, but appended to one mbox file a day
 * (pipe_spool_archive) after their group's commit: a file created per
 * message cost more than the delivery itself. A recipient that no list has is
 * refused at RCPT already, unless the sender is empty (then it is taken
 * and dropped, as by the pipe).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "herald.h"
#include "config.h"
#include "lmtp.h"
#include "log.h"
#include "pipe.h"
#include "store.h"
#include "token.h"

#define LMTP_BUF		65536	/* the input buffer of a connection */
#define LMTP_LINE_MAX		2048	/* a command line, with its CRLF */
#define LMTP_DATA_CHUNK		65536	/* a DATA line is taken in chunks */
#define LMTP_MAX_ERRORS		10	/* bad commands before 421 */
#define LMTP_REPLY_MAX		400	/* characters of text in a reply */

/* one message and its recipients, on its way through a worker */
struct lmtp_job {
	const char *sender;		/* "" for the null sender */
	GPtrArray *rcpts;		/* char * */
	GBytes *raw;			/* the first pipe.max_size bytes when */
	gboolean over;			/* over: the message was larger */
	int *status;			/* per recipient: sysexits */
	char **text;			/* per recipient: the log line */
	gboolean done;
};

/* one recipient of one job, while a worker delivers it */
struct lmtp_unit {
	struct lmtp_job *job;
	guint i;
	int status;			/* -1: not yet */
	struct pipe_result res;
	char *error;			/* what went wrong, for the line */
};

struct lmtp_worker {
	struct lmtp_server *srv;
	struct pipe_ctx ctx;
	GThread *thread;
};

struct lmtp_server {
	const struct config *config;
	struct lmtp_params p;
	int fd;				/* listening */
	char *unix_path;		/* removed at the end, if ours */
	int wake[2];			/* stop: a byte in, never read out */
	volatile sig_atomic_t stop;
	GMutex lock;
	GCond work;			/* jobs queued, or workers to end */
	GCond done;			/* a job is answered */
	GCond idle;			/* a connection ended */
	GQueue queue;			/* struct lmtp_job * */
	guint conns;
	gboolean workers_end;
	GPtrArray *workers;
	guint64 messages, groups;
};

struct lmtp_conn {
	struct lmtp_server *srv;
	int fd;
	char in[LMTP_BUF];
	size_t pos, len;
	GString *out;
	gint64 deadline;		/* monotonic, microseconds */
	gboolean lhlo;
	char *sender;			/* NULL before MAIL */
	GPtrArray *rcpts;
	gboolean declared_over;		/* MAIL's SIZE= is past the limit */
	int errors;
};

/* ------------------------------------------------------------------ */
/* Delivery */

/* lmtp_unit_run - one recipient through pipe_deliver, in the group */
static void
lmtp_unit_run(struct lmtp_worker *w, struct lmtp_unit *u)
{
	const struct config *config = w->ctx.config;
	g_autofree char *line = NULL;
	GError *err = NULL;
	GBytes *raw = u->job->raw;
	const char *rcpt = g_ptr_array_index(u->job->rcpts, u->i);

	if (u->job->over) {
		/* past pipe.max_size: what herald pipe does with it */
		u->status = pipe_oversize(config, rcpt, u->job->sender, &u->res,
		    &line);
		if (u->status >= 0) {
			if (line != NULL)
				u->error = g_strdup(line + strlen("5.3.4 "));
			return;
		}
	}
	w->ctx.grouped = TRUE;
	pipe_deliver(&w->ctx, rcpt, u->job->sender, raw, &u->res, &err);
	w->ctx.grouped = FALSE;
	u->status = pipe_exit_status(err);
	if (err != NULL)
		u->error = g_strdup(err->message);
	g_clear_error(&err);
}

/* lmtp_unit_undo - a unit whose group did not commit: it may pass */
static void
lmtp_unit_undo(struct lmtp_unit *u, const char *why)
{
	if (u->status != EX_OK)
		return;
	u->status = EX_TEMPFAIL;
	g_free(u->error);
	u->error = g_strdup(why);
}

/* lmtp_defer_rest - the units of UNITS after the one at AT, which
 * failed temporarily: deferred (the MTA retries them), not tried */
static void
lmtp_defer_rest(GArray *units, guint at)
{
	const struct lmtp_unit *failed = &g_array_index(units,
	    struct lmtp_unit, at);
	guint j;

	for (j = at + 1; j < units->len; j++) {
		struct lmtp_unit *u = &g_array_index(units, struct lmtp_unit, j);

		u->status = EX_TEMPFAIL;
		u->error = g_strdup_printf("not tried after a temporary"
		    " failure in its group: %s", failed->error != NULL ?
		    failed->error : "deferred");
	}
}

/* lmtp_archive - the handled messages of JOBS (any recipient 250) into
 * the spool's archive, in one write */
static void
lmtp_archive(struct lmtp_worker *w, struct lmtp_job **jobs, guint n)
{
	g_autofree const char **senders = g_new0(const char *, n);
	g_autofree GBytes **raws = g_new0(GBytes *, n);
	GError *err = NULL;
	guint i, j, k = 0;

	for (i = 0; i < n; i++)
		for (j = 0; j < jobs[i]->rcpts->len; j++)
			if (jobs[i]->status[j] == EX_OK) {
				senders[k] = jobs[i]->sender;
				raws[k++] = jobs[i]->raw;
				break;
			}
	if (k > 0 && !pipe_spool_archive(w->ctx.config->spool_dir,
	    senders, raws, k, &err)) {
		log_warnx("lmtp: %s", err->message);
		g_clear_error(&err);
	}
}

/* lmtp_deliver - every recipient of JOBS in grouped commits, then their
 * notices; each unit's status is final after */
static void
lmtp_deliver(struct lmtp_worker *w, struct lmtp_job **jobs, guint n)
{
	struct store *store = w->ctx.store;
	g_autoptr(GArray) units = g_array_new(FALSE, TRUE,
	    sizeof(struct lmtp_unit));
	GError *err = NULL;
	gboolean grouped, flush = FALSE;
	guint i, j, first = 0;

	for (i = 0; i < n; i++)
		for (j = 0; j < jobs[i]->rcpts->len; j++) {
			struct lmtp_unit u = { jobs[i], j, -1 };

			g_array_append_val(units, u);
		}
	grouped = store_group_begin(store, &err);
	for (i = 0; i < units->len; i++) {
		struct lmtp_unit *u = &g_array_index(units, struct lmtp_unit, i);

		if (!grouped) {
			u->status = pipe_exit_status(err);
			u->error = g_strdup(err->message);
			continue;
		}
		lmtp_unit_run(w, u);
		if (u->status == EX_TEMPFAIL && !store_group_lost(store)) {
			/* a lock not granted in time (PostgreSQL keeps the
			 * group open): the rest would each wait for the same
			 * lock in turn, so they are deferred now, untried */
			lmtp_defer_rest(units, i);
			break;
		}
		if (store_group_lost(store)) {
			/* SQLite rolled the whole group back: undone */
			for (j = first; j <= i; j++)
				lmtp_unit_undo(&g_array_index(units,
				    struct lmtp_unit, j), "the grouped"
				    " transaction was rolled back");
			store_group_abort(store);
			first = i + 1;
			grouped = store_group_begin(store, &err);
		}
	}
	if (grouped && !store_group_commit(store, &err)) {
		for (j = first; j < units->len; j++)
			lmtp_unit_undo(&g_array_index(units, struct lmtp_unit,
			    j), err->message);
		grouped = FALSE;
	}
	g_clear_error(&err);
	for (i = 0; i < units->len; i++) {
		struct lmtp_unit *u = &g_array_index(units, struct lmtp_unit, i);

		flush |= u->status == EX_OK && u->res.flush;
	}
	if (flush && !pipe_flush(&w->ctx, NULL, &err)) {
		log_warnx("lmtp: queued notices not sent: %s", err->message);
		g_clear_error(&err);
	}
	for (i = 0; i < units->len; i++) {
		struct lmtp_unit *u = &g_array_index(units, struct lmtp_unit, i);
		const char *sender = u->job->sender;
		const char *rcpt = g_ptr_array_index(u->job->rcpts, u->i);

		if (u->status == EX_OK)
			pipe_send_queued(&w->ctx, &u->res);
		if (u->res.outcome == NULL)
			u->res.outcome = g_string_new(NULL);
		if (u->error != NULL)
			g_string_append_printf(u->res.outcome, "%s%s",
			    u->res.outcome->len > 0 ? "; " : "", u->error);
		u->job->status[u->i] = u->status;
		u->job->text[u->i] = pipe_log_line(&u->res, sender, rcpt,
		    u->status);
		if (u->status == EX_OK)
			log_info("lmtp: %s", u->job->text[u->i]);
		else
			log_warnx("lmtp: %s", u->job->text[u->i]);
		pipe_result_clear(&u->res);
		g_free(u->error);
	}
	lmtp_archive(w, jobs, n);
}

/* lmtp_worker_main - take what is queued, deliver it, answer; until the
 * server ends and the queue is empty */
static gpointer
lmtp_worker_main(gpointer data)
{
	struct lmtp_worker *w = data;
	struct lmtp_server *srv = w->srv;
	struct lmtp_job **jobs = g_new0(struct lmtp_job *, srv->p.group_max);
	guint n, i;

	g_mutex_lock(&srv->lock);
	for (;;) {
		while (g_queue_is_empty(&srv->queue) && !srv->workers_end)
			g_cond_wait(&srv->work, &srv->lock);
		if (g_queue_is_empty(&srv->queue))
			break;
		for (n = 0; n < srv->p.group_max &&
		    !g_queue_is_empty(&srv->queue); n++)
			jobs[n] = g_queue_pop_head(&srv->queue);
		g_mutex_unlock(&srv->lock);
		lmtp_deliver(w, jobs, n);
		g_mutex_lock(&srv->lock);
		srv->messages += n;
		srv->groups++;
		for (i = 0; i < n; i++)
			jobs[i]->done = TRUE;
		g_cond_broadcast(&srv->done);
	}
	g_mutex_unlock(&srv->lock);
	g_free(jobs);
	return NULL;
}

/* lmtp_submit - queue JOB and wait until a worker has answered it */
static void
lmtp_submit(struct lmtp_server *srv, struct lmtp_job *job)
{
	g_mutex_lock(&srv->lock);
	g_queue_push_tail(&srv->queue, job);
	g_cond_signal(&srv->work);
	while (!job->done)
		g_cond_wait(&srv->done, &srv->lock);
	g_mutex_unlock(&srv->lock);
}

/* ------------------------------------------------------------------ */
/* The connection: input, output */

/* lmtp_wait - poll FD for EVENTS until the deadline; 1 ready, 0 timed
 * out, -1 an error; with STOPPABLE, -2 when the server is stopping */
static int
lmtp_wait(struct lmtp_conn *c, short events, gboolean stoppable)
{
	struct pollfd pfd[2] = { { c->fd, events, 0 },
	    { c->srv->wake[0], POLLIN, 0 } };

	for (;;) {
		gint64 left = (c->deadline - g_get_monotonic_time()) / 1000;
		int r;

		if (left <= 0)
			return 0;
		r = poll(pfd, stoppable ? 2 : 1, (int)MIN(left, G_MAXINT));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			return 0;
		if (pfd[0].revents != 0)
			return 1;
		if (stoppable && pfd[1].revents != 0)
			return -2;
	}
}

/* lmtp_flush - write out what is buffered; FALSE when the client is gone
 * or too slow */
static gboolean
lmtp_flush(struct lmtp_conn *c)
{
	gsize off = 0;

	while (off < c->out->len) {
		ssize_t n = send(c->fd, c->out->str + off, c->out->len - off,
		    MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (lmtp_wait(c, POLLOUT, FALSE) != 1)
				return FALSE;
			continue;
		}
		if (n < 0)
			return FALSE;
		off += (gsize)n;
	}
	g_string_truncate(c->out, 0);
	return TRUE;
}

/* lmtp_fill - more input; 1 read, 0 end of file, -1 timed out or an
 * error, -2 the server is stopping (STOPPABLE, nothing pending) */
static int
lmtp_fill(struct lmtp_conn *c, gboolean stoppable)
{
	ssize_t n;
	int r;

	if (c->pos > 0) {
		memmove(c->in, c->in + c->pos, c->len - c->pos);
		c->len -= c->pos;
		c->pos = 0;
	}
	/* replies go out before waiting for more (RFC 2920) */
	if (c->out->len > 0 && !lmtp_flush(c))
		return -1;
	for (;;) {
		if ((r = lmtp_wait(c, POLLIN, stoppable)) != 1)
			return r == 0 ? -1 : r;
		n = recv(c->fd, c->in + c->len, sizeof(c->in) - c->len, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN ||
		    errno == EWOULDBLOCK))
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		c->len += (size_t)n;
		return 1;
	}
}

/* lmtp_getline - the next line into LINE (without its LF), at most MAX
 * bytes: *PARTIAL when it stopped at MAX before a LF. 1, or what
 * lmtp_fill returned. */
static int
lmtp_getline(struct lmtp_conn *c, GString *line, gsize max,
    gboolean *partial, gboolean stoppable)
{
	g_string_truncate(line, 0);
	*partial = FALSE;
	for (;;) {
		char *p = memchr(c->in + c->pos, '\n', c->len - c->pos);
		size_t take = p != NULL ? (size_t)(p - (c->in + c->pos)) :
		    c->len - c->pos;
		int r;

		if (line->len + take >= max) {
			take = max - line->len;
			g_string_append_len(line, c->in + c->pos, (gssize)take);
			c->pos += take;
			*partial = TRUE;
			return 1;
		}
		g_string_append_len(line, c->in + c->pos, (gssize)take);
		c->pos += take;
		if (p != NULL) {
			c->pos++;	/* the LF */
			return 1;
		}
		if ((r = lmtp_fill(c, stoppable)) != 1)
			return r;
	}
}

/* lmtp_reply - buffer one reply line: CODE, then TEXT made printable
 * ASCII and short */
static void
lmtp_reply(struct lmtp_conn *c, const char *code, const char *text)
{
	size_t i;

	g_string_append(c->out, code);
	if (text != NULL && *text != '\0') {
		g_string_append_c(c->out, ' ');
		for (i = 0; text[i] != '\0' && i < LMTP_REPLY_MAX; i++)
			g_string_append_c(c->out, g_ascii_isprint(text[i]) ?
			    text[i] : '?');
		if (text[i] != '\0')
			g_string_append(c->out, "...");
	}
	g_string_append(c->out, "\r\n");
}

/* ------------------------------------------------------------------ */
/* The protocol */

/* lmtp_reset - forget the transaction */
static void
lmtp_reset(struct lmtp_conn *c)
{
	g_clear_pointer(&c->sender, g_free);
	g_ptr_array_set_size(c->rcpts, 0);
	c->declared_over = FALSE;
}

/* lmtp_path - after "FROM:" or "TO:": the address in <>, or the word;
 * *REST the parameters after it. NULL when it is not a path. */
static char *
lmtp_path(const char *arg, const char **rest)
{
	const char *end;

	while (*arg == ' ')
		arg++;
	if (*arg == '<') {
		if ((end = strchr(arg, '>')) == NULL)
			return NULL;
		*rest = end + 1;
		return g_strndup(arg + 1, (gsize)(end - arg - 1));
	}
	end = arg + strcspn(arg, " ");
	if (end == arg)
		return NULL;
	*rest = end;
	return g_strndup(arg, (gsize)(end - arg));
}

/* lmtp_path_ok - a path herald can take: no controls, no spaces, short */
static gboolean
lmtp_path_ok(const char *path)
{
	const char *p;

	if (strlen(path) > 320)
		return FALSE;
	for (p = path; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return FALSE;
	return TRUE;
}

/* lmtp_mail - MAIL FROM:<path> [SIZE=n] [BODY=7BIT|8BITMIME] */
static void
lmtp_mail(struct lmtp_conn *c, const char *arg)
{
	const struct config *config = c->srv->config;
	g_autofree char *path = NULL;
	g_auto(GStrv) params = NULL;
	const char *rest = "";
	guint i;

	if (!c->lhlo) {
		lmtp_reply(c, "503 5.5.1", "LHLO first");
		return;
	}
	if (c->sender != NULL) {
		lmtp_reply(c, "503 5.5.1", "MAIL already given");
		return;
	}
	if (g_ascii_strncasecmp(arg, "FROM:", 5) != 0 ||
	    (path = lmtp_path(arg + 5, &rest)) == NULL ||
	    !lmtp_path_ok(path)) {
		lmtp_reply(c, "501 5.5.4", "syntax: MAIL FROM:<address>");
		return;
	}
	params = g_strsplit(rest, " ", -1);
	for (i = 0; params[i] != NULL; i++) {
		const char *p = params[i];

		if (*p == '\0')
			continue;
		if (g_ascii_strncasecmp(p, "SIZE=", 5) == 0 &&
		    p[5] != '\0' && strspn(p + 5, "0123456789") ==
		    strlen(p + 5)) {
			if (g_ascii_strtoull(p + 5, NULL, 10) >
			    (guint64)config->pipe.max_size)
				c->declared_over = TRUE;
		} else if (g_ascii_strcasecmp(p, "BODY=7BIT") == 0 ||
		    g_ascii_strcasecmp(p, "BODY=8BITMIME") == 0)
			;
		else {
			lmtp_reply(c, "555 5.5.4", "unknown MAIL parameter");
			return;
		}
	}
	/* the null sender's oversized mail is taken and dropped, as by
	 * herald pipe: never a 5xx for a bounce */
	if (c->declared_over && *path != '\0') {
		g_autofree char *t = g_strdup_printf("message too big (limit %"
		    G_GINT64_FORMAT " bytes)", config->pipe.max_size);

		c->declared_over = FALSE;
		lmtp_reply(c, "552 5.3.4", t);
		return;
	}
	if (g_ascii_strcasecmp(path, "MAILER-DAEMON") == 0)
		path[0] = '\0';
	c->sender = g_steal_pointer(&path);
	lmtp_reply(c, "250 2.1.0", "sender ok");
}

/* lmtp_rcpt - RCPT TO:<path>: a list's address, or anything for the null
 * sender (whose mail to no list is dropped after DATA) */
static void
lmtp_rcpt(struct lmtp_conn *c, const char *arg)
{
	g_autofree char *path = NULL;
	const char *rest = "";
	struct pipe_address a;

	if (c->sender == NULL) {
		lmtp_reply(c, "503 5.5.1", "MAIL first");
		return;
	}
	if (g_ascii_strncasecmp(arg, "TO:", 3) != 0 ||
	    (path = lmtp_path(arg + 3, &rest)) == NULL || *path == '\0' ||
	    !lmtp_path_ok(path)) {
		lmtp_reply(c, "501 5.5.4", "syntax: RCPT TO:<address>");
		return;
	}
	while (*rest == ' ')
		rest++;
	if (*rest != '\0') {
		lmtp_reply(c, "555 5.5.4", "no RCPT parameters here");
		return;
	}
	if (c->rcpts->len >= c->srv->p.max_recipients) {
		lmtp_reply(c, "452 4.5.3", "too many recipients");
		return;
	}
	pipe_address_parse(c->srv->config, path, &a);
	pipe_address_clear(&a);
	if (a.route == PIPE_ROUTE_NONE && *c->sender != '\0') {
		g_autofree char *t = g_strdup_printf("no list has the address"
		    " %s", path);

		lmtp_reply(c, "550 5.1.1", t);
		return;
	}
	g_ptr_array_add(c->rcpts, g_steal_pointer(&path));
	lmtp_reply(c, "250 2.1.5", "recipient ok");
}

/* lmtp_read_data - the message up to the final dot: dots unstuffed, CRLF
 * made LF; *OVER when it passed MAX (its first MAX bytes are kept, the
 * rest is read and dropped). NULL
 * when the client went away or timed out first. */
static GByteArray *
lmtp_read_data(struct lmtp_conn *c, gint64 max, gboolean *over,
    gboolean *timed_out)
{
	g_autoptr(GString) line = g_string_sized_new(1024);
	GByteArray *buf = g_byte_array_new();
	gboolean bol = TRUE, partial;
	const char *p;
	gsize len;
	int r;

	*timed_out = FALSE;
	for (;;) {
		if ((r = lmtp_getline(c, line, LMTP_DATA_CHUNK, &partial,
		    FALSE)) != 1) {
			*timed_out = r == -1;
			g_byte_array_unref(buf);
			return NULL;
		}
		if (bol && !partial && (strcmp(line->str, ".") == 0 ||
		    strcmp(line->str, ".\r") == 0))
			return buf;
		p = line->str;
		len = line->len;
		if (bol && len > 0 && *p == '.') {
			p++;
			len--;
		}
		if (!partial && len > 0 && p[len - 1] == '\r')
			len--;
		if (!*over && (gint64)(buf->len + len + 1) > max) {
			/* the first MAX bytes are kept: a bounce's report */
			*over = TRUE;
			g_byte_array_append(buf, (const guint8 *)p,
			    (guint)MIN((gint64)len, max - (gint64)buf->len));
		}
		if (!*over) {
			g_byte_array_append(buf, (const guint8 *)p, (guint)len);
			if (!partial)
				g_byte_array_append(buf, (const guint8 *)"\n", 1);
		}
		bol = !partial;
	}
}

/* lmtp_code - the reply code for herald pipe's exit STATUS */
static const char *
lmtp_code(int status, const char *sender)
{
	switch (status) {
	case EX_OK:		return "250 2.0.0";
	case EX_TEMPFAIL:	return "451 4.3.0";
	}
	if (*sender == '\0') {
		/* pipe_deliver never gives this for a bounce: a bug */
		log_warnx("lmtp: status %d for the null sender, deferred",
		    status);
		return "451 4.3.0";
	}
	switch (status) {
	case EX_NOUSER:		return "550 5.1.1";
	case EX_DATAERR:	return "550 5.6.0";
	case EX_UNAVAILABLE:	return "552 5.3.4";
	}
	return "451 4.3.0";
}

/* lmtp_data - DATA: read the message, deliver it, one reply a recipient;
 * FALSE when the connection must end */
static gboolean
lmtp_data(struct lmtp_conn *c, const char *arg)
{
	struct lmtp_server *srv = c->srv;
	const struct config *config = srv->config;
	struct lmtp_job job = { 0 };
	GByteArray *buf;
	gboolean over = FALSE, timed_out;
	guint i;

	if (c->sender == NULL || c->rcpts->len == 0) {
		lmtp_reply(c, "503 5.5.1", c->sender == NULL ? "MAIL first" :
		    "no valid recipients");
		return TRUE;
	}
	if (*arg != '\0') {
		lmtp_reply(c, "501 5.5.4", "no DATA parameters");
		return TRUE;
	}
	lmtp_reply(c, "354", "end with <CRLF>.<CRLF>");
	c->deadline = g_get_monotonic_time() + (gint64)srv->p.timeout *
	    G_USEC_PER_SEC;
	if ((buf = lmtp_read_data(c, config->pipe.max_size, &over,
	    &timed_out)) == NULL) {
		/* nothing was queued: nothing is committed */
		log_info("lmtp: from=<%s>: the client %s during DATA, message"
		    " dropped", c->sender, timed_out ? "timed out" : "left");
		if (timed_out) {
			lmtp_reply(c, "421 4.4.2", "timeout during DATA");
			lmtp_flush(c);
		}
		return FALSE;
	}
	job.over = over;
	job.raw = g_byte_array_free_to_bytes(buf);
	job.sender = c->sender;
	job.rcpts = c->rcpts;
	job.status = g_new0(int, c->rcpts->len);
	job.text = g_new0(char *, c->rcpts->len);
	lmtp_submit(srv, &job);
	for (i = 0; i < c->rcpts->len; i++) {
		lmtp_reply(c, lmtp_code(job.status[i], c->sender), job.text[i]);
		g_free(job.text[i]);
	}
	g_free(job.status);
	g_free(job.text);
	g_bytes_unref(job.raw);
	lmtp_reset(c);
	return TRUE;
}

/* lmtp_lhlo - the greeting's answer and the extensions */
static void
lmtp_lhlo(struct lmtp_conn *c, const char *arg)
{
	if (*arg == '\0') {
		lmtp_reply(c, "501 5.5.4", "syntax: LHLO hostname");
		return;
	}
	lmtp_reset(c);
	c->lhlo = TRUE;
	g_string_append_printf(c->out, "250-%s\r\n250-PIPELINING\r\n"
	    "250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250 SIZE %"
	    G_GINT64_FORMAT "\r\n", g_get_host_name(),
	    c->srv->config->pipe.max_size);
}

/* lmtp_command - one command line; FALSE when the connection ends */
static gboolean
lmtp_command(struct lmtp_conn *c, char *line)
{
	char *arg = line + strcspn(line, " ");
	gsize vlen = (gsize)(arg - line);

	while (*arg == ' ')
		arg++;
#define IS(v) (vlen == strlen(v) && g_ascii_strncasecmp(line, v, vlen) == 0)
	if (IS("LHLO"))
		lmtp_lhlo(c, arg);
	else if (IS("MAIL"))
		lmtp_mail(c, arg);
	else if (IS("RCPT"))
		lmtp_rcpt(c, arg);
	else if (IS("DATA"))
		return lmtp_data(c, arg);
	else if (IS("RSET")) {
		lmtp_reset(c);
		lmtp_reply(c, "250 2.0.0", "ok");
	} else if (IS("NOOP"))
		lmtp_reply(c, "250 2.0.0", "ok");
	else if (IS("VRFY"))
		lmtp_reply(c, "252 2.5.0", "not verified; try RCPT");
	else if (IS("QUIT")) {
		lmtp_reply(c, "221 2.0.0", "bye");
		return FALSE;
	} else if (IS("HELO") || IS("EHLO")) {
		lmtp_reply(c, "500 5.5.1", "this is LMTP: LHLO");
		c->errors++;
	} else {
		lmtp_reply(c, "500 5.5.2", "command not recognized");
		c->errors++;
	}
#undef IS
	if (c->errors >= LMTP_MAX_ERRORS) {
		lmtp_reply(c, "421 4.7.0", "too many errors");
		return FALSE;
	}
	return TRUE;
}

/* lmtp_session - a connection from greeting to close */
static void
lmtp_session(struct lmtp_conn *c)
{
	struct lmtp_server *srv = c->srv;
	g_autoptr(GString) line = g_string_sized_new(256);
	gboolean partial;
	int r;

	g_string_append_printf(c->out, "220 %s LMTP herald ready\r\n",
	    g_get_host_name());
	for (;;) {
		c->deadline = g_get_monotonic_time() + (gint64)srv->p.timeout *
		    G_USEC_PER_SEC;
		if (srv->stop) {
			lmtp_reply(c, "421 4.3.2", "shutting down");
			break;
		}
		r = lmtp_getline(c, line, LMTP_LINE_MAX, &partial, TRUE);
		if (r == -2)
			continue;	/* stopping: says so above */
		if (r == -1) {
			lmtp_reply(c, "421 4.4.2", "timeout");
			break;
		}
		if (r == 0)
			return;
		if (partial) {
			gboolean more = TRUE;

			/* the rest of the long line, under the same deadline:
			 * past it the same answer as a short line gets */
			while (more && (r = lmtp_getline(c, line, LMTP_LINE_MAX,
			    &more, FALSE)) == 1)
				;
			if (r == -1) {
				lmtp_reply(c, "421 4.4.2", "timeout");
				break;
			}
			if (r != 1)
				return;
			lmtp_reply(c, "500 5.5.2", "line too long");
			if (++c->errors >= LMTP_MAX_ERRORS) {
				lmtp_reply(c, "421 4.7.0", "too many errors");
				break;
			}
			continue;
		}
		if (line->len > 0 && line->str[line->len - 1] == '\r')
			g_string_truncate(line, line->len - 1);
		if (strlen(line->str) != line->len) {
			lmtp_reply(c, "500 5.5.2", "NUL in a command");
			if (++c->errors >= LMTP_MAX_ERRORS)
				break;
			continue;
		}
		if (!lmtp_command(c, line->str))
			break;
	}
	lmtp_flush(c);
}

/* lmtp_conn_main - a connection's thread */
static gpointer
lmtp_conn_main(gpointer data)
{
	struct lmtp_conn *c = data;
	struct lmtp_server *srv = c->srv;

	lmtp_session(c);
	close(c->fd);
	lmtp_reset(c);
	g_ptr_array_unref(c->rcpts);
	g_string_free(c->out, TRUE);
	g_free(c);
	g_mutex_lock(&srv->lock);
	srv->conns--;
	g_cond_broadcast(&srv->idle);
	g_mutex_unlock(&srv->lock);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* The server */

/* lmtp_listen_unix - a socket at PATH (a stale one is replaced; a live
 * one is an error) */
static int
lmtp_listen_unix(const char *path, int mode, GError **error)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat sb;
	int fd, e;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
		    "unix:%s: the path is too long", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		goto fail;
	if (lstat(path, &sb) == 0 && S_ISSOCK(sb.st_mode)) {
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			close(fd);
			g_set_error(error, HERALD_ERROR, HERALD_ERROR_TEMP,
			    "unix:%s: a server is listening there already",
			    path);
			return -1;
		}
		close(fd);
		unlink(path);
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
			goto fail;
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    chmod(path, (mode_t)mode) != 0 || listen(fd, 128) != 0) {
		e = errno;
		close(fd);
		errno = e;
		goto fail;
	}
	return fd;
fail:
	g_set_error(error, HERALD_ERROR, HERALD_ERROR_TEMP, "unix:%s: %s",
	    path, g_strerror(errno));
	return -1;
}

/* lmtp_listen_inet - ADDR:PORT or [ADDR]:PORT */
static int
lmtp_listen_inet(const char *spec, GError **error)
{
	g_autofree char *host = NULL;
	const char *colon = strrchr(spec, ':');
	struct addrinfo hints = { .ai_flags = AI_PASSIVE | AI_NUMERICSERV,
	    .ai_socktype = SOCK_STREAM }, *res = NULL, *ai;
	int fd = -1, one = 1, rc, e = 0;

	if (colon == NULL || colon[1] == '\0' ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1)) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
		    "%s: not unix:PATH, ADDR:PORT or [ADDR]:PORT", spec);
		return -1;
	}
	host = g_strndup(spec, (gsize)(colon - spec));
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		host[strlen(host) - 1] = '\0';
		memmove(host, host + 1, strlen(host));
	}
	if ((rc = getaddrinfo(*host != '\0' ? host : NULL, colon + 1, &hints,
	    &res)) != 0) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG, "%s: %s",
		    spec, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd < 0) {
			e = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, 128) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_TEMP, "%s: %s",
		    spec, g_strerror(e));
	return fd;
}

/* lmtp_server_new - see lmtp.h */
struct lmtp_server *
lmtp_server_new(const struct config *config, const struct lmtp_params *p,
    GError **error)
{
	struct lmtp_server *srv = g_new0(struct lmtp_server, 1);
	guint i;

	srv->config = config;
	srv->p = *p;
	srv->fd = -1;
	srv->wake[0] = srv->wake[1] = -1;
	srv->workers = g_ptr_array_new();
	g_mutex_init(&srv->lock);
	g_cond_init(&srv->work);
	g_cond_init(&srv->done);
	g_cond_init(&srv->idle);
	g_queue_init(&srv->queue);
	if (srv->p.group_max == 0)
		srv->p.group_max = 1;
	if (srv->p.workers == 0)
		srv->p.workers = 1;
	if (pipe2(srv->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_TEMP, "pipe: %s",
		    g_strerror(errno));
		goto fail;
	}
	if (p->listen_fd >= 0) {
		int on = 0;
		socklen_t len = sizeof(on);

		if (getsockopt(p->listen_fd, SOL_SOCKET, SO_ACCEPTCONN, &on,
		    &len) != 0 || !on) {
			g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
			    "descriptor %d is not a listening socket",
			    p->listen_fd);
			goto fail;
		}
		srv->fd = p->listen_fd;
	}
	else if (p->listen != NULL && g_str_has_prefix(p->listen, "unix:")) {
		srv->fd = lmtp_listen_unix(p->listen + 5, p->socket_mode, error);
		if (srv->fd >= 0)
			srv->unix_path = g_strdup(p->listen + 5);
	} else if (p->listen != NULL)
		srv->fd = lmtp_listen_inet(p->listen, error);
	else
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_USAGE,
		    "nowhere to listen");
	if (srv->fd < 0)
		goto fail;
	fcntl(srv->fd, F_SETFL, fcntl(srv->fd, F_GETFL) | O_NONBLOCK);
	for (i = 0; i < srv->p.workers; i++) {
		struct lmtp_worker *w = g_new0(struct lmtp_worker, 1);

		w->srv = srv;
		w->ctx.config = config;
		g_ptr_array_add(srv->workers, w);
		if (!token_key_load(config->secret, &w->ctx.key, error) ||
		    (w->ctx.store = store_open_config(config,
		    STORE_OPEN_DURABLE, error)) == NULL)
			goto fail;
	}
	for (i = 0; i < srv->workers->len; i++) {
		struct lmtp_worker *w = g_ptr_array_index(srv->workers, i);

		w->thread = g_thread_new("lmtp-worker", lmtp_worker_main, w);
	}
	return srv;
fail:
	lmtp_server_free(srv);
	return NULL;
}

/* lmtp_conn_new - a connection on FD (non-blocking), closed with it */
static struct lmtp_conn *
lmtp_conn_new(struct lmtp_server *srv, int fd)
{
	struct lmtp_conn *c = g_new0(struct lmtp_conn, 1);

	c->srv = srv;
	c->fd = fd;
	c->out = g_string_sized_new(512);
	c->rcpts = g_ptr_array_new_with_free_func(g_free);
	return c;
}

/* lmtp_accept - one connection: its thread, or 421 past the limit */
static void
lmtp_accept(struct lmtp_server *srv)
{
	struct lmtp_conn *c;
	int fd = accept4(srv->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	static const char busy[] = "421 4.3.2 too many connections, try"
	    " later\r\n";

	if (fd < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn("lmtp: accept");
		if (errno == EMFILE || errno == ENFILE)
			g_usleep(100000);
		return;
	}
	g_mutex_lock(&srv->lock);
	if (srv->conns >= srv->p.max_connections) {
		g_mutex_unlock(&srv->lock);
		if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL) < 0) {
			/* it is gone either way */
		}
		close(fd);
		log_warnx("lmtp: %u connections already, one refused",
		    srv->p.max_connections);
		return;
	}
	srv->conns++;
	g_mutex_unlock(&srv->lock);
	c = lmtp_conn_new(srv, fd);
	g_thread_unref(g_thread_new("lmtp-conn", lmtp_conn_main, c));
}

/* lmtp_server_serve - see lmtp.h */
void
lmtp_server_serve(struct lmtp_server *srv, int fd)
{
	g_mutex_lock(&srv->lock);
	srv->conns++;
	g_mutex_unlock(&srv->lock);
	lmtp_conn_main(lmtp_conn_new(srv, fd));
}

/* lmtp_server_run - see lmtp.h */
void
lmtp_server_run(struct lmtp_server *srv)
{
	struct pollfd pfd[2] = { { srv->fd, POLLIN, 0 },
	    { srv->wake[0], POLLIN, 0 } };
	guint i;

	while (!srv->stop) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno != EINTR)
				log_warn("lmtp: poll");
			continue;
		}
		if (pfd[1].revents != 0)
			break;
		if (pfd[0].revents != 0)
			lmtp_accept(srv);
	}
	close(srv->fd);
	srv->fd = -1;
	if (srv->unix_path != NULL)
		unlink(srv->unix_path);
	g_mutex_lock(&srv->lock);
	while (srv->conns > 0)
		g_cond_wait(&srv->idle, &srv->lock);
	srv->workers_end = TRUE;
	g_cond_broadcast(&srv->work);
	g_mutex_unlock(&srv->lock);
	for (i = 0; i < srv->workers->len; i++) {
		struct lmtp_worker *w = g_ptr_array_index(srv->workers, i);

		g_clear_pointer(&w->thread, g_thread_join);
	}
	log_info("lmtp: stopped; %" G_GUINT64_FORMAT " messages in %"
	    G_GUINT64_FORMAT " commits", srv->messages, srv->groups);
}

/* lmtp_server_stop - see lmtp.h */
void
lmtp_server_stop(struct lmtp_server *srv)
{
	int e = errno;

	srv->stop = 1;
	if (write(srv->wake[1], "x", 1) < 0) {
		/* full: it is awake already */
	}
	errno = e;
}

/* lmtp_server_free - after run, or instead of it */
void
lmtp_server_free(struct lmtp_server *srv)
{
	guint i;

	if (srv == NULL)
		return;
	if (srv->workers != NULL && srv->workers->len > 0 &&
	    ((struct lmtp_worker *)g_ptr_array_index(srv->workers,
	    0))->thread != NULL) {
		g_mutex_lock(&srv->lock);
		srv->workers_end = TRUE;
		g_cond_broadcast(&srv->work);
		g_mutex_unlock(&srv->lock);
	}
	for (i = 0; i < srv->workers->len; i++) {
		struct lmtp_worker *w = g_ptr_array_index(srv->workers, i);

		g_clear_pointer(&w->thread, g_thread_join);
		store_close(w->ctx.store);
		g_free(w);
	}
	g_ptr_array_unref(srv->workers);
	if (srv->fd >= 0 && srv->fd != srv->p.listen_fd)
		close(srv->fd);
	if (srv->wake[0] >= 0)
		close(srv->wake[0]);
	if (srv->wake[1] >= 0)
		close(srv->wake[1]);
	g_free(srv->unix_path);
	g_mutex_clear(&srv->lock);
	g_cond_clear(&srv->work);
	g_cond_clear(&srv->done);
	g_cond_clear(&srv->idle);
	g_free(srv);
}
