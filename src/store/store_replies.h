/*
 * store_replies.h - reading the mail herald pipe stored from the list
 * and owner addresses (the replies table, migration 3): the listing of
 * herald replies and the one message of herald reply show.
 *
 * Must stay true: read-only. A struct store_reply's strings and raw
 * bytes belong to the row it was read from (the struct store_rows the
 * call returned): they last until the next store_replies_next or until
 * those rows are freed. A column that is NULL reads as a NULL string,
 * and campaign and subscriber say whether they are there (has_*).
 */
#ifndef HERALD_STORE_REPLIES_H
#define HERALD_STORE_REPLIES_H

#include <glib.h>
#include "store.h"

struct store_reply {
	gint64 id;
	gint64 received;		/* unix time */
	const char *list;		/* NULL: the list is gone */
	const char *route;		/* reply | owner */
	const char *kind;		/* reply | autoreply | unsubscribe | loop… */
	gboolean forwarded;
	gboolean has_campaign, has_subscriber;
	gint64 campaign_id, subscriber_id;
	const char *subject;
	/* the listing: From's address, else the envelope sender */
	const char *from;
	/* reply show alone (NULL or 0 in a listing) */
	const char *envelope_from, *from_addr, *from_name;
	const char *message_id, *in_reply_to;
	const char *subscriber_email;	/* NULL: no subscriber, or gone */
	gint64 size;
	const void *raw;		/* the message as it arrived */
	gsize raw_len;
};

/* store_replies_list - the stored mail, newest first: only LIST's (NULL:
 * every list's), CAMPAIGN's (0: any) and of KIND (NULL: any); read the
 * rows with store_replies_next. NULL and *ERROR when it cannot run. */
struct store_rows *store_replies_list(struct store *store, const char *list,
    gint64 campaign, const char *kind, GError **error);

/* store_replies_next - the next row of a listing into *R: TRUE; FALSE at
 * the end or on an error (*ERROR set: check it) */
gboolean store_replies_next(struct store_rows *rows, struct store_reply *r,
    GError **error);

/* store_reply_get - reply ID into *R, every field; the rows its strings
 * belong to (the caller frees them), or NULL and *ERROR: a NOUSER error
 * when there is no reply ID */
struct store_rows *store_reply_get(struct store *store, gint64 id,
    struct store_reply *r, GError **error);

#endif
