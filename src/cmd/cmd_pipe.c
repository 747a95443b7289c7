/*
 * cmd_pipe.c - herald pipe [-f SENDER] [RECIPIENT]: the delivery command
 * an MTA runs for every message to one of a list's addresses.
 *
 * The addresses come from argv (Postfix pipe(8): ${sender} ${recipient};
 * it writes the null sender as MAILER-DAEMON unless the transport sets
 * null_sender=), else from the environment (Postfix local(8): RECIPIENT,
 * EXTENSION, SENDER; Exim's pipe transport: LOCAL_PART,
 * LOCAL_PART_SUFFIX, DOMAIN, SENDER).
 *
 * Exit status is the MTA contract (doc/admin/mail-server.md, "Exit status of herald pipe"):
 * 0 only once the outcome is committed and synced (the store is opened
 * STORE_OPEN_DURABLE); 75 for anything that may pass, including no
 * configuration found, one that does not load, a missing list folder,
 * database or secret, or a bug (a deferred message is never a lost one);
 * 67 only when the configuration loaded and no list has the address; 65
 * a command mail that cannot be understood; a message over pipe.max_size
 * is refused with "5.3.4" first on stderr (exit 69), or, from the empty
 * sender, handled from its first max_size bytes when it is a bounce and
 * dropped otherwise. Nothing permanent for the null sender. Several
 * recipients are each delivered; one status answers for all (the worst).
 * One line per recipient on stderr and the same line to syslog
 * (LOG_MAIL). After its own work a pipe tries a few notices earlier runs
 * left in the outbox (outbox.h), unless the relay just failed its own.
 *
 * Must stay true: the exit status above (a fault of ours defers, it never
 * loses a message); the WAL is trimmed only after the outcome is
 * committed (store_wal.h).
 */
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <gmime/gmime.h>

#include "herald.h"
#include "cmd.h"
#include "config.h"
#include "log.h"
#include "outbox.h"
#include "pipe.h"
#include "store.h"
#include "store_wal.h"
#include "token.h"

/* cmd_pipe_recipient - argv, else local(8)'s or Exim's environment */
static char *
cmd_pipe_recipient(const char *arg)
{
	const char *r, *ext, *lp, *dom;

	if (arg != NULL && *arg != '\0')
		return g_strdup(arg);
	if ((r = g_getenv("RECIPIENT")) != NULL && *r != '\0') {
		ext = g_getenv("EXTENSION");
		if (ext != NULL && *ext != '\0' && strchr(r, '+') == NULL &&
		    strchr(r, '@') != NULL)
			return g_strdup_printf("%.*s+%s%s",
			    (int)(strchr(r, '@') - r), r, ext, strchr(r, '@'));
		return g_strdup(r);
	}
	if ((r = g_getenv("ORIGINAL_RECIPIENT")) != NULL && *r != '\0')
		return g_strdup(r);
	lp = g_getenv("LOCAL_PART");
	dom = g_getenv("DOMAIN");
	if (lp != NULL && *lp != '\0' && dom != NULL && *dom != '\0') {
		const char *pre = g_getenv("LOCAL_PART_PREFIX");
		const char *suf = g_getenv("LOCAL_PART_SUFFIX");

		return g_strdup_printf("%s%s%s@%s", pre != NULL ? pre : "", lp,
		    suf != NULL ? suf : "", dom);
	}
	return NULL;
}

/* cmd_pipe_sender - the envelope sender, "" for the null sender */
static char *
cmd_pipe_sender(const char *arg, gboolean given)
{
	const char *s = given ? arg : g_getenv("SENDER");

	if (s == NULL || *s == '\0' || strcmp(s, "<>") == 0 ||
	    g_ascii_strcasecmp(s, "MAILER-DAEMON") == 0)
		return g_strdup("");
	return g_strdup(s);
}

/* cmd_pipe_read - all of stdin through a GMime pipe stream, keeping the
 * first MAX bytes; *OVER is set (and the rest drained) when there is more */
