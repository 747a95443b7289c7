/*
 * bounce_policy.c - what a bounce means for a list, and the notices it
 * causes (the rules are in bounce_policy.h).
 *
 * Design: one call, one transaction. bounce_policy_handle() classifies
 * the message, finds the membership it names (a verified token, else the
 * report's addresses among the list's members), and hands each bounce to
 * the store (store_bounces.h), which writes the message, one bounces row
 * per failed recipient with what was done about it, the score, the status
 * change and its event, and any notice; then it commits, and only then
 * tries to deliver the notices it queued: a relay that is down never
 * costs a bounce, and herald maintain retries what is left. herald
 * maintain's warnings and removals are decided here too.
 *
 * Must stay true: nothing is acted on unless a verified token or an active
 * membership of this list names it; no SQL here, only the store's typed
 * functions; `now` comes from the caller.
 */
#include <string.h>

#include "herald.h"
#include "bounce.h"
#include "bounce_policy.h"
#include "notice.h"
#include "store_bounces.h"

#define BP_DAY		86400

/* bp_tally - what the store did (T), into OC */
static void
bp_tally(struct bounce_outcome *oc, const struct store_bounce_tally *t)
{
	oc->stored = t->stored;
	oc->scored = t->scored;
	oc->disabled = t->disabled;
	oc->notices = t->notices;
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
	struct store_bounce_mail m = { 0 };
	g_autofree char *written = NULL, *headers = NULL;

	if (raw == NULL && msg != NULL) {
		written = g_mime_object_to_string(GMIME_OBJECT(msg), NULL);
		raw = written;
		raw_len = strlen(written);
	}
	if (msg != NULL) {
		headers = g_mime_object_get_headers(GMIME_OBJECT(msg), NULL);
		if (headers != NULL && strlen(headers) > BOUNCE_POLICY_HEADERS_MAX)
			headers[BOUNCE_POLICY_HEADERS_MAX] = '\0';
		m.message_id = g_mime_message_get_message_id(msg);
		m.subject = g_mime_message_get_subject(msg);
	}
	m.list_id = list_id;
	m.from = bp_header(msg, "From");
	m.date = bp_header(msg, "Date");
	m.headers = headers;
	m.method = method;
	m.raw = raw;
	if (raw != NULL) {
		m.raw_len = MIN(raw_len, (gsize)BOUNCE_POLICY_RAW_MAX);
		m.raw_size = (gint64)raw_len;
	}
	return store_bounce_mail_add(store, &m, now, mail_id, error);
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
bp_from_recipient(struct store_bounce *b, const struct bounce_recipient *r)
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
    struct store_bounce *b, const struct bounce_verp *verp, GMimeMessage *msg,
    const struct bounce_report *report, gint64 now,
    struct store_bounce_tally *t, GError **error)
{
	g_autofree char *email = NULL;
	const struct bounce_recipient *r;
	GError *local = NULL;

	b->source = "verp";
	b->delivery_id = verp->delivery_id;
	b->campaign_id = store_bounce_campaign_of(store, verp->delivery_id);
	email = store_bounce_subscriber_email(store, verp->subscriber_id,
	    &local);
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
	return store_bounce_apply(store, list, b, now, t, error);
}

/* bp_handle_content - a bounce with no token: act only on members of
 * LIST that the report names */
static gboolean
bp_handle_content(struct store *store, const struct list_config *list,
    struct store_bounce *b, GMimeMessage *msg,
    const struct bounce_report *report, gint64 now,
    struct store_bounce_tally *t, GError **error)
{
	guint i;

	b->source = "content";
	if (report == NULL || report->recipients->len == 0) {
		b->action = bp_not_a_failure(msg) ? "not-a-bounce" :
		    "no-recipient";
		return store_bounce_apply(store, list, b, now, t, error);
	}
	for (i = 0; i < report->recipients->len; i++) {
		const struct bounce_recipient *r =
		    g_ptr_array_index(report->recipients, i);
		g_autoptr(GArray) ids = g_array_new(FALSE, FALSE, sizeof(gint64));
		g_autofree char *lower = g_ascii_strdown(r->address, -1);
		guint j;

		if (!store_bounce_match(store, b->list_id, lower, ids, error))
			return FALSE;
		bp_from_recipient(b, r);
		b->subscriber_id = 0;
		if (ids->len == 0 &&
		    !store_bounce_apply(store, list, b, now, t, error))
			return FALSE;
		for (j = 0; j < ids->len; j++) {
			b->subscriber_id = g_array_index(ids, gint64, j);
			if (!store_bounce_apply(store, list, b, now, t, error))
				return FALSE;
		}
	}
	return TRUE;
}

