/*
 * schedule.c - scheduled campaigns: windows, daily caps, and the pass
 * over the campaigns that herald run, herald maintain and herald send
 * make (see schedule.h for the contract).
 *
 * Times of day and days are the list's (its timezone option, else the
 * local zone), computed with GDateTime, so a window stays 09:00-17:00
 * across a change to or from summer time. The clock is herald_now(), so
 * HERALD_NOW moves every comparison at once in tests.
 *
 * A run stops at the window's end through dispatch_run()'s stop flag,
 * set by a watcher thread that also passes on the caller's own flag (a
 * signal); the campaign then waits, not paused: pausing is a person's
 * decision, and a paused campaign is left alone by every pass.
 */
#include <stdio.h>
#include <string.h>

#include "herald.h"
#include "announcement.h"
#include "compose.h"
#include "schedule.h"
#include "track.h"
#include "schedule_window.h"
#include "store_claims.h"
#include "store_schedules.h"
#include "token.h"

#define SCHEDULE_WATCH_US 50000		/* how often the watcher looks */
#define SCHEDULE_STOP_WINDOW (-1)	/* the watcher's own stop value */

/* schedule_tz - the zone of LIST (its timezone option, else local) */
static GTimeZone *
schedule_tz(const struct list_config *list)
{
	GTimeZone *tz = NULL;

	if (list != NULL && list->timezone != NULL)
		tz = g_time_zone_new_identifier(list->timezone);
	return tz != NULL ? tz : g_time_zone_new_local();
}

/* schedule_day_end - the next midnight after T in TZ */
static gint64
schedule_day_end(GTimeZone *tz, gint64 t)
{
	g_autoptr(GDateTime) dt = schedule_local(tz, t);

	return schedule_at_minute(tz, dt, 1440);
}

/* schedule_day_start - the midnight that began T's day in TZ */
static gint64
schedule_day_start(GTimeZone *tz, gint64 t)
{
	g_autoptr(GDateTime) dt = schedule_local(tz, t);

	return schedule_at_minute(tz, dt, 0);
}

/* schedule_format - T in TZ, "YYYY-MM-DD HH:MM ZONE" */
static char *
schedule_format(GTimeZone *tz, gint64 t)
{
	g_autoptr(GDateTime) dt = schedule_local(tz, t);

	return g_date_time_format(dt, "%F %R %Z");
}

/* schedule_parse_at - a local time in LIST's zone */
gboolean
schedule_parse_at(const struct list_config *list, const char *text,
    gint64 *out, GError **error)
{
	g_autoptr(GTimeZone) tz = schedule_tz(list);

	if (herald_parse_local(text, tz, out))
		return TRUE;
	g_set_error(error, HERALD_ERROR, HERALD_ERROR_USAGE, "\"%s\" is not a "
	    "time: YYYY-MM-DD HH:MM[:SS], in the list's zone (%s)", text,
	    g_time_zone_get_identifier(tz));
	return FALSE;
}

/* schedule_format_at - T in LIST's zone */
char *
schedule_format_at(const struct list_config *list, gint64 t)
{
	g_autoptr(GTimeZone) tz = schedule_tz(list);

	return schedule_format(tz, t);
}

/* schedule_set - record the schedule and hold the deliveries */
gboolean
schedule_set(struct store *store, gint64 id, const struct schedule *s,
    GError **error)
{
	return store_schedule_set(store, id, s->at, s->window, s->daily_cap,
	    error);
}

/* schedule_get - the stored schedule of campaign ID */
gboolean
schedule_get(struct store *store, gint64 id, struct schedule *s,
    GError **error)
{
	int found = store_schedule_get(store, id, &s->at, &s->window,
	    &s->daily_cap, error);

	if (found == 0)
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_NOUSER,
		    "no campaign %" G_GINT64_FORMAT, id);
	return found == 1;
}

/* schedule_clear - free the schedule's strings */
void
schedule_clear(struct schedule *s)
{
	g_clear_pointer(&s->window, g_free);
}

/* what the plan for one campaign says */
enum schedule_verdict {
	SCHEDULE_SKIP,		/* nothing to do now */
	SCHEDULE_RUN,		/* release RELEASE, run until STOP_AT */
};

struct schedule_plan {
	enum schedule_verdict verdict;
	gint64 release;		/* -1: every held one */
	gint64 stop_at;		/* the window closes, 0: never */
	gint64 next;		/* when to look again, 0: not known */
	char *why;		/* when skipped: why, and until when */
};

