/*
 * pipe.h - herald pipe's work: take one inbound message for one of a
 * list's addresses, decide what it is by the address, and act on it.
 *
 *   LIST@                  a reply: stored, linked, forwarded to the owners
 *   LIST-bounces+TOKEN@    a bounce (or an ARF complaint): handed to bounce
 *   LIST-unsubscribe+TOKEN@  unsubscribe at once (the List-Unsubscribe mailto)
 *   LIST-unsubscribe@      ask the subscribed address to confirm
 *   LIST-subscribe@        double opt-in: pending, and a confirmation
 *   LIST-confirm+TOKEN@    completes a subscribe or unsubscribe
 *   LIST-owner@            forwarded to the owners (ARF: a complaint)
 *   LIST-request@          commands: help, subscribe, unsubscribe, confirm
 *
 * Must stay true: nobody acts for someone else. Only a token (which only
 * the mail sent to that subscriber carried) changes a membership at once;
 * every other request is answered by a confirmation to the address that is
 * subscribed (unsubscribe) or that asked (subscribe), and an address that
 * is not subscribed gets no mail at all. A test copy's token (token.h,
 * herald send --test) acts on nobody: it changes, records and scores
 * nothing, and the outcome says it was a test copy's. A notice (goodbye,
 * confirmation, help, forward) is queued in the outbox in the transaction
 * of the change it tells of and sent after the commit: once per committed
 * change. No notice goes to an empty sender,
 * MAILER-DAEMON or a list-like address; mail carrying our List-Id or X-Loop
 * is never forwarded again. Errors: TEMP for anything that may pass
 * (SQLite busy past its timeout, a full disk, a relay that is down);
 * NOUSER for an address that is no list's; DATA for a command mail that
 * cannot be understood. pipe_deliver() never returns NOUSER or DATA for
 * mail with an empty envelope sender: that is dropped, logged, and 0.
 */
#ifndef HERALD_PIPE_H
#define HERALD_PIPE_H

#include <glib.h>
#include "config.h"
#include "store.h"
#include "token.h"

enum pipe_route {
	PIPE_ROUTE_NONE,	/* no list has this address */
	PIPE_ROUTE_LIST,
	PIPE_ROUTE_BOUNCES,
	PIPE_ROUTE_UNSUBSCRIBE,
	PIPE_ROUTE_SUBSCRIBE,
	PIPE_ROUTE_CONFIRM,
	PIPE_ROUTE_OWNER,
	PIPE_ROUTE_REQUEST,
};

struct pipe_address {
	const struct list_config *list;	/* NULL when the route is NONE */
	enum pipe_route route;
	char *extension;	/* what followed '+', or NULL */
};

struct pipe_ctx {
	const struct config *config;
	struct store *store;
	struct token_key key;
	gboolean grouped;	/* inside store_group_begin() (herald lmtp):
				 * notices wait for pipe_send_queued() */
};

/* a notice a message queued in the outbox (outbox.h) */
/* what happened to one message, for the log line */
struct pipe_result {
	const struct list_config *list;	/* NULL when unknown */
	enum pipe_route route;
	GString *outcome;		/* words for the log line */
	GArray *notices;		/* struct action_notice, queued */
	gboolean deferred;		/* one of them could not leave now */
	gboolean flush;			/* grouped: the bounce policy queued
					 * notices, pipe_flush() after commit */
};

/* pipe_address_parse - split RECIPIENT (LOCAL[+EXT]@DOMAIN, any case) into
 * list, route and extension; route NONE if no list has it. Free OUT's
 * extension with pipe_address_clear(). */
void pipe_address_parse(const struct config *config, const char *recipient,
    struct pipe_address *out);
void pipe_address_clear(struct pipe_address *addr);

const char *pipe_route_name(enum pipe_route route);

/* pipe_deliver - act on RAW (one RFC 5322 message) sent by SENDER (NULL or
 * "" for the null sender) to RECIPIENT. TRUE once the outcome is
 * committed; RESULT says what happened either way (clear it with
 * pipe_result_clear). Notices the message causes are queued in the
 * outbox with the change and sent after its commit; one that cannot
 * leave now stays queued (result->deferred) and is not an error. */
gboolean pipe_deliver(struct pipe_ctx *ctx, const char *recipient,
    const char *sender, GBytes *raw, struct pipe_result *result,
    GError **error);
void pipe_result_clear(struct pipe_result *result);

/* pipe_send_queued - what pipe_deliver does after its commit, for a
 * caller that committed for it (herald lmtp's grouped commit, with the
 * context's grouped set during pipe_deliver): try the notices RESULT
 * queued, and say in its outcome what became of them */
void pipe_send_queued(struct pipe_ctx *ctx, struct pipe_result *result);

/* pipe_flush - send the bounce policy's queued notices (after a grouped
 * commit); *SENT (may be NULL) counts them */
gboolean pipe_flush(struct pipe_ctx *ctx, int *sent, GError **error);

/* pipe_exit_status - the exit status of herald pipe (and so herald lmtp's
 * reply) for what pipe_deliver left in ERROR: 0 for NULL, 67 NOUSER, 65
 * DATA, and 75 for anything else (it may pass; deferred is never lost) */
int pipe_exit_status(const GError *error);

/* pipe_oversize - a message over pipe.max_size for RECIPIENT: refused
 * (69, and *LINE the "5.3.4 ..." text, caller frees) unless the sender is
 * empty; then dropped (0, RESULT says so), or, for a bounce address, -1:
 * deliver its first max_size bytes (RESULT's outcome begins saying so) */
int pipe_oversize(const struct config *config, const char *recipient,
    const char *sender, struct pipe_result *res, char **line);

/* pipe_log_line - "list=L route=R from=<S> to=<R> status=N: outcome", on
 * one line (caller frees): herald pipe's log line, herald lmtp's too */
char *pipe_log_line(const struct pipe_result *res, const char *sender,
    const char *recipient, int status);

/* pipe_expire_pending - end subscription requests left unconfirmed for
 * more than HOURS (membership removed, event "subscribe-expired"), and
 * forget unsubscribe requests as old. *EXPIRED (may be NULL) counts the
 * memberships removed. For herald maintain; pipe does it lazily too. */
gboolean pipe_expire_pending(struct store *store, int hours, guint *expired,
    GError **error);

/* pipe_spool_write - keep RAW under SPOOL_DIR/new before any work (a
 * full disk is TEMP); returns the file's path (caller frees) */
char *pipe_spool_write(const char *spool_dir, GBytes *raw, GError **error);

/* pipe_spool_finish - after the outcome: KEEP moves the file to
 * SPOOL_DIR/cur (the archive of handled mail), else it is removed (the
 * MTA still holds the message, or has bounced it) */
void pipe_spool_finish(const char *spool_dir, const char *path,
    gboolean keep);

/* pipe_spool_archive - herald lmtp's archive: append N handled messages
 * (SENDERS[i], RAWS[i]) to SPOOL_DIR/cur/lmtp-YYYYMMDD.mbox (mboxrd, one
 * file a day, UTC) in one write, instead of a file per message. An error
 * (TEMP on a full disk) loses only the archive copy. */
gboolean pipe_spool_archive(const char *spool_dir, const char *const *senders,
    GBytes *const *raws, guint n, GError **error);

/* pipe_spool_prune - remove archived mail older than DAYS; the count of
 * files removed, -1 and ERROR if the folder cannot be read */
int pipe_spool_prune(const char *spool_dir, int days, GError **error);

#endif
