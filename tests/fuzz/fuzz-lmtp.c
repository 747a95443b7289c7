/*
 * fuzz-lmtp.c - libFuzzer target: the bytes a client sends to herald lmtp
 * (commands, pipelined or not, and DATA) through the server's command
 * reader and its delivery workers (lmtp.c), on a throwaway instance.
 *
 * One server for the process (one worker, as herald lmtp runs with
 * workers = 1); each input is one connection over a socket pair,
 * served in this thread by lmtp_server_serve(): a thread writes the
 * input and half-closes, another reads the replies to their end.
 * "{U}", "{B}", "{S}", "{C}" and "{T}" become valid tokens (fuzz.h).
 * The database is not put back between inputs (the worker holds it
 * open): what the mail changed stays.
 *
 * Must stay true: every input returns (a session ends at the end of its
 * input), with nothing leaked or overflowed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <gmime/gmime.h>

#include "herald.h"
#include "fuzz.h"
#include "lmtp.h"

struct fuzz_lmtp_io {
	int fd;
	const char *data;
	gsize len;
};

/* fuzz_lmtp_write - the client's bytes, then end of file */
static gpointer
fuzz_lmtp_write(gpointer p)
{
	struct fuzz_lmtp_io *io = p;
	gsize off = 0;

	while (off < io->len) {
		ssize_t n = send(io->fd, io->data + off, io->len - off,
		    MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;	/* the server hung up first */
		off += (gsize)n;
	}
	shutdown(io->fd, SHUT_WR);
	return NULL;
}

/* fuzz_lmtp_read - the server's replies, dropped, to their end */
static gpointer
fuzz_lmtp_read(gpointer p)
{
	struct fuzz_lmtp_io *io = p;
	char buf[8192];
	ssize_t n;

	while ((n = recv(io->fd, buf, sizeof(buf), 0)) != 0)
		if (n < 0 && errno != EINTR)
			break;
	return NULL;
}

/* fuzz_lmtp - one session of DATA's bytes */
int
fuzz_lmtp(const uint8_t *data, size_t size)
{
	static struct lmtp_server *srv;
	static struct fuzz_instance *fi;
	struct fuzz_lmtp_io io;
	GThread *writer, *reader;
	g_autofree char *text = NULL;
	int sv[2];

	if (srv == NULL) {
		g_autofree char *sock = NULL;
		struct lmtp_params p = { 0 };
		GError *error = NULL;

		g_mime_init();
		fi = fuzz_instance();
		sock = g_strdup_printf("unix:%s/lmtp.sock", fi->dir);
		p.listen = sock;
		p.listen_fd = -1;
		p.socket_mode = 0600;
		p.max_connections = 4;
		p.timeout = 5;
		p.workers = 1;
		p.group_max = 16;
		p.max_recipients = 20;
		if ((srv = lmtp_server_new(fi->config, &p, &error)) == NULL) {
			g_printerr("fuzz-lmtp: %s\n", error->message);
			abort();
		}
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0 ||
	    fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK) != 0)
		abort();
	text = fuzz_tokens(fi, (const char *)data, size, &io.len);
	io.fd = sv[1];
	io.data = text;
	writer = g_thread_new("fuzz-lmtp-write", fuzz_lmtp_write, &io);
	reader = g_thread_new("fuzz-lmtp-read", fuzz_lmtp_read, &io);
	lmtp_server_serve(srv, sv[0]);
	g_thread_join(writer);
	g_thread_join(reader);
	close(sv[1]);
	return 0;
}

#ifndef FUZZ_REPLAY
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_lmtp(data, size);
}
#endif
