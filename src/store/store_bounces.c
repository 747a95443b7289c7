/*
 * store_bounces.c - bounces, scores and the notice outbox in the store
 * (see store_bounces.h; the rules are in bounce_policy.h).
 *
 * The score of a membership is one period: it starts at the first scored
 * bounce and ends when it goes stale, when herald maintain finds the
 * membership no longer disabled by bounces (re-enabled, unsubscribed), or
 * at removal. The bounces table keeps the history; bounce_scores only
 * what the rules need.
 *
 * Must stay true: every statement goes through store_query.c with its
 * parameters bound; nothing is scored unless an active membership of the
 * list is named; a function that writes more than one row is called
 * inside a transaction (store_bounce_record_sync begins its own, nested
 * in the caller's when there is one).
 */
#include <string.h>

#include "herald.h"
#include "store_bounces.h"
#include "subscriber.h"

#define SB_DAY		86400
#define SB_EPSILON	1e-9

/* A score row in memory. */
struct sb_score {
	gboolean	exists;
	double		score;
	int		hard;
	gint64		first_at;
	gint64		last_at;
	gint64		last_day;
	double		day_score;
	gint64		disabled_at;
};

static const char *const sb_notice_kinds[] = {
	"owner-disabled", "warning", "owner-removed",
};

/* store_bounce_notice_kind_name - the word stored for KIND */
const char *
store_bounce_notice_kind_name(enum bounce_notice_kind kind)
{
	if ((unsigned)kind >= G_N_ELEMENTS(sb_notice_kinds))
		return "notice";
	return sb_notice_kinds[kind];
}

/* store_bounce_notice_kind - KIND's enum from its word, -1 if none */
int
store_bounce_notice_kind(const char *name)
{
	guint i;

	for (i = 0; i < G_N_ELEMENTS(sb_notice_kinds); i++)
		if (g_strcmp0(name, sb_notice_kinds[i]) == 0)
			return (int)i;
	return -1;
}

/* sb_has_column - TRUE if TABLE exists with COLUMN (migrations of other
 * issues may not be there yet) */
static gboolean
sb_has_column(struct store *store, const char *table, const char *column)
{
	return store_get_int(store, "SELECT 1 FROM pragma_table_info(?1)"
	    " WHERE name = ?2", NULL, NULL, SQ_TEXT(table), SQ_TEXT(column),
	    SQ_END) == 1;
}

/* store_bounce_campaign_of - see store_bounces.h */
gint64
store_bounce_campaign_of(struct store *store, gint64 delivery_id)
{
	gint64 id = 0;

	if (delivery_id == 0 || !sb_has_column(store, "deliveries",
	    "campaign_id"))
		return 0;
	if (store_get_int(store, "SELECT campaign_id FROM deliveries"
	    " WHERE id = ?1", &id, NULL, SQ_INT(delivery_id), SQ_END) != 1)
		return 0;
	return id;
}

/* store_bounce_subscriber_email - see store_bounces.h */
char *
store_bounce_subscriber_email(struct store *store, gint64 id,
    GError **error)
{
	char *email = NULL;

	store_get_text(store, "SELECT email FROM subscribers WHERE id = ?1",
	    &email, error, SQ_INT(id), SQ_END);
	return email;
}

/* store_bounce_match - see store_bounces.h */
gboolean
store_bounce_match(struct store *store, gint64 list_id, const char *lower,
    GArray *ids, GError **error)
{
	g_autoptr(store_rows) rows = store_select(store,
	    "SELECT s.id FROM subscribers s"
	    " JOIN memberships m ON m.subscriber_id = s.id AND m.list_id = ?2"
	    " WHERE s.id IN (SELECT id FROM subscribers WHERE email_key = ?1"
	    " UNION SELECT id FROM subscribers WHERE lower(email_key) = ?1"
	    " AND email_key <> lower(email_key)) ORDER BY s.id", error,
	    SQ_TEXT(lower), SQ_INT(list_id), SQ_END);
	GError *local = NULL;

	if (rows == NULL)
		return FALSE;
	while (store_next(rows, &local)) {
		gint64 id = store_int(rows, 0);

		g_array_append_val(ids, id);
	}
	if (local != NULL) {
		g_propagate_error(error, local);
		return FALSE;
	}
	return TRUE;
}

