/*
 * segment_choice.c - the choices of an attribute from the list's
 * segments, and the moves between segments a change made (see
 * segment_choice.h).
 *
 * Must stay true: a segment whose expression does not compile offers
 * nothing (config.c has checked them all at load); values are compared
 * exactly, as the segment query compares them.
 */
#include <string.h>

#include "herald.h"
#include "segment.h"
#include "segment_choice.h"
#include "store_segment.h"

/* segment_choice_free - an element of segment_choices' array */
static void
segment_choice_free(gpointer p)
{
	struct segment_choice *c = p;

	g_free(c->value);
	g_free(c->label);
	g_free(c);
}

/* segment_choice_add - VALUE into OUT unless there, labelled with DESC */
static void
segment_choice_add(GPtrArray *out, const char *value, const char *desc)
{
	struct segment_choice *c;
	guint i;

	for (i = 0; i < out->len; i++)
		if (strcmp(((struct segment_choice *)g_ptr_array_index(out,
		    i))->value, value) == 0)
			return;
	c = g_new0(struct segment_choice, 1);
	c->value = g_strdup(value);
	c->label = desc != NULL && *desc != '\0' ?
	    g_strdup_printf("%s: %s", value, desc) : g_strdup(value);
	g_ptr_array_add(out, c);
}

/* segment_choice_walk - the values N (a normalised tree) tests KEY
 * against, with = or in, not negated, into OUT */
static void
segment_choice_walk(const struct segment_node *n, const char *key,
    const char *desc, GPtrArray *out)
{
	guint i;

	if (n->kind == SEG_AND || n->kind == SEG_OR) {
		for (i = 0; i < n->kids->len; i++)
			segment_choice_walk(g_ptr_array_index(n->kids, i), key,
			    desc, out);
		return;
	}
	if (n->field != SEG_FIELD_ATTR || n->neg || n->key == NULL ||
	    g_ascii_strcasecmp(n->key, key) != 0 || n->values == NULL ||
	    (n->kind == SEG_CMP && n->op != SEG_OP_EQ) ||
	    (n->kind == SEG_IN && n->negate) ||
	    (n->kind != SEG_CMP && n->kind != SEG_IN))
		return;
	for (i = 0; i < n->values->len; i++)
		segment_choice_add(out, g_ptr_array_index(n->values, i), desc);
}

/* segment_choices - see segment_choice.h */
GPtrArray *
segment_choices(const struct list_config *list, const char *key)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(segment_choice_free);
	guint i;

	for (i = 0; list->segments != NULL && i < list->segments->len; i++) {
		const struct segment_def *d = g_ptr_array_index(list->segments,
		    i);
		g_autoptr(segment) seg = segment_compile(d->where, NULL);

		if (seg != NULL)
			segment_choice_walk(seg->root, key, d->description, out);
	}
	return out;
}

/* segment_choice_ok - see segment_choice.h */
gboolean
segment_choice_ok(GPtrArray *choices, const char *value)
{
	guint i;

	if (choices->len == 0)
		return TRUE;
	for (i = 0; i < choices->len; i++)
		if (strcmp(((struct segment_choice *)g_ptr_array_index(choices,
		    i))->value, value) == 0)
			return TRUE;
	return FALSE;
}

/* segment_memberships - see segment_choice.h */
GArray *
segment_memberships(struct store *store, const struct list_config *list,
    gint64 list_id, gint64 sub_id, GError **error)
{
	GArray *in = g_array_new(FALSE, TRUE, sizeof(gboolean));
	guint i;

	for (i = 0; list->segments != NULL && i < list->segments->len; i++) {
		const struct segment_def *d = g_ptr_array_index(list->segments,
		    i);
		g_autoptr(segment) seg = segment_compile(d->where, NULL);
		int m = seg != NULL ? store_segment_member(store, list_id, seg,
		    sub_id, error) : 0;
		gboolean yes = m == 1;

		if (m < 0) {
			g_array_unref(in);
			return NULL;
		}
		g_array_append_val(in, yes);
	}
	return in;
}

/* segment_moves_record - see segment_choice.h */
gboolean
segment_moves_record(struct store *store, const struct list_config *list,
    gint64 list_id, gint64 sub_id, GArray *before, const char *channel,
    guint *moves, GError **error)
{
	g_autoptr(GArray) now = segment_memberships(store, list, list_id,
	    sub_id, error);
	guint i, n = 0;

	if (now == NULL)
		return FALSE;
	for (i = 0; i < now->len && i < before->len; i++) {
		gboolean was = g_array_index(before, gboolean, i);
		gboolean is = g_array_index(now, gboolean, i);
		const struct segment_def *d = g_ptr_array_index(list->segments,
		    i);

		if (was == is)
			continue;
		if (!store_event(store, list_id, sub_id, is ? "segment-joined" :
		    "segment-left", channel, d->name, error))
			return FALSE;
		n++;
	}
	if (moves != NULL)
		*moves = n;
	return TRUE;
}
