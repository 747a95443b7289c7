/*
 * lmtp.h - herald lmtp's work: an LMTP server (RFC 2033) that takes the
 * mail of the lists' addresses from a long-running process, as the pipe
 * takes it from one process per message, through the same pipe_deliver().
 *
 * Must stay true: a recipient gets 250 only once its outcome is committed
 * durably (synchronous=FULL, in a grouped commit), 4xx for whatever herald
 * pipe would exit 75 for, 5xx only for 67, 65 and an oversized message,
 * and never a 5xx when the envelope sender is empty. No write transaction
 * is open while a client is read from or written to: a message is read
 * whole before any work, and a client that goes away before the final dot
 * leaves nothing behind.
 */
#ifndef HERALD_LMTP_H
#define HERALD_LMTP_H

#include <glib.h>
#include "config.h"

struct lmtp_params {
	const char *listen;	/* "unix:PATH", "ADDR:PORT" or "[ADDR6]:PORT" */
	int listen_fd;		/* >= 0: a listening socket given (systemd) */
	int socket_mode;	/* unix socket permissions, e.g. 0660 */
	guint max_connections;	/* beyond: 421 at once */
	guint timeout;		/* seconds for each command, and for a DATA */
	guint workers;		/* delivery threads, one SQLite connection each */
	guint group_max;	/* messages at most in one grouped commit */
	guint max_recipients;	/* per transaction; beyond: 452 */
};

struct lmtp_server;

/* lmtp_server_new - listen as P says (the config is borrowed and must
 * outlive the server); open every worker's database connection. NULL and
 * an error (CONFIG for a bad address, TEMP when the socket or the
 * database cannot be opened) on failure. */
struct lmtp_server *lmtp_server_new(const struct config *config,
    const struct lmtp_params *p, GError **error);

/* lmtp_server_run - accept and serve until lmtp_server_stop(); then let
 * each connection finish the message in hand, answer 421 to the rest, and
 * return. */
void lmtp_server_run(struct lmtp_server *srv);

/* lmtp_server_serve - serve one connection on FD (a connected stream
 * socket, made non-blocking) in the calling thread, as lmtp_server_run
 * serves each it accepts, until it ends; FD is closed. For the fuzz
 * target (tests/fuzz/fuzz-lmtp.c), which speaks over a socket pair. */
void lmtp_server_serve(struct lmtp_server *srv, int fd);

/* lmtp_server_stop - from a signal handler too (async-signal-safe) */
void lmtp_server_stop(struct lmtp_server *srv);

void lmtp_server_free(struct lmtp_server *srv);

#endif
