/*
 * cmd_followup.h - herald send's follow-up audiences: --new-since
 * CAMPAIGN (the members who joined after that campaign went out) and
 * --not-clicked CAMPAIGN[:URL] (the members no person's click on that
 * campaign's links, or on URL, was counted for: per-subscriber tracking
 * only). cmd_send.c parses the options; this narrows the snapshot.
 */
#ifndef HERALD_CMD_FOLLOWUP_H
#define HERALD_CMD_FOLLOWUP_H

#include "cmd.h"
#include "config.h"

struct followup {
	gint64 new_since;	/* 0: none */
	gint64 not_clicked;	/* 0: none */
	char *url;		/* --not-clicked's URL, NULL: any link */
};

/* followup_parse - NEW_SINCE and NOT_CLICKED (either may be NULL) into
 * *F; FALSE after saying what is wrong (exit 64) */
gboolean followup_parse(const char *new_since, const char *not_clicked,
    struct followup *f);
void followup_clear(struct followup *f);

/* followup_check - F against LIST and the store: 0, or the exit status
 * after saying why not (64: --not-clicked without per-subscriber
 * tracking, naming the setting; a campaign of another list, one not
 * gone out, a URL it did not hold) */
int followup_check(struct herald *h, const struct list_config *list,
    const struct followup *f);

/* followup_apply - narrow campaign ID's snapshot by F (inside the
 * caller's transaction) and, unless JSON, say how many it left out; a
 * NOUSER error when nobody is left */
gboolean followup_apply(struct herald *h, gint64 id,
    const struct followup *f, gboolean json, GError **error);

#endif
