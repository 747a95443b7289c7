/*
 * bounce_policy.c - store every bounce, score it, disable, warn and remove
 * (the rules are in bounce_policy.h).
 *
 * Design: one call, one transaction. bounce_policy_handle() writes the
 * message (bounce_mail), one bounces row per failed recipient with what was
 * done about it (the action column), the score (bounce_scores), the status
 * change and its event, and any notice (bounce_notices), then commits, and
 * only then tries to deliver the notices it queued: a relay that is down
 * never costs a bounce, and herald maintain retries what is left.
 *
 * The score of a membership is one period: it starts at the first scored
 * bounce and ends when it goes stale, when herald maintain finds the
 * membership no longer disabled by bounces (re-enabled, unsubscribed), or at
 * removal. The bounces table keeps the history; bounce_scores only what the
 * rules need.
 *
 * Must stay true: nothing is acted on unless a verified token or an active
 * membership of this list names it; every statement binds its parameters;
 * `now` comes from the caller.
 */
#include <string.h>

#include "herald.h"
#include "bounce.h"
#include "bounce_policy.h"
#include "notice.h"

#define BP_DAY		86400
#define BP_EPSILON	1e-9

/* One bounce to store and maybe act on. Strings are borrowed. */
struct bp_bounce {
	gint64		 list_id;
	gint64		 subscriber_id;		/* 0: unknown */
	gint64		 delivery_id;
	gint64		 campaign_id;
	gint64		 mail_id;
	const char	*source;		/* verp, content, sync */
	const char	*address;
	const char	*kind;			/* hard, soft, unknown */
	const char	*status;
	const char	*reason;
	const char	*diagnostic;
	const char	*action;		/* preset: not-a-bounce, no-recipient */
};

/* A score row in memory. */
struct bp_score {
	gboolean	exists;
	double		score;
	int		hard;
	gint64		first_at;
	gint64		last_at;
	gint64		last_day;
	double		day_score;
	gint64		disabled_at;
};

static const char *const bp_notice_kinds[] = {
	"owner-disabled", "warning", "owner-removed",
};

/* bounce_notice_kind_name - the word stored for KIND */
const char *
bounce_notice_kind_name(enum bounce_notice_kind kind)
{
	if ((unsigned)kind >= G_N_ELEMENTS(bp_notice_kinds))
		return "notice";
	return bp_notice_kinds[kind];
}

/* bp_notice_kind - KIND's enum from its word, -1 if none */
static int
bp_notice_kind(const char *name)
{
	guint i;

	for (i = 0; i < G_N_ELEMENTS(bp_notice_kinds); i++)
		if (g_strcmp0(name, bp_notice_kinds[i]) == 0)
			return (int)i;
	return -1;
}

/* bp_text - a column as a borrowed string, or NULL */
static const char *
bp_text(sqlite3_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(st, col);
}

/* bp_bind_text - bind TEXT, NULL as SQL NULL */
static void
bp_bind_text(sqlite3_stmt *st, int col, const char *text)
{
	if (text == NULL)
		sqlite3_bind_null(st, col);
	else
		sqlite3_bind_text(st, col, text, -1, SQLITE_TRANSIENT);
}

/* bp_bind_id - bind a row id, 0 as SQL NULL */
static void
bp_bind_id(sqlite3_stmt *st, int col, gint64 id)
{
	if (id == 0)
		sqlite3_bind_null(st, col);
	else
		sqlite3_bind_int64(st, col, id);
}

/* bp_has_column - TRUE if TABLE exists with COLUMN (migrations of other
 * issues may not be there yet) */
static gboolean
bp_has_column(struct store *store, const char *table, const char *column)
{
	g_autoptr(sqlite3_stmt) st = store_prepare(store,
	    "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2", NULL);

	if (st == NULL)
		return FALSE;
	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, column, -1, SQLITE_STATIC);
	return sqlite3_step(st) == SQLITE_ROW;
}

