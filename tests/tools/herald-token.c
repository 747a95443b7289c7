/*
 * herald-token.c - test helper: print the token herald would make.
 *
 *   herald-token SECRET-FILE PURPOSE LIST SUBSCRIBER [EXTRA]
 *
 * PURPOSE is b, u, s or c (token.h), or t and one of them for a test
 * copy's token (tu, tb). Tests use it to write the VERP,
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
	const char *p;
	int purpose;
	char *t;

	if (argc < 5 || argc > 6) {
		fprintf(stderr, "usage: herald-token SECRET PURPOSE LIST SUB "
		    "[EXTRA]\n");
		return 64;
	}
	p = argv[2];
	if (!token_key_load(argv[1], &key, &error)) {
		fprintf(stderr, "herald-token: %s\n", error->message);
		return 66;
	}
	purpose = p[0] == TOKEN_TEST_LETTER && p[1] != '\0' ?
	    TOKEN_TEST | p[1] : p[0];
	t = token_make(&key, (enum token_purpose)purpose, argv[3],
	    g_ascii_strtoll(argv[4], NULL, 10),
	    argc == 6 ? g_ascii_strtoll(argv[5], NULL, 10) : 0);
	printf("%s\n", t);
	g_free(t);
	return 0;
}
