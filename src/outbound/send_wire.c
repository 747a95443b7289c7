/*
 * send_wire.c - the process-wide write() and connect() that libesmtp
 * calls (the executable exports both: the Makefile's
 * --export-dynamic-symbol), and what they do for the SMTP session running
 * on the calling thread (send.c says when: send_wire_begin/end):
 * TCP_NODELAY on the session's socket; a message body's 2 KB writes
 * gathered into one; over DATA on a plain-text session, the body spliced
 * in after the head libesmtp wrote, dot-stuffed and CRLF-ended (see the
 * body splice in send.c's top comment). Outside a session, and on any
 * other socket, they are the C library's.
 *
 * A leaf of the outbound layer: it calls nothing of herald's, so a
 * module that writes a socket depends on it without depending on send.c.
 *
 * Must stay true: the state is per thread (one session a thread); a
 * flush that failed fails libesmtp's next write with the same errno;
 * TLS sessions are never gathered or spliced.
 */
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include "herald.h"
#include "send_wire.h"

static __thread gboolean send_in_session;	/* connect() sets TCP_NODELAY */
static __thread int send_fd = -1;	/* ... and notes the session's socket */
static __thread gboolean send_tls;	/* STARTTLS succeeded on it */
/* a message body's writes, gathered: see write() below */
static __thread GByteArray *send_gather;
static __thread gboolean send_gathering;
static __thread gboolean send_gather_last;	/* the next write ends it */
static __thread int send_gather_errno;	/* a failed flush, for the next write */
static __thread int send_timeout_ms;	/* the session's, for a flush */
/* the last command written was DATA (not BDAT): see send_splice_take() */
static __thread gboolean send_after_data;
/* the body to write after the head libesmtp wrote: see send_splice_put() */
static __thread const char *send_splice;
static __thread gsize send_splice_len;

/* the most a gathered body holds before it is written out */
#define SEND_GATHER_MAX	(256 * 1024)

/* send_real_write - the C library's write() */
static ssize_t
send_real_write(int fd, const void *buf, size_t len)
{
	static ssize_t (*real)(int, const void *, size_t);

	if (real == NULL)
		real = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT,
		    "write");
	if (real == NULL || real == write)
		return (ssize_t)syscall(SYS_write, fd, buf, len);
	return real(fd, buf, len);
}

/* send_gather_flush - write out what was gathered, all of it (waiting
 * for room if the socket is non-blocking); FALSE, with errno kept for
 * libesmtp's next write, if the connection failed */
static gboolean
send_gather_flush(void)
{
	gsize off = 0;

	while (send_gather != NULL && off < send_gather->len) {
		ssize_t n = send_real_write(send_fd, send_gather->data + off,
		    send_gather->len - off);

		if (n > 0)
			off += (gsize)n;
		else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd p = { send_fd, POLLOUT, 0 };

			if (poll(&p, 1, send_timeout_ms) <= 0) {
				send_gather_errno = ETIMEDOUT;
				break;
			}
		} else if (n < 0 && errno == EINTR)
			continue;
		else {
			send_gather_errno = n < 0 ? errno : EPIPE;
			break;
		}
	}
	if (send_gather != NULL)
		g_byte_array_set_size(send_gather, 0);
	return send_gather_errno == 0;
}

/* send_gather_begin, send_gather_end - libesmtp copies a message body
 * out in 2 KB writes, each a system call, a TCP segment and a wake-up of
 * the relay (8 for a 16 KB announcement); from the first call on they are
 * gathered. After the second (the body has ended), libesmtp's next write
 * is the last: what is left of the body and the terminating dot line,
 * which it always writes before it waits for the reply. That write joins
 * the rest and all of it goes out in one. Only on a plain-text session:
 * a TLS session's writes stay OpenSSL's business. */
static void
send_gather_begin(void)
{
	if (send_fd < 0 || send_tls)
		return;
	if (send_gather == NULL)
		send_gather = g_byte_array_sized_new(32 * 1024);
	send_gathering = TRUE;
}