/* bp_campaign_of - the campaign of DELIVERY_ID, 0 when unknown */
static gint64
bp_campaign_of(struct store *store, gint64 delivery_id)
{
	g_autoptr(sqlite3_stmt) st = NULL;

	if (delivery_id == 0 || !bp_has_column(store, "deliveries",
	    "campaign_id"))
		return 0;
	st = store_prepare(store,
	    "SELECT campaign_id FROM deliveries WHERE id = ?1", NULL);
	if (st == NULL)
		return 0;
	sqlite3_bind_int64(st, 1, delivery_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		return sqlite3_column_int64(st, 0);
	return 0;
}

/* bp_list_row - the lists row of NAME: 0 and no error when it has none */
static gint64
bp_list_row(struct store *store, const char *name, GError **error)
{
	g_autoptr(sqlite3_stmt) st = store_prepare(store,
	    "SELECT id FROM lists WHERE name = ?1", error);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return sqlite3_column_int64(st, 0);
	if (rc != SQLITE_DONE) {
		herald_set_sqlite_error(error, store->db, rc, "looking up list %s",
		    name);
		return -1;
	}
	return 0;
}

/* bp_subscriber_email - the address of subscriber ID (caller frees), NULL
 * with no error when there is no such subscriber */
static char *
bp_subscriber_email(struct store *store, gint64 id, GError **error)
{
	g_autoptr(sqlite3_stmt) st = store_prepare(store,
	    "SELECT email FROM subscribers WHERE id = ?1", error);
	int rc;

	if (st == NULL)
		return NULL;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return g_strdup(bp_text(st, 0));
	if (rc != SQLITE_DONE)
		herald_set_sqlite_error(error, store->db, rc,
		    "looking up subscriber %" G_GINT64_FORMAT, id);
	return NULL;
}

/* bp_membership - the membership status (caller frees); NULL with no
 * error when SUBSCRIBER_ID is not on the list */
static char *
bp_membership(struct store *store, gint64 list_id, gint64 subscriber_id,
    GError **error)
{
	g_autoptr(sqlite3_stmt) st = store_prepare(store,
	    "SELECT status FROM memberships WHERE list_id = ?1"
	    " AND subscriber_id = ?2", error);
	int rc;

	if (st == NULL)
		return NULL;
	sqlite3_bind_int64(st, 1, list_id);
	sqlite3_bind_int64(st, 2, subscriber_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return g_strdup(bp_text(st, 0));
	if (rc != SQLITE_DONE)
		herald_set_sqlite_error(error, store->db, rc,
		    "reading a membership");
	return NULL;
}

/* bp_score_load - the score row of a membership (exists FALSE if none) */
static gboolean
bp_score_load(struct store *store, gint64 list_id, gint64 subscriber_id,
    struct bp_score *sc, GError **error)
{
	g_autoptr(sqlite3_stmt) st = store_prepare(store,
	    "SELECT score, hard, first_at, last_at, last_day, day_score,"
	    " coalesce(disabled_at, 0) FROM bounce_scores"
	    " WHERE list_id = ?1 AND subscriber_id = ?2", error);
	int rc;

	memset(sc, 0, sizeof(*sc));
	if (st == NULL)
		return FALSE;
	sqlite3_bind_int64(st, 1, list_id);
	sqlite3_bind_int64(st, 2, subscriber_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return TRUE;
	if (rc != SQLITE_ROW) {
		herald_set_sqlite_error(error, store->db, rc, "reading a score");
		return FALSE;
	}
	sc->exists = TRUE;
	sc->score = sqlite3_column_double(st, 0);
	sc->hard = sqlite3_column_int(st, 1);
	sc->first_at = sqlite3_column_int64(st, 2);
	sc->last_at = sqlite3_column_int64(st, 3);
	sc->last_day = sqlite3_column_int64(st, 4);
	sc->day_score = sqlite3_column_double(st, 5);
	sc->disabled_at = sqlite3_column_int64(st, 6);
	return TRUE;
}

/* bp_score_save - write the score row of a membership */
static gboolean
bp_score_save(struct store *store, gint64 list_id, gint64 subscriber_id,
    const struct bp_score *sc, GError **error)
{
	g_autoptr(sqlite3_stmt) st = store_prepare(store,
	    "INSERT INTO bounce_scores(list_id, subscriber_id, score, hard,"
	    " first_at, last_at, last_day, day_score, disabled_at)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, nullif(?9, 0))"
	    " ON CONFLICT(list_id, subscriber_id) DO UPDATE SET"
	    " score = ?3, hard = ?4, first_at = ?5, last_at = ?6, last_day = ?7,"
	    " day_score = ?8, disabled_at = nullif(?9, 0)", error);

	if (st == NULL)
		return FALSE;
	sqlite3_bind_int64(st, 1, list_id);
	sqlite3_bind_int64(st, 2, subscriber_id);
	sqlite3_bind_double(st, 3, sc->score);
	sqlite3_bind_int(st, 4, sc->hard);
	sqlite3_bind_int64(st, 5, sc->first_at);
	sqlite3_bind_int64(st, 6, sc->last_at);
	sqlite3_bind_int64(st, 7, sc->last_day);
	sqlite3_bind_double(st, 8, sc->day_score);
	sqlite3_bind_int64(st, 9, sc->disabled_at);
	return store_step_done(store, st, "writing a bounce score", error);
}

/* bp_date - unix time T as YYYY-MM-DD HH:MM UTC (caller frees) */
static char *
bp_date(gint64 t)
{
	g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(t);

	return dt != NULL ? g_date_time_format(dt, "%Y-%m-%d %H:%M UTC") :
	    g_strdup("?");
}

/* bp_owner_address - LIST-owner@DOMAIN (caller frees) */
static char *
bp_owner_address(const struct list_config *list)
{
	return g_strdup_printf("%s-owner@%s", list->local, list->domain);
}

/* bp_list_title - the list's display name, or its address */
static const char *
bp_list_title(const struct list_config *list)
{
	return list->display_name != NULL && *list->display_name != '\0' ?
	    list->display_name : list->address;
}

/* bp_queue_notice - add a notice to the outbox */
static gboolean
bp_queue_notice(struct store *store, gint64 list_id, gint64 subscriber_id,
    enum bounce_notice_kind kind, const char *const *to, const char *subject,
    const char *body, gint64 now, GError **error)
{
	g_autoptr(sqlite3_stmt) st = store_prepare(store,
	    "INSERT INTO bounce_notices(created, list_id, subscriber_id, kind,"
	    " recipients, subject, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	    error);
	g_autofree char *rcpts = g_strjoinv("\n", (char **)to);

	if (st == NULL)
		return FALSE;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, list_id);
	bp_bind_id(st, 3, subscriber_id);
	sqlite3_bind_text(st, 4, bounce_notice_kind_name(kind), -1,
	    SQLITE_STATIC);
	sqlite3_bind_text(st, 5, rcpts, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, subject, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, body, -1, SQLITE_STATIC);
	return store_step_done(store, st, "queueing a notice", error);
}

/* bp_notify_owners - queue an owner notice if the list wants them */
static gboolean
bp_notify_owners(struct store *store, const struct list_config *list,
    gint64 list_id, gint64 subscriber_id, enum bounce_notice_kind kind,
    const char *subject, const char *body, gint64 now, int *queued,
    GError **error)
{
	if (!list->bounce.notify_owner || list->owners == NULL ||
	    list->owners[0] == NULL)
		return TRUE;
	if (!bp_queue_notice(store, list_id, subscriber_id, kind,
	    (const char *const *)list->owners, subject, body, now, error))
		return FALSE;
	if (queued != NULL)
		(*queued)++;
	return TRUE;
}

/* bp_disable - the membership reached the threshold: disable it, log it,
 * tell the owners */
static gboolean
bp_disable(struct store *store, const struct list_config *list,
    const struct bp_bounce *b, const struct bp_score *sc, gint64 now,
    int *queued, GError **error)
{
	g_autoptr(sqlite3_stmt) st = store_prepare(store,
	    "UPDATE memberships SET status = ?3, changed = ?4"
	    " WHERE list_id = ?1 AND subscriber_id = ?2 AND status = ?5", error);
	g_autofree char *detail = NULL, *email = NULL, *subject = NULL;
	g_autofree char *body = NULL, *since = bp_date(sc->first_at);

	if (st == NULL)
		return FALSE;
	sqlite3_bind_int64(st, 1, b->list_id);
	sqlite3_bind_int64(st, 2, b->subscriber_id);
	sqlite3_bind_text(st, 3, MEMBER_DISABLED, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now);
	sqlite3_bind_text(st, 5, MEMBER_ACTIVE, -1, SQLITE_STATIC);
	if (!store_step_done(store, st, "disabling a membership", error))
		return FALSE;
	detail = g_strdup_printf("bounce score %.1f (%d hard) reached %.1f;"
	    " last: %s %s %s", sc->score, sc->hard, list->bounce.threshold,
	    b->kind, b->status != NULL ? b->status : "-", b->reason);
	if (!store_event(store, b->list_id, b->subscriber_id, "disabled",
	    "bounce", detail, error))
		return FALSE;
	if ((email = bp_subscriber_email(store, b->subscriber_id, error)) == NULL)
		return FALSE;
	subject = g_strdup_printf("[%s] %s disabled by bounces", list->name,
	    email);
	body = g_strdup_printf(
	    "Mail from %s to %s keeps coming back, so herald has stopped\n"
	    "sending to that address.\n\n"
	    "Bounce score: %.1f (threshold %.1f), %d hard bounce(s) since %s.\n"
	    "Last bounce: %s, status %s, reason %s%s%s.\n\n"
	    "herald maintain will send the subscriber %d warning(s), %d day(s)\n"
	    "apart, and then remove the address from the list. Setting the\n"
	    "membership active again stops this. \"herald bounces %s\" shows\n"
	    "the details.\n",
	    list->address, email, sc->score, list->bounce.threshold, sc->hard,
	    since, b->kind,
	    b->status != NULL ? b->status : "none", b->reason,
	    b->diagnostic != NULL ? "\nRemote reply: " : "",
	    b->diagnostic != NULL ? b->diagnostic : "",
	    list->bounce.warnings, list->bounce.warning_interval_days,
	    list->name);
	return bp_notify_owners(store, list, b->list_id, b->subscriber_id,
	    BOUNCE_NOTICE_OWNER_DISABLED, subject, body, now, queued, error);
}

/* bp_score - add B to its membership's score; *ADDED is what it added,
 * *DISABLED whether it crossed the threshold */
static gboolean
bp_score(struct store *store, const struct list_config *list,
    const struct bp_bounce *b, gint64 now, double *added,
    gboolean *disabled, int *queued, GError **error)
{
	const struct bounce_policy *pol = &list->bounce;
	struct bp_score sc;
	gboolean hard = g_strcmp0(b->kind, "soft") != 0;
	double amount = hard ? pol->hard_score : pol->soft_score;
	gint64 day = now / BP_DAY;

	*added = 0;
	*disabled = FALSE;
	if (!bp_score_load(store, b->list_id, b->subscriber_id, &sc, error))
		return FALSE;
	/* a stale period, or one left over from a disable that was undone */
	if (sc.exists && (day - sc.last_day > pol->stale_days ||
	    sc.disabled_at != 0))
		memset(&sc, 0, sizeof(sc));
	if (!sc.exists || sc.score <= 0) {
		sc.first_at = now;
		sc.score = 0;
		sc.hard = 0;
		sc.day_score = 0;
		sc.last_day = -1;
	}
	if (sc.last_day == day) {
		/* one scored bounce a day: the day counts its largest */
		if (amount <= sc.day_score + BP_EPSILON)
			return TRUE;
		*added = amount - sc.day_score;
	} else
		*added = amount;
	sc.day_score = amount;
	sc.last_day = day;
	sc.last_at = now;
	sc.score += *added;
	if (hard)
		sc.hard++;
	sc.exists = TRUE;
	if (pol->threshold > 0 && sc.hard > 0 &&
	    sc.score + BP_EPSILON >= pol->threshold) {
		sc.disabled_at = now;
		*disabled = TRUE;
	}
	if (!bp_score_save(store, b->list_id, b->subscriber_id, &sc, error))
		return FALSE;
	if (*disabled)
		return bp_disable(store, list, b, &sc, now, queued, error);
	return TRUE;
}

/* bp_insert - write the bounces row */
static gboolean
bp_insert(struct store *store, const struct bp_bounce *b, const char *action,
    double scored, gint64 now, GError **error)
{
	g_autoptr(sqlite3_stmt) st = store_prepare(store,
	    "INSERT INTO bounces(at, list_id, subscriber_id, delivery_id,"
	    " campaign_id, mail_id, source, address, kind, status, reason,"
	    " diagnostic, action, scored) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,"
	    " ?8, ?9, ?10, ?11, ?12, ?13, ?14)", error);

	if (st == NULL)
		return FALSE;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, b->list_id);
	bp_bind_id(st, 3, b->subscriber_id);
	bp_bind_id(st, 4, b->delivery_id);
	bp_bind_id(st, 5, b->campaign_id);
	bp_bind_id(st, 6, b->mail_id);
	sqlite3_bind_text(st, 7, b->source, -1, SQLITE_STATIC);
	bp_bind_text(st, 8, b->address);
	sqlite3_bind_text(st, 9, b->kind, -1, SQLITE_STATIC);
	bp_bind_text(st, 10, b->status);
	sqlite3_bind_text(st, 11, b->reason, -1, SQLITE_STATIC);
	bp_bind_text(st, 12, b->diagnostic);
	sqlite3_bind_text(st, 13, action, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 14, scored);
	return store_step_done(store, st, "storing a bounce", error);
}

/* bp_apply - decide what B means for its membership, act, and store it */
static gboolean
bp_apply(struct store *store, const struct list_config *list,
    const struct bp_bounce *b, gint64 now, struct bounce_outcome *oc,
    GError **error)
{
	g_autofree char *status = NULL;
	const char *action = b->action;
	GError *local = NULL;
	double added = 0;
	gboolean disabled = FALSE;

	if (action == NULL && b->subscriber_id == 0)
		action = "not-member";
	if (action == NULL) {
		status = bp_membership(store, b->list_id, b->subscriber_id,
		    &local);
		if (local != NULL) {
			g_propagate_error(error, local);
			return FALSE;
		}
		if (status == NULL)
			action = "not-member";
		else if (strcmp(status, MEMBER_DISABLED) == 0)
			action = "already-disabled";
		else if (strcmp(status, MEMBER_ACTIVE) != 0)
			action = "inactive";
	}
	if (action == NULL) {
		if (!bp_score(store, list, b, now, &added, &disabled,
		    &oc->notices, error))
			return FALSE;
		action = disabled ? "disabled" : added > 0 ? "scored" :
		    "same-day";
		if (added > 0)
			oc->scored++;
		if (disabled)
			oc->disabled++;
	}
	if (!bp_insert(store, b, action, added, now, error))
		return FALSE;
	oc->stored++;
	return TRUE;
}

/* bp_header - a header's decoded value, or NULL */
static const char *
bp_header(GMimeMessage *msg, const char *name)
{
	return msg != NULL ? g_mime_object_get_header(GMIME_OBJECT(msg), name) :
	    NULL;
}

/* bp_store_mail - the bounce_mail row: headers and the first bytes */
static gboolean
bp_store_mail(struct store *store, gint64 list_id, GMimeMessage *msg,
    const char *raw, gsize raw_len, const char *method, gint64 now,
    gint64 *mail_id, GError **error)
{
	g_autoptr(sqlite3_stmt) st = store_prepare(store,
	    "INSERT INTO bounce_mail(received, list_id, message_id, from_addr,"
	    " subject, date, headers, method, raw, raw_size)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)", error);
	g_autofree char *written = NULL, *headers = NULL;

	if (st == NULL)
		return FALSE;
	if (raw == NULL && msg != NULL) {
		written = g_mime_object_to_string(GMIME_OBJECT(msg), NULL);
		raw = written;
		raw_len = strlen(written);
	}
	if (msg != NULL) {
		headers = g_mime_object_get_headers(GMIME_OBJECT(msg), NULL);
		if (headers != NULL && strlen(headers) > BOUNCE_POLICY_HEADERS_MAX)
			headers[BOUNCE_POLICY_HEADERS_MAX] = '\0';
	}
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, list_id);
	bp_bind_text(st, 3, msg != NULL ? g_mime_message_get_message_id(msg) :
	    NULL);
	bp_bind_text(st, 4, bp_header(msg, "From"));
	bp_bind_text(st, 5, msg != NULL ? g_mime_message_get_subject(msg) :
	    NULL);
	bp_bind_text(st, 6, bp_header(msg, "Date"));
	bp_bind_text(st, 7, headers);
	bp_bind_text(st, 8, method);
	if (raw != NULL)
		sqlite3_bind_blob64(st, 9, raw, MIN(raw_len,
		    (gsize)BOUNCE_POLICY_RAW_MAX), SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 9);
	sqlite3_bind_int64(st, 10, raw != NULL ? (gint64)raw_len : 0);
	if (!store_step_done(store, st, "storing a bounce message", error))
		return FALSE;
	*mail_id = sqlite3_last_insert_rowid(store->db);
	return TRUE;
}

/* bp_not_a_failure - TRUE when MSG, which reports no failed recipient, is
 * mail that is not a bounce: an auto-reply, a complaint, or a report
 * (delivered, relayed, read) that names no failure */
static gboolean
bp_not_a_failure(GMimeMessage *msg)
{
	GMimeObject *body;

	if (msg == NULL)
		return FALSE;
	if (bounce_is_autoreply(msg) || bounce_is_complaint(msg))
		return TRUE;
	body = g_mime_message_get_mime_part(msg);
	return body != NULL && GMIME_IS_MULTIPART(body) &&
	    g_mime_content_type_is_type(g_mime_object_get_content_type(body),
	    "multipart", "report");
}

/* bp_token_inside - a herald VERP address of LIST inside MSG whose token
 * verifies: TRUE and *VERP filled */
static gboolean
bp_token_inside(GMimeMessage *msg, const struct list_config *list,
    const struct token_key *key, struct bounce_verp *verp)
{
	g_autoptr(GPtrArray) cands = NULL;
	g_autofree char *prefix = NULL;
	size_t plen;
	guint i;

	if (msg == NULL || key == NULL)
		return FALSE;
	prefix = g_strdup_printf("%s-bounces+", list->local);
	plen = strlen(prefix);
	cands = bounce_verp_candidates(msg);
	for (i = 0; i < cands->len; i++) {
		const char *c = g_ptr_array_index(cands, i);
		struct token_claim tc;

		if (g_ascii_strncasecmp(c, prefix, plen) != 0)
			continue;
		if (token_verify(key, c + plen, list->name, TOKEN_ACCEPT_BOUNCE,
		    &tc, NULL)) {
			verp->subscriber_id = tc.subscriber_id;
			verp->delivery_id = tc.extra_id;
			return TRUE;
		}
	}
	return FALSE;
}

/* bp_pick - the recipient of REPORT that stands for EMAIL: the one with
 * that address, else the first; NULL when the report names none */
static const struct bounce_recipient *
bp_pick(const struct bounce_report *report, const char *email)
{
	guint i;

	if (report == NULL || report->recipients->len == 0)
		return NULL;
	for (i = 0; email != NULL && i < report->recipients->len; i++) {
		const struct bounce_recipient *r =
		    g_ptr_array_index(report->recipients, i);

		if (g_ascii_strcasecmp(r->address, email) == 0 ||
		    (r->original != NULL &&
		    g_ascii_strcasecmp(r->original, email) == 0))
			return r;
	}
	return g_ptr_array_index(report->recipients, 0);
}

/* bp_from_recipient - fill B's classification from R */
static void
bp_from_recipient(struct bp_bounce *b, const struct bounce_recipient *r)
{
	b->address = r->address;
	b->kind = bounce_kind_name(r->kind);
	b->status = r->status;
	b->reason = bounce_reason_name(r->reason);
	b->diagnostic = r->diagnostic;
}

/* bp_handle_verp - a bounce whose token named the subscriber */
static gboolean
bp_handle_verp(struct store *store, const struct list_config *list,
    struct bp_bounce *b, const struct bounce_verp *verp, GMimeMessage *msg,
    const struct bounce_report *report, gint64 now, struct bounce_outcome *oc,
    GError **error)
{
	g_autofree char *email = NULL;
	const struct bounce_recipient *r;
	GError *local = NULL;

	b->source = "verp";
	b->delivery_id = verp->delivery_id;
	b->campaign_id = bp_campaign_of(store, verp->delivery_id);
	email = bp_subscriber_email(store, verp->subscriber_id, &local);
	if (local != NULL) {
		g_propagate_error(error, local);
		return FALSE;
	}
	/* a subscriber deleted since the mail left: store, act on nobody */
	b->subscriber_id = email != NULL ? verp->subscriber_id : 0;
	if ((r = bp_pick(report, email)) != NULL)
		bp_from_recipient(b, r);
	else {
		/* nothing parseable: Mailman's rule, the token is enough and
		 * it scores as hard; unless it is not a failure at all */
		b->address = email;
		if (bp_not_a_failure(msg))
			b->action = "not-a-bounce";
	}
	return bp_apply(store, list, b, now, oc, error);
}

/* bp_handle_content - a bounce with no token: act only on members of
 * LIST that the report names */
static gboolean
bp_handle_content(struct store *store, const struct list_config *list,
    struct bp_bounce *b, GMimeMessage *msg, const struct bounce_report *report,
    gint64 now, struct bounce_outcome *oc, GError **error)
{
	g_autoptr(sqlite3_stmt) st = NULL;
	guint i;
	int rc;

	b->source = "content";
	if (report == NULL || report->recipients->len == 0) {
		b->action = bp_not_a_failure(msg) ? "not-a-bounce" :
		    "no-recipient";
		return bp_apply(store, list, b, now, oc, error);
	}
	st = store_prepare(store, "SELECT s.id FROM subscribers s"
	    " JOIN memberships m ON m.subscriber_id = s.id AND m.list_id = ?2"
	    " WHERE s.id IN (SELECT id FROM subscribers WHERE email_key = ?1"
	    " UNION SELECT id FROM subscribers WHERE lower(email_key) = ?1"
	    " AND email_key <> lower(email_key)) ORDER BY s.id", error);
	if (st == NULL)
		return FALSE;
	for (i = 0; i < report->recipients->len; i++) {
		const struct bounce_recipient *r =
		    g_ptr_array_index(report->recipients, i);
		g_autoptr(GArray) ids = g_array_new(FALSE, FALSE, sizeof(gint64));
		g_autofree char *lower = g_ascii_strdown(r->address, -1);
		guint j;

		sqlite3_bind_text(st, 1, lower, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, b->list_id);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			gint64 id = sqlite3_column_int64(st, 0);

			g_array_append_val(ids, id);
		}
		sqlite3_reset(st);
		if (rc != SQLITE_DONE) {
			herald_set_sqlite_error(error, store->db, rc,
			    "matching a bounced address");
			return FALSE;
		}
		bp_from_recipient(b, r);
		b->subscriber_id = 0;
		if (ids->len == 0 && !bp_apply(store, list, b, now, oc, error))
			return FALSE;
		for (j = 0; j < ids->len; j++) {
			b->subscriber_id = g_array_index(ids, gint64, j);
			if (!bp_apply(store, list, b, now, oc, error))
				return FALSE;
		}
	}
	return TRUE;
}

