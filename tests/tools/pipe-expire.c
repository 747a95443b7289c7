/*
 * pipe-expire.c - test helper: run pipe_expire_pending() (what herald
 * maintain calls) on DATABASE with HOURS, print how many expired.
 *
 *   pipe-expire DATABASE HOURS
 */
#include <stdio.h>
#include <stdlib.h>

#include "herald.h"
#include "pipe.h"
#include "store.h"

int
main(int argc, char **argv)
{
	struct store *store;
	GError *error = NULL;
	guint n;

	if (argc != 3) {
		fprintf(stderr, "usage: pipe-expire DATABASE HOURS\n");
		return 64;
	}
	if ((store = store_open(argv[1], 0, &error)) == NULL ||
	    !pipe_expire_pending(store, atoi(argv[2]), &n, &error)) {
		fprintf(stderr, "pipe-expire: %s\n", error->message);
		return herald_exit_status(error);
	}
	printf("%u\n", n);
	store_close(store);
	return 0;
}
