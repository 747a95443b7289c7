/*
 * herald-token.c - test helper: print the token herald would make.
 *
 *   herald-token SECRET-FILE PURPOSE LIST SUBSCRIBER [EXTRA]
 *
 * PURPOSE is b, u, s or c (token.h). Tests use it to write the VERP,
 * unsubscribe and confirmation addresses a subscriber's mail carried, and
 * to forge tokens for someone else to show they change nothing.
 */
#include <stdio.h>
#include <stdlib.h>

#include "herald.h"
#include "token.h"

int
main(int argc, char **argv)
{
	struct token_key key;
	GError *error = NULL;
	char *t;

	if (argc < 5 || argc > 6) {
		fprintf(stderr, "usage: herald-token SECRET PURPOSE LIST SUB "
		    "[EXTRA]\n");
		return 64;
	}
	if (!token_key_load(argv[1], &key, &error)) {
		fprintf(stderr, "herald-token: %s\n", error->message);
		return 66;
	}
	t = token_make(&key, (enum token_purpose)argv[2][0], argv[3],
	    g_ascii_strtoll(argv[4], NULL, 10),
	    argc == 6 ? g_ascii_strtoll(argv[5], NULL, 10) : 0);
	printf("%s\n", t);
	g_free(t);
	return 0;
}
