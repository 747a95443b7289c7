/*
 * dkim_align.c - DMARC alignment between a signing or envelope domain and
 * the From domain, judged without the public suffix list (a parent and
 * its subdomain align relaxed; siblings do not), and the default path of
 * a list's key file.
 */
#include <string.h>

#include "herald.h"
#include "dkim_align.h"

/* dkim_alignment - D against the From domain FROM */
enum dkim_align
dkim_alignment(const char *d, const char *from)
{
	size_t ld, lf;

	if (d == NULL || from == NULL)
		return DKIM_ALIGN_NONE;
	if (g_ascii_strcasecmp(d, from) == 0)
		return DKIM_ALIGN_STRICT;
	ld = strlen(d);
	lf = strlen(from);
	/* the parent must itself look like a registered name: two labels */
	if (lf > ld && from[lf - ld - 1] == '.' &&
	    g_ascii_strcasecmp(from + lf - ld, d) == 0 && strchr(d, '.') != NULL)
		return DKIM_ALIGN_RELAXED;
	if (ld > lf && d[ld - lf - 1] == '.' &&
	    g_ascii_strcasecmp(d + ld - lf, from) == 0 && strchr(from, '.') != NULL)
		return DKIM_ALIGN_RELAXED;
	return DKIM_ALIGN_NONE;
}

/* dkim_alignment_name - words for A */
const char *
dkim_alignment_name(enum dkim_align a)
{
	switch (a) {
	case DKIM_ALIGN_STRICT:
		return "aligned (strict: the same domain)";
	case DKIM_ALIGN_RELAXED:
		return "aligned (relaxed: a parent and its subdomain)";
	default:
		return "NOT aligned";
	}
}

/* dkim_default_key_path - DATA_DIR/dkim/LIST.SELECTOR.pem */
char *
dkim_default_key_path(const char *data_dir, const char *list,
    const char *selector)
{
	g_autofree char *base = g_strdup_printf("%s.%s.pem", list, selector);

	return g_build_filename(data_dir, "dkim", base, NULL);
}

