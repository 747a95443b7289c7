/*
 * test-bounce_policy.c - the scoring rules on a real SQLite file with a
 * clock the test moves: one scored bounce a day, a stale score starts
 * again, the threshold disables (hard needed; soft alone never), warnings
 * a week apart then removal, a bounce with no token for someone not
 * subscribed does nothing, a synchronous 5xx counts as hard (its status
 * code naming the reason), an unparseable VERP bounce scores as hard,
 * notices wait for a sender.
 */
#include <string.h>
#include <glib/gstdio.h>

#include "herald.h"
#include "bounce.h"
#include "bounce_policy.h"
#include "store.h"
#include "store_sqlite.h"
#include "store_bounces.h"
#include "token.h"

#define DAY 86400
#define T0 ((gint64)1717200000)	/* 2024-06-01 00:00 UTC */

struct fx {
	char			*dir;
	struct store		*store;
	struct list_config	 list;
	struct config		 config;
	gint64			 list_id;
	gint64			 alice, bob, carol;	/* carol: other list only */
	struct token_key	 key;
};

static char *fx_owners[] = { "owner@example.org", NULL };

/* a notifier that records what it was asked to send */
struct sink {
	GPtrArray	*sent;		/* "kind to subject" */
	gboolean	 temp_fail;
};

static gboolean
sink_send(void *data, const struct bounce_notice *n, GError **error)
{
	struct sink *s = data;

	if (s->temp_fail) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_TEMP, "relay down");
		return FALSE;
	}
	g_ptr_array_add(s->sent, g_strdup_printf("%s %s %s",
	    store_bounce_notice_kind_name(n->kind), n->to[0], n->subject));
	return TRUE;
}

static gint64
sql_int(struct fx *f, const char *sql)
{
	g_autoptr(sqlite3_stmt) st = store_prepare(f->store, sql, NULL);

	g_assert_nonnull(st);
	g_assert_cmpint(sqlite3_step(st), ==, SQLITE_ROW);
	return sqlite3_column_int64(st, 0);
}

static char *
sql_text(struct fx *f, const char *sql)
{
	g_autoptr(sqlite3_stmt) st = store_prepare(f->store, sql, NULL);

	g_assert_nonnull(st);
	if (sqlite3_step(st) != SQLITE_ROW)
		return NULL;
	return g_strdup((const char *)sqlite3_column_text(st, 0));
}

static double
score_of(struct fx *f, gint64 sub)
{
	g_autofree char *q = g_strdup_printf("SELECT coalesce((SELECT score"
	    " FROM bounce_scores WHERE list_id = %" G_GINT64_FORMAT
	    " AND subscriber_id = %" G_GINT64_FORMAT "), 0) * 1000", f->list_id,
	    sub);

	return sql_int(f, q) / 1000.0;
}

static char *
status_of(struct fx *f, gint64 sub)
{
	g_autofree char *q = g_strdup_printf("SELECT status FROM memberships"
	    " WHERE list_id = %" G_GINT64_FORMAT " AND subscriber_id = %"
	    G_GINT64_FORMAT, f->list_id, sub);

	return sql_text(f, q);
}

static gint64
add_sub(struct fx *f, const char *email, gint64 list_id)
{
	g_autoptr(sqlite3_stmt) st = store_prepare(f->store,
	    "INSERT INTO subscribers(email, email_key) VALUES (?1, ?1)", NULL);
	g_autoptr(sqlite3_stmt) m = store_prepare(f->store,
	    "INSERT INTO memberships(list_id, subscriber_id, status)"
	    " VALUES (?1, ?2, 'active')", NULL);
	gint64 id;

	sqlite3_bind_text(st, 1, email, -1, SQLITE_STATIC);
	g_assert_true(store_step_done(f->store, st, "sub", NULL));
	id = sqlite3_last_insert_rowid(f->store->db);
	sqlite3_bind_int64(m, 1, list_id);
	sqlite3_bind_int64(m, 2, id);
	g_assert_true(store_step_done(f->store, m, "member", NULL));
	return id;
}

