/*
 * action.c - the membership actions shared by every entry point (see
 * action.h for the contract).
 *
 * Order of work, so that a request is never lost and never acts twice:
 * the caller may repeat any request after an error (the MTA retries a
 * message, a browser posts again), so every change is idempotent. A
 * notice that goes with a change (the goodbye, a confirmation request) is
 * queued in the outbox (outbox.h) in the same transaction as the change,
 * so it exists exactly when the change does; the caller sends what was
 * queued after the commit (action_notices_send), and a relay that is down
 * leaves it queued for herald maintain or the next herald pipe. No write
 * transaction is held while talking SMTP.
 *
 * Confirmation tokens (purposes s and c) carry the time of the request as
 * their extra id, so they expire after pipe.pending_expiry_hours without a
 * table lookup; the confirmations table only throttles how often one
 * address is asked (ACTION_CONFIRM_INTERVAL), so a forger cannot flood a
 * subscriber with confirmation requests.
 */
#include <string.h>
#include <gmime/gmime.h>

#include "herald.h"
#include "action.h"
#include "segment_choice.h"
#include "config.h"
#include "notice.h"
#include "outbox.h"
#include "store.h"
#include "store_inbound.h"
#include "store_oneclick.h"
#include "subscriber.h"
#include "token.h"

/* action_say - append words to the outcome, if there is one */
static void G_GNUC_PRINTF(2, 3)
action_say(struct action_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	if (ctx->outcome == NULL)
		return;
	va_start(ap, fmt);
	g_string_append_vprintf(ctx->outcome, fmt, ap);
	va_end(ap);
}

/* action_set - *STATE = S when STATE is not NULL */
static void
action_set(enum action_state *state, enum action_state s)
{
	if (state != NULL)
		*state = s;
}

/* action_begin - a write transaction, under ctx->write_lock if there is
 * one (so the threads of one process queue for the write lock here, not
 * in SQLite's busy handler, which sleeps in steps of up to 100 ms) */
static gboolean
action_begin(struct action_ctx *ctx, GError **error)
{
	if (ctx->write_lock != NULL && !ctx->locked) {
		g_mutex_lock(ctx->write_lock);
		ctx->locked = TRUE;
	}
	if (store_begin(ctx->store, error))
		return TRUE;
	if (ctx->locked) {
		ctx->locked = FALSE;
		g_mutex_unlock(ctx->write_lock);
	}
	return FALSE;
}

/* action_unlock - leave the process's write lock */
static void
action_unlock(struct action_ctx *ctx)
{
	if (ctx->locked && !store_in_transaction(ctx->store)) {
		ctx->locked = FALSE;
		g_mutex_unlock(ctx->write_lock);
	}
}

/* action_commit - commit (a failed COMMIT is rolled back by store.c);
 * the lock is left either way */
static gboolean
action_commit(struct action_ctx *ctx, GError **error)
{
	gboolean ok = store_commit(ctx->store, error);

	action_unlock(ctx);
	return ok;
}

static void
action_rollback(struct action_ctx *ctx)
{
	store_rollback(ctx->store);
	action_unlock(ctx);
}

/* action_token_find - try TEXT against every list */
gboolean
action_token_find(const struct config *config, const struct token_key *key,
    const char *text, guint accept, const struct list_config **list,
    struct token_claim *claim, GError **error)
{
	enum token_purpose claimed = token_purpose_of(text);
	struct token_claim got;
	guint i;

	if (claim != NULL)
		memset(claim, 0, sizeof(*claim));
	/* the purpose is written in clear: skip the MACs of a token no list
	 * could take here */
	if (claimed == 0) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_DATA,
		    "malformed token");
		return FALSE;
	}
	if ((token_accept_bit(claimed) & accept) == 0) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_DATA,
		    "a token marked for \"%s\" is not taken here",
		    token_purpose_name(claimed));
		return FALSE;
	}
	for (i = 0; config->lists != NULL && i < config->lists->len; i++) {
		const struct list_config *l = g_ptr_array_index(config->lists, i);

		if (!token_verify(key, text, l->name, accept, &got, NULL))
			continue;
		if (list != NULL)
			*list = l;
		if (claim != NULL)
			*claim = got;
		return TRUE;
	}
	g_set_error(error, HERALD_ERROR, HERALD_ERROR_DATA,
	    "token does not verify for any list");
	return FALSE;
}

/* action_list_id - LIST's row id; 0 (no error) when it has none yet and
 * CREATE is FALSE, -1 on error */
static gint64
action_list_id(struct action_ctx *ctx, const struct list_config *list,
    gboolean create, GError **error)
{
	return store_list_row(ctx->store, list->name, create, error);
}