/* store_bounce_mail_add - see store_bounces.h */
gboolean
store_bounce_mail_add(struct store *store, const struct store_bounce_mail *m,
    gint64 now, gint64 *mail_id, GError **error)
{
	return store_get_int(store, "INSERT INTO bounce_mail(received, list_id,"
	    " message_id, from_addr, subject, date, headers, method, raw,"
	    " raw_size) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
	    " RETURNING id", mail_id, error, SQ_INT(now), SQ_INT(m->list_id), SQ_TEXT(m->message_id),
	    SQ_TEXT(m->from), SQ_TEXT(m->subject), SQ_TEXT(m->date),
	    SQ_TEXT(m->headers), SQ_TEXT(m->method),
	    SQ_BLOB(m->raw, m->raw_len), SQ_INT(m->raw_size), SQ_END) == 1;
}

/* sb_score_load - the score row of a membership (exists FALSE if none) */
static gboolean
sb_score_load(struct store *store, gint64 list_id, gint64 subscriber_id,
    struct sb_score *sc, GError **error)
{
	g_autoptr(store_rows) rows = NULL;
	GError *local = NULL;

	memset(sc, 0, sizeof(*sc));
	rows = store_select(store, "SELECT score, hard, first_at, last_at,"
	    " last_day, day_score, coalesce(disabled_at, 0) FROM bounce_scores"
	    " WHERE list_id = ?1 AND subscriber_id = ?2", error,
	    SQ_INT(list_id), SQ_INT(subscriber_id), SQ_END);
	if (rows == NULL)
		return FALSE;
	if (!store_next(rows, &local)) {
		if (local == NULL)
			return TRUE;
		g_propagate_error(error, local);
		return FALSE;
	}
	sc->exists = TRUE;
	sc->score = store_real(rows, 0);
	sc->hard = (int)store_int(rows, 1);
	sc->first_at = store_int(rows, 2);
	sc->last_at = store_int(rows, 3);
	sc->last_day = store_int(rows, 4);
	sc->day_score = store_real(rows, 5);
	sc->disabled_at = store_int(rows, 6);
	return TRUE;
}

/* sb_score_save - write the score row of a membership */
static gboolean
sb_score_save(struct store *store, gint64 list_id, gint64 subscriber_id,
    const struct sb_score *sc, GError **error)
{
	return store_run(store, "INSERT INTO bounce_scores(list_id,"
	    " subscriber_id, score, hard, first_at, last_at, last_day,"
	    " day_score, disabled_at)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, nullif(?9, 0))"
	    " ON CONFLICT(list_id, subscriber_id) DO UPDATE SET"
	    " score = ?3, hard = ?4, first_at = ?5, last_at = ?6,"
	    " last_day = ?7, day_score = ?8, disabled_at = nullif(?9, 0)",
	    error, SQ_INT(list_id), SQ_INT(subscriber_id), SQ_REAL(sc->score),
	    SQ_INT(sc->hard), SQ_INT(sc->first_at), SQ_INT(sc->last_at),
	    SQ_INT(sc->last_day), SQ_REAL(sc->day_score),
	    SQ_INT(sc->disabled_at), SQ_END);
}

/* sb_date - unix time T as YYYY-MM-DD HH:MM UTC (caller frees) */
static char *
sb_date(gint64 t)
{
	g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(t);

	return dt != NULL ? g_date_time_format(dt, "%Y-%m-%d %H:%M UTC") :
	    g_strdup("?");
}