static void
fx_setup(struct fx *f, gconstpointer data)
{
	g_autofree char *path = NULL;
	g_autoptr(GError) error = NULL;
	gint64 other;

	f->dir = g_dir_make_tmp("herald-bp-XXXXXX", &error);
	g_assert_no_error(error);
	path = g_build_filename(f->dir, "herald.db", NULL);
	f->store = store_open(path, STORE_OPEN_CREATE, &error);
	g_assert_no_error(error);
	g_assert_true(store_migrate(f->store, NULL, &error));
	f->list.name = (char *)"xen-users";
	f->list.address = (char *)"xen-users@lists.example.org";
	f->list.local = (char *)"xen-users";
	f->list.domain = (char *)"lists.example.org";
	f->list.display_name = (char *)"Xen Users";
	f->list.owners = fx_owners;
	f->list.bounce = (struct bounce_policy){ 1.0, 0.5, 5.0, 7, 3, 7, TRUE };
	f->config.lists = g_ptr_array_new();
	g_ptr_array_add(f->config.lists, &f->list);
	f->list_id = store_list_id(f->store, "xen-users", TRUE, &error);
	other = store_list_id(f->store, "xen-devel", TRUE, &error);
	g_assert_no_error(error);
	f->alice = add_sub(f, "alice@subs.test", f->list_id);
	f->bob = add_sub(f, "bob@subs.test", f->list_id);
	f->carol = add_sub(f, "carol@subs.test", other);
	memset(f->key.bytes, 7, sizeof(f->key.bytes));
}

static void
fx_teardown(struct fx *f, gconstpointer data)
{
	g_autofree char *db = g_build_filename(f->dir, "herald.db", NULL);
	g_autofree char *wal = g_strconcat(db, "-wal", NULL);
	g_autofree char *shm = g_strconcat(db, "-shm", NULL);

	store_close(f->store);
	g_unlink(db);
	g_unlink(wal);
	g_unlink(shm);
	g_rmdir(f->dir);
	g_free(f->dir);
	g_ptr_array_unref(f->config.lists);
}

/* a DSN for RCPT with STATUS (4.x.x: delayed, else failed) */
static char *
dsn(const char *rcpt, const char *status)
{
	return g_strdup_printf(
	    "From: Mail Delivery System <MAILER-DAEMON@mx.subs.test>\n"
	    "To: xen-users-bounces@lists.example.org\n"
	    "Subject: Undelivered Mail Returned to Sender\n"
	    "Message-ID: <dsn-1@mx.subs.test>\n"
	    "MIME-Version: 1.0\n"
	    "Content-Type: multipart/report; report-type=delivery-status;"
	    " boundary=\"BB\"\n\n"
	    "--BB\nContent-Type: text/plain\n\n"
	    "Your message could not be delivered.\n\n"
	    "--BB\nContent-Type: message/delivery-status\n\n"
	    "Reporting-MTA: dns; mx.subs.test\n\n"
	    "Final-Recipient: rfc822; %s\n"
	    "Action: %s\nStatus: %s\n"
	    "Diagnostic-Code: smtp; %c50 %s mailbox trouble\n\n"
	    "--BB--\n", rcpt, status[0] == '4' ? "delayed" : "failed", status,
	    status[0], status);
}

/* feed a bounce: VERP for SUB (0: no token) */
static void
feed(struct fx *f, gint64 sub, const char *text, gint64 now,
    struct bounce_outcome *oc)
{
	struct bounce_verp verp = { sub, 99 };
	g_autoptr(GError) error = NULL;

	g_assert_true(bounce_policy_handle(f->store, &f->list,
	    sub != 0 ? &verp : NULL, NULL, text, strlen(text), &f->key, now,
	    NULL, oc, &error));
	g_assert_no_error(error);
}

