/*
 * track.h - tracked links and the open image in an announcement's copies
 * (tracking { } of a list file; doc/guide/engagement.md).
 *
 * When a campaign starts, each campaign segment's copy is rendered for a
 * sample subscriber and its http(s) links are registered in the store
 * (one row per campaign, segment and URL); composer_render() then turns
 * every such link of a message's text and HTML parts into
 * {web.base_url}/l/TOKEN, TOKEN a click token (token.h) naming the link
 * and, in per-subscriber mode, the delivery. herald serve redirects a
 * token to its row's URL and nowhere else.
 *
 * What is never rewritten: a link that is not in the sample's copy (one
 * made of the subscriber's own data: it would carry personal data into
 * the store), the unsubscribe and preferences links and every other URL
 * under web.base_url or unsubscribe_base_url, mailto: and other schemes,
 * and the List-* headers (they are not in the parts). In HTML only href
 * values are links (the text between <a> and </a> stays as written).
 *
 * Must stay true: a track_links is read-only once composer_set_tracking
 * has it (many sender threads read it); an aggregate copy holds the same
 * tokens for every subscriber of a segment.
 */
#ifndef HERALD_TRACK_H
#define HERALD_TRACK_H

#include <glib.h>
#include "config.h"
#include "store.h"
#include "token.h"

struct composer;
struct track_links;

/* track_links_new - an empty set of tracked links of CAMPAIGN (0: a test
 * copy or a dry run) for LIST; TEST makes test tokens (they act on
 * nobody: serve redirects them and counts nothing) */
struct track_links *track_links_new(const struct list_config *list,
    const struct token_key *key, gint64 campaign, gboolean test);
void track_links_free(struct track_links *t);

/* track_links_add - the link of SEGMENT (NULL: none) to URL is row ID */
void track_links_add(struct track_links *t, const char *segment,
    const char *url, gint64 id);

/* track_per_message - TRUE when a copy's tokens differ per delivery
 * (per-subscriber clicks, or opens): no cached parts then */
gboolean track_per_message(const struct track_links *t);

/* track_collect - every http(s) link of TEXT (LEN bytes; HTML: the href
 * values, "&amp;" decoded) that holds none of SKIP (NULL-terminated)
 * added to SET as "SEGMENT\nURL" (SEGMENT "" for none) */
void track_collect(const char *text, gsize len, gboolean html,
    const char *segment, const char *const *skip, GHashTable *set);

/* track_rewrite - PART from byte FROM on, with each registered link of
 * SEGMENT made its tracked URL for DELIVERY (0: none); in HTML with
 * opens on, the open image before </body> */
void track_rewrite(const struct track_links *t, const char *segment,
    gint64 delivery, GString *part, gsize from, gboolean html);

/* track_setup - when LIST tracks clicks or opens: register the links of
 * C's copies for CAMPAIGN in STORE and hand them to C (TEST: a test
 * copy's composer). TRUE and nothing done when the list tracks nothing. */
gboolean track_setup(struct store *store, const struct list_config *list,
    struct composer *c, gint64 campaign, gboolean test, GError **error);

#endif
