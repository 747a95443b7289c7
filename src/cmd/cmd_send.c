/*
 * cmd_send.c - herald send, herald campaigns, herald campaign
 * show|pause|resume|retry|cancel: options, confirmation, progress and
 * summaries. The work is in campaign.c (the store), dispatch.c (a run)
 * and send.c (SMTP).
 *
 *   herald send ANNOUNCEMENT --list LIST --segment S [--segment S2 …]
 *       [--yes] [--dry-run DIR | --test EMAIL … [--as EMAIL]] [--json]
 *       [--again] [--at "YYYY-MM-DD HH:MM"] [--window W] [--daily-cap N]
 *
 * With --at, a window or a daily cap (given here or in the list file) the
 * campaign is scheduled (schedule.c): its deliveries are made now, and
 * herald run or herald maintain sends them when due. Without --at the
 * command makes one pass over it at once, within the window and the cap,
 * and leaves the rest to those.
 *
 * A second send of an announcement its list got already (a campaign of
 * it unfinished, done, or cancelled after some were sent) is refused
 * without --again. A --test copy is rendered with a COMPOSER_TEST
 * composer: marked, and its tokens act on nobody.
 *
 * A run on a terminal shows one live line (sent, failed, queued, rate,
 * time left) on stderr; elsewhere a log line every five seconds. SIGINT
 * and SIGTERM pause the run cleanly (the messages in flight finish and
 * their results are committed) and the command says how to resume. Exit
 * status: 0 when the run ended (done, or only later retries left); 75
 * when it paused (a signal, the error rate, a pause from elsewhere);
 * what the error class says otherwise.
 *
 * Must stay true: a --dry-run or --test copy records nothing (the
 * campaign made to pick its recipients is deleted after); the counts are
 * on stdout before the first progress line; no SQL here (campaign.h,
 * store_send.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "herald.h"
#include "json_out.h"
#include "announcement.h"
#include "campaign.h"
#include "cmd.h"
#include "cmd_followup.h"
#include "compose.h"
#include "config.h"
#include "dispatch.h"
#include "mailer.h"
#include "relay.h"
#include "report_clicks.h"
#include "schedule.h"
#include "send.h"
#include "store.h"
#include "store_send.h"
#include "subscriber.h"
#include "token.h"
#include "track.h"

static volatile sig_atomic_t send_stop;

/* send_on_signal - ask the run to pause */
static void
send_on_signal(int signo)
{
	send_stop = signo;
}

struct send_view {
	const char *cmd;
	gint64 id;
	gboolean tty;
	gboolean json;
	gint64 last_log;
	gboolean drew;
	gint64 quota_until;	/* the wait for a quota last printed */
};

/* send_progress - the live line, or a log line now and then */
static void
send_progress(const struct dispatch_progress *p, gpointer data)
{
	struct send_view *v = data;
	gint64 done = p->sent + p->failed + p->deferred;
	gint64 left = MAX(p->due_at_start - done, 0);
	double eta = p->rate > 0 ? left / p->rate : 0;

	if (p->quota_until != 0 && p->quota_until != v->quota_until) {
		g_autofree char *when = relay_format_time(p->quota_until);

		fprintf(stderr, "%sherald %s: campaign %" G_GINT64_FORMAT ": every "
		    "relay is at its quota; waiting until %s\n", v->drew ?
		    "\r\033[K" : "", v->cmd, v->id, when);
	}
	v->quota_until = p->quota_until;
	if (v->tty) {
		fprintf(stderr, "\r\033[Kcampaign %" G_GINT64_FORMAT ": sent %"
		    G_GINT64_FORMAT ", failed %" G_GINT64_FORMAT ", queued %"
		    G_GINT64_FORMAT ", %.0f msg/s, %d:%02d left",
		    v->id, p->sent, p->failed, left + p->deferred, p->rate,
		    (int)eta / 60, (int)eta % 60);
		if (p->final)
			fputc('\n', stderr);
		v->drew = TRUE;
		return;
	}
	if (!p->final && p->elapsed - v->last_log < 5)
		return;
	v->last_log = (gint64)p->elapsed;
	fprintf(stderr, "herald %s: campaign %" G_GINT64_FORMAT ": sent %"
	    G_GINT64_FORMAT ", failed %" G_GINT64_FORMAT ", deferred %"
	    G_GINT64_FORMAT ", left %" G_GINT64_FORMAT ", %.0f msg/s%s\n",
	    v->cmd, v->id, p->sent, p->failed, p->deferred, left, p->rate,
	    p->final ? " (run over)" : "");
}

/* send_composer - the announcement and composer of campaign C */
static struct composer *
send_composer(struct herald *h, const struct list_config *list,
    const char *announcement, const char *const *segments, int flags,
    struct announcement **ann, GError **error)
{
	struct token_key key;

	if (!token_key_load(h->config->secret, &key, error))
		return NULL;
	if ((*ann = announcement_load(announcement, h->config, error)) == NULL)
		return NULL;
	return composer_new(*ann, list, &key, segments, flags, error);
}

/* send_summary_json - the final summary as one JSON object */
static void
send_summary_json(struct store *store, gint64 id,
    const struct dispatch_progress *p, const char *reason)
{
	struct campaign_counts c;
	g_autoptr(campaign) camp = campaign_get(store, id, NULL);
	g_autofree char *r = NULL;

	campaign_counts(store, id, &c, NULL);
	if (reason != NULL) {
		GString *s = g_string_new("\"");
		const char *q;

		for (q = reason; *q != '\0'; q++) {
			if (*q == '"' || *q == '\\')
				g_string_append_c(s, '\\');
			if ((unsigned char)*q < 0x20)
				g_string_append_printf(s, "\\u%04x", *q);
			else
				g_string_append_c(s, *q);
		}
		g_string_append_c(s, '"');
		r = g_string_free(s, FALSE);
	}
	printf("{\"campaign\": %" G_GINT64_FORMAT ", \"state\": \"%s\", "
	    "\"reason\": %s, \"total\": %" G_GINT64_FORMAT ", \"sent\": %"
	    G_GINT64_FORMAT ", \"failed\": %" G_GINT64_FORMAT ", \"queued\": %"
	    G_GINT64_FORMAT ", \"run\": {\"sent\": %" G_GINT64_FORMAT
	    ", \"failed\": %" G_GINT64_FORMAT ", \"deferred\": %" G_GINT64_FORMAT
	    ", \"seconds\": %.3f, \"rate\": %.1f}}\n", id,
	    camp != NULL ? camp->state : "?", r != NULL ? r : "null", c.total,
	    c.sent, c.failed, c.queued, p->sent, p->failed, p->deferred,
	    p->elapsed, p->rate);
}

/* send_campaign_get - campaign ID for CMD to send more of; NULL when it
 * is not there or was cancelled, having said so, *STATUS the exit status */
static struct campaign *
send_campaign_get(struct herald *h, const char *cmd, gint64 id, int *status)
{
	struct campaign *c;
	GError *error = NULL;

	if ((c = campaign_get(h->store, id, &error)) == NULL) {
		*status = cmd_error(cmd, error);
		return NULL;
	}
	if (strcmp(c->state, "cancelled") == 0) {
		fprintf(stderr, "herald %s: campaign %" G_GINT64_FORMAT " was "
		    "cancelled; nothing more is sent for it\n", cmd, id);
		campaign_free(c);
		*status = EX_UNAVAILABLE;
		return NULL;
	}
	return c;
}