/* bp_flush - deliver queued notices with id >= FROM_ID; ONLY (may be NULL)
 * limits them to one list, else CONFIG names the lists */
static gboolean
bp_flush(struct store *store, const struct config *config,
    const struct list_config *only, gint64 from_id, gint64 now,
    const struct bounce_notifier *notifier, int *sent, int *failed,
    int *queued, GError **error)
{
	g_autoptr(sqlite3_stmt) sel = NULL, upd = NULL;
	g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func(
	    (GDestroyNotify)g_strfreev);
	int rc;

	sel = store_prepare(store, "SELECT n.id, n.kind, l.name,"
	    " coalesce(n.subscriber_id, 0), n.recipients, n.subject, n.body,"
	    " n.attempts FROM bounce_notices n JOIN lists l ON l.id = n.list_id"
	    " WHERE n.state = 'queued' AND n.id >= ?1"
	    " AND (?2 IS NULL OR l.name = ?2) ORDER BY n.id", error);
	upd = store_prepare(store, "UPDATE bounce_notices SET state = ?2,"
	    " attempts = attempts + 1, sent = ?3, error = ?4 WHERE id = ?1",
	    error);
	if (sel == NULL || upd == NULL)
		return FALSE;
	sqlite3_bind_int64(sel, 1, from_id);
	bp_bind_text(sel, 2, only != NULL ? only->name : NULL);
	/* read them all first: no statement stays open while one is sent */
	while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
		char **row = g_new0(char *, 9);
		int c;

		for (c = 0; c < 8; c++)
			row[c] = g_strdup(bp_text(sel, c));
		g_ptr_array_add(rows, row);
	}
	if (rc != SQLITE_DONE) {
		herald_set_sqlite_error(error, store->db, rc, "reading notices");
		return FALSE;
	}
	for (guint i = 0; i < rows->len; i++) {
		char **row = g_ptr_array_index(rows, i);
		const struct list_config *list = only;
		g_auto(GStrv) to = g_strsplit(row[4], "\n", -1);
		g_autoptr(GError) err = NULL;
		struct bounce_notice n = { 0 };
		const char *state = "queued";
		int kind = bp_notice_kind(row[1]);

		if (notifier == NULL || notifier->send == NULL) {
			(*queued)++;
			continue;
		}
		if (list == NULL && config != NULL)
			list = config_list(config, row[2], NULL);
		n.id = g_ascii_strtoll(row[0], NULL, 10);
		n.kind = kind;
		n.list = list;
		n.subscriber_id = g_ascii_strtoll(row[3], NULL, 10);
		n.to = to;
		n.subject = row[5];
		n.body = row[6];
		if (list == NULL || kind < 0)
			g_set_error(&err, HERALD_ERROR, HERALD_ERROR_CONFIG,
			    "list %s is no longer configured", row[2]);
		else if (notifier->send(notifier->data, &n, &err))
			state = "sent";
		if (err != NULL && (!g_error_matches(err, HERALD_ERROR,
		    HERALD_ERROR_TEMP) || g_ascii_strtoll(row[7], NULL, 10) + 1 >=
		    BOUNCE_POLICY_NOTICE_TRIES))
			state = "failed";
		sqlite3_bind_int64(upd, 1, n.id);
		sqlite3_bind_text(upd, 2, state, -1, SQLITE_STATIC);
		if (strcmp(state, "sent") == 0)
			sqlite3_bind_int64(upd, 3, now);
		else
			sqlite3_bind_null(upd, 3);
		bp_bind_text(upd, 4, err != NULL ? err->message : NULL);
		if (!store_step_done(store, upd, "updating a notice", error))
			return FALSE;
		if (strcmp(state, "sent") == 0)
			(*sent)++;
		else if (strcmp(state, "failed") == 0)
			(*failed)++;
		else
			(*queued)++;
	}
	return TRUE;
}