/* store_bounce_notice_add - see store_bounces.h */
gboolean
store_bounce_notice_add(struct store *store, gint64 list_id,
    gint64 subscriber_id, enum bounce_notice_kind kind,
    const char *const *to, const char *subject, const char *body,
    gint64 now, GError **error)
{
	g_autofree char *rcpts = g_strjoinv("\n", (char **)to);

	return store_run(store, "INSERT INTO bounce_notices(created, list_id,"
	    " subscriber_id, kind, recipients, subject, body)"
	    " VALUES (?1, ?2, nullif(?3, 0), ?4, ?5, ?6, ?7)", error,
	    SQ_INT(now), SQ_INT(list_id), SQ_INT(subscriber_id),
	    SQ_TEXT(store_bounce_notice_kind_name(kind)), SQ_TEXT(rcpts),
	    SQ_TEXT(subject), SQ_TEXT(body), SQ_END);
}

/* store_bounce_notify_owners - see store_bounces.h */
gboolean
store_bounce_notify_owners(struct store *store,
    const struct list_config *list, gint64 list_id, gint64 subscriber_id,
    enum bounce_notice_kind kind, const char *subject, const char *body,
    gint64 now, int *queued, GError **error)
{
	if (!list->bounce.notify_owner || list->owners == NULL ||
	    list->owners[0] == NULL)
		return TRUE;
	if (!store_bounce_notice_add(store, list_id, subscriber_id, kind,
	    (const char *const *)list->owners, subject, body, now, error))
		return FALSE;
	if (queued != NULL)
		(*queued)++;
	return TRUE;
}

/* sb_disable_notice - queue the owners' notice that B's member was
 * disabled with score SC */
static gboolean
sb_disable_notice(struct store *store, const struct list_config *list,
    const struct store_bounce *b, const struct sb_score *sc, gint64 now,
    int *queued, GError **error)
{
	g_autofree char *email = NULL, *subject = NULL, *body = NULL;
	g_autofree char *since = sb_date(sc->first_at);

	if ((email = store_bounce_subscriber_email(store, b->subscriber_id,
	    error)) == NULL)
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
	return store_bounce_notify_owners(store, list, b->list_id,
	    b->subscriber_id, BOUNCE_NOTICE_OWNER_DISABLED, subject, body, now,
	    queued, error);
}

/* sb_disable - the membership reached the threshold: disable it, log it,
 * tell the owners */
static gboolean
sb_disable(struct store *store, const struct list_config *list,
    const struct store_bounce *b, const struct sb_score *sc, gint64 now,
    int *queued, GError **error)
{
	g_autofree char *detail = NULL;

	if (!store_run(store, "UPDATE memberships SET status = ?3, changed = ?4"
	    " WHERE list_id = ?1 AND subscriber_id = ?2 AND status = ?5", error,
	    SQ_INT(b->list_id), SQ_INT(b->subscriber_id),
	    SQ_TEXT(MEMBER_DISABLED), SQ_INT(now), SQ_TEXT(MEMBER_ACTIVE),
	    SQ_END))
		return FALSE;
	detail = g_strdup_printf("bounce score %.1f (%d hard) reached %.1f;"
	    " last: %s %s %s", sc->score, sc->hard, list->bounce.threshold,
	    b->kind, b->status != NULL ? b->status : "-", b->reason);
	if (!store_event(store, b->list_id, b->subscriber_id, "disabled",
	    "bounce", detail, error))
		return FALSE;
	return sb_disable_notice(store, list, b, sc, now, queued, error);
}

/* sb_score - add B to its membership's score; *ADDED is what it added,
 * *DISABLED whether it crossed the threshold */
