/*
 * send.c - SMTP sessions through libesmtp.
 *
 * One session is one connection carrying a batch of messages. libesmtp
 * drives the protocol (EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA, with
 * PIPELINING when offered); we hand each message its bytes through a
 * message callback, and read the outcome of every recipient twice over:
 * on SMTP_EV_MESSAGESENT (the final DATA reply), so a caller can commit
 * accepted messages while the session goes on, and after
 * smtp_start_session() returns, for every message not reported yet. The
 * return value of smtp_start_session() only says whether the protocol
 * ran; it is never taken as a result.
 *
 * Feeding one message at a time: libesmtp walks the session's messages
 * and skips any that has no recipient left to do. Every message is
 * added to the session without recipients, and a message gets its
 * recipients ("armed", send_arm_after) only once the one before it is
 * over: at its final DATA reply (SMTP_EV_MESSAGESENT comes before
 * libesmtp looks for the next message), or as soon as it cannot be sent
 * (a refused MAIL FROM, every RCPT refused: the events come before the
 * look). Arming is where the rate limits wait (a wait a stop wakes),
 * where sender_stop() and a SEND_HALT reply end the feeding, and where
 * the caller's admit callback has the last word. What is never armed is
 * never sent. Should libesmtp move on without us (it finds no armed
 * message and QUITs, e.g. after DATA itself was refused), a fresh
 * session carries the rest.
 *
 * AUTH: libesmtp goes on with MAIL FROM, unauthenticated, after a
 * refused AUTH. With smtp.user set, its protocol monitor watches the
 * AUTH exchange, and a MAIL FROM about to leave a session that has not
 * authenticated is stopped there: the socket is shut (after a QUIT on a
 * plain-text session) before the command is written, and the message
 * ends at stage "auth" with the relay's refusal. Once a session is
 * blocked, no reply libesmtp reads counts: the relay's 221 to that QUIT
 * may already be waiting when libesmtp reads for its MAIL FROM, and it
 * takes it for the reply.
 *
 * TLS: "when-offered" is opportunistic (RFC 7435): encrypt when the relay
 * offers STARTTLS, accept any certificate. "required" quits before MAIL
 * unless STARTTLS succeeds with a certificate that verifies against the
 * system's trust store (OpenSSL's default paths, so SSL_CERT_FILE and
 * SSL_CERT_DIR apply) and names the relay's host. herald hands libesmtp
 * its own TLS context, capped at TLS 1.2: libesmtp 1.1 reads a TLS 1.3
 * session ticket that arrives after the handshake as a dropped connection
 * (seen about one session in three against aiosmtpd; t0402 catches it).
 *
 * Latency: libesmtp writes a message in 2 KB pieces and offers no way to
 * reach its socket, so with Nagle's algorithm the last piece of every
 * message waits for the relay's delayed ACK (40 ms on Linux): about 25
 * messages a second per connection. This file therefore defines connect()
 * for the process: while a thread is inside a session (a thread-local
 * flag), a TCP socket it connects gets TCP_NODELAY; every other connect()
 * goes straight to the C library's. That alone leaves every 2 KB write
 * a system call, a packet and a wake-up of the relay (8 for a 16 KB
 * announcement), so write() is defined here too: from the moment
 * libesmtp asks for a message's body (after the relay's 354) to its
 * first write after it has read the end (the final dot line, before it
 * waits for the reply), its writes on the session's socket are gathered
 * and go out in one; a failed write-out fails libesmtp's write, so the
 * message ends as a dropped connection would. Never on a TLS session.
 *
 * Body splice: libesmtp copies a body out one byte at a time (about 20
 * instructions a byte, half of herald's work per 16 KB message). Over
 * DATA, on a gathered (plain-text) session, libesmtp is handed the head
 * only, through the blank line; at its last write (the rest of the head
 * and the ".\r\n" that ends DATA) send.c puts the body in between,
 * dot-stuffed and CRLF-ended as DATA wants it. Over BDAT (libesmtp uses
 * it when the relay offers CHUNKING, as Postfix does) the chunk sizes are
 * libesmtp's, so there, as on TLS, libesmtp writes the whole message.
 * Which one a message goes by: the command written last before libesmtp
 * asks for the body was DATA. t0407 checks both on the wire.
 *
 * Loading: libesmtp and OpenSSL are opened with dlopen() by send_init(),
 * not linked: the process most often started, one "herald pipe" per
 * inbound message, usually sends nothing, and resolving their symbols at
 * start-up (BIND_NOW) cost it about a millisecond. Below the includes,
 * every libesmtp and OpenSSL function this file calls is a macro for a
 * pointer filled in from the library (SEND_LIB_FUNCS lists them; the
 * headers' own macros end in listed ones: SSL_CTX_set_min_proto_version in
 * SSL_CTX_ctrl, smtp_set_message_str in _smtp_message_str_cb).
 * The executable must export connect() and write() (the Makefile's
 * --export-dynamic-symbol) for libesmtp to get ours.
 *
 * Greeting: smtp.helo when set, else the host's fully qualified name
 * (host_name.c), else the domain of the session's first envelope sender
 * (LIST-bounces@DOMAIN), never libesmtp's default, the bare host name.
 *
 * Must stay true: nothing here prints or exits; every recipient handed in
 * comes back with a code, a reply and an outcome.
 */
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <openssl/ssl.h>
#include <auth-client.h>
#include <libesmtp.h>

#include "host_name.h"
#include "herald.h"
#include "dl_lib.h"
#include "send.h"
#include "send_wire.h"

#ifndef SEND_ESMTP_SONAME
#define SEND_ESMTP_SONAME	"libesmtp.so.6"
#endif
#ifndef SEND_SSL_SONAME
#define SEND_SSL_SONAME		"libssl.so.3"
#endif

/* the functions taken from libesmtp (E) and from OpenSSL's libssl (S) */
#define SEND_LIB_FUNCS(E, S) \
	E(auth_client_init) E(auth_create_context) E(auth_destroy_context) \
	E(auth_set_interact_cb) E(auth_set_mechanism_flags) \
	E(smtp_add_message) E(smtp_add_recipient) E(smtp_auth_set_context) \
	E(smtp_create_session) E(smtp_destroy_session) E(smtp_errno) \
	E(smtp_message_get_application_data) \
	E(smtp_message_set_application_data_release) \
	E(smtp_message_transfer_status) E(smtp_recipient_status) \
	E(smtp_recipient_get_application_data) \
	E(smtp_recipient_set_application_data_release) E(smtp_set_monitorcb) \
	E(smtp_reverse_path_status) E(smtp_set_eventcb) E(smtp_set_hostname) \
	E(_smtp_message_str_cb) E(smtp_set_messagecb) \
	E(smtp_set_reverse_path) E(smtp_set_server) E(smtp_set_timeout) \
	E(smtp_start_session) E(smtp_starttls_enable) \
	E(smtp_starttls_set_ctx) E(smtp_strerror) E(smtp_version) \
	S(SSL_CTX_free) S(SSL_CTX_new) S(SSL_CTX_set_default_verify_paths) \
	S(SSL_CTX_ctrl) S(TLS_client_method)