/* bounce_policy_flush - see bounce_policy.h */
gboolean
bounce_policy_flush(struct store *store, const struct config *config,
    gint64 now, const struct bounce_notifier *notifier, int *sent,
    int *failed, int *queued, GError **error)
{
	int s = 0, f = 0, q = 0;
	gboolean ok = bp_flush(store, config, NULL, 0, now, notifier, &s, &f,
	    &q, error);

	if (sent != NULL)
		*sent = s;
	if (failed != NULL)
		*failed = f;
	if (queued != NULL)
		*queued = q;
	return ok;
}

/* bounce_policy_mail_notice - see bounce_policy.h */
gboolean
bounce_policy_mail_notice(void *mailer, const struct bounce_notice *notice,
    GError **error)
{
	g_autofree char *reply_to = NULL;
	GMimeMessage *msg;
	gboolean ok;
	char **to;

	for (to = notice->to; *to != NULL; to++)
		if (!notice_may_send_to(*to)) {
			g_set_error(error, HERALD_ERROR, HERALD_ERROR_PERM,
			    "no notices to %s", *to);
			return FALSE;
		}
	if (notice->to[0] == NULL) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_PERM,
		    "a notice with no recipient");
		return FALSE;
	}
	if (notice->kind == BOUNCE_NOTICE_WARNING)
		reply_to = bp_owner_address(notice->list);
	msg = notice_compose(notice->list, notice->to[0], reply_to,
	    notice->subject, notice->body);
	for (to = notice->to + 1; *to != NULL; to++)
		g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_TO, NULL, *to);
	ok = notice_send(mailer, notice->list, msg,
	    (const char *const *)notice->to, error);
	g_object_unref(msg);
	return ok;
}