static GBytes *
cmd_pipe_read(gint64 max, gboolean *over, GError **error)
{
	GMimeStream *in = g_mime_stream_pipe_new(0);
	GByteArray *buf = g_byte_array_new();
	char chunk[65536];
	gssize n;

	*over = FALSE;
	g_mime_stream_pipe_set_owner(GMIME_STREAM_PIPE(in), FALSE);
	while ((n = g_mime_stream_read(in, chunk, sizeof(chunk))) > 0) {
		if (*over)
			continue;	/* drain, so the MTA's write completes */
		if ((gint64)(buf->len + (gsize)n) > max) {
			*over = TRUE;
			n = (gssize)(max - (gint64)buf->len);
		}
		g_byte_array_append(buf, (const guint8 *)chunk, (guint)n);
	}
	g_object_unref(in);
	if (n < 0) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_TEMP,
		    "reading the message from stdin failed");
		g_byte_array_unref(buf);
		return NULL;
	}
	return g_byte_array_free_to_bytes(buf);
}

/* cmd_pipe_worse - the status for a message with several recipients: a
 * deferral of one defers all (the others are done again on the retry, and
 * every action is idempotent); else the first permanent failure */
static int
cmd_pipe_worse(int a, int b)
{
	if (a == EX_TEMPFAIL || b == EX_TEMPFAIL)
		return EX_TEMPFAIL;
	return a != EX_OK ? a : b;
}

/* cmd_pipe_log - the one line per recipient, on stderr and to syslog */
static void
cmd_pipe_log(int status, const struct pipe_result *res, const char *sender,
    const char *recipient)
{
	g_autofree char *line = pipe_log_line(res, sender, recipient, status);

	if (status == EX_OK)
		log_info("pipe: %s", line);
	else
		log_warnx("pipe: %s", line);
}

/* cmd_pipe_one - deliver RAW to one RECIPIENT and log it; OVER: RAW is
 * the first pipe.max_size bytes of a larger message */
static int
cmd_pipe_one(struct pipe_ctx *ctx, const char *recipient, const char *sender,
    GBytes *raw, gboolean over, gboolean *deferred)
{
	const struct config *config = ctx->config;
	struct pipe_result res = { 0 };
	GError *error = NULL;
	int status;

	res.outcome = g_string_new(NULL);
	if (over) {
		g_autofree char *line = NULL;

		status = pipe_oversize(config, recipient, sender, &res, &line);
		if (status == EX_UNAVAILABLE) {
			fprintf(stderr, "%s\n", line);
			syslog(LOG_NOTICE, "pipe: to=<%s> from=<%s> status=%d: %s",
			    recipient, sender, status, line);
			pipe_result_clear(&res);
			return status;
		}
		if (status == EX_OK)
			goto out;
	}
	pipe_deliver(ctx, recipient, sender, raw, &res, &error);
	*deferred |= res.deferred;
out:
	status = pipe_exit_status(error);
	if (error != NULL)
		g_string_append_printf(res.outcome, "%s%s",
		    res.outcome->len > 0 ? "; " : "", error->message);
	cmd_pipe_log(status, &res, sender, recipient);
	g_clear_error(&error);
	pipe_result_clear(&res);
	return status;
}

/* cmd_pipe_fail - log ERROR for every recipient (nothing was done for
 * any), free it, and return the status */
static int
cmd_pipe_fail(GError *error, const char *sender, GPtrArray *recipients)
{
	struct pipe_result res = { 0 };
	int status = pipe_exit_status(error);
	guint i;

	for (i = 0; i < MAX(recipients->len, 1); i++) {
		res.outcome = g_string_new(error->message);
		cmd_pipe_log(status, &res, sender, i < recipients->len ?
		    g_ptr_array_index(recipients, i) : NULL);
		pipe_result_clear(&res);
	}
	g_error_free(error);
	return status;
}

/* how many queued notices of other runs a pipe tries after its own work */
#define CMD_PIPE_OUTBOX_BATCH	8