#define SEND_LIB_PTR(f)	__typeof__(f) *f;
static struct {
	SEND_LIB_FUNCS(SEND_LIB_PTR, SEND_LIB_PTR)
	char *error;		/* why they could not be loaded, or NULL */
} send_lib;
#undef SEND_LIB_PTR

/* send_lib_load - open libesmtp and libssl and find every function of
 * SEND_LIB_FUNCS; FALSE with send_lib.error set when one is missing */
static gboolean
send_lib_load(void)
{
	static const char *const sonames[] = { SEND_ESMTP_SONAME,
	    SEND_SSL_SONAME, NULL };
#define SEND_LIB_E(f)	{ #f, 0, (void **)&send_lib.f },
#define SEND_LIB_S(f)	{ #f, 1, (void **)&send_lib.f },
	static const struct dl_sym syms[] = {
		SEND_LIB_FUNCS(SEND_LIB_E, SEND_LIB_S)
	};
#undef SEND_LIB_S
#undef SEND_LIB_E

	send_lib.error = dl_lib_load(sonames, 2, syms, G_N_ELEMENTS(syms));
	return send_lib.error == NULL;
}

/* from here on, every call goes through the pointers */
#define auth_client_init		(*send_lib.auth_client_init)
#define auth_create_context		(*send_lib.auth_create_context)
#define auth_destroy_context		(*send_lib.auth_destroy_context)
#define auth_set_interact_cb		(*send_lib.auth_set_interact_cb)
#define auth_set_mechanism_flags	(*send_lib.auth_set_mechanism_flags)
#define smtp_add_message		(*send_lib.smtp_add_message)
#define smtp_add_recipient		(*send_lib.smtp_add_recipient)
#define smtp_auth_set_context		(*send_lib.smtp_auth_set_context)
#define smtp_create_session		(*send_lib.smtp_create_session)
#define smtp_destroy_session		(*send_lib.smtp_destroy_session)
#define smtp_errno			(*send_lib.smtp_errno)
#define smtp_message_get_application_data \
	(*send_lib.smtp_message_get_application_data)
#define smtp_message_set_application_data_release \
	(*send_lib.smtp_message_set_application_data_release)
#define smtp_message_transfer_status	(*send_lib.smtp_message_transfer_status)
#define smtp_recipient_status		(*send_lib.smtp_recipient_status)
#define smtp_recipient_get_application_data \
	(*send_lib.smtp_recipient_get_application_data)
#define smtp_recipient_set_application_data_release \
	(*send_lib.smtp_recipient_set_application_data_release)
#define smtp_set_monitorcb		(*send_lib.smtp_set_monitorcb)
#define smtp_reverse_path_status	(*send_lib.smtp_reverse_path_status)
#define smtp_set_eventcb		(*send_lib.smtp_set_eventcb)
#define smtp_set_hostname		(*send_lib.smtp_set_hostname)
#define _smtp_message_str_cb		(*send_lib._smtp_message_str_cb)
#define smtp_set_messagecb		(*send_lib.smtp_set_messagecb)
#define smtp_set_reverse_path		(*send_lib.smtp_set_reverse_path)
#define smtp_set_server			(*send_lib.smtp_set_server)
#define smtp_set_timeout		(*send_lib.smtp_set_timeout)
#define smtp_start_session		(*send_lib.smtp_start_session)
#define smtp_starttls_enable		(*send_lib.smtp_starttls_enable)
#define smtp_starttls_set_ctx		(*send_lib.smtp_starttls_set_ctx)
#define smtp_strerror			(*send_lib.smtp_strerror)
#define smtp_version			(*send_lib.smtp_version)
#define SSL_CTX_free			(*send_lib.SSL_CTX_free)
#define SSL_CTX_new			(*send_lib.SSL_CTX_new)
#define SSL_CTX_set_default_verify_paths \
	(*send_lib.SSL_CTX_set_default_verify_paths)
#define SSL_CTX_ctrl			(*send_lib.SSL_CTX_ctrl)
#define TLS_client_method		(*send_lib.TLS_client_method)


/* a token bucket of one: the next instant (monotonic µs) a message may go */
struct send_pace {
	gint64 next;
	gint64 interval;	/* µs between messages, 0: no limit */
};

struct sender {
	char *server;		/* host:port */
	char *host;
	char *helo;
	enum starttls_mode starttls;
	char *user;
	char *password;
	long timeout_ms;
	SSL_CTX *tls;		/* NULL when smtp.starttls is off */
	GMutex lock;		/* guards the paces; with stop_cond, the stop */
	GCond stop_cond;	/* broadcast by sender_stop() */
	gint stopped;		/* atomic: sender_stop() was called */
	struct send_pace global;
	gint64 domain_interval;
	GHashTable *domains;	/* lowercased domain -> struct send_pace * */
};

struct send_source;

/* what one libesmtp session needs in its callbacks */
struct send_session {
	struct sender *sender;
	send_admit_fn admit;
	send_report_fn report;
	gpointer data;
	struct send_source *srcs;	/* its messages */
	guint n;
	guint next;		/* the first one neither armed nor left out */
	int last;		/* the last one armed, -1 none */
	gboolean connected;
	gboolean halted;	/* a SEND_HALT reply: arm nothing more */
	char *problem;		/* why the session ended early, if we know */
	/* AUTH, as the protocol monitor saw it (smtp.user set) */
	gboolean auth_pending;	/* an AUTH command waits for its verdict */
	gboolean authenticated;
	gboolean auth_blocked;	/* a MAIL FROM was stopped: not authenticated */
	int auth_code;		/* the last refusal of AUTH, 0: none */
	char *auth_reply;
};

/* one message of a session; what the message callback reads from */
struct send_source {
	struct send_session *session;
	struct send_message *msg;
	smtp_message_t m;
	smtp_recipient_t *rs;	/* libesmtp's recipients, in msg->rcpts order */
	gboolean armed;		/* it has its recipients: libesmtp sends it */
	guint rcpt_seen, rcpt_ok;	/* RCPT replies so far, and 2xx ones */
};


static const char *const send_stage_names[] = {
	[SEND_STAGE_CONNECT] = "connect",
	[SEND_STAGE_AUTH] = "auth",
	[SEND_STAGE_MAIL] = "mail",
	[SEND_STAGE_RCPT] = "rcpt",
	[SEND_STAGE_DATA] = "data",
};

