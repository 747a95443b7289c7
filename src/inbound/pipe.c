/*
 * pipe.c - route one inbound message by the address it came to, and act
 * on it (see pipe.h for the addresses and what must stay true).
 *
 * Order of work, chosen so that a message is never lost and never acts
 * twice: the MTA keeps the message until herald pipe exits 0, so every
 * step may fail with TEMP and the whole message comes again later. State
 * changes are idempotent (unsubscribing the unsubscribed does nothing;
 * a stored reply, complaint or bounce is found again by the SHA-256 of its
 * bytes). A notice that goes with a state change (a goodbye, a
 * confirmation request, a forward to the owners) is queued in the outbox
 * in the same transaction as the change and sent after the commit, so it
 * goes out once per committed change: a failed commit leaves neither, a
 * retry that finds the change done queues nothing, and a relay that is
 * down leaves the notice queued for the next run (outbox.h), not the
 * message to the MTA. No write transaction is held while talking SMTP.
 *
 * The membership actions (unsubscribe by token, subscribe and unsubscribe
 * requests, confirmations, and their notices) are action.c's, shared with
 * herald serve: this file reads the mail, finds who asked, and calls them.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <gmime/gmime.h>

#include "herald.h"
#include "action.h"
#include "bounce.h"
#include "bounce_policy.h"
#include "compose.h"
#include "config.h"
#include "mailer.h"
#include "notice.h"
#include "outbox.h"
#include "log.h"
#include "pipe.h"
#include "store.h"
#include "store_inbound.h"
#include "subscriber.h"
#include "token.h"

#define PIPE_COMMAND_LINES	5	/* body lines read for a command */

static const struct {
	const char *suffix;
	enum pipe_route route;
} pipe_suffixes[] = {
	{ "-bounces", PIPE_ROUTE_BOUNCES },
	{ "-unsubscribe", PIPE_ROUTE_UNSUBSCRIBE },
	{ "-subscribe", PIPE_ROUTE_SUBSCRIBE },
	{ "-confirm", PIPE_ROUTE_CONFIRM },
	{ "-owner", PIPE_ROUTE_OWNER },
	{ "-request", PIPE_ROUTE_REQUEST },
	{ "", PIPE_ROUTE_LIST },
};

/* the state of one message while it is routed */
struct pipe_msg {
	struct pipe_ctx *ctx;
	const struct list_config *list;
	struct pipe_result *res;
	const char *sender;		/* "" for the null sender */
	GBytes *raw;
	GMimeMessage *msg;		/* NULL when the bytes are no message */
	char *digest;			/* SHA-256 of RAW, hex */
	gint64 now;
};

/* ------------------------------------------------------------------ */
/* Addresses */

/* pipe_route_name - the word for a route in logs and the database */
const char *
pipe_route_name(enum pipe_route route)
{
	switch (route) {
	case PIPE_ROUTE_NONE:		return "none";
	case PIPE_ROUTE_LIST:		return "reply";
	case PIPE_ROUTE_BOUNCES:	return "bounces";
	case PIPE_ROUTE_UNSUBSCRIBE:	return "unsubscribe";
	case PIPE_ROUTE_SUBSCRIBE:	return "subscribe";
	case PIPE_ROUTE_CONFIRM:	return "confirm";
	case PIPE_ROUTE_OWNER:		return "owner";
	case PIPE_ROUTE_REQUEST:	return "request";
	}
	return "none";
}

/* pipe_address_parse - which list, which of its addresses */
void
pipe_address_parse(const struct config *config, const char *recipient,
    struct pipe_address *out)
{
	g_autofree char *addr = g_strdup(recipient != NULL ? recipient : "");
	char *at, *plus, *local, *domain = NULL;
	size_t i, n, sl;

	memset(out, 0, sizeof(*out));
	g_strstrip(addr);
	if (addr[0] == '<' && addr[strlen(addr) - 1] == '>') {
		addr[strlen(addr) - 1] = '\0';
		memmove(addr, addr + 1, strlen(addr));
	}
	if ((at = strrchr(addr, '@')) != NULL) {
		*at = '\0';
		domain = at + 1;
	}
	local = addr;
	if ((plus = strchr(local, '+')) != NULL) {
		*plus = '\0';
		if (plus[1] != '\0')
			out->extension = g_strdup(plus + 1);
	}
	n = strlen(local);
	for (i = 0; i < G_N_ELEMENTS(pipe_suffixes); i++) {
		g_autofree char *base = NULL;

		sl = strlen(pipe_suffixes[i].suffix);
		if (n <= sl || g_ascii_strcasecmp(local + n - sl,
		    pipe_suffixes[i].suffix) != 0)
			continue;
		base = g_strndup(local, n - sl);
		out->list = config_list_by_local(config, base, domain);
		if (out->list != NULL) {
			out->route = pipe_suffixes[i].route;
			return;
		}
	}
	out->route = PIPE_ROUTE_NONE;
}

/* pipe_address_clear - free what parse allocated */
void
pipe_address_clear(struct pipe_address *addr)
{
	g_clear_pointer(&addr->extension, g_free);
}

/* ------------------------------------------------------------------ */
/* Reading the message */

/* pipe_header - a header's value, or NULL */
static const char *
pipe_header(struct pipe_msg *m, const char *name)
{
	return m->msg != NULL ?
	    g_mime_object_get_header(GMIME_OBJECT(m->msg), name) : NULL;
}

/* pipe_from - the first From mailbox's address (borrowed), NAME if wanted */
static const char *
pipe_from(struct pipe_msg *m, const char **name)
{
	InternetAddressList *l;
	InternetAddress *ia;

	if (name != NULL)
		*name = NULL;
	if (m->msg == NULL || (l = g_mime_message_get_from(m->msg)) == NULL ||
	    internet_address_list_length(l) < 1)
		return NULL;
	ia = internet_address_list_get_address(l, 0);
	if (!INTERNET_ADDRESS_IS_MAILBOX(ia))
		return NULL;
	if (name != NULL)
		*name = internet_address_get_name(ia);
	return internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
}

/* pipe_first_text - the first text/plain part's text (or text/html's),
 * not looking inside attached messages; caller frees */
static char *
pipe_first_text(GMimeObject *obj, int depth)
{
	if (obj == NULL || depth > 8)
		return NULL;
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		int i, n = g_mime_multipart_get_count(mp);
		char *html = NULL, *t;

		for (i = 0; i < n && i < 32; i++) {
			GMimeObject *p = g_mime_multipart_get_part(mp, i);
			GMimeContentType *ct = g_mime_object_get_content_type(p);

			if (html == NULL && GMIME_IS_TEXT_PART(p) &&
			    g_mime_content_type_is_type(ct, "text", "html")) {
				html = g_mime_text_part_get_text(GMIME_TEXT_PART(p));
				continue;
			}
			if ((t = pipe_first_text(p, depth + 1)) != NULL) {
				g_free(html);
				return t;
			}
		}
		return html;
	}
	if (GMIME_IS_TEXT_PART(obj) && g_mime_content_type_is_type(
	    g_mime_object_get_content_type(obj), "text", "plain"))
		return g_mime_text_part_get_text(GMIME_TEXT_PART(obj));
	return NULL;
}

enum pipe_command {
	PIPE_CMD_NONE,
	PIPE_CMD_HELP,
	PIPE_CMD_SUBSCRIBE,
	PIPE_CMD_UNSUBSCRIBE,
	PIPE_CMD_CONFIRM,
};

/* pipe_command_line - the command LINE starts with (after Re:/Fwd:), and
 * for confirm its token in *TOKEN (caller frees) */