/* send_run - lock campaign ID and send what is due; the exit status */
static int
send_run(struct herald *h, const char *cmd, gint64 id, gboolean json,
    gboolean requeue)
{
	g_autoptr(campaign) c = NULL;
	g_autoptr(announcement) ann = NULL;
	g_autoptr(composer) comp = NULL;
	g_autofree char *reason = NULL;
	struct dispatch_progress p = { 0 };
	struct send_view view = { cmd, id, isatty(2), json, 0, FALSE };
	struct sigaction sa = { 0 }, oint, oterm;
	struct campaign_counts counts;
	const struct list_config *list;
	GError *error = NULL;
	gint64 n = 0;
	gboolean ok;
	int fd, status;

	if ((c = send_campaign_get(h, cmd, id, &status)) == NULL)
		return status;
	if ((list = config_list(h->config, c->list, &error)) == NULL)
		return cmd_error(cmd, error);
	if ((fd = campaign_lock(h->store, h->config->data_dir, id, &error)) < 0)
		return cmd_error(cmd, error);
	if (requeue && !campaign_requeue(h->store, id, &n, &error))
		goto fail;
	if (requeue)
		fprintf(stderr, "herald %s: campaign %" G_GINT64_FORMAT ": %"
		    G_GINT64_FORMAT " failed deliveries queued again, every "
		    "queued one due now\n", cmd, id, n);
	comp = send_composer(h, list, c->announcement,
	    (const char *const *)c->segments, 0, &ann, &error);
	if (comp == NULL || !track_setup(h->store, list, comp, id, FALSE,
	    &error))
		goto fail;
	send_stop = 0;
	sa.sa_handler = send_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &oint);
	sigaction(SIGTERM, &sa, &oterm);
	composer_set_campaign(comp, id);
	ok = dispatch_run(h->store, h->config, comp, id, &send_stop,
	    send_progress, &view, &p, &reason, &error);
	sigaction(SIGINT, &oint, NULL);
	sigaction(SIGTERM, &oterm, NULL);
	campaign_unlock(h->store, fd, id);
	fd = -1;
	if (!ok)
		goto fail;
	if (json)
		send_summary_json(h->store, id, &p, reason);
	if (!campaign_counts(h->store, id, &counts, &error))
		goto fail;
	if (reason != NULL) {
		fprintf(stderr, "herald %s: campaign %" G_GINT64_FORMAT " paused: "
		    "%s.\n  %" G_GINT64_FORMAT " sent, %" G_GINT64_FORMAT
		    " failed, %" G_GINT64_FORMAT " queued. Resume with: herald "
		    "campaign resume %" G_GINT64_FORMAT "%s\n", cmd, id, reason,
		    counts.sent, counts.failed, counts.queued, id,
		    strstr(reason, "attempts failed") != NULL ?
		    " (after fixing the cause; \"herald campaign retry\" also "
		    "queues the failed ones again)" : "");
		return EX_TEMPFAIL;
	}
	if (!json) {
		printf("campaign %" G_GINT64_FORMAT ": %" G_GINT64_FORMAT " sent, %"
		    G_GINT64_FORMAT " failed, %" G_GINT64_FORMAT " queued for "
		    "retry (this run: %" G_GINT64_FORMAT " sent in %.1f s, %.0f "
		    "msg/s)\n", id, counts.sent, counts.failed, counts.queued,
		    p.sent, p.elapsed, p.rate);
		if (counts.queued > 0) {
			g_autoptr(GDateTime) t = g_date_time_new_from_unix_local(
			    counts.next_due);
			g_autofree char *when = g_date_time_format(t, "%F %T");

			printf("the next retry is due at %s: run \"herald campaign "
			    "resume %" G_GINT64_FORMAT "\" then (or now: \"herald "
			    "campaign retry %" G_GINT64_FORMAT "\")\n", when, id, id);
		}
	}
	return EX_OK;
fail:
	campaign_unlock(h->store, fd, id);
	return cmd_error(cmd, error);
}

/* send_maildir_write - one message into DIR/new (through DIR/tmp), with
 * LF line ends as maildir readers expect */
static gboolean
send_maildir_write(const char *dir, guint n, const GString *msg,
    GError **error)
{
	g_autofree char *name = g_strdup_printf("%ld.%d_%u.herald",
	    (long)time(NULL), (int)getpid(), n);
	g_autofree char *tmp = g_build_filename(dir, "tmp", name, NULL);
	g_autofree char *dst = g_build_filename(dir, "new", name, NULL);
	g_autoptr(GString) lf = g_string_sized_new(msg->len);
	g_autoptr(GError) ioerr = NULL;
	gsize i;

	for (i = 0; i < msg->len; i++)
		if (!(msg->str[i] == '\r' && i + 1 < msg->len &&
		    msg->str[i + 1] == '\n'))
			g_string_append_c(lf, msg->str[i]);
	if (!g_file_set_contents(tmp, lf->str, lf->len, &ioerr) ||
	    rename(tmp, dst) != 0) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CANTCREAT, "%s: %s",
		    dst, ioerr != NULL ? ioerr->message : g_strerror(errno));
		return FALSE;
	}
	return TRUE;
}

/* a --dry-run in progress */
struct send_dry {
	const struct composer *comp;
	const char *dir;	/* the maildir */
	guint count;		/* messages written */
};

/* send_dry_one - the message of one recipient into the maildir */
static gboolean
send_dry_one(const struct subscriber *sub, const char *segment,
    const char *matched, gpointer data, GError **error)
{
	struct send_dry *d = data;
	g_autoptr(GString) out = g_string_sized_new(8192);
	g_auto(GStrv) segs = g_strsplit(matched, ",", -1);

	if (!composer_render(d->comp, sub, segment, (const char *const *)segs,
	    0, out, NULL, NULL, error)) {
		g_prefix_error(error, "%s: ", sub->email);
		return FALSE;
	}
	if (!send_maildir_write(d->dir, d->count, out, error))
		return FALSE;
	d->count++;
	return TRUE;
}

/* send_dry_run - every message of campaign ID into the maildir DIR */
static gboolean
send_dry_run(struct herald *h, const struct composer *comp, gint64 id,
    const char *dir, guint *count, GError **error)
{
	const char *sub_dirs[] = { "tmp", "new", "cur" };
	struct send_dry d = { comp, dir, 0 };
	gboolean ok;
	guint i;

	*count = 0;
	for (i = 0; i < G_N_ELEMENTS(sub_dirs); i++) {
		g_autofree char *p = g_build_filename(dir, sub_dirs[i], NULL);

		if (g_mkdir_with_parents(p, 0700) != 0) {
			g_set_error(error, HERALD_ERROR, HERALD_ERROR_CANTCREAT,
			    "%s: %s", p, g_strerror(errno));
			return FALSE;
		}
	}
	ok = store_send_recipients(h->store, id, send_dry_one, &d, error);
	*count = d.count;
	return ok;
}

/* send_test - the message as AS (or the first recipient) gets it, to the
 * TEST addresses. COMP is a COMPOSER_TEST composer: the copy is marked
 * and its tokens are test tokens, so its List-Unsubscribe acts on nobody,
 * and its VERP envelope sender (as a real message's) brings a bounce back
 * to herald pipe as a test copy's, which scores nobody and goes to the
 * owners (pipe.c). It goes as notices go (mailer.h): through smtp { }, or
 * the first relay up when herald.conf has only relay sections. */