/* action_status_id - *STATUS the status by list row id, NULL when there
 * is none (or no list row, LIST_ID 0); FALSE on error */
static gboolean
action_status_id(struct action_ctx *ctx, gint64 list_id, gint64 sub,
    const char **status, GError **error)
{
	GError *err = NULL;

	*status = NULL;
	if (list_id == 0)
		return TRUE;
	*status = membership_status(ctx->store, list_id, sub, &err);
	if (*status == NULL && err != NULL) {
		if (err->code != HERALD_ERROR_NOUSER) {
			g_propagate_error(error, err);
			return FALSE;
		}
		g_error_free(err);
	}
	return TRUE;
}

/* action_status - see action.h */
const char *
action_status(struct action_ctx *ctx, const struct list_config *list,
    gint64 sub, GError **error)
{
	gint64 list_id = action_list_id(ctx, list, FALSE, error);
	const char *s = NULL;

	if (list_id > 0)
		(void)action_status_id(ctx, list_id, sub, &s, error);
	return s;
}

/* action_subscriber_create - the subscriber with EMAIL, made with NAME
 * if new (*FRESH then TRUE); inside the caller's transaction */
static struct subscriber *
action_subscriber_create(struct action_ctx *ctx, const char *email,
    const char *name, gboolean *fresh, GError **error)
{
	if (name != NULL && (*name == '\0' ||
	    !subscriber_check_text("name", name, NULL)))
		name = NULL;
	if (!store_subscriber_add_if_new(ctx->store, email, name, fresh, error))
		return NULL;
	return subscriber_find(ctx->store, email, error);
}

/* action_attrs_set - ATTRS on SUB_ID, a member of LIST_ID, through the
 * one subscriber writer (which keeps both copies of them equal) */
static gboolean
action_attrs_set(struct action_ctx *ctx, gint64 list_id, const char *email,
    const char *name, GHashTable *attrs, GError **error)
{
	g_autoptr(subscriber_writer) w = subscriber_writer_new(ctx->store,
	    list_id, ctx->channel, error);
	enum subscriber_outcome oc;

	return w != NULL && subscriber_write(w, email, name, attrs, &oc, NULL,
	    error);
}

/* action_recent_confirmation - *RECENT TRUE if ACTION was asked of SUB
 * on LIST_ID less than ACTION_CONFIRM_INTERVAL ago */
static gboolean
action_recent_confirmation(struct action_ctx *ctx, gint64 list_id,
    gint64 sub, const char *action, gboolean *recent, GError **error)
{
	gint64 asked = 0;
	int found = store_confirmation_asked(ctx->store, list_id, sub, action,
	    &asked, error);

	*recent = found == 1 && ctx->now - asked < ACTION_CONFIRM_INTERVAL;
	return found >= 0;
}

static gboolean action_queue_confirmation(struct action_ctx *ctx,
    const struct list_config *list, gint64 list_id,
    const struct subscriber *sub, enum token_purpose p, GError **error);

/* action_confirmation_sent - note that ACTION was asked of SUB, with an
 * event, and queue the confirmation (purpose P), in one transaction (or
 * in the caller's) */
static gboolean
action_confirmation_sent(struct action_ctx *ctx,
    const struct list_config *list, gint64 list_id,
    const struct subscriber *sub, const char *action, enum token_purpose p,
    GError **error)
{
	g_autofree char *event = g_strdup_printf("%s-request", action);

	if (!action_begin(ctx, error))
		return FALSE;
	if (!store_confirmation_note(ctx->store, list_id, sub->id, action,
	    ctx->now, error) ||
	    !store_event(ctx->store, list_id, sub->id, event, ctx->channel,
	    "confirmation queued", error) ||
	    !action_queue_confirmation(ctx, list, list_id, sub, p, error)) {
		action_rollback(ctx);
		return FALSE;
	}
	return action_commit(ctx, error);
}

static gboolean action_queue_goodbye(struct action_ctx *ctx,
    const struct list_config *list, gint64 list_id,
    const struct subscriber *sub, GError **error);

/* action_set_status - a membership change and its event, clearing a
 * finished confirmation, and the goodbye to GOODBYE (may be NULL), in one
 * transaction */
static gboolean
action_set_status(struct action_ctx *ctx, const struct list_config *list,
    gint64 list_id, gint64 sub, const char *status, const char *action,
    const char *detail, const char *clear, const struct subscriber *goodbye,
    GError **error)
{
	if (!action_begin(ctx, error))
		return FALSE;
	if (!membership_set(ctx->store, list_id, sub, status, action,
	    ctx->channel, detail, error) || (clear != NULL &&
	    !store_confirmation_clear(ctx->store, list_id, sub, clear, error)) ||
	    (goodbye != NULL && !action_queue_goodbye(ctx, list, list_id,
	    goodbye, error))) {
		action_rollback(ctx);
		return FALSE;
	}
	return action_commit(ctx, error);
}