/* send_stage_name - the stage's name, as deliveries.stage keeps it */
const char *
send_stage_name(enum send_stage stage)
{
	return send_stage_names[stage];
}

/* send_rcpt_free - free one recipient's result */
static void
send_rcpt_free(gpointer p)
{
	struct send_rcpt *r = p;

	g_free(r->address);
	g_free(r->reply);
	g_free(r);
}

/* send_message_new - a message with no recipients yet */
struct send_message *
send_message_new(gint64 id, const char *envelope_from, GBytes *body)
{
	struct send_message *msg = g_new0(struct send_message, 1);

	msg->id = id;
	msg->envelope_from = g_strdup(envelope_from);
	msg->body = g_bytes_ref(body);
	msg->rcpts = g_ptr_array_new_with_free_func(send_rcpt_free);
	return msg;
}

/* send_message_add_rcpt - one more recipient */
void
send_message_add_rcpt(struct send_message *msg, const char *address)
{
	struct send_rcpt *r = g_new0(struct send_rcpt, 1);

	r->address = g_strdup(address);
	r->outcome = SEND_TEMP;
	g_ptr_array_add(msg->rcpts, r);
}

/* send_message_free - free MSG */
void
send_message_free(struct send_message *msg)
{
	if (msg == NULL)
		return;
	g_free(msg->envelope_from);
	g_bytes_unref(msg->body);
	g_ptr_array_unref(msg->rcpts);
	g_free(msg);
}

/* send_result_clear - free what send_one put in RESULT */
void
send_result_clear(struct send_result *result)
{
	if (result != NULL && result->rcpts != NULL)
		g_clear_pointer(&result->rcpts, g_ptr_array_unref);
}

/* send_clean_text - a reply text on one line, without trailing space */
static char *
send_clean_text(const char *text)
{
	char *s = g_strdup(text != NULL ? text : "");
	char *p;

	for (p = s; *p != '\0'; p++)
		if (*p == '\r' || *p == '\n' || *p == '\t')
			*p = ' ';
	return g_strchomp(s);
}

/* send_outcome_of - the outcome a reply code means */
static enum send_outcome
send_outcome_of(int code)
{
	if (code >= 200 && code < 300)
		return SEND_OK;
	if (code >= 500 && code < 600)
		return SEND_PERM;
	return SEND_TEMP;
}

/* send_enhanced - the reply's enhanced status code (RFC 3463) as
 * CLASS.SUBJECT.DETAIL: libesmtp parses it when the relay announced
 * ENHANCEDSTATUSCODES, otherwise it leads the text, if anywhere */
static gboolean
send_enhanced(const smtp_status_t *st, int *subject, int *detail)
{
	int c;

	if (st->enh_class != 0) {
		*subject = st->enh_subject;
		*detail = st->enh_detail;
		return TRUE;
	}
	return st->text != NULL &&
	    sscanf(st->text, "%d.%d.%d", &c, subject, detail) == 3 &&
	    (c == 4 || c == 5);
}

/* send_blames_session - is a refusal at RCPT or DATA about the sender or
 * the session rather than the recipient? 530 (authentication required);
 * the enhanced codes for the sender's address (X.1.7, X.1.8, X.7.27)
 * and for authentication (X.7.8, X.7.9, X.7.11); and the words relays
 * use for it. Postfix's "Recipient address rejected: User unknown in
 * relay recipient table" is about the recipient, so "relay" alone does
 * not count: the phrases do. (At MAIL FROM every 5xx is about the
 * sender: send_classify.) */
static gboolean
send_blames_session(const smtp_status_t *st)
{
	static const char *const phrases[] = { "relay access denied",
	    "relaying denied", "relay denied", "unable to relay",
	    "not permitted to relay", "relaying not permitted",
	    "relay not permitted", "relaying not allowed", "do not relay",
	    "authentication required", "sender address rejected",
	    "client host rejected", "helo command rejected",
	    "sender rejected" };
	g_autofree char *low = NULL;
	int subject, detail;
	guint i;

	if (st->code == 530)
		return TRUE;
	if (st->code / 100 != 5)
		return FALSE;
	if (send_enhanced(st, &subject, &detail) &&
	    ((subject == 1 && (detail == 7 || detail == 8)) ||
	    (subject == 7 && (detail == 8 || detail == 9 || detail == 11 ||
	    detail == 27))))
		return TRUE;
	if (st->text == NULL)
		return FALSE;
	low = g_ascii_strdown(st->text, -1);
	for (i = 0; i < G_N_ELEMENTS(phrases); i++)
		if (strstr(low, phrases[i]) != NULL)
			return TRUE;
	return FALSE;
}

/* send_rcpt_set - one recipient's result */
static void
send_rcpt_set(struct send_rcpt *r, enum send_stage stage, int code,
    const char *reply, enum send_outcome outcome)
{
	g_free(r->reply);
	r->reply = send_clean_text(reply);
	r->code = code;
	r->stage = stage;
	r->outcome = outcome;
}

/* send_auth_result - a message stopped before its MAIL FROM because the
 * session had not authenticated: the relay's refusal of AUTH (a 4xx is
 * temporary, anything else halts), or why there was none */
static void
send_auth_result(struct send_session *ss, struct send_rcpt *r)
{
	g_autofree char *why = NULL;

	if (ss->auth_code == 0)
		why = g_strdup_printf("the relay %s did not accept AUTH "
		    "(smtp.user is set, so nothing is sent unauthenticated)",
		    ss->sender->server);
	send_rcpt_set(r, SEND_STAGE_AUTH, ss->auth_code, why != NULL ? why :
	    ss->auth_reply, ss->auth_code / 100 == 4 ? SEND_TEMP : SEND_HALT);
}

/* send_classify - fill in every recipient of MSG from libesmtp's statuses:
 * sent needs a 2xx to RCPT and to the end of DATA; otherwise the first
 * refusal (MAIL, RCPT, DATA) decides; no reply at all is temporary. A
 * 5xx at MAIL FROM, and a 5xx at RCPT or DATA that blames the sender or
 * the session (send_blames_session), is SEND_HALT. */
