/*
 * subscriber.h - subscribers, their attributes and their memberships.
 *
 * A subscriber is one address (unique by email_key: the local part as
 * given, the domain lowercased) with a name and string attributes; a
 * membership ties a subscriber to a list with a status (store.h's MEMBER_*)
 * and timestamps. Every status change writes one event (store_event) with
 * its channel, in the same transaction, except in a quiet writer (an
 * import), whose caller logs one event for the batch; the membership
 * itself keeps the channel of its last change.
 *
 * Attributes are stored twice (store.c): subscribers.attrs (JSON) and the
 * segment index table attributes(key, value, subscriber_id). Only this
 * module writes either, and keeps them equal; read one subscriber's
 * attributes from subscriber_get/find or the subscriber_attributes view.
 *
 * Must stay true: addresses are checked before they are stored (RFC 5321
 * lengths, one @, dot-atom or quoted local part, an IDN domain stored as
 * given); names and attribute values with CR or LF are refused. The
 * checks themselves are core/address.h's (included here: callers know
 * them by their subscriber_ names).
 */
#ifndef HERALD_SUBSCRIBER_H
#define HERALD_SUBSCRIBER_H

#include <glib.h>
#include "address.h"
#include "store.h"

struct subscriber {
	gint64 id;
	char *email;
	char *name;		/* NULL when none */
	GHashTable *attrs;	/* char * -> char *, never NULL */
	gint64 created;		/* unix time */
};

void subscriber_free(struct subscriber *sub);

/*
 * Loading a subscriber, wherever it is read along with other rows: select
 * SUBSCRIBER_COLUMNS (alias s for subscribers), make the struct with
 * subscriber_from_row, and add each attribute (a row of json_each(s.attrs)
 * or of the attributes view: key, value) with subscriber_add_attr.
 */
#define SUBSCRIBER_COLUMNS "s.id, s.email, s.name, s.created"
/* subscriber_from_row - a subscriber from ROWS' columns FIRST on (id,
 * email, name, created), no attributes yet; an empty name is none */
struct subscriber *subscriber_from_row(struct store_rows *rows, int first);
/* subscriber_add_attr - the attribute whose key is ROWS' column COL and
 * value COL + 1 (a NULL key: none, as a LEFT JOIN leaves it) */
void subscriber_add_attr(struct subscriber *sub, struct store_rows *rows,
    int col);

/* lookups: NULL and a NOUSER error when there is no such subscriber */
struct subscriber *subscriber_get(struct store *store, gint64 id,
    GError **error);
struct subscriber *subscriber_find(struct store *store, const char *email,
    GError **error);

/* membership_intern - the MEMBER_* constant equal to S, or NULL */
const char *membership_intern(const char *s);

/* membership_status - the status on LIST_ID (a MEMBER_* string, static),
 * or NULL and a NOUSER error when not a member */
const char *membership_status(struct store *store, gint64 list_id,
    gint64 subscriber_id, GError **error);

/* membership_set - set the status (creating the membership if needed),
 * stamp changed, and log ACTION through CHANNEL with DETAIL. */
gboolean membership_set(struct store *store, gint64 list_id,
    gint64 subscriber_id, const char *status, const char *action,
    const char *channel, const char *detail, GError **error);

/* subscriber_delete - remove a subscriber, their attributes and every
 * membership (the event log keeps its rows, without the subscriber) */
gboolean subscriber_delete(struct store *store, gint64 id, GError **error);

/*
 * The writer: adds or updates subscribers and memberships with statements
 * prepared once per connection (import and sub add share it). It
 * writes inside the caller's transaction; it never begins or commits.
 *
 * subscriber_write - EMAIL (checked) with NAME (NULL or "": keep) and
 * ATTRS (key -> value; a value of "" removes the attribute) becomes an
 * active member of the writer's list, unless the membership exists with
 * another status: then it is left as it is (an import never re-subscribes
 * someone who left), and *OUTCOME says which case it was.
 */
enum subscriber_outcome {
	SUBSCRIBER_ADDED,	/* a new subscriber, now a member */
	SUBSCRIBER_JOINED,	/* a known subscriber, now a member */
	SUBSCRIBER_UPDATED,	/* already an active member; name/attrs set */
	SUBSCRIBER_KEPT,	/* a member with another status, left as it is */
};

struct subscriber_writer;

struct subscriber_writer *subscriber_writer_new(struct store *store,
    gint64 list_id, const char *channel, GError **error);
gboolean subscriber_write(struct subscriber_writer *w, const char *email,
    const char *name, GHashTable *attrs, enum subscriber_outcome *outcome,
    gint64 *subscriber_id, GError **error);
void subscriber_writer_free(struct subscriber_writer *w);
/* subscriber_writer_quiet - no event per new member from now on: the
 * caller logs one for the whole batch */
void subscriber_writer_quiet(struct subscriber_writer *w);
/*
 * Batched writing (an import): subscriber_writer_queue checks a row (a
 * DATA error refuses it at once, and nothing is queued) and queues it;
 * the queue is written when full and by subscriber_writer_flush, with the
 * same outcome as subscriber_write row by row, counted in
 * subscriber_writer_counts (indexed by enum subscriber_outcome). A store
 * error from either leaves the queue empty and the transaction to roll
 * back. subscriber_write flushes the queue first.
 */
gboolean subscriber_writer_queue(struct subscriber_writer *w,
    const char *email, const char *name, GHashTable *attrs, GError **error);
gboolean subscriber_writer_flush(struct subscriber_writer *w, GError **error);
const gint64 *subscriber_writer_counts(const struct subscriber_writer *w);
/* subscriber_writer_bulk - when no subscriber exists yet, drop the unique
 * email index until subscriber_writer_finish (or the first repeated
 * address) builds it again: the caller must then call finish before it
 * commits (a rollback restores the index anyway) */
gboolean subscriber_writer_bulk(struct subscriber_writer *w, GError **error);
/* subscriber_writer_pipeline - write batches in a second thread while
 * the caller queues the next (an import: parsing then costs no time of
 * its own). Until subscriber_writer_finish or _free, the store belongs to
 * that thread: the caller must not use it. Call before queueing. */
void subscriber_writer_pipeline(struct subscriber_writer *w);
/* subscriber_writer_finish - flush, end the pipeline, and rebuild what
 * bulk dropped */
gboolean subscriber_writer_finish(struct subscriber_writer *w,
    GError **error);

/* membership_get - status (a MEMBER_* string, static) and times of the
 * membership, or NULL and a NOUSER error when not a member */
const char *membership_get(struct store *store, gint64 list_id,
    gint64 subscriber_id, gint64 *subscribed, gint64 *changed,
    GError **error);

/* membership_channel - the channel of the membership's last change (cli,
 * import, mail…; caller frees), or NULL when not a member */
char *membership_channel(struct store *store, gint64 list_id,
    gint64 subscriber_id);

/* g_autoptr needs a type name: this typedef exists for it alone */
typedef struct subscriber subscriber;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(subscriber, subscriber_free)
typedef struct subscriber_writer subscriber_writer;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(subscriber_writer, subscriber_writer_free)

#endif
