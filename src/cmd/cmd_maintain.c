/*
 * cmd_maintain.c - herald maintain: the daily housekeeping that cron or
 * the systemd timer runs (etc/cron.d/herald, etc/systemd/herald-maintain.*).
 *
 * For every list: queue the bounce warnings that are due, remove members
 * whose warnings ran out, drop stale bounce scores; deliver the notice
 * outboxes (the bounce policy's, and outbox.c's: goodbyes, confirmations,
 * forwards the pipe could not send) through the configured relay; expire subscription requests left
 * unconfirmed past pipe { pending_expiry_hours } (pipe.c; that one always
 * goes by the real clock, not --now); and one pass over the campaigns, as
 * herald run makes (schedule.c: scheduled starts, windows, daily caps,
 * interrupted runs, retries due; by herald's clock, HERALD_NOW in tests,
 * not --now). --campaigns does only that pass, for a cron line every few
 * minutes on hosts without herald run. Prints a short summary. Running it twice in a row does
 * nothing the second time; missing a day only delays what was due.
 *
 * Must stay true: each list's changes are one transaction; a busy or full
 * database is EX_TEMPFAIL (75), so the next run simply tries again.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <gmime/gmime.h>

#include "herald.h"
#include "bounce_policy.h"
#include "outbox.h"
#include "cmd.h"
#include "config.h"
#include "mailer.h"
#include "pipe.h"
#include "schedule.h"
#include "store.h"

/* cmd_maintain_time - parse --now: unix seconds or ISO 8601 */
static gboolean
cmd_maintain_time(const char *text, gint64 *out)
{
	g_autoptr(GDateTime) dt = NULL;
	g_autoptr(GTimeZone) utc = g_time_zone_new_utc();
	char *end;
	gint64 v;

	v = g_ascii_strtoll(text, &end, 10);
	if (end != text && *end == '\0' && v >= 0) {
		*out = v;
		return TRUE;
	}
	if ((dt = g_date_time_new_from_iso8601(text, utc)) == NULL)
		return FALSE;
	*out = g_date_time_to_unix(dt);
	return TRUE;
}

/* the campaign pass's tally, for the summary line */
struct maintain_pass {
	int runs;
	gint64 sent, failed, deferred;
};

/* maintain_event - one line per run on stderr, counted for the summary */
static void
maintain_event(const struct schedule_event *e, gpointer data)
{
	struct maintain_pass *p = data;

	if (strcmp(e->what, "ran") != 0)
		return;
	p->runs++;
	p->sent += e->progress.sent;
	p->failed += e->progress.failed;
	p->deferred += e->progress.deferred;
	fprintf(stderr, "herald maintain: campaign %" G_GINT64_FORMAT ": sent %"
	    G_GINT64_FORMAT ", failed %" G_GINT64_FORMAT ", deferred %"
	    G_GINT64_FORMAT "%s%s\n", e->id, e->progress.sent,
	    e->progress.failed, e->progress.deferred, e->detail != NULL ?
	    "; " : "", e->detail != NULL ? e->detail : "");
}

static volatile sig_atomic_t maintain_stop;

/* maintain_on_signal - stop the campaign pass after the messages in flight */
static void
maintain_on_signal(int signo)
{
	maintain_stop = signo;
}

/* maintain_campaigns - one pass over the campaigns; the exit status.
 * SIGTERM or SIGINT (a timer stopped, cron's job killed politely) stops
 * the run after the messages in flight; the campaign waits for the next
 * pass. */
static int
maintain_campaigns(struct herald *h, struct maintain_pass *p)
{
	struct sigaction sa = { 0 };
	GError *error = NULL;

	sa.sa_handler = maintain_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (!schedule_pass(h->store, h->config, 0, &maintain_stop,
	    maintain_event, p, NULL, &error))
		return cmd_error("maintain", error);
	printf("campaigns: %d run(s), %" G_GINT64_FORMAT " sent, %"
	    G_GINT64_FORMAT " failed, %" G_GINT64_FORMAT " deferred\n", p->runs,
	    p->sent, p->failed, p->deferred);
	return EX_OK;
}

int
cmd_maintain(struct herald *h, int argc, char **argv)
{
	g_autofree char *now_text = NULL;
	gboolean campaigns_only = FALSE;
	struct maintain_pass pass = { 0 };
	const GOptionEntry entries[] = {
		{ "now", 0, 0, G_OPTION_ARG_STRING, &now_text,
		    "act as if it were TIME (unix seconds or ISO 8601, UTC "
		    "unless it says); for tests and catching up", "TIME" },
		{ "campaigns", 0, 0, G_OPTION_ARG_NONE, &campaigns_only,
		    "only the pass over the campaigns (scheduled starts, "
		    "windows, caps, resumes); for a cron line every few minutes",
		    NULL },
		{ NULL }
	};
	struct mailer out = { h->config, h->store };
	struct bounce_notifier notifier = { bounce_policy_mail_notice, &out };
	struct bounce_maintenance m = { 0 };
	GError *error = NULL;
	struct outbox_stats ob = { 0 };
	guint expired = 0;
	int pruned, obpruned;
	gint64 waiting;
	gint64 now = (gint64)time(NULL);

	if (!cmd_parse("maintain", NULL, "Daily housekeeping: bounce warnings "
	    "and removals, stale bounce scores, queued notices.", entries,
	    &argc, &argv))
		return EX_USAGE;
	if (argc > 1) {
		fprintf(stderr, "herald maintain: unexpected argument \"%s\"\n",
		    argv[1]);
		return EX_USAGE;
	}
	if (now_text != NULL && !cmd_maintain_time(now_text, &now)) {
		fprintf(stderr, "herald maintain: --now: \"%s\" is neither unix "
		    "seconds nor an ISO 8601 time\n", now_text);
		return EX_USAGE;
	}
	g_mime_init();
	if (campaigns_only)
		return maintain_campaigns(h, &pass);
	if (!bounce_policy_maintain(h->store, h->config, now, &notifier, &m,
	    &error))
		return cmd_error("maintain", error);
	printf("bounces: %d warning(s) queued, %d member(s) removed, "
	    "%d stale score(s) dropped, %d score(s) cleared\n", m.warned,
	    m.removed, m.expired, m.cleared);
	printf("notices: %d sent, %d failed, %d waiting\n", m.notices_sent,
	    m.notices_failed, m.notices_queued);
	if (!outbox_flush(h->store, h->config, now, 0, &ob, &error) ||
	    (waiting = outbox_waiting(h->store, &error)) < 0 ||
	    (obpruned = outbox_prune(h->store, h->config->pipe.spool_keep_days,
	    now, &error)) < 0)
		return cmd_error("maintain", error);
	printf("outbox: %d sent, %d failed, %" G_GINT64_FORMAT " waiting, %d"
	    " older than %d days removed\n", ob.sent, ob.failed, waiting,
	    obpruned, h->config->pipe.spool_keep_days);
	if (!pipe_expire_pending(h->store, h->config->pipe.pending_expiry_hours,
	    &expired, &error))
		return cmd_error("maintain", error);
	printf("subscriptions: %u unconfirmed request(s) expired\n", expired);
	pruned = pipe_spool_prune(h->config->spool_dir,
	    h->config->pipe.spool_keep_days, &error);
	if (pruned < 0)
		return cmd_error("maintain", error);
	printf("spool: %d archived message(s) older than %d days removed\n",
	    pruned, h->config->pipe.spool_keep_days);
	return maintain_campaigns(h, &pass);
}