/* cmd_pipe - herald pipe [-f SENDER] [RECIPIENT…]: one message from stdin */
int
cmd_pipe(struct herald *h, int argc, char **argv)
{
	char *sender_opt = NULL;
	GOptionEntry entries[] = {
		{ "sender", 'f', 0, G_OPTION_ARG_STRING, &sender_opt,
		    "the envelope sender (MAILER-DAEMON or empty: none)",
		    "SENDER" },
		{ NULL }
	};
	g_autoptr(config) config = NULL;
	g_autoptr(store) store = NULL;
	g_autoptr(GBytes) raw = NULL;
	g_autoptr(GPtrArray) recipients = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *sender = NULL, *spooled = NULL, *path = NULL;
	struct pipe_ctx ctx = { 0 };
	GError *error = NULL;
	int wal_frames = 0, i, seen_dashes = 0;
	gboolean over = FALSE, deferred = FALSE;
	int status = EX_OK;
	char *r;

	if (!cmd_parse("pipe", "[-f SENDER] [RECIPIENT…]", "Deliver one message"
	    " from stdin to list addresses (run by the MTA). Exit 0 done, 75"
	    " try later, 67 no such address, 65 not understood.", entries,
	    &argc, &argv))
		return EX_TEMPFAIL;	/* a broken transport definition defers */
	log_init("herald", TRUE);
	/* every argument after the options is an address, even one that
	 * starts with '-': the transport lines herald mta writes pass "--",
	 * which GOption stops at and leaves in place */
	for (i = 1; i < argc; i++)
		if ((strcmp(argv[i], "--") != 0 || seen_dashes++ > 0) &&
		    (r = cmd_pipe_recipient(argv[i])) != NULL)
			g_ptr_array_add(recipients, r);
	if (recipients->len == 0 && (r = cmd_pipe_recipient(NULL)) != NULL)
		g_ptr_array_add(recipients, r);
	sender = cmd_pipe_sender(sender_opt, sender_opt != NULL);
	g_free(sender_opt);
	if (recipients->len == 0) {
		g_set_error(&error, HERALD_ERROR, HERALD_ERROR_TEMP, "no recipient"
		    " (give it as an argument, or in RECIPIENT or LOCAL_PART and"
		    " DOMAIN)");
		return cmd_pipe_fail(error, sender, recipients);
	}
	/* from here on, every fault of ours defers (75): a configuration
	 * that is not found or does not load, a missing database or secret */
	if ((path = config_find(h->config_option, &error)) == NULL ||
	    (config = config_load(path, &error)) == NULL)
		return cmd_pipe_fail(error, sender, recipients);
	g_mime_init();
	if ((raw = cmd_pipe_read(config->pipe.max_size, &over, &error)) == NULL ||
	    (spooled = pipe_spool_write(config->spool_dir, raw, &error)) == NULL ||
	    !token_key_load(config->secret, &ctx.key, &error) ||
	    (store = store_open_config(config, STORE_OPEN_DURABLE,
	    &error)) == NULL) {
		status = cmd_pipe_fail(error, sender, recipients);
		pipe_spool_finish(config->spool_dir, spooled, FALSE);
		return status;
	}
	/* the WAL stays on close and is cut back now and then */
	store_wal_keep(store, &wal_frames);
	ctx.config = config;
	ctx.store = store;
	for (i = 0; i < (int)recipients->len; i++)
		status = cmd_pipe_worse(status, cmd_pipe_one(&ctx,
		    g_ptr_array_index(recipients, i), sender, raw, over,
		    &deferred));
	if (recipients->len > 1 && status != EX_OK)
		log_warnx("pipe: %u recipients in one delivery, and not all went"
		    " well: the exit status is the MTA's answer for all of them;"
		    " set the transport's recipient limit to 1"
		    " (herald_destination_recipient_limit = 1)", recipients->len);
	pipe_spool_finish(config->spool_dir, spooled, status == EX_OK);
	/* notices earlier runs could not send: a few, unless the relay
	 * just failed ours or the store is in trouble (75: busy, full) */
	if (!deferred && status != EX_TEMPFAIL && !outbox_flush(store, config,
	    g_get_real_time() / G_USEC_PER_SEC, CMD_PIPE_OUTBOX_BATCH, NULL,
	    &error)) {
		log_debug("pipe: outbox: %s", error->message);
		g_clear_error(&error);
	}
	store_wal_trim(store, wal_frames);
	store_close(g_steal_pointer(&store));
	return status;
}
