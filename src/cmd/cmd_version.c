/*
 * cmd_version.c - herald version (and herald --version): herald's version
 * on the first line, then one line per library in use, as this process
 * finds them at run time (not the headers it was built with): GMime,
 * SQLite, libconfuse and libesmtp. libesmtp is opened with dlopen() only
 * to send (src/outbound/send.c), so asking for its version loads it; a libesmtp
 * that cannot be loaded is named with the reason and exits 0 (the version
 * of herald is still known; sending will fail with the same reason).
 *
 * Must stay true: the first line is "herald VERSION" (scripts read it).
 */
#include <stdio.h>

#include <confuse.h>
#include <gmime/gmime.h>

#include "herald.h"
#include "cmd.h"
#include "send.h"
#include "store_admin.h"

/* cmd_version - herald version: herald's and the libraries' versions */
int
cmd_version(struct herald *h, int argc, char **argv)
{
	g_autofree char *esmtp = NULL;
	g_autoptr(GError) error = NULL;

	if (!cmd_parse("version", NULL, "Print herald's version and those of "
	    "the libraries it uses.", NULL, &argc, &argv))
		return EX_USAGE;
	if (argc != 1) {
		fprintf(stderr, "herald version: no arguments expected\n");
		return EX_USAGE;
	}
	esmtp = send_lib_version(&error);
	printf("herald %s\n", HERALD_VERSION);
	printf("GMime %u.%u.%u\n", gmime_major_version, gmime_minor_version,
	    gmime_micro_version);
	printf("SQLite %s\n", store_engine_version());
	printf("libconfuse %s\n", confuse_version);
	if (esmtp != NULL)
		printf("libesmtp %s\n", esmtp);
	else
		printf("libesmtp not available: %s\n", error->message);
	return EX_OK;
}
