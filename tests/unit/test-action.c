/*
 * test-action.c - the membership actions herald pipe and herald serve
 * share, on a real database: finding a token's list (and refusing other
 * purposes, tampering and test tokens for real ones), unsubscribe and its
 * idempotence, undo only from "unsubscribed", test tokens and subscriber
 * 0 acting on nobody, preferences, and the in-process write lock left
 * free on every path. The goodbye is queued in the outbox with the
 * change, once; nothing is sent.
 */
#include <string.h>
#include <glib/gstdio.h>
#include <gmime/gmime.h>

#include "herald.h"
#include "action.h"
#include "config.h"
#include "store.h"
#include "store_sqlite.h"
#include "subscriber.h"
#include "token.h"

struct fixture {
	char *dir;
	struct store *store;
	struct config config;
	struct list_config *list;
	struct token_key key;
	GMutex lock;
	struct action_ctx a;
	gint64 alice, bob;
	GArray *notices;	/* what the actions queued */
};

/* fx_sql - run SQL, which must work */
static void
fx_sql(struct fixture *f, const char *sql)
{
	g_assert_true(store_exec(f->store, sql, NULL));
}

/* fx_int - the one integer SQL returns */
static gint64
fx_int(struct fixture *f, const char *sql)
{
	g_autoptr(sqlite3_stmt) st = store_prepare(f->store, sql, NULL);

	g_assert_nonnull(st);
	g_assert_cmpint(sqlite3_step(st), ==, SQLITE_ROW);
	return sqlite3_column_int64(st, 0);
}

static const char *
fx_status(struct fixture *f, gint64 sub)
{
	return action_status(&f->a, f->list, sub, NULL);
}

static void
fx_setup(struct fixture *f, gconstpointer data)
{
	g_autofree char *path = NULL;

	memset(f, 0, sizeof(*f));
	f->dir = g_dir_make_tmp("herald-action-XXXXXX", NULL);
	path = g_build_filename(f->dir, "herald.db", NULL);
	f->store = store_open(path, STORE_OPEN_CREATE, NULL);
	g_assert_nonnull(f->store);
	g_assert_true(store_migrate(f->store, NULL, NULL));
	f->list = g_new0(struct list_config, 1);
	f->list->name = g_strdup("news");
	f->list->local = g_strdup("news");
	f->list->domain = g_strdup("lists.example.org");
	f->list->address = g_strdup("news@lists.example.org");
	f->list->display_name = g_strdup("News");
	f->list->goodbye_notice = TRUE;
	f->config.lists = g_ptr_array_new_with_free_func(
	    (GDestroyNotify)config_list_free);
	g_ptr_array_add(f->config.lists, f->list);
	f->config.pipe.pending_expiry_hours = 72;
	memset(f->key.bytes, 7, sizeof(f->key.bytes));
	g_mutex_init(&f->lock);
	f->a.config = &f->config;
	f->a.store = f->store;
	f->a.key = &f->key;
	f->a.channel = "web";
	f->a.now = g_get_real_time() / G_USEC_PER_SEC;
	f->a.notices = &f->notices;
	f->a.write_lock = &f->lock;
	fx_sql(f, "INSERT INTO lists(name) VALUES ('news');"
	    "INSERT INTO subscribers(email, email_key) VALUES"
	    " ('alice@example.org', 'alice@example.org'),"
	    " ('bob@example.org', 'bob@example.org');"
	    "INSERT INTO memberships(list_id, subscriber_id, status)"
	    " SELECT 1, id, 'active' FROM subscribers");
	f->alice = fx_int(f, "SELECT id FROM subscribers WHERE email LIKE 'alice%'");
	f->bob = fx_int(f, "SELECT id FROM subscribers WHERE email LIKE 'bob%'");
}

