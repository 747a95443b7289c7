/*
 * value.h - the data tree that announcements, subscribers and the
 * rendering context are made of: null, bool, number, string, list, map.
 *
 * Values are reference counted and immutable once shared between threads:
 * build a tree in one thread, then only read it (value_ref/unref are
 * atomic, lookups do not allocate). Strings are UTF-8 and owned by the
 * value. Map keys keep their insertion order (value_map_foreach walks it).
 */
#ifndef HERALD_VALUE_H
#define HERALD_VALUE_H

#include <glib.h>

enum value_kind {
	VALUE_NULL,
	VALUE_BOOL,
	VALUE_NUMBER,
	VALUE_STRING,
	VALUE_LIST,
	VALUE_MAP,
};

struct value;

struct value *value_new_null(void);
struct value *value_new_bool(gboolean b);
struct value *value_new_number(double d);
struct value *value_new_string(const char *s);
struct value *value_new_string_len(const char *s, gssize len);
struct value *value_new_string_take(char *s);	/* takes a g_malloc'd string */
struct value *value_new_list(void);
struct value *value_new_map(void);

struct value *value_ref(struct value *v);
void value_unref(struct value *v);

enum value_kind value_kind(const struct value *v);
gboolean value_bool(const struct value *v);		/* VALUE_BOOL only */
double value_number(const struct value *v);		/* VALUE_NUMBER only */
const char *value_string(const struct value *v);	/* VALUE_STRING only */

/* value_truthy - Mustache truth: false for null, false, "" , an empty
 * list; true otherwise (a map, a number, even 0, is true). */
gboolean value_truthy(const struct value *v);

/* value_to_text - append the text a variable tag prints: a string as is,
 * a number as the shortest form that reads back ("85", "1.21"), true/false
 * as "true"/"false", null as nothing; lists and maps print nothing. */
void value_to_text(const struct value *v, GString *out);

/* lists: the list takes the item's reference */
void value_list_append(struct value *list, struct value *item);
guint value_list_length(const struct value *list);
struct value *value_list_index(const struct value *list, guint i); /* borrowed */

/* maps: the map takes the value's reference; setting a key again replaces it */
void value_map_set(struct value *map, const char *key, struct value *v);
struct value *value_map_get(const struct value *map, const char *key); /* borrowed, NULL if absent */
guint value_map_size(const struct value *map);
/* value_map_get_hashed - value_map_get for a key of LEN bytes whose
 * value_hash_key() is HASH: the template engine hashes each name once,
 * when it compiles a template, so rendering never hashes. */
guint value_hash_key(const char *key, gsize len);
struct value *value_map_get_hashed(const struct value *map, const char *key,
    gsize len, guint hash); /* borrowed, NULL if absent */
typedef void (*value_map_fn)(const char *key, struct value *v, gpointer user_data);
void value_map_foreach(const struct value *map, value_map_fn fn, gpointer user_data);

/* value_lookup_path - follow a dotted name ("speaker.org") from V; NULL if
 * any step is missing. "." is V itself. */
struct value *value_lookup_path(const struct value *v, const char *dotted);

/* g_autoptr needs a type name: this typedef exists for it alone */
typedef struct value value;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(value, value_unref)

#endif
