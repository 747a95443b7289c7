/*
 * template.h - herald's Mustache engine: compile once, render many times,
 * from many threads at once.
 *
 * A template_set holds named sources (announcement parts and partials),
 * compiled when added. template_set_check() resolves every partial and
 * parent reference and must succeed before rendering; after it, the set is
 * read-only and template_render() may run concurrently in many threads.
 *
 * Supports: variables ({{x}} escaped in HTML mode, {{{x}}} and {{& x}}
 * raw), dotted names, implicit iterator, sections over lists, maps and
 * flags, inverted sections, comments, partials (with standalone
 * indentation), set delimiters, and the inheritance extension ({{< parent}}
 * with {{$ block}}). Lambdas are not supported.
 *
 * Errors (HERALD_ERROR_DATA) name "FILE:LINE:COL: what".
 */
#ifndef HERALD_TEMPLATE_H
#define HERALD_TEMPLATE_H

#include <glib.h>
#include "value.h"

enum template_escape {
	TEMPLATE_ESCAPE_NONE,	/* text parts and headers */
	TEMPLATE_ESCAPE_HTML,	/* & < > " ' escaped */
};

struct template_set;

struct template_set *template_set_new(void);
void template_set_free(struct template_set *set);

/* template_set_add - compile SOURCE under NAME (FILENAME for errors; may be
 * NULL, then NAME is used). Adding a NAME twice replaces it. */
gboolean template_set_add(struct template_set *set, const char *name,
    const char *source, const char *filename, GError **error);

/* template_set_add_dir - add every DIR/<name>.mustache as <name>. */
gboolean template_set_add_dir(struct template_set *set, const char *dir,
    GError **error);

gboolean template_set_has(const struct template_set *set, const char *name);

/* template_set_check - every partial and parent named anywhere exists.
 * With ALLOW_MISSING, a missing partial renders empty (the spec's rule)
 * and this only compiles; herald's own commands pass FALSE. */
gboolean template_set_check(struct template_set *set, gboolean allow_missing,
    GError **error);

/* template_render - render template NAME against a context stack (STACK[0]
 * is the bottom, STACK[N-1] the top, searched top down) appending to OUT.
 * MISSING, if not NULL, collects (as g_strdup'd strings, each once) every
 * variable or section name that resolved to nothing. */
gboolean template_render(const struct template_set *set, const char *name,
    struct value *const *stack, guint n, enum template_escape escape,
    GString *out, GPtrArray *missing, GError **error);

/* g_autoptr needs a type name: this typedef exists for it alone */
typedef struct template_set template_set;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(template_set, template_set_free)

#endif
