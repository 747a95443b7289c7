/*
 * test-value.c - the value tree: maps keep insertion order through
 * replacement and past the size where they grow a hash index, lookups by
 * dotted path, Mustache truth, and reference counting.
 */
#include <string.h>

#include "value.h"

/* test_collect - value_map_foreach callback appending "key=text," */
static void
test_collect(const char *key, struct value *v, gpointer user_data)
{
	GString *out = user_data;

	g_string_append_printf(out, "%s=", key);
	value_to_text(v, out);
	g_string_append_c(out, ',');
}

static void
test_map_order(void)
{
	g_autoptr(value) m = value_new_map();
	g_autoptr(GString) out = g_string_new(NULL);

	value_map_set(m, "zeta", value_new_number(1));
	value_map_set(m, "alpha", value_new_string("a"));
	value_map_set(m, "mid", value_new_bool(FALSE));
	value_map_set(m, "zeta", value_new_number(2));
	g_assert_cmpuint(value_map_size(m), ==, 3);
	value_map_foreach(m, test_collect, out);
	g_assert_cmpstr(out->str, ==, "zeta=2,alpha=a,mid=false,");
	g_assert_null(value_map_get(m, "zet"));
	g_assert_null(value_map_get(m, "zetaa"));
}

static void
test_map_large(void)
{
	g_autoptr(value) m = value_new_map();
	g_autoptr(GString) out = g_string_new(NULL);
	char key[16];
	guint i;

	for (i = 0; i < 1000; i++) {
		g_snprintf(key, sizeof(key), "k%u", i);
		value_map_set(m, key, value_new_number(i));
	}
	for (i = 0; i < 1000; i += 7) {
		g_snprintf(key, sizeof(key), "k%u", i);
		value_map_set(m, key, value_new_number(i * 2));
	}
	g_assert_cmpuint(value_map_size(m), ==, 1000);
	for (i = 0; i < 1000; i++) {
		struct value *v;

		g_snprintf(key, sizeof(key), "k%u", i);
		v = value_map_get(m, key);
		g_assert_nonnull(v);
		g_assert_cmpfloat(value_number(v), ==, i % 7 ? i : i * 2);
		g_assert_true(v == value_map_get_hashed(m, key, strlen(key),
		    value_hash_key(key, strlen(key))));
	}
	g_assert_null(value_map_get(m, "k1000"));
	value_map_foreach(m, test_collect, out);
	g_assert_true(g_str_has_prefix(out->str, "k0=0,k1=1,k2=2,"));
	g_assert_true(g_str_has_suffix(out->str, ",k998=998,k999=999,"));
}

static void
test_lookup_path(void)
{
	g_autoptr(value) root = value_new_map();
	struct value *venue = value_new_map();

	value_map_set(venue, "city", value_new_string("Chicago"));
	value_map_set(root, "venue", venue);
	value_map_set(root, "a.b", value_new_string("flat"));
	g_assert_true(value_lookup_path(root, ".") == root);
	g_assert_true(value_lookup_path(root, "venue") == venue);
	g_assert_cmpstr(value_string(value_lookup_path(root, "venue.city")),
	    ==, "Chicago");
	g_assert_null(value_lookup_path(root, "venue.city.name"));
	g_assert_null(value_lookup_path(root, "venue.town"));
	g_assert_null(value_lookup_path(root, "a.b"));
}

static void
test_truthy(void)
{
	g_autoptr(value) n = value_new_null();
	g_autoptr(value) f = value_new_bool(FALSE);
	g_autoptr(value) t = value_new_bool(TRUE);
	g_autoptr(value) zero = value_new_number(0);
	g_autoptr(value) empty = value_new_string("");
	g_autoptr(value) s = value_new_string_len("ab\0c", 4);
	g_autoptr(value) l = value_new_list();
	g_autoptr(value) m = value_new_map();

	g_assert_false(value_truthy(NULL));
	g_assert_false(value_truthy(n));
	g_assert_false(value_truthy(f));
	g_assert_true(value_truthy(t));
	g_assert_true(value_truthy(zero));
	g_assert_false(value_truthy(empty));
	g_assert_true(value_truthy(s));
	g_assert_false(value_truthy(l));
	g_assert_true(value_truthy(m));
	value_list_append(l, value_new_null());
	g_assert_true(value_truthy(l));
	g_assert_cmpuint(value_list_length(l), ==, 1);
	g_assert_null(value_list_index(l, 1));
}

static void
test_refcount(void)
{
	struct value *shared = value_new_string("kept");
	struct value *a = value_new_list(), *b = value_new_map();

	value_list_append(a, value_ref(shared));
	value_map_set(b, "s", value_ref(shared));
	value_unref(a);
	value_unref(b);
	g_assert_cmpstr(value_string(shared), ==, "kept");
	value_unref(shared);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/value/map-order", test_map_order);
	g_test_add_func("/value/map-large", test_map_large);
	g_test_add_func("/value/lookup-path", test_lookup_path);
	g_test_add_func("/value/truthy", test_truthy);
	g_test_add_func("/value/refcount", test_refcount);
	return g_test_run();
}
