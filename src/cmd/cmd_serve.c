/*
 * cmd_serve.c - herald serve [--listen ADDR:PORT]: the list's web side
 * (web.c) until SIGTERM or SIGINT; herald web nginx: a proxy snippet.
 *
 * SIGTERM, SIGINT and SIGHUP are blocked before libmicrohttpd starts its
 * threads (so they inherit the mask) and taken here with sigwait: the
 * server stops accepting, finishes the requests in flight and exits 0.
 * One line at start says where it listens; web.c logs one per request.
 */
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "herald.h"
#include "cmd.h"
#include "config.h"
#include "dkim.h"
#include "log.h"
#include "send.h"
#include "store.h"
#include "token.h"
#include "web.h"

int
cmd_serve(struct herald *h, int argc, char **argv)
{
	char *listen = NULL;
	GOptionEntry entries[] = {
		{ "listen", 0, 0, G_OPTION_ARG_STRING, &listen,
		    "ADDR:PORT to listen on (default: web { listen }, "
		    "127.0.0.1:8025)", "ADDR:PORT" },
		{ NULL }
	};
	g_autofree char *listen_owned = NULL;
	struct token_key key;
	struct web *web;
	GError *error = NULL;
	sigset_t set;
	int sig = 0;

	if (!cmd_parse("serve", "", "Serve the lists' web side (one-click"
	    " unsubscribe, preferences, subscribe, archive) over HTTP, behind"
	    " a TLS proxy.", entries, &argc, &argv))
		return EX_USAGE;
	listen_owned = listen;
	if (argc != 1) {
		fprintf(stderr, "herald serve: usage: herald serve"
		    " [--listen ADDR:PORT]\n");
		return EX_USAGE;
	}
	/* the notices it queues are signed: a missing key stops it here */
	if (!token_key_load(h->config->secret, &key, &error) ||
	    !dkim_check_lists(h->config, &error))
		return cmd_error("serve", error);
	if ((web = web_new(h->config, &key, listen, &error)) == NULL)
		return cmd_error("serve", error);
	send_init();
	/* a long-running server: keep freed memory rather than hand it back
	 * and fault it in again on the next request (glibc trims each
	 * thread's heap with madvise; 5% of the one-click POST's time) */
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (!web_start(web, &error)) {
		web_free(web);
		return cmd_error("serve", error);
	}
	log_info("serve: listening on http://%s/ (%d threads)",
	    web_address(web), h->config->web.threads);
	while (sigwait(&set, &sig) == 0 && sig == SIGHUP)
		log_info("serve: SIGHUP ignored (restart to reload)");
	log_info("serve: %s, stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	web_stop(web);
	web_free(web);
	memset(&key, 0, sizeof(key));
	log_info("serve: stopped");
	return EX_OK;
}

int
cmd_web(struct herald *h, int argc, char **argv)
{
	g_autofree char *text = NULL;
	GOptionEntry entries[] = { { NULL } };

	if (!cmd_parse("web", "nginx", "Print the reverse proxy configuration"
	    " for herald serve.", entries, &argc, &argv))
		return EX_USAGE;
	if (argc != 2 || strcmp(argv[1], "nginx") != 0) {
		fprintf(stderr, "herald web: usage: herald web nginx\n");
		return EX_USAGE;
	}
	text = web_nginx(h->config);
	fputs(text, stdout);
	return EX_OK;
}
