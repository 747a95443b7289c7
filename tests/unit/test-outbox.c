/*
 * test-outbox.c - the outbox on a real SQLite file: a notice queued in a
 * transaction that rolls back is gone with it; a queued row is its
 * queuer's until the lease ends (nobody else sends it); a relay that
 * refuses the connection defers a row with a doubling delay, and after
 * OUTBOX_TRIES it fails for good; flushing stops at the first deferral;
 * prune removes only finished rows past their days.
 */
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "herald.h"
#include "config.h"
#include "outbox.h"
#include "store.h"
#include "store-fixture.h"

/* closed_port - a loopback port nothing listens on */
static int
closed_port(void)
{
	struct sockaddr_in a = { 0 };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	g_assert_cmpint(bind(fd, (struct sockaddr *)&a, sizeof(a)), ==, 0);
	g_assert_cmpint(getsockname(fd, (struct sockaddr *)&a, &len), ==, 0);
	close(fd);
	return ntohs(a.sin_port);
}

static gint64
queue(struct store *st, gint64 now)
{
	const char *rcpts[] = { "a@subs.test", NULL };
	g_autoptr(GBytes) msg = g_bytes_new_static("Subject: x\r\n\r\nhi\r\n",
	    18);
	gint64 id = 0;

	g_assert_true(outbox_queue(st, 0, 0, "goodbye", "l-bounces@x.test",
	    rcpts, msg, now, &id, NULL));
	return id;
}

static void
test_rollback(void)
{
	g_autoptr(store) st = fresh();

	g_assert_true(store_begin(st, NULL));
	queue(st, 1000);
	store_rollback(st);
	g_assert_cmpint(scalar(st, "SELECT count(*) FROM outbox"), ==, 0);
	g_assert_true(store_begin(st, NULL));
	queue(st, 1000);
	g_assert_true(store_commit(st, NULL));
	g_assert_cmpint(scalar(st, "SELECT count(*) FROM outbox WHERE"
	    " state = 'queued'"), ==, 1);
}

static void
test_lease_and_retries(void)
{
	g_autoptr(store) st = fresh();
	struct config cfg = { .smtp = { (char *)"127.0.0.1", closed_port(),
	    STARTTLS_OFF, NULL, NULL, 2, NULL } };
	struct outbox_stats stats = { 0 };
	enum outbox_outcome oc;
	g_autofree char *reason = NULL;
	gint64 now = 1000000, id = queue(st, now), second, fin;
	int i;

	/* the queuer's: a flush by anyone else before the lease ends
	 * leaves it alone */
	g_assert_true(outbox_try(st, &cfg, id, FALSE, now + 10, &oc, NULL,
	    NULL));
	g_assert_cmpint(oc, ==, OUTBOX_NOT_MINE);
	g_assert_true(outbox_flush(st, &cfg, now + 10, 0, &stats, NULL));
	g_assert_cmpint(stats.sent + stats.deferred + stats.failed, ==, 0);
	/* the queuer tries: connection refused, deferred by OUTBOX_RETRY */
	g_assert_true(outbox_try(st, &cfg, id, TRUE, now, &oc, &reason,
	    NULL));
	g_assert_cmpint(oc, ==, OUTBOX_DEFERRED);
	g_assert_nonnull(strstr(reason, "Connection refused"));
	g_assert_cmpint(scalar(st, "SELECT attempts FROM outbox"), ==, 1);
	g_assert_cmpint(scalar(st, "SELECT next_attempt FROM outbox"), ==,
	    now + OUTBOX_RETRY);
	/* a second row, due later: the flush stops at the first deferral */
	g_assert_true(store_begin(st, NULL));
	second = queue(st, now + OUTBOX_RETRY - OUTBOX_LEASE);
	g_assert_true(store_commit(st, NULL));
	g_assert_true(outbox_flush(st, &cfg, now + OUTBOX_RETRY, 0, &stats,
	    NULL));
	g_assert_cmpint(stats.deferred, ==, 1);
	g_assert_cmpint(scalar(st, "SELECT count(*) FROM outbox WHERE"
	    " attempts = 0"), ==, 1);
	g_assert_cmpint(scalar(st, "SELECT next_attempt FROM outbox WHERE"
	    " id = 1"), ==, now + 3 * OUTBOX_RETRY);	/* 300, then 600 */
	(void)second;
	/* tried again and again: it fails at OUTBOX_TRIES */
	for (i = 0; i < OUTBOX_TRIES; i++)
		g_assert_true(outbox_try(st, &cfg, id, FALSE, now + 1000000 *
		    (i + 1), &oc, NULL, NULL));
	g_assert_cmpint(scalar(st, "SELECT count(*) FROM outbox WHERE id = 1"
	    " AND state = 'failed' AND finished IS NOT NULL"), ==, 1);
	g_assert_cmpint(scalar(st, "SELECT attempts FROM outbox WHERE id = 1"),
	    ==, OUTBOX_TRIES);
	g_assert_cmpint(outbox_waiting(st, NULL), ==, 1);
	/* prune: the failed row once its days are over, never a queued one */
	fin = scalar(st, "SELECT finished FROM outbox WHERE id = 1");
	g_assert_cmpint(outbox_prune(st, 30, fin + 29 * 86400, NULL), ==, 0);
	g_assert_cmpint(outbox_prune(st, 30, fin + 31 * 86400, NULL), ==, 1);
	g_assert_cmpint(scalar(st, "SELECT count(*) FROM outbox"), ==, 1);
}

int
main(int argc, char **argv)
{
	int rc;

	g_test_init(&argc, &argv, NULL);
	fixture_init("test-outbox.XXXXXX");
	g_test_add_func("/outbox/rollback", test_rollback);
	g_test_add_func("/outbox/lease-and-retries", test_lease_and_retries);
	rc = g_test_run();
	fixture_done();
	return rc;
}
