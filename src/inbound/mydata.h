/*
 * mydata.h - a subscriber's own data, for them: "Download my data" (one
 * JSON document of every row herald keeps about them) and "Erase me"
 * (those rows deleted, a keyed hash of the address kept per list so an
 * import does not silently add it back). herald serve's preferences page
 * and herald sub erase call these; store_erase.c holds the SQL.
 */
#ifndef HERALD_MYDATA_H
#define HERALD_MYDATA_H

#include <glib.h>
#include "store.h"
#include "token.h"

/* mydata_json - SUB's data as one JSON object (caller frees): the
 * subscriber, memberships, deliveries, bounces, replies, clicks and
 * opens (per-subscriber tracking), events; NULL and *ERROR */
char *mydata_json(struct store *store, gint64 sub, GError **error);

/* mydata_erase - SUB erased (store_erase.h), its address's hash under
 * KEY kept for each list it was on */
gboolean mydata_erase(struct store *store, const struct token_key *key,
    gint64 sub, GError **error);

#endif