static void
send_classify(struct send_session *ss, struct send_message *msg,
    smtp_message_t m, smtp_recipient_t *rs)
{
	static const smtp_status_t none;
	const smtp_status_t *from = smtp_reverse_path_status(m);
	const smtp_status_t *data = smtp_message_transfer_status(m);
	guint i;

	for (i = 0; i < msg->rcpts->len; i++) {
		struct send_rcpt *r = g_ptr_array_index(msg->rcpts, i);
		const smtp_status_t *rc = rs[i] != NULL ?
		    smtp_recipient_status(rs[i]) : &none;
		const smtp_status_t *use = NULL;
		enum send_outcome outcome;

		/* a blocked session wrote no MAIL FROM at all, whatever
		 * libesmtp read for it (the relay's 221 to our QUIT can be
		 * waiting there, and would pass for a 2xx to MAIL FROM) */
		if (ss->auth_blocked) {
			send_auth_result(ss, r);
			continue;
		}
		g_clear_pointer(&r->reply, g_free);
		if (rc->code / 100 == 2 && data->code / 100 == 2) {
			use = data;
			r->stage = SEND_STAGE_DATA;
		} else if (from->code / 100 == 4 || from->code / 100 == 5) {
			use = from;
			r->stage = SEND_STAGE_MAIL;
		} else if (rc->code / 100 == 4 || rc->code / 100 == 5) {
			use = rc;
			r->stage = SEND_STAGE_RCPT;
		} else if (data->code / 100 == 4 || data->code / 100 == 5) {
			use = data;
			r->stage = SEND_STAGE_DATA;
		}
		if (use != NULL) {
			outcome = send_outcome_of(use->code);
			if (outcome == SEND_PERM && (r->stage == SEND_STAGE_MAIL ||
			    send_blames_session(use)))
				outcome = SEND_HALT;
			send_rcpt_set(r, r->stage, use->code, use->text, outcome);
			continue;
		}
		/* no usable reply: the connection failed somewhere */
		r->code = 0;
		r->outcome = SEND_TEMP;
		r->stage = rc->code / 100 == 2 ? SEND_STAGE_DATA :
		    from->code / 100 == 2 ? SEND_STAGE_RCPT :
		    SEND_STAGE_CONNECT;
		if (ss->problem != NULL) {
			r->reply = g_strdup(ss->problem);
		} else {
			char buf[256];
			int err = smtp_errno();

			r->reply = g_strdup_printf("no reply from the relay%s%s",
			    err != 0 ? ": " : "", err != 0 ?
			    smtp_strerror(err, buf, sizeof buf) : "");
		}
	}
}

/* send_halts - does MSG's result halt the session? */
static gboolean
send_halts(const struct send_message *msg)
{
	guint i;

	for (i = 0; i < msg->rcpts->len; i++)
		if (((struct send_rcpt *)g_ptr_array_index(msg->rcpts,
		    i))->outcome == SEND_HALT)
			return TRUE;
	return FALSE;
}

/* send_answered - did the relay reply to every recipient of MSG (a
 * reported message), rather than the connection failing under it? */
static gboolean
send_answered(const struct send_message *msg)
{
	guint i;

	for (i = 0; i < msg->rcpts->len; i++)
		if (((struct send_rcpt *)g_ptr_array_index(msg->rcpts,
		    i))->code == 0)
			return FALSE;
	return TRUE;
}

/* send_report - classify SRC's message and hand it to the caller, once */
static void
send_report(struct send_source *src)
{
	struct send_session *ss = src->session;

	if (src->msg->reported)
		return;
	send_classify(ss, src->msg, src->m, src->rs);
	src->msg->reported = TRUE;
	if (send_halts(src->msg))
		ss->halted = TRUE;
	if (ss->report != NULL)
		ss->report(src->msg, ss->data);
}

/* send_report_failed - MSG was not reached because the session failed:
 * every recipient gets that failure, and the caller hears of it */
static void
send_report_failed(struct send_session *ss, struct send_message *msg,
    enum send_stage stage, int code, const char *reply,
    enum send_outcome outcome)
{
	guint j;

	for (j = 0; j < msg->rcpts->len; j++)
		send_rcpt_set(g_ptr_array_index(msg->rcpts, j), stage, code,
		    reply, outcome);
	msg->tried = msg->reported = TRUE;
	if (ss->report != NULL)
		ss->report(msg, ss->data);
}

/* send_pace_wait - reserve the next slot of PACE and sleep until it, or
 * until sender_stop(); FALSE when stopped */
static gboolean
send_pace_wait(struct sender *sender, struct send_pace *pace)
{
	gint64 now, slot;
	gboolean go;

	g_mutex_lock(&sender->lock);
	now = g_get_monotonic_time();
	slot = MAX(pace->next, now);
	pace->next = slot + pace->interval;
	while (!g_atomic_int_get(&sender->stopped) &&
	    g_get_monotonic_time() < slot)
		g_cond_wait_until(&sender->stop_cond, &sender->lock, slot);
	go = !g_atomic_int_get(&sender->stopped);
	g_mutex_unlock(&sender->lock);
	return go;
}

/* send_throttle - wait for the global rate, then for the domain of the
 * message's first recipient; FALSE when a stop ended the wait */
static gboolean
send_throttle(struct sender *sender, struct send_message *msg)
{
	struct send_pace *pace;
	const char *at;
	g_autofree char *domain = NULL;

	if (sender->global.interval > 0 &&
	    !send_pace_wait(sender, &sender->global))
		return FALSE;
	if (sender->domain_interval <= 0 || msg->rcpts->len == 0)
		return TRUE;
	at = strrchr(((struct send_rcpt *)g_ptr_array_index(msg->rcpts, 0))->address,
	    '@');
	domain = g_ascii_strdown(at != NULL ? at + 1 : "", -1);
	g_mutex_lock(&sender->lock);
	pace = g_hash_table_lookup(sender->domains, domain);
	if (pace == NULL) {
		pace = g_new0(struct send_pace, 1);
		pace->interval = sender->domain_interval;
		g_hash_table_insert(sender->domains, g_steal_pointer(&domain), pace);
	}
	g_mutex_unlock(&sender->lock);
	return send_pace_wait(sender, pace);
}

/* send_arm_after - the message at index AFTER (-1: none yet) is over or
 * cannot be sent: arm the next one, unless one is armed already. Waits
 * for the rate limits first; arms nothing once the sender is stopped or
 * the session halted; a message the caller does not admit is left out
 * and the next one considered. */
static void
send_arm_after(struct send_session *ss, int after)
{
	if (ss->last != after)
		return;
	while (ss->next < ss->n && !ss->halted) {
		struct send_source *src = &ss->srcs[ss->next];
		guint j;

		if (g_atomic_int_get(&ss->sender->stopped) ||
		    !send_throttle(ss->sender, src->msg))
			return;
		ss->next++;
		if (ss->admit != NULL && !ss->admit(src->msg, ss->data))
			continue;
		for (j = 0; j < src->msg->rcpts->len; j++) {
			src->rs[j] = smtp_add_recipient(src->m,
			    ((struct send_rcpt *)g_ptr_array_index(src->msg->rcpts,
			    j))->address);
			if (src->rs[j] != NULL)
				smtp_recipient_set_application_data_release(
				    src->rs[j], src, NULL);
		}
		src->armed = src->msg->tried = TRUE;
		ss->last = (int)(src - ss->srcs);
		return;
	}
}