static enum pipe_command
pipe_command_line(const char *line, char **token)
{
	g_auto(GStrv) words = NULL;
	const char *p = line;
	const char *w;
	int i = 0;

	while (g_ascii_isspace(*p))
		p++;
	for (;;) {
		if (g_ascii_strncasecmp(p, "re:", 3) == 0 ||
		    g_ascii_strncasecmp(p, "aw:", 3) == 0)
			p += 3;
		else if (g_ascii_strncasecmp(p, "fwd:", 4) == 0)
			p += 4;
		else if (g_ascii_strncasecmp(p, "fw:", 3) == 0)
			p += 3;
		else
			break;
		while (g_ascii_isspace(*p))
			p++;
	}
	words = g_strsplit_set(p, " \t\r\n", 4);
	while (words[i] != NULL && *words[i] == '\0')
		i++;
	if ((w = words[i]) == NULL)
		return PIPE_CMD_NONE;
	if (g_ascii_strcasecmp(w, "help") == 0 ||
	    g_ascii_strcasecmp(w, "help.") == 0)
		return PIPE_CMD_HELP;
	if (g_ascii_strcasecmp(w, "subscribe") == 0 ||
	    g_ascii_strcasecmp(w, "join") == 0 ||
	    g_ascii_strcasecmp(w, "subscribe.") == 0)
		return PIPE_CMD_SUBSCRIBE;
	if (g_ascii_strcasecmp(w, "unsubscribe") == 0 ||
	    g_ascii_strcasecmp(w, "unsubscribe.") == 0 ||
	    g_ascii_strcasecmp(w, "leave") == 0 ||
	    g_ascii_strcasecmp(w, "signoff") == 0)
		return PIPE_CMD_UNSUBSCRIBE;
	if (g_ascii_strcasecmp(w, "confirm") == 0) {
		for (i++; words[i] != NULL && *words[i] == '\0'; i++)
			;
		if (words[i] == NULL || token == NULL)
			return PIPE_CMD_NONE;
		*token = g_strdup(words[i]);
		return PIPE_CMD_CONFIRM;
	}
	return PIPE_CMD_NONE;
}

/* pipe_first_lines - up to N meaningful body lines: no blank lines, no
 * quotes, nothing after a signature separator */
static GPtrArray *
pipe_first_lines(struct pipe_msg *m, int n)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;
	int i;

	if (m->msg == NULL || (text = pipe_first_text(
	    g_mime_message_get_mime_part(m->msg), 0)) == NULL)
		return out;
	lines = g_strsplit(text, "\n", 200);
	for (i = 0; lines[i] != NULL && (int)out->len < n; i++) {
		char *l = g_strstrip(lines[i]);

		if (strcmp(l, "--") == 0)
			break;
		if (*l == '\0' || *l == '>')
			continue;
		g_ptr_array_add(out, g_strdup(l));
	}
	return out;
}

/* pipe_command - the first command in the subject or the first body
 * lines; *TOKEN for confirm */
static enum pipe_command
pipe_command(struct pipe_msg *m, char **token)
{
	const char *subject = m->msg != NULL ?
	    g_mime_message_get_subject(m->msg) : NULL;
	g_autoptr(GPtrArray) lines = pipe_first_lines(m, PIPE_COMMAND_LINES);
	enum pipe_command c;
	guint i;

	if (subject != NULL &&
	    (c = pipe_command_line(subject, token)) != PIPE_CMD_NONE)
		return c;
	for (i = 0; i < lines->len; i++)
		if ((c = pipe_command_line(g_ptr_array_index(lines, i), token)) !=
		    PIPE_CMD_NONE)
			return c;
	return PIPE_CMD_NONE;
}

/* pipe_says_unsubscribe - a reply whose first line (or whole subject)
 * asks to unsubscribe */
static gboolean
pipe_says_unsubscribe(struct pipe_msg *m)
{
	g_autoptr(GPtrArray) lines = pipe_first_lines(m, 1);
	const char *subject = m->msg != NULL ?
	    g_mime_message_get_subject(m->msg) : NULL;

	if (lines->len > 0 && pipe_command_line(g_ptr_array_index(lines, 0),
	    NULL) == PIPE_CMD_UNSUBSCRIBE)
		return TRUE;
	if (subject != NULL) {
		g_autofree char *s = g_strstrip(g_ascii_strdown(subject, -1));

		while (g_str_has_prefix(s, "re:")) {
			memmove(s, s + 3, strlen(s + 3) + 1);
			g_strstrip(s);
		}
		return strcmp(s, "unsubscribe") == 0;
	}
	return FALSE;
}

/* pipe_is_autoreply - RFC 3834 and the common vendor markers, or an
 * out-of-office subject */
static gboolean
pipe_is_autoreply(struct pipe_msg *m)
{
	static const char *const subjects[] = { "out of office",
	    "out of the office", "automatic reply", "auto reply", "autoreply",
	    "auto-reply", "auto response", "autoresponse", "on vacation",
	    "vacation reply", "away from the office", "away from my desk",
	    "abwesenheitsnotiz", "abwesend", "absence du bureau",
	    "réponse automatique", "respuesta automática", "fuera de la oficina",
	    "risposta automatica", "automatisch antwoord", "afwezig",
	    "resposta automática", "automatyczna odpowiedź" };
	const char *v;
	size_t i;

	if ((v = pipe_header(m, "Auto-Submitted")) != NULL) {
		g_autofree char *s = g_strstrip(g_ascii_strdown(v, -1));
		char *semi = strchr(s, ';');

		if (semi != NULL)
			*semi = '\0';
		g_strstrip(s);
		if (strcmp(s, "no") != 0)
			return TRUE;
	}
	if ((v = pipe_header(m, "Precedence")) != NULL) {
		g_autofree char *s = g_strstrip(g_ascii_strdown(v, -1));

		if (strcmp(s, "bulk") == 0 || strcmp(s, "junk") == 0 ||
		    strcmp(s, "list") == 0 || strcmp(s, "auto_reply") == 0)
			return TRUE;
	}
	if (pipe_header(m, "X-Autoreply") != NULL ||
	    pipe_header(m, "X-Autorespond") != NULL ||
	    pipe_header(m, "X-Auto-Response-Suppress") != NULL)
		return TRUE;
	if ((v = m->msg != NULL ? g_mime_message_get_subject(m->msg) : NULL) !=
	    NULL) {
		g_autofree char *s = g_utf8_strdown(v, -1);

		for (i = 0; i < G_N_ELEMENTS(subjects); i++)
			if (strstr(s, subjects[i]) != NULL)
				return TRUE;
	}
	return FALSE;
}

/* pipe_is_loop - mail that carries one of our List-Ids or X-Loops */
static gboolean
pipe_is_loop(struct pipe_msg *m)
{
	const struct config *config = m->ctx->config;
	GMimeHeaderList *hl;
	guint i;
	int h, n;

	if (m->msg == NULL)
		return FALSE;
	hl = g_mime_object_get_header_list(GMIME_OBJECT(m->msg));
	n = g_mime_header_list_get_count(hl);
	for (h = 0; h < n && h < 500; h++) {
		GMimeHeader *hd = g_mime_header_list_get_header_at(hl, h);
		const char *name = g_mime_header_get_name(hd);
		const char *value = g_mime_header_get_value(hd);
		g_autofree char *v = NULL;

		if (value == NULL || (g_ascii_strcasecmp(name, "List-Id") != 0 &&
		    g_ascii_strcasecmp(name, "X-Loop") != 0))
			continue;
		v = g_ascii_strdown(value, -1);
		for (i = 0; i < config->lists->len; i++) {
			const struct list_config *l =
			    g_ptr_array_index(config->lists, i);
			g_autofree char *id = g_ascii_strdown(l->local, -1);
			g_autofree char *dom = g_ascii_strdown(l->domain, -1);
			g_autofree char *want = g_ascii_strcasecmp(name,
			    "List-Id") == 0 ? g_strdup_printf("<%s.%s>", id, dom) :
			    g_strdup_printf("%s@%s", id, dom);

			if (strstr(v, want) != NULL)
				return TRUE;
		}
	}
	return FALSE;
}

/* pipe_referenced_delivery - the first delivery of ours that In-Reply-To
 * or References names, 0 if none */
