/*
 * cmd.h - what main.c hands a subcommand, and the subcommands it knows.
 *
 * main.c owns the one command table; its flags say what a command needs
 * (NEEDS_CONFIG loads etc/herald.conf and the lists, NEEDS_STORE opens the
 * database and checks its schema), so no cmd_*.c repeats that set-up.
 * A cmd_*() parses its options (GOption), calls modules, prints, and
 * returns a sysexits status; cmd_error() is the one way to report a GError.
 */
#ifndef HERALD_CMD_H
#define HERALD_CMD_H

#include <glib.h>
#include "herald.h"

struct config;
struct store;

struct herald {
	const char *config_option;	/* -c FILE, or NULL */
	const char *config_path;	/* the file found (NEEDS_CONFIG) */
	struct config *config;		/* set when the command NEEDS_CONFIG */
	struct store *store;		/* set when the command NEEDS_STORE */
};

/* cmd_error - print "herald CMD: message" on stderr, free ERROR, return
 * the exit status its class maps to. */
int cmd_error(const char *cmd, GError *error);

/* cmd_parse - run a GOption context over argc/argv for command CMD with
 * the usage line PARAMS and ENTRIES; on a bad option print a one-line hint
 * and return FALSE (the caller returns EX_USAGE). --help prints and exits 0. */
gboolean cmd_parse(const char *cmd, const char *params, const char *summary,
    const GOptionEntry *entries, int *argc, char ***argv);

/* cmd_is_help - ARG is --help, -h or -? */
gboolean cmd_is_help(const char *arg);

/* cmd_help_verbs - print the help of command CMD, whose first argument is
 * a verb, in GOption's layout (the one every --help has): usage line
 * "herald CMD [OPTION…] PARAMS", SUMMARY, then VERBS (one per line, each
 * "  VERB ARGS"). Returns EX_OK. */
int cmd_help_verbs(const char *cmd, const char *params, const char *summary,
    const char *verbs);

/* argv[0] is the subcommand name ("bounce"); what follows is its own. */
int cmd_init(struct herald *h, int argc, char **argv);
int cmd_lists(struct herald *h, int argc, char **argv);
int cmd_sub(struct herald *h, int argc, char **argv);
int cmd_segment(struct herald *h, int argc, char **argv);
int cmd_render(struct herald *h, int argc, char **argv);
int cmd_preview(struct herald *h, int argc, char **argv);
int cmd_send(struct herald *h, int argc, char **argv);
int cmd_campaigns(struct herald *h, int argc, char **argv);
int cmd_campaign(struct herald *h, int argc, char **argv);
int cmd_pipe(struct herald *h, int argc, char **argv);
int cmd_lmtp(struct herald *h, int argc, char **argv);
int cmd_replies(struct herald *h, int argc, char **argv);
int cmd_reply(struct herald *h, int argc, char **argv);
int cmd_bounce(struct herald *h, int argc, char **argv);
int cmd_bounces(struct herald *h, int argc, char **argv);
int cmd_maintain(struct herald *h, int argc, char **argv);
int cmd_backup(struct herald *h, int argc, char **argv);
int cmd_store(struct herald *h, int argc, char **argv);
int cmd_run(struct herald *h, int argc, char **argv);
int cmd_mta(struct herald *h, int argc, char **argv);
int cmd_serve(struct herald *h, int argc, char **argv);
int cmd_web(struct herald *h, int argc, char **argv);
int cmd_report(struct herald *h, int argc, char **argv);
int cmd_version(struct herald *h, int argc, char **argv);
int cmd_dkim(struct herald *h, int argc, char **argv);
int cmd_dns(struct herald *h, int argc, char **argv);
int cmd_doctor(struct herald *h, int argc, char **argv);

#endif