static void
fx_teardown(struct fixture *f, gconstpointer data)
{
	g_autofree char *cmd = NULL;

	/* every path left the process's write lock free */
	g_assert_true(g_mutex_trylock(&f->lock));
	g_mutex_unlock(&f->lock);
	g_mutex_clear(&f->lock);
	store_close(f->store);
	if (f->notices != NULL)
		g_array_unref(f->notices);
	g_ptr_array_unref(f->config.lists);
	cmd = g_strdup_printf("rm -rf '%s'", f->dir);
	g_assert_cmpint(system(cmd), ==, 0);
	g_free(f->dir);
}

static void
test_token_find(struct fixture *f, gconstpointer data)
{
	g_autofree char *u = token_make(&f->key, TOKEN_UNSUBSCRIBE, "news",
	    f->alice, 0);
	g_autofree char *b = token_make(&f->key, TOKEN_BOUNCE, "news",
	    f->alice, 9);
	g_autofree char *other = token_make(&f->key, TOKEN_UNSUBSCRIBE,
	    "other-list", f->alice, 0);
	g_autofree char *test = token_make(&f->key, TOKEN_TEST_UNSUBSCRIBE,
	    "news", f->alice, 0);
	g_autofree char *bad = g_strdup(u);
	const struct list_config *l = NULL;
	const guint u_only = TOKEN_ACCEPT_UNSUBSCRIBE;
	const guint u_and_test = u_only | TOKEN_ACCEPT_TEST_UNSUBSCRIBE;
	struct token_claim c;
	g_autoptr(GError) error = NULL;

	g_assert_true(action_token_find(&f->config, &f->key, u, u_only, &l, &c,
	    NULL));
	g_assert_true(l == f->list);
	g_assert_cmpint(c.purpose, ==, TOKEN_UNSUBSCRIBE);
	g_assert_cmpint(c.subscriber_id, ==, f->alice);
	/* another purpose: nothing of it comes back */
	g_assert_false(action_token_find(&f->config, &f->key, b, u_and_test,
	    NULL, &c, &error));
	g_assert_error(error, HERALD_ERROR, HERALD_ERROR_DATA);
	g_assert_null(strstr(error->message, b));
	g_assert_cmpint(c.subscriber_id, ==, 0);
	g_clear_error(&error);
	g_assert_false(action_token_find(&f->config, &f->key, u,
	    TOKEN_ACCEPT_CONFIRM, NULL, &c, NULL));
	g_assert_cmpint(c.subscriber_id, ==, 0);
	g_assert_false(action_token_find(&f->config, &f->key, other, u_only,
	    NULL, NULL, NULL));
	bad[strlen(bad) - 1] = bad[strlen(bad) - 1] == 'a' ? 'b' : 'a';
	g_assert_false(action_token_find(&f->config, &f->key, bad, u_only,
	    NULL, &c, NULL));
	g_assert_cmpint(c.subscriber_id, ==, 0);
	g_assert_false(action_token_find(&f->config, &f->key, "", u_only,
	    NULL, NULL, NULL));
	/* a test copy's token: not where only real ones are taken */
	g_assert_false(action_token_find(&f->config, &f->key, test, u_only,
	    NULL, &c, NULL));
	g_assert_cmpint(c.subscriber_id, ==, 0);
	/* found where test tokens are asked for, and says it is one */
	g_assert_true(action_token_find(&f->config, &f->key, test, u_and_test,
	    NULL, &c, NULL));
	g_assert_true(token_is_test(c.purpose));
}

