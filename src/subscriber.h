/*
 * subscriber.h - subscribers, their attributes and their memberships.
 *
 * A subscriber is one address (unique by email_key: the local part as
 * given, the domain lowercased) with a name and string attributes; a
 * membership ties a subscriber to a list with a status (store.h's MEMBER_*)
 * and timestamps. Every status change writes one event (store_event) with
 * its channel, in the same transaction.
 *
 * Must stay true: addresses are checked before they are stored (RFC 5321
 * lengths, one @, dot-atom or quoted local part, an IDN domain stored as
 * given); names and attribute values with CR or LF are refused.
 */
#ifndef HERALD_SUBSCRIBER_H
#define HERALD_SUBSCRIBER_H

#include <glib.h>
#include "store.h"

struct subscriber {
	gint64 id;
	char *email;
	char *name;		/* NULL when none */
	GHashTable *attrs;	/* char * -> char *, never NULL */
	gint64 created;		/* unix time */
};

void subscriber_free(struct subscriber *sub);

/* subscriber_check_email - FALSE and a DATA error saying why */
gboolean subscriber_check_email(const char *email, GError **error);
/* subscriber_check_text - a name or attribute value: no CR, LF or NUL */
gboolean subscriber_check_text(const char *what, const char *text,
    GError **error);
/* subscriber_email_key - the uniqueness key (caller frees) */
char *subscriber_email_key(const char *email);

/* lookups: NULL and a NOUSER error when there is no such subscriber */
struct subscriber *subscriber_get(struct store *store, gint64 id,
    GError **error);
struct subscriber *subscriber_find(struct store *store, const char *email,
    GError **error);

/* membership_status - the status on LIST_ID (a MEMBER_* string, static),
 * or NULL and a NOUSER error when not a member */
const char *membership_status(struct store *store, gint64 list_id,
    gint64 subscriber_id, GError **error);

/* membership_set - set the status (creating the membership if needed),
 * stamp changed, and log ACTION through CHANNEL with DETAIL. */
gboolean membership_set(struct store *store, gint64 list_id,
    gint64 subscriber_id, const char *status, const char *action,
    const char *channel, const char *detail, GError **error);

/* g_autoptr needs a type name: this typedef exists for it alone */
typedef struct subscriber subscriber;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(subscriber, subscriber_free)

#endif
