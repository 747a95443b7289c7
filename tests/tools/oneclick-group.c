/*
 * oneclick-group.c - test helper: one group of one-click unsubscribes
 * written as herald serve's writer writes one (web_group_write): a
 * grouped transaction on the store of $HERALD_CONFIG, the requests for
 * LIST by subscriber ID… in that order as one unit
 * (action_unsubscribe_group), then the group's commit. The order and
 * the make-up of the group are the caller's, so a test can put
 * duplicates, members and non-members in one group for certain, which
 * a burst of HTTP requests cannot promise.
 *
 *   oneclick-group LIST ID...
 *
 * Prints a line per request, "ID STATE NOTICES WORDS" (STATE done,
 * already, not-member, test, or error: then the error's words), and
 * exits 0 when the group committed, else the error's sysexits status
 * (75 for TEMP) after a line "group: MESSAGE".
 */
#include <stdio.h>
#include <stdlib.h>
#include <gmime/gmime.h>

#include "herald.h"
#include "action.h"
#include "config.h"
#include "store.h"

/* state_name - a state's word in the output */
static const char *
state_name(enum action_state st)
{
	switch (st) {
	case ACTION_DONE:
		return "done";
	case ACTION_ALREADY:
		return "already";
	case ACTION_NOT_MEMBER:
		return "not-member";
	case ACTION_TEST:
		return "test";
	default:
		return "other";
	}
}

/* fail - print ERROR as the group's and return its status */
static int
fail(GError *error)
{
	int st = herald_exit_status(error);

	printf("group: %s\n", error->message);
	g_error_free(error);
	return st;
}

int
main(int argc, char **argv)
{
	g_autoptr(config) config = NULL;
	g_autoptr(store) store = NULL;
	g_autofree struct action_group_item *items = NULL;
	g_autofree GString **words = NULL;
	g_autofree GArray **notices = NULL;
	const struct list_config *list;
	struct action_ctx a = { 0 };
	GError *error = NULL, *unit = NULL;
	guint i, n = argc > 2 ? (guint)argc - 2 : 0;

	if (argc < 3) {
		fprintf(stderr, "usage: oneclick-group LIST ID...\n");
		return 64;
	}
	g_mime_init();	/* the goodbyes are composed with GMime */
	if ((config = config_load(g_getenv("HERALD_CONFIG"), &error)) == NULL ||
	    (list = config_list(config, argv[1], &error)) == NULL ||
	    (store = store_open_config(config, STORE_OPEN_DURABLE,
	    &error)) == NULL || !store_group_begin(store, &error))
		return fail(error);
	items = g_new0(struct action_group_item, n);
	words = g_new0(GString *, n);
	notices = g_new0(GArray *, n);
	for (i = 0; i < n; i++) {
		words[i] = g_string_new(NULL);
		items[i].sub_id = g_ascii_strtoll(argv[i + 2], NULL, 10);
		items[i].outcome = words[i];
		items[i].notices = &notices[i];
	}
	a.config = config;
	a.store = store;
	a.channel = "web";
	a.now = g_get_real_time() / G_USEC_PER_SEC;
	/* a unit that fails is rolled back to its savepoint, and the group
	 * commits what else it holds (nothing here), as the writer does */
	(void)action_unsubscribe_group(&a, list, "one-click", items, n, &unit);
	if (store_group_lost(store)) {
		store_group_abort(store);
		g_set_error(&error, HERALD_ERROR, HERALD_ERROR_TEMP,
		    "the database rolled the grouped transaction back");
	} else
		(void)store_group_commit(store, &error);
	for (i = 0; i < n; i++) {
		GError *e = unit != NULL ? unit : items[i].err;

		printf("%s %s %u %s\n", argv[i + 2], e != NULL ? "error" :
		    state_name(items[i].state), notices[i] != NULL ?
		    notices[i]->len : 0, e != NULL ? e->message : words[i]->str);
		g_clear_error(&items[i].err);
		subscriber_free(items[i].sub);
		g_string_free(words[i], TRUE);
		if (notices[i] != NULL)
			g_array_unref(notices[i]);
	}
	if (unit != NULL && error == NULL)
		error = unit;
	else
		g_clear_error(&unit);
	return error != NULL ? fail(error) : 0;
}
