/*
 * dkim_align.h - what DMARC asks of a list's domains, and where a list's
 * keys live by default: facts the configuration checks when it loads and
 * the signer, herald dns and herald doctor report. A leaf of the core
 * layer, with no crypto in it.
 */
#ifndef HERALD_DKIM_ALIGN_H
#define HERALD_DKIM_ALIGN_H

#include <glib.h>

enum dkim_align {
	DKIM_ALIGN_NONE,	/* different organisations, as far as herald sees */
	DKIM_ALIGN_RELAXED,	/* one is a subdomain of the other (DMARC relaxed) */
	DKIM_ALIGN_STRICT,	/* the same domain */
};

/* dkim_alignment - how domain D (d=, or an SPF domain) aligns with the
 * From domain FROM. Relaxed alignment is judged without the public suffix
 * list: only a parent and its subdomain count (siblings such as
 * a.example.org and b.example.org are NONE here). */
enum dkim_align dkim_alignment(const char *d, const char *from);
const char *dkim_alignment_name(enum dkim_align a);

/* dkim_default_key_path - DATA_DIR/dkim/LIST.SELECTOR.pem (caller frees) */
char *dkim_default_key_path(const char *data_dir, const char *list,
    const char *selector);

#endif