static gint64
pipe_referenced_delivery(struct pipe_msg *m)
{
	static const char *const names[] = { "In-Reply-To", "References" };
	size_t i;
	gint64 d;

	for (i = 0; i < G_N_ELEMENTS(names); i++) {
		const char *v = pipe_header(m, names[i]);
		GMimeReferences *refs;
		int j, n;

		if (v == NULL || (refs = g_mime_references_parse(NULL, v)) == NULL)
			continue;
		n = g_mime_references_length(refs);
		for (j = n - 1; j >= 0; j--)
			if (compose_message_id_delivery(
			    g_mime_references_get_message_id(refs, j),
			    m->list->domain, &m->ctx->key, &d) && d > 0) {
				g_mime_references_free(refs);
				return d;
			}
		g_mime_references_free(refs);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* The store */

/* pipe_list_id - the list's row id; 0 (no error) when it has none yet
 * and CREATE is FALSE */
static gint64
pipe_list_id(struct pipe_msg *m, gboolean create, GError **error)
{
	return store_list_row(m->ctx->store, m->list->name, create, error);
}

/* pipe_drop_nouser - "no such member" is an answer, not a failure: drop
 * a NOUSER error ERR, pass any other on to ERROR (ERR may be NULL) */
static void
pipe_drop_nouser(GError *err, GError **error)
{
	if (err == NULL)
		return;
	if (err->code != HERALD_ERROR_NOUSER)
		g_propagate_error(error, err);
	else
		g_error_free(err);
}

/* pipe_status - a membership's status; NULL (no error) when none */
static const char *
pipe_status(struct pipe_msg *m, gint64 list_id, gint64 sub, GError **error)
{
	GError *err = NULL;
	const char *s;

	if (list_id == 0)
		return NULL;
	s = membership_status(m->ctx->store, list_id, sub, &err);
	if (s == NULL)
		pipe_drop_nouser(err, error);
	return s;
}

/* pipe_subscriber - a subscriber by id or address; NULL (no error) when
 * there is none */
static struct subscriber *
pipe_subscriber(struct pipe_msg *m, gint64 id, const char *email,
    GError **error)
{
	GError *err = NULL;
	struct subscriber *s = email != NULL ?
	    subscriber_find(m->ctx->store, email, &err) :
	    subscriber_get(m->ctx->store, id, &err);

	if (s == NULL)
		pipe_drop_nouser(err, error);
	return s;
}

/* pipe_action - the shared actions' context for this message: channel
 * mail, the outcome words of the log line, its notices */
static void
pipe_action(struct pipe_msg *m, struct action_ctx *a)
{
	memset(a, 0, sizeof(*a));
	a->config = m->ctx->config;
	a->store = m->ctx->store;
	a->key = &m->ctx->key;
	a->channel = "mail";
	a->now = m->now;
	a->outcome = m->res->outcome;
	a->notices = &m->res->notices;
}

/* ------------------------------------------------------------------ */
/* Notices */

/* pipe_queue - MSG to RCPTS into the outbox, in the open transaction;
 * pipe_deliver sends it once everything is committed */
static gboolean
pipe_queue(struct pipe_msg *m, gint64 list_id, gint64 sub, const char *kind,
    const char *what, GMimeMessage *msg, const char *const *rcpts,
    GError **error)
{
	g_autofree char *envelope = notice_address(m->list, "-bounces", NULL);
	g_autoptr(GBytes) bytes = notice_bytes(m->list, msg, error);
	struct action_notice ref = { 0, what };

	if (bytes == NULL)
		return FALSE;
	if (!outbox_queue(m->ctx->store, list_id, sub, kind, envelope, rcpts,
	    bytes, m->now, &ref.id, error))
		return FALSE;
	if (m->res->notices == NULL)
		m->res->notices = g_array_new(FALSE, FALSE, sizeof(ref));
	g_array_append_val(m->res->notices, ref);
	return TRUE;
}

/* pipe_queue_text - a plain text notice to TO, queued */
static gboolean
pipe_queue_text(struct pipe_msg *m, gint64 list_id, gint64 sub,
    const char *kind, const char *what, const char *to, const char *reply_to,
    const char *subject, const char *text, GError **error)
{
	GMimeMessage *msg = notice_compose(m->list, to, reply_to, subject, text,
	    TRUE);
	const char *rcpts[] = { to, NULL };
	gboolean ok = pipe_queue(m, list_id, sub, kind, what, msg, rcpts, error);

	g_object_unref(msg);
	return ok;
}

/* pipe_queue_help - what the list's addresses do, to TO (a transaction
 * of its own) */
static gboolean
pipe_queue_help(struct pipe_msg *m, const char *to, GError **error)
{
	g_autofree char *title = action_list_title(m->list);
	g_autofree char *sub = notice_address(m->list, "-subscribe", NULL);
	g_autofree char *unsub = notice_address(m->list, "-unsubscribe", NULL);
	g_autofree char *owner = notice_address(m->list, "-owner", NULL);
	g_autofree char *subject = g_strdup_printf("Help for %s", m->list->name);
	g_autofree char *text = g_strdup_printf("%s\n%s%s%s\nThe addresses of"
	    " this list:\n\n  %s\n      send any mail here to subscribe (you"
	    " will be asked to confirm)\n  %s\n      send any mail here to"
	    " unsubscribe (you will be asked to confirm;\n      the link at the"
	    " foot of each announcement works at once)\n  %s\n      reaches"
	    " the people behind the list\n\nTo this -request address, a line"
	    " with one of these words works too:\nhelp, subscribe,"
	    " unsubscribe.\n", title, m->list->description != NULL ? "(" : "",
	    m->list->description != NULL ? m->list->description : "",
	    m->list->description != NULL ? ")\n" : "", sub, unsub, owner);
	gint64 list_id;

	if (!store_begin(m->ctx->store, error))
		return FALSE;
	if ((list_id = pipe_list_id(m, TRUE, error)) < 0 ||
	    !pipe_queue_text(m, list_id, 0, "help", "help", to, NULL, subject,
	    text, error) || !store_commit(m->ctx->store, error)) {
		store_rollback(m->ctx->store);
		return FALSE;
	}
	g_string_append(m->res->outcome, "help requested");
	return TRUE;
}

/* ------------------------------------------------------------------ */
/* Unsubscribe and subscribe */

/* pipe_test_token - a verified token of a test copy (herald send --test,
 * token.h): the copy was rendered for subscriber SUB_ID but went to a
 * tester, so the token acts on nobody; the outcome (the log line) says so */
static gboolean
pipe_test_token(struct pipe_msg *m, gint64 sub_id)
{
	g_string_append_printf(m->res->outcome, "a test copy's token (rendered"
	    " as subscriber %" G_GINT64_FORMAT "): it acts on nobody, nothing"
	    " changed", sub_id);
	return TRUE;
}

/* pipe_unsubscribe_request - no token: ask the subscribed address among
 * CANDIDATES (subscriber ids first, then addresses) to confirm. Nobody
 * subscribed: no mail at all. */
static gboolean
pipe_unsubscribe_request(struct pipe_msg *m, gint64 linked,
    GError **error)
{
	const char *candidates[] = { pipe_from(m, NULL), m->sender };
	g_autoptr(subscriber) sub = NULL;
	const char *status = NULL;
	struct action_ctx a;
	gint64 list_id;
	size_t i;

	if ((list_id = pipe_list_id(m, FALSE, error)) < 0)
		return FALSE;
	if (list_id == 0) {
		g_string_append(m->res->outcome, "unsubscribe request: not"
		    " subscribed, no mail");
		return TRUE;
	}
	for (i = 0; i <= G_N_ELEMENTS(candidates); i++) {
		GError *err = NULL;

		if (i == 0 && linked <= 0)
			continue;
		if (i > 0 && (candidates[i - 1] == NULL ||
		    *candidates[i - 1] == '\0'))
			continue;
		g_clear_pointer(&sub, subscriber_free);
		sub = pipe_subscriber(m, i == 0 ? linked : 0,
		    i == 0 ? NULL : candidates[i - 1], &err);
		if (err != NULL) {
			g_propagate_error(error, err);
			return FALSE;
		}
		if (sub == NULL)
			continue;
		status = pipe_status(m, list_id, sub->id, &err);
		if (err != NULL) {
			g_propagate_error(error, err);
			return FALSE;
		}
		if (status != NULL && (strcmp(status, MEMBER_ACTIVE) == 0 ||
		    strcmp(status, MEMBER_PENDING) == 0 ||
		    strcmp(status, MEMBER_DISABLED) == 0))
			break;
		status = NULL;
	}
	if (status == NULL) {
		g_string_append(m->res->outcome, "unsubscribe request: not"
		    " subscribed, no mail");
		return TRUE;
	}
	pipe_action(m, &a);
	return action_unsubscribe_request(&a, m->list, sub, NULL, error);
}

/* pipe_subscribe_request - double opt-in for the address that asked */
static gboolean
pipe_subscribe_request(struct pipe_msg *m, GError **error)
{
	const char *name = NULL;
	const char *addr = pipe_from(m, &name);
	struct action_ctx a;

	if (addr == NULL || *addr == '\0')
		addr = m->sender;
	if (!m->list->subscribe_by_mail) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_NOUSER,
		    "%s is closed to subscription by mail", m->list->address);
		return FALSE;
	}
	if (!notice_may_send_to(addr) ||
	    !subscriber_check_email(addr, NULL)) {
		g_string_append_printf(m->res->outcome, "subscribe request from"
		    " <%s>: address takes no notices, dropped", addr);
		return TRUE;
	}
	if (pipe_is_autoreply(m)) {
		g_string_append(m->res->outcome, "subscribe request is an"
		    " auto-reply, dropped");
		return TRUE;
	}
	pipe_action(m, &a);
	return action_subscribe_request(&a, m->list, addr, name, NULL, NULL,
	    NULL, error);
}

