/*
 * action.h - the store actions a subscriber asks for, whichever way the
 * request came (herald pipe, herald lmtp, herald serve): unsubscribe by
 * token, undo an unsubscribe, ask for a subscription (double opt-in),
 * ask to confirm an unsubscribe, and complete a confirmation. The entry
 * points differ only in how they read a request and how they answer.
 *
 * Must stay true: nobody acts for someone else. A change of membership
 * needs a subscriber id the caller proved with a token of the right
 * purpose (action_token_find), or goes through a confirmation mailed to
 * the address concerned. Every change is one transaction with its event
 * (channel ctx->channel) and is committed when the function returns TRUE.
 * A notice (the goodbye, a confirmation request) is queued in the outbox
 * in the transaction of its change and sent by the caller after the
 * commit (action_notices_send): it exists exactly when the change does,
 * and no write transaction is held while a notice is sent. Errors:
 * TEMP for what may pass (SQLite busy, a relay down), DATA for a token
 * that is not valid or has expired, NOUSER for a list closed to it.
 * Outcome words (ctx->outcome) never contain a token.
 */
#ifndef HERALD_ACTION_H
#define HERALD_ACTION_H

#include <glib.h>
#include "config.h"
#include "store.h"
#include "subscriber.h"
#include "token.h"

#define ACTION_CONFIRM_INTERVAL	600	/* seconds between two confirmations */

struct action_ctx {
	const struct config *config;
	struct store *store;
	const struct token_key *key;
	const char *channel;	/* the events' channel: "mail", "web" */
	gint64 now;		/* unix time of the request */
	GString *outcome;	/* words for the log line; may be NULL */
	GArray **notices;	/* NULL, or where the notices queued go
				 * (struct action_notice, made on demand) */
	GMutex *write_lock;	/* NULL, or held around each transaction */
	gboolean locked;	/* (action.c's own) */
};

/* a notice an action queued in the outbox, to send after the commit */
struct action_notice {
	gint64 id;		/* the outbox row */
	const char *what;	/* "goodbye", "confirmation" (static) */
};

/* what an action found or did */
enum action_state {
	ACTION_DONE,		/* the change is committed */
	ACTION_ALREADY,		/* it was so already: nothing written */
	ACTION_NOT_MEMBER,	/* no membership (or no list row) to act on */
	ACTION_REFUSED,		/* blocklisted, or disabled by bounces */
	ACTION_THROTTLED,	/* a confirmation went out recently */
	ACTION_NO_MAIL,		/* the address takes no notices */
	ACTION_TEST,		/* a test copy's token, or one for subscriber
				 * 0 (the archive): acts on nobody */
};

/* action_token_find - the list whose token TEXT is, for one of the
 * purposes in ACCEPT (token_accept bits; with a test bit, *CLAIM's
 * purpose may carry TOKEN_TEST: the caller must act on nobody): *LIST
 * and *CLAIM (each may be NULL) set on success; FALSE otherwise, *CLAIM
 * all zero and *ERROR (may be NULL) saying why, without the token */
gboolean action_token_find(const struct config *config,
    const struct token_key *key, const char *text, guint accept,
    const struct list_config **list, struct token_claim *claim,
    GError **error);

/* action_status - SUB's membership status on LIST (static), NULL (no
 * error) when there is none */
const char *action_status(struct action_ctx *ctx,
    const struct list_config *list, gint64 sub, GError **error);

/* action_goodbye_due - whether an unsubscribe from LIST done HOW (an
 * event detail, see action_unsubscribe) gets the goodbye: goodbye_notice,
 * and for "one-click" (the mail client's RFC 8058 button, or the button
 * of the unsubscribe page, which posts the same form) also
 * goodbye_after_one_click: who pressed a button expects silence, and the
 * page they see says it is done. */
gboolean action_goodbye_due(const struct list_config *list, const char *how);

/* action_unsubscribe - SUB_ID proved it is them: off LIST at once, with
 * the goodbye when action_goodbye_due; idempotent. HOW is the event's
 * detail ("token", "confirmed", "one-click"). */
gboolean action_unsubscribe(struct action_ctx *ctx,
    const struct list_config *list, gint64 sub_id, const char *how,
    enum action_state *state, GError **error);

/* one request of a group of one-click unsubscribes (herald serve's
 * writer): what it asks (in) and what became of it (out) */
