/*
 * value.c - the data tree that templates render: null, bool, number,
 * string, list and map values, reference counted.
 *
 * Design: a value is one allocation holding its kind and payload. Lists are
 * a growable array of item pointers. Maps are an array of entries in
 * insertion order (that order is what value_map_foreach walks); each entry
 * keeps its key's hash, so a lookup in a small map is a scan of integer
 * compares, and a map past MAP_INDEX_MIN entries also keeps an
 * open-addressing index of entry numbers, rebuilt as it grows. A 64-bit
 * filter of the keys' hashes answers most misses at once: the template
 * engine looks a name up in several maps of a context stack, and most of
 * those lookups miss.
 *
 * What must stay true:
 * - The reference count is only touched with g_atomic_int_*; everything
 *   else is written only while one thread builds the tree. Lookups, the
 *   foreach walk and value_to_text never allocate or mutate, so a finished
 *   tree may be read from any number of threads.
 * - value_hash_key() is the one hash of map keys: the template engine uses
 *   it to hash names at compile time and calls value_map_get_hashed().
 * - A string value owns a NUL-terminated copy and knows its length.
 */
#include <math.h>
#include <string.h>

#include "value.h"

#define MAP_INDEX_MIN 8		/* maps larger than this get a hash index */

struct value_entry {
	char *key;
	gsize len;
	guint hash;
	struct value *v;
};

struct value {
	gint ref;
	enum value_kind kind;
	guint n;		/* list items or map entries */
	guint cap;
	union {
		gboolean b;
		double d;
		struct {
			char *s;
			gsize len;
		} str;
		struct value **items;
		struct {
			struct value_entry *e;
			guint32 *index;	/* entry number + 1, 0 is empty */
			guint mask;	/* index size - 1, 0 when no index */
			guint64 bloom;	/* bit hash % 64 set for every key */
		} map;
	} u;
};

/* value_alloc - a new value of KIND with one reference */
static struct value *
value_alloc(enum value_kind kind)
{
	struct value *v;

	v = g_new0(struct value, 1);
	v->ref = 1;
	v->kind = kind;
	return v;
}

struct value *
value_new_null(void)
{
	return value_alloc(VALUE_NULL);
}

struct value *
value_new_bool(gboolean b)
{
	struct value *v = value_alloc(VALUE_BOOL);

	v->u.b = b ? TRUE : FALSE;
	return v;
}

struct value *
value_new_number(double d)
{
	struct value *v = value_alloc(VALUE_NUMBER);

	v->u.d = d;
	return v;
}

/* value_new_string_len - a string value copying LEN bytes of S (LEN < 0:
 * up to its NUL) */
struct value *
value_new_string_len(const char *s, gssize len)
{
	struct value *v = value_alloc(VALUE_STRING);

	if (s == NULL)
		s = "";
	if (len < 0)
		len = strlen(s);
	v->u.str.s = g_strndup(s, len);
	v->u.str.len = len;
	return v;
}

struct value *
value_new_string(const char *s)
{
	return value_new_string_len(s, -1);
}

/* value_new_string_take - a string value owning S, a g_malloc'd string */
struct value *
value_new_string_take(char *s)
{
	struct value *v = value_alloc(VALUE_STRING);

	if (s == NULL)
		s = g_strdup("");
	v->u.str.s = s;
	v->u.str.len = strlen(s);
	return v;
}

struct value *
value_new_list(void)
{
	return value_alloc(VALUE_LIST);
}

struct value *
value_new_map(void)
{
	return value_alloc(VALUE_MAP);
}

/* value_ref - take one more reference to V (NULL passes through) */
struct value *
value_ref(struct value *v)
{
	if (v != NULL)
		g_atomic_int_inc(&v->ref);
	return v;
}

/* value_unref - drop a reference; the last one frees V and its children */
void
value_unref(struct value *v)
{
	guint i;

	if (v == NULL || !g_atomic_int_dec_and_test(&v->ref))
		return;
	switch (v->kind) {
	case VALUE_STRING:
		g_free(v->u.str.s);
		break;
	case VALUE_LIST:
		for (i = 0; i < v->n; i++)
			value_unref(v->u.items[i]);
		g_free(v->u.items);
		break;
	case VALUE_MAP:
		for (i = 0; i < v->n; i++) {
			g_free(v->u.map.e[i].key);
			value_unref(v->u.map.e[i].v);
		}
		g_free(v->u.map.e);
		g_free(v->u.map.index);
		break;
	default:
		break;
	}
	g_free(v);
}

enum value_kind
value_kind(const struct value *v)
{
	return v == NULL ? VALUE_NULL : v->kind;
}