static gboolean
send_test(struct herald *h, const struct list_config *list,
    const struct composer *comp, gint64 id, const char *as,
    const char *const *test, GError **error)
{
	g_autoptr(subscriber) sub = NULL;
	g_autoptr(GString) out = g_string_sized_new(8192);
	g_autoptr(GBytes) body = NULL;
	g_auto(GStrv) matched = NULL;
	g_autofree char *segment = NULL, *envelope = NULL, *via = NULL;
	g_autofree char *segs = NULL;
	struct mailer mailer = { h->config, h->store };
	gint64 sub_id = 0;
	int found;

	if (as != NULL && (sub = subscriber_find(h->store, as, error)) == NULL)
		return FALSE;
	found = store_send_sample(h->store, id, sub != NULL ? sub->id : 0,
	    &sub_id, &segment, &segs, error);
	if (found < 0)
		return FALSE;
	if (found > 0) {
		if (sub == NULL &&
		    (sub = subscriber_get(h->store, sub_id, error)) == NULL)
			return FALSE;
		matched = g_strsplit(segs, ",", -1);
	} else if (sub == NULL) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_NOUSER,
		    "nobody to render the test for");
		return FALSE;
	}
	if (!composer_render(comp, sub, segment, (const char *const *)matched,
	    0, out, &envelope, NULL, error))
		return FALSE;
	body = g_string_free_to_bytes(g_steal_pointer(&out));
	if (!mailer_send(&mailer, envelope, test, body, &via, error))
		return FALSE;
	printf("test copy (as %s, segment %s; its tokens act on nobody) sent "
	    "to %u address%s%s%s\n",
	    sub->email, segment != NULL ? segment : "none",
	    g_strv_length((char **)test), g_strv_length((char **)test) > 1 ?
	    "es" : "", via != NULL ? " through relay " : "",
	    via != NULL ? via : "");
	return TRUE;
}

/* send_refuse_again - say why a send of an announcement that campaign ID
 * (unfinished, done, or cancelled after some were sent) has mailed is
 * refused, and how to go on; the exit status */
static int
send_refuse_again(struct herald *h, const struct list_config *list, gint64 id)
{
	g_autoptr(campaign) c = NULL;
	struct campaign_counts n;
	GError *error = NULL;

	if ((c = campaign_get(h->store, id, &error)) == NULL ||
	    !campaign_counts(h->store, id, &n, &error))
		return cmd_error("send", error);
	if (strcmp(c->state, "done") == 0)
		fprintf(stderr, "herald send: campaign %" G_GINT64_FORMAT " of this "
		    "announcement on %s is done (%" G_GINT64_FORMAT " sent); "
		    "--again sends it once more, to everyone in the segments "
		    "given\n", id, list->name, n.sent);
	else if (strcmp(c->state, "cancelled") == 0)
		fprintf(stderr, "herald send: campaign %" G_GINT64_FORMAT " of this "
		    "announcement on %s was cancelled after %" G_GINT64_FORMAT
		    " were sent; --again sends it once more, to everyone in the "
		    "segments given (those too)\n", id, list->name, n.sent);
	else
		fprintf(stderr, "herald send: campaign %" G_GINT64_FORMAT " of this "
		    "announcement on %s is not finished; \"herald campaign "
		    "resume %" G_GINT64_FORMAT "\" goes on with it (--again "
		    "starts another, which mails everyone again)\n", id,
		    list->name, id);
	return EX_USAGE;
}

/* send_confirm - ask on the terminal; TRUE to go on */
static gboolean
send_confirm(gint64 total)
{
	char line[64];

	fprintf(stderr, "Send to %" G_GINT64_FORMAT " recipient%s? [y/N] ",
	    total, total == 1 ? "" : "s");
	if (fgets(line, sizeof line, stdin) == NULL)
		return FALSE;
	return line[0] == 'y' || line[0] == 'Y';
}

/* send_abs_announcement - a path made absolute, a kind name as it is */
static char *
send_abs_announcement(const char *arg)
{
	if (g_file_test(arg, G_FILE_TEST_IS_REGULAR) && !g_path_is_absolute(arg))
		return g_canonicalize_filename(arg, NULL);
	return g_strdup(arg);
}

/* send_schedule_options - the schedule --at, --window and --daily-cap
 * (or the list's window and daily_cap) make into *S; S->at stays 0 when
 * there is none. FALSE after saying what is wrong. */
static gboolean
send_schedule_options(const struct list_config *list, const char *at_text,
    const char *window, int cap, gboolean copy_only, struct schedule *s)
{
	struct schedule_window w;
	GError *error = NULL;
	gint64 now = herald_now();

	if (window == NULL)
		window = list->window;
	else if (*window == '\0')
		window = NULL;
	if (cap < 0)
		cap = list->daily_cap;
	if (at_text == NULL && window == NULL && cap == 0)
		return TRUE;
	if (copy_only) {
		if (at_text == NULL)
			return TRUE;	/* a copy ignores the list's window */
		fprintf(stderr, "herald send: --at schedules a campaign; "
		    "--test and --dry-run send or write at once\n");
		return FALSE;
	}
	if (window != NULL && !schedule_window_parse(window, &w, &error)) {
		fprintf(stderr, "herald send: --window: %s\n", error->message);
		g_error_free(error);
		return FALSE;
	}
	s->at = now;
	if (at_text != NULL && !schedule_parse_at(list, at_text, &s->at,
	    &error)) {
		fprintf(stderr, "herald send: --at: %s\n", error->message);
		g_error_free(error);
		return FALSE;
	}
	if (at_text != NULL && s->at < now - 60) {
		g_autofree char *t = schedule_format_at(list, now);

		fprintf(stderr, "herald send: --at \"%s\" is in the past (it is "
		    "%s now)\n", at_text, t);
		return FALSE;
	}
	s->window = (char *)window;	/* borrowed: lives as long as the command */
	s->daily_cap = cap;
	return TRUE;
}

/* what a foreground pass heard, for its summary */
struct send_pass_view {
	gboolean json;
	struct dispatch_progress p;	/* of the last run */
	char *detail;			/* its reason, or NULL */
};

/* send_event - a pass's report, as herald run prints it */
static void
send_event(const struct schedule_event *e, gpointer data)
{
	struct send_pass_view *v = data;

	if (strcmp(e->what, "ran") != 0)
		return;
	v->p = e->progress;
	g_free(v->detail);
	v->detail = g_strdup(e->detail);
	if (v->json)
		return;
	printf("campaign %" G_GINT64_FORMAT ": this run %" G_GINT64_FORMAT
	    " sent, %" G_GINT64_FORMAT " failed, %" G_GINT64_FORMAT " deferred "
	    "in %.1f s%s%s\n", e->id, e->progress.sent, e->progress.failed,
	    e->progress.deferred, e->progress.elapsed, e->detail != NULL ?
	    "; " : "", e->detail != NULL ? e->detail : "");
}

static int send_pass(struct herald *h, gint64 id, gboolean json);
static const char *campaigns_state(struct herald *h, const struct campaign *c);

/* send_scheduled - record campaign ID's schedule S; unless LATER (--at),
 * make one pass over it now. The exit status. */
static int
send_scheduled(struct herald *h, const struct list_config *list, gint64 id,
    const struct schedule *s, gboolean later, gboolean json)
{
	g_autofree char *start = schedule_format_at(list, s->at);
	struct dispatch_progress none = { 0 };
	GError *error = NULL;

	if (!schedule_set(h->store, id, s, &error))
		return cmd_error("send", error);
	if (later && json) {
		send_summary_json(h->store, id, &none, NULL);
		return EX_OK;
	}
	if (later) {
		printf("campaign %" G_GINT64_FORMAT " scheduled: starts %s%s%s%s; "
		    "herald run (or herald maintain --campaigns) sends it\n", id,
		    start, s->window != NULL ? ", window " : "",
		    s->window != NULL ? s->window : "", s->daily_cap > 0 ?
		    ", with a daily cap" : "");
		return EX_OK;
	}
	return send_pass(h, id, json);
}

