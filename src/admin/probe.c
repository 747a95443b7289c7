/*
 * probe.c - herald doctor's HTTP client (see probe.h for what must stay
 * true): a non-blocking socket, poll() against one deadline for connect,
 * send and receive, one HTTP/1.1 request with Connection: close, and the
 * answer read to its end (so the server is not reset mid-answer) and cut
 * to its status line.
 *
 * Plain sockets rather than GIO's GSocketClient: ./herald links GIO
 * statically, and GSocketClient's proxy lookup would load GIO's modules
 * (built against the shared GLib) into the process.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "herald.h"
#include "probe.h"
#include "listen_addr.h"

#define PROBE_MAX_ANSWER (1 << 20)	/* bytes of an answer read at most */

/* probe_sockaddr - LISTEN as listen_addr_parse reads it for herald serve,
 * with port 0 refused and a wildcard ADDR made the loopback of its family */
static gboolean
probe_sockaddr(const char *listen, struct sockaddr_storage *ss,
    socklen_t *sslen, GError **error)
{
	if (!listen_addr_parse(listen, ss, sslen, error))
		return FALSE;
	if (ss->ss_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		if (in->sin_port == 0)
			goto port0;
		if (in->sin_addr.s_addr == htonl(INADDR_ANY))
			in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	} else if (ss->ss_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

		if (in6->sin6_port == 0)
			goto port0;
		if (IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr))
			in6->sin6_addr = in6addr_loopback;
	}
	return TRUE;
port0:
	g_set_error(error, HERALD_ERROR, HERALD_ERROR_USAGE,
	    "listen address \"%s\" has port 0: nothing can be probed there",
	    listen);
	return FALSE;
}

/* probe_wait - until FD is ready for EVENTS, or DEADLINE (monotonic
 * microseconds) passes: then a TEMP error saying what timed out */
static gboolean
probe_wait(int fd, short events, gint64 deadline, const char *listen,
    const char *what, GError **error)
{
	struct pollfd p = { fd, events, 0 };
	gint64 left;
	int n;

	for (;;) {
		left = (deadline - g_get_monotonic_time() + 999) / 1000;
		if (left <= 0)
			break;
		n = poll(&p, 1, (int)MIN(left, G_MAXINT));
		if (n > 0)
			return TRUE;
		if (n < 0 && errno != EINTR) {
			g_set_error(error, HERALD_ERROR, HERALD_ERROR_TEMP,
			    "poll: %s", g_strerror(errno));
			return FALSE;
		}
	}
	g_set_error(error, HERALD_ERROR, HERALD_ERROR_TEMP,
	    "%s %s: timed out", what, listen);
	return FALSE;
}

/* probe_connect - a connected socket to SS, or -1 and an error */
static int
probe_connect(const struct sockaddr_storage *ss, socklen_t sslen,
    const char *listen, gint64 deadline, struct probe_reply *reply,
    GError **error)
{
	int fd, e = 0;
	socklen_t elen = sizeof e;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd < 0) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_TEMP, "socket: %s",
		    g_strerror(errno));
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)ss, sslen) != 0) {
		if (errno != EINPROGRESS)
			e = errno;
		else if (!probe_wait(fd, POLLOUT, deadline, listen, "connect to",
		    error)) {
			close(fd);
			return -1;
		} else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) != 0)
			e = errno;
	}
	if (e != 0) {
		reply->refused = e == ECONNREFUSED;
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_TEMP,
		    "connect to %s: %s", listen, g_strerror(e));
		close(fd);
		return -1;
	}
	return fd;
}

/* probe_status - the status line at the start of IN into REPLY */
static gboolean
probe_status(const GString *in, const char *listen, struct probe_reply *reply,
    GError **error)
{
	const char *p = in->str, *eol = strstr(p, "\r\n");
	g_autofree char *first = NULL;
	gsize n;

	if (in->len == 0) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_TEMP,
		    "%s closed the connection without an answer", listen);
		return FALSE;
	}
	if (eol != NULL && g_str_has_prefix(p, "HTTP/1.") &&
	    g_ascii_isdigit(p[7]) && p[8] == ' ' && g_ascii_isdigit(p[9]) &&
	    g_ascii_isdigit(p[10]) && g_ascii_isdigit(p[11]) &&
	    (p[12] == ' ' || p + 12 == eol)) {
		reply->status = (unsigned)((p[9] - '0') * 100 + (p[10] - '0') * 10 +
		    (p[11] - '0'));
		n = p + 12 == eol ? 0 : (gsize)(eol - (p + 13));
		n = MIN(n, sizeof reply->reason - 1);
		if (n > 0)
			memcpy(reply->reason, p + 13, n);
		reply->reason[n] = '\0';
		return TRUE;
	}
	first = g_strndup(p, MIN(strcspn(p, "\r\n"), 40));
	g_strcanon(first, " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRS"
	    "TUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~", '?');
	g_set_error(error, HERALD_ERROR, HERALD_ERROR_TEMP,
	    "%s did not answer in HTTP: \"%s\"", listen, first);
	return FALSE;
}

/* probe_post - see probe.h */
gboolean
probe_post(const char *listen, const char *host, const char *path,
    const char *content_type, const char *body, int timeout_ms,
    struct probe_reply *reply, GError **error)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	g_autoptr(GString) out = NULL, in = NULL;
	struct sockaddr_storage ss;
	socklen_t sslen;
	gsize done = 0;
	gboolean ok = FALSE;
	ssize_t n;
	int fd;

	memset(reply, 0, sizeof *reply);
	if (!probe_sockaddr(listen, &ss, &sslen, error) ||
	    (fd = probe_connect(&ss, sslen, listen, deadline, reply,
	    error)) < 0)
		return FALSE;
	out = g_string_new(NULL);
	g_string_printf(out, "POST %s HTTP/1.1\r\nHost: %s\r\n"
	    "User-Agent: herald-doctor\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", path, host,
	    content_type, strlen(body), body);
	while (done < out->len) {
		n = send(fd, out->str + done, out->len - done, MSG_NOSIGNAL);
		if (n >= 0)
			done += (gsize)n;
		else if (errno == EAGAIN || errno == EINTR) {
			if (!probe_wait(fd, POLLOUT, deadline, listen, "sending to",
			    error))
				goto out;
		} else {
			g_set_error(error, HERALD_ERROR, HERALD_ERROR_TEMP,
			    "sending to %s: %s", listen, g_strerror(errno));
			goto out;
		}
	}
	in = g_string_new(NULL);
	for (;;) {
		char buf[4096];

		n = recv(fd, buf, sizeof buf, 0);
		if (n > 0) {
			if (in->len < PROBE_MAX_ANSWER)
				g_string_append_len(in, buf, n);
			continue;
		}
		if (n == 0)
			break;
		if (errno == EAGAIN || errno == EINTR) {
			if (!probe_wait(fd, POLLIN, deadline, listen,
			    "waiting for the answer of", error))
				goto out;
			continue;
		}
		if (in->len > 0)
			break;	/* an answer, then a reset: the answer counts */
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_TEMP,
		    "reading from %s: %s", listen, g_strerror(errno));
		goto out;
	}
	ok = probe_status(in, listen, reply, error);
out:
	close(fd);
	return ok;
}