/* bp_next_notice_id - the id the next queued notice will get at least */
static gint64
bp_next_notice_id(struct store *store)
{
	g_autoptr(sqlite3_stmt) st = store_prepare(store,
	    "SELECT coalesce(max(id), 0) + 1 FROM bounce_notices", NULL);

	if (st == NULL || sqlite3_step(st) != SQLITE_ROW)
		return G_MAXINT64;
	return sqlite3_column_int64(st, 0);
}

/* bounce_policy_handle - see bounce_policy.h */
gboolean
bounce_policy_handle(struct store *store, const struct list_config *list,
    const struct bounce_verp *verp, GMimeMessage *msg, const char *raw,
    gsize raw_len, const struct token_key *key, gint64 now,
    const struct bounce_notifier *notifier, struct bounce_outcome *outcome,
    GError **error)
{
	GMimeMessage *parsed = NULL;
	struct bounce_report *report = NULL;
	struct bounce_outcome oc = { 0 };
	struct bounce_verp inside = { 0 };
	struct bp_bounce b = { 0 };
	gint64 first_notice;
	gboolean ok = FALSE;
	int failed = 0, queued = 0;

	g_return_val_if_fail(msg != NULL || raw != NULL, FALSE);
	if (msg == NULL && (parsed = bounce_parse_bytes(raw, raw_len, NULL)))
		msg = parsed;
	if (msg != NULL)
		bounce_classify(msg, &report, NULL);
	if (verp == NULL && bp_token_inside(msg, list, key, &inside))
		verp = &inside;
	b.kind = "unknown";
	b.reason = bounce_reason_name(BOUNCE_REASON_OTHER);
	if (!store_begin(store, error))
		goto out;
	first_notice = bp_next_notice_id(store);
	if ((b.list_id = store_list_id(store, list->name, TRUE, error)) == 0 ||
	    !bp_store_mail(store, b.list_id, msg, raw, raw_len,
	    report != NULL ? report->method : NULL, now, &b.mail_id, error))
		goto fail;
	oc.mail_id = b.mail_id;
	if (verp != NULL ? !bp_handle_verp(store, list, &b, verp, msg, report,
	    now, &oc, error) : !bp_handle_content(store, list, &b, msg, report,
	    now, &oc, error))
		goto fail;
	if (!store_commit(store, error))
		goto out;
	ok = TRUE;
	/* the bounce is safe: a notice that does not leave now waits for
	 * herald maintain. Inside the caller's transaction nothing is
	 * committed yet, and no SMTP talk may hold the write lock: leave the
	 * notices queued then. */
	if (oc.notices > 0 && notifier != NULL && store->depth == 0)
		bp_flush(store, NULL, list, first_notice, now, notifier,
		    &oc.notices_sent, &failed, &queued, NULL);
	goto out;
fail:
	store_rollback(store);
out:
	bounce_report_free(report);
	if (parsed != NULL)
		g_object_unref(parsed);
	if (outcome != NULL)
		*outcome = oc;
	return ok;
}