/* send_pass - one pass of the schedule over campaign ID, in the
 * foreground; a signal stops it after the messages in flight, and the
 * campaign waits for herald run or herald maintain (exit 75, as a
 * stopped send); a pause by the error rate is 75 too */
static int
send_pass(struct herald *h, gint64 id, gboolean json)
{
	g_autoptr(campaign) c = NULL;
	g_autofree char *line = NULL;
	struct send_pass_view v = { json, { 0 }, NULL };
	struct sigaction sa = { 0 }, oint, oterm;
	GError *error = NULL;
	gboolean ok;
	int status = EX_OK;

	send_stop = 0;
	sa.sa_handler = send_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &oint);
	sigaction(SIGTERM, &sa, &oterm);
	ok = schedule_pass(h->store, h->config, id, &send_stop, send_event, &v,
	    NULL, &error);
	sigaction(SIGINT, &oint, NULL);
	sigaction(SIGTERM, &oterm, NULL);
	if (!ok || (c = campaign_get(h->store, id, &error)) == NULL) {
		g_free(v.detail);
		return cmd_error("send", error);
	}
	if (send_stop || strcmp(c->state, "paused") == 0)
		status = EX_TEMPFAIL;
	if (json)
		send_summary_json(h->store, id, &v.p, v.detail);
	else if (strcmp(c->state, "paused") == 0)
		fprintf(stderr, "herald send: campaign %" G_GINT64_FORMAT " paused:"
		    " %s. Resume with: herald campaign resume %" G_GINT64_FORMAT
		    "\n", id, c->reason != NULL ? c->reason : "?", id);
	else if (strcmp(c->state, "done") != 0 &&
	    (line = schedule_describe(h->store, h->config, c,
	    herald_now())) != NULL)
		printf("campaign %" G_GINT64_FORMAT " %s: %s; herald run (or "
		    "herald maintain --campaigns) goes on with it%s\n", id,
		    campaigns_state(h, c), line, send_stop ? " (\"herald "
		    "campaign pause\" holds it)" : "");
	g_free(v.detail);
	return status;
}

/* herald send's options */
struct send_args {
	char *list, *dry, *as, *at, *window;
	char *new_since, *not_clicked;	/* follow-ups (cmd_followup.h) */
	struct followup follow;
	int cap;			/* -1: the list's */
	char **segments, **test;
	gboolean yes, json, again;
};

/* send_args_clear - free what the options hold */
static void
send_args_clear(struct send_args *a)
{
	g_free(a->list);
	g_free(a->dry);
	g_free(a->as);
	g_free(a->at);
	g_free(a->window);
	g_free(a->new_since);
	g_free(a->not_clicked);
	followup_clear(&a->follow);
	g_strfreev(a->segments);
	g_strfreev(a->test);
}

/* send_parse - herald send's options into *A; FALSE after saying so */
static gboolean
send_parse(struct send_args *a, int *argc, char ***argv)
{
	GOptionEntry entries[] = {
		{ "list", 'l', 0, G_OPTION_ARG_STRING, &a->list,
		    "the list to send to", "LIST" },
		{ "segment", 's', 0, G_OPTION_ARG_STRING_ARRAY, &a->segments,
		    "a segment of the list (repeat: each recipient once, "
		    "rendered for the first that matches)", "S" },
		{ "yes", 'y', 0, G_OPTION_ARG_NONE, &a->yes,
		    "do not ask for confirmation", NULL },
		{ "dry-run", 0, 0, G_OPTION_ARG_FILENAME, &a->dry,
		    "write every message into the maildir DIR, send nothing",
		    "DIR" },
		{ "test", 0, 0, G_OPTION_ARG_STRING_ARRAY, &a->test,
		    "send a test copy (marked, its tokens act on nobody) to "
		    "EMAIL only (repeat), as --as would get it", "EMAIL" },
		{ "as", 0, 0, G_OPTION_ARG_STRING, &a->as,
		    "with --test: render for this subscriber", "EMAIL" },
		{ "json", 0, 0, G_OPTION_ARG_NONE, &a->json,
		    "print the final summary as JSON", NULL },
		{ "again", 0, 0, G_OPTION_ARG_NONE, &a->again,
		    "send it even though a campaign of this announcement on "
		    "the list is unfinished or done (mails everyone again)",
		    NULL },
		{ "at", 0, 0, G_OPTION_ARG_STRING, &a->at,
		    "schedule it: start at TIME (YYYY-MM-DD HH:MM, the list's "
		    "zone); herald run or herald maintain sends it", "TIME" },
		{ "window", 0, 0, G_OPTION_ARG_STRING, &a->window,
		    "send only within W, e.g. \"Mon-Fri 09:00-17:00\" (the "
		    "list's zone; default: the list's window)", "W" },
		{ "daily-cap", 0, 0, G_OPTION_ARG_INT, &a->cap,
		    "send at most N messages a day (default: the list's "
		    "daily_cap; 0: none)", "N" },
		{ "new-since", 0, 0, G_OPTION_ARG_STRING, &a->new_since,
		    "only the members who joined after campaign CAMPAIGN went "
		    "out (who missed it)", "CAMPAIGN" },
		{ "not-clicked", 0, 0, G_OPTION_ARG_STRING, &a->not_clicked,
		    "only the members who did not click a link of CAMPAIGN "
		    "(or URL): per-subscriber tracking only",
		    "CAMPAIGN[:URL]" },
		{ NULL }
	};

	return cmd_parse("send", "ANNOUNCEMENT", "Send an announcement to "
	    "segments of a list as a campaign.", entries, argc, argv);
}

/* send_check - the options that do not go together, and --test's
 * addresses; FALSE after saying what is wrong (exit 64) */
static gboolean
send_check(const struct send_args *a, int argc)
{
	GError *error = NULL;
	guint i;

	if (argc != 2 || a->list == NULL || a->segments == NULL) {
		fprintf(stderr, "herald send: usage: herald send ANNOUNCEMENT "
		    "--list LIST --segment S [--segment S2 …] [--yes]\n");
		return FALSE;
	}
	if (a->as != NULL && a->test == NULL) {
		fprintf(stderr, "herald send: --as goes with --test\n");
		return FALSE;
	}
	if (a->dry != NULL && *a->dry == '\0') {
		fprintf(stderr, "herald send: --dry-run needs a folder to write "
		    "the maildir in, not \"\"\n");
		return FALSE;
	}
	if (a->dry != NULL && a->test != NULL) {
		fprintf(stderr, "herald send: --test and --dry-run do not go "
		    "together (--test mails one rendering, --dry-run writes "
		    "them all to a folder)\n");
		return FALSE;
	}
	for (i = 0; a->test != NULL && a->test[i] != NULL; i++)
		if (!subscriber_check_email(a->test[i], &error)) {
			fprintf(stderr, "herald send: --test: %s\n", error->message);
			g_clear_error(&error);
			return FALSE;
		}
	return TRUE;
}

/* send_list - the list and segments the options name; NULL after saying
 * what is wrong, *STATUS the exit status */