static void
hard(struct fx *f, gint64 sub, gint64 now)
{
	g_autofree char *m = dsn("alice@subs.test", "5.1.1");

	feed(f, sub, m, now, NULL);
}

static void
soft(struct fx *f, gint64 sub, gint64 now)
{
	g_autofree char *m = dsn("alice@subs.test", "4.2.2");

	feed(f, sub, m, now, NULL);
}

static void
test_one_a_day(struct fx *f, gconstpointer data)
{
	struct bounce_outcome oc;
	g_autofree char *m = dsn("alice@subs.test", "5.1.1");

	feed(f, f->alice, m, T0 + 3600, &oc);
	g_assert_cmpint(oc.scored, ==, 1);
	feed(f, f->alice, m, T0 + 7200, &oc);
	g_assert_cmpint(oc.stored, ==, 1);
	g_assert_cmpint(oc.scored, ==, 0);
	hard(f, f->alice, T0 + DAY - 1);
	g_assert_cmpfloat(score_of(f, f->alice), ==, 1.0);
	g_assert_cmpint(sql_int(f, "SELECT count(*) FROM bounces"), ==, 3);
	g_assert_cmpint(sql_int(f, "SELECT count(*) FROM bounces"
	    " WHERE action = 'same-day'"), ==, 2);
	/* the next UTC day scores again */
	hard(f, f->alice, T0 + DAY);
	g_assert_cmpfloat(score_of(f, f->alice), ==, 2.0);
	/* a soft bounce first, then a hard one the same day: the day counts
	 * the hard one */
	soft(f, f->bob, T0);
	g_assert_cmpfloat(score_of(f, f->bob), ==, 0.5);
	hard(f, f->bob, T0 + 60);
	g_assert_cmpfloat(score_of(f, f->bob), ==, 1.0);
	soft(f, f->bob, T0 + 120);
	g_assert_cmpfloat(score_of(f, f->bob), ==, 1.0);
}

static void
test_stale(struct fx *f, gconstpointer data)
{
	int d;

	for (d = 0; d < 4; d++)
		hard(f, f->alice, T0 + d * DAY);
	g_assert_cmpfloat(score_of(f, f->alice), ==, 4.0);
	/* seven days after the last bounce still counts */
	hard(f, f->alice, T0 + 10 * DAY);
	g_assert_cmpfloat(score_of(f, f->alice), ==, 5.0);
}

static void
test_stale_reset(struct fx *f, gconstpointer data)
{
	struct bounce_maintenance m;
	g_autoptr(GError) error = NULL;
	int d;

	for (d = 0; d < 4; d++)
		hard(f, f->alice, T0 + d * DAY);
	/* eight days after the last: it starts again */
	hard(f, f->alice, T0 + 11 * DAY);
	g_assert_cmpfloat(score_of(f, f->alice), ==, 1.0);
	g_autofree char *st = status_of(f, f->alice);
	g_assert_cmpstr(st, ==, MEMBER_ACTIVE);
	g_assert_cmpint(sql_int(f, "SELECT first_at FROM bounce_scores"), ==,
	    T0 + 11 * DAY);
	/* herald maintain drops a stale score */
	g_assert_true(bounce_policy_maintain(f->store, &f->config,
	    T0 + 18 * DAY, NULL, &m, &error));
	g_assert_cmpint(m.expired, ==, 0);
	g_assert_true(bounce_policy_maintain(f->store, &f->config,
	    T0 + 19 * DAY, NULL, &m, &error));
	g_assert_cmpint(m.expired, ==, 1);
	g_assert_cmpfloat(score_of(f, f->alice), ==, 0.0);
}