/* send_message_cb - libesmtp reads the message through this: LEN NULL
 * means rewind (called before the message's DATA), then the whole body
 * in one piece, then 0. *CTX (malloc'd, libesmtp frees it) holds how far
 * we are. libesmtp's writes are gathered while it copies the body out
 * (it asks for the body after the relay's 354, and for the end before it
 * writes the final dot and waits for the reply). */
static const char *
send_message_cb(void **ctx, int *len, void *arg)
{
	struct send_source *src = arg;
	gsize size;
	const char *data = g_bytes_get_data(src->msg->body, &size);
	int *done;

	if (*ctx == NULL)
		*ctx = calloc(1, sizeof(int));
	done = *ctx;
	if (len == NULL) {
		if (done != NULL)
			*done = 1;
		return NULL;
	}
	if (done == NULL || *done == 2) {
		send_wire_body_end();
		*len = 0;
		return NULL;
	}
	*done = 2;
	*len = (int)send_wire_body(data, size);
	return data;
}

/* send_auth_block - the session has not authenticated and sends
 * nothing more: QUIT (on a plain-text session) and shut the socket, so
 * libesmtp's next command fails to go out and it finds the connection
 * gone */
static void
send_auth_block(struct send_session *ss)
{
	ss->auth_blocked = TRUE;
	send_wire_hang_up();
}

/* send_monitor_cb - libesmtp's protocol monitor, installed when smtp.user
 * is set: it sees every command before it is written and every reply as
 * it is read (not message bodies). Follows AUTH to its verdict: a refusal
 * ends the session there (504, a mechanism the relay does not know, lets
 * libesmtp try the next), and a MAIL FROM about to leave before AUTH
 * succeeded (no mechanism offered or accepted) is stopped the same way,
 * before it is written. */
static void
send_monitor_cb(const char *buf, int len, int writing, void *arg)
{
	struct send_session *ss = arg;
	const char *nl;
	int code;

	if (ss->authenticated || ss->auth_blocked || len < 4)
		return;
	if (writing) {
		if (g_ascii_strncasecmp(buf, "AUTH ", 5) == 0)
			ss->auth_pending = TRUE;
		else if (!ss->auth_pending &&
		    memmem(buf, (size_t)len, "MAIL FROM:", 10) != NULL)
			send_auth_block(ss);
		return;
	}
	if (!ss->auth_pending || !g_ascii_isdigit(buf[0]))
		return;
	code = (buf[0] - '0') * 100 + (buf[1] - '0') * 10 + (buf[2] - '0');
	if (code == 334)	/* a challenge: the exchange goes on */
		return;
	ss->auth_pending = FALSE;
	if (code / 100 == 2) {
		ss->authenticated = TRUE;
		return;
	}
	nl = memchr(buf, '\n', (size_t)len);
	ss->auth_code = code;
	g_free(ss->auth_reply);
	ss->auth_reply = g_strndup(buf + 4, (gsize)((nl != NULL ? nl : buf + len) -
	    (buf + 4)));
	if (code != 504)
		send_auth_block(ss);
}

/* send_x509_hint - words for the verify results people meet most */
static const char *
send_x509_hint(long result)
{
	switch (result) {
	case 10: return ": expired";
	case 18: return ": self-signed";
	case 19: return ": self-signed certificate in the chain";
	case 20: return ": issuer not trusted here";
	case 21: return ": cannot verify the first certificate";
	default: return "";
	}
}

/* send_mail_status - the reply to M's MAIL FROM: a 5xx is about the
 * sender (send_classify) and halts the session; any refusal ends the
 * message, so the next one is armed */
static void
send_mail_status(struct send_session *ss, smtp_message_t m)
{
	struct send_source *src = smtp_message_get_application_data(m);
	int code = smtp_reverse_path_status(m)->code;

	if (code / 100 == 5)
		ss->halted = TRUE;
	if (src != NULL && code / 100 != 2)
		send_arm_after(ss, (int)(src - ss->srcs));
}

/* send_rcpt_status - the reply to one RCPT TO: a refusal that blames the
 * session halts it; when every recipient of the message is refused, its
 * fate is known now (the caller's shaping reacts before the next
 * message), and the next one is armed */
static void
send_rcpt_status(struct send_session *ss, smtp_recipient_t rcpt)
{
	struct send_source *src = smtp_recipient_get_application_data(rcpt);
	const smtp_status_t *st = smtp_recipient_status(rcpt);

	if (src == NULL || st == NULL)
		return;
	if (send_outcome_of(st->code) == SEND_PERM && send_blames_session(st))
		ss->halted = TRUE;
	src->rcpt_seen++;
	if (st->code / 100 == 2)
		src->rcpt_ok++;
	if (src->rcpt_seen == src->msg->rcpts->len && src->rcpt_ok == 0) {
		send_report(src);
		send_arm_after(ss, (int)(src - ss->srcs));
	}
}

/* send_message_sent - M's final DATA reply: report it, arm the next */
static void
send_message_sent(struct send_session *ss, smtp_message_t m)
{
	struct send_source *src = smtp_message_get_application_data(m);

	if (src != NULL) {
		send_report(src);
		send_arm_after(ss, (int)(src - ss->srcs));
	}
}

/* send_peer_check - a check of the relay's certificate failed (WHY,
 * taken): *OK lets the session go on unless STARTTLS is required; then
 * WHY is the session's problem, if it has none yet */
static void
send_peer_check(struct send_session *ss, int *ok, char *why)
{
	gboolean required = ss->sender->starttls == STARTTLS_REQUIRED;

	*ok = !required;
	if (required && ss->problem == NULL)
		ss->problem = why;
	else
		g_free(why);
}

/* send_event_cb - protocol events: the replies that end a message (and
 * arm the next: send_arm_after), and the TLS checks, which follow the
 * STARTTLS setting */
