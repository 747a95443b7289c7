/*
 * web_track.h - herald serve's tracked links and open images:
 *
 *   GET|HEAD /l/TOKEN   302 to the link the announcement held
 *   GET|HEAD /o/TOKEN   a 1x1 transparent GIF
 *
 * A click or open token (token.h) of any list, verified with its MAC; a
 * bad, tampered or foreign token is 404 and no Location. A HEAD answers
 * as a GET and counts nothing; a test copy's token counts nothing.
 *
 * Counting: a GET's count goes to a writer thread that writes every
 * count queued (up to WEB_TRACK_GROUP_MAX) in one durable transaction;
 * the connection is suspended until then and the redirect is answered
 * after the commit. So a redirect a client got is on disk: a kill -9
 * loses only the counts of requests not yet answered (the group in
 * flight, whose clients get no answer). If the commit fails the redirect
 * is still answered (the reader goes on) and the log says the count was
 * not kept.
 *
 * People and machines (doc/guide/engagement.md): a request is counted
 * as a machine's when it has no User-Agent or one of a known scanner or
 * prefetcher, when (per-subscriber mode) it comes within
 * WEB_TRACK_EARLY_SECONDS of its delivery being sent, or when one client
 * address fetches a third different link (of one copy in per-subscriber
 * mode) within WEB_TRACK_BURST_SECONDS of its first.
 */
#ifndef HERALD_WEB_TRACK_H
#define HERALD_WEB_TRACK_H

#include <glib.h>
#include <microhttpd.h>
#include "config.h"
#include "token.h"

#define WEB_TRACK_EARLY_SECONDS 10
#define WEB_TRACK_BURST_SECONDS 5
#define WEB_TRACK_BURST_LINKS 3
#define WEB_TRACK_GROUP_MAX 1024

struct web_track;
struct web_track_job;

/* web_track_new - the state of the tracking routes (no thread yet) */
struct web_track *web_track_new(const struct config *config,
    const struct token_key *key);
/* web_track_start - the writer thread */
void web_track_start(struct web_track *t);
/* web_track_stop - the writer writes what is queued, resumes its
 * connections and ends (before MHD stops) */
void web_track_stop(struct web_track *t);
void web_track_free(struct web_track *t);

/* web_track_begin - KIND ('l' or 'o') with TOKEN, METHOD "GET" or
 * "HEAD", from CLIENT with user agent UA (may be NULL). NULL: no such
 * link (answer 404; *WHY the log's words). Else the job: when
 * web_track_queued() says so C is suspended until its count is written
 * (the access handler is called again then), else answer at once. */
struct web_track_job *web_track_begin(struct web_track *t,
    struct MHD_Connection *c, char kind, const char *token,
    const char *method, const char *client, const char *ua,
    const char **why);
gboolean web_track_queued(const struct web_track_job *job);

/* web_track_response - JOB's answer (*STATUS 302 or 200) and the words
 * for the log line in OUTCOME */
struct MHD_Response *web_track_response(struct web_track_job *job,
    unsigned *status, GString *outcome);
void web_track_job_free(struct web_track_job *job);

#endif