static void
test_threshold(struct fx *f, gconstpointer data)
{
	struct bounce_outcome oc;
	g_autofree char *m = dsn("alice@subs.test", "5.1.1");
	g_autofree char *st = NULL, *ev = NULL, *rc = NULL;
	int d;

	for (d = 0; d < 4; d++)
		hard(f, f->alice, T0 + d * DAY);
	st = status_of(f, f->alice);
	g_assert_cmpstr(st, ==, MEMBER_ACTIVE);
	feed(f, f->alice, m, T0 + 4 * DAY, &oc);
	g_assert_cmpint(oc.disabled, ==, 1);
	g_assert_cmpint(oc.notices, ==, 1);
	g_free(st);
	st = status_of(f, f->alice);
	g_assert_cmpstr(st, ==, MEMBER_DISABLED);
	ev = sql_text(f, "SELECT action || ' ' || channel FROM events"
	    " ORDER BY id DESC LIMIT 1");
	g_assert_cmpstr(ev, ==, "disabled bounce");
	rc = sql_text(f, "SELECT kind || ' ' || recipients || ' ' || state"
	    " FROM bounce_notices");
	g_assert_cmpstr(rc, ==, "owner-disabled owner@example.org queued");
	/* more bounces while disabled are stored, not scored */
	hard(f, f->alice, T0 + 5 * DAY);
	g_assert_cmpint(sql_int(f, "SELECT count(*) FROM bounces"
	    " WHERE action = 'already-disabled'"), ==, 1);
	g_assert_cmpfloat(score_of(f, f->alice), ==, 5.0);
	/* bob untouched */
	g_free(st);
	st = status_of(f, f->bob);
	g_assert_cmpstr(st, ==, MEMBER_ACTIVE);
}

static void
test_soft_only(struct fx *f, gconstpointer data)
{
	g_autofree char *st = NULL;
	int d;

	for (d = 0; d < 20; d++)
		soft(f, f->alice, T0 + d * DAY);
	g_assert_cmpfloat(score_of(f, f->alice), ==, 10.0);
	st = status_of(f, f->alice);
	g_assert_cmpstr(st, ==, MEMBER_ACTIVE);
	/* one hard bounce in the period is enough then */
	hard(f, f->alice, T0 + 20 * DAY);
	g_free(st);
	st = status_of(f, f->alice);
	g_assert_cmpstr(st, ==, MEMBER_DISABLED);
}