static void
send_event_cb(smtp_session_t session, int event, void *arg, ...)
{
	struct send_session *ss = arg;
	va_list ap;
	long result;
	int *ok;

	va_start(ap, arg);
	switch (event) {
	case SMTP_EV_CONNECT:
		ss->connected = TRUE;
		break;
	case SMTP_EV_MAILSTATUS:
		(void)va_arg(ap, const char *);
		send_mail_status(ss, va_arg(ap, smtp_message_t));
		break;
	case SMTP_EV_RCPTSTATUS:
		(void)va_arg(ap, const char *);
		send_rcpt_status(ss, va_arg(ap, smtp_recipient_t));
		break;
	case SMTP_EV_MESSAGESENT:
		send_message_sent(ss, va_arg(ap, smtp_message_t));
		break;
	case SMTP_EV_EXTNA_STARTTLS:
		if (ss->problem == NULL)
			ss->problem = g_strdup("STARTTLS is required "
			    "(smtp.starttls) but the relay does not offer it");
		break;
	case SMTP_EV_STARTTLS_OK:
		send_wire_tls();	/* no more gathering */
		break;
	case SMTP_EV_WEAK_CIPHER:
		(void)va_arg(ap, int);
		ok = va_arg(ap, int *);
		*ok = 1;
		break;
	case SMTP_EV_INVALID_PEER_CERTIFICATE:
		result = va_arg(ap, long);
		ok = va_arg(ap, int *);
		send_peer_check(ss, ok, g_strdup_printf("the relay's TLS "
		    "certificate does not verify (OpenSSL X509 error %ld%s)",
		    result, send_x509_hint(result)));
		break;
	case SMTP_EV_NO_PEER_CERTIFICATE:
		ok = va_arg(ap, int *);
		send_peer_check(ss, ok, g_strdup("the relay sent no TLS "
		    "certificate"));
		break;
	case SMTP_EV_WRONG_PEER_CERTIFICATE:
		ok = va_arg(ap, int *);
		send_peer_check(ss, ok, g_strdup_printf("the relay's TLS "
		    "certificate does not name %s", ss->sender->host));
		break;
	case SMTP_EV_NO_CLIENT_CERTIFICATE:
		ok = va_arg(ap, int *);
		*ok = 1;
		break;
	default:
		break;
	}
	va_end(ap);
	(void)session;
}

/* send_auth_interact - libesmtp asks for the AUTH user and password */
static int
send_auth_interact(auth_client_request_t request, char **result, int fields,
    void *arg)
{
	struct sender *sender = arg;
	int i;

	for (i = 0; i < fields; i++) {
		if (request[i].flags & AUTH_USER)
			result[i] = sender->user;
		else if (request[i].flags & AUTH_PASS)
			result[i] = sender->password;
		else
			return 0;
	}
	return 1;
}

/* send_configure - a libesmtp session with the sender's settings */
static smtp_session_t
send_configure(const char *server, const char *helo, long timeout_ms,
    enum starttls_mode starttls, SSL_CTX *tls)
{
	smtp_session_t s = smtp_create_session();
	static const int which[] = { Timeout_GREETING, Timeout_ENVELOPE,
	    Timeout_DATA, Timeout_TRANSFER, Timeout_DATA2 };
	guint i;

	if (s == NULL)
		return NULL;
	smtp_set_server(s, server);
	if (helo != NULL)
		smtp_set_hostname(s, helo);
	for (i = 0; i < G_N_ELEMENTS(which); i++)
		smtp_set_timeout(s, which[i] | Timeout_OVERRIDE_RFC2822_MINIMUM,
		    timeout_ms);
	smtp_starttls_enable(s, starttls == STARTTLS_OFF ? Starttls_DISABLED :
	    starttls == STARTTLS_REQUIRED ? Starttls_REQUIRED : Starttls_ENABLED);
	if (tls != NULL)
		smtp_starttls_set_ctx(s, tls);
	return s;
}

/* send_helo - the name SS greets with: smtp.helo, else the host's fully
 * qualified name, else the domain of the first message's envelope sender
 * (LIST-bounces@DOMAIN: the list's domain); NULL (libesmtp's default)
 * only when there is none of these */
static const char *
send_helo(const struct sender *sender, const struct send_session *ss)
{
	const char *at;

	if (sender->helo != NULL)
		return sender->helo;
	if (ss->n == 0 || ss->srcs[0].msg->envelope_from == NULL ||
	    (at = strrchr(ss->srcs[0].msg->envelope_from, '@')) == NULL ||
	    at[1] == '\0')
		return NULL;
	return at + 1;
}

/* send_session_setup - a libesmtp session for SS's messages, each added
 * without recipients; with smtp.user, an AUTH context (*AUTH) and the
 * protocol monitor. NULL when libesmtp cannot make one. */
static smtp_session_t
send_session_setup(struct send_session *ss, auth_context_t *auth)
{
	struct sender *sender = ss->sender;
	smtp_session_t s;
	guint i;

	s = send_configure(sender->server, send_helo(sender, ss),
	    sender->timeout_ms, sender->starttls, sender->tls);
	if (s == NULL)
		return NULL;
	if (sender->user != NULL) {
		*auth = auth_create_context();
		auth_set_mechanism_flags(*auth, AUTH_PLUGIN_PLAIN, 0);
		auth_set_interact_cb(*auth, send_auth_interact, sender);
		smtp_auth_set_context(s, *auth);
		smtp_set_monitorcb(s, send_monitor_cb, ss, 0);
	}
	smtp_set_eventcb(s, send_event_cb, ss);
	for (i = 0; i < ss->n; i++) {
		struct send_source *src = &ss->srcs[i];

		src->m = smtp_add_message(s);
		smtp_message_set_application_data_release(src->m, src, NULL);
		smtp_set_reverse_path(src->m, src->msg->envelope_from);
		smtp_set_messagecb(src->m, send_message_cb, src);
	}
	return s;
}

/* send_session_talk - run session S to its end with this thread's
 * socket hooks on (connect(), write()); FALSE when the protocol failed,
 * with why in ss->problem when libesmtp says */
static gboolean
send_session_talk(struct send_session *ss, smtp_session_t s)
{
	struct sender *sender = ss->sender;
	gboolean ok;

	send_wire_begin((int)MIN(sender->timeout_ms, G_MAXINT));
	ok = smtp_start_session(s);
	send_wire_end();
	if (!ok && ss->problem == NULL) {
		char buf[256];
		int err = smtp_errno();

		if (err != 0)
			ss->problem = g_strdup_printf("no reply from the relay %s: %s",
			    sender->server, smtp_strerror(err, buf, sizeof buf));
	}
	return ok;
}

/* send_session_settle - after the session (OK: its protocol ran): every
 * message armed and not reported yet is, now. The rest: left after a
 * stop or a halt; carried by a fresh session if libesmtp ended this one
 * cleanly without them; failed with the session if the connection
 * failed. Returns how many of MSGS are dealt with. */