static const struct list_config *
send_list(struct herald *h, const struct send_args *a, int *status)
{
	const struct list_config *list;
	GError *error = NULL;
	guint i;

	if ((list = config_list(h->config, a->list, &error)) == NULL) {
		*status = cmd_error("send", error);
		return NULL;
	}
	for (i = 0; a->segments[i] != NULL; i++)
		if (config_segment(list, a->segments[i]) == NULL) {
			fprintf(stderr, "herald send: list %s has no segment \"%s\" "
			    "(see %s)\n", list->name, a->segments[i], list->file);
			*status = EX_NOUSER;
			return NULL;
		}
	return list;
}

/* send_earlier - 0 when ANNOUNCEMENT may go to LIST; else the exit
 * status, having said why not (a campaign of it mailed it already) */
static int
send_earlier(struct herald *h, const struct list_config *list,
    const char *announcement)
{
	GError *error = NULL;
	gint64 list_id, earlier;

	list_id = store_list_id(h->store, list->name, FALSE, NULL);
	earlier = list_id > 0 ? campaign_find_earlier(h->store, list_id,
	    announcement, &error) : 0;
	if (earlier < 0)
		return cmd_error("send", error);
	if (earlier > 0)
		return send_refuse_again(h, list, earlier);
	return 0;
}

/* send_copy - the --dry-run or --test of campaign ID, then the campaign
 * deleted (the snapshot only picked the recipients); the exit status */
static int
send_copy(struct herald *h, const struct list_config *list,
    const struct composer *comp, gint64 id, const struct send_args *a)
{
	GError *error = NULL, *derr = NULL;
	guint n = 0;
	gboolean ok = a->dry != NULL ?
	    send_dry_run(h, comp, id, a->dry, &n, &error) :
	    send_test(h, list, comp, id, a->as, (const char *const *)a->test,
	    &error);

	if (!campaign_delete(h->store, id, &derr))
		g_clear_error(&derr);
	if (!ok)
		return cmd_error("send", error);
	if (a->dry != NULL)
		printf("%u message%s written to %s/new (nothing sent)\n", n,
		    n == 1 ? "" : "s", a->dry);
	return EX_OK;
}

/* send_counts - campaign ID's recipients per segment (unless JSON, on
 * stdout) and in all, in *TOTAL; FALSE and *ERROR */
static gboolean
send_counts(struct herald *h, gint64 id, const char *announcement,
    const struct list_config *list, gboolean json, gint64 *total,
    GError **error)
{
	g_autoptr(campaign) c = campaign_get(h->store, id, error);
	g_autoptr(GArray) per = NULL;
	guint i;

	if (c == NULL ||
	    (per = campaign_segment_counts(h->store, c, error)) == NULL)
		return FALSE;
	if (!json)
		printf("campaign %" G_GINT64_FORMAT ": %s to %s\n", id,
		    announcement, list->name);
	*total = 0;
	for (i = 0; i < per->len; i++) {
		struct campaign_segment_count *sc = &g_array_index(per,
		    struct campaign_segment_count, i);

		if (!json)
			printf("  %-24s %8" G_GINT64_FORMAT "\n", sc->segment,
			    sc->total);
		*total += sc->total;
	}
	if (!json)
		printf("  %-24s %8" G_GINT64_FORMAT "\n", "total", *total);
	/* the counts come before the progress lines on stderr, also when
	 * both go to one file (stdout is then fully buffered) */
	fflush(stdout);
	return TRUE;
}

/* send_ask - unless YES, the confirmation of a send to TOTAL; 0 to go
 * on, else the exit status (campaign ID deleted, nothing sent) */
static int
send_ask(struct herald *h, gint64 id, gboolean yes, gint64 total)
{
	if (yes)
		return 0;
	if (!isatty(0)) {
		campaign_delete(h->store, id, NULL);
		fprintf(stderr, "herald send: not on a terminal: add --yes "
		    "to send without confirmation (nothing was sent)\n");
		return EX_USAGE;
	}
	if (!send_confirm(total)) {
		campaign_delete(h->store, id, NULL);
		fprintf(stderr, "herald send: nothing sent\n");
		return -1;
	}
	return 0;
}

/* send_note_subject - the subject campaign ID goes out with, as COMP
 * renders it for SEGMENT and no one in particular (the report and
 * campaign show name it); a subject that cannot be rendered so (one that
 * needs a subscriber's attribute) is noted as not known */
static gboolean
send_note_subject(struct herald *h, const struct composer *comp, gint64 id,
    const char *segment, GError **error)
{
	g_autoptr(GHashTable) attrs = g_hash_table_new(g_str_hash,
	    g_str_equal);
	struct subscriber nobody = { 0 };
	g_autofree char *subject = NULL;

	nobody.email = (char *)"reader@invalid";
	nobody.attrs = attrs;
	if ((subject = composer_subject(comp, &nobody, segment, NULL,
	    NULL)) == NULL)
		return TRUE;
	return campaign_set_subject(h->store, id, subject, error);
}

/* send_go - the campaign of A's announcement made from COMP's
 * rendering, and copied, scheduled or sent; the exit status */
static int
send_go(struct herald *h, const struct list_config *list,
    const struct send_args *a, const char *announcement,
    struct composer **comp, struct announcement **ann,
    const struct schedule *sched)
{
	GError *error = NULL;
	gint64 id, total = 0;
	int status;

	/* the snapshot and its follow-up narrowing: one transaction */
	if (!store_begin(h->store, &error))
		return cmd_error("send", error);
	/* a scheduled send's deliveries are written held (schedule_set
	 * would hold them next); a copy's are never sent from the store */
	if (!campaign_create(h->store, list, announcement,
	    (const char *const *)a->segments, sched->at > 0 && a->dry == NULL &&
	    a->test == NULL, &id, &error) ||
	    !send_note_subject(h, *comp, id, a->segments[0], &error))
		return cmd_error("send", error);
	if (!followup_apply(h, id, &a->follow, a->json, &error) ||
	    !store_commit(h->store, &error)) {
		store_rollback(h->store);
		return cmd_error("send", error);
	}
	/* the snapshot's memory (SQLite's temporary B-trees for the segment
	 * conditions: tens of MB on a million members) goes back to the
	 * system before the senders take theirs, or it stays in the main
	 * thread's heap for the whole run */
	malloc_trim(0);
	/* a copy's links are campaign 0's: the campaign made to pick its
	 * recipients goes, the links in the copy keep working */
	if ((a->dry != NULL || a->test != NULL) && !track_setup(h->store, list,
	    *comp, 0, a->test != NULL, &error)) {
		campaign_delete(h->store, id, NULL);
		return cmd_error("send", error);
	}
	if (a->dry != NULL || a->test != NULL)
		return send_copy(h, list, *comp, id, a);
	if (!send_counts(h, id, announcement, list, a->json, &total, &error))
		return cmd_error("send", error);
	if ((status = send_ask(h, id, a->yes, total)) != 0)
		return status < 0 ? EX_OK : status;
	g_clear_pointer(comp, composer_free);
	g_clear_pointer(ann, announcement_free);
	if (sched->at > 0)
		return send_scheduled(h, list, id, sched, a->at != NULL, a->json);
	return send_run(h, "send", id, a->json, FALSE);
}

