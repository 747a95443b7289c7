/*
 * cmd_lmtp.c - herald lmtp [--listen unix:PATH | ADDR:PORT] [options]: the
 * LMTP server an MTA delivers the lists' mail to (lmtp.c does the work),
 * beside herald pipe and through the same delivery code.
 *
 * Listens on unix:DATA_DIR/lmtp.sock unless told otherwise, or on the
 * socket systemd passes (LISTEN_FDS=1). Runs until SIGTERM or SIGINT,
 * then finishes the messages in hand. One log line per recipient on
 * stderr (and syslog with --syslog). Exit 0 after a clean stop; 64 for a
 * bad option, 78 for a bad address, 75 when it cannot listen or open the
 * database.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <gmime/gmime.h>

#include "herald.h"
#include "cmd.h"
#include "config.h"
#include "lmtp.h"
#include "log.h"

static struct lmtp_server *cmd_lmtp_server;

/* cmd_lmtp_signal - stop the server (async-signal-safe) */
static void
cmd_lmtp_signal(int sig)
{
	if (cmd_lmtp_server != NULL)
		lmtp_server_stop(cmd_lmtp_server);
}

/* cmd_lmtp_systemd_fd - the one socket systemd passed, or -1 */
static int
cmd_lmtp_systemd_fd(void)
{
	const char *pid = g_getenv("LISTEN_PID"), *fds = g_getenv("LISTEN_FDS");

	if (pid == NULL || fds == NULL || atol(pid) != (long)getpid() ||
	    atoi(fds) < 1)
		return -1;
	g_unsetenv("LISTEN_PID");
	g_unsetenv("LISTEN_FDS");
	g_unsetenv("LISTEN_FDNAMES");
	return 3;	/* SD_LISTEN_FDS_START */
}

int
cmd_lmtp(struct herald *h, int argc, char **argv)
{
	char *listen = NULL, *mode = NULL;
	int max_conn = 20, timeout = 300, workers = 1, group = 64, rcpts = 1000;
	gboolean use_syslog = FALSE;
	GOptionEntry entries[] = {
		{ "listen", 'l', 0, G_OPTION_ARG_STRING, &listen,
		    "unix:PATH, ADDR:PORT or [ADDR]:PORT (default"
		    " unix:DATA_DIR/lmtp.sock)", "WHERE" },
		{ "socket-mode", 0, 0, G_OPTION_ARG_STRING, &mode,
		    "permissions of the unix socket (default 0660)", "OCTAL" },
		{ "max-connections", 0, 0, G_OPTION_ARG_INT, &max_conn,
		    "connections at once; beyond, 421 (default 20)", "N" },
		{ "timeout", 0, 0, G_OPTION_ARG_INT, &timeout,
		    "seconds for each command and each DATA (default 300)", "S" },
		{ "workers", 0, 0, G_OPTION_ARG_INT, &workers,
		    "delivery threads (default 1)", "N" },
		{ "group", 0, 0, G_OPTION_ARG_INT, &group,
		    "messages at most in one commit (default 64)", "N" },
		{ "max-recipients", 0, 0, G_OPTION_ARG_INT, &rcpts,
		    "recipients per transaction (default 1000)", "N" },
		{ "syslog", 0, 0, G_OPTION_ARG_NONE, &use_syslog,
		    "log to syslog (LOG_MAIL) as well as stderr", NULL },
		{ NULL }
	};
	g_autofree char *listen_owned = NULL, *mode_owned = NULL;
	g_autofree char *where = NULL;
	struct lmtp_params p = { 0 };
	struct sigaction sa;
	GError *error = NULL;
	char *end = NULL;

	if (!cmd_parse("lmtp", "[--listen unix:PATH | ADDR:PORT]", "Serve LMTP"
	    " (RFC 2033) for the lists' addresses: what herald pipe does, from"
	    " one long-running process, with grouped commits.", entries, &argc,
	    &argv))
		return EX_USAGE;
	listen_owned = listen;
	mode_owned = mode;
	if (argc != 1 || max_conn < 1 || timeout < 1 || workers < 1 ||
	    workers > 64 || group < 1 || group > 10000 || rcpts < 1) {
		fprintf(stderr, "herald lmtp: usage: herald lmtp [--listen WHERE]"
		    " (numbers must be positive)\n");
		return EX_USAGE;
	}
	p.socket_mode = 0660;
	if (mode != NULL && ((p.socket_mode = (int)strtol(mode, &end, 8)),
	    *mode == '\0' || *end != '\0' || p.socket_mode > 0777)) {
		fprintf(stderr, "herald lmtp: --socket-mode %s: not an octal"
		    " mode\n", mode);
		return EX_USAGE;
	}
	log_init("herald", use_syslog);
	g_mime_init();
	p.listen_fd = listen == NULL ? cmd_lmtp_systemd_fd() : -1;
	where = listen != NULL ? g_strdup(listen) : g_strdup_printf("unix:%s/"
	    "lmtp.sock", h->config->data_dir);
	p.listen = where;
	p.max_connections = (guint)max_conn;
	p.timeout = (guint)timeout;
	p.workers = (guint)workers;
	p.group_max = (guint)group;
	p.max_recipients = (guint)rcpts;
	if ((cmd_lmtp_server = lmtp_server_new(h->config, &p, &error)) == NULL)
		return cmd_error("lmtp", error);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = cmd_lmtp_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	log_info("lmtp: listening on %s", p.listen_fd >= 0 ?
	    "the socket systemd passed" : where);
	lmtp_server_run(cmd_lmtp_server);
	lmtp_server_free(g_steal_pointer(&cmd_lmtp_server));
	return EX_OK;
}