static gboolean
sb_score(struct store *store, const struct list_config *list,
    const struct store_bounce *b, gint64 now, double *added,
    gboolean *disabled, int *queued, GError **error)
{
	const struct bounce_policy *pol = &list->bounce;
	struct sb_score sc;
	gboolean hard = g_strcmp0(b->kind, "soft") != 0;
	double amount = hard ? pol->hard_score : pol->soft_score;
	gint64 day = now / SB_DAY;

	*added = 0;
	*disabled = FALSE;
	if (!sb_score_load(store, b->list_id, b->subscriber_id, &sc, error))
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
		if (amount <= sc.day_score + SB_EPSILON)
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
	    sc.score + SB_EPSILON >= pol->threshold) {
		sc.disabled_at = now;
		*disabled = TRUE;
	}
	if (!sb_score_save(store, b->list_id, b->subscriber_id, &sc, error))
		return FALSE;
	if (*disabled)
		return sb_disable(store, list, b, &sc, now, queued, error);
	return TRUE;
}

/* sb_insert - write the bounces row */
static gboolean
sb_insert(struct store *store, const struct store_bounce *b,
    const char *action, double scored, gint64 now, GError **error)
{
	return store_run(store, "INSERT INTO bounces(at, list_id,"
	    " subscriber_id, delivery_id, campaign_id, mail_id, source,"
	    " address, kind, status, reason, diagnostic, action, scored)"
	    " VALUES (?1, ?2, nullif(?3, 0), nullif(?4, 0), nullif(?5, 0),"
	    " nullif(?6, 0), ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)", error,
	    SQ_INT(now), SQ_INT(b->list_id), SQ_INT(b->subscriber_id),
	    SQ_INT(b->delivery_id), SQ_INT(b->campaign_id), SQ_INT(b->mail_id),
	    SQ_TEXT(b->source), SQ_TEXT(b->address), SQ_TEXT(b->kind),
	    SQ_TEXT(b->status), SQ_TEXT(b->reason), SQ_TEXT(b->diagnostic),
	    SQ_TEXT(action), SQ_REAL(scored), SQ_END);
}

/* sb_member_action - the action B gets without scoring (preset, or what
 * its membership's status says); *ACTION NULL: it is to be scored */
static gboolean
sb_member_action(struct store *store, const struct store_bounce *b,
    const char **action, GError **error)
{
	const char *status;
	GError *local = NULL;

	if ((*action = b->action) != NULL)
		return TRUE;
	if (b->subscriber_id == 0) {
		*action = "not-member";
		return TRUE;
	}
	status = membership_status(store, b->list_id, b->subscriber_id, &local);
	if (local != NULL && !g_error_matches(local, HERALD_ERROR,
	    HERALD_ERROR_NOUSER)) {
		g_propagate_error(error, local);
		return FALSE;
	}
	g_clear_error(&local);
	if (status == NULL)
		*action = "not-member";
	else if (strcmp(status, MEMBER_DISABLED) == 0)
		*action = "already-disabled";
	else if (strcmp(status, MEMBER_ACTIVE) != 0)
		*action = "inactive";
	return TRUE;
}

/* store_bounce_apply - see store_bounces.h */
gboolean
store_bounce_apply(struct store *store, const struct list_config *list,
    const struct store_bounce *b, gint64 now, struct store_bounce_tally *t,
    GError **error)
{
	const char *action;
	double added = 0;
	gboolean disabled = FALSE;

	if (!sb_member_action(store, b, &action, error))
		return FALSE;
	if (action == NULL) {
		if (!sb_score(store, list, b, now, &added, &disabled,
		    &t->notices, error))
			return FALSE;
		action = disabled ? "disabled" : added > 0 ? "scored" :
		    "same-day";
		if (added > 0)
			t->scored++;
		if (disabled)
			t->disabled++;
	}
	if (!sb_insert(store, b, action, added, now, error))
		return FALSE;
	t->stored++;
	return TRUE;
}

/* sb_sync_reason - the reason (a word of bounce.h's bounce_reason_name)
 * an enhanced status code gives */
