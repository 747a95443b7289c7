/*
 * fuzz-replay.c - test helper: run inputs through a fuzz target's code
 * (tests/fuzz/fuzz-NAME.c) in the normal build, without libFuzzer: how
 * t0950 replays every crash the fuzzers found, so the suite catches the
 * fault coming back without clang.
 *
 *   fuzz-replay NAME FILE...
 *
 * Exits 0 when every input returned; a fault that comes back aborts or
 * crashes (under make SANITIZE=1, the sanitizers report it too). 64 for
 * a bad NAME, 66 for a file that cannot be read.
 */
#include <stdio.h>
#include <string.h>

#include "herald.h"
#include "fuzz.h"

static const struct {
	const char *name;
	int (*fn)(const uint8_t *data, size_t size);
} targets[] = {
	{ "bounce", fuzz_bounce },
	{ "csv", fuzz_csv },
	{ "segment", fuzz_segment },
	{ "template", fuzz_template },
	{ "pipe", fuzz_pipe },
	{ "lmtp", fuzz_lmtp },
	{ "web", fuzz_web },
};

int
main(int argc, char **argv)
{
	size_t t;
	int i;

	for (t = 0; argc > 1 && t < G_N_ELEMENTS(targets); t++)
		if (strcmp(argv[1], targets[t].name) == 0)
			break;
	if (argc < 2 || t == G_N_ELEMENTS(targets)) {
		fprintf(stderr, "usage: fuzz-replay NAME FILE...\n");
		return 64;
	}
	for (i = 2; i < argc; i++) {
		g_autofree char *data = NULL;
		gsize len;

		if (!g_file_get_contents(argv[i], &data, &len, NULL)) {
			fprintf(stderr, "fuzz-replay: cannot read %s\n", argv[i]);
			return 66;
		}
		printf("%s %s\n", targets[t].name, argv[i]);
		fflush(stdout);
		targets[t].fn((const uint8_t *)data, len);
	}
	return 0;
}