/* cmd_send - herald send ANNOUNCEMENT --list LIST --segment S … */
int
cmd_send(struct herald *h, int argc, char **argv)
{
	struct send_args a = { .cap = -1 };
	struct schedule sched = { 0, NULL, 0 };
	g_autoptr(announcement) ann = NULL;
	g_autoptr(composer) comp = NULL;
	g_autofree char *announcement = NULL;
	const struct list_config *list;
	GError *error = NULL;
	int status = EX_USAGE;

	if (!send_parse(&a, &argc, &argv) || !send_check(&a, argc))
		goto out;
	if ((list = send_list(h, &a, &status)) == NULL)
		goto out;
	status = EX_USAGE;
	if (!followup_parse(a.new_since, a.not_clicked, &a.follow) ||
	    (status = followup_check(h, list, &a.follow)) != 0)
		goto out;
	status = EX_USAGE;
	if (!send_schedule_options(list, a.at, a.window, a.cap,
	    a.dry != NULL || a.test != NULL, &sched))
		goto out;
	announcement = send_abs_announcement(argv[1]);
	comp = send_composer(h, list, announcement,
	    (const char *const *)a.segments, a.test != NULL ? COMPOSER_TEST : 0,
	    &ann, &error);
	if (comp == NULL)
		status = cmd_error("send", error);
	else if (a.dry != NULL || a.test != NULL || a.again ||
	    (status = send_earlier(h, list, announcement)) == 0)
		status = send_go(h, list, &a, announcement, &comp, &ann, &sched);
out:
	send_args_clear(&a);
	return status;
}

/* campaigns_state - the state, with "interrupted" for a dead sender and
 * "scheduled" for a scheduled one not started */
static const char *
campaigns_state(struct herald *h, const struct campaign *c)
{
	struct schedule s;

	if (strcmp(c->state, "created") == 0 &&
	    schedule_get(h->store, c->id, &s, NULL)) {
		schedule_clear(&s);
		if (s.at > 0)
			return "scheduled";
	}
	if (strcmp(c->state, "sending") == 0 &&
	    !campaign_locked(h->store, h->config->data_dir, c->id))
		return "interrupted";
	return c->state;
}

/* campaign_json_head - the fields campaigns and campaign show share */
static void
campaign_json_head(struct herald *h, struct json_out *jo,
    const struct campaign *c, const struct campaign_counts *n)
{
	g_autofree char *line = NULL;
	struct schedule sched = { 0, NULL, 0 };
	char **seg;

	json_out_kint(jo, "id", c->id);
	json_out_kstring(jo, "list", c->list);
	json_out_kstring(jo, "announcement", c->announcement);
	json_out_kstring(jo, "subject", c->subject);
	json_out_key(jo, "segments");
	json_out_array(jo);
	for (seg = c->segments; seg != NULL && *seg != NULL; seg++)
		json_out_string(jo, *seg);
	json_out_end(jo);
	json_out_kstring(jo, "state", campaigns_state(h, c));
	json_out_kstring(jo, "reason", c->reason);
	json_out_ktime(jo, "created", c->created);
	json_out_ktime(jo, "started", c->started);
	json_out_ktime(jo, "finished", c->finished);
	json_out_kint(jo, "total", n->total);
	json_out_kint(jo, "sent", n->sent);
	json_out_kint(jo, "failed", n->failed);
	json_out_kint(jo, "queued", n->queued);
	json_out_ktime(jo, "scheduled_at", schedule_get(h->store, c->id, &sched,
	    NULL) ? sched.at : 0);
	schedule_clear(&sched);
	line = strcmp(c->state, "done") != 0 &&
	    strcmp(c->state, "cancelled") != 0 ? schedule_describe(h->store,
	    h->config, c, herald_now()) : NULL;
	json_out_kstring(jo, "schedule", line);
}

/* cmd_campaigns - herald campaigns: every campaign, one line each */
int
cmd_campaigns(struct herald *h, int argc, char **argv)
{
	gboolean json = FALSE;
	const GOptionEntry entries[] = {
		{ "json", 0, 0, G_OPTION_ARG_NONE, &json,
		    "print a JSON array, one object per campaign", NULL },
		{ NULL }
	};
	g_autoptr(GPtrArray) all = NULL;
	char *line = NULL;
	gint64 now = herald_now();
	GError *error = NULL;
	struct json_out jo;
	guint i;

	if (!cmd_parse("campaigns", NULL, "List the campaigns, newest first.",
	    entries, &argc, &argv))
		return EX_USAGE;
	if (argc > 1) {
		fprintf(stderr, "herald campaigns: unexpected argument \"%s\"\n",
		    argv[1]);
		return EX_USAGE;
	}
	if ((all = campaign_list(h->store, &error)) == NULL)
		return cmd_error("campaigns", error);
	json_out_init(&jo, stdout);
	if (json)
		json_out_array(&jo);
	else if (all->len == 0) {
		printf("no campaigns yet (herald send starts one)\n");
		return EX_OK;
	} else
		printf("%5s %-12s %-16s %-11s %8s %8s %8s %8s  %s\n", "ID", "LIST",
	    "CREATED", "STATE", "TOTAL", "SENT", "FAILED", "QUEUED",
	    "ANNOUNCEMENT (SEGMENTS)");
	for (i = 0; i < all->len; i++) {
		const struct campaign *c = g_ptr_array_index(all, i);
		struct campaign_counts n;
		g_autoptr(GDateTime) t = g_date_time_new_from_unix_local(c->created);
		g_autofree char *when = g_date_time_format(t, "%F %R");
		g_autofree char *base = g_path_get_basename(c->announcement);
		g_autofree char *segs = g_strjoinv(",", c->segments);

		if (!campaign_counts(h->store, c->id, &n, &error))
			return cmd_error("campaigns", error);
		if (json) {
			json_out_object(&jo);
			campaign_json_head(h, &jo, c, &n);
			json_out_end(&jo);
			continue;
		}
		printf("%5" G_GINT64_FORMAT " %-12s %-16s %-11s %8" G_GINT64_FORMAT
		    " %8" G_GINT64_FORMAT " %8" G_GINT64_FORMAT " %8"
		    G_GINT64_FORMAT "  %s (%s)\n", c->id, c->list, when,
		    campaigns_state(h, c), n.total, n.sent, n.failed, n.queued,
		    base, segs);
		if (strcmp(c->state, "done") != 0 &&
		    strcmp(c->state, "cancelled") != 0 &&
		    (line = schedule_describe(h->store, h->config, c, now)) != NULL)
			printf("%5s %s\n", "", line);
		g_clear_pointer(&line, g_free);
	}
	if (json) {
		json_out_end(&jo);
		json_out_end_line(&jo);
	}
	return EX_OK;
}

/* campaign_shape_state - shape SH's state and reason at the last run's
 * end (dispatch.c keeps them as the relay_state row "shape NAME") */
static gboolean
campaign_shape_state(struct herald *h, const struct shape_config *sh,
    char **state, char **why, GError **error)
{
	g_autofree char *name = g_strdup_printf("shape %s", sh->name);

	return relay_get_state(h->store, name, state, why, NULL, error);
}

/* one relay shape's state as campaign show prints it */
struct campaign_shape_view {
	const char *name;
	char *state, *why;
};

/* campaign show's facts, read once and printed as text or JSON */
struct campaign_view {
	struct campaign *c;
	struct campaign_counts n;
	GArray *per;		/* struct campaign_segment_count */
	GArray *errs;		/* struct campaign_error_group */
	GArray *relays;		/* struct relay_count */
	GArray *shapes;		/* struct campaign_shape_view */
	char *schedule;		/* schedule_describe's line, or NULL */
};

