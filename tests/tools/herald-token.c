/*
 * herald-token.c - test helper: print the token herald would make.
 *
 *   herald-token SECRET-FILE PURPOSE LIST SUBSCRIBER[..LAST] [EXTRA]
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
	gint64 first, last, sub;
	const char *p;
	int purpose;
	char *t, *end;

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
	/* SUB may be a range FIRST..LAST: one token a line (benchmarks) */
	first = g_ascii_strtoll(argv[4], &end, 10);
	last = g_str_has_prefix(end, "..") ? g_ascii_strtoll(end + 2, NULL, 10) :
	    first;
	for (sub = first; sub <= last; sub++) {
		t = token_make(&key, (enum token_purpose)purpose, argv[3], sub,
		    argc == 6 ? g_ascii_strtoll(argv[5], NULL, 10) : 0);
		printf("%s\n", t);
		g_free(t);
	}
	return 0;
}