static guint
send_session_settle(struct send_session *ss, struct send_message **msgs,
    gboolean ok)
{
	struct sender *sender = ss->sender;
	struct send_rcpt *r;
	g_autofree char *why = NULL;
	gboolean clean, at_auth;
	guint i, done;

	for (i = 0; i < ss->next; i++)
		if (ss->srcs[i].armed)
			send_report(&ss->srcs[i]);
	done = ss->next;
	clean = ok && !ss->auth_blocked && ss->problem == NULL &&
	    send_answered(msgs[ss->last]);
	if (ss->halted || g_atomic_int_get(&sender->stopped))
		return ss->n;
	if (done == ss->n || clean)
		return done;
	r = g_ptr_array_index(msgs[ss->last]->rcpts, 0);
	why = g_strdup_printf("no reply from the relay %s", sender->server);
	at_auth = ss->auth_blocked;
	for (i = done; i < ss->n; i++)
		send_report_failed(ss, msgs[i], at_auth ? SEND_STAGE_AUTH :
		    SEND_STAGE_CONNECT, at_auth ? r->code : 0, at_auth ?
		    r->reply : ss->problem != NULL ? ss->problem : why, SEND_TEMP);
	return ss->n;
}

/* send_accepted - the recipients of the reported MSGS[0..N) the relay
 * accepted */
static guint
send_accepted(struct send_message **msgs, guint n)
{
	guint i, j, accepted = 0;

	for (i = 0; i < n; i++)
		if (msgs[i]->reported)
			for (j = 0; j < msgs[i]->rcpts->len; j++)
				if (((struct send_rcpt *)g_ptr_array_index(
				    msgs[i]->rcpts, j))->outcome == SEND_OK)
					accepted++;
	return accepted;
}

/* send_session_run - one libesmtp session (one connection) for
 * MSGS[0..N): the messages are added without recipients and armed one by
 * one (send_arm_after). Returns how many of MSGS it dealt with (tried,
 * left out, or left for good after a stop or a halt); the caller starts
 * another session for the rest. *ACCEPTED grows by the recipients the
 * relay accepted. */
static guint
send_session_run(struct sender *sender, struct send_message **msgs, guint n,
    send_admit_fn admit, send_report_fn report, gpointer data,
    guint *accepted)
{
	struct send_session ss = { sender, admit, report, data, NULL, n, 0, -1,
	    FALSE, FALSE, NULL, FALSE, FALSE, FALSE, 0, NULL };
	auth_context_t auth = NULL;
	smtp_session_t s;
	guint i, done = n;

	ss.srcs = g_new0(struct send_source, n);
	for (i = 0; i < n; i++) {
		ss.srcs[i].session = &ss;
		ss.srcs[i].msg = msgs[i];
		ss.srcs[i].rs = g_new0(smtp_recipient_t,
		    MAX(msgs[i]->rcpts->len, 1));
		msgs[i]->reported = msgs[i]->tried = FALSE;
	}
	if ((s = send_session_setup(&ss, &auth)) == NULL) {
		for (i = 0; i < n; i++)
			send_report_failed(&ss, msgs[i], SEND_STAGE_CONNECT, 0,
			    "libesmtp cannot create a session (out of memory)",
			    SEND_TEMP);
	} else {
		send_arm_after(&ss, -1);
		/* none armed: stopped, or nothing admitted */
		if (ss.last >= 0)
			done = send_session_settle(&ss, msgs,
			    send_session_talk(&ss, s));
	}
	*accepted += send_accepted(msgs, n);
	for (i = 0; i < n; i++)
		g_free(ss.srcs[i].rs);
	if (s != NULL)
		smtp_destroy_session(s);
	if (auth != NULL)
		auth_destroy_context(auth);
	g_free(ss.srcs);
	g_free(ss.problem);
	g_free(ss.auth_reply);
	return done;
}

/* sender_session - MSGS[0..N) over one connection (more only when
 * libesmtp ends a session with messages it was never given) */
guint
sender_session(struct sender *sender, struct send_message **msgs, guint n,
    send_admit_fn admit, send_report_fn report, gpointer data)
{
	guint from = 0, accepted = 0;

	while (from < n)
		from += send_session_run(sender, msgs + from, n - from, admit,
		    report, data, &accepted);
	return accepted;
}

/* sender_stop - no more MAIL FROM in any session, no more waiting */
void
sender_stop(struct sender *sender)
{
	g_mutex_lock(&sender->lock);
	g_atomic_int_set(&sender->stopped, 1);
	g_cond_broadcast(&sender->stop_cond);
	g_mutex_unlock(&sender->lock);
}

/* send_read_password - the first line of PATH */
static char *
send_read_password(const char *path, GError **error)
{
	g_autofree char *text = NULL;
	g_autoptr(GError) ioerr = NULL;
	char *nl;

	if (path == NULL) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
		    "smtp.user is set but smtp.password_file is not");
		return NULL;
	}
	if (!g_file_get_contents(path, &text, NULL, &ioerr)) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
		    "smtp.password_file: %s", ioerr->message);
		return NULL;
	}
	if ((nl = strpbrk(text, "\r\n")) != NULL)
		*nl = '\0';
	if (*text == '\0') {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
		    "smtp.password_file %s: the first line is empty", path);
		return NULL;
	}
	return g_steal_pointer(&text);
}

/* sender_new - settings shared by many sessions */
struct sender *
sender_new(const struct smtp_config *smtp, double rate, double domain_rate,
    GError **error)
{
	struct sender *sender;
	char *password = NULL;

	send_init();
	if (send_lib.error != NULL) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_TEMP,
		    "cannot load the SMTP client: %s", send_lib.error);
		return NULL;
	}
	if (smtp->user != NULL && *smtp->user != '\0' &&
	    (password = send_read_password(smtp->password_file, error)) == NULL)
		return NULL;
	sender = g_new0(struct sender, 1);
	sender->host = g_strdup(smtp->host);
	sender->server = strchr(smtp->host, ':') != NULL ?
	    g_strdup_printf("[%s]:%d", smtp->host, smtp->port) :
	    g_strdup_printf("%s:%d", smtp->host, smtp->port);
	/* no smtp.helo: the host's full name, else (in each session) the
	 * list's domain, never libesmtp's default, the bare host name */
	sender->helo = g_strdup(smtp->helo != NULL ? smtp->helo :
	    host_name_fqdn());
	sender->starttls = smtp->starttls;
	sender->user = password != NULL ? g_strdup(smtp->user) : NULL;
	sender->password = password;
	sender->timeout_ms = (long)MAX(smtp->timeout, 1) * 1000L;
	if (smtp->starttls != STARTTLS_OFF &&
	    (sender->tls = SSL_CTX_new(TLS_client_method())) != NULL) {
		SSL_CTX_set_min_proto_version(sender->tls, TLS1_VERSION);
		SSL_CTX_set_max_proto_version(sender->tls, TLS1_2_VERSION);
		SSL_CTX_set_default_verify_paths(sender->tls);
	}
	g_mutex_init(&sender->lock);
	g_cond_init(&sender->stop_cond);
	sender->global.interval = rate > 0 ? (gint64)(G_USEC_PER_SEC / rate) : 0;
	sender->domain_interval = domain_rate > 0 ?
	    (gint64)(G_USEC_PER_SEC / domain_rate) : 0;
	sender->domains = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
	    g_free);
	return sender;
}

