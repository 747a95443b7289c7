/*
 * store_erase.h - a subscriber's own data: every row herald keeps about
 * them, read for "Download my data", and deleted for "Erase me" (the
 * preferences page, herald sub erase), with a keyed hash of the address
 * kept per list so an import does not silently add it back.
 *
 * Must stay true: erasing leaves no row that names the person (their
 * subscriber row, attributes, memberships, deliveries, events, replies,
 * bounces, complaints, notices, confirmations) and only the hashes in
 * erased; per-delivery click and open counts are folded into the
 * campaign's anonymous counts (delivery 0), so the report's totals do
 * not change. Portable SQL, times bound from C.
 */
#ifndef HERALD_STORE_ERASE_H
#define HERALD_STORE_ERASE_H

#include <glib.h>
#include "store.h"

/* one section of the download: its name and columns, each "T:name", T
 * one of i (integer), s (text), t (unix time), j (a JSON text) */
struct store_mydata_section {
	const char *name;
	const char *const *columns;
	const char *sql;	/* ?1 is the subscriber */
};

/* store_mydata_sections - the sections, in order; *N how many */
const struct store_mydata_section *store_mydata_sections(guint *n);

/* store_mydata_rows - section I's rows for subscriber SUB */
struct store_rows *store_mydata_rows(struct store *store, guint i,
    gint64 sub, GError **error);

/* store_erase_subscriber - every row of SUB gone, HASH (the address's,
 * token_address_hash) kept for each list SUB was on, at NOW; one
 * transaction (or a part of the caller's) */
gboolean store_erase_subscriber(struct store *store, gint64 sub,
    const char *hash, gint64 now, GError **error);

/* store_erased_set - the hashes kept for LIST_ID (a set of strings;
 * caller unrefs) */
GHashTable *store_erased_set(struct store *store, gint64 list_id,
    GError **error);

/* store_erased_forget - HASH is no longer kept for LIST_ID (the owner's
 * override: the address may come back) */
gboolean store_erased_forget(struct store *store, gint64 list_id,
    const char *hash, GError **error);

#endif