/* pipe_confirm - a token of purpose s or c, from mail to LIST-confirm+
 * or a "confirm TOKEN" command */
static gboolean
pipe_confirm(struct pipe_msg *m, const char *token, GError **error)
{
	struct action_ctx a;

	if (*m->sender == '\0' || pipe_is_autoreply(m)) {
		g_string_append(m->res->outcome, "confirmation by an auto-reply"
		    " or a bounce ignored");
		return TRUE;
	}
	pipe_action(m, &a);
	return action_confirm(&a, m->list, token, NULL, error);
}

/* ------------------------------------------------------------------ */
/* Complaints and bounces */

/* pipe_test_return - a bounce or a complaint about a test copy (a test
 * bounce token in the envelope address, or in the returned headers): the
 * copy was rendered for subscriber SUB_ID, who never got it, so nothing
 * is recorded, scored or blocklisted. When the token was the envelope
 * address (FORWARD: the relay bounced the copy to its VERP sender) it goes
 * to the owners, so a test's bounce still reaches a person; a token found
 * only inside the message is logged alone, since that may be the bounce
 * of such a forward (no loop). */
static gboolean
pipe_test_return(struct pipe_msg *m, gint64 sub_id, gboolean forward,
    GError **error)
{
	const char *what = m->msg != NULL && bounce_is_complaint(m->msg) ?
	    "complaint" : "bounce";
	g_autofree char *subject = NULL, *summary = NULL;
	GMimeMessage *fwd;
	gboolean queued;
	gint64 list_id = 0;

	g_string_append_printf(m->res->outcome, "%s of a test copy (rendered"
	    " as subscriber %" G_GINT64_FORMAT "): nothing recorded or scored",
	    what, sub_id);
	if (!forward)
		return TRUE;
	if (m->list->owners == NULL || m->list->owners[0] == NULL) {
		g_string_append(m->res->outcome, ", no owners to forward to");
		return TRUE;
	}
	subject = g_strdup_printf("[%s test] %s of a test copy", m->list->name,
	    what);
	summary = g_strdup_printf("A %s of a test copy (herald send --test)"
	    " arrived at %s-bounces@%s.\nIt counts for nobody: the copy was"
	    " rendered as subscriber %" G_GINT64_FORMAT " but sent to the"
	    " tester.\nThe %s is attached.\n", what, m->list->local,
	    m->list->domain, sub_id, what);
	fwd = notice_forward(m->list, m->raw, NULL, subject, summary);
	/* through the outbox like every notice: a relay that is down leaves
	 * it queued for the next run, not the bounce to the MTA */
	queued = store_begin(m->ctx->store, error) &&
	    (list_id = pipe_list_id(m, TRUE, error)) >= 0 &&
	    pipe_queue(m, list_id, 0, "forward", "forward to the owners", fwd,
	    (const char *const *)m->list->owners, error) &&
	    store_commit(m->ctx->store, error);
	g_object_unref(fwd);
	if (!queued) {
		store_rollback(m->ctx->store);
		return FALSE;
	}
	return TRUE;
}

/* pipe_token_in - a local part "LIST-SUFFIX+TOKEN" of ours whose token
 * verifies for one of the purposes in ACCEPT: TRUE, *LIST and *CLAIM set.
 * FALSE otherwise, nothing set; when TEXT is ours and holds a token that
 * does not pass, the outcome (the log line) says why */
static gboolean
pipe_token_in(struct pipe_msg *m, const char *text, guint accept,
    const struct list_config **list, struct token_claim *claim)
{
	g_autofree char *addr = strchr(text, '@') != NULL ? g_strdup(text) :
	    g_strdup_printf("%s@", text);
	struct pipe_address a;
	GError *why = NULL;
	gboolean ok = FALSE;

	/* no domain in a bare local part: accept any of our lists' */
	if (g_str_has_suffix(addr, "@")) {
		guint i;

		for (i = 0; i < m->ctx->config->lists->len && !ok; i++) {
			const struct list_config *l =
			    g_ptr_array_index(m->ctx->config->lists, i);
			g_autofree char *full = g_strconcat(addr, l->domain, NULL);

			ok = pipe_token_in(m, full, accept, list, claim);
		}
		return ok;
	}
	pipe_address_parse(m->ctx->config, addr, &a);
	if (a.list != NULL && a.extension != NULL) {
		if (token_verify(&m->ctx->key, a.extension, a.list->name, accept,
		    claim, &why)) {
			*list = a.list;
			ok = TRUE;
		} else {
			g_string_append_printf(m->res->outcome, "a token in the"
			    " message refused (%s); ", why->message);
			g_clear_error(&why);
		}
	}
	pipe_address_clear(&a);
	return ok;
}

/* who sent a complaint, as pipe_complaint_find found them */
struct pipe_complainer {
	const struct list_config *list;	/* the list a token names */
	gint64 sub_id, delivery;	/* 0: not known */
	gboolean test;			/* a test copy's token: nobody */
	const char *how;		/* the log's words for how */
};

/* pipe_complaint_unsub - the unsubscribe token in the List-Unsubscribe
 * mailto of the returned headers C: TRUE, *LIST and *TC set, when one
 * verifies */
static gboolean
pipe_complaint_unsub(struct pipe_msg *m, const struct bounce_complaint *c,
    const struct list_config **list, struct token_claim *tc)
{
	GMimeHeader *h = g_mime_header_list_get_header(c->original_headers,
	    "List-Unsubscribe");
	const char *v = h != NULL ? g_mime_header_get_value(h) : NULL;
	const char *p = v != NULL ? strstr(v, "mailto:") : NULL;
	g_autofree char *a = NULL;

	if (p == NULL)
		return FALSE;
	a = g_strndup(p + 7, strcspn(p + 7, ">?,"));
	return pipe_token_in(m, a, TOKEN_ACCEPT_UNSUBSCRIBE |
	    TOKEN_ACCEPT_TEST_UNSUBSCRIBE, list, tc);
}

/* pipe_complaint_find - who complained, when the envelope's token did not
 * say (W->sub_id 0): the VERP token in the returned headers, the
 * unsubscribe token, or the reported recipient. W->test set when a test
 * copy's token was found (W->sub_id the copy's); FALSE on error */
static gboolean
pipe_complaint_find(struct pipe_msg *m, const struct bounce_complaint *c,
    struct pipe_complainer *w, GError **error)
{
	g_autoptr(GPtrArray) cands = bounce_verp_candidates(m->msg);
	g_autoptr(subscriber) sub = NULL;
	struct token_claim tc;
	GError *err = NULL;
	guint i;

	for (i = 0; w->sub_id == 0 && i < cands->len; i++) {
		if (!pipe_token_in(m, g_ptr_array_index(cands, i),
		    TOKEN_ACCEPT_BOUNCE | TOKEN_ACCEPT_TEST_BOUNCE, &w->list, &tc))
			continue;
		w->sub_id = tc.subscriber_id;
		if ((w->test = token_is_test(tc.purpose)))
			return TRUE;
		w->delivery = tc.extra_id;
		w->how = "VERP token";
	}
	if (w->sub_id == 0 && c != NULL && c->original_headers != NULL) {
		if (pipe_complaint_unsub(m, c, &w->list, &tc)) {
			w->sub_id = tc.subscriber_id;
			if ((w->test = token_is_test(tc.purpose)))
				return TRUE;
			w->how = "unsubscribe token";
		}
	} else if (w->sub_id != 0 && w->how == NULL)
		w->how = "VERP token";
	if (w->sub_id != 0 || c == NULL || c->recipient == NULL)
		return TRUE;
	if ((sub = pipe_subscriber(m, 0, c->recipient, &err)) == NULL &&
	    err != NULL) {
		g_propagate_error(error, err);
		return FALSE;
	}
	if (sub != NULL) {
		w->sub_id = sub->id;
		w->how = "reported recipient";
	}
	return TRUE;
}