/* sender_free - free SENDER, wiping the password */
void
sender_free(struct sender *sender)
{
	if (sender == NULL)
		return;
	g_free(sender->server);
	g_free(sender->host);
	g_free(sender->helo);
	g_free(sender->user);
	if (sender->password != NULL) {
		memset(sender->password, 0, strlen(sender->password));
		g_free(sender->password);
	}
	if (sender->tls != NULL)
		SSL_CTX_free(sender->tls);
	g_mutex_clear(&sender->lock);
	g_cond_clear(&sender->stop_cond);
	g_hash_table_unref(sender->domains);
	g_free(sender);
}

/* send_prime_serve - the throwaway listener: one canned conversation */
static gpointer
send_prime_serve(gpointer arg)
{
	int lfd = GPOINTER_TO_INT(arg), fd;
	char buf[512];
	ssize_t n;
	struct timeval tv = { 2, 0 };

	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (write(fd, "220 herald-prime ESMTP\r\n", 24) < 0)
		goto out;
	while ((n = read(fd, buf, sizeof buf - 1)) > 0) {
		const char *reply;

		buf[n] = '\0';
		if (g_ascii_strncasecmp(buf, "EHLO", 4) == 0)
			reply = "250-herald-prime\r\n250-PIPELINING\r\n"
			    "250 8BITMIME\r\n";
		else if (g_ascii_strncasecmp(buf, "QUIT", 4) == 0) {
			if (write(fd, "221 bye\r\n", 9) < 0)
				break;
			break;
		} else if (g_ascii_strncasecmp(buf, "RCPT", 4) == 0 ||
		    strstr(buf, "RCPT") != NULL)
			reply = "250 ok\r\n550 no\r\n";
		else
			reply = "250 ok\r\n";
		if (write(fd, reply, strlen(reply)) < 0)
			break;
	}
out:
	close(fd);
	return NULL;
}

/* send_prime - one session in this thread against a throwaway loopback
 * listener, so libesmtp's tokenizer tables are built here, once */
static void
send_prime(void)
{
	struct sockaddr_in sa = { 0 };
	socklen_t len = sizeof sa;
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	g_autofree char *server = NULL;
	GThread *th;
	smtp_session_t s;
	smtp_message_t m;

	if (lfd < 0)
		return;
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    listen(lfd, 1) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &len) < 0) {
		close(lfd);
		return;
	}
	server = g_strdup_printf("127.0.0.1:%d", ntohs(sa.sin_port));
	th = g_thread_new("send-prime", send_prime_serve, GINT_TO_POINTER(lfd));
	s = send_configure(server, "localhost", 2000, STARTTLS_OFF, NULL);
	if (s != NULL) {
		m = smtp_add_message(s);
		smtp_set_reverse_path(m, "");
		smtp_set_message_str(m, (void *)"Subject: x\r\n\r\nx\r\n");
		smtp_add_recipient(m, "prime@invalid");
		smtp_start_session(s);
		smtp_destroy_session(s);
	}
	shutdown(lfd, SHUT_RDWR);
	g_thread_join(th);
	close(lfd);
}

/* send_lib_ready - load the libraries once; TRUE when they are there */
static gboolean
send_lib_ready(void)
{
	static gsize done;

	if (g_once_init_enter(&done)) {
		gsize ok = send_lib_load() ? 2 : 1;

		g_once_init_leave(&done, ok);
	}
	return done == 2;
}

/* send_init - once per process, in the main thread */
void
send_init(void)
{
	static gsize done;

	if (g_once_init_enter(&done)) {
		if (send_lib_ready()) {
			auth_client_init();
			send_prime();
		}
		g_once_init_leave(&done, 1);
	}
}

/* send_lib_version - libesmtp's version and the file it came from */
char *
send_lib_version(GError **error)
{
	char buf[64];

	if (!send_lib_ready()) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_TEMP,
		    "cannot load the SMTP client: %s", send_lib.error);
		return NULL;
	}
	if (smtp_version(buf, sizeof(buf), 0) == 0) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_SOFTWARE,
		    "%s gives no version", SEND_ESMTP_SONAME);
		return NULL;
	}
	return g_strdup_printf("%s (%s)", buf, SEND_ESMTP_SONAME);
}

/* send_relay_fault - see send.h */
gboolean
send_relay_fault(const struct send_rcpt *r)
{
	return r->outcome == SEND_HALT ||
	    (r->code == 421 && r->stage <= SEND_STAGE_MAIL) ||
	    (r->outcome == SEND_TEMP && r->code == 0);
}

/* send_one_report - nothing to do per message: send_one reads after */
static void
send_one_report(struct send_message *msg, gpointer data)
{
	(void)msg;
	(void)data;
}

/* send_one - one message, one session, from the main thread */
gboolean
send_one(const struct smtp_config *smtp, const char *envelope_from,
    const char *const *rcpts, GBytes *message, struct send_result *result,
    GError **error)
{
	struct sender *sender;
	struct send_message *msg;
	const struct send_rcpt *first = NULL;
	gboolean temp = FALSE;
	guint i;

	if (result != NULL)
		result->rcpts = NULL;
	if (rcpts == NULL || rcpts[0] == NULL) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_USAGE,
		    "send_one: no recipients");
		return FALSE;
	}
	send_init();
	if ((sender = sender_new(smtp, 0, 0, error)) == NULL)
		return FALSE;
	msg = send_message_new(0, envelope_from != NULL ? envelope_from : "",
	    message);
	for (i = 0; rcpts[i] != NULL; i++)
		send_message_add_rcpt(msg, rcpts[i]);
	sender_session(sender, &msg, 1, NULL, send_one_report, NULL);
	sender_free(sender);
	for (i = 0; i < msg->rcpts->len; i++) {
		const struct send_rcpt *r = g_ptr_array_index(msg->rcpts, i);

		if (r->outcome == SEND_OK)
			continue;
		if (first == NULL)
			first = r;
		if (r->outcome == SEND_TEMP || r->outcome == SEND_HALT)
			temp = TRUE;	/* a halt is the relay's or ours */
	}
	if (first != NULL) {
		char code[16] = "";

		if (first->code != 0)
			g_snprintf(code, sizeof code, "%d ", first->code);
		g_set_error(error, HERALD_ERROR, temp ? HERALD_ERROR_TEMP :
		    HERALD_ERROR_PERM, "%s: %s%s (at %s)", first->address, code,
		    first->reply, send_stage_name(first->stage));
	}
	if (result != NULL)
		result->rcpts = g_ptr_array_ref(msg->rcpts);
	send_message_free(msg);
	return first == NULL;
}
