/*
 * test-probe.c - herald doctor's HTTP client on the wire, against
 * loopback sockets this test opens: the request it sends (one POST, the
 * headers and body exactly), the status line it reads, and each way an
 * exchange can fail (refused, a server that never answers, one that
 * closes at once or answers in something that is not HTTP, a listen
 * address that is not ADDR:PORT). herald serve itself answers it in
 * tests/t0711-doctor-probe.sh.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "herald.h"
#include "probe.h"

/* a loopback listener of FAMILY; *PORT set; -1 when FAMILY is missing */
static int
listener(int family, int *port)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof *in;
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_addr = in6addr_loopback;
		len = sizeof *in6;
	}
	if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 4) != 0) {
		close(fd);
		return -1;
	}
	len = sizeof ss;
	g_assert_cmpint(getsockname(fd, (struct sockaddr *)&ss, &len), ==, 0);
	*port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port :
	    ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

/* one server connection: what it read, what it answers */
struct server {
	int fd;
	const char *answer;	/* written once the request is read; NULL:
				 * close at once */
	GString *request;
	int accepted;
};

/* server_main - accept one connection, read the request to the end of
 * its body, answer (or, with no answer, close at once) */
static gpointer
server_main(gpointer p)
{
	struct server *s = p;
	char buf[4096];
	ssize_t n;
	int c;

	if ((c = accept(s->fd, NULL, NULL)) < 0)
		return NULL;
	s->accepted++;
	while (s->answer != NULL) {
		const char *h = strstr(s->request->str, "\r\n\r\n");
		const char *cl = strstr(s->request->str, "Content-Length: ");

		if (h != NULL && cl != NULL && s->request->len >=
		    (gsize)(h + 4 - s->request->str) + (gsize)atoi(cl + 16))
			break;
		if ((n = recv(c, buf, sizeof buf, 0)) <= 0)
			break;
		g_string_append_len(s->request, buf, n);
	}
	if (s->answer != NULL)
		g_assert_cmpint(send(c, s->answer, strlen(s->answer),
		    MSG_NOSIGNAL), ==, (ssize_t)strlen(s->answer));
	close(c);
	return NULL;
}

/* exchange - probe_post to a server on FAMILY answering ANSWER */
static gboolean
exchange(int family, const char *listen_fmt, const char *answer,
    struct probe_reply *rp, GString *request, GError **error)
{
	struct server s = { -1, answer, request, 0 };
	g_autofree char *listen = NULL;
	GThread *t;
	gboolean ok;
	int port;

	if ((s.fd = listener(family, &port)) < 0) {
		g_test_skip("no loopback of that family");
		return FALSE;
	}
	listen = g_strdup_printf(listen_fmt, port);
	t = g_thread_new("server", server_main, &s);
	ok = probe_post(listen, "lists.example.org", "/unsubscribe/tua-b-x",
	    "application/x-www-form-urlencoded", "List-Unsubscribe=One-Click",
	    5000, rp, error);
	/* wake the server's accept() if probe_post never connected */
	shutdown(s.fd, SHUT_RDWR);
	g_thread_join(t);
	close(s.fd);
	g_assert_cmpint(s.accepted, ==, 1);
	return ok;
}

