/*
 * store-at.c - test helper: a new database at an older schema VERSION
 * (the migrations up to it and no further), as an older herald left it;
 * for the upgrade tests (t0910: the package's postinst migrates it).
 *
 *   store-at DATABASE VERSION	(prints the latest version, for comparing)
 */
#include <stdio.h>
#include <stdlib.h>

#include "herald.h"
#include "store.h"

int
main(int argc, char **argv)
{
	struct store *store;
	GError *error = NULL;

	if (argc != 3 || atoi(argv[2]) < 1 ||
	    atoi(argv[2]) > store_schema_latest()) {
		fprintf(stderr, "usage: store-at DATABASE VERSION (1-%d)\n",
		    store_schema_latest());
		return 64;
	}
	if ((store = store_open(argv[1], STORE_OPEN_CREATE, &error)) == NULL ||
	    !store_migrate_to(store, atoi(argv[2]), NULL, &error)) {
		fprintf(stderr, "store-at: %s\n", error->message);
		return herald_exit_status(error);
	}
	store_close(store);
	printf("%d\n", store_schema_latest());
	return 0;
}