/* ------------------------------------------------------------------ */
/* Notices */

/* action_queue - MSG from LIST to TO into the outbox, in the open
 * transaction, noted in *ctx->notices for action_notices_send */
static gboolean
action_queue(struct action_ctx *ctx, const struct list_config *list,
    gint64 list_id, gint64 sub, const char *kind, const char *what,
    const char *to, const char *reply_to, const char *subject,
    const char *text, GError **error)
{
	/* after mail to the list it answers that mail; after the web, none */
	GMimeMessage *msg = notice_compose(list, to, reply_to, subject, text,
	    g_strcmp0(ctx->channel, "mail") == 0);
	g_autofree char *envelope = notice_address(list, "-bounces", NULL);
	/* signed here (when the list signs): the outbox keeps what leaves */
	g_autoptr(GBytes) bytes = notice_bytes(list, msg, error);
	const char *rcpts[] = { to, NULL };
	struct action_notice n = { 0, what };

	g_object_unref(msg);
	if (bytes == NULL)
		return FALSE;
	if (!outbox_queue(ctx->store, list_id, sub, kind, envelope, rcpts,
	    bytes, ctx->now, &n.id, error))
		return FALSE;
	if (ctx->notices != NULL) {
		if (*ctx->notices == NULL)
			*ctx->notices = g_array_new(FALSE, FALSE, sizeof(n));
		g_array_append_val(*ctx->notices, n);
	}
	return TRUE;
}

/* action_notices_send - see action.h */
gboolean
action_notices_send(const struct config *config, struct store *store,
    GArray *notices, gint64 now, GString *outcome)
{
	gboolean all = TRUE;
	guint i;

	for (i = 0; notices != NULL && i < notices->len; i++) {
		struct action_notice *n = &g_array_index(notices,
		    struct action_notice, i);
		g_autofree char *reason = NULL;
		g_autoptr(GError) err = NULL;
		enum outbox_outcome oc;
		gboolean ok = outbox_try(store, config, n->id, TRUE, now,
		    &oc, &reason, &err);

		if (outcome != NULL)
			g_string_append_printf(outcome, "; %s ", n->what);
		switch (oc) {
		case OUTBOX_SENT:
			if (outcome != NULL)
				g_string_append(outcome, "sent");
			break;
		case OUTBOX_DEFERRED:
			all = FALSE;
			if (outcome != NULL)
				g_string_append_printf(outcome, "queued, not sent"
				    " now (%s): retried later", reason);
			break;
		case OUTBOX_FAILED:
			if (outcome != NULL)
				g_string_append_printf(outcome, "refused: %s",
				    reason);
			break;
		case OUTBOX_NOT_MINE:
			all = FALSE;
			if (outcome != NULL)
				g_string_append(outcome, "queued");
			break;
		}
		if (!ok && outcome != NULL)
			g_string_append_printf(outcome, " (the outbox: %s; it is"
			    " tried again later)", err->message);
	}
	return all;
}

/* action_list_title - see action.h */
char *
action_list_title(const struct list_config *list)
{
	if (list->display_name != NULL && *list->display_name != '\0')
		return g_strdup_printf("%s <%s>", list->display_name,
		    list->address);
	return g_strdup(list->address);
}

/* action_list_name - the display name, or the name */
static const char *
action_list_name(const struct list_config *list)
{
	return list->display_name != NULL ? list->display_name : list->name;
}

/* action_queue_confirmation - ask SUB to confirm (purpose P) on LIST:
 * reply, mail LIST-confirm+TOKEN, or (with web.base_url) open the link;
 * queued in the open transaction */
