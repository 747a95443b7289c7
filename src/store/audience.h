/*
 * audience.h - who an announcement goes to, for render and preview: the
 * active members of a list's segments, and which segments (in a given
 * order) one subscriber matches. The first match is the segment the
 * subscriber's message is rendered for.
 *
 * Must stay true: segment expressions reach SQLite only as bound
 * parameters (store_segment.c); an audience is used by one thread.
 */
#ifndef HERALD_AUDIENCE_H
#define HERALD_AUDIENCE_H

#include <glib.h>
#include "config.h"
#include "store.h"

struct audience;

/* audience_new - LIST's segments in ORDER (NULL-terminated names; NULL:
 * the list file's order), compiled; an unknown name is a USAGE error, a
 * bad expression a CONFIG error naming the list file and line. */
struct audience *audience_new(struct store *store,
    const struct list_config *list, const char *const *order, GError **error);
void audience_free(struct audience *a);

/* audience_order - the segment names in order (NULL-terminated, borrowed) */
const char *const *audience_order(const struct audience *a);

/* audience_match - append to MATCHED (borrowed names, in order) every
 * segment SUBSCRIBER_ID matches as an active member */
gboolean audience_match(struct audience *a, gint64 subscriber_id,
    GPtrArray *matched, GError **error);

/* audience_members - ids of active members in SEGMENT (NULL: all), by id,
 * at most LIMIT (0: all) */
GArray *audience_members(struct audience *a, const char *segment,
    guint limit, GError **error);

/* audience_count - active members in SEGMENT (NULL: all); -1 on error */
gint64 audience_count(struct audience *a, const char *segment,
    GError **error);

/* g_autoptr needs a type name: this typedef exists for it alone */
typedef struct audience audience;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(audience, audience_free)

#endif