struct action_group_item {
	gint64 sub_id;		/* in: proved by its token; 0 acts on nobody */
	GString *outcome;	/* in: its words (may be NULL) */
	GArray **notices;	/* in: where its goodbye goes (may be NULL) */
	enum action_state state;	/* out */
	struct subscriber *sub;	/* out: the subscriber (no attributes), the
				 * caller's; NULL with ERR for none */
	GError *err;		/* out: NOUSER when there is no subscriber */
};

/* action_unsubscribe_group - action_unsubscribe (HOW "one-click") of
 * each of the N ITEMS on LIST, as one unit of work in the caller's
 * transaction (a savepoint inside a group, store_group_begin): each item
 * gets the state, words and goodbye it would have got alone, in order,
 * a subscriber asked for twice counts once (store_oneclick.h). FALSE and
 * *ERROR: nothing of it done, no words, no notices (the caller answers
 * every item with the error). */
gboolean action_unsubscribe_group(struct action_ctx *ctx,
    const struct list_config *list, const char *how,
    struct action_group_item *items, guint n, GError **error);

/* action_resubscribe - undo an unsubscribe: SUB_ID (proved by a token)
 * active on LIST again, only from "unsubscribed" (never from blocklisted,
 * disabled or pending); idempotent */
gboolean action_resubscribe(struct action_ctx *ctx,
    const struct list_config *list, gint64 sub_id, enum action_state *state,
    GError **error);

/* action_subscribe_request - EMAIL (NAME and ATTRS may be NULL; ATTRS
 * are set only on a new subscriber) asks to join LIST: a pending
 * membership, then the confirmation mail, at most once per
 * ACTION_CONFIRM_INTERVAL. Nothing for the blocklisted or the active.
 * *SUB_ID (may be NULL) gets the subscriber. */
gboolean action_subscribe_request(struct action_ctx *ctx,
    const struct list_config *list, const char *email, const char *name,
    GHashTable *attrs, enum action_state *state, gint64 *sub_id,
    GError **error);

/* action_unsubscribe_request - SUB asked (without a token) to leave LIST,
 * on which they are a member: a confirmation to their address, at most
 * once per ACTION_CONFIRM_INTERVAL */
gboolean action_unsubscribe_request(struct action_ctx *ctx,
    const struct list_config *list, const struct subscriber *sub,
    enum action_state *state, GError **error);

/* action_confirm_check - TOKEN is a confirmation (purpose s or c) for
 * LIST that has not expired, or any test copy's token (*PURPOSE with
 * TOKEN_TEST): *PURPOSE and *SUB_ID set (may be NULL); else a DATA error
 * that says why */
gboolean action_confirm_check(struct action_ctx *ctx,
    const struct list_config *list, const char *token,
    enum token_purpose *purpose, gint64 *sub_id, GError **error);

/* action_confirm - complete what TOKEN confirms on LIST: the pending
 * subscription becomes active, or the unsubscribe happens; a test copy's
 * token changes nothing (ACTION_TEST) */
gboolean action_confirm(struct action_ctx *ctx,
    const struct list_config *list, const char *token,
    enum action_state *state, GError **error);

/* action_preferences - SUB_ID (proved by a token for LIST, on which
 * they have a membership) sets their NAME (NULL: keep) and ATTRS (key ->
 * value, "" removes), one event "preferences" */
gboolean action_preferences(struct action_ctx *ctx,
    const struct list_config *list, gint64 sub_id, const char *name,
    GHashTable *attrs, enum action_state *state, GError **error);

/* action_memberships - SUB_ID's memberships as pairs (list name, status)
 * in one flat array, by list name; NULL and an error on failure */
GPtrArray *action_memberships(struct action_ctx *ctx, gint64 sub_id,
    GError **error);

/* action_unsubscribe_all - action_unsubscribe on every configured list
 * SUB_ID is a member of; *COUNT the lists left */
gboolean action_unsubscribe_all(struct action_ctx *ctx, gint64 sub_id,
    const char *how, guint *count, GError **error);

/* action_list_title - "Display <address>" or the address (caller frees) */
char *action_list_title(const struct list_config *list);

/* action_notices_send - after the commit: try each of NOTICES (may be
 * NULL), saying in OUTCOME (may be NULL) what became of it. TRUE when
 * every one left; one that could not waits in the outbox (herald
 * maintain and each herald pipe try it again): never an error. */
gboolean action_notices_send(const struct config *config,
    struct store *store, GArray *notices, gint64 now, GString *outcome);

#endif