static gboolean
action_queue_confirmation(struct action_ctx *ctx,
    const struct list_config *list, gint64 list_id,
    const struct subscriber *sub, enum token_purpose p, GError **error)
{
	g_autofree char *token = token_make(ctx->key, p, list->name, sub->id,
	    ctx->now);
	g_autofree char *confirm = notice_address(list, "-confirm", token);
	g_autofree char *title = action_list_title(list);
	g_autofree char *subject = NULL, *text = NULL, *link = NULL;
	const char *base = ctx->config->web.base_url;
	int hours = ctx->config->pipe.pending_expiry_hours;

	link = base != NULL ? g_strdup_printf("Or open\n\n    %s/confirm/%s\n\n"
	    "and press the button there.\n\n", base, token) : g_strdup("");
	if (p == TOKEN_CONFIRM_SUBSCRIBE) {
		subject = g_strdup_printf("Confirm your subscription to %s",
		    action_list_name(list));
		text = g_strdup_printf("Someone, probably you, asked to subscribe"
		    " %s\nto %s.\n\nTo confirm, reply to this message, or send"
		    " any mail to\n\n    %s\n\n%sIf you did not ask, ignore"
		    " this message: nothing happens without\nyour confirmation,"
		    " and the request expires in %d hours.\n", sub->email, title,
		    confirm, link, hours);
	} else {
		subject = g_strdup_printf("Confirm: unsubscribe from %s",
		    action_list_name(list));
		text = g_strdup_printf("Someone, probably you, asked to"
		    " unsubscribe %s\nfrom %s.\n\nTo confirm, reply to this"
		    " message, or send any mail to\n\n    %s\n\n%sIf you did"
		    " not ask, ignore this message: you stay subscribed.\nThe"
		    " request expires in %d hours.\n", sub->email, title, confirm,
		    link, hours);
	}
	return action_queue(ctx, list, list_id, sub->id,
	    p == TOKEN_CONFIRM_SUBSCRIBE ? "confirm-subscribe" :
	    "confirm-unsubscribe", "confirmation", sub->email, confirm, subject,
	    text, error);
}

/* action_queue_goodbye - tell SUB they are off LIST (in the open
 * transaction), unless the list turns that off or the address must get
 * no notice */
static gboolean
action_queue_goodbye(struct action_ctx *ctx, const struct list_config *list,
    gint64 list_id, const struct subscriber *sub, GError **error)
{
	g_autofree char *title = action_list_title(list);
	g_autofree char *subscribe = notice_address(list, "-subscribe", NULL);
	g_autofree char *subject = NULL, *text = NULL, *web = NULL;
	const char *base = ctx->config->web.base_url;

	if (!list->goodbye_notice || !notice_may_send_to(sub->email))
		return TRUE;
	web = base != NULL ? g_strdup_printf(",\nor with the form at\n%s/"
	    "subscribe/%s", base, list->name) : g_strdup("");
	subject = g_strdup_printf("You are unsubscribed from %s",
	    action_list_name(list));
	text = g_strdup_printf("%s\nis no longer subscribed to %s.\nYou will"
	    " get no more announcements from it.\n\nIf this was a mistake,"
	    " subscribe again by sending a mail to\n%s%s\n", sub->email, title,
	    subscribe, web);
	return action_queue(ctx, list, list_id, sub->id, "goodbye", "goodbye",
	    sub->email, NULL, subject, text, error);
}

/* ------------------------------------------------------------------ */
/* The actions */

/* action_not_member - say that SUB_ID has no membership to act on
 * (ACTION_NOT_MEMBER); TRUE: it is an answer, not an error */
static gboolean
action_not_member(struct action_ctx *ctx, gint64 sub_id,
    enum action_state *state)
{
	action_say(ctx, "subscriber %" G_GINT64_FORMAT " is not a member,"
	    " nothing done", sub_id);
	action_set(state, ACTION_NOT_MEMBER);
	return TRUE;
}

/* action_unsubscribe_moot - TRUE (with the outcome said) when STATUS
 * leaves nothing to unsubscribe */
static gboolean
action_unsubscribe_moot(struct action_ctx *ctx, gint64 sub_id,
    const char *status, enum action_state *state)
{
	if (status == NULL)
		return action_not_member(ctx, sub_id, state);
	if (strcmp(status, MEMBER_UNSUBSCRIBED) == 0 ||
	    strcmp(status, MEMBER_BLOCKLISTED) == 0) {
		action_say(ctx, "subscriber %" G_GINT64_FORMAT " already %s",
		    sub_id, status);
		action_set(state, ACTION_ALREADY);
		return TRUE;
	}
	return FALSE;
}

/* action_open_member - the opening of an action on SUB_ID's membership
 * of LIST: 1, in a write transaction, with *LIST_ID (0: the list has no
 * row yet) and *STATUS (NULL: no membership) read in it; 0 for a token
 * for no subscriber (a test copy's, id 0), which acts on nobody: nothing
 * opened, *STATE ACTION_TEST; -1 on error, with no transaction open */
static int
action_open_member(struct action_ctx *ctx, const struct list_config *list,
    gint64 sub_id, enum action_state *state, gint64 *list_id,
    const char **status, GError **error)
{
	if (sub_id <= 0) {
		action_say(ctx, "a token for no subscriber, nothing changed");
		action_set(state, ACTION_TEST);
		return 0;
	}
	if (!action_begin(ctx, error))
		return -1;
	if ((*list_id = action_list_id(ctx, list, FALSE, error)) < 0 ||
	    !action_status_id(ctx, *list_id, sub_id, status, error)) {
		action_rollback(ctx);
		return -1;
	}
	return 1;
}