static const char *
sb_sync_reason(const char *status)
{
	static const struct {
		const char *tail, *reason;
	} map[] = {
		{ ".1.1", "user_unknown" }, { ".1.0", "user_unknown" },
		{ ".1.6", "user_unknown" }, { ".1.10", "user_unknown" },
		{ ".2.1", "user_unknown" }, { ".1.2", "host_unknown" },
		{ ".4.4", "host_unknown" }, { ".2.2", "mailbox_full" },
		{ ".2.3", "too_big" }, { ".3.4", "too_big" },
	};
	guint i;

	if (status == NULL)
		return "other";
	for (i = 0; i < G_N_ELEMENTS(map); i++)
		if (strcmp(status + 1, map[i].tail) == 0)
			return map[i].reason;
	if (strncmp(status + 1, ".7.", 3) == 0)
		return "blocked";
	return "other";
}

/* sb_status_code - the enhanced status code in STATUS, else the first in
 * REPLY ("550 5.1.1 <x>: unknown"); NULL if neither has one */
static char *
sb_status_code(const char *status, const char *reply)
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

/* store_bounce_record_sync - see store_bounces.h */
gboolean
store_bounce_record_sync(struct store *store, const struct list_config *list,
    gint64 list_id, gint64 subscriber_id, gint64 delivery_id,
    const char *status, const char *reply, gint64 now, GError **error)
{
	struct store_bounce_tally t = { 0 };
	struct store_bounce b = { 0 };
	g_autofree char *email = NULL;
	g_autofree char *code = NULL;
	GError *local = NULL;

	code = sb_status_code(status, reply);
	if (!store_begin(store, error))
		return FALSE;
	if (list_id == 0 &&
	    (list_id = store_list_id(store, list->name, TRUE, error)) == 0)
		goto fail;
	email = store_bounce_subscriber_email(store, subscriber_id, &local);
	if (local != NULL) {
		g_propagate_error(error, local);
		goto fail;
	}
	b.list_id = list_id;
	b.subscriber_id = email != NULL ? subscriber_id : 0;
	b.delivery_id = delivery_id;
	b.campaign_id = store_bounce_campaign_of(store, delivery_id);
	b.source = "sync";
	b.address = email;
	b.kind = "hard";
	b.status = code;
	b.reason = sb_sync_reason(code);
	b.diagnostic = reply;
	if (!store_bounce_apply(store, list, &b, now, &t, error))
		goto fail;
	return store_commit(store, error);
fail:
	store_rollback(store);
	return FALSE;
}

/* store_bounce_notice_next_id - see store_bounces.h */
gint64
store_bounce_notice_next_id(struct store *store)
{
	gint64 id;

	if (store_get_int(store, "SELECT coalesce(max(id), 0) + 1"
	    " FROM bounce_notices", &id, NULL, SQ_END) != 1)
		return G_MAXINT64;
	return id;
}

/* sb_notice_free - free one queued notice */
static void
sb_notice_free(gpointer p)
{
	struct store_bounce_notice *n = p;

	g_free(n->kind);
	g_free(n->list);
	g_free(n->recipients);
	g_free(n->subject);
	g_free(n->body);
	g_free(n);
}

/* store_bounce_notices_queued - see store_bounces.h */
GPtrArray *
store_bounce_notices_queued(struct store *store, gint64 from_id,
    const char *list, GError **error)
{
	g_autoptr(store_rows) rows = store_select(store, "SELECT n.id, n.kind,"
	    " l.name, coalesce(n.subscriber_id, 0), n.recipients, n.subject,"
	    " n.body, n.attempts FROM bounce_notices n"
	    " JOIN lists l ON l.id = n.list_id"
	    " WHERE n.state = 'queued' AND n.id >= ?1"
	    " AND (CAST(?2 AS TEXT) IS NULL OR l.name = ?2) ORDER BY n.id", error,
	    SQ_INT(from_id), SQ_TEXT(list), SQ_END);
	g_autoptr(GPtrArray) out = NULL;
	GError *local = NULL;

	if (rows == NULL)
		return NULL;
	out = g_ptr_array_new_with_free_func(sb_notice_free);
	while (store_next(rows, &local)) {
		struct store_bounce_notice *n =
		    g_new0(struct store_bounce_notice, 1);

		n->id = store_int(rows, 0);
		n->kind = store_text_dup(rows, 1);
		n->list = store_text_dup(rows, 2);
		n->subscriber_id = store_int(rows, 3);
		n->recipients = store_text_dup(rows, 4);
		n->subject = store_text_dup(rows, 5);
		n->body = store_text_dup(rows, 6);
		n->attempts = store_int(rows, 7);
		g_ptr_array_add(out, n);
	}
	if (local != NULL) {
		g_propagate_error(error, local);
		return NULL;
	}
	return g_steal_pointer(&out);
}