/* send_gather_end - the next write is the last gathered (send_gather_begin) */
static void
send_gather_end(void)
{
	if (send_gathering)
		send_gather_last = TRUE;
}

/* send_socket_reset - forget the session's socket: FD (or -1) is the
 * one to watch now, with nothing gathered and no failure pending */
static void
send_socket_reset(int fd)
{
	send_fd = fd;
	send_tls = FALSE;
	send_gathering = send_gather_last = FALSE;
	send_gather_errno = 0;
	send_after_data = FALSE;
	send_splice = NULL;
}

/* send_is_data_cmd - BUF (one write of libesmtp's commands, pipelined
 * ones together) ends with the DATA command */
static gboolean
send_is_data_cmd(const char *buf, size_t len)
{
	return len >= 6 && memcmp(buf + len - 6, "DATA\r\n", 6) == 0 &&
	    (len == 6 || buf[len - 7] == '\n');
}

/* send_splice_take - of a message about to be copied out after DATA's
 * 354, what libesmtp should see: the head through the blank line (it
 * reads every header line, its business), and the body kept back for
 * send_splice_put(), which writes it as it stands instead of libesmtp
 * copying it byte by byte (about 20 instructions a byte, some 283,000
 * for a 16 KB announcement, most of herald's work per message; see the
 * relay benchmark in doc/design/performance.md). Only over DATA on a
 * plain-text, gathered session: BDAT counts the bytes of its chunks, so
 * there libesmtp writes everything itself, as it does on TLS. Returns
 * the length libesmtp gets. */
static gsize
send_splice_take(const char *data, gsize size)
{
	const char *end;

	send_splice = NULL;
	if (!send_gathering || !send_after_data)
		return size;
	end = g_strstr_len(data, (gssize)size, "\r\n\r\n");
	if (end == NULL || (gsize)(end + 4 - data) == size)
		return size;
	send_splice = end + 4;
	send_splice_len = size - (gsize)(send_splice - data);
	return (gsize)(send_splice - data);
}

/* send_splice_put - append the kept-back body to what is gathered, as
 * the DATA wire wants it: a line that starts with a dot gets another,
 * every line ends in CRLF (a bare LF becomes one), the last one too.
 * The body is copied in runs between the places that need a change (none
 * in what compose.c writes: CRLF lines, and quoted-printable has no dot
 * at a line's start), one memchr() a line. FALSE if a flush failed. */
static gboolean
send_splice_put(void)
{
	const char *p = send_splice, *end = send_splice + send_splice_len;
	const char *run = p;	/* copied as it is, up to p */

	send_splice = NULL;
	while (p < end) {
		const char *nl = memchr(p, '\n', (gsize)(end - p));

		if (*p == '.') {
			g_byte_array_append(send_gather, (const guint8 *)run,
			    (guint)(p - run));
			g_byte_array_append(send_gather, (const guint8 *)".", 1);
			run = p;
		}
		if (nl == NULL) {	/* a last line with no line end */
			g_byte_array_append(send_gather, (const guint8 *)run,
			    (guint)(end - run));
			g_byte_array_append(send_gather, (const guint8 *)
			    (end[-1] == '\r' ? "\n" : "\r\n"),
			    end[-1] == '\r' ? 1 : 2);
			return send_gather->len <= SEND_GATHER_MAX ||
			    send_gather_flush();
		}
		if (nl == p || nl[-1] != '\r') {	/* a bare LF */
			g_byte_array_append(send_gather, (const guint8 *)run,
			    (guint)(nl - run));
			g_byte_array_append(send_gather, (const guint8 *)"\r\n",
			    2);
			run = nl + 1;
		}
		p = nl + 1;
		if (send_gather->len + (gsize)(p - run) > SEND_GATHER_MAX) {
			g_byte_array_append(send_gather, (const guint8 *)run,
			    (guint)(p - run));
			run = p;
			if (!send_gather_flush())
				return FALSE;
		}
	}
	g_byte_array_append(send_gather, (const guint8 *)run, (guint)(p - run));
	return TRUE;
}