/* bp_sync_reason - the reason an enhanced status code gives */
static enum bounce_reason
bp_sync_reason(const char *status)
{
	if (status == NULL)
		return BOUNCE_REASON_OTHER;
	if (strcmp(status + 1, ".1.1") == 0 || strcmp(status + 1, ".1.0") == 0 ||
	    strcmp(status + 1, ".1.6") == 0 || strcmp(status + 1, ".1.10") == 0 ||
	    strcmp(status + 1, ".2.1") == 0)
		return BOUNCE_REASON_USER_UNKNOWN;
	if (strcmp(status + 1, ".1.2") == 0 || strcmp(status + 1, ".4.4") == 0)
		return BOUNCE_REASON_HOST_UNKNOWN;
	if (strcmp(status + 1, ".2.2") == 0)
		return BOUNCE_REASON_MAILBOX_FULL;
	if (strcmp(status + 1, ".2.3") == 0 || strcmp(status + 1, ".3.4") == 0)
		return BOUNCE_REASON_TOO_BIG;
	if (strncmp(status + 1, ".7.", 3) == 0)
		return BOUNCE_REASON_BLOCKED;
	return BOUNCE_REASON_OTHER;
}

/* bp_status_code - the enhanced status code in STATUS, else the first in
 * REPLY ("550 5.1.1 <x>: unknown"); NULL if neither has one */
static char *
bp_status_code(const char *status, const char *reply)
{
	g_autoptr(GRegex) re = g_regex_new("(?<![0-9.])[245]\\.[0-9]{1,3}"
	    "\\.[0-9]{1,3}(?![0-9.])", 0, 0, NULL);
	g_autoptr(GMatchInfo) mi = NULL;
	const char *texts[] = { status, reply };
	guint i;

	for (i = 0; i < G_N_ELEMENTS(texts); i++) {
		if (texts[i] == NULL)
			continue;
		g_clear_pointer(&mi, g_match_info_free);
		if (g_regex_match(re, texts[i], 0, &mi))
			return g_match_info_fetch(mi, 0);
	}
	return NULL;
}

/* bounce_policy_record_sync - see bounce_policy.h */
gboolean
bounce_policy_record_sync(struct store *store, const struct list_config *list,
    gint64 list_id, gint64 subscriber_id, gint64 delivery_id,
    const char *status, const char *reply, gint64 now, GError **error)
{
	struct bounce_outcome oc = { 0 };
	struct bp_bounce b = { 0 };
	g_autofree char *email = NULL;
	g_autofree char *code = NULL;
	GError *local = NULL;

	code = bp_status_code(status, reply);
	if (!store_begin(store, error))
		return FALSE;
	if (list_id == 0 &&
	    (list_id = store_list_id(store, list->name, TRUE, error)) == 0)
		goto fail;
	email = bp_subscriber_email(store, subscriber_id, &local);
	if (local != NULL) {
		g_propagate_error(error, local);
		goto fail;
	}
	b.list_id = list_id;
	b.subscriber_id = email != NULL ? subscriber_id : 0;
	b.delivery_id = delivery_id;
	b.campaign_id = bp_campaign_of(store, delivery_id);
	b.source = "sync";
	b.address = email;
	b.kind = bounce_kind_name(BOUNCE_HARD);
	b.status = code;
	b.reason = bounce_reason_name(bp_sync_reason(code));
	b.diagnostic = reply;
	if (!bp_apply(store, list, &b, now, &oc, error))
		goto fail;
	return store_commit(store, error);
fail:
	store_rollback(store);
	return FALSE;
}

/* A disabled membership that herald maintain looks at. */
struct bp_disabled {
	gint64	 subscriber_id;
	char	*email;
	gint64	 disabled_at;
	int	 warnings_sent;
	gint64	 last_warning_at;
};

/* bp_disabled_free - free one */
static void
bp_disabled_free(gpointer p)
{
	struct bp_disabled *d = p;

	g_free(d->email);
	g_free(d);
}

/* bp_changes - run a write bound with LIST_ID, A and B (as far as it has
 * parameters); *N += rows changed */
static gboolean
bp_changes(struct store *store, const char *sql, gint64 list_id, gint64 a,
    gint64 b, int *n, GError **error)
{
	g_autoptr(sqlite3_stmt) st = store_prepare(store, sql, error);
	const gint64 args[] = { list_id, a, b };
	int i;

	if (st == NULL)
		return FALSE;
	for (i = 0; i < sqlite3_bind_parameter_count(st) && i < 3; i++)
		sqlite3_bind_int64(st, i + 1, args[i]);
	if (!store_step_done(store, st, "maintaining bounce scores", error))
		return FALSE;
	*n += sqlite3_changes(store->db);
	return TRUE;
}