gboolean
value_bool(const struct value *v)
{
	g_return_val_if_fail(v != NULL && v->kind == VALUE_BOOL, FALSE);
	return v->u.b;
}

double
value_number(const struct value *v)
{
	g_return_val_if_fail(v != NULL && v->kind == VALUE_NUMBER, 0.0);
	return v->u.d;
}

const char *
value_string(const struct value *v)
{
	g_return_val_if_fail(v != NULL && v->kind == VALUE_STRING, NULL);
	return v->u.str.s;
}

/* value_truthy - Mustache truth, see value.h */
gboolean
value_truthy(const struct value *v)
{
	if (v == NULL)
		return FALSE;
	switch (v->kind) {
	case VALUE_NULL:
		return FALSE;
	case VALUE_BOOL:
		return v->u.b;
	case VALUE_STRING:
		return v->u.str.len > 0;
	case VALUE_LIST:
		return v->n > 0;
	default:
		return TRUE;
	}
}

/* value_append_integer - append the decimal digits of N */
static void
value_append_integer(GString *out, long long n)
{
	char buf[24];
	char *p = buf + sizeof(buf);
	unsigned long long u;

	u = n < 0 ? 0ULL - (unsigned long long)n : (unsigned long long)n;
	do {
		*--p = '0' + u % 10;
		u /= 10;
	} while (u != 0);
	if (n < 0)
		*--p = '-';
	g_string_append_len(out, p, buf + sizeof(buf) - p);
}

/* value_append_number - append the shortest decimal form of D that reads
 * back as D. Whole numbers below 2^53 print as integers; otherwise %.15g is
 * tried first (it is the shortest whenever any form of 15 digits or fewer
 * reads back, since %g drops trailing zeros), then 16 and 17 digits. */
static void
value_append_number(GString *out, double d)
{
	static const char *const formats[] = { "%.15g", "%.16g", "%.17g" };
	char buf[G_ASCII_DTOSTR_BUF_SIZE];
	guint i;

	if (d == 0.0) {
		g_string_append_c(out, '0');	/* and -0 too */
		return;
	}
	if (fabs(d) < 9007199254740992.0 && d == floor(d)) {
		value_append_integer(out, (long long)d);
		return;
	}
	for (i = 0; i < G_N_ELEMENTS(formats); i++) {
		g_ascii_formatd(buf, sizeof(buf), formats[i], d);
		if (i + 1 == G_N_ELEMENTS(formats) ||
		    g_ascii_strtod(buf, NULL) == d)
			break;
	}
	g_string_append(out, buf);
}

/* value_to_text - append what a variable tag prints, see value.h */
void
value_to_text(const struct value *v, GString *out)
{
	if (v == NULL)
		return;
	switch (v->kind) {
	case VALUE_STRING:
		g_string_append_len(out, v->u.str.s, v->u.str.len);
		break;
	case VALUE_NUMBER:
		value_append_number(out, v->u.d);
		break;
	case VALUE_BOOL:
		g_string_append(out, v->u.b ? "true" : "false");
		break;
	default:
		break;
	}
}

/* value_list_append - append ITEM to LIST, taking its reference */
void
value_list_append(struct value *list, struct value *item)
{
	g_return_if_fail(list != NULL && list->kind == VALUE_LIST);
	if (list->n == list->cap) {
		list->cap = list->cap ? list->cap * 2 : 4;
		list->u.items = g_renew(struct value *, list->u.items,
		    list->cap);
	}
	list->u.items[list->n++] = item != NULL ? item : value_new_null();
}

guint
value_list_length(const struct value *list)
{
	g_return_val_if_fail(list != NULL && list->kind == VALUE_LIST, 0);
	return list->n;
}

struct value *
value_list_index(const struct value *list, guint i)
{
	g_return_val_if_fail(list != NULL && list->kind == VALUE_LIST, NULL);
	return i < list->n ? list->u.items[i] : NULL;
}

/* value_hash_key - the hash of a map key of LEN bytes (FNV-1a) */
guint
value_hash_key(const char *key, gsize len)
{
	guint32 h = 2166136261u;
	gsize i;

	for (i = 0; i < len; i++) {
		h ^= (guchar)key[i];
		h *= 16777619u;
	}
	return h;
}

/* value_map_reindex - rebuild MAP's index with room for twice its entries */
static void
value_map_reindex(struct value *map)
{
	guint size = 16, i, j;

	while (size < map->n * 2)
		size *= 2;
	g_free(map->u.map.index);
	map->u.map.index = g_new0(guint32, size);
	map->u.map.mask = size - 1;
	for (i = 0; i < map->n; i++) {
		j = map->u.map.e[i].hash & map->u.map.mask;
		while (map->u.map.index[j] != 0)
			j = (j + 1) & map->u.map.mask;
		map->u.map.index[j] = i + 1;
	}
}