/* action_goodbye_due - see action.h */
gboolean
action_goodbye_due(const struct list_config *list, const char *how)
{
	if (!list->goodbye_notice)
		return FALSE;
	return g_strcmp0(how, "one-click") != 0 || list->goodbye_after_one_click;
}

/* action_unsubscribe - see action.h; the reads and the change in one
 * write transaction (no read transactions of their own: fewer locks),
 * the goodbye queued in it */
gboolean
action_unsubscribe(struct action_ctx *ctx, const struct list_config *list,
    gint64 sub_id, const char *how, enum action_state *state,
    GError **error)
{
	g_autoptr(subscriber) sub = NULL;
	const char *status;
	gint64 list_id;
	int opened;

	if ((opened = action_open_member(ctx, list, sub_id, state, &list_id,
	    &status, error)) <= 0)
		return opened == 0;
	if (action_unsubscribe_moot(ctx, sub_id, status, state)) {
		action_rollback(ctx);
		return TRUE;
	}
	if ((sub = subscriber_get(ctx->store, sub_id, error)) == NULL ||
	    !action_set_status(ctx, list, list_id, sub_id, MEMBER_UNSUBSCRIBED,
	    "unsubscribe", how, "unsubscribe", action_goodbye_due(list, how) ?
	    sub : NULL, error) ||
	    !action_commit(ctx, error))
		goto fail;
	action_say(ctx, "unsubscribed subscriber %" G_GINT64_FORMAT " (%s)",
	    sub_id, how);
	action_set(state, ACTION_DONE);
	return TRUE;
fail:
	action_rollback(ctx);
	return FALSE;
}

/* action_group_goodbyes - the goodbye of each item of OC unsubscribed
 * now, into that item's notices (in the open transaction) */
static gboolean
action_group_goodbyes(struct action_ctx *ctx, const struct list_config *list,
    gint64 list_id, const struct store_oneclick *oc,
    struct action_group_item *items, guint n, GError **error)
{
	guint i;

	for (i = 0; i < n; i++) {
		struct action_ctx one = *ctx;

		if (oc[i].found != STORE_ONECLICK_DONE || items[i].sub_id <= 0)
			continue;
		one.notices = items[i].notices;
		if (!action_queue_goodbye(&one, list, list_id, oc[i].sub, error))
			return FALSE;
	}
	return TRUE;
}

/* action_group_say - IT's state, subscriber and words from what the
 * store found (OC, whose subscriber IT takes), as action_unsubscribe
 * would have said them */
static void
action_group_say(struct action_ctx *ctx, struct action_group_item *it,
    struct store_oneclick *oc, const char *how)
{
	struct action_ctx one = *ctx;
	gint64 id = it->sub_id;

	one.outcome = it->outcome;
	it->sub = g_steal_pointer(&oc->sub);
	if (id <= 0) {
		action_say(&one, "a token for no subscriber, nothing changed");
		it->state = ACTION_TEST;
		return;
	}
	switch (oc->found) {
	case STORE_ONECLICK_DONE:
		action_say(&one, "unsubscribed subscriber %" G_GINT64_FORMAT
		    " (%s)", id, how);
		it->state = ACTION_DONE;
		break;
	case STORE_ONECLICK_ALREADY:
		action_say(&one, "subscriber %" G_GINT64_FORMAT " already %s",
		    id, oc->status);
		it->state = ACTION_ALREADY;
		break;
	case STORE_ONECLICK_NOT_MEMBER:
		(void)action_not_member(&one, id, &it->state);
		break;
	case STORE_ONECLICK_NO_SUBSCRIBER:
		/* subscriber_get's words for the same */
		g_set_error(&it->err, HERALD_ERROR, HERALD_ERROR_NOUSER,
		    "no subscriber #%" G_GINT64_FORMAT, id);
		break;
	}
}

/* action_unsubscribe_group - see action.h; the notices each item had
 * before are all it has again after a failure */
gboolean
action_unsubscribe_group(struct action_ctx *ctx,
    const struct list_config *list, const char *how,
    struct action_group_item *items, guint n, GError **error)
{
	g_autofree struct store_oneclick *oc = g_new0(struct store_oneclick,
	    n + 1);
	g_autofree guint *had = g_new0(guint, n + 1);
	gint64 list_id = 0;
	guint i;