/* send_gather_write - add one of libesmtp's writes to what is gathered
 * (its last one gets the kept-back body spliced in before the end of
 * DATA, send_splice_put) and flush when full or at the last write.
 * FALSE, with send_gather_errno set, if the write must fail. */
static gboolean
send_gather_write(const void *buf, size_t len)
{
	if (send_gather->len + len > SEND_GATHER_MAX && !send_gather_flush())
		return FALSE;
	if (send_gather_last && send_splice != NULL) {
		/* libesmtp's last write: the rest of the head, then the end
		 * of DATA; the body goes between */
		if (len < 3 ||
		    memcmp((const char *)buf + len - 3, ".\r\n", 3) != 0) {
			send_gather_errno = EPROTO;
			return FALSE;
		}
		g_byte_array_append(send_gather, buf, (guint)len - 3);
		if (!send_splice_put())
			return FALSE;
		g_byte_array_append(send_gather, (const guint8 *)".\r\n", 3);
	} else
		g_byte_array_append(send_gather, buf, (guint)len);
	if (send_gather_last) {
		send_gathering = send_gather_last = FALSE;
		return send_gather_flush();
	}
	return TRUE;
}

/* write - the C library's, except that a session's body writes are
 * gathered (send_gather_begin); this executable exports it so that
 * libesmtp's calls come here. A flush that failed fails the next write. */
ssize_t
write(int fd, const void *buf, size_t len)
{
	if (G_UNLIKELY(send_in_session) && fd == send_fd && fd >= 0) {
		if (send_gather_errno == 0 && send_gathering &&
		    send_gather_write(buf, len))
			return (ssize_t)len;
		if (send_gather_errno != 0) {	/* failed now or before */
			errno = send_gather_errno;
			return -1;
		}
		if (!send_tls)
			send_after_data = send_is_data_cmd(buf, len);
	}
	return send_real_write(fd, buf, len);
}

/* connect - the C library's, plus TCP_NODELAY on a session's socket */
int
connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	static int (*real)(int, const struct sockaddr *, socklen_t);
	int one = 1;

	if (send_in_session && sa != NULL &&
	    (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)) {
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		send_socket_reset(fd);
	}
	if (real == NULL)
		real = (int (*)(int, const struct sockaddr *, socklen_t))
		    dlsym(RTLD_NEXT, "connect");
	if (real == NULL || real == connect)
		return (int)syscall(SYS_connect, fd, sa, len);
	return real(fd, sa, len);
}

/* send_wire_begin - a session starts on this thread: its socket (the
 * next connect()) gets TCP_NODELAY and its body writes are gathered;
 * TIMEOUT_MS bounds a flush */
void
send_wire_begin(int timeout_ms)
{
	send_in_session = TRUE;
	send_socket_reset(-1);
	send_timeout_ms = timeout_ms;
}

/* send_wire_end - the session is over: write() and connect() are the C
 * library's again on this thread */
void
send_wire_end(void)
{
	send_in_session = FALSE;
	send_socket_reset(-1);
	g_clear_pointer(&send_gather, g_byte_array_unref);
}

/* send_wire_tls - STARTTLS succeeded: nothing more is gathered */
void
send_wire_tls(void)
{
	send_tls = TRUE;
}

/* send_wire_body - a message's bytes are about to be copied out: gather
 * from here on, and return how many of DATA's libesmtp should write (the
 * head only, when the body is spliced: send_splice_take) */
gsize
send_wire_body(const char *data, gsize size)
{
	send_gather_begin();
	return send_splice_take(data, size);
}

/* send_wire_body_end - the message's bytes are over: libesmtp's next
 * write is the last gathered */
void
send_wire_body_end(void)
{
	send_gather_end();
}

/* send_wire_hang_up - QUIT (on a plain-text session) and shut the
 * session's socket, so libesmtp's next command fails to go out */
void
send_wire_hang_up(void)
{
	if (send_fd < 0)
		return;
	if (!send_tls)
		(void)send_real_write(send_fd, "QUIT\r\n", 6);
	shutdown(send_fd, SHUT_RDWR);
}
