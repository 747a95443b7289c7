/*
 * fuzz-web.c - libFuzzer target: the bytes of an HTTP request (or
 * several, pipelined) sent to herald serve, handled by the real server
 * (web.c on libmicrohttpd, its threads, its group committer) on a
 * throwaway instance: paths and their percent-encoding, tokens,
 * urlencoded, multipart and chunked bodies, the archive's and the
 * pages' rendering.
 *
 * One server for the process, on 127.0.0.1 and a port of its choosing,
 * with the rate limits out of the way; each input is one connection:
 * written whole, half-closed, and its answers read to their end.
 * "{U}", "{B}", "{S}", "{C}" and "{T}" become valid tokens (fuzz.h). The
 * database is not put back between inputs (the server's threads hold
 * it open): what the requests changed stays.
 *
 * Must stay true: every request is answered or the connection closed,
 * within the server's timeout; nothing leaks or overflows.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <gmime/gmime.h>

#include "herald.h"
#include "fuzz.h"
#include "listen_addr.h"
#include "web.h"

/* fuzz_web_server - started once; its bound address in SS */
static struct web *
fuzz_web_server(struct fuzz_instance *fi, struct sockaddr_storage *ss,
    socklen_t *sslen)
{
	const char *top = g_getenv("TOP") != NULL ? g_getenv("TOP") : ".";
	struct config *c = fi->config;
	GError *error = NULL;
	struct web *web;

	c->web.templates = g_build_filename(top, "templates", "web", NULL);
	c->web.base_url = g_strdup("https://lists.example.org");
	c->web.threads = 2;
	c->web.timeout = 2;
	c->web.max_connections = 64;
	c->web.per_ip_connections = 64;
	c->web.ip_rate = 1000000000;
	c->web.token_rate = 1000000000;
	if ((web = web_new(c, &fi->key, "127.0.0.1:0", &error)) == NULL ||
	    !web_start(web, &error) ||
	    !listen_addr_parse(web_address(web), ss, sslen, &error)) {
		g_printerr("fuzz-web: %s\n", error->message);
		abort();
	}
	return web;
}

/* fuzz_web_connect - a connection to the server; thousands a minute
 * may run short of local ports for a moment (EADDRNOTAVAIL) or of the
 * listen queue: a few tries, then -1 (said on stderr) */
static int
fuzz_web_connect(const struct sockaddr_storage *ss, socklen_t sslen)
{
	struct linger lg = { 1, 0 };	/* no TIME_WAIT left on our side */
	int fd, tries;

	for (tries = 0; tries < 50; tries++) {
		if ((fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC,
		    0)) < 0)
			break;
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		if (connect(fd, (const struct sockaddr *)ss, sslen) == 0)
			return fd;
		close(fd);
		g_usleep(20000);
	}
	g_printerr("fuzz-web: cannot connect: %s\n", g_strerror(errno));
	return -1;
}

/* fuzz_web - DATA as one connection's bytes */
int
fuzz_web(const uint8_t *data, size_t size)
{
	static struct fuzz_instance *fi;
	static struct sockaddr_storage ss;
	static socklen_t sslen;
	g_autofree char *text = NULL;
	gsize len, off = 0;
	char buf[16384];
	int fd;

	if (fi == NULL) {
		g_mime_init();
		fi = fuzz_instance();
		(void)fuzz_web_server(fi, &ss, &sslen);
	}
	text = fuzz_tokens(fi, (const char *)data, size, &len);
	if ((fd = fuzz_web_connect(&ss, sslen)) < 0)
		return 0;	/* the harness's trouble, not the server's */
	while (off < len) {
		ssize_t n = send(fd, text + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;	/* the server hung up first */
		off += (gsize)n;
	}
	/* the end of file a little later: libmicrohttpd's epoll is edge
	 * triggered, and a FIN that came with the request's last bytes
	 * would go unseen until its timeout; one that comes after them is
	 * read at once */
	{
		struct pollfd pfd = { fd, POLLIN, 0 };

		(void)poll(&pfd, 1, 20);
	}
	shutdown(fd, SHUT_WR);
	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		ssize_t n;

		/* the server's timeout is 2 s: past 10, it hangs */
		if (poll(&pfd, 1, 10000) == 0) {
			g_printerr("fuzz-web: no answer and no close in 10 s\n");
			abort();
		}
		if ((n = recv(fd, buf, sizeof(buf), 0)) == 0)
			break;
		if (n < 0 && errno != EINTR)
			break;
	}
	close(fd);
	return 0;
}

#ifndef FUZZ_REPLAY
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_web(data, size);
}
#endif