static void
test_warnings_then_removal(struct fx *f, gconstpointer data)
{
	struct sink sink = { g_ptr_array_new_with_free_func(g_free), FALSE };
	struct bounce_notifier n = { sink_send, &sink };
	struct bounce_maintenance m;
	g_autoptr(GError) error = NULL;
	g_autofree char *st = NULL, *ev = NULL;
	gint64 dis = T0 + 4 * DAY;
	int d;

	for (d = 0; d < 5; d++)
		hard(f, f->alice, T0 + d * DAY);
	/* the first run: warning 1, and the queued owner notice leaves */
	g_assert_true(bounce_policy_maintain(f->store, &f->config, dis + 3600,
	    &n, &m, &error));
	g_assert_cmpint(m.warned, ==, 1);
	g_assert_cmpint(m.notices_sent, ==, 2);
	g_assert_cmpstr(g_ptr_array_index(sink.sent, 0), ==,
	    "owner-disabled owner@example.org [xen-users] alice@subs.test"
	    " disabled by bounces");
	g_assert_true(g_str_has_prefix(g_ptr_array_index(sink.sent, 1),
	    "warning alice@subs.test [xen-users] Your address is returning our"
	    " mail (warning 1 of 3)"));
	/* daily runs: nothing until seven days after the warning */
	for (d = 1; d < 7; d++) {
		g_assert_true(bounce_policy_maintain(f->store, &f->config,
		    dis + 3600 + d * DAY - 60, &n, &m, &error));
		g_assert_cmpint(m.warned + m.removed, ==, 0);
	}
	g_assert_true(bounce_policy_maintain(f->store, &f->config,
	    dis + 3600 + 7 * DAY, &n, &m, &error));
	g_assert_cmpint(m.warned, ==, 1);
	g_assert_true(bounce_policy_maintain(f->store, &f->config,
	    dis + 3600 + 14 * DAY, &n, &m, &error));
	g_assert_cmpint(m.warned, ==, 1);
	g_assert_cmpint(sink.sent->len, ==, 4);
	g_assert_true(g_str_has_suffix(g_ptr_array_index(sink.sent, 3),
	    "(warning 3 of 3)"));
	st = status_of(f, f->alice);
	g_assert_cmpstr(st, ==, MEMBER_DISABLED);
	/* a week after the last warning: removed, owners told */
	g_assert_true(bounce_policy_maintain(f->store, &f->config,
	    dis + 3600 + 21 * DAY - 60, &n, &m, &error));
	g_assert_cmpint(m.removed, ==, 0);
	g_assert_true(bounce_policy_maintain(f->store, &f->config,
	    dis + 3600 + 21 * DAY, &n, &m, &error));
	g_assert_cmpint(m.removed, ==, 1);
	g_free(st);
	st = status_of(f, f->alice);
	g_assert_cmpstr(st, ==, MEMBER_UNSUBSCRIBED);
	ev = sql_text(f, "SELECT group_concat(action, ',') FROM (SELECT action"
	    " FROM events WHERE channel = 'bounce' ORDER BY id)");
	g_assert_cmpstr(ev, ==, "disabled,bounce-warning,bounce-warning,"
	    "bounce-warning,removed");
	g_assert_cmpint(sink.sent->len, ==, 5);
	g_assert_true(g_str_has_prefix(g_ptr_array_index(sink.sent, 4),
	    "owner-removed owner@example.org"));
	g_assert_cmpint(sql_int(f, "SELECT count(*) FROM bounce_scores"), ==, 0);
	/* nothing more to do */
	g_assert_true(bounce_policy_maintain(f->store, &f->config,
	    dis + 60 * DAY, &n, &m, &error));
	g_assert_cmpint(m.warned + m.removed + m.notices_sent, ==, 0);
	g_ptr_array_unref(sink.sent);
}

static void
test_no_warnings_configured(struct fx *f, gconstpointer data)
{
	struct bounce_maintenance m;
	g_autoptr(GError) error = NULL;
	g_autofree char *st = NULL;
	int d;

	f->list.bounce.warnings = 0;
	for (d = 0; d < 5; d++)
		hard(f, f->alice, T0 + d * DAY);
	g_assert_true(bounce_policy_maintain(f->store, &f->config,
	    T0 + 4 * DAY + 60, NULL, &m, &error));
	g_assert_cmpint(m.warned, ==, 0);
	g_assert_cmpint(m.removed, ==, 1);
	st = status_of(f, f->alice);
	g_assert_cmpstr(st, ==, MEMBER_UNSUBSCRIBED);
}

static void
test_reenabled(struct fx *f, gconstpointer data)
{
	struct bounce_maintenance m;
	g_autoptr(GError) error = NULL;
	int d;

	for (d = 0; d < 5; d++)
		hard(f, f->alice, T0 + d * DAY);
	/* the manager sets alice active again */
	g_assert_true(store_exec(f->store, "UPDATE memberships SET status ="
	    " 'active' WHERE subscriber_id = 1", NULL));
	g_assert_true(bounce_policy_maintain(f->store, &f->config,
	    T0 + 5 * DAY, NULL, &m, &error));
	g_assert_cmpint(m.cleared, ==, 1);
	g_assert_cmpint(m.warned, ==, 0);
	hard(f, f->alice, T0 + 6 * DAY);
	g_assert_cmpfloat(score_of(f, f->alice), ==, 1.0);
}

