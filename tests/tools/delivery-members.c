/*
 * delivery-members.c - test helper: store_delivery_members, the read
 * a send run makes just before a few messages go (dispatch_admit), for
 * the subscriber ids given, in their order. Prints one line a
 * subscriber: its id, its membership of the list ("-" when it has
 * none) and 1 when it is blocklisted on any list, else 0. Exit 75 when
 * the read fails.
 *
 *   delivery-members DATABASE LIST_ID SID...	(a file, or postgresql:CONNINFO)
 */
#include <stdio.h>
#include <stdlib.h>

#include "herald.h"
#include "store.h"
#include "store_deliveries.h"

int
main(int argc, char **argv)
{
	struct store *store;
	GError *error = NULL;
	guint n = argc > 3 ? (guint)argc - 3 : 0, i;
	g_autofree gint64 *sids = g_new0(gint64, MAX(n, 1));
	g_autofree char **status = g_new0(char *, MAX(n, 1));
	g_autofree gboolean *blocked = g_new0(gboolean, MAX(n, 1));

	if (argc < 4) {
		fprintf(stderr, "usage: delivery-members DATABASE LIST_ID SID...\n");
		return 64;
	}
	for (i = 0; i < n; i++)
		sids[i] = g_ascii_strtoll(argv[3 + i], NULL, 10);
	if ((store = store_open(argv[1], 0, &error)) == NULL) {
		fprintf(stderr, "delivery-members: %s\n", error->message);
		return herald_exit_status(error);
	}
	if (!store_delivery_members(store, g_ascii_strtoll(argv[2], NULL, 10),
	    sids, n, status, blocked)) {
		fprintf(stderr, "delivery-members: the read failed\n");
		store_close(store);
		return 75;
	}
	for (i = 0; i < n; i++) {
		printf("%" G_GINT64_FORMAT " %s %d\n", sids[i],
		    *status[i] != '\0' ? status[i] : "-", blocked[i] ? 1 : 0);
		g_free(status[i]);
	}
	store_close(store);
	return 0;
}