/* campaign_view_clear - free what campaign_view_load read */
static void
campaign_view_clear(struct campaign_view *v)
{
	guint i;

	for (i = 0; v->shapes != NULL && i < v->shapes->len; i++) {
		struct campaign_shape_view *sv = &g_array_index(v->shapes,
		    struct campaign_shape_view, i);

		g_free(sv->state);
		g_free(sv->why);
	}
	g_clear_pointer(&v->shapes, g_array_unref);
	g_clear_pointer(&v->per, g_array_unref);
	g_clear_pointer(&v->errs, g_array_unref);
	g_clear_pointer(&v->relays, g_array_unref);
	g_clear_pointer(&v->c, campaign_free);
	g_clear_pointer(&v->schedule, g_free);
}

/* campaign_view_load - everything campaign show says about campaign ID */
static gboolean
campaign_view_load(struct herald *h, gint64 id, struct campaign_view *v,
    GError **error)
{
	guint i;

	if ((v->c = campaign_get(h->store, id, error)) == NULL ||
	    !campaign_counts(h->store, id, &v->n, error) ||
	    (v->per = campaign_segment_counts(h->store, v->c, error)) == NULL ||
	    (v->errs = campaign_errors(h->store, id, 10, error)) == NULL ||
	    (v->relays = relay_counts(h->store, h->config, id, error)) == NULL)
		return FALSE;
	v->schedule = schedule_describe(h->store, h->config, v->c,
	    herald_now());
	v->shapes = g_array_new(FALSE, TRUE, sizeof(struct campaign_shape_view));
	for (i = 0; i < h->config->shapes->len; i++) {
		const struct shape_config *sh = g_ptr_array_index(
		    h->config->shapes, i);
		struct campaign_shape_view sv = { sh->name, NULL, NULL };

		if (!campaign_shape_state(h, sh, &sv.state, &sv.why, error))
			return FALSE;
		g_array_append_val(v->shapes, sv);
	}
	return TRUE;
}

/* campaign_json_segments - by_segment of campaign show --json */
static void
campaign_json_segments(struct json_out *jo, GArray *per)
{
	guint i;

	json_out_key(jo, "by_segment");
	json_out_array(jo);
	for (i = 0; i < per->len; i++) {
		struct campaign_segment_count *s = &g_array_index(per,
		    struct campaign_segment_count, i);

		json_out_object(jo);
		json_out_kstring(jo, "segment", s->segment);
		json_out_kint(jo, "total", s->total);
		json_out_kint(jo, "sent", s->sent);
		json_out_kint(jo, "failed", s->failed);
		json_out_kint(jo, "queued", s->queued);
		json_out_end(jo);
	}
	json_out_end(jo);
}

/* campaign_json_errors - errors of campaign show --json */
static void
campaign_json_errors(struct json_out *jo, GArray *errs)
{
	guint i;

	json_out_key(jo, "errors");
	json_out_array(jo);
	for (i = 0; i < errs->len; i++) {
		struct campaign_error_group *g = &g_array_index(errs,
		    struct campaign_error_group, i);

		json_out_object(jo);
		json_out_kstring(jo, "stage", g->stage);
		json_out_key(jo, "code");
		if (g->code != 0)
			json_out_int(jo, g->code);
		else
			json_out_null(jo);
		json_out_kstring(jo, "reply", g->reply);
		json_out_kint(jo, "count", g->count);
		json_out_kint(jo, "failed", g->failed);
		json_out_end(jo);
	}
	json_out_end(jo);
}

/* campaign_json_relays - relays and shapes of campaign show --json */
static void
campaign_json_relays(struct json_out *jo, GArray *relays, GArray *shapes)
{
	guint i;

	json_out_key(jo, "relays");
	json_out_array(jo);
	for (i = 0; i < relays->len; i++) {
		struct relay_count *r = &g_array_index(relays, struct relay_count,
		    i);

		json_out_object(jo);
		json_out_kstring(jo, "relay", r->relay);
		json_out_kint(jo, "sent", r->sent);
		json_out_kint(jo, "deferred", r->deferred);
		json_out_kint(jo, "failed", r->failed);
		json_out_kstring(jo, "state", r->state);
		json_out_kstring(jo, "reason", r->reason);
		json_out_end(jo);
	}
	json_out_end(jo);
	json_out_key(jo, "shapes");
	json_out_array(jo);
	for (i = 0; i < shapes->len; i++) {
		struct campaign_shape_view *sv = &g_array_index(shapes,
		    struct campaign_shape_view, i);

		json_out_object(jo);
		json_out_kstring(jo, "shape", sv->name);
		json_out_kstring(jo, "state", sv->state);
		json_out_kstring(jo, "reason", sv->why);
		json_out_end(jo);
	}
	json_out_end(jo);
}

/* campaign_show_json - campaign show --json (doc/guide/reports.md, "JSON output");
 * CLICKS the engagement totals */
static void
campaign_show_json(struct herald *h, const struct campaign_view *v,
    const struct report_clicks *clicks)
{
	const struct campaign *c = v->c;
	struct json_out jo;

	json_out_init(&jo, stdout);
	json_out_object(&jo);
	campaign_json_head(h, &jo, c, &v->n);
	json_out_kint(&jo, "due", v->n.due);
	json_out_kdouble(&jo, "sending_seconds", c->sending_seconds);
	json_out_key(&jo, "rate");
	if (c->sending_seconds > 0)
		json_out_double(&jo, (v->n.sent + v->n.failed) /
		    c->sending_seconds);
	else
		json_out_null(&jo);
	campaign_json_segments(&jo, v->per);
	campaign_json_errors(&jo, v->errs);
	campaign_json_relays(&jo, v->relays, v->shapes);
	json_out_kint(&jo, "clicks", clicks->clicks);
	json_out_kint(&jo, "machine_clicks", clicks->machine_clicks);
	json_out_kint(&jo, "opens", clicks->opens);
	json_out_kint(&jo, "machine_opens", clicks->machine_opens);
	json_out_end(&jo);
	json_out_end_line(&jo);
}

/* campaign_text_head - the campaign's lines of campaign show */
static void
campaign_text_head(struct herald *h, const struct campaign_view *v)
{
	const struct campaign *c = v->c;

	printf("campaign     %" G_GINT64_FORMAT "\n", c->id);
	printf("announcement %s\n", c->announcement);
	if (c->subject != NULL)
		printf("subject      %s\n", c->subject);
	printf("list         %s\n", c->list);
	printf("state        %s%s%s\n", campaigns_state(h, c),
	    c->reason != NULL ? ": " : "", c->reason != NULL ? c->reason : "");
	if (v->schedule != NULL)
		printf("schedule     %s\n", v->schedule);
	printf("recipients   %" G_GINT64_FORMAT "\n", v->n.total);
	printf("sent         %" G_GINT64_FORMAT "\n", v->n.sent);
	printf("failed       %" G_GINT64_FORMAT "\n", v->n.failed);
	printf("queued       %" G_GINT64_FORMAT " (%" G_GINT64_FORMAT
	    " due now)\n", v->n.queued, v->n.due);
	if (c->sending_seconds > 0)
		printf("rate         %.0f msg/s over %.1f s of sending\n",
		    (v->n.sent + v->n.failed) / c->sending_seconds,
		    c->sending_seconds);
}