static void
test_content_only_members(struct fx *f, gconstpointer data)
{
	struct bounce_outcome oc;
	g_autofree char *m1 = dsn("stranger@subs.test", "5.1.1");
	g_autofree char *m2 = dsn("carol@subs.test", "5.1.1");
	g_autofree char *m3 = dsn("Bob@SUBS.test", "5.1.1");
	g_autofree char *st = NULL;
	int d;

	/* not subscribed anywhere: stored, nothing else */
	for (d = 0; d < 6; d++)
		feed(f, 0, m1, T0 + d * DAY, &oc);
	g_assert_cmpint(oc.stored, ==, 1);
	g_assert_cmpint(oc.scored, ==, 0);
	/* subscribed to another list only: the same */
	for (d = 0; d < 6; d++)
		feed(f, 0, m2, T0 + d * DAY, &oc);
	g_assert_cmpint(sql_int(f, "SELECT count(*) FROM bounce_scores"), ==, 0);
	g_assert_cmpint(sql_int(f, "SELECT count(*) FROM bounces WHERE action"
	    " = 'not-member'"), ==, 12);
	g_assert_cmpint(sql_int(f, "SELECT count(*) FROM events"), ==, 0);
	st = sql_text(f, "SELECT group_concat(DISTINCT source) FROM bounces");
	g_assert_cmpstr(st, ==, "content");
	/* a member of this list, named in any case: scored */
	feed(f, 0, m3, T0, &oc);
	g_assert_cmpint(oc.scored, ==, 1);
	g_assert_cmpfloat(score_of(f, f->bob), ==, 1.0);
}

static void
test_token_inside(struct fx *f, gconstpointer data)
{
	g_autofree char *tok = token_make(&f->key, TOKEN_BOUNCE, "xen-users",
	    f->bob, 42);
	/* a DSN that reached the list's plain bounce address, naming an
	 * address herald never sent to (a forward): the token in the returned
	 * headers' Return-Path still names bob */
	g_autofree char *m = g_strdup_printf(
	    "From: MAILER-DAEMON@mx.subs.test\n"
	    "To: xen-users-bounces@lists.example.org\n"
	    "Subject: Undelivered Mail Returned to Sender\n"
	    "MIME-Version: 1.0\n"
	    "Content-Type: multipart/report; report-type=delivery-status;"
	    " boundary=\"BB\"\n\n"
	    "--BB\nContent-Type: text/plain\n\nNo such user.\n\n"
	    "--BB\nContent-Type: message/delivery-status\n\n"
	    "Reporting-MTA: dns; mx.subs.test\n\n"
	    "Final-Recipient: rfc822; forwarded@elsewhere.test\n"
	    "Action: failed\nStatus: 5.1.1\n\n"
	    "--BB\nContent-Type: text/rfc822-headers\n\n"
	    "Return-Path: <xen-users-bounces+%s@lists.example.org>\n"
	    "From: Xen Users <community@example.org>\n"
	    "To: bob@subs.test\n"
	    "Subject: Summit\n\n"
	    "--BB--\n", tok);
	struct bounce_outcome oc;
	g_autofree char *src = NULL;

	feed(f, 0, m, T0, &oc);
	g_assert_cmpint(oc.scored, ==, 1);
	g_assert_cmpfloat(score_of(f, f->bob), ==, 1.0);
	src = sql_text(f, "SELECT source || ' ' || delivery_id FROM bounces");
	g_assert_cmpstr(src, ==, "verp 42");
}

static void
test_verp_unparseable(struct fx *f, gconstpointer data)
{
	const char *junk = "From: someone@mx.subs.test\nSubject: ???\n\n"
	    "something went wrong, no idea what\n";
	const char *vacation = "From: alice@subs.test\nSubject: Out of office\n"
	    "Auto-Submitted: auto-replied\n\nI am away until Monday.\n";
	struct bounce_outcome oc;
	g_autofree char *row = NULL;

	feed(f, f->alice, junk, T0, &oc);
	g_assert_cmpint(oc.scored, ==, 1);
	row = sql_text(f, "SELECT kind || ' ' || source || ' ' || address ||"
	    " ' ' || scored FROM bounces");
	g_assert_cmpstr(row, ==, "unknown verp alice@subs.test 1.0");
	/* an auto-reply to the VERP address is not a bounce */
	feed(f, f->bob, vacation, T0, &oc);
	g_assert_cmpint(oc.stored, ==, 1);
	g_assert_cmpint(oc.scored, ==, 0);
	g_assert_cmpfloat(score_of(f, f->bob), ==, 0.0);
	/* a token for a subscriber since deleted: stored, no action */
	feed(f, 999, junk, T0, &oc);
	g_assert_cmpint(oc.stored, ==, 1);
	g_assert_cmpint(oc.scored, ==, 0);
}