/* value_key_is - whether entry E holds the key KEY of LEN bytes, HASH */
static inline gboolean
value_key_is(const struct value_entry *e, const char *key, gsize len,
    guint hash)
{
	return e->hash == hash && e->len == len &&
	    memcmp(e->key, key, len) == 0;
}

/* value_map_find - the entry number of KEY in MAP, or -1 */
static inline gint
value_map_find(const struct value *map, const char *key, gsize len,
    guint hash)
{
	const struct value_entry *e = map->u.map.e;
	guint i, j, mask = map->u.map.mask;

	if (mask == 0) {
		for (i = 0; i < map->n; i++)
			if (value_key_is(&e[i], key, len, hash))
				return i;
		return -1;
	}
	for (j = hash & mask; map->u.map.index[j] != 0; j = (j + 1) & mask) {
		i = map->u.map.index[j] - 1;
		if (value_key_is(&e[i], key, len, hash))
			return i;
	}
	return -1;
}

/* value_map_set - set KEY in MAP to V, taking V's reference; a key set
 * again keeps its first position */
void
value_map_set(struct value *map, const char *key, struct value *v)
{
	struct value_entry *e;
	gsize len;
	guint hash;
	gint i;

	g_return_if_fail(map != NULL && map->kind == VALUE_MAP && key != NULL);
	if (v == NULL)
		v = value_new_null();
	len = strlen(key);
	hash = value_hash_key(key, len);
	i = value_map_find(map, key, len, hash);
	if (i >= 0) {
		value_unref(map->u.map.e[i].v);
		map->u.map.e[i].v = v;
		return;
	}
	if (map->n == map->cap) {
		map->cap = map->cap ? map->cap * 2 : 8;
		map->u.map.e = g_renew(struct value_entry, map->u.map.e,
		    map->cap);
	}
	map->u.map.bloom |= G_GUINT64_CONSTANT(1) << (hash & 63);
	e = &map->u.map.e[map->n++];
	e->key = g_strndup(key, len);
	e->len = len;
	e->hash = hash;
	e->v = v;
	if (map->n > MAP_INDEX_MIN && map->n * 2 > map->u.map.mask + 1)
		value_map_reindex(map);
	else if (map->u.map.mask != 0) {
		guint j = hash & map->u.map.mask;

		while (map->u.map.index[j] != 0)
			j = (j + 1) & map->u.map.mask;
		map->u.map.index[j] = map->n;
	}
}

/* value_map_get_hashed - look KEY (LEN bytes, HASH) up in MAP; borrowed */
struct value *
value_map_get_hashed(const struct value *map, const char *key, gsize len,
    guint hash)
{
	gint i;

	if (map == NULL || map->kind != VALUE_MAP ||
	    (map->u.map.bloom & (G_GUINT64_CONSTANT(1) << (hash & 63))) == 0)
		return NULL;
	i = value_map_find(map, key, len, hash);
	return i < 0 ? NULL : map->u.map.e[i].v;
}

/* value_map_get - look KEY up in MAP; borrowed, NULL if absent */
struct value *
value_map_get(const struct value *map, const char *key)
{
	gsize len;

	if (key == NULL)
		return NULL;
	len = strlen(key);
	return value_map_get_hashed(map, key, len, value_hash_key(key, len));
}

guint
value_map_size(const struct value *map)
{
	g_return_val_if_fail(map != NULL && map->kind == VALUE_MAP, 0);
	return map->n;
}

/* value_map_foreach - call FN for every entry of MAP in insertion order */
void
value_map_foreach(const struct value *map, value_map_fn fn,
    gpointer user_data)
{
	guint i;

	g_return_if_fail(map != NULL && map->kind == VALUE_MAP);
	for (i = 0; i < map->n; i++)
		fn(map->u.map.e[i].key, map->u.map.e[i].v, user_data);
}

/* value_lookup_path - follow DOTTED from V one map at a time; "." is V */
struct value *
value_lookup_path(const struct value *v, const char *dotted)
{
	const char *p, *dot;
	gsize len;

	if (v == NULL || dotted == NULL)
		return NULL;
	if (strcmp(dotted, ".") == 0)
		return (struct value *)v;
	for (p = dotted;; p = dot + 1) {
		dot = strchr(p, '.');
		len = dot != NULL ? (gsize)(dot - p) : strlen(p);
		v = value_map_get_hashed(v, p, len, value_hash_key(p, len));
		if (v == NULL || dot == NULL)
			return (struct value *)v;
	}
}