/* schedule_plan_make - what to do now with scheduled campaign C */
static gboolean
schedule_plan_make(struct store *store, const struct list_config *list,
    const struct campaign *c, const struct schedule *s, gint64 now,
    struct schedule_plan *plan, GError **error)
{
	g_autoptr(GTimeZone) tz = schedule_tz(list);
	struct schedule_window w;
	struct store_schedule_queue q;
	gint64 day_start = schedule_day_start(tz, now);
	gint64 day_end = schedule_day_end(tz, now);
	g_autofree char *when = NULL;

	memset(plan, 0, sizeof *plan);
	plan->verdict = SCHEDULE_SKIP;
	if (now < s->at) {
		when = schedule_format(tz, s->at);
		plan->next = s->at;
		plan->why = g_strdup_printf("starts at %s", when);
		return TRUE;
	}
	if (s->window != NULL) {
		if (!schedule_window_parse(s->window, &w, error))
			return FALSE;
		if (!schedule_window_is_open(&w, tz, now)) {
			plan->next = schedule_window_next(&w, tz, now);
			when = plan->next > 0 ? schedule_format(tz, plan->next) :
			    g_strdup("never");
			plan->why = g_strdup_printf("the window is closed; it "
			    "opens %s", when);
			return TRUE;
		}
		plan->stop_at = schedule_window_next(&w, tz, now);
	}
	if (!store_schedule_queue(store, c->id, now, day_start, &q, error))
		return FALSE;
	if (q.queued == 0)
		return TRUE;	/* finished: the run that ended it said so */
	plan->release = -1;
	if (s->daily_cap > 0) {
		plan->release = MAX(s->daily_cap - q.today - q.due, 0);
		plan->release = MIN(plan->release, q.held);
	}
	if (q.due == 0 && plan->release == 0) {
		plan->next = q.next_retry;
		if (q.held > 0 && (plan->next == 0 || day_end < plan->next))
			plan->next = day_end;
		/* the next day's share waits for the window, too */
		if (s->window != NULL && plan->next > 0 &&
		    !schedule_window_is_open(&w, tz, plan->next))
			plan->next = schedule_window_next(&w, tz, plan->next);
		when = schedule_format(tz, plan->next);
		plan->why = q.held > 0 ? g_strdup_printf("daily cap of %d "
		    "reached (%" G_GINT64_FORMAT " today); goes on %s",
		    s->daily_cap, q.today, when) : g_strdup_printf("next retry "
		    "at %s", when);
		return TRUE;
	}
	plan->verdict = SCHEDULE_RUN;
	return TRUE;
}

/* the watcher: passes the caller's stop on, and stops at the window end */
struct schedule_watch {
	volatile sig_atomic_t *outer;
	volatile sig_atomic_t inner;
	gint64 stop_at;
	gint done;			/* atomic: the run is over */
};

/* schedule_watch_main - the watcher thread: pass the caller's stop on,
 * and stop the run when the window closes at stop_at */
static gpointer
schedule_watch_main(gpointer data)
{
	struct schedule_watch *w = data;

	while (!g_atomic_int_get(&w->done)) {
		if (w->outer != NULL && *w->outer) {
			w->inner = *w->outer;
			break;
		}
		if (w->stop_at > 0 && herald_now() >= w->stop_at) {
			w->inner = SCHEDULE_STOP_WINDOW;
			break;
		}
		g_usleep(SCHEDULE_WATCH_US);
	}
	return NULL;
}

/* schedule_composer - what campaign C is rendered with */
static struct composer *
schedule_composer(const struct config *config, const struct list_config *list,
    const struct campaign *c, struct announcement **ann, GError **error)
{
	struct token_key key;

	if (!token_key_load(config->secret, &key, error))
		return NULL;
	if ((*ann = announcement_load(c->announcement, config, error)) == NULL)
		return NULL;
	return composer_new(*ann, list, &key, (const char *const *)c->segments,
	    0, error);
}

/* schedule_after_stop - a run we stopped (window end, or the caller's
 * signal) leaves the campaign waiting for the next pass; a pause by a
 * person or by the error rate, and a cancel, stay as they are */
static gboolean
schedule_after_stop(struct store *store, gint64 id, const char *why,
    GError **error)
{
	g_autoptr(campaign) c = campaign_get(store, id, error);

	if (c == NULL)
		return FALSE;
	/* dispatch_run() words a pause by the stop flag "interrupted by …";
	 * a trip of the error rate, a refused session and a pause from
	 * elsewhere say otherwise and take precedence over the flag */
	if (strcmp(c->state, "paused") != 0 || c->reason == NULL ||
	    !g_str_has_prefix(c->reason, "interrupted by "))
		return TRUE;
	return campaign_set_state(store, id, "waiting", why, error);
}

