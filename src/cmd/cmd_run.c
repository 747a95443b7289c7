/*
 * cmd_run.c - herald run: the long-running dispatcher (systemd unit
 * etc/systemd/herald-run.service). It makes a pass over the campaigns
 * (schedule.c: starts the scheduled ones when due, honours windows and
 * daily caps, resumes interrupted ones and sends retries when due), then
 * sleeps until the next thing is due or --interval seconds, whichever
 * comes first, and again.
 *
 *   herald run [--interval SECONDS] [--once]
 *
 * SIGTERM and SIGINT stop it cleanly: the run in progress stops after the
 * messages in flight, their results are committed, the campaign is left
 * waiting (the next herald run or herald maintain goes on with it), and
 * herald run exits 0. Every action is one line on stderr.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "herald.h"
#include "cmd.h"
#include "config.h"
#include "schedule.h"
#include "store.h"

static volatile sig_atomic_t run_stop;

/* run_on_signal - ask the dispatcher to stop */
static void
run_on_signal(int signo)
{
	run_stop = signo;
}

/* run_event - one line per campaign acted on; DATA is the command name */
static void
run_event(const struct schedule_event *e, gpointer data)
{
	const char *cmd = data;

	if (strcmp(e->what, "ran") != 0) {
		fprintf(stderr, "herald %s: campaign %" G_GINT64_FORMAT ": %s\n",
		    cmd, e->id, e->what);
		return;
	}
	fprintf(stderr, "herald %s: campaign %" G_GINT64_FORMAT ": sent %"
	    G_GINT64_FORMAT ", failed %" G_GINT64_FORMAT ", deferred %"
	    G_GINT64_FORMAT " in %.1f s%s%s\n", cmd, e->id, e->progress.sent,
	    e->progress.failed, e->progress.deferred, e->progress.elapsed,
	    e->detail != NULL ? "; " : "", e->detail != NULL ? e->detail : "");
}

int
cmd_run(struct herald *h, int argc, char **argv)
{
	int interval = 60;
	gboolean once = FALSE;
	GOptionEntry entries[] = {
		{ "interval", 'i', 0, G_OPTION_ARG_INT, &interval,
		    "look for new work at least every SECONDS (default 60)",
		    "SECONDS" },
		{ "once", 0, 0, G_OPTION_ARG_NONE, &once,
		    "one pass, then exit (what herald maintain --campaigns does)",
		    NULL },
		{ NULL }
	};
	struct sigaction sa = { 0 };
	GError *error = NULL;
	gint64 next = 0, wait;

	if (!cmd_parse("run", NULL, "Send campaigns when due: scheduled starts, "
	    "sending windows, daily caps, interrupted runs and retries.",
	    entries, &argc, &argv))
		return EX_USAGE;
	if (argc > 1) {
		fprintf(stderr, "herald run: unexpected argument \"%s\"\n",
		    argv[1]);
		return EX_USAGE;
	}
	if (interval < 1 || interval > 3600) {
		fprintf(stderr, "herald run: --interval must be 1 to 3600 "
		    "seconds, not %d\n", interval);
		return EX_USAGE;
	}
	sa.sa_handler = run_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	fprintf(stderr, "herald run: started (looking every %d s at most)\n",
	    interval);
	while (!run_stop) {
		if (!schedule_pass(h->store, h->config, 0, &run_stop, run_event,
		    (gpointer)"run", &next, &error)) {
			if (error->code != HERALD_ERROR_TEMP)
				return cmd_error("run", error);
			/* a busy or full database: say so and try again */
			fprintf(stderr, "herald run: %s (trying again)\n",
			    error->message);
			g_clear_error(&error);
		}
		if (once)
			break;
		wait = interval;
		if (next > 0)
			wait = CLAMP(next - herald_now(), 0, interval);
		/* a quarter-second step: a signal ends the sleep at once */
		for (wait = MAX(wait * 4, 1); wait > 0 && !run_stop; wait--)
			g_usleep(G_USEC_PER_SEC / 4);
	}
	if (run_stop)
		fprintf(stderr, "herald run: stopped by %s\n",
		    run_stop == SIGTERM ? "SIGTERM" : "SIGINT");
	return EX_OK;
}
