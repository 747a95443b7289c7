/*
 * fuzz.h - what the libFuzzer targets of tests/fuzz share with each other
 * and with tests/tools/fuzz-replay.c, which replays the kept crash inputs
 * through the normal build (no clang needed).
 *
 * Each tests/fuzz/fuzz-NAME.c defines fuzz_NAME(), one input through one
 * parser, and, unless FUZZ_REPLAY is defined, LLVMFuzzerTestOneInput()
 * calling it. The targets that need a herald instance (pipe, lmtp, web)
 * get a throwaway one from fuzz_instance() (instance.c).
 *
 * Must stay true: a target returns for every input, and what it finds
 * wrong (beyond a sanitizer's report) it reports with abort(), so the
 * replay driver fails on it as libFuzzer does.
 */
#ifndef HERALD_FUZZ_H
#define HERALD_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include <glib.h>
#include "config.h"
#include "token.h"

int fuzz_bounce(const uint8_t *data, size_t size);
int fuzz_csv(const uint8_t *data, size_t size);
int fuzz_segment(const uint8_t *data, size_t size);
int fuzz_template(const uint8_t *data, size_t size);
int fuzz_pipe(const uint8_t *data, size_t size);
int fuzz_lmtp(const uint8_t *data, size_t size);
int fuzz_web(const uint8_t *data, size_t size);

/* a herald instance in a temporary folder, removed at exit: herald.conf
 * naming the shipped lists (copied), a migrated database with alice (id
 * 1, on xen-users and xen-devel), bob (2, on xen-users) and carol (3,
 * pending on xen-users), the token secret, and a relay that refuses (so
 * notices stay queued) */
struct fuzz_instance {
	char *dir;
	struct config *config;
	struct token_key key;
	char *pristine;		/* the database file as set up */
	gsize pristine_len;
};

/* fuzz_instance - the process's instance, made on first call; aborts
 * when it cannot be made */
struct fuzz_instance *fuzz_instance(void);

/* fuzz_instance_reset - the database back to its pristine bytes (no
 * connection may be open on it) */
void fuzz_instance_reset(struct fuzz_instance *fi);

/* fuzz_tokens - TEXT with "{U}", "{B}", "{S}", "{C}" and "{T}" replaced by
 * an unsubscribe, bounce, subscribe-confirm, unsubscribe-confirm and test
 * unsubscribe token of xen-users for alice (subscriber 1; carol, 3, for
 * {S}): the seeds name tokens the instance's random secret makes valid
 * (caller frees; *OUT_LEN its length, NULs and all) */
char *fuzz_tokens(struct fuzz_instance *fi, const char *text, gsize len,
    gsize *out_len);

#endif
