/*
 * segment_choice.h - what a subscriber may choose for an attribute on
 * the web, and where a choice moved them among the list's segments.
 *
 * The choices of an attribute are the values the list's segments test
 * it against (= and in, not negated), in the list file's order, each
 * labelled with the description of the first segment that names it. A
 * value the segments do not use would put the subscriber in none of
 * them ("Developer " is not "developer"): the preferences and subscribe
 * forms offer the choices and refuse anything else. An attribute no
 * segment tests has no choices (free text, as before).
 *
 * Must stay true: the segments are the list file's (config.h); the
 * moves are written in the caller's transaction as events segment-left
 * and segment-joined (detail: the segment's name), which herald lists
 * counts (store_segment_moves).
 */
#ifndef HERALD_SEGMENT_CHOICE_H
#define HERALD_SEGMENT_CHOICE_H

#include <glib.h>
#include "config.h"
#include "store.h"

struct segment_choice {
	char *value;
	char *label;		/* the value, and what its segment is */
};

/* segment_choices - the choices for attribute KEY on LIST: an array of
 * struct segment_choice (it frees them), empty when no segment tests KEY */
GPtrArray *segment_choices(const struct list_config *list, const char *key);

/* segment_choice_ok - VALUE is one of CHOICES (exactly), or CHOICES is
 * empty (any value) */
gboolean segment_choice_ok(GPtrArray *choices, const char *value);

/* segment_memberships - which of LIST's segments SUB_ID (a member of
 * LIST_ID) is in now: an array of gboolean, one per segment in file
 * order; NULL and ERROR when the store fails */
GArray *segment_memberships(struct store *store,
    const struct list_config *list, gint64 list_id, gint64 sub_id,
    GError **error);

/* segment_moves_record - compare BEFORE (segment_memberships) with now
 * and write an event for every segment SUB_ID left or joined, on
 * CHANNEL; *MOVES (may be NULL) gets how many */
gboolean segment_moves_record(struct store *store,
    const struct list_config *list, gint64 list_id, gint64 sub_id,
    GArray *before, const char *channel, guint *moves, GError **error);

#endif