/* bp_warn - queue warning N of the list's number to D */
static gboolean
bp_warn(struct store *store, const struct list_config *list, gint64 list_id,
    const struct bp_disabled *d, gint64 now, GError **error)
{
	g_autoptr(sqlite3_stmt) st = NULL;
	g_autofree char *owner = bp_owner_address(list);
	g_autofree char *subject = NULL, *body = NULL;
	const char *to[] = { d->email, NULL };
	int n = d->warnings_sent + 1;

	subject = g_strdup_printf("[%s] Your address is returning our mail "
	    "(warning %d of %d)", list->name, n, list->bounce.warnings);
	body = g_strdup_printf(
	    "Hello,\n\n"
	    "Mail from %s (%s) to your address %s has been\n"
	    "coming back undelivered, so it has stopped sending to you.\n\n"
	    "This is warning %d of %d. Unless you write to %s\n"
	    "to have delivery resumed, your address will be removed from the\n"
	    "list %d day(s) after the last warning.\n",
	    bp_list_title(list), list->address, d->email, n,
	    list->bounce.warnings, owner, list->bounce.warning_interval_days);
	if (!bp_queue_notice(store, list_id, d->subscriber_id,
	    BOUNCE_NOTICE_WARNING, to, subject, body, now, error))
		return FALSE;
	st = store_prepare(store, "UPDATE bounce_scores SET warnings_sent = ?3,"
	    " last_warning_at = ?4 WHERE list_id = ?1 AND subscriber_id = ?2",
	    error);
	if (st == NULL)
		return FALSE;
	sqlite3_bind_int64(st, 1, list_id);
	sqlite3_bind_int64(st, 2, d->subscriber_id);
	sqlite3_bind_int(st, 3, n);
	sqlite3_bind_int64(st, 4, now);
	if (!store_step_done(store, st, "counting a warning", error))
		return FALSE;
	return store_event(store, list_id, d->subscriber_id, "bounce-warning",
	    "bounce", subject, error);
}

/* bp_remove - the warnings ran out: unsubscribe D */
static gboolean
bp_remove(struct store *store, const struct list_config *list, gint64 list_id,
    const struct bp_disabled *d, gint64 now, GError **error)
{
	g_autoptr(sqlite3_stmt) st = store_prepare(store,
	    "UPDATE memberships SET status = ?3, changed = ?4"
	    " WHERE list_id = ?1 AND subscriber_id = ?2", error);
	g_autoptr(sqlite3_stmt) del = store_prepare(store,
	    "DELETE FROM bounce_scores WHERE list_id = ?1 AND subscriber_id = ?2",
	    error);
	g_autofree char *detail = NULL, *subject = NULL, *body = NULL;

	if (st == NULL || del == NULL)
		return FALSE;
	sqlite3_bind_int64(st, 1, list_id);
	sqlite3_bind_int64(st, 2, d->subscriber_id);
	sqlite3_bind_text(st, 3, MEMBER_UNSUBSCRIBED, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now);
	sqlite3_bind_int64(del, 1, list_id);
	sqlite3_bind_int64(del, 2, d->subscriber_id);
	detail = g_strdup_printf("disabled by bounces, %d warning(s) sent",
	    d->warnings_sent);
	if (!store_step_done(store, st, "removing a member", error) ||
	    !store_step_done(store, del, "removing a score", error) ||
	    !store_event(store, list_id, d->subscriber_id, "removed", "bounce",
	    detail, error))
		return FALSE;
	subject = g_strdup_printf("[%s] %s removed after bounces", list->name,
	    d->email);
	body = g_strdup_printf(
	    "%s was disabled on %s by bounces and has now been removed\n"
	    "(unsubscribed) after %d warning(s) with no change.\n",
	    d->email, list->address, d->warnings_sent);
	return bp_notify_owners(store, list, list_id, d->subscriber_id,
	    BOUNCE_NOTICE_OWNER_REMOVED, subject, body, now, NULL, error);
}

/* bp_maintain_list - one list's warnings, removals and stale scores */
static gboolean
bp_maintain_list(struct store *store, const struct list_config *list,
    gint64 list_id, gint64 now, struct bounce_maintenance *m, GError **error)
{
	const struct bounce_policy *pol = &list->bounce;
	gint64 interval = (gint64)pol->warning_interval_days * BP_DAY;
	g_autoptr(GPtrArray) due = g_ptr_array_new_with_free_func(
	    bp_disabled_free);
	g_autoptr(sqlite3_stmt) st = NULL;
	guint i;
	int rc;

	/* scores of members no longer in the state that made them */
	if (!bp_changes(store, "DELETE FROM bounce_scores AS s"
	    " WHERE s.list_id = ?1 AND coalesce((SELECT m.status ="
	    " CASE WHEN s.disabled_at IS NULL THEN 'active' ELSE 'disabled' END"
	    " FROM memberships m WHERE m.list_id = s.list_id"
	    " AND m.subscriber_id = s.subscriber_id), 0) = 0", list_id, 0, 0,
	    &m->cleared, error))
		return FALSE;
	/* a score whose last bounce is stale starts again: drop it now, so
	 * herald bounces shows what counts */
	if (!bp_changes(store, "DELETE FROM bounce_scores WHERE list_id = ?1"
	    " AND disabled_at IS NULL AND ?2 - last_day > ?3", list_id,
	    now / BP_DAY, pol->stale_days, &m->expired, error))
		return FALSE;
	st = store_prepare(store, "SELECT s.subscriber_id, sub.email,"
	    " s.disabled_at, s.warnings_sent, coalesce(s.last_warning_at, 0)"
	    " FROM bounce_scores s JOIN memberships m ON m.list_id = s.list_id"
	    " AND m.subscriber_id = s.subscriber_id JOIN subscribers sub"
	    " ON sub.id = s.subscriber_id WHERE s.list_id = ?1"
	    " AND s.disabled_at IS NOT NULL AND m.status = ?2"
	    " ORDER BY s.disabled_at, s.subscriber_id", error);
	if (st == NULL)
		return FALSE;
	sqlite3_bind_int64(st, 1, list_id);
	sqlite3_bind_text(st, 2, MEMBER_DISABLED, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct bp_disabled *d = g_new0(struct bp_disabled, 1);

		d->subscriber_id = sqlite3_column_int64(st, 0);
		d->email = g_strdup(bp_text(st, 1));
		d->disabled_at = sqlite3_column_int64(st, 2);
		d->warnings_sent = sqlite3_column_int(st, 3);
		d->last_warning_at = sqlite3_column_int64(st, 4);
		g_ptr_array_add(due, d);
	}
	if (rc != SQLITE_DONE) {
		herald_set_sqlite_error(error, store->db, rc,
		    "reading disabled members");
		return FALSE;
	}
	for (i = 0; i < due->len; i++) {
		const struct bp_disabled *d = g_ptr_array_index(due, i);
		gint64 mark = d->last_warning_at != 0 ? d->last_warning_at :
		    d->disabled_at;
		gboolean waited = now - mark >= interval;

		if (d->warnings_sent < pol->warnings) {
			if (d->warnings_sent > 0 && !waited)
				continue;
			if (!bp_warn(store, list, list_id, d, now, error))
				return FALSE;
			m->warned++;
		} else if (pol->warnings <= 0 || waited) {
			if (!bp_remove(store, list, list_id, d, now, error))
				return FALSE;
			m->removed++;
		}
	}
	return TRUE;
}

/* bounce_policy_maintain - see bounce_policy.h */
gboolean
bounce_policy_maintain(struct store *store, const struct config *config,
    gint64 now, const struct bounce_notifier *notifier,
    struct bounce_maintenance *out, GError **error)
{
	struct bounce_maintenance m = { 0 };
	guint i;