/* pipe_complaint_blocklist - W's complainer blocklisted on every list
 * they are on (not yet blocklisted), in the open transaction */
static gboolean
pipe_complaint_blocklist(struct pipe_msg *m, const struct bounce_complaint *c,
    const struct pipe_complainer *w, GError **error)
{
	const char *type = c != NULL ? c->feedback_type : NULL;
	g_autofree char *detail = g_strdup_printf("ARF %s", type != NULL ?
	    type : "report");
	g_autoptr(GArray) lists = store_membership_lists_of(m->ctx->store,
	    w->sub_id, error);
	guint i;

	if (lists == NULL)
		return FALSE;
	for (i = 0; i < lists->len; i++)
		if (!membership_set(m->ctx->store, g_array_index(lists, gint64, i),
		    w->sub_id, MEMBER_BLOCKLISTED, "complaint", "complaint",
		    detail, error))
			return FALSE;
	g_string_append_printf(m->res->outcome, "complaint (%s) from"
	    " subscriber %" G_GINT64_FORMAT " found by %s: blocklisted on"
	    " %u list%s", type != NULL ? type : "ARF", w->sub_id, w->how,
	    lists->len, lists->len == 1 ? "" : "s");
	return TRUE;
}

/* pipe_complaint_record - the complaint C from W stored once (by its
 * digest) and its complainer blocklisted, in one transaction */
static gboolean
pipe_complaint_record(struct pipe_msg *m, const struct bounce_complaint *c,
    const struct pipe_complainer *w, GError **error)
{
	struct store_complaint rec = { 0 };
	gint64 seen;

	if (!store_begin(m->ctx->store, error))
		return FALSE;
	if ((rec.list_id = pipe_list_id(m, TRUE, error)) < 0 ||
	    (seen = store_complaint_find(m->ctx->store, m->digest, rec.list_id,
	    error)) < 0)
		goto fail;
	if (seen > 0) {
		g_string_append_printf(m->res->outcome, "complaint %"
		    G_GINT64_FORMAT " seen before", seen);
		store_rollback(m->ctx->store);
		return TRUE;
	}
	rec.subscriber_id = w->sub_id;
	rec.delivery_id = w->delivery;
	rec.feedback_type = c != NULL ? c->feedback_type : NULL;
	rec.user_agent = c != NULL ? c->user_agent : NULL;
	rec.reporter = m->sender;
	rec.recipient = c != NULL ? c->recipient : NULL;
	rec.digest = m->digest;
	rec.raw = m->raw;
	if (!store_complaint_record(m->ctx->store, &rec, error) ||
	    (w->sub_id != 0 && !pipe_complaint_blocklist(m, c, w, error)))
		goto fail;
	if (w->sub_id == 0)
		g_string_append(m->res->outcome, "complaint recorded, no"
		    " subscriber found in it");
	return store_commit(m->ctx->store, error);
fail:
	store_rollback(m->ctx->store);
	return FALSE;
}

/* pipe_complaint - an ARF report: find who complained (the VERP token in
 * the returned headers, the unsubscribe token, or the reported recipient),
 * blocklist them on every list they are on, record the complaint */
static gboolean
pipe_complaint(struct pipe_msg *m, gint64 env_sub, gint64 env_delivery,
    GError **error)
{
	struct bounce_complaint *c = bounce_complaint_parse(m->msg);
	struct pipe_complainer w = { m->list, env_sub, env_delivery, FALSE,
	    NULL };
	gboolean ok;

	if (!pipe_complaint_find(m, c, &w, error))
		ok = FALSE;
	else if (w.test)
		ok = pipe_test_return(m, w.sub_id, FALSE, error);
	else {
		m->list = w.list;
		m->res->list = w.list;
		ok = pipe_complaint_record(m, c, &w, error);
	}
	bounce_complaint_free(c);
	return ok;
}

/* pipe_bounce_hand_over - a bounce for LIST (SUB_ID and DELIVERY from a
 * verified VERP token, 0 when none) goes to the bounce policy, which
 * stores it (bounded), classifies and scores it; inbound_bounces records
 * the arrival (envelope, token, digest), so the same bytes delivered
 * again (an MTA retry after a crash past the commit) count once. All in
 * one transaction; notices the policy queued are sent after the commit. */
static gboolean
pipe_bounce_hand_over(struct pipe_msg *m, gint64 sub_id, gint64 delivery,
    const char *token, GError **error)
{
	struct bounce_verp verp = { sub_id, delivery };
	struct mailer out = { m->ctx->config, m->ctx->store };
	struct bounce_notifier notifier = { bounce_policy_mail_notice, &out };
	struct bounce_outcome oc = { 0 };
	struct store_bounce_arrival arr = { 0, sub_id, delivery, token,
	    m->sender, m->digest, 0 };
	gint64 seen;
	gsize len;
	const char *raw = g_bytes_get_data(m->raw, &len);

	if (!store_begin(m->ctx->store, error))
		return FALSE;
	if ((arr.list_id = pipe_list_id(m, TRUE, error)) < 0 ||
	    (seen = store_bounce_arrival_find(m->ctx->store, m->digest,
	    arr.list_id, error)) < 0)
		goto fail;
	if (seen > 0) {
		g_string_append_printf(m->res->outcome, "bounce %" G_GINT64_FORMAT
		    " seen before", seen);
		store_rollback(m->ctx->store);
		return TRUE;
	}
	if (!bounce_policy_handle(m->ctx->store, m->list,
	    sub_id != 0 ? &verp : NULL, m->msg, raw, len, NULL, m->now,
	    &notifier, &oc, error))
		goto fail;
	arr.mail_id = oc.mail_id;
	if (!store_bounce_arrival_add(m->ctx->store, &arr, error) ||
	    !store_commit(m->ctx->store, error))
		goto fail;
	if (sub_id != 0)
		g_string_append_printf(m->res->outcome, "bounce for subscriber %"
		    G_GINT64_FORMAT " delivery %" G_GINT64_FORMAT, sub_id,
		    delivery);
	else
		g_string_append(m->res->outcome, "bounce without a valid token");
	g_string_append_printf(m->res->outcome, ": %d recipient(s) stored, %d"
	    " scored, %d disabled", oc.stored, oc.scored, oc.disabled);
	if (oc.notices > 0 && m->ctx->grouped) {
		/* not while the group's transaction is open: pipe_flush() */
		m->res->flush = TRUE;
		g_string_append_printf(m->res->outcome, ", %d notice(s) queued",
		    oc.notices);
	} else if (oc.notices > 0) {
		int sent = 0, failed = 0, queued = 0;

		/* after the commit: a relay that is down leaves them queued
		 * for herald maintain, never an error for the MTA */
		if (!bounce_policy_flush(m->ctx->store, m->ctx->config, m->now,
		    &notifier, &sent, &failed, &queued, NULL))
			queued = oc.notices;
		g_string_append_printf(m->res->outcome, ", %d notice(s) sent,"
		    " %d queued", sent, queued);
	}
	return TRUE;
fail:
	store_rollback(m->ctx->store);
	return FALSE;
}

/* pipe_bounces - LIST-bounces[+TOKEN]@: complaints apart, a bounce */
static gboolean
pipe_bounces(struct pipe_msg *m, const char *ext, GError **error)
{
	struct token_claim tc;
	gint64 sub = 0, delivery = 0;
	g_autofree char *found = NULL;
	const char *token = NULL;
	GError *why = NULL;

	if (ext != NULL && token_verify(&m->ctx->key, ext, m->list->name,
	    TOKEN_ACCEPT_BOUNCE | TOKEN_ACCEPT_TEST_BOUNCE, &tc, &why)) {
		if (token_is_test(tc.purpose))
			return pipe_test_return(m, tc.subscriber_id, TRUE, error);
		token = ext;
		sub = tc.subscriber_id;
		delivery = tc.extra_id;
	} else if (why != NULL) {
		g_string_append_printf(m->res->outcome, "the address's token"
		    " refused (%s); ", why->message);
		g_clear_error(&why);
	}
	if (m->msg != NULL && bounce_is_complaint(m->msg))
		return pipe_complaint(m, sub, delivery, error);
	if (token == NULL && m->msg != NULL) {
		g_autoptr(GPtrArray) cands = bounce_verp_candidates(m->msg);
		guint i;

		for (i = 0; i < cands->len && token == NULL; i++) {
			const char *c = g_ptr_array_index(cands, i);
			const struct list_config *l = NULL;

			if (!pipe_token_in(m, c, TOKEN_ACCEPT_BOUNCE |
			    TOKEN_ACCEPT_TEST_BOUNCE, &l, &tc))
				continue;
			if (token_is_test(tc.purpose))
				return pipe_test_return(m, tc.subscriber_id,
				    FALSE, error);
			if (l != m->list)
				continue;
			sub = tc.subscriber_id;
			delivery = tc.extra_id;
			found = g_strdup(strchr(c, '+') + 1);
			token = found;
		}
	}
	return pipe_bounce_hand_over(m, sub, delivery, token, error);
}

