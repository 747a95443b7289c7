/*
 * dkim_canon.h - DKIM's "relaxed" canonicalization (RFC 6376 3.4.2 for
 * header fields, 3.4.4 for the body) and the header-field walk both the
 * signer and the verifier of dkim.c use. No crypto here: the body's
 * canonical bytes go to a sink (a digest, or a GString for the tests).
 *
 * The body canonicalizer streams: it takes the body in chunks of any
 * size, split anywhere (inside a CRLF, inside a run of spaces), and
 * passes on runs of the input as they are, breaking them only where the
 * canonical form differs (a run of WSP that is not one space, WSP before
 * a CRLF, empty lines that may turn out to end the body). Nothing of the
 * body is copied.
 *
 * Must stay true: the bytes passed on for a body are the same whatever
 * the chunking; a line ends at CRLF only (a lone CR or LF is text, as
 * dkimpy and libopendkim read CRLF messages); WSP is space and tab.
 */
#ifndef HERALD_DKIM_CANON_H
#define HERALD_DKIM_CANON_H

#include <glib.h>

/* where canonical bytes go */
typedef void (*dkim_canon_sink)(gpointer data, const void *buf, gsize len);

/* the state of one body between chunks */
struct dkim_canon_body {
	dkim_canon_sink sink;
	gpointer data;
	guint empty;		/* empty lines not passed on yet */
	gboolean wsp;		/* a WSP run ended the last chunk */
	gboolean cr;		/* a CR ended the last chunk */
	gboolean text;		/* the current line has text */
	gboolean any;		/* some text was passed on */
};

/* dkim_canon_body_init - a body canonicalizer passing bytes to SINK */
void dkim_canon_body_init(struct dkim_canon_body *b, dkim_canon_sink sink,
    gpointer data);
/* dkim_canon_body_update - the next LEN bytes of the body */
void dkim_canon_body_update(struct dkim_canon_body *b, const char *buf,
    gsize len);
/* dkim_canon_body_final - the end of the body: the last line's CRLF if
 * it had none; empty lines at the end are dropped */
void dkim_canon_body_final(struct dkim_canon_body *b);

/* dkim_canon_header - append the relaxed form of one header field,
 * FIELD[0..LEN) as it stands in the message (name, colon, value with its
 * folding, without the CRLF that ends it), to OUT: the name in lower
 * case without WSP before the colon, the value unfolded, WSP runs as one
 * space, none at its start or end, then CRLF */
void dkim_canon_header(GString *out, const char *field, gsize len);

/* one header field of a message */
struct dkim_field {
	const char *start;	/* its first byte (the name) */
	gsize len;		/* up to, not including, its last CRLF */
	gsize name_len;		/* the name, without WSP before the colon */
};

/* dkim_canon_fields - the header fields of MSG[0..LEN) into FIELDS (a
 * GArray of struct dkim_field), in order; returns the offset of the body
 * (after the empty line; LEN when there is none). A line without a colon
 * is not a field and is left out. */
gsize dkim_canon_fields(const char *msg, gsize len, GArray *fields);

/* dkim_canon_field_is - FIELD's name is NAME (case-insensitive) */
gboolean dkim_canon_field_is(const struct dkim_field *f, const char *name);

#endif