	for (i = 0; i < n; i++) {
		oc[i].sub_id = items[i].sub_id;
		if (items[i].notices != NULL && *items[i].notices != NULL)
			had[i] = (*items[i].notices)->len;
	}
	if (!action_begin(ctx, error))
		return FALSE;
	if (!store_oneclick_unsubscribe(ctx->store, list->name, ctx->channel,
	    how, ctx->now, oc, n, &list_id, error) ||
	    (action_goodbye_due(list, how) && !action_group_goodbyes(ctx, list,
	    list_id, oc, items, n, error)) || !action_commit(ctx, error)) {
		action_rollback(ctx);
		for (i = 0; i < n; i++)
			if (items[i].notices != NULL && *items[i].notices != NULL)
				g_array_set_size(*items[i].notices, had[i]);
		store_oneclick_clear(oc, n);
		return FALSE;
	}
	for (i = 0; i < n; i++)
		action_group_say(ctx, &items[i], &oc[i], how);
	store_oneclick_clear(oc, n);
	return TRUE;
}

/* action_resubscribe - see action.h */
gboolean
action_resubscribe(struct action_ctx *ctx, const struct list_config *list,
    gint64 sub_id, enum action_state *state, GError **error)
{
	const char *status;
	gint64 list_id;
	gboolean blocked;
	int opened;

	if ((opened = action_open_member(ctx, list, sub_id, state, &list_id,
	    &status, error)) <= 0)
		return opened == 0;
	if (!store_membership_blocklisted(ctx->store, sub_id, &blocked, error))
		goto fail;
	action_rollback(ctx);
	if (status == NULL)
		return action_not_member(ctx, sub_id, state);
	if (strcmp(status, MEMBER_ACTIVE) == 0) {
		action_say(ctx, "subscriber %" G_GINT64_FORMAT " already active",
		    sub_id);
		action_set(state, ACTION_ALREADY);
		return TRUE;
	}
	if (blocked || strcmp(status, MEMBER_UNSUBSCRIBED) != 0) {
		action_say(ctx, "subscriber %" G_GINT64_FORMAT " is %s, not"
		    " resubscribed", sub_id, blocked ? "blocklisted" : status);
		action_set(state, ACTION_REFUSED);
		return TRUE;
	}
	/* the transaction again, now to write: the status may have moved */
	if (!action_begin(ctx, error))
		return FALSE;
	if (!action_status_id(ctx, list_id, sub_id, &status, error))
		goto fail;
	if (status == NULL || strcmp(status, MEMBER_UNSUBSCRIBED) != 0) {
		action_rollback(ctx);
		action_set(state, ACTION_ALREADY);
		return TRUE;
	}
	if (!membership_set(ctx->store, list_id, sub_id, MEMBER_ACTIVE,
	    "resubscribe", ctx->channel, "undo of an unsubscribe", error) ||
	    !action_commit(ctx, error))
		goto fail;
	action_say(ctx, "subscriber %" G_GINT64_FORMAT " resubscribed", sub_id);
	action_set(state, ACTION_DONE);
	return TRUE;
fail:
	action_rollback(ctx);
	return FALSE;
}

/* action_subscribe_request - see action.h */
gboolean
action_subscribe_request(struct action_ctx *ctx,
    const struct list_config *list, const char *email, const char *name,
    GHashTable *attrs, enum action_state *state, gint64 *sub_id,
    GError **error)
{
	g_autoptr(subscriber) sub = NULL;
	const char *status;
	gboolean blocked, recent, fresh = FALSE;
	gint64 list_id;

	if (!notice_may_send_to(email) || !subscriber_check_email(email, NULL)) {
		action_say(ctx, "subscribe request: address takes no notices,"
		    " dropped");
		action_set(state, ACTION_NO_MAIL);
		return TRUE;
	}
	if (!action_begin(ctx, error))
		return FALSE;
	if ((list_id = action_list_id(ctx, list, TRUE, error)) < 0 ||
	    (sub = action_subscriber_create(ctx, email, name, &fresh,
	    error)) == NULL || !store_membership_blocklisted(ctx->store,
	    sub->id, &blocked, error))
		goto fail;
	if (sub_id != NULL)
		*sub_id = sub->id;
	if (!action_status_id(ctx, list_id, sub->id, &status, error))
		goto fail;
	if (blocked || (status != NULL && strcmp(status, MEMBER_ACTIVE) == 0)) {
		action_say(ctx, "subscriber %" G_GINT64_FORMAT " is %s, no mail",
		    sub->id, blocked ? "blocklisted" : "already active");
		action_rollback(ctx);
		action_set(state, blocked ? ACTION_REFUSED : ACTION_ALREADY);
		return TRUE;
	}
	if ((status == NULL || strcmp(status, MEMBER_PENDING) != 0) &&
	    !membership_set(ctx->store, list_id, sub->id, MEMBER_PENDING,
	    "subscribe-pending", ctx->channel, "double opt-in", error))
		goto fail;
	/* only a new subscriber's attributes: an unproved request never
	 * changes what a known one has */
	if (fresh && attrs != NULL && g_hash_table_size(attrs) > 0 &&
	    !action_attrs_set(ctx, list_id, sub->email, NULL, attrs, error))
		goto fail;
	if (!action_recent_confirmation(ctx, list_id, sub->id, "subscribe",
	    &recent, error) || (!recent && !action_confirmation_sent(ctx, list,
	    list_id, sub, "subscribe", TOKEN_CONFIRM_SUBSCRIBE, error)) ||
	    !action_commit(ctx, error))
		goto fail;
	if (recent) {
		action_say(ctx, "subscriber %" G_GINT64_FORMAT " pending;"
		    " confirmation sent less than %d minutes ago, not again",
		    sub->id, ACTION_CONFIRM_INTERVAL / 60);
		action_set(state, ACTION_THROTTLED);
		return TRUE;
	}
	action_say(ctx, "subscriber %" G_GINT64_FORMAT " pending, asked to"
	    " confirm", sub->id);
	action_set(state, ACTION_DONE);
	return TRUE;
fail:
	action_rollback(ctx);
	return FALSE;
}