/* ------------------------------------------------------------------ */
/* Replies and owner mail */

/* pipe_queue_forward - reply ID to the owners (Reply-To: the writer), in
 * the open transaction, and mark it forwarded; nothing if the list has no
 * owners */
static gboolean
pipe_queue_forward(struct pipe_msg *m, gint64 list_id, gint64 id,
    gint64 campaign, gint64 sub_id, GError **error)
{
	const char *name = NULL;
	const char *from = pipe_from(m, &name);
	const char *subject = m->msg != NULL ?
	    g_mime_message_get_subject(m->msg) : NULL;
	g_autofree char *fsubject = NULL, *summary = NULL;
	g_autofree char *subtext = sub_id > 0 ? g_strdup_printf("#%"
	    G_GINT64_FORMAT, sub_id) : g_strdup("not a subscriber");
	g_autofree char *camptext = campaign > 0 ? g_strdup_printf("#%"
	    G_GINT64_FORMAT, campaign) : g_strdup("not linked");
	const char *reply_to = from != NULL && *from != '\0' ? from :
	    *m->sender != '\0' ? m->sender : NULL;
	GMimeMessage *fwd;
	gboolean ok;

	if (m->list->owners == NULL || m->list->owners[0] == NULL)
		return TRUE;
	fsubject = g_strdup_printf("[%s %s] %s", m->list->name,
	    m->res->route == PIPE_ROUTE_OWNER ? "owner" : "reply",
	    subject != NULL ? subject : "(no subject)");
	summary = g_strdup_printf("%s arrived at %s.\n\nFrom: %s%s%s\n"
	    "Envelope sender: <%s>\nSubscriber: %s\nCampaign: %s\nStored as:"
	    " herald reply show %" G_GINT64_FORMAT "\n\nReplying to this"
	    " message answers the sender. The message is attached.\n",
	    m->res->route == PIPE_ROUTE_OWNER ? "Mail for the list owners" :
	    "A reply to an announcement", m->res->route == PIPE_ROUTE_OWNER ?
	    "the owner address" : m->list->address,
	    name != NULL ? name : "", name != NULL ? " " : "",
	    from != NULL ? from : "(none)", m->sender, subtext, camptext, id);
	fwd = notice_forward(m->list, m->raw, reply_to, fsubject, summary);
	ok = pipe_queue(m, list_id, sub_id, "forward", "forward to the owners",
	    fwd, (const char *const *)m->list->owners, error);
	g_object_unref(fwd);
	return ok && store_reply_forwarded(m->ctx->store, id, error);
}

/* pipe_reply_add - the message stored as a reply of KIND on LIST_ID;
 * its row id, 0 on error */
static gint64
pipe_reply_add(struct pipe_msg *m, gint64 list_id, const char *kind,
    gint64 campaign, gint64 sub_id, GError **error)
{
	struct store_reply r = { 0 };

	r.list_id = list_id;
	r.route = pipe_route_name(m->res->route);
	r.kind = kind;
	r.envelope_from = m->sender;
	r.from_addr = pipe_from(m, &r.from_name);
	r.subject = m->msg != NULL ? g_mime_message_get_subject(m->msg) : NULL;
	r.message_id = m->msg != NULL ?
	    g_mime_message_get_message_id(m->msg) : NULL;
	r.in_reply_to = pipe_header(m, "In-Reply-To");
	r.campaign_id = campaign;
	r.subscriber_id = sub_id;
	r.digest = m->digest;
	r.raw = m->raw;
	return store_reply_add(m->ctx->store, &r, error);
}

/* pipe_reply_store - store a reply (or owner mail) once and, if FORWARD,
 * queue its forward to the owners with it; *ID is its row, *SEEN set when
 * it was there before */
static gboolean
pipe_reply_store(struct pipe_msg *m, const char *kind, gint64 campaign,
    gint64 sub_id, gboolean forward, gint64 *id, gboolean *seen,
    GError **error)
{
	gint64 list_id;
	gboolean forwarded = FALSE;

	*seen = FALSE;
	if (!store_begin(m->ctx->store, error))
		return FALSE;
	if ((list_id = pipe_list_id(m, TRUE, error)) < 0 ||
	    (*id = store_reply_find(m->ctx->store, m->digest, list_id,
	    &forwarded, error)) < 0)
		goto fail;
	if (*id > 0) {
		*seen = TRUE;
		/* stored by a run before migration 7 whose forward failed */
		if (forward && !forwarded && (!pipe_queue_forward(m, list_id,
		    *id, campaign, sub_id, error) ||
		    !store_commit(m->ctx->store, error)))
			goto fail;
		store_rollback(m->ctx->store);
		return TRUE;
	}
	if ((*id = pipe_reply_add(m, list_id, kind, campaign, sub_id,
	    error)) == 0 || (forward && !pipe_queue_forward(m, list_id, *id,
	    campaign, sub_id, error)))
		goto fail;
	return store_commit(m->ctx->store, error);
fail:
	store_rollback(m->ctx->store);
	return FALSE;
}

/* pipe_reply - mail to the list address or the owner address */
static gboolean
pipe_reply(struct pipe_msg *m, GError **error)
{
	gint64 delivery = pipe_referenced_delivery(m), campaign = 0, sub_id = 0;
	gint64 id, linked;
	gboolean seen = FALSE;
	const char *kind = "reply";
	gboolean forward = TRUE, unsub = FALSE;
	const char *from = pipe_from(m, NULL);

	/* the deliveries table came with migration 2: no link without it */
	(void)store_reply_delivery(m->ctx->store, delivery, &campaign, &sub_id,
	    NULL);
	linked = sub_id;
	if (sub_id == 0 && from != NULL) {
		g_autoptr(subscriber) s = pipe_subscriber(m, 0, from, error);

		if (s == NULL && error != NULL && *error != NULL)
			return FALSE;
		if (s != NULL)
			sub_id = s->id;
	}
	if (pipe_is_loop(m)) {
		kind = "loop";
		forward = FALSE;
	} else if (pipe_is_autoreply(m)) {
		kind = "autoreply";
		forward = FALSE;
	} else if (*m->sender == '\0') {
		kind = "bounce";
		forward = FALSE;
	} else if (m->res->route == PIPE_ROUTE_LIST && pipe_says_unsubscribe(m)) {
		kind = "unsubscribe";
		forward = FALSE;
		unsub = TRUE;
	}
	if (!pipe_reply_store(m, kind, campaign, sub_id, forward, &id, &seen,
	    error))
		return FALSE;
	g_string_append_printf(m->res->outcome, "%s %" G_GINT64_FORMAT
	    " stored%s%s", kind, id, campaign > 0 ? " (campaign linked)" : "",
	    seen ? ", seen before" : "");
	if (unsub) {
		g_string_append(m->res->outcome, "; ");
		return pipe_unsubscribe_request(m, linked, error);
	}
	if (!forward)
		g_string_append(m->res->outcome, ", not forwarded");
	else if (m->list->owners == NULL || m->list->owners[0] == NULL)
		g_string_append(m->res->outcome, ", no owners to forward to");
	return TRUE;
}