/* store_bounce_notice_mark - see store_bounces.h */
gboolean
store_bounce_notice_mark(struct store *store, gint64 id, const char *state,
    gint64 sent_at, const char *why, GError **error)
{
	return store_run(store, "UPDATE bounce_notices SET state = ?2,"
	    " attempts = attempts + 1, sent = ?3, error = ?4 WHERE id = ?1",
	    error, SQ_INT(id), SQ_TEXT(state),
	    sent_at != 0 ? SQ_INT(sent_at) : SQ_NULL, SQ_TEXT(why), SQ_END);
}

/* store_bounce_scores_clear - see store_bounces.h */
gboolean
store_bounce_scores_clear(struct store *store, gint64 list_id, int *n,
    GError **error)
{
	if (!store_run(store, "DELETE FROM bounce_scores AS s"
	    " WHERE s.list_id = ?1 AND coalesce((SELECT m.status ="
	    " CASE WHEN s.disabled_at IS NULL THEN 'active' ELSE 'disabled' END"
	    " FROM memberships m WHERE m.list_id = s.list_id"
	    " AND m.subscriber_id = s.subscriber_id), FALSE) = FALSE", error,
	    SQ_INT(list_id), SQ_END))
		return FALSE;
	*n += store_changes(store);
	return TRUE;
}

/* store_bounce_scores_expire - see store_bounces.h */
gboolean
store_bounce_scores_expire(struct store *store, gint64 list_id, gint64 day,
    int stale_days, int *n, GError **error)
{
	if (!store_run(store, "DELETE FROM bounce_scores WHERE list_id = ?1"
	    " AND disabled_at IS NULL AND ?2 - last_day > ?3", error,
	    SQ_INT(list_id), SQ_INT(day), SQ_INT(stale_days), SQ_END))
		return FALSE;
	*n += store_changes(store);
	return TRUE;
}

/* sb_disabled_free - free one */
static void
sb_disabled_free(gpointer p)
{
	struct store_bounce_disabled *d = p;

	g_free(d->email);
	g_free(d);
}

/* store_bounce_disabled - see store_bounces.h */
GPtrArray *
store_bounce_disabled(struct store *store, gint64 list_id, GError **error)
{
	g_autoptr(store_rows) rows = store_select(store, "SELECT"
	    " s.subscriber_id, sub.email, s.disabled_at, s.warnings_sent,"
	    " coalesce(s.last_warning_at, 0)"
	    " FROM bounce_scores s JOIN memberships m ON m.list_id = s.list_id"
	    " AND m.subscriber_id = s.subscriber_id JOIN subscribers sub"
	    " ON sub.id = s.subscriber_id WHERE s.list_id = ?1"
	    " AND s.disabled_at IS NOT NULL AND m.status = ?2"
	    " ORDER BY s.disabled_at, s.subscriber_id", error,
	    SQ_INT(list_id), SQ_TEXT(MEMBER_DISABLED), SQ_END);
	g_autoptr(GPtrArray) due = NULL;
	GError *local = NULL;

	if (rows == NULL)
		return NULL;
	due = g_ptr_array_new_with_free_func(sb_disabled_free);
	while (store_next(rows, &local)) {
		struct store_bounce_disabled *d =
		    g_new0(struct store_bounce_disabled, 1);

		d->subscriber_id = store_int(rows, 0);
		d->email = store_text_dup(rows, 1);
		d->disabled_at = store_int(rows, 2);
		d->warnings_sent = (int)store_int(rows, 3);
		d->last_warning_at = store_int(rows, 4);
		g_ptr_array_add(due, d);
	}
	if (local != NULL) {
		g_propagate_error(error, local);
		return NULL;
	}
	return g_steal_pointer(&due);
}