/* action_unsubscribe_request - see action.h */
gboolean
action_unsubscribe_request(struct action_ctx *ctx,
    const struct list_config *list, const struct subscriber *sub,
    enum action_state *state, GError **error)
{
	gboolean recent;
	gint64 list_id;

	if (!notice_may_send_to(sub->email)) {
		action_say(ctx, "unsubscribe request for subscriber %"
		    G_GINT64_FORMAT ": address takes no notices", sub->id);
		action_set(state, ACTION_NO_MAIL);
		return TRUE;
	}
	if ((list_id = action_list_id(ctx, list, FALSE, error)) < 0)
		return FALSE;
	if (list_id == 0) {
		action_set(state, ACTION_NOT_MEMBER);
		return TRUE;
	}
	if (!action_recent_confirmation(ctx, list_id, sub->id, "unsubscribe",
	    &recent, error))
		return FALSE;
	if (recent) {
		action_say(ctx, "unsubscribe request for subscriber %"
		    G_GINT64_FORMAT ": confirmation sent less than %d minutes"
		    " ago, not again", sub->id, ACTION_CONFIRM_INTERVAL / 60);
		action_set(state, ACTION_THROTTLED);
		return TRUE;
	}
	if (!action_confirmation_sent(ctx, list, list_id, sub, "unsubscribe",
	    TOKEN_CONFIRM_UNSUBSCRIBE, error))
		return FALSE;
	action_say(ctx, "unsubscribe request for subscriber %" G_GINT64_FORMAT
	    ": asked to confirm", sub->id);
	action_set(state, ACTION_DONE);
	return TRUE;
}

/* action_confirm_check - see action.h */
gboolean
action_confirm_check(struct action_ctx *ctx, const struct list_config *list,
    const char *token, enum token_purpose *purpose, gint64 *sub_id,
    GError **error)
{
	struct token_claim tc;
	GError *why = NULL;
	gint64 asked;
	int hours = ctx->config->pipe.pending_expiry_hours;

	if (token != NULL && token_verify(ctx->key, token, list->name,
	    TOKEN_ACCEPT_ANY_TEST, &tc, NULL)) {
		/* a test copy's: the caller says so and does nothing */
		if (purpose != NULL)
			*purpose = tc.purpose;
		if (sub_id != NULL)
			*sub_id = tc.subscriber_id;
		return TRUE;
	}
	if (token == NULL || !token_verify(ctx->key, token, list->name,
	    TOKEN_ACCEPT_CONFIRM, &tc, &why)) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_DATA,
		    "no valid confirmation token for %s%s%s", list->address,
		    why != NULL ? ": " : "", why != NULL ? why->message : "");
		g_clear_error(&why);
		return FALSE;
	}
	asked = tc.extra_id;
	if (ctx->now - asked > (gint64)hours * 3600 || asked > ctx->now + 3600) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_DATA,
		    "this confirmation has expired (after %d hours); please ask"
		    " again", hours);
		return FALSE;
	}
	if (purpose != NULL)
		*purpose = tc.purpose;
	if (sub_id != NULL)
		*sub_id = tc.subscriber_id;
	return TRUE;
}