static void
test_unsubscribe(struct fixture *f, gconstpointer data)
{
	enum action_state st;

	g_assert_true(action_unsubscribe(&f->a, f->list, f->alice, "one-click",
	    &st, NULL));
	g_assert_cmpint(st, ==, ACTION_DONE);
	g_assert_cmpstr(fx_status(f, f->alice), ==, MEMBER_UNSUBSCRIBED);
	g_assert_cmpstr(fx_status(f, f->bob), ==, MEMBER_ACTIVE);
	g_assert_cmpint(fx_int(f, "SELECT count(*) FROM events WHERE action ="
	    " 'unsubscribe' AND channel = 'web'"), ==, 1);
	/* no goodbye after a one-click unless the list asks for one */
	g_assert_cmpint(fx_int(f, "SELECT count(*) FROM outbox"), ==, 0);
	g_assert_null(f->notices);
	f->list->goodbye_after_one_click = TRUE;
	g_assert_true(action_unsubscribe(&f->a, f->list, f->bob, "one-click",
	    &st, NULL));
	g_assert_cmpint(st, ==, ACTION_DONE);
	/* the goodbye is in the outbox, queued with the change */
	g_assert_cmpint(fx_int(f, "SELECT count(*) FROM outbox WHERE kind ="
	    " 'goodbye'"), ==, 1);
	g_assert_nonnull(f->notices);
	g_assert_cmpint(f->notices->len, ==, 1);
	g_assert_true(action_unsubscribe(&f->a, f->list, f->alice, "one-click",
	    &st, NULL));
	g_assert_cmpint(st, ==, ACTION_ALREADY);
	g_assert_cmpint(fx_int(f, "SELECT count(*) FROM events WHERE action ="
	    " 'unsubscribe'"), ==, 2);
	g_assert_cmpint(fx_int(f, "SELECT count(*) FROM outbox"), ==, 1);
	g_assert_true(action_unsubscribe(&f->a, f->list, 0, "one-click", &st,
	    NULL));
	g_assert_cmpint(st, ==, ACTION_TEST);
	g_assert_true(action_unsubscribe(&f->a, f->list, 999, "one-click", &st,
	    NULL));
	g_assert_cmpint(st, ==, ACTION_NOT_MEMBER);
}

static void
test_resubscribe(struct fixture *f, gconstpointer data)
{
	enum action_state st;

	g_assert_true(action_resubscribe(&f->a, f->list, f->alice, &st, NULL));
	g_assert_cmpint(st, ==, ACTION_ALREADY);
	fx_sql(f, "UPDATE memberships SET status = 'unsubscribed'");
	g_assert_true(action_resubscribe(&f->a, f->list, f->alice, &st, NULL));
	g_assert_cmpint(st, ==, ACTION_DONE);
	g_assert_cmpstr(fx_status(f, f->alice), ==, MEMBER_ACTIVE);
	/* never from blocklisted or disabled, not even on another list */
	fx_sql(f, "UPDATE memberships SET status = 'disabled' WHERE"
	    " subscriber_id = 2");
	g_assert_true(action_resubscribe(&f->a, f->list, f->bob, &st, NULL));
	g_assert_cmpint(st, ==, ACTION_REFUSED);
	fx_sql(f, "INSERT INTO lists(name) VALUES ('other');"
	    "INSERT INTO memberships(list_id, subscriber_id, status)"
	    " VALUES (2, 2, 'blocklisted');"
	    "UPDATE memberships SET status = 'unsubscribed' WHERE list_id = 1"
	    " AND subscriber_id = 2");
	g_assert_true(action_resubscribe(&f->a, f->list, f->bob, &st, NULL));
	g_assert_cmpint(st, ==, ACTION_REFUSED);
	g_assert_cmpstr(fx_status(f, f->bob), ==, MEMBER_UNSUBSCRIBED);
}

static void
test_confirm_test_token(struct fixture *f, gconstpointer data)
{
	g_autofree char *t = token_make(&f->key, TOKEN_TEST |
	    TOKEN_CONFIRM_UNSUBSCRIBE, "news", f->alice, f->a.now);
	g_autofree char *real = token_make(&f->key, TOKEN_CONFIRM_UNSUBSCRIBE,
	    "news", f->alice, f->a.now - 100 * 3600);
	g_autoptr(GError) error = NULL;
	enum action_state st;

	g_assert_true(action_confirm(&f->a, f->list, t, &st, NULL));
	g_assert_cmpint(st, ==, ACTION_TEST);
	g_assert_cmpstr(fx_status(f, f->alice), ==, MEMBER_ACTIVE);
	g_assert_false(action_confirm(&f->a, f->list, real, &st, &error));
	g_assert_error(error, HERALD_ERROR, HERALD_ERROR_DATA);
	g_assert_cmpstr(fx_status(f, f->alice), ==, MEMBER_ACTIVE);
}