/* campaign_text_tables - the segment, relay, shape and error tables */
static void
campaign_text_tables(const struct campaign_view *v)
{
	guint i;

	printf("\n%-24s %8s %8s %8s %8s\n", "SEGMENT", "TOTAL", "SENT",
	    "FAILED", "QUEUED");
	for (i = 0; i < v->per->len; i++) {
		struct campaign_segment_count *s = &g_array_index(v->per,
		    struct campaign_segment_count, i);

		printf("%-24s %8" G_GINT64_FORMAT " %8" G_GINT64_FORMAT " %8"
		    G_GINT64_FORMAT " %8" G_GINT64_FORMAT "\n", s->segment,
		    s->total, s->sent, s->failed, s->queued);
	}
	printf("\n%-16s %8s %8s %8s  %s\n", "RELAY", "SENT", "DEFERRED",
	    "FAILED", "STATE");
	for (i = 0; i < v->relays->len; i++) {
		struct relay_count *r = &g_array_index(v->relays,
		    struct relay_count, i);

		printf("%-16s %8" G_GINT64_FORMAT " %8" G_GINT64_FORMAT " %8"
		    G_GINT64_FORMAT "  %s%s%s\n", r->relay, r->sent, r->deferred,
		    r->failed, r->state != NULL ? r->state : "unused",
		    r->reason != NULL ? ": " : "", r->reason != NULL ? r->reason :
		    "");
	}
	if (v->shapes->len > 0)
		printf("\n%-16s %s\n", "SHAPE", "STATE (the last run's end)");
	for (i = 0; i < v->shapes->len; i++) {
		struct campaign_shape_view *sv = &g_array_index(v->shapes,
		    struct campaign_shape_view, i);

		printf("%-16s %s%s%s\n", sv->name, sv->state != NULL ?
		    sv->state : "unused", sv->why != NULL ? ": " : "",
		    sv->why != NULL ? sv->why : "");
	}
	if (v->errs->len > 0)
		printf("\n%8s %8s  %-8s %s\n", "COUNT", "FAILED", "STAGE",
		    "REPLY");
	for (i = 0; i < v->errs->len; i++) {
		struct campaign_error_group *g = &g_array_index(v->errs,
		    struct campaign_error_group, i);
		char code[16] = "";

		if (g->code != 0)
			g_snprintf(code, sizeof code, "%d ", g->code);
		printf("%8" G_GINT64_FORMAT " %8" G_GINT64_FORMAT "  %-8s %s%s\n",
		    g->count, g->failed, g->stage, code, g->reply);
	}
}

/* campaign_show - counts by state and segment, rate, errors by reply:
 * read once (campaign_view_load), printed as text or as JSON */
static int
campaign_show(struct herald *h, gint64 id, gboolean json)
{
	struct campaign_view v = { 0 };
	struct report_clicks *clicks = NULL;
	GError *error = NULL;

	if (!campaign_view_load(h, id, &v, &error) ||
	    (clicks = report_clicks_build(h->store, id, &error)) == NULL) {
		campaign_view_clear(&v);
		return cmd_error("campaign show", error);
	}
	if (json)
		campaign_show_json(h, &v, clicks);
	else {
		campaign_text_head(h, &v);
		printf("clicks       %" G_GINT64_FORMAT " by people, %"
		    G_GINT64_FORMAT " by machines\n", clicks->clicks,
		    clicks->machine_clicks);
		printf("opens        %" G_GINT64_FORMAT " (a lower bound), %"
		    G_GINT64_FORMAT " by machines\n", clicks->opens,
		    clicks->machine_opens);
		campaign_text_tables(&v);
	}
	report_clicks_free(clicks);
	campaign_view_clear(&v);
	return EX_OK;
}

/* campaign_mark - pause or cancel; a running sender sees it and stops */
static int
campaign_mark(struct herald *h, const char *cmd, gint64 id, const char *state)
{
	g_autoptr(campaign) c = NULL;
	GError *error = NULL;

	if ((c = campaign_get(h->store, id, &error)) == NULL)
		return cmd_error(cmd, error);
	if (strcmp(c->state, "done") == 0 || strcmp(c->state, "cancelled") == 0) {
		fprintf(stderr, "herald %s: campaign %" G_GINT64_FORMAT " is %s "
		    "already\n", cmd, id, c->state);
		return EX_USAGE;
	}
	if (!campaign_set_state(h->store, id, state, strcmp(state, "paused") == 0 ?
	    "paused by \"herald campaign pause\"" :
	    "cancelled by \"herald campaign cancel\"", &error))
		return cmd_error(cmd, error);
	printf("campaign %" G_GINT64_FORMAT " %s%s\n", id, state,
	    campaign_locked(h->store, h->config->data_dir, id) ?
	    " (the running sender stops after the messages in flight)" : "");
	return EX_OK;
}

/* campaign_is_scheduled - does campaign ID have a schedule? */
static gboolean
campaign_is_scheduled(struct herald *h, gint64 id)
{
	struct schedule s;

	if (!schedule_get(h->store, id, &s, NULL))
		return FALSE;	/* send_run says what is wrong */
	schedule_clear(&s);
	return s.at > 0;
}

/* campaign_resume_scheduled - resume (RETRY: also queue the failed
 * again) a scheduled campaign: within its window and cap, like a pass
 * of herald run; a paused one is unpaused first */
static int
campaign_resume_scheduled(struct herald *h, gint64 id, gboolean retry,
    gboolean json)
{
	g_autoptr(campaign) c = NULL;
	const char *cmd = retry ? "campaign retry" : "campaign resume";
	GError *error = NULL;
	gint64 n = 0;
	int status;

	if ((c = send_campaign_get(h, cmd, id, &status)) == NULL)
		return status;
	if (retry && !campaign_requeue(h->store, id, &n, &error))
		return cmd_error(cmd, error);
	if (strcmp(c->state, "paused") == 0 &&
	    !campaign_set_state(h->store, id, "waiting", NULL, &error))
		return cmd_error(cmd, error);
	return send_pass(h, id, json);
}

/* cmd_campaign - herald campaign show|pause|resume|retry|cancel ID */
int
cmd_campaign(struct herald *h, int argc, char **argv)
{
	gboolean json = FALSE;
	GOptionEntry entries[] = {
		{ "json", 0, 0, G_OPTION_ARG_NONE, &json,
		    "show: the campaign as JSON; resume, retry: the final "
		    "summary as JSON", NULL },
		{ NULL }
	};
	char *end = NULL;
	gint64 id;

	if (!cmd_parse("campaign", "show|pause|resume|retry|cancel ID",
	    "Look at or steer one campaign. resume sends what is due; retry "
	    "queues the failed deliveries again, makes every queued one due "
	    "and sends.", entries, &argc, &argv))
		return EX_USAGE;
	if (argc != 3 || (id = g_ascii_strtoll(argv[2], &end, 10)) <= 0 ||
	    *end != '\0') {
		fprintf(stderr, "herald campaign: usage: herald campaign "
		    "show|pause|resume|retry|cancel ID\n");
		return EX_USAGE;
	}
	if (strcmp(argv[1], "show") == 0)
		return campaign_show(h, id, json);
	if (strcmp(argv[1], "pause") == 0)
		return campaign_mark(h, "campaign pause", id, "paused");
	if (strcmp(argv[1], "cancel") == 0)
		return campaign_mark(h, "campaign cancel", id, "cancelled");
	if ((strcmp(argv[1], "resume") == 0 || strcmp(argv[1], "retry") == 0) &&
	    campaign_is_scheduled(h, id))
		return campaign_resume_scheduled(h, id,
		    strcmp(argv[1], "retry") == 0, json);
	if (strcmp(argv[1], "resume") == 0)
		return send_run(h, "campaign resume", id, json, FALSE);
	if (strcmp(argv[1], "retry") == 0)
		return send_run(h, "campaign retry", id, json, TRUE);
	fprintf(stderr, "herald campaign: no action \"%s\" (show, pause, "
	    "resume, retry, cancel)\n", argv[1]);
	return EX_USAGE;
}
