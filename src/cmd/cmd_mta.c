/*
 * cmd_mta.c - herald mta postfix|exim [--user USER] [--bin PATH] [--config FILE]
 * [--postfix-dir DIR] [--lmtp] [--socket WHERE]: print the MTA
 * configuration for the configured lists (mta.c writes it), for herald
 * pipe or herald lmtp. A user that is not a valid user name, or a path
 * the MTA would split or expand, is refused (64) before anything is
 * printed.
 */
#include <stdio.h>
#include <string.h>

#include "herald.h"
#include "cmd.h"
#include "config.h"
#include "mta.h"

int
cmd_mta(struct herald *h, int argc, char **argv)
{
	char *user = NULL, *bin = NULL, *confpath = NULL, *pfdir = NULL;
	char *lmtp = NULL;
	gboolean use_lmtp = FALSE;
	GOptionEntry entries[] = {
		{ "user", 0, 0, G_OPTION_ARG_STRING, &user,
		    "the system user herald pipe runs as (default herald)", "USER" },
		{ "bin", 0, 0, G_OPTION_ARG_FILENAME, &bin,
		    "the herald binary (default: this one)", "PATH" },
		{ "config", 0, 0, G_OPTION_ARG_FILENAME, &confpath,
		    "the herald.conf the MTA's herald reads (default: this one)",
		    "FILE" },
		{ "postfix-dir", 0, 0, G_OPTION_ARG_FILENAME, &pfdir,
		    "Postfix's configuration folder (postconf -c DIR; default "
		    "/etc/postfix)", "DIR" },
		{ "lmtp", 0, 0, G_OPTION_ARG_NONE, &use_lmtp,
		    "deliver to herald lmtp, not herald pipe", NULL },
		{ "socket", 0, 0, G_OPTION_ARG_STRING, &lmtp,
		    "where herald lmtp listens (default unix:DATA_DIR/lmtp.sock;"
		    " implies --lmtp)", "WHERE" },
		{ NULL }
	};
	g_autofree char *lmtp_owned = NULL;
	g_autofree char *user_owned = NULL, *bin_owned = NULL, *self = NULL;
	g_autofree char *confpath_owned = NULL, *pfdir_owned = NULL;
	g_autofree char *conf = NULL, *text = NULL;
	GError *error = NULL;
	struct mta_params p;

	if (!cmd_parse("mta", "postfix|exim", "Print the MTA configuration that"
	    " hands the configured lists' mail to herald pipe (or, with --lmtp,"
	    " to herald lmtp).", entries, &argc, &argv))
		return EX_USAGE;
	user_owned = user;
	bin_owned = bin;
	confpath_owned = confpath;
	pfdir_owned = pfdir;
	lmtp_owned = lmtp;
	if (argc != 2 || (strcmp(argv[1], "postfix") != 0 &&
	    strcmp(argv[1], "exim") != 0)) {
		fprintf(stderr, "herald mta: usage: herald mta postfix|exim\n");
		return EX_USAGE;
	}
	if (pfdir != NULL && !mta_check_postfix_dir(pfdir, &error))
		return cmd_error("mta", error);
	if (bin == NULL)
		self = g_file_read_link("/proc/self/exe", NULL);
	if (confpath != NULL)
		conf = g_strdup(confpath);
	else if (h->config->path != NULL)
		conf = g_canonicalize_filename(h->config->path, NULL);
	p.binary = bin != NULL ? bin : self != NULL ? self : "/usr/local/bin/herald";
	p.config = conf;
	p.user = user != NULL ? user : "herald";
	p.postfix_dir = pfdir;
	p.lmtp = NULL;
	if (lmtp != NULL)
		p.lmtp = lmtp;
	else if (use_lmtp)
		p.lmtp = lmtp_owned = g_strdup_printf("unix:%s/lmtp.sock",
		    h->config->data_dir);
	if (!mta_check(&p, &error))
		return cmd_error("mta", error);
	text = strcmp(argv[1], "postfix") == 0 ? mta_postfix(h->config, &p) :
	    mta_exim(h->config, &p);
	fputs(text, stdout);
	return EX_OK;
}
