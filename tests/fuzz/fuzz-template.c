/*
 * fuzz-template.c - libFuzzer target: arbitrary text through herald's
 * Mustache compiler (template.c), and, when the set checks, one render
 * against a small context in each escaping mode.
 *
 * The input is one template, "main"; a NUL byte starts another, whose
 * first line is its name (so partials and parents can be named and
 * found: "{{> p}}" with "\0p\n..."). Sources are C strings, so a NUL can
 * never be part of one.
 *
 * Must stay true: every input returns, with an error or a render;
 * nothing recurses without bound (partials and parents that name each
 * other), nothing overflows.
 */
#include <stdlib.h>
#include <string.h>

#include "herald.h"
#include "fuzz.h"
#include "template.h"
#include "value.h"

/* fuzz_template_context - a context with a bit of everything */
static struct value *
fuzz_template_context(void)
{
	struct value *ctx = value_new_map(), *list = value_new_list();
	struct value *sub = value_new_map(), *item;
	int i;

	value_map_set(sub, "name", value_new_string("Alice <&> \"A\""));
	value_map_set(sub, "email", value_new_string("alice@subs.test"));
	value_map_set(ctx, "subscriber", sub);
	value_map_set(ctx, "title", value_new_string("Xen Summit"));
	value_map_set(ctx, "flag", value_new_bool(TRUE));
	value_map_set(ctx, "off", value_new_bool(FALSE));
	value_map_set(ctx, "n", value_new_number(3.5));
	value_map_set(ctx, "none", value_new_null());
	value_map_set(ctx, "empty", value_new_list());
	for (i = 0; i < 3; i++) {
		item = value_new_map();
		value_map_set(item, "name", value_new_string_take(
		    g_strdup_printf("talk %d", i)));
		value_map_set(item, "x", value_new_number(i));
		value_list_append(list, item);
	}
	value_list_append(list, value_new_string("plain"));
	value_map_set(ctx, "talks", list);
	return ctx;
}

/* fuzz_template - compile the parts of DATA, check and render "main" */
int
fuzz_template(const uint8_t *data, size_t size)
{
	static struct value *ctx;
	g_autoptr(template_set) set = template_set_new();
	g_autoptr(GString) out = g_string_new(NULL);
	g_autoptr(GPtrArray) missing = g_ptr_array_new_with_free_func(g_free);
	const char *p = (const char *)data, *end = p + size;
	GError *error = NULL;
	gboolean first = TRUE;

	if (ctx == NULL)
		ctx = fuzz_template_context();
	while (p <= end) {
		const char *nul = memchr(p, '\0', (size_t)(end - p));
		const char *stop = nul != NULL ? nul : end;
		g_autofree char *part = g_strndup(p, (gsize)(stop - p));
		g_autofree char *name = NULL;
		char *source = part;

		if (first)
			name = g_strdup("main");
		else {
			char *nl = strchr(part, '\n');

			if (nl != NULL)
				*nl = '\0';
			name = g_strdup(part);
			source = nl != NULL ? nl + 1 : part + strlen(part);
		}
		first = FALSE;
		if (!template_set_add(set, name, source, NULL, &error)) {
			g_clear_error(&error);
			return 0;
		}
		if (nul == NULL)
			break;
		p = nul + 1;
	}
	if (!template_set_check(set, TRUE, &error)) {
		g_clear_error(&error);
		return 0;
	}
	if (!template_render(set, "main", &ctx, 1, TEMPLATE_ESCAPE_HTML, out,
	    missing, &error))
		g_clear_error(&error);
	g_string_truncate(out, 0);
	if (!template_render(set, "main", &ctx, 1, TEMPLATE_ESCAPE_NONE, out,
	    NULL, &error))
		g_clear_error(&error);
	return 0;
}

#ifndef FUZZ_REPLAY
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_template(data, size);
}
#endif
