/*
 * schedule.h - scheduled campaigns: a start time, a sending window and a
 * daily cap, all in the list's time zone, and the pass that herald run,
 * herald maintain and herald send make over the campaigns to send what
 * is due.
 *
 * A scheduled campaign's deliveries are made when it is scheduled (the
 * snapshot the manager confirmed) and held (next_attempt = CAMPAIGN_HELD)
 * until a pass releases them: all at once when there is no cap, else at
 * most the cap less what was attempted (or is due) in the list's day.
 * The released ones go out through dispatch_run(), one campaign at a
 * time; a watcher stops the run when the window closes (the messages in
 * flight finish, see dispatch.h), and the campaign waits for the next
 * opening. A pass also resumes interrupted campaigns (state sending, no
 * lock held: the sender died) and waiting ones whose retries are due.
 *
 * Must stay true: due + attempted today never exceeds a campaign's
 * daily_cap once a pass has released, so a run can never send past the
 * cap; a campaign is never started before scheduled_at, nor run while
 * its window is closed; a pass never touches a campaign another herald
 * holds the lock of, nor a paused or cancelled one.
 */
#ifndef HERALD_SCHEDULE_H
#define HERALD_SCHEDULE_H

#include <signal.h>
#include <glib.h>
#include "campaign.h"
#include "config.h"
#include "dispatch.h"
#include "store.h"
#include "schedule_window.h"

/* schedule_parse_at - TEXT ("YYYY-MM-DD HH:MM[:SS]") in LIST's zone to
 * unix seconds; FALSE and a USAGE error naming the zone otherwise */
gboolean schedule_parse_at(const struct list_config *list, const char *text,
    gint64 *out, GError **error);

/* schedule_format_at - T as "YYYY-MM-DD HH:MM ZONE" in LIST's zone
 * (LIST may be NULL: the local zone); the caller frees it */
char *schedule_format_at(const struct list_config *list, gint64 t);

/* a campaign's schedule, as stored */
struct schedule {
	gint64 at;		/* 0: not scheduled */
	char *window;		/* NULL: any time */
	int daily_cap;		/* 0: none */
};

/* schedule_set - record the schedule of campaign ID (taken, nothing
 * attempted) and hold its deliveries for the passes; one transaction */
gboolean schedule_set(struct store *store, gint64 id,
    const struct schedule *s, GError **error);

/* schedule_get - the schedule of campaign ID (at 0 when it has none);
 * schedule_clear frees what it holds */
gboolean schedule_get(struct store *store, gint64 id, struct schedule *s,
    GError **error);
void schedule_clear(struct schedule *s);

/* schedule_describe - a line about when campaign C goes on (starts at,
 * window, cap, what it waits for), or NULL when it has no schedule;
 * the caller frees it */
char *schedule_describe(struct store *store, const struct config *config,
    const struct campaign *c, gint64 now);

/* what a pass did with one campaign, for the caller to print */
struct schedule_event {
	gint64 id;
	const char *what;	/* "started", "resumed", "sent", "waits" */
	char *detail;		/* a sentence, or NULL */
	struct dispatch_progress progress;	/* after a run */
};

typedef void (*schedule_event_fn)(const struct schedule_event *e,
    gpointer data);

/* schedule_pass - one pass over the campaigns (ONLY > 0: that one alone)
 * at herald_now(): release, run what is due. STOP (set by a signal
 * handler) stops the run in progress after the messages in flight and
 * ends the pass; the campaign goes on at the next pass. EVENT (may be
 * NULL) hears about every campaign acted on. *NEXT (may be NULL) gets
 * the earliest instant at which a campaign may next have something to
 * do (0: none known). A campaign that cannot be composed (its
 * announcement gone or broken) is paused with the reason and the pass
 * goes on. FALSE and an error when the store fails; campaigns already
 * run stay run. */
gboolean schedule_pass(struct store *store, const struct config *config,
    gint64 only, volatile sig_atomic_t *stop, schedule_event_fn event,
    gpointer data, gint64 *next, GError **error);

#endif