static void
test_sync_is_hard(struct fx *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *row = NULL, *st = NULL;
	int d;

	for (d = 0; d < 5; d++)
		g_assert_true(store_bounce_record_sync(f->store, &f->list, 0,
		    f->alice, 7, NULL, "550 5.1.1 <alice@subs.test>: Recipient"
		    " address rejected: User unknown", T0 + d * DAY, &error));
	g_assert_no_error(error);
	row = sql_text(f, "SELECT source || ' ' || kind || ' ' || status ||"
	    " ' ' || reason || ' ' || address FROM bounces LIMIT 1");
	g_assert_cmpstr(row, ==, "sync hard 5.1.1 user_unknown alice@subs.test");
	st = status_of(f, f->alice);
	g_assert_cmpstr(st, ==, MEMBER_DISABLED);
	/* inside the sender's own transaction */
	g_assert_true(store_begin(f->store, NULL));
	g_assert_true(store_bounce_record_sync(f->store, &f->list, f->list_id,
	    f->bob, 8, "5.7.1", "550 5.7.1 blocked", T0, &error));
	g_assert_true(store_commit(f->store, NULL));
	g_assert_cmpfloat(score_of(f, f->bob), ==, 1.0);
}

/* a 5xx's enhanced status code gives the reason bounce.h names */
static void
test_sync_reasons(struct fx *f, gconstpointer data)
{
	static const struct {
		const char *reply;
		enum bounce_reason reason;
	} cases[] = {
		{ "550 5.1.1 unknown", BOUNCE_REASON_USER_UNKNOWN },
		{ "550 5.1.10 null MX", BOUNCE_REASON_USER_UNKNOWN },
		{ "550 5.2.1 disabled", BOUNCE_REASON_USER_UNKNOWN },
		{ "550 5.1.2 no host", BOUNCE_REASON_HOST_UNKNOWN },
		{ "554 5.4.4 unroutable", BOUNCE_REASON_HOST_UNKNOWN },
		{ "552 5.2.2 over quota", BOUNCE_REASON_MAILBOX_FULL },
		{ "552 5.3.4 too big", BOUNCE_REASON_TOO_BIG },
		{ "554 5.7.1 blocked", BOUNCE_REASON_BLOCKED },
		{ "550 5.0.0 no", BOUNCE_REASON_OTHER },
		{ "550 no code at all", BOUNCE_REASON_OTHER },
	};
	guint i;

	for (i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autofree char *got = NULL;

		g_assert_true(store_bounce_record_sync(f->store, &f->list, 0,
		    f->bob, 0, NULL, cases[i].reply, T0 + i * DAY, &error));
		g_assert_no_error(error);
		got = sql_text(f, "SELECT reason FROM bounces"
		    " ORDER BY id DESC LIMIT 1");
		g_assert_cmpstr(got, ==, bounce_reason_name(cases[i].reason));
	}
}

