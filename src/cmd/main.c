/*
 * main.c - herald's entry point and its one command table.
 *
 * The table is the only list of subcommands. Its flags say what set-up a
 * command needs, done here once: NEEDS_CONFIG finds the configuration
 * (config_find: -c, $HERALD_CONFIG, ./etc/herald.conf, the system file;
 * none is an error naming what was tried) and loads it and the list files; NEEDS_STORE opens the database and checks its schema.
 * Global options come before the subcommand: -c FILE, --version, --help.
 */
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <gmime/gmime.h>

#include "herald.h"
#include "cmd.h"
#include "config.h"
#include "log.h"
#include "store.h"

enum {
	NEEDS_CONFIG = 1 << 0,
	NEEDS_STORE = 1 << 1 | NEEDS_CONFIG,
};

struct command {
	const char *name;
	int (*fn)(struct herald *, int, char **);
	int flags;
	const char *summary;
};

static const struct command commands[] = {
	{ "init", cmd_init, NEEDS_CONFIG,
	    "create or upgrade the database and the token secret" },
	{ "lists", cmd_lists, NEEDS_STORE,
	    "show the configured lists and their members by status" },
	{ "sub", cmd_sub, NEEDS_STORE,
	    "add, remove, show, import and export subscribers" },
	{ "segment", cmd_segment, NEEDS_STORE,
	    "count or list the members of a list's segments" },
	{ "send", cmd_send, NEEDS_STORE,
	    "send an announcement to segments of a list (a campaign)" },
	{ "campaigns", cmd_campaigns, NEEDS_STORE,
	    "list the campaigns and their deliveries by state" },
	{ "campaign", cmd_campaign, NEEDS_STORE,
	    "show, pause, resume, retry or cancel one campaign" },
	{ "report", cmd_report, NEEDS_STORE,
	    "a campaign summed up: text, or an HTML page with charts" },
	{ "render", cmd_render, NEEDS_STORE,
	    "print an announcement's messages exactly as they would be sent" },
	{ "preview", cmd_preview, NEEDS_STORE,
	    "per segment: members, subject and a sample message" },
	{ "bounces", cmd_bounces, NEEDS_STORE,
	    "stored bounces: scores per subscriber, rates per campaign" },
	{ "backup", cmd_backup, NEEDS_STORE,
	    "write a consistent copy of the live database to a file" },
	{ "store", cmd_store, NEEDS_STORE,
	    "copy the store into an empty PostgreSQL database or SQLite file" },
	{ "maintain", cmd_maintain, NEEDS_STORE,
	    "daily: bounce warnings and removals, stale scores, notices" },
	{ "run", cmd_run, NEEDS_STORE,
	    "dispatcher: send scheduled campaigns, windows, caps, resumes" },
	{ "pipe", cmd_pipe, 0,
	    "deliver one inbound message from the MTA (stdin)" },
	{ "lmtp", cmd_lmtp, NEEDS_CONFIG,
	    "serve LMTP for the lists' addresses (what pipe does, at scale)" },
	{ "replies", cmd_replies, NEEDS_STORE,
	    "list replies and owner mail that arrived by mail" },
	{ "reply", cmd_reply, NEEDS_STORE,
	    "reply show ID: print one stored reply" },
	{ "mta", cmd_mta, NEEDS_CONFIG,
	    "print the Postfix or Exim configuration for the lists" },
	{ "bounce", cmd_bounce, 0,
	    "classify returned mail: bounce scan FILE…" },
	{ "serve", cmd_serve, NEEDS_STORE,
	    "the lists' web side: one-click unsubscribe, preferences, archive" },
	{ "web", cmd_web, NEEDS_CONFIG,
	    "web nginx: print the reverse proxy configuration for serve" },
	{ "version", cmd_version, 0,
	    "herald's version and the libraries' (as --version)" },
	{ "dkim", cmd_dkim, NEEDS_CONFIG,
	    "dkim keygen LIST: make a signing key, print its TXT record" },
	{ "dns", cmd_dns, NEEDS_CONFIG,
	    "the DNS records a list needs (SPF, DKIM, DMARC, MX)" },
	{ "doctor", cmd_doctor, NEEDS_CONFIG,
	    "check a list's signing, alignment and headers (PASS/FAIL)" },
};

