/*
 * doctor.h - herald doctor LIST: what can be checked of a list's mail
 * authentication and unsubscribe path from this host, without DNS (the
 * published records are given). A tool of the administration layer: it
 * renders a sample through outbound, signs and verifies it (outbound's
 * DKIM), and asks herald serve with admin's HTTP probe.
 */
#ifndef HERALD_DOCTOR_H
#define HERALD_DOCTOR_H

#include <glib.h>
#include "config.h"

enum doctor_result {
	DOCTOR_PASS,
	DOCTOR_FAIL,
	DOCTOR_SKIP,
};

struct doctor_check {
	enum doctor_result result;
	char *text;
};

struct doctor_opts {
	const char *txt;		/* the published RSA record, or NULL */
	const char *ed25519_txt;	/* the published ed25519 record, or NULL */
	const char *announcement;	/* the sample: a kind or a data file */
	const char *listen;		/* herald serve's ADDR:PORT (NULL: web.listen) */
};

/* doctor_run - the checks herald can make here, one struct doctor_check
 * each, in order: keys readable (and matching the published records when
 * given), From and the notices' From aligned with d=, the List-* headers
 * and Precedence in a sample message rendered from ANNOUNCEMENT, the
 * one-click URL (it starts with the web base_url, and herald serve at
 * LISTEN answers 200 to one RFC 8058 POST of a test token, which acts on
 * nobody; SKIP when neither web.base_url nor the list's
 * unsubscribe_base_url is set), over-signing in h=, and the sample's
 * signatures verified (dkim_verify_message, over libcrypto) against the records. Never fails
 * as a whole. */
GPtrArray *doctor_run(const struct config *config,
    const struct list_config *list, const struct doctor_opts *o);

#endif