	for (i = 0; i < config->lists->len; i++) {
		const struct list_config *list =
		    g_ptr_array_index(config->lists, i);
		gint64 list_id = bp_list_row(store, list->name, error);

		if (list_id < 0)
			return FALSE;
		if (list_id == 0)
			continue;
		if (!store_begin(store, error))
			return FALSE;
		if (!bp_maintain_list(store, list, list_id, now, &m, error)) {
			store_rollback(store);
			return FALSE;
		}
		if (!store_commit(store, error))
			return FALSE;
	}
	if (!bp_flush(store, config, NULL, 0, now, notifier, &m.notices_sent,
	    &m.notices_failed, &m.notices_queued, error))
		return FALSE;
	if (out != NULL)
		*out = m;
	return TRUE;
}

/* bounce_member_row_free - free one row */
static void
bounce_member_row_free(gpointer p)
{
	struct bounce_member_row *r = p;

	g_free(r->list);
	g_free(r->email);
	g_free(r->membership);
	g_free(r->kind);
	g_free(r->status);
	g_free(r->reason);
	g_free(r->source);
	g_free(r);
}

/* bounce_policy_members - see bounce_policy.h */
GPtrArray *
bounce_policy_members(struct store *store, const char *list, GError **error)
{
	g_autoptr(sqlite3_stmt) st = store_prepare(store,
	    "SELECT l.name, coalesce(b.subscriber_id, 0),"
	    " coalesce(s.email, b.address, '(none found)'), m.status,"
	    " coalesce(sc.score, 0), count(*), b.at, b.kind, b.status, b.reason,"
	    " b.source, coalesce(sc.disabled_at, 0), coalesce(sc.warnings_sent, 0),"
	    " max(b.id)"
	    " FROM bounces b JOIN lists l ON l.id = b.list_id"
	    " LEFT JOIN subscribers s ON s.id = b.subscriber_id"
	    " LEFT JOIN memberships m ON m.list_id = b.list_id"
	    "  AND m.subscriber_id = b.subscriber_id"
	    " LEFT JOIN bounce_scores sc ON sc.list_id = b.list_id"
	    "  AND sc.subscriber_id = b.subscriber_id"
	    " WHERE b.action != 'not-a-bounce' AND (?1 IS NULL OR l.name = ?1)"
	    " GROUP BY b.list_id, b.subscriber_id,"
	    "  CASE WHEN b.subscriber_id IS NULL THEN b.address END"
	    " ORDER BY l.name, 5 DESC, 7 DESC, 3", error);
	GPtrArray *rows;
	int rc;

	if (st == NULL)
		return NULL;
	bp_bind_text(st, 1, list);
	rows = g_ptr_array_new_with_free_func(bounce_member_row_free);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct bounce_member_row *r = g_new0(struct bounce_member_row, 1);

		r->list = g_strdup(bp_text(st, 0));
		r->subscriber_id = sqlite3_column_int64(st, 1);
		r->email = g_strdup(bp_text(st, 2));
		r->membership = g_strdup(bp_text(st, 3));
		r->score = sqlite3_column_double(st, 4);
		r->bounces = sqlite3_column_int(st, 5);
		r->last_at = sqlite3_column_int64(st, 6);
		r->kind = g_strdup(bp_text(st, 7));
		r->status = g_strdup(bp_text(st, 8));
		r->reason = g_strdup(bp_text(st, 9));
		r->source = g_strdup(bp_text(st, 10));
		r->disabled_at = sqlite3_column_int64(st, 11);
		r->warnings_sent = sqlite3_column_int(st, 12);
		g_ptr_array_add(rows, r);
	}
	if (rc != SQLITE_DONE) {
		herald_set_sqlite_error(error, store->db, rc, "reading bounces");
		g_ptr_array_unref(rows);
		return NULL;
	}
	return rows;
}

/* bounce_campaign_row_free - free one row */
static void
bounce_campaign_row_free(gpointer p)
{
	struct bounce_campaign_row *r = p;

	g_free(r->kind);
	g_free(r->reason);
	g_free(r);
}

/* bounce_campaign_report_free - free REPORT; NULL is fine */
void
bounce_campaign_report_free(struct bounce_campaign_report *report)
{
	if (report == NULL)
		return;
	if (report->rows != NULL)
		g_ptr_array_unref(report->rows);
	g_free(report);
}

/* bp_count - one integer from SQL bound with ID; -1 on error */
static gint64
bp_count(struct store *store, const char *sql, gint64 id, GError **error)
{
	g_autoptr(sqlite3_stmt) st = store_prepare(store, sql, error);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		return sqlite3_column_int64(st, 0);
	herald_set_sqlite_error(error, store->db, rc, "counting");
	return -1;
}

/* bounce_policy_campaign - see bounce_policy.h */
struct bounce_campaign_report *
bounce_policy_campaign(struct store *store, gint64 campaign_id,
    GError **error)
{
	struct bounce_campaign_report *rep;
	g_autoptr(sqlite3_stmt) st = NULL;
	int rc;

	if (bp_has_column(store, "campaigns", "id") && bp_count(store,
	    "SELECT count(*) FROM campaigns WHERE id = ?1", campaign_id,
	    error) == 0) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_NOUSER,
		    "no campaign %" G_GINT64_FORMAT, campaign_id);
		return NULL;
	}
	rep = g_new0(struct bounce_campaign_report, 1);
	rep->campaign_id = campaign_id;
	rep->recipients = -1;
	rep->rows = g_ptr_array_new_with_free_func(bounce_campaign_row_free);
	if (bp_has_column(store, "deliveries", "campaign_id") &&
	    (rep->recipients = bp_count(store, "SELECT count(*) FROM deliveries"
	    " WHERE campaign_id = ?1", campaign_id, error)) < 0)
		goto fail;
	if ((rep->bounced = bp_count(store, "SELECT count(DISTINCT"
	    " coalesce(subscriber_id, address)) FROM bounces WHERE campaign_id = ?1"
	    " AND action != 'not-a-bounce'", campaign_id, error)) < 0)
		goto fail;
	st = store_prepare(store, "SELECT kind, reason,"
	    " count(DISTINCT coalesce(subscriber_id, address)), count(*)"
	    " FROM bounces WHERE campaign_id = ?1 AND action != 'not-a-bounce'"
	    " GROUP BY kind, reason ORDER BY 3 DESC, 1, 2", error);
	if (st == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, campaign_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct bounce_campaign_row *r = g_new0(struct bounce_campaign_row,
		    1);

		r->kind = g_strdup(bp_text(st, 0));
		r->reason = g_strdup(bp_text(st, 1));
		r->recipients = sqlite3_column_int64(st, 2);
		r->bounces = sqlite3_column_int64(st, 3);
		g_ptr_array_add(rep->rows, r);
	}
	if (rc != SQLITE_DONE) {
		herald_set_sqlite_error(error, store->db, rc, "reading bounces");
		goto fail;
	}
	return rep;
fail:
	bounce_campaign_report_free(rep);
	return NULL;
}