/* pipe_request - LIST-request@: one command */
static gboolean
pipe_request(struct pipe_msg *m, GError **error)
{
	g_autofree char *token = NULL;
	const char *from = pipe_from(m, NULL);
	const char *to = from != NULL ? from : m->sender;
	enum pipe_command c;

	if (*m->sender == '\0' || pipe_is_autoreply(m) || pipe_is_loop(m)) {
		g_string_append(m->res->outcome, "auto-reply, bounce or loop to"
		    " the request address, dropped");
		return TRUE;
	}
	c = pipe_command(m, &token);
	switch (c) {
	case PIPE_CMD_HELP:
		if (!notice_may_send_to(to)) {
			g_string_append(m->res->outcome, "help: address takes no"
			    " notices");
			return TRUE;
		}
		return pipe_queue_help(m, to, error);
	case PIPE_CMD_SUBSCRIBE:
		return pipe_subscribe_request(m, error);
	case PIPE_CMD_UNSUBSCRIBE:
		return pipe_unsubscribe_request(m, 0, error);
	case PIPE_CMD_CONFIRM:
		return pipe_confirm(m, token, error);
	case PIPE_CMD_NONE:
		break;
	}
	g_set_error(error, HERALD_ERROR, HERALD_ERROR_DATA,
	    "no command found in the subject or the first lines; send \"help\""
	    " to %s-request@%s", m->list->local, m->list->domain);
	return FALSE;
}

/* pipe_unsubscribe - LIST-unsubscribe[+TOKEN]@ */
static gboolean
pipe_unsubscribe(struct pipe_msg *m, const char *ext, GError **error)
{
	struct token_claim tc;
	GError *why = NULL;

	if (ext != NULL && token_verify(&m->ctx->key, ext, m->list->name,
	    TOKEN_ACCEPT_UNSUBSCRIBE | TOKEN_ACCEPT_TEST_UNSUBSCRIBE, &tc,
	    &why)) {
		struct action_ctx a;

		if (token_is_test(tc.purpose))
			return pipe_test_token(m, tc.subscriber_id);
		pipe_action(m, &a);
		return action_unsubscribe(&a, m->list, tc.subscriber_id,
		    "token", NULL, error);
	}
	if (why != NULL) {
		g_string_append_printf(m->res->outcome, "token not valid for"
		    " this list (%s); ", why->message);
		g_clear_error(&why);
	}
	if (*m->sender == '\0' || pipe_is_autoreply(m) || pipe_is_loop(m)) {
		g_string_append(m->res->outcome, "auto-reply or bounce, dropped");
		return TRUE;
	}
	return pipe_unsubscribe_request(m, 0, error);
}

/* ------------------------------------------------------------------ */
/* The entry */

/* pipe_parse - the message in RAW, or NULL */
static GMimeMessage *
pipe_parse(GBytes *raw)
{
	GMimeStream *mem = g_mime_stream_mem_new_with_buffer(
	    g_bytes_get_data(raw, NULL), g_bytes_get_size(raw));
	GMimeParser *parser = g_mime_parser_new_with_stream(mem);
	GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);

	g_object_unref(parser);
	g_object_unref(mem);
	return msg;
}

/* pipe_deliver - see pipe.h */
gboolean
pipe_deliver(struct pipe_ctx *ctx, const char *recipient, const char *sender,
    GBytes *raw, struct pipe_result *res, GError **error)
{
	struct pipe_address a;
	struct pipe_msg m = { 0 };
	gboolean ok = FALSE;
	GError *err = NULL;

	if (res->outcome == NULL)
		res->outcome = g_string_new(NULL);
	pipe_address_parse(ctx->config, recipient, &a);
	res->list = a.list;
	res->route = a.route;
	m.ctx = ctx;
	m.list = a.list;
	m.res = res;
	m.sender = sender != NULL ? sender : "";
	m.raw = raw;
	m.now = g_get_real_time() / G_USEC_PER_SEC;
	if (a.route == PIPE_ROUTE_NONE) {
		g_set_error(&err, HERALD_ERROR, HERALD_ERROR_NOUSER,
		    "no list has the address %s", recipient);
		goto out;
	}
	if (g_bytes_get_size(raw) == 0) {
		g_set_error(&err, HERALD_ERROR, HERALD_ERROR_DATA,
		    "the message is empty (0 bytes)");
		goto out;
	}
	m.digest = g_compute_checksum_for_bytes(G_CHECKSUM_SHA256, raw);
	m.msg = pipe_parse(raw);
	if (m.msg == NULL && a.route != PIPE_ROUTE_BOUNCES) {
		g_set_error(&err, HERALD_ERROR, HERALD_ERROR_DATA,
		    "the input is not a mail message");
		goto out;
	}
	switch (a.route) {
	case PIPE_ROUTE_BOUNCES:
		ok = pipe_bounces(&m, a.extension, &err);
		break;
	case PIPE_ROUTE_UNSUBSCRIBE:
		ok = pipe_unsubscribe(&m, a.extension, &err);
		break;
	case PIPE_ROUTE_SUBSCRIBE:
		if (*m.sender == '\0' || pipe_is_loop(&m)) {
			g_string_append(res->outcome, "bounce or loop, dropped");
			ok = TRUE;
		} else
			ok = pipe_subscribe_request(&m, &err);
		break;
	case PIPE_ROUTE_CONFIRM:
		ok = pipe_confirm(&m, a.extension, &err);
		break;
	case PIPE_ROUTE_OWNER:
		if (bounce_is_complaint(m.msg))
			ok = pipe_complaint(&m, 0, 0, &err);
		else
			ok = pipe_reply(&m, &err);
		break;
	case PIPE_ROUTE_REQUEST:
		ok = pipe_request(&m, &err);
		break;
	case PIPE_ROUTE_LIST:
		ok = pipe_reply(&m, &err);
		break;
	case PIPE_ROUTE_NONE:
		break;
	}
out:
	if (!ok && *m.sender == '\0' && err != NULL &&
	    err->code != HERALD_ERROR_TEMP) {
		/* never a permanent failure for the null sender */
		g_string_append_printf(res->outcome, "%sfrom the null sender,"
		    " dropped: %s", res->outcome->len > 0 ? "; " : "",
		    err->message);
		g_clear_error(&err);
		ok = TRUE;
	}
	if (ok && !ctx->grouped)
		if (!action_notices_send(ctx->config, ctx->store, res->notices,
		    m.now, res->outcome))
			res->deferred = TRUE;
	if (err != NULL)
		g_propagate_error(error, err);
	g_clear_object(&m.msg);
	g_free(m.digest);
	pipe_address_clear(&a);
	return ok;
}

/* pipe_send_queued - see pipe.h */
void
pipe_send_queued(struct pipe_ctx *ctx, struct pipe_result *res)
{
	if (!action_notices_send(ctx->config, ctx->store, res->notices,
	    g_get_real_time() / G_USEC_PER_SEC, res->outcome))
		res->deferred = TRUE;
}

/* pipe_exit_status - see pipe.h */
int
pipe_exit_status(const GError *error)
{
	if (error == NULL)
		return EX_OK;
	if (error->domain == HERALD_ERROR) {
		if (error->code == HERALD_ERROR_NOUSER)
			return EX_NOUSER;
		if (error->code == HERALD_ERROR_DATA)
			return EX_DATAERR;
	}
	return EX_TEMPFAIL;	/* whatever else it is, it may pass */
}

/* pipe_oversize - see pipe.h */
int
pipe_oversize(const struct config *config, const char *recipient,
    const char *sender, struct pipe_result *res, char **line)
{
	struct pipe_address a;

	*line = NULL;
	if (res->outcome == NULL)
		res->outcome = g_string_new(NULL);
	pipe_address_parse(config, recipient, &a);
	res->list = a.list;
	res->route = a.route;
	pipe_address_clear(&a);
	if (sender != NULL && *sender != '\0') {
		*line = g_strdup_printf("5.3.4 message too big for %s (limit %"
		    G_GINT64_FORMAT " bytes)", recipient, config->pipe.max_size);
		return EX_UNAVAILABLE;
	}
	if (res->route != PIPE_ROUTE_BOUNCES) {
		g_string_printf(res->outcome, "larger than %" G_GINT64_FORMAT
		    " bytes, from the null sender: dropped",
		    config->pipe.max_size);
		return EX_OK;
	}
	/* a bounce: its address names the delivery, and the report comes
	 * first; the rest is the returned message */
	g_string_printf(res->outcome, "larger than %" G_GINT64_FORMAT " bytes,"
	    " its first %" G_GINT64_FORMAT " handled: ", config->pipe.max_size,
	    config->pipe.max_size);
	return -1;
}