/* store_bounce_warned - see store_bounces.h */
gboolean
store_bounce_warned(struct store *store, gint64 list_id,
    gint64 subscriber_id, int n, gint64 now, GError **error)
{
	return store_run(store, "UPDATE bounce_scores SET warnings_sent = ?3,"
	    " last_warning_at = ?4 WHERE list_id = ?1 AND subscriber_id = ?2",
	    error, SQ_INT(list_id), SQ_INT(subscriber_id), SQ_INT(n),
	    SQ_INT(now), SQ_END);
}

/* store_bounce_remove - see store_bounces.h */
gboolean
store_bounce_remove(struct store *store, gint64 list_id,
    gint64 subscriber_id, gint64 now, GError **error)
{
	return store_run(store, "UPDATE memberships SET status = ?3,"
	    " changed = ?4 WHERE list_id = ?1 AND subscriber_id = ?2", error,
	    SQ_INT(list_id), SQ_INT(subscriber_id),
	    SQ_TEXT(MEMBER_UNSUBSCRIBED), SQ_INT(now), SQ_END) &&
	    store_run(store, "DELETE FROM bounce_scores WHERE list_id = ?1"
	    " AND subscriber_id = ?2", error, SQ_INT(list_id),
	    SQ_INT(subscriber_id), SQ_END);
}

/* sb_member_row_free - free one row */
static void
sb_member_row_free(gpointer p)
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

/* sb_member_row - the report row under ROWS */
static struct bounce_member_row *
sb_member_row(struct store_rows *rows)
{
	struct bounce_member_row *r = g_new0(struct bounce_member_row, 1);

	r->list = store_text_dup(rows, 0);
	r->subscriber_id = store_int(rows, 1);
	r->email = store_text_dup(rows, 2);
	r->membership = store_text_dup(rows, 3);
	r->score = store_real(rows, 4);
	r->bounces = (int)store_int(rows, 5);
	r->last_at = store_int(rows, 6);
	r->kind = store_text_dup(rows, 7);
	r->status = store_text_dup(rows, 8);
	r->reason = store_text_dup(rows, 9);
	r->source = store_text_dup(rows, 10);
	r->disabled_at = store_int(rows, 11);
	r->warnings_sent = (int)store_int(rows, 12);
	return r;
}

/* store_bounce_members - see store_bounces.h */
GPtrArray *
store_bounce_members(struct store *store, const char *list, GError **error)
{
	g_autoptr(store_rows) rows = store_select(store,
	    "SELECT l.name, coalesce(b.subscriber_id, 0),"
	    " coalesce(s.email, b.address, '(none found)'), m.status,"
	    " coalesce(sc.score, 0), g.n, b.at, b.kind, b.status,"
	    " b.reason, b.source, coalesce(sc.disabled_at, 0),"
	    " coalesce(sc.warnings_sent, 0), b.id"
	    /* each member's latest bounce, and how many there are */
	    " FROM (SELECT max(id) AS id, count(*) AS n FROM bounces"
	    "  WHERE action != 'not-a-bounce' GROUP BY list_id, subscriber_id,"
	    "  CASE WHEN subscriber_id IS NULL THEN address END) g"
	    " JOIN bounces b ON b.id = g.id"
	    " JOIN lists l ON l.id = b.list_id"
	    " LEFT JOIN subscribers s ON s.id = b.subscriber_id"
	    " LEFT JOIN memberships m ON m.list_id = b.list_id"
	    "  AND m.subscriber_id = b.subscriber_id"
	    " LEFT JOIN bounce_scores sc ON sc.list_id = b.list_id"
	    "  AND sc.subscriber_id = b.subscriber_id"
	    " WHERE CAST(?1 AS TEXT) IS NULL OR l.name = ?1"
	    " ORDER BY l.name, 5 DESC, 7 DESC, 3", error, SQ_TEXT(list),
	    SQ_END);
	g_autoptr(GPtrArray) out = NULL;
	GError *local = NULL;

	if (rows == NULL)
		return NULL;
	out = g_ptr_array_new_with_free_func(sb_member_row_free);
	while (store_next(rows, &local))
		g_ptr_array_add(out, sb_member_row(rows));
	if (local != NULL) {
		g_propagate_error(error, local);
		return NULL;
	}
	return g_steal_pointer(&out);
}

