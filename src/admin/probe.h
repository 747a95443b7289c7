/*
 * probe.h - a small HTTP/1.1 client for herald doctor: one POST to herald
 * serve at its listen address (web.listen, "ADDR:PORT" or "[V6]:PORT",
 * numeric, as serve takes it), within a deadline over the whole exchange,
 * and the status line of the answer.
 *
 * Must stay true: one call sends one request (Connection: close) and
 * never retries: herald serve counts POSTs per token (web.token_rate) and
 * a second try would spend the caller's allowance. A call never blocks
 * past its deadline. A wildcard listen address (0.0.0.0, ::, or an empty
 * host) is probed on the loopback of its family, where serve also listens.
 */
#ifndef HERALD_PROBE_H
#define HERALD_PROBE_H

#include <glib.h>

#define PROBE_TIMEOUT_MS 10000	/* herald doctor's deadline for one probe */

struct probe_reply {
	unsigned status;	/* the HTTP status; 0 when there was no answer */
	char reason[64];	/* its reason phrase ("OK"), maybe cut short */
	gboolean refused;	/* FALSE returned: nothing listens (ECONNREFUSED) */
};

/* probe_post - POST BODY (of CONTENT_TYPE) for PATH (starting with '/')
 * to the server at LISTEN, with Host: HOST, all of it within TIMEOUT_MS.
 * TRUE when an HTTP answer came (whatever its status: REPLY->status).
 * FALSE and an error otherwise: USAGE for a LISTEN that is not ADDR:PORT,
 * TEMP for a connection refused (REPLY->refused set), reset or timed out,
 * or an answer that is not HTTP. */
gboolean probe_post(const char *listen, const char *host, const char *path,
    const char *content_type, const char *body, int timeout_ms,
    struct probe_reply *reply, GError **error);

#endif