/* action_confirm - see action.h */
gboolean
action_confirm(struct action_ctx *ctx, const struct list_config *list,
    const char *token, enum action_state *state, GError **error)
{
	enum token_purpose p;
	gint64 sub_id, list_id;
	const char *status;

	if (!action_confirm_check(ctx, list, token, &p, &sub_id, error))
		return FALSE;
	if (token_is_test(p)) {
		action_say(ctx, "a test copy's token (rendered as subscriber %"
		    G_GINT64_FORMAT "): it acts on nobody, nothing changed",
		    sub_id);
		action_set(state, ACTION_TEST);
		return TRUE;
	}
	if (p == TOKEN_CONFIRM_UNSUBSCRIBE)
		return action_unsubscribe(ctx, list, sub_id, "confirmed", state,
		    error);
	if ((list_id = action_list_id(ctx, list, FALSE, error)) < 0 ||
	    !action_status_id(ctx, list_id, sub_id, &status, error))
		return FALSE;
	if (status != NULL && strcmp(status, MEMBER_ACTIVE) == 0) {
		action_say(ctx, "subscriber %" G_GINT64_FORMAT " already active",
		    sub_id);
		action_set(state, ACTION_ALREADY);
		return TRUE;
	}
	if (status == NULL || strcmp(status, MEMBER_PENDING) != 0) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_DATA,
		    "no subscription request is pending for this confirmation;"
		    " please ask again");
		return FALSE;
	}
	if (!action_set_status(ctx, list, list_id, sub_id, MEMBER_ACTIVE,
	    "subscribe", "confirmed", "subscribe", NULL, error))
		return FALSE;
	action_say(ctx, "subscriber %" G_GINT64_FORMAT " confirmed, active",
	    sub_id);
	action_set(state, ACTION_DONE);
	return TRUE;
}

/* action_preferences - see action.h */
gboolean
action_preferences(struct action_ctx *ctx, const struct list_config *list,
    gint64 sub_id, const char *name, GHashTable *attrs,
    enum action_state *state, GError **error)
{
	g_autoptr(subscriber) sub = NULL;
	g_autoptr(GArray) before = NULL;
	const char *status;
	gint64 list_id;
	guint moves = 0;
	int opened;

	if ((opened = action_open_member(ctx, list, sub_id, state, &list_id,
	    &status, error)) <= 0)
		return opened == 0;
	if (status == NULL) {
		action_rollback(ctx);
		return action_not_member(ctx, sub_id, state);
	}
	/* the segments it was in, to note the ones the change moved it
	 * out of or into (segment_choice.h) */
	if ((sub = subscriber_get(ctx->store, sub_id, error)) == NULL ||
	    (before = segment_memberships(ctx->store, list, list_id, sub_id,
	    error)) == NULL ||
	    !action_attrs_set(ctx, list_id, sub->email, name, attrs, error) ||
	    !segment_moves_record(ctx->store, list, list_id, sub_id, before,
	    ctx->channel, &moves, error) ||
	    !store_event(ctx->store, list_id, sub_id, "preferences",
	    ctx->channel, "name and attributes", error) ||
	    !action_commit(ctx, error))
		goto fail;
	action_say(ctx, "subscriber %" G_GINT64_FORMAT " preferences saved"
	    "%s", sub_id, moves > 0 ? ", segments changed" : "");
	action_set(state, ACTION_DONE);
	return TRUE;
fail:
	action_rollback(ctx);
	return FALSE;
}

/* action_memberships - see action.h */
GPtrArray *
action_memberships(struct action_ctx *ctx, gint64 sub_id, GError **error)
{
	return store_membership_names(ctx->store, sub_id, error);
}

/* action_unsubscribe_all - see action.h */
gboolean
action_unsubscribe_all(struct action_ctx *ctx, gint64 sub_id,
    const char *how, guint *count, GError **error)
{
	g_autoptr(GPtrArray) ms = NULL;
	guint i;

	*count = 0;
	if (sub_id <= 0)
		return TRUE;
	if ((ms = action_memberships(ctx, sub_id, error)) == NULL)
		return FALSE;
	for (i = 0; i + 1 < ms->len; i += 2) {
		const struct list_config *l = config_list(ctx->config,
		    g_ptr_array_index(ms, i), NULL);
		enum action_state st;

		if (l == NULL)
			continue;
		if (ctx->outcome != NULL && ctx->outcome->len > 0)
			g_string_append(ctx->outcome, "; ");
		if (!action_unsubscribe(ctx, l, sub_id, how, &st, error))
			return FALSE;
		if (st == ACTION_DONE)
			(*count)++;
	}
	return TRUE;
}