/* sb_campaign_row_free - free one row */
static void
sb_campaign_row_free(gpointer p)
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

/* sb_campaign_rows - REP's rows: its bounces by kind and reason */
static gboolean
sb_campaign_rows(struct store *store, struct bounce_campaign_report *rep,
    GError **error)
{
	g_autoptr(store_rows) rows = store_select(store, "SELECT kind, reason,"
	    " count(DISTINCT coalesce(CAST(subscriber_id AS TEXT), address)), count(*)"
	    " FROM bounces WHERE campaign_id = ?1 AND action != 'not-a-bounce'"
	    " GROUP BY kind, reason ORDER BY 3 DESC, 1, 2", error,
	    SQ_INT(rep->campaign_id), SQ_END);
	GError *local = NULL;

	if (rows == NULL)
		return FALSE;
	while (store_next(rows, &local)) {
		struct bounce_campaign_row *r =
		    g_new0(struct bounce_campaign_row, 1);

		r->kind = store_text_dup(rows, 0);
		r->reason = store_text_dup(rows, 1);
		r->recipients = store_int(rows, 2);
		r->bounces = store_int(rows, 3);
		g_ptr_array_add(rep->rows, r);
	}
	if (local != NULL) {
		g_propagate_error(error, local);
		return FALSE;
	}
	return TRUE;
}

/* store_bounce_campaign - see store_bounces.h */
struct bounce_campaign_report *
store_bounce_campaign(struct store *store, gint64 campaign_id,
    GError **error)
{
	struct bounce_campaign_report *rep;
	gint64 n = 0;

	if (sb_has_column(store, "campaigns", "id")) {
		if (store_get_int(store, "SELECT count(*) FROM campaigns"
		    " WHERE id = ?1", &n, error, SQ_INT(campaign_id),
		    SQ_END) < 0)
			return NULL;
		if (n == 0) {
			g_set_error(error, HERALD_ERROR, HERALD_ERROR_NOUSER,
			    "no campaign %" G_GINT64_FORMAT, campaign_id);
			return NULL;
		}
	}
	rep = g_new0(struct bounce_campaign_report, 1);
	rep->campaign_id = campaign_id;
	rep->recipients = -1;
	rep->rows = g_ptr_array_new_with_free_func(sb_campaign_row_free);
	if (sb_has_column(store, "deliveries", "campaign_id") &&
	    store_get_int(store, "SELECT count(*) FROM deliveries"
	    " WHERE campaign_id = ?1", &rep->recipients, error,
	    SQ_INT(campaign_id), SQ_END) < 0)
		goto fail;
	if (store_get_int(store, "SELECT count(DISTINCT"
	    " coalesce(CAST(subscriber_id AS TEXT), address)) FROM bounces"
	    " WHERE campaign_id = ?1 AND action != 'not-a-bounce'",
	    &rep->bounced, error, SQ_INT(campaign_id), SQ_END) < 0 ||
	    !sb_campaign_rows(store, rep, error))
		goto fail;
	return rep;
fail:
	bounce_campaign_report_free(rep);
	return NULL;
}
