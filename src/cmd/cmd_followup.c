/*
 * cmd_followup.c - the follow-up options of herald send (see
 * cmd_followup.h): checked before anything is made, applied inside the
 * transaction that makes the campaign, so its counts (the preview) are
 * the narrowed ones.
 */
#include <stdio.h>
#include <string.h>

#include "herald.h"
#include "cmd_followup.h"
#include "store_followup.h"

/* followup_id - TEXT as a campaign id; 0 when it is none */
static gint64
followup_id(const char *text, gsize len)
{
	g_autofree char *s = g_strndup(text, len);
	char *end = NULL;
	gint64 id = g_ascii_strtoll(s, &end, 10);

	return len > 0 && *end == '\0' && id > 0 ? id : 0;
}

/* followup_parse - see cmd_followup.h */
gboolean
followup_parse(const char *new_since, const char *not_clicked,
    struct followup *f)
{
	const char *colon;

	memset(f, 0, sizeof(*f));
	if (new_since != NULL &&
	    (f->new_since = followup_id(new_since, strlen(new_since))) == 0) {
		fprintf(stderr, "herald send: --new-since: \"%s\" is no campaign"
		    " id\n", new_since);
		return FALSE;
	}
	if (not_clicked == NULL)
		return TRUE;
	colon = strchr(not_clicked, ':');
	f->not_clicked = followup_id(not_clicked, colon != NULL ?
	    (gsize)(colon - not_clicked) : strlen(not_clicked));
	if (f->not_clicked == 0 || (colon != NULL && colon[1] == '\0')) {
		fprintf(stderr, "herald send: --not-clicked: \"%s\" is not "
		    "CAMPAIGN or CAMPAIGN:URL\n", not_clicked);
		return FALSE;
	}
	f->url = colon != NULL ? g_strdup(colon + 1) : NULL;
	return TRUE;
}

/* followup_clear - what F holds */
void
followup_clear(struct followup *f)
{
	g_clear_pointer(&f->url, g_free);
}

/* followup_campaign - campaign ID is LIST's and, when SENT, went out;
 * 0 or the exit status after saying why not */
static int
followup_campaign(struct herald *h, const struct list_config *list,
    const char *option, gint64 id, gboolean sent)
{
	g_autofree char *of = NULL;
	GError *error = NULL;
	gint64 started = 0;
	int found = store_followup_since(h->store, id, &of, &started, &error);

	if (found < 0)
		return cmd_error("send", error);
	if (found == 0 || strcmp(of, list->name) != 0) {
		fprintf(stderr, "herald send: %s: campaign %" G_GINT64_FORMAT
		    " is %s%s\n", option, id, found == 0 ? "not there" :
		    "a campaign of list ", found == 0 ? "" : of);
		return EX_USAGE;
	}
	if (sent && started == 0) {
		fprintf(stderr, "herald send: %s: campaign %" G_GINT64_FORMAT
		    " has not gone out yet\n", option, id);
		return EX_USAGE;
	}
	return 0;
}

/* followup_check - see cmd_followup.h */
int
followup_check(struct herald *h, const struct list_config *list,
    const struct followup *f)
{
	GError *error = NULL;
	int st, has;

	if (f->new_since != 0 && (st = followup_campaign(h, list,
	    "--new-since", f->new_since, TRUE)) != 0)
		return st;
	if (f->not_clicked == 0)
		return 0;
	if (list->track_clicks != TRACK_CLICKS_PER_SUBSCRIBER) {
		fprintf(stderr, "herald send: --not-clicked needs tracking { "
		    "clicks = \"per-subscriber\" } in %s (it is \"%s\"): only "
		    "then is a click counted for a person\n", list->file,
		    list->track_clicks == TRACK_CLICKS_OFF ? "off" :
		    "aggregate");
		return EX_USAGE;
	}
	if ((st = followup_campaign(h, list, "--not-clicked", f->not_clicked,
	    TRUE)) != 0)
		return st;
	if (f->url == NULL)
		return 0;
	if ((has = store_followup_has_link(h->store, f->not_clicked, f->url,
	    &error)) < 0)
		return cmd_error("send", error);
	if (has == 0) {
		fprintf(stderr, "herald send: --not-clicked: campaign %"
		    G_GINT64_FORMAT " tracked no link %s\n", f->not_clicked,
		    f->url);
		return EX_USAGE;
	}
	return 0;
}

/* followup_apply - see cmd_followup.h */
gboolean
followup_apply(struct herald *h, gint64 id, const struct followup *f,
    gboolean json, GError **error)
{
	g_autofree char *of = NULL;
	gint64 started = 0, out = 0, left;

	if (f->new_since != 0) {
		if (store_followup_since(h->store, f->new_since, &of, &started,
		    error) != 1 || !store_followup_new_since(h->store, id,
		    started, &out, error))
			return FALSE;
		if (!json)
			printf("follow-up: %" G_GINT64_FORMAT " left out, members"
			    " before campaign %" G_GINT64_FORMAT " went out\n",
			    out, f->new_since);
	}
	if (f->not_clicked != 0) {
		if (!store_followup_not_clicked(h->store, id, f->not_clicked,
		    f->url, &out, error))
			return FALSE;
		if (!json)
			printf("follow-up: %" G_GINT64_FORMAT " left out, who "
			    "clicked %s of campaign %" G_GINT64_FORMAT "\n", out,
			    f->url != NULL ? f->url : "a link", f->not_clicked);
	}
	if ((left = store_followup_left(h->store, id, error)) < 0)
		return FALSE;
	if (left == 0) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_NOUSER,
		    "the follow-up leaves nobody: nothing to send");
		return FALSE;
	}
	return TRUE;
}
