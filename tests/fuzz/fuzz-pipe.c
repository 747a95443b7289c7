/*
 * fuzz-pipe.c - libFuzzer target: a raw message and its envelope through
 * herald pipe's routing and actions (pipe_deliver), on a throwaway
 * instance whose database is put back as it was before each input.
 *
 * The input is RECIPIENT LF SENDER LF MESSAGE (an empty SENDER is the
 * null sender); "{U}", "{B}", "{S}", "{C}" and "{T}" anywhere become
 * valid tokens (fuzz.h), so the token routes are reached. Notices go to
 * a relay that refuses, and stay queued.
 *
 * Must stay true: every input returns; pipe_deliver's error is one
 * pipe_exit_status() maps, and never NOUSER or DATA for the null sender
 * (pipe.h).
 */
#include <stdlib.h>
#include <string.h>
#include <gmime/gmime.h>

#include "herald.h"
#include "fuzz.h"
#include "pipe.h"
#include "store.h"

/* fuzz_pipe - deliver the message of DATA to its recipient */
int
fuzz_pipe(const uint8_t *data, size_t size)
{
	static struct fuzz_instance *fi;
	g_autofree char *text = NULL;
	char *rcpt, *sender, *msg, *nl;
	gsize len;
	struct pipe_ctx ctx = { 0 };
	struct pipe_result res = { 0 };
	GError *error = NULL;
	GBytes *raw;
	int status;

	if (fi == NULL) {
		g_mime_init();
		fi = fuzz_instance();
	}
	text = fuzz_tokens(fi, (const char *)data, size, &len);
	rcpt = text;
	if ((nl = memchr(rcpt, '\n', len)) == NULL)
		return 0;
	*nl = '\0';
	sender = nl + 1;
	if ((nl = memchr(sender, '\n', len - (gsize)(sender - text))) == NULL)
		return 0;
	*nl = '\0';
	msg = nl + 1;
	fuzz_instance_reset(fi);
	ctx.config = fi->config;
	ctx.key = fi->key;
	if ((ctx.store = store_open(fi->config->database, 0, &error)) == NULL) {
		g_printerr("fuzz-pipe: %s\n", error->message);
		abort();
	}
	/* the message is what follows the envelope, NULs and all */
	raw = g_bytes_new(msg, len - (gsize)(msg - text));
	pipe_deliver(&ctx, rcpt, sender, raw, &res, &error);
	status = pipe_exit_status(error);
	if (*sender == '\0' && (status == EX_NOUSER || status == EX_DATAERR)) {
		g_printerr("fuzz-pipe: status %d for the null sender: %s\n",
		    status, error != NULL ? error->message : "");
		abort();
	}
	g_clear_error(&error);
	pipe_result_clear(&res);
	g_bytes_unref(raw);
	store_close(ctx.store);
	return 0;
}

#ifndef FUZZ_REPLAY
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_pipe(data, size);
}
#endif
