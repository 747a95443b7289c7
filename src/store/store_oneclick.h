/*
 * store_oneclick.h - a group of one-click unsubscribes (herald serve's
 * writer, RFC 8058) from one list written by a few set-based statements
 * for the whole group instead of about nine per request: on PostgreSQL
 * one statement (every statement there is a round trip to the server),
 * on SQLite five.
 *
 * Must stay true: the result for each request is what action_unsubscribe
 * would have done to it alone, in the order given: a member whose status
 * is not unsubscribed or blocklisted becomes unsubscribed (changed = NOW,
 * channel CHANNEL, subscribed kept) with one event ("unsubscribe",
 * CHANNEL, detail HOW) and its pending unsubscribe confirmation gone;
 * anyone else is left as they are, with no event. A subscriber named
 * twice counts once: the later requests find it already unsubscribed.
 * The writes run in the caller's transaction (none opened here); on
 * FALSE the caller rolls it back, and nothing of the group is left.
 */
#ifndef HERALD_STORE_ONECLICK_H
#define HERALD_STORE_ONECLICK_H

#include <glib.h>
#include "store.h"
#include "subscriber.h"

/* what one request of the group found */
enum store_oneclick_found {
	STORE_ONECLICK_DONE,		/* a member: unsubscribed now */
	STORE_ONECLICK_ALREADY,		/* unsubscribed or blocklisted before */
	STORE_ONECLICK_NOT_MEMBER,	/* no membership (or no list row) */
	STORE_ONECLICK_NO_SUBSCRIBER,	/* no subscriber with this id */
};

struct store_oneclick {
	gint64 sub_id;			/* in */
	enum store_oneclick_found found;	/* out */
	const char *status;		/* out: the status it had (store.h's
					 * MEMBER_*, static), NULL for none */
	struct subscriber *sub;		/* out: id, email, name and created
					 * (no attributes), the caller's to
					 * free; NULL for NO_SUBSCRIBER */
};

/* store_oneclick_unsubscribe - the N requests of ITEMS (sub_id set) on
 * list LIST (a name) as the header says; *LIST_ID the list's row id (0:
 * it has none, so nobody is a member). FALSE and *ERROR (TEMP for a
 * database busy past its timeout, a lost connection, a full disk): the
 * items' out fields are cleared. */
gboolean store_oneclick_unsubscribe(struct store *store, const char *list,
    const char *channel, const char *how, gint64 now,
    struct store_oneclick *items, guint n, gint64 *list_id, GError **error);

/* store_oneclick_clear - free what the out fields of the N ITEMS hold */
void store_oneclick_clear(struct store_oneclick *items, guint n);

#endif