/* schedule_decide - scheduled campaign C decided again under its lock
 * (another pass may have released or sent in between) and, on
 * PostgreSQL, under its start lock (herald run on several hosts, which
 * share the campaign's sending, releases its deliveries once): 1 run
 * it, 0 not now (*NEXT moved earlier), -1 an error */
static int
schedule_decide(struct store *store, const struct list_config *list,
    const struct campaign *c, gint64 now, struct schedule *plan_s,
    struct schedule_plan *plan, gint64 *next, GError **error)
{
	int go = -1;

	if (!campaign_start_lock(store, c->id, error))
		return -1;
	if (!schedule_get(store, c->id, plan_s, error) ||
	    !schedule_plan_make(store, list, c, plan_s, now, plan, error))
		goto out;
	if (plan->verdict == SCHEDULE_SKIP) {
		if (plan->next > 0 && (*next == 0 || plan->next < *next))
			*next = plan->next;
		go = 0;
		goto out;
	}
	if (plan->release != 0 &&
	    !store_schedule_release(store, c->id, plan->release, error))
		goto out;
	go = 1;
out:
	campaign_start_unlock(store, c->id);
	return go;
}

/* schedule_run - release and run campaign C under its lock */
static gboolean
schedule_run(struct store *store, const struct config *config,
    const struct list_config *list, const struct campaign *c,
    gboolean scheduled, gint64 now, volatile sig_atomic_t *stop,
    schedule_event_fn event, gpointer data, gint64 *next, GError **error)
{
	g_autoptr(announcement) ann = NULL;
	g_autoptr(composer) comp = NULL;
	g_autoptr(GTimeZone) tz = schedule_tz(list);
	g_autofree char *reason = NULL;
	struct schedule plan_s = { 0 };
	struct schedule_plan plan = { SCHEDULE_RUN, 0, 0, 0, NULL };
	struct schedule_watch watch = { stop, 0, 0, 0 };
	struct schedule_event ev = { c->id, NULL, NULL, { 0 } };
	GThread *watcher;
	GError *err = NULL;
	gboolean ok;
	int fd;

	if ((fd = campaign_lock(store, config->data_dir, c->id, &err)) < 0) {
		if (err->code == HERALD_ERROR_TEMP) {
			g_error_free(err);	/* another herald sends it */
			return TRUE;
		}
		g_propagate_error(error, err);
		return FALSE;
	}
	if (scheduled) {
		int go = schedule_decide(store, list, c, now, &plan_s, &plan,
		    next, error);

		if (go < 0)
			goto fail;
		if (go == 0)
			goto done;
	}
	if ((comp = schedule_composer(config, list, c, &ann, &err)) == NULL ||
	    !track_setup(store, list, comp, c->id, FALSE, &err)) {
		/* one campaign that cannot be rendered (its announcement file
		 * gone or broken) pauses alone; the dispatcher goes on */
		reason = g_strdup_printf("not sent: %s", err->message);
		g_clear_error(&err);
		if (!campaign_set_state(store, c->id, "paused", reason, error))
			goto fail;
		ev.what = "ran";
		ev.detail = reason;
		if (event != NULL)
			event(&ev, data);
		goto done;
	}
	ev.what = c->started == 0 ? "starting" : "resuming";
	if (event != NULL)
		event(&ev, data);
	watch.stop_at = plan.stop_at;
	watcher = g_thread_new("herald-watch", schedule_watch_main, &watch);
	composer_set_campaign(comp, c->id);
	ok = dispatch_run(store, config, comp, c->id, &watch.inner, NULL, NULL,
	    &ev.progress, &reason, error);
	g_atomic_int_set(&watch.done, 1);
	g_thread_join(watcher);
	if (!ok)
		goto fail;
	if (watch.inner != 0) {
		g_autofree char *when = plan.stop_at > 0 ?
		    schedule_format(tz, plan.stop_at) : NULL;
		g_autofree char *why = watch.inner == SCHEDULE_STOP_WINDOW ?
		    g_strdup_printf("the window closed at %s; goes on when it "
		    "opens", when) : g_strdup("stopped by a signal; goes on at "
		    "the next pass of herald run or herald maintain");

		if (!schedule_after_stop(store, c->id, why, error))
			goto fail;
		g_free(reason);
		reason = g_steal_pointer(&why);
	}
	ev.what = "ran";
	ev.detail = reason;
	if (event != NULL)
		event(&ev, data);
	if (scheduled && plan.stop_at > 0 && (*next == 0 || plan.stop_at < *next))
		*next = plan.stop_at;
done:
	g_free(plan.why);
	schedule_clear(&plan_s);
	campaign_unlock(store, fd, c->id);
	return TRUE;
fail:
	g_free(plan.why);
	schedule_clear(&plan_s);
	campaign_unlock(store, fd, c->id);
	return FALSE;
}

