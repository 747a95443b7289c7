/*
 * send-one.c - test helper: send stdin (LF or CRLF) with send_one() to
 * HOST:PORT from FROM to RCPT…, and print each recipient's result as
 * "ADDRESS OUTCOME CODE STAGE REPLY". Exit 0 all accepted, 75 temporary,
 * 69 permanent. STARTTLS and TIMEOUT come from the environment
 * (SEND_STARTTLS=off|when-offered|required, SEND_TIMEOUT=seconds).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "herald.h"
#include "config.h"
#include "send.h"

int
main(int argc, char **argv)
{
	struct smtp_config smtp = { 0 };
	struct send_result res = { 0 };
	g_autoptr(GString) in = g_string_new(NULL);
	g_autoptr(GString) crlf = g_string_new(NULL);
	g_autoptr(GBytes) body = NULL;
	GError *error = NULL;
	const char *tls = g_getenv("SEND_STARTTLS");
	char buf[4096];
	size_t n;
	gboolean ok;
	guint i;

	if (argc < 5) {
		fprintf(stderr, "usage: send-one HOST PORT FROM RCPT... < message\n");
		return 64;
	}
	while ((n = fread(buf, 1, sizeof buf, stdin)) > 0)
		g_string_append_len(in, buf, n);
	for (i = 0; i < in->len; i++) {
		if (in->str[i] == '\n' && (i == 0 || in->str[i - 1] != '\r'))
			g_string_append_c(crlf, '\r');
		g_string_append_c(crlf, in->str[i]);
	}
	body = g_bytes_new(crlf->str, crlf->len);
	smtp.host = argv[1];
	smtp.port = atoi(argv[2]);
	smtp.timeout = g_getenv("SEND_TIMEOUT") ? atoi(g_getenv("SEND_TIMEOUT")) : 10;
	smtp.starttls = tls == NULL || strcmp(tls, "off") == 0 ? STARTTLS_OFF :
	    strcmp(tls, "required") == 0 ? STARTTLS_REQUIRED : STARTTLS_WHEN_OFFERED;
	smtp.user = (char *)g_getenv("SEND_USER");
	smtp.password_file = (char *)g_getenv("SEND_PASSWORD_FILE");
	ok = send_one(&smtp, argv[3], (const char *const *)argv + 4, body, &res,
	    &error);
	for (i = 0; res.rcpts != NULL && i < res.rcpts->len; i++) {
		struct send_rcpt *r = g_ptr_array_index(res.rcpts, i);

		printf("%s %s %d %s %s\n", r->address, r->outcome == SEND_OK ?
		    "ok" : r->outcome == SEND_TEMP ? "temp" : r->outcome == SEND_HALT ?
		    "halt" : "perm", r->code,
		    send_stage_name(r->stage), r->reply);
	}
	send_result_clear(&res);
	if (!ok) {
		fprintf(stderr, "send-one: %s\n", error->message);
		n = herald_exit_status(error);
		g_error_free(error);
		return (int)n;
	}
	return 0;
}