static void
test_post(void)
{
	g_autoptr(GString) rq = g_string_new(NULL);
	struct probe_reply rp;
	GError *err = NULL;

	g_assert_true(exchange(AF_INET, "127.0.0.1:%d",
	    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", &rp, rq, &err));
	g_assert_no_error(err);
	g_assert_cmpuint(rp.status, ==, 200);
	g_assert_cmpstr(rp.reason, ==, "OK");
	g_assert_false(rp.refused);
	g_assert_cmpstr(rq->str, ==, "POST /unsubscribe/tua-b-x HTTP/1.1\r\n"
	    "Host: lists.example.org\r\nUser-Agent: herald-doctor\r\n"
	    "Content-Type: application/x-www-form-urlencoded\r\n"
	    "Content-Length: 26\r\nConnection: close\r\n\r\n"
	    "List-Unsubscribe=One-Click");
}

static void
test_status(void)
{
	g_autoptr(GString) rq = g_string_new(NULL);
	struct probe_reply rp;

	g_assert_true(exchange(AF_INET, "127.0.0.1:%d", "HTTP/1.0 429 Too Many "
	    "Requests\r\nRetry-After: 5\r\n\r\n", &rp, rq, NULL));
	g_assert_cmpuint(rp.status, ==, 429);
	g_assert_cmpstr(rp.reason, ==, "Too Many Requests");
	g_string_truncate(rq, 0);
	g_assert_true(exchange(AF_INET, "127.0.0.1:%d", "HTTP/1.1 204\r\n\r\n",
	    &rp, rq, NULL));
	g_assert_cmpuint(rp.status, ==, 204);
	g_assert_cmpstr(rp.reason, ==, "");
}

/* a wildcard listen address is probed on the loopback */
static void
test_wildcard(void)
{
	g_autoptr(GString) rq = g_string_new(NULL);
	struct probe_reply rp;

	g_assert_true(exchange(AF_INET, "0.0.0.0:%d", "HTTP/1.1 200 OK\r\n\r\n",
	    &rp, rq, NULL));
	g_assert_cmpuint(rp.status, ==, 200);
	g_string_truncate(rq, 0);
	g_assert_true(exchange(AF_INET, ":%d", "HTTP/1.1 200 OK\r\n\r\n", &rp,
	    rq, NULL));
	g_assert_cmpuint(rp.status, ==, 200);
}

static void
test_ipv6(void)
{
	g_autoptr(GString) rq = g_string_new(NULL);
	struct probe_reply rp;
	int port, fd = listener(AF_INET6, &port);

	if (fd < 0) {
		g_test_skip("no IPv6 loopback");
		return;
	}
	close(fd);
	g_assert_true(exchange(AF_INET6, "[::1]:%d", "HTTP/1.1 200 OK\r\n\r\n",
	    &rp, rq, NULL));
	g_assert_cmpuint(rp.status, ==, 200);
	g_string_truncate(rq, 0);
	g_assert_true(exchange(AF_INET6, "[::]:%d", "HTTP/1.1 200 OK\r\n\r\n",
	    &rp, rq, NULL));
	g_assert_cmpuint(rp.status, ==, 200);
}

static void
test_not_http(void)
{
	g_autoptr(GString) rq = g_string_new(NULL);
	struct probe_reply rp;
	GError *err = NULL;

	g_assert_false(exchange(AF_INET, "127.0.0.1:%d",
	    "SSH-2.0-OpenSSH_9.2\r\n", &rp, rq, &err));
	g_assert_error(err, HERALD_ERROR, HERALD_ERROR_TEMP);
	g_assert_nonnull(strstr(err->message, "did not answer in HTTP"));
	g_assert_nonnull(strstr(err->message, "SSH-2.0"));
	g_assert_cmpuint(rp.status, ==, 0);
	g_clear_error(&err);
	g_assert_false(exchange(AF_INET, "127.0.0.1:%d", NULL, &rp, rq, &err));
	g_assert_error(err, HERALD_ERROR, HERALD_ERROR_TEMP);
	g_assert_false(rp.refused);
	g_clear_error(&err);
}

static void
test_refused(void)
{
	g_autofree char *listen = NULL;
	struct probe_reply rp;
	GError *err = NULL;
	int port, fd = listener(AF_INET, &port);

	close(fd);	/* nothing listens there now */
	listen = g_strdup_printf("127.0.0.1:%d", port);
	g_assert_false(probe_post(listen, "h", "/", "text/plain", "", 5000, &rp,
	    &err));
	g_assert_error(err, HERALD_ERROR, HERALD_ERROR_TEMP);
	g_assert_true(rp.refused);
	g_assert_nonnull(strstr(err->message, listen));
	g_clear_error(&err);
}

/* a server that takes the connection (the kernel's backlog) and never
 * answers: the deadline ends it */
static void
test_timeout(void)
{
	g_autofree char *listen = NULL;
	struct probe_reply rp;
	GError *err = NULL;
	int port, fd = listener(AF_INET, &port);

	listen = g_strdup_printf("127.0.0.1:%d", port);
	g_assert_false(probe_post(listen, "h", "/", "text/plain", "x", 300, &rp,
	    &err));
	g_assert_error(err, HERALD_ERROR, HERALD_ERROR_TEMP);
	g_assert_nonnull(strstr(err->message, "timed out"));
	g_assert_false(rp.refused);
	g_clear_error(&err);
	close(fd);
}

static void
test_bad_listen(void)
{
	static const char *const bad[] = { "localhost:8025", "127.0.0.1",
	    "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:80x",
	    "[::1]8025", "[::1", "", "1.2.3.4:123456" };
	struct probe_reply rp;
	GError *err = NULL;
	guint i;

	for (i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_assert_false(probe_post(bad[i], "h", "/", "text/plain", "", 100,
		    &rp, &err));
		g_assert_error(err, HERALD_ERROR, HERALD_ERROR_USAGE);
		g_clear_error(&err);
	}
	g_assert_false(probe_post(NULL, "h", "/", "text/plain", "", 100, &rp,
	    &err));
	g_assert_error(err, HERALD_ERROR, HERALD_ERROR_USAGE);
	g_clear_error(&err);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/probe/post", test_post);
	g_test_add_func("/probe/status", test_status);
	g_test_add_func("/probe/wildcard", test_wildcard);
	g_test_add_func("/probe/ipv6", test_ipv6);
	g_test_add_func("/probe/not-http", test_not_http);
	g_test_add_func("/probe/refused", test_refused);
	g_test_add_func("/probe/timeout", test_timeout);
	g_test_add_func("/probe/bad-listen", test_bad_listen);
	return g_test_run();
}