static void
test_notices_wait_for_sender(struct fx *f, gconstpointer data)
{
	struct sink sink = { g_ptr_array_new_with_free_func(g_free), TRUE };
	struct bounce_notifier n = { sink_send, &sink };
	struct bounce_outcome oc = { 0 };
	struct bounce_verp verp = { f->alice, 1 };
	struct bounce_maintenance m;
	g_autoptr(GError) error = NULL;
	g_autofree char *msg = dsn("alice@subs.test", "5.1.1");
	g_autofree char *err = NULL;
	int d;

	for (d = 0; d < 5; d++)
		g_assert_true(bounce_policy_handle(f->store, &f->list, &verp, NULL,
		    msg, strlen(msg), NULL, T0 + d * DAY, &n, &oc, &error));
	/* the relay is down: the bounce is stored all the same */
	g_assert_cmpint(oc.disabled, ==, 1);
	g_assert_cmpint(oc.notices_sent, ==, 0);
	err = sql_text(f, "SELECT state || ' ' || attempts || ' ' || error"
	    " FROM bounce_notices");
	g_assert_cmpstr(err, ==, "queued 1 relay down");
	sink.temp_fail = FALSE;
	/* inside a caller's transaction nothing is sent before its commit */
	verp.subscriber_id = f->bob;
	g_assert_true(store_begin(f->store, NULL));
	for (d = 0; d < 5; d++)
		g_assert_true(bounce_policy_handle(f->store, &f->list, &verp, NULL,
		    msg, strlen(msg), NULL, T0 + d * DAY, &n, &oc, &error));
	g_assert_true(store_commit(f->store, NULL));
	g_assert_cmpint(oc.disabled, ==, 1);
	g_assert_cmpint(oc.notices_sent, ==, 0);
	g_assert_cmpint(sink.sent->len, ==, 0);
	g_assert_true(bounce_policy_maintain(f->store, &f->config,
	    T0 + 5 * DAY, &n, &m, &error));
	g_assert_cmpint(m.notices_sent, ==, 4);	/* 2 owners', 2 warnings */
	g_assert_cmpint(m.notices_queued, ==, 0);
	g_assert_cmpint(sql_int(f, "SELECT count(*) FROM bounce_notices"
	    " WHERE state = 'sent'"), ==, 4);
	g_ptr_array_unref(sink.sent);
}

static void
test_stored_message(struct fx *f, gconstpointer data)
{
	GString *big = g_string_new(NULL);
	g_autofree char *m = dsn("alice@subs.test", "5.2.2");
	g_autofree char *row = NULL;

	g_string_append(big, m);
	while (big->len < 200 * 1024)
		g_string_append(big, "padding padding padding padding\n");
	feed(f, f->alice, big->str, T0, NULL);
	row = sql_text(f, "SELECT message_id || ' ' || subject || ' ' ||"
	    " length(raw) || ' ' || (raw_size > 200000) || ' ' ||"
	    " (headers LIKE '%Content-Type: multipart/report%') FROM bounce_mail");
	g_assert_cmpstr(row, ==, "dsn-1@mx.subs.test Undelivered Mail Returned"
	    " to Sender 65536 1 1");
	g_free(row);
	row = sql_text(f, "SELECT reason || ' ' || status || ' ' || diagnostic"
	    " FROM bounces");
	g_assert_cmpstr(row, ==, "mailbox_full 5.2.2 550 5.2.2 mailbox trouble");
	g_string_free(big, TRUE);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_mime_init();
#define ADD(name, fn) g_test_add("/bounce_policy/" name, struct fx, NULL, \
    fx_setup, fn, fx_teardown)
	ADD("one-a-day", test_one_a_day);
	ADD("stale-within", test_stale);
	ADD("stale-reset", test_stale_reset);
	ADD("threshold", test_threshold);
	ADD("soft-only", test_soft_only);
	ADD("warnings-then-removal", test_warnings_then_removal);
	ADD("no-warnings", test_no_warnings_configured);
	ADD("reenabled", test_reenabled);
	ADD("content-only-members", test_content_only_members);
	ADD("token-inside", test_token_inside);
	ADD("verp-unparseable", test_verp_unparseable);
	ADD("sync-is-hard", test_sync_is_hard);
	ADD("sync-reasons", test_sync_reasons);
	ADD("notices-wait", test_notices_wait_for_sender);
	ADD("stored-message", test_stored_message);
	return g_test_run();
}