/* main_usage - the list of commands, on FP */
static void
main_usage(FILE *fp)
{
	size_t i;

	fprintf(fp, "usage: herald [-c FILE] COMMAND [ARGS…]\n\n"
	    "Commands:\n");
	for (i = 0; i < G_N_ELEMENTS(commands); i++)
		fprintf(fp, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(fp, "  %-10s %s\n\n", "help", "this list, or help COMMAND");
	fprintf(fp, "Options:\n  -c FILE    configuration file (default: "
	    "$HERALD_CONFIG, ./etc/herald.conf, " SYSCONFDIR "/herald/herald.conf)\n"
	    "  --version  print the version (as herald version)\n\n"
	    "\"herald COMMAND --help\" describes one command.\n");
}

/* main_locale - characters are UTF-8 whatever the environment says, so
 * GOption prints its usage as written ("[OPTION…]", not "[OPTION?]") and
 * converts nothing; only LC_CTYPE: numbers, messages and collation stay
 * C's (libconfuse reads "0.5" with strtod) */
static void
main_locale(void)
{
	static const char *const utf8[] = { "C.UTF-8", "C.utf8", "en_US.UTF-8" };
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(utf8); i++)
		if (setlocale(LC_CTYPE, utf8[i]) != NULL)
			return;
}

/* main_find - a command by name, or NULL */
static const struct command *
main_find(const char *name)
{
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

int
main(int argc, char **argv)
{
	struct herald h = { 0 };
	const struct command *cmd;
	const char *config_opt = NULL;
	char *config_path = NULL;
	GError *error = NULL;
	int i = 1, status;

	signal(SIGPIPE, SIG_IGN);
	main_locale();
	g_mime_init();
	log_init("herald", FALSE);
	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			config_opt = argv[i + 1];
			i += 2;
		} else if (strncmp(argv[i], "--config=", 9) == 0) {
			config_opt = argv[i] + 9;
			i++;
		} else if (strcmp(argv[i], "--version") == 0) {
			char *sub[] = { (char *)"version", NULL };

			return cmd_version(&h, 1, sub);
		} else if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			main_usage(stdout);
			return EX_OK;
		} else {
			fprintf(stderr, "herald: unknown option %s "
			    "(try \"herald help\")\n", argv[i]);
			return EX_USAGE;
		}
	}
	if (i >= argc) {
		main_usage(stderr);
		return EX_USAGE;
	}
	if (strcmp(argv[i], "help") == 0) {
		if (i + 1 < argc && !cmd_is_help(argv[i + 1]) &&
		    strcmp(argv[i + 1], "help") != 0) {
			char *sub[] = { argv[i + 1], (char *)"--help", NULL };

			if ((cmd = main_find(argv[i + 1])) == NULL) {
				fprintf(stderr, "herald: no command \"%s\" "
				    "(try \"herald help\")\n", argv[i + 1]);
				return EX_USAGE;
			}
			return cmd->fn(&h, 2, sub);
		}
		main_usage(stdout);
		return EX_OK;
	}
	if ((cmd = main_find(argv[i])) == NULL) {
		fprintf(stderr, "herald: no command \"%s\" (try \"herald help\")\n",
		    argv[i]);
		return EX_USAGE;
	}
	/* --help never needs configuration */
	for (int j = i + 1; j < argc; j++)
		if (cmd_is_help(argv[j]))
			return cmd->fn(&h, argc - i, argv + i);

	if (!herald_clock_check(&error))	/* HERALD_NOW, for tests */
		return cmd_error(cmd->name, error);
	h.config_option = config_opt;
	if (cmd->flags & NEEDS_CONFIG) {
		if ((config_path = config_find(config_opt, &error)) == NULL)
			return cmd_error(cmd->name, error);
		h.config_path = config_path;
		h.config = config_load(h.config_path, &error);
		if (h.config == NULL) {
			g_free(config_path);
			return cmd_error(cmd->name, error);
		}
	}
	if ((cmd->flags & NEEDS_STORE) == NEEDS_STORE) {
		h.store = store_open_config(h.config, 0, &error);
		if (h.store == NULL) {
			config_free(h.config);
			g_free(config_path);
			return cmd_error(cmd->name, error);
		}
	}
	status = cmd->fn(&h, argc - i, argv + i);
	store_close(h.store);
	config_free(h.config);
	g_free(config_path);
	return status;
}