static void
test_preferences(struct fixture *f, gconstpointer data)
{
	g_autoptr(GHashTable) attrs = g_hash_table_new(g_str_hash, g_str_equal);
	g_autoptr(subscriber) s = NULL;
	enum action_state st;

	g_hash_table_insert(attrs, (char *)"role", (char *)"maintainer");
	g_assert_true(action_preferences(&f->a, f->list, f->alice, "Alice",
	    attrs, &st, NULL));
	g_assert_cmpint(st, ==, ACTION_DONE);
	s = subscriber_get(f->store, f->alice, NULL);
	g_assert_cmpstr(s->name, ==, "Alice");
	g_assert_cmpstr(g_hash_table_lookup(s->attrs, "role"), ==, "maintainer");
	g_assert_cmpint(fx_int(f, "SELECT count(*) FROM attributes WHERE"
	    " key = 'role' AND value = 'maintainer'"), ==, 1);
	/* not a member: nothing written, and the lock let go (teardown) */
	g_assert_true(action_preferences(&f->a, f->list, 999, "X", attrs, &st,
	    NULL));
	g_assert_cmpint(st, ==, ACTION_NOT_MEMBER);
	g_assert_true(action_preferences(&f->a, f->list, 0, "X", attrs, &st,
	    NULL));
	g_assert_cmpint(st, ==, ACTION_TEST);
}

static void
test_subscribe_request(struct fixture *f, gconstpointer data)
{
	enum action_state st;

	/* active: nothing, no mail */
	g_assert_true(action_subscribe_request(&f->a, f->list,
	    "alice@example.org", NULL, NULL, &st, NULL, NULL));
	g_assert_cmpint(st, ==, ACTION_ALREADY);
	g_assert_cmpint(fx_int(f, "SELECT count(*) FROM outbox"), ==, 0);
	/* disabled by bounces: may ask again (double opt-in), as by mail */
	fx_sql(f, "UPDATE memberships SET status = 'disabled' WHERE"
	    " subscriber_id = 2");
	g_assert_true(action_subscribe_request(&f->a, f->list,
	    "bob@example.org", NULL, NULL, &st, NULL, NULL));
	g_assert_cmpint(st, ==, ACTION_DONE);
	g_assert_cmpstr(fx_status(f, f->bob), ==, MEMBER_PENDING);
	g_assert_cmpint(fx_int(f, "SELECT count(*) FROM outbox WHERE kind ="
	    " 'confirm-subscribe' AND subscriber_id = 2"), ==, 1);
	/* again at once: throttled, no second confirmation */
	g_assert_true(action_subscribe_request(&f->a, f->list,
	    "bob@example.org", NULL, NULL, &st, NULL, NULL));
	g_assert_cmpint(st, ==, ACTION_THROTTLED);
	g_assert_cmpint(fx_int(f, "SELECT count(*) FROM outbox"), ==, 1);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_mime_init();
	g_test_add("/action/token-find", struct fixture, NULL, fx_setup,
	    test_token_find, fx_teardown);
	g_test_add("/action/unsubscribe", struct fixture, NULL, fx_setup,
	    test_unsubscribe, fx_teardown);
	g_test_add("/action/resubscribe", struct fixture, NULL, fx_setup,
	    test_resubscribe, fx_teardown);
	g_test_add("/action/confirm-test-token", struct fixture, NULL, fx_setup,
	    test_confirm_test_token, fx_teardown);
	g_test_add("/action/subscribe-request", struct fixture, NULL, fx_setup,
	    test_subscribe_request, fx_teardown);
	g_test_add("/action/preferences", struct fixture, NULL, fx_setup,
	    test_preferences, fx_teardown);
	return g_test_run();
}