/* bp_send - offer notice N of LIST to NOTIFIER: the state it is left in
 * (sent, queued, failed), the error in *ERR */
static const char *
bp_send(const struct bounce_notifier *notifier,
    const struct store_bounce_notice *n, const struct list_config *list,
    GError **err)
{
	g_auto(GStrv) to = g_strsplit(n->recipients, "\n", -1);
	struct bounce_notice bn = { 0 };
	int kind = store_bounce_notice_kind(n->kind);
	const char *state = "queued";

	bn.id = n->id;
	bn.kind = kind;
	bn.list = list;
	bn.subscriber_id = n->subscriber_id;
	bn.to = to;
	bn.subject = n->subject;
	bn.body = n->body;
	if (list == NULL || kind < 0)
		g_set_error(err, HERALD_ERROR, HERALD_ERROR_CONFIG,
		    "list %s is no longer configured", n->list);
	else if (notifier->send(notifier->data, &bn, err))
		state = "sent";
	if (*err != NULL && (!g_error_matches(*err, HERALD_ERROR,
	    HERALD_ERROR_TEMP) ||
	    n->attempts + 1 >= BOUNCE_POLICY_NOTICE_TRIES))
		state = "failed";
	return state;
}

/* bp_flush - deliver queued notices with id >= FROM_ID; ONLY (may be NULL)
 * limits them to one list, else CONFIG names the lists */
static gboolean
bp_flush(struct store *store, const struct config *config,
    const struct list_config *only, gint64 from_id, gint64 now,
    const struct bounce_notifier *notifier, int *sent, int *failed,
    int *queued, GError **error)
{
	g_autoptr(GPtrArray) rows = NULL;
	guint i;

	/* read them all first: no statement stays open while one is sent */
	rows = store_bounce_notices_queued(store, from_id,
	    only != NULL ? only->name : NULL, error);
	if (rows == NULL)
		return FALSE;
	for (i = 0; i < rows->len; i++) {
		const struct store_bounce_notice *n =
		    g_ptr_array_index(rows, i);
		const struct list_config *list = only;
		g_autoptr(GError) err = NULL;
		const char *state;

		if (notifier == NULL || notifier->send == NULL) {
			(*queued)++;
			continue;
		}
		if (list == NULL && config != NULL)
			list = config_list(config, n->list, NULL);
		state = bp_send(notifier, n, list, &err);
		if (!store_bounce_notice_mark(store, n->id, state,
		    strcmp(state, "sent") == 0 ? now : 0,
		    err != NULL ? err->message : NULL, error))
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
	    notice->subject, notice->body, FALSE);
	for (to = notice->to + 1; *to != NULL; to++)
		g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_TO, NULL, *to);
	ok = notice_send(mailer, notice->list, msg,
	    (const char *const *)notice->to, error);
	g_object_unref(msg);
	return ok;
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
	struct store_bounce b = { 0 };
	struct store_bounce_tally t = { 0 };
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
	first_notice = store_bounce_notice_next_id(store);
	if ((b.list_id = store_list_id(store, list->name, TRUE, error)) == 0 ||
	    !bp_store_mail(store, b.list_id, msg, raw, raw_len,
	    report != NULL ? report->method : NULL, now, &b.mail_id, error))
		goto fail;
	oc.mail_id = b.mail_id;
	if (verp != NULL ? !bp_handle_verp(store, list, &b, verp, msg, report,
	    now, &t, error) : !bp_handle_content(store, list, &b, msg, report,
	    now, &t, error))
		goto fail;
	bp_tally(&oc, &t);
	if (!store_commit(store, error))
		goto out;
	ok = TRUE;
	/* the bounce is safe: a notice that does not leave now waits for
	 * herald maintain. Inside the caller's transaction nothing is
	 * committed yet, and no SMTP talk may hold the write lock: leave the
	 * notices queued then. */
	if (oc.notices > 0 && notifier != NULL && !store_in_transaction(store))
		bp_flush(store, NULL, list, first_notice, now, notifier,
		    &oc.notices_sent, &failed, &queued, NULL);
	goto out;