/* pipe_log_line - see pipe.h */
char *
pipe_log_line(const struct pipe_result *res, const char *sender,
    const char *recipient, int status)
{
	g_autofree char *line = NULL;

	/* the line is also the LMTP reply's text and goes to syslog: no
	 * token (masked), no raw 8-bit byte from an address (escaped) */
	line = g_strdup_printf("list=%s route=%s from=<%s> to=<%s> status=%d"
	    "%s: %s", res->list != NULL ? res->list->name : "-",
	    pipe_route_name(res->route), sender != NULL ? sender : "",
	    recipient != NULL ? recipient : "", status, status == EX_TEMPFAIL ?
	    " (deferred)" : "", res->outcome != NULL ? res->outcome->str : "");
	return log_clean(line, TRUE);
}

/* pipe_flush - see pipe.h */
gboolean
pipe_flush(struct pipe_ctx *ctx, int *sent, GError **error)
{
	struct mailer out = { ctx->config, ctx->store };
	struct bounce_notifier notifier = { bounce_policy_mail_notice, &out };

	return bounce_policy_flush(ctx->store, ctx->config,
	    g_get_real_time() / G_USEC_PER_SEC, &notifier, sent, NULL, NULL,
	    error);
}

/* pipe_result_clear - free a result's words */
void
pipe_result_clear(struct pipe_result *result)
{
	if (result->outcome != NULL)
		g_string_free(result->outcome, TRUE);
	result->outcome = NULL;
	g_clear_pointer(&result->notices, g_array_unref);
	result->deferred = FALSE;
}

/* ------------------------------------------------------------------ */
/* Expiry */

/* pipe_expire_pending - see pipe.h */
gboolean
pipe_expire_pending(struct store *store, int hours, guint *expired,
    GError **error)
{
	gint64 cutoff = g_get_real_time() / G_USEC_PER_SEC - (gint64)hours * 3600;
	g_autoptr(GArray) rows = NULL;
	guint i, n = 0;

	if (expired != NULL)
		*expired = 0;
	if (!store_begin(store, error))
		return FALSE;
	if ((rows = store_membership_pending_before(store, cutoff,
	    error)) == NULL)
		goto fail;
	for (i = 0; i + 1 < rows->len; i += 2) {
		gint64 l = g_array_index(rows, gint64, i);
		gint64 s = g_array_index(rows, gint64, i + 1);

		if (!store_membership_pending_drop(store, l, s, error) ||
		    !store_event(store, l, s, "subscribe-expired", "mail",
		    "not confirmed in time", error))
			goto fail;
		n++;
	}
	if (!store_confirmation_expire(store, cutoff, error) ||
	    !store_commit(store, error))
		goto fail;
	if (expired != NULL)
		*expired = n;
	return TRUE;
fail:
	store_rollback(store);
	return FALSE;
}

/* ------------------------------------------------------------------ */
/* The spool */

/* pipe_spool_write - SPOOL/tmp/NAME, then rename to SPOOL/new/NAME */
char *
pipe_spool_write(const char *spool_dir, GBytes *raw, GError **error)
{
	g_autofree char *tmpdir = g_build_filename(spool_dir, "tmp", NULL);
	g_autofree char *newdir = g_build_filename(spool_dir, "new", NULL);
	g_autofree char *name = g_strdup_printf("%" G_GINT64_FORMAT ".%d.%08x",
	    g_get_real_time(), (int)getpid(), g_random_int());
	g_autofree char *tmp = g_build_filename(tmpdir, name, NULL);
	char *path = g_build_filename(newdir, name, NULL);
	const guint8 *p = g_bytes_get_data(raw, NULL);
	gsize left = g_bytes_get_size(raw);
	int fd, e;

	if ((g_mkdir_with_parents(tmpdir, 0700) != 0 ||
	    g_mkdir_with_parents(newdir, 0700) != 0))
		goto fail;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
		goto fail;
	while (left > 0) {
		ssize_t n = write(fd, p, left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = errno;
			close(fd);
			unlink(tmp);
			errno = e;
			goto fail;
		}
		p += n;
		left -= (gsize)n;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		e = errno;
		unlink(tmp);
		errno = e;
		goto fail;
	}
	return path;
fail:
	e = errno;
	g_set_error(error, HERALD_ERROR, HERALD_ERROR_TEMP,
	    "spooling the message in %s: %s", spool_dir, g_strerror(e));
	g_free(path);
	return NULL;
}

/* pipe_spool_finish - archive or drop the spooled copy */
void
pipe_spool_finish(const char *spool_dir, const char *path, gboolean keep)
{
	g_autofree char *curdir = NULL, *base = NULL, *dest = NULL;

	if (path == NULL)
		return;
	if (!keep) {
		unlink(path);
		return;
	}
	curdir = g_build_filename(spool_dir, "cur", NULL);
	base = g_path_get_basename(path);
	dest = g_build_filename(curdir, base, NULL);
	if (g_mkdir_with_parents(curdir, 0700) != 0 || rename(path, dest) != 0)
		unlink(path);	/* the outcome is committed; the copy is a spare */
}

/* pipe_spool_archive - append N messages to SPOOL/cur/lmtp-YYYYMMDD.mbox
 * (mboxrd: a "From " line, ">From " quoted), in one write */
gboolean
pipe_spool_archive(const char *spool_dir, const char *const *senders,
    GBytes *const *raws, guint n, GError **error)
{
	g_autoptr(GDateTime) now = g_date_time_new_now_utc();
	g_autofree char *day = g_date_time_format(now, "lmtp-%Y%m%d.mbox");
	g_autofree char *stamp = g_date_time_format(now, "%a %b %e %H:%M:%S %Y");
	g_autofree char *curdir = g_build_filename(spool_dir, "cur", NULL);
	g_autofree char *path = g_build_filename(curdir, day, NULL);
	g_autoptr(GString) out = g_string_new(NULL);
	gsize off = 0;
	guint i;
	int fd, e;

	for (i = 0; i < n; i++) {
		gsize len;
		const char *p = g_bytes_get_data(raws[i], &len);
		/* an empty message (DATA, then the dot) has no data at all:
		 * NULL, and NULL + 0 is undefined */
		const char *end = len > 0 ? p + len : p;

		g_string_append_printf(out, "From %s %s\n", senders[i] != NULL &&
		    *senders[i] != '\0' ? senders[i] : "MAILER-DAEMON", stamp);
		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			const char *q = p;
			gsize ll = nl != NULL ? (gsize)(nl - p) + 1 :
			    (gsize)(end - p);

			while (q < p + ll && *q == '>')
				q++;
			if ((gsize)(p + ll - q) >= 5 && memcmp(q, "From ", 5) == 0)
				g_string_append_c(out, '>');
			g_string_append_len(out, p, (gssize)ll);
			p += ll;
		}
		if (out->len > 0 && out->str[out->len - 1] != '\n')
			g_string_append_c(out, '\n');
		g_string_append_c(out, '\n');
	}
	if (g_mkdir_with_parents(curdir, 0700) != 0 || (fd = open(path,
	    O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) < 0)
		goto fail;
	while (off < out->len) {
		ssize_t w = write(fd, out->str + off, out->len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			e = errno;
			close(fd);
			errno = e;
			goto fail;
		}
		off += (gsize)w;
	}
	if (close(fd) == 0)
		return TRUE;
fail:
	e = errno;
	g_set_error(error, HERALD_ERROR, herald_errno_class(e),
	    "archiving in %s: %s", path, g_strerror(e));
	return FALSE;
}

/* pipe_spool_prune - remove archived files older than DAYS */
int
pipe_spool_prune(const char *spool_dir, int days, GError **error)
{
	g_autofree char *curdir = g_build_filename(spool_dir, "cur", NULL);
	g_autoptr(GError) ioerr = NULL;
	GDir *dir = g_dir_open(curdir, 0, &ioerr);
	time_t cutoff = time(NULL) - (time_t)days * 86400;
	const char *ent;
	int n = 0;

	if (dir == NULL) {
		if (g_error_matches(ioerr, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			return 0;
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_IO, "%s",
		    ioerr->message);
		return -1;
	}
	while ((ent = g_dir_read_name(dir)) != NULL) {
		g_autofree char *p = g_build_filename(curdir, ent, NULL);
		struct stat sb;

		if (stat(p, &sb) == 0 && S_ISREG(sb.st_mode) &&
		    sb.st_mtime < cutoff && unlink(p) == 0)
			n++;
	}
	g_dir_close(dir);
	return n;
}
