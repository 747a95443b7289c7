/*
 * send.h - SMTP through libesmtp: one session carries a batch of messages
 * over one connection, and every recipient of every message comes back
 * with its own reply code, reply text and the stage it ended at.
 *
 * A struct sender holds what all sessions share: the relay, STARTTLS and
 * AUTH settings (the password read once from smtp.password_file), the
 * timeouts, and the global and per-domain rate limits. sender_session()
 * may run in many threads at once, one session per thread; the sender is
 * read-only apart from its rate limiters, which lock.
 *
 * A session feeds libesmtp one message at a time: just before each
 * message's MAIL FROM it waits for the rate limits, then stops if
 * sender_stop() was called, then asks the caller whether the message
 * still goes (the admit callback). A stop therefore takes effect after
 * the message in flight on each connection, however long the batch, and
 * a pacing wait ends at once.
 *
 * Must stay true: the session's return value is never trusted alone; a
 * recipient counts as sent only when its RCPT reply and the message's
 * final DATA reply are both 2xx. No reply at all (refused connection,
 * time-out, a drop mid-DATA, STARTTLS required but not offered) is
 * temporary: the relay may be back later. 5xx is permanent, 4xx
 * temporary, except a refusal that is about the sender or the session
 * rather than the recipient (SEND_HALT below): nothing in it may count
 * against the recipient. With smtp.user set, no MAIL FROM leaves a
 * session that has not authenticated. send_init() runs once in the main
 * thread before any worker starts (libesmtp builds a static parsing
 * table lazily on the first reply it reads; two threads building it at
 * once can corrupt it).
 */
#ifndef HERALD_SEND_H
#define HERALD_SEND_H

#include <glib.h>
#include "config.h"

enum send_stage {
	SEND_STAGE_CONNECT,	/* before MAIL: connect, greeting, EHLO, TLS */
	SEND_STAGE_AUTH,	/* AUTH refused, or not offered when smtp.user is set */
	SEND_STAGE_MAIL,	/* MAIL FROM refused */
	SEND_STAGE_RCPT,	/* RCPT TO refused */
	SEND_STAGE_DATA,	/* DATA, the message, or its final reply */
};

enum send_outcome {
	SEND_OK,		/* the relay took responsibility */
	SEND_TEMP,		/* 4xx, or no reply: try again later */
	SEND_PERM,		/* 5xx: do not try again */
	SEND_HALT,		/* refused for the sender's or the session's sake,
				 * not the recipient's (AUTH refused, a 5xx at
				 * MAIL, authentication required, relay access
				 * denied, sender rejected): every message would
				 * meet it; the recipient is not at fault */
};

struct send_rcpt {
	char *address;
	int code;		/* the reply code, 0 when none came */
	char *reply;		/* the reply text, or why there was none */
	enum send_stage stage;
	enum send_outcome outcome;
};

/* one message: one envelope sender, its recipients, its bytes (CRLF) */
struct send_message {
	gint64 id;		/* the caller's: a delivery id */
	char *envelope_from;
	GBytes *body;
	GPtrArray *rcpts;	/* struct send_rcpt * */
	gpointer user;		/* the caller's */
	gboolean reported;	/* the report callback has run for it */
	gboolean tried;		/* its MAIL FROM went out (or the session
				 * failed before it): the results are set */
};

struct send_message *send_message_new(gint64 id, const char *envelope_from,
    GBytes *body);
void send_message_add_rcpt(struct send_message *msg, const char *address);
void send_message_free(struct send_message *msg);

/* send_report_fn - called once per message in the session's thread, as
 * soon as every recipient's fate is known (during the session for
 * messages the relay accepted, so they can be committed at once) */
typedef void (*send_report_fn)(struct send_message *msg, gpointer data);

/* send_admit_fn - called in the session's thread just before MSG's MAIL
 * FROM, after the pacing wait: FALSE leaves MSG out (never reported, not
 * tried; the caller records what it wants) */
typedef gboolean (*send_admit_fn)(struct send_message *msg, gpointer data);

struct sender;

/* send_init - once per process, in the main thread, before any worker:
 * initialise libesmtp's AUTH client and make it parse one reply (from a
 * throwaway loopback listener) so its lazily built tables exist. */
void send_init(void);

/* send_lib_version - "VERSION (SONAME)" of the libesmtp that sending
 * uses, loading it if need be; NULL with a TEMP error when it cannot be
 * loaded. Free with g_free(). */
char *send_lib_version(GError **error);

/* sender_new - settings for many sessions; reads SMTP's password file.
 * RATE and DOMAIN_RATE are messages per second (0: no limit). A missing
 * or empty password file is a CONFIG error. */
struct sender *sender_new(const struct smtp_config *smtp, double rate,
    double domain_rate, GError **error);
void sender_free(struct sender *sender);

/* sender_session - open one connection, send MSGS[0..N) over it, fill in
 * every recipient's result and call REPORT for each message tried.
 * ADMIT (may be NULL) is asked before each message's MAIL FROM. After
 * sender_stop(), after a SEND_HALT reply, or for a message ADMIT refused,
 * the messages left are not tried (msg->tried FALSE, no report). When
 * the connection fails, the messages not reached yet are reported with
 * its failure (temporary). Returns the number of recipients the relay
 * accepted. Thread-safe. */
guint sender_session(struct sender *sender, struct send_message **msgs,
    guint n, send_admit_fn admit, send_report_fn report, gpointer data);

/* sender_stop - every session of SENDER stops before its next MAIL FROM,
 * and every pacing wait ends now; for good. Thread-safe, idempotent. */
void sender_stop(struct sender *sender);

/* the results of send_one */
struct send_result {
	GPtrArray *rcpts;	/* struct send_rcpt *, one per recipient given */
};
void send_result_clear(struct send_result *result);

/* send_one - send one message (bytes with CRLF line ends) from
 * ENVELOPE_FROM (may be "" for the null sender) to RCPTS (NULL-terminated)
 * through the relay in SMTP, in one session. TRUE when the relay accepted
 * it for every recipient. Otherwise FALSE and an error: TEMP when any
 * recipient got a 4xx or no reply (connection refused, time-out, dropped)
 * or a refusal that is the relay's or the configuration's (SEND_HALT),
 * PERM when every refusal was a 5xx about a recipient; the message names the first refused
 * recipient and its reply. RESULT (may be NULL; clear it with
 * send_result_clear) gets every recipient's code, reply and stage either
 * way. Calls send_init() itself: use it from the main thread. */
gboolean send_one(const struct smtp_config *smtp, const char *envelope_from,
    const char *const *rcpts, GBytes *message, struct send_result *result,
    GError **error);

/* send_relay_fault - is R's result the relay's failure rather than the
 * recipient's: no reply at all (refused connection, time-out, a drop), a
 * 421 before RCPT (the relay closing the session; a 421 to a RCPT is
 * about that destination), or a refusal of the session (SEND_HALT: AUTH
 * refused and the like)? What marks a relay down, in a campaign
 * (dispatch.c) and for herald's own mail (mailer.c) alike. */
gboolean send_relay_fault(const struct send_rcpt *r);

/* send_stage_name - "connect", "auth", "mail", "rcpt" or "data" */
const char *send_stage_name(enum send_stage stage);

#endif