fail:
	bp_tally(&oc, &t);
	store_rollback(store);
out:
	bounce_report_free(report);
	if (parsed != NULL)
		g_object_unref(parsed);
	if (outcome != NULL)
		*outcome = oc;
	return ok;
}

/* bp_warn - queue warning N of the list's number to D */
static gboolean
bp_warn(struct store *store, const struct list_config *list, gint64 list_id,
    const struct store_bounce_disabled *d, gint64 now, GError **error)
{
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
	if (!store_bounce_notice_add(store, list_id, d->subscriber_id,
	    BOUNCE_NOTICE_WARNING, to, subject, body, now, error) ||
	    !store_bounce_warned(store, list_id, d->subscriber_id, n, now,
	    error))
		return FALSE;
	return store_event(store, list_id, d->subscriber_id, "bounce-warning",
	    "bounce", subject, error);
}

/* bp_remove - the warnings ran out: unsubscribe D */
static gboolean
bp_remove(struct store *store, const struct list_config *list, gint64 list_id,
    const struct store_bounce_disabled *d, gint64 now, GError **error)
{
	g_autofree char *detail = NULL, *subject = NULL, *body = NULL;

	detail = g_strdup_printf("disabled by bounces, %d warning(s) sent",
	    d->warnings_sent);
	if (!store_bounce_remove(store, list_id, d->subscriber_id, now,
	    error) ||
	    !store_event(store, list_id, d->subscriber_id, "removed", "bounce",
	    detail, error))
		return FALSE;
	subject = g_strdup_printf("[%s] %s removed after bounces", list->name,
	    d->email);
	body = g_strdup_printf(
	    "%s was disabled on %s by bounces and has now been removed\n"
	    "(unsubscribed) after %d warning(s) with no change.\n",
	    d->email, list->address, d->warnings_sent);
	return store_bounce_notify_owners(store, list, list_id,
	    d->subscriber_id, BOUNCE_NOTICE_OWNER_REMOVED, subject, body, now,
	    NULL, error);
}

/* bp_maintain_list - one list's warnings, removals and stale scores */
static gboolean
bp_maintain_list(struct store *store, const struct list_config *list,
    gint64 list_id, gint64 now, struct bounce_maintenance *m, GError **error)
{
	const struct bounce_policy *pol = &list->bounce;
	gint64 interval = (gint64)pol->warning_interval_days * BP_DAY;
	g_autoptr(GPtrArray) due = NULL;
	guint i;

	/* scores of members no longer in the state that made them; a score
	 * whose last bounce is stale starts again: drop it now, so herald
	 * bounces shows what counts */
	if (!store_bounce_scores_clear(store, list_id, &m->cleared, error) ||
	    !store_bounce_scores_expire(store, list_id, now / BP_DAY,
	    pol->stale_days, &m->expired, error))
		return FALSE;
	if ((due = store_bounce_disabled(store, list_id, error)) == NULL)
		return FALSE;
	for (i = 0; i < due->len; i++) {
		const struct store_bounce_disabled *d =
		    g_ptr_array_index(due, i);
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
		gint64 list_id = store_list_row(store, list->name, FALSE,
		    error);

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

/* bounce_policy_members - see bounce_policy.h */
GPtrArray *
bounce_policy_members(struct store *store, const char *list, GError **error)
{
	return store_bounce_members(store, list, error);
}

/* bounce_policy_campaign - see bounce_policy.h */
struct bounce_campaign_report *
bounce_policy_campaign(struct store *store, gint64 campaign_id,
    GError **error)
{
	return store_bounce_campaign(store, campaign_id, error);
}
