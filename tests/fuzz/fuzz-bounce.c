/*
 * fuzz-bounce.c - libFuzzer target: arbitrary bytes through the whole
 * parse-and-classify path of bounce.c (classification, complaint reading,
 * VERP candidates).
 *
 * Must stay true: every input returns; nothing leaks, overflows or hits
 * undefined behaviour (built with -fsanitize=fuzzer,address,undefined).
 */
#include <gmime/gmime.h>

#include "bounce.h"
#include "herald.h"
#include "fuzz.h"

/* fuzz_bounce - parse DATA as a message and classify it */
int
fuzz_bounce(const uint8_t *data, size_t size)
{
	static gboolean ready;
	GMimeMessage *msg;
	struct bounce_report *report = NULL;
	struct bounce_complaint *complaint;
	GPtrArray *verp;

	if (!ready) {
		g_mime_init();
		ready = TRUE;
	}
	msg = bounce_parse_bytes(data, size, NULL);
	if (msg == NULL)
		return 0;
	if (bounce_classify(msg, &report, NULL)) {
		(void)bounce_report_kind(report);
		bounce_report_free(report);
	}
	complaint = bounce_complaint_parse(msg);
	bounce_complaint_free(complaint);
	(void)bounce_is_autoreply(msg);
	verp = bounce_verp_candidates(msg);
	g_ptr_array_unref(verp);
	g_object_unref(msg);
	return 0;
}

#ifndef FUZZ_REPLAY
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_bounce(data, size);
}
#endif
