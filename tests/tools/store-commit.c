/*
 * store-commit.c - test helper: a transaction in which one statement
 * fails (its error set aside, as a caller that goes on would), then its
 * COMMIT. On PostgreSQL the failed statement has aborted the
 * transaction, and the server answers COMMIT with ROLLBACK: the store
 * must call that a failure, not a commit. Exit 0 and "committed" when
 * the store said the COMMIT went through, else the error and its
 * sysexits status.
 *
 *   store-commit DATABASE	(a file, or postgresql:CONNINFO)
 */
#include <stdio.h>

#include "herald.h"
#include "store.h"

int
main(int argc, char **argv)
{
	struct store *store;
	GError *error = NULL;

	if (argc != 2) {
		fprintf(stderr, "usage: store-commit DATABASE\n");
		return 64;
	}
	if ((store = store_open(argv[1], 0, &error)) == NULL ||
	    !store_begin(store, &error) ||
	    !store_exec(store, "UPDATE lists SET name = name", &error)) {
		fprintf(stderr, "store-commit: %s\n", error->message);
		return herald_exit_status(error);
	}
	if (store_exec(store, "SELECT no_such_column FROM lists", &error)) {
		fprintf(stderr, "store-commit: the failing statement passed\n");
		return 70;
	}
	g_clear_error(&error);
	if (!store_commit(store, &error)) {
		printf("not committed: %s\n", error->message);
		store_close(store);
		return herald_exit_status(error);
	}
	printf("committed\n");
	store_close(store);
	return 0;
}