/* schedule_pass - one pass over the campaigns */
gboolean
schedule_pass(struct store *store, const struct config *config,
    gint64 only, volatile sig_atomic_t *stop, schedule_event_fn event,
    gpointer data, gint64 *next, GError **error)
{
	g_autoptr(GPtrArray) all = NULL;
	gint64 now, soonest = 0;
	guint i;

	if ((all = campaign_list(store, error)) == NULL)
		return FALSE;
	/* oldest first: the first scheduled goes out first */
	for (i = all->len; i-- > 0;) {
		const struct campaign *c = g_ptr_array_index(all, i);
		const struct list_config *list;
		struct schedule s;
		struct schedule_plan plan;
		struct campaign_counts n;
		gboolean ok;

		if (stop != NULL && *stop)
			break;
		if (only > 0 && c->id != only)
			continue;
		if (strcmp(c->state, "created") != 0 &&
		    strcmp(c->state, "sending") != 0 &&
		    strcmp(c->state, "waiting") != 0)
			continue;
		if ((list = config_list(config, c->list, NULL)) == NULL)
			continue;	/* its list file is gone: nothing to send by */
		if (!schedule_get(store, c->id, &s, error))
			return FALSE;
		now = herald_now();
		if (s.at > 0) {
			ok = schedule_plan_make(store, list, c, &s, now, &plan,
			    error);
			schedule_clear(&s);
			if (!ok)
				return FALSE;
			g_free(plan.why);
			if (plan.verdict == SCHEDULE_SKIP) {
				if (plan.next > 0 && (soonest == 0 ||
				    plan.next < soonest))
					soonest = plan.next;
				continue;
			}
		} else {
			/* unscheduled: resume the interrupted, retry the due;
			 * a created one waits for its herald send to confirm */
			if (strcmp(c->state, "created") == 0 ||
			    campaign_locked(store_claims_used(store) ? NULL :
			    store, config->data_dir, c->id))
				continue;	/* PostgreSQL: help the others */
			if (!campaign_counts(store, c->id, &n, error))
				return FALSE;
			if (n.due == 0 && strcmp(c->state, "waiting") == 0) {
				if (n.next_due > 0 && (soonest == 0 ||
				    n.next_due < soonest))
					soonest = n.next_due;
				continue;
			}
		}
		if (!schedule_run(store, config, list, c, s.at > 0, now, stop,
		    event, data, &soonest, error))
			return FALSE;
	}
	if (next != NULL)
		*next = soonest;
	return TRUE;
}

/* schedule_describe - when campaign C goes on, in a line */
char *
schedule_describe(struct store *store, const struct config *config,
    const struct campaign *c, gint64 now)
{
	const struct list_config *list = config_list(config, c->list, NULL);
	g_autoptr(GTimeZone) tz = schedule_tz(list);
	g_autoptr(GString) out = g_string_new(NULL);
	g_autofree char *start = NULL;
	struct schedule s;
	struct schedule_plan plan = { 0 };

	if (!schedule_get(store, c->id, &s, NULL) || s.at == 0) {
		schedule_clear(&s);
		return NULL;
	}
	start = schedule_format(tz, s.at);
	g_string_append_printf(out, "%s %s", now < s.at ? "starts" :
	    c->started == 0 ? "due since" : "started", start);
	if (s.window != NULL)
		g_string_append_printf(out, ", window %s", s.window);
	if (s.daily_cap > 0)
		g_string_append_printf(out, ", at most %d a day", s.daily_cap);
	if (now >= s.at && strcmp(c->state, "done") != 0 &&
	    strcmp(c->state, "cancelled") != 0 && strcmp(c->state, "paused") != 0 &&
	    schedule_plan_make(store, list, c, &s, now, &plan, NULL) &&
	    plan.why != NULL)
		g_string_append_printf(out, "; %s", plan.why);
	g_free(plan.why);
	schedule_clear(&s);
	return g_string_free(g_steal_pointer(&out), FALSE);
}
