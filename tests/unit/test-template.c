/*
 * test-template.c - unit tests of the Mustache engine (template.c) and the
 * value tree it renders.
 *
 * Every case of the Mustache spec files under $HERALD_SPEC_DIR (or
 * $TOP/../shared/spec/mustache) becomes one test, /spec/<file>/<case>,
 * rendered with TEMPLATE_ESCAPE_HTML and missing partials allowed, as the
 * spec wants; without the spec one /spec/mustache test is skipped, saying
 * what is missing. herald's own cases in the same format, written here
 * (the .json files in tests/mustache), run as /herald/<file>/<case> on any clone.
 * The tests after them pin herald's own rules: error messages name
 * FILE:LINE:COL, the MISSING list, escaping modes, number printing, the
 * recursion guard, and identical output from concurrent renders.
 *
 * Run from the top of the repository; prints TAP with --tap.
 */
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "herald.h"
#include "template.h"
#include "value.h"

#define TEST_MAIN "spec-template"

struct spec_case {
	char *name;
	char *template;
	char *expected;
	JsonNode *data;
	JsonObject *partials;	/* may be NULL */
};

/* herald_error_quark - the error domain. herald.c defines it for the
 * program; this weak copy lets the test also link without herald.c, and
 * gives way to that one when the Makefile links every module. */
__attribute__((weak)) GQuark
herald_error_quark(void)
{
	return g_quark_from_static_string("herald-error");
}

/* test_value_from_json - the value tree for a JSON node */
static struct value *
test_value_from_json(JsonNode *node)
{
	struct value *v;
	JsonObject *obj;
	JsonArray *arr;
	GList *members, *l;
	guint i;

	switch (json_node_get_node_type(node)) {
	case JSON_NODE_OBJECT:
		v = value_new_map();
		obj = json_node_get_object(node);
		members = json_object_get_members(obj);
		for (l = members; l != NULL; l = l->next)
			value_map_set(v, l->data, test_value_from_json(
			    json_object_get_member(obj, l->data)));
		g_list_free(members);
		return v;
	case JSON_NODE_ARRAY:
		v = value_new_list();
		arr = json_node_get_array(node);
		for (i = 0; i < json_array_get_length(arr); i++)
			value_list_append(v, test_value_from_json(
			    json_array_get_element(arr, i)));
		return v;
	case JSON_NODE_NULL:
		return value_new_null();
	default:
		break;
	}
	switch (json_node_get_value_type(node)) {
	case G_TYPE_BOOLEAN:
		return value_new_bool(json_node_get_boolean(node));
	case G_TYPE_INT64:
		return value_new_number((double)json_node_get_int(node));
	case G_TYPE_DOUBLE:
		return value_new_number(json_node_get_double(node));
	case G_TYPE_STRING:
		return value_new_string(json_node_get_string(node));
	default:
		g_assert_not_reached();
	}
}

/* spec_case_free - free a case */
static void
spec_case_free(gpointer data)
{
	struct spec_case *c = data;

	g_free(c->name);
	g_free(c->template);
	g_free(c->expected);
	json_node_unref(c->data);
	if (c->partials != NULL)
		json_object_unref(c->partials);
	g_free(c);
}

/* test_spec_case - render one spec case and compare */
static void
test_spec_case(gconstpointer data)
{
	const struct spec_case *c = data;
	g_autoptr(template_set) set = template_set_new();
	g_autoptr(value) ctx = test_value_from_json(c->data);
	g_autoptr(GString) out = g_string_new(NULL);
	g_autoptr(GError) error = NULL;
	GList *members = NULL, *l;

	if (c->partials != NULL)
		members = json_object_get_members(c->partials);
	for (l = members; l != NULL; l = l->next) {
		g_assert_true(template_set_add(set, l->data,
		    json_object_get_string_member(c->partials, l->data), NULL,
		    &error));
		g_assert_no_error(error);
	}
	g_list_free(members);
	g_assert_true(template_set_add(set, TEST_MAIN, c->template, NULL,
	    &error));
	g_assert_no_error(error);
	g_assert_true(template_set_check(set, TRUE, &error));
	g_assert_no_error(error);
	g_assert_true(template_render(set, TEST_MAIN, &ctx, 1,
	    TEMPLATE_ESCAPE_HTML, out, NULL, &error));
	g_assert_no_error(error);
	g_assert_cmpstr(out->str, ==, c->expected);
}

/* test_add_spec_file - register a test for every case in PATH, named
 * /PREFIX/FILE/CASE */
static void
test_add_spec_file(const char *path, const char *prefix, GHashTable *seen)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) error = NULL;
	g_autofree char *base = g_path_get_basename(path);
	JsonArray *tests;
	JsonObject *t;
	struct spec_case *c;
	guint i, k;

	if (!json_parser_load_from_file(parser, path, &error))
		g_error("%s: %s", path, error->message);
	*strrchr(base, '.') = '\0';
	tests = json_object_get_array_member(
	    json_node_get_object(json_parser_get_root(parser)), "tests");
	for (i = 0; i < json_array_get_length(tests); i++) {
		g_autofree char *name = NULL;
		char *testpath;

		t = json_array_get_object_element(tests, i);
		c = g_new0(struct spec_case, 1);
		c->name = g_strdup(json_object_get_string_member(t, "name"));
		c->template = g_strdup(json_object_get_string_member(t,
		    "template"));
		c->expected = g_strdup(json_object_get_string_member(t,
		    "expected"));
		c->data = json_node_copy(json_object_get_member(t, "data"));
		if (json_object_has_member(t, "partials"))
			c->partials = json_object_ref(
			    json_object_get_object_member(t, "partials"));
		name = g_strdelimit(g_strdup(c->name), "/", '|');
		testpath = g_strdup_printf("/%s/%s/%s", prefix, base, name);
		for (k = 2; g_hash_table_contains(seen, testpath); k++) {
			g_free(testpath);
			testpath = g_strdup_printf("/%s/%s/%s (%u)", prefix,
			    base, name, k);
		}
		g_hash_table_add(seen, testpath);
		g_test_add_data_func_full(testpath, c, test_spec_case,
		    spec_case_free);
	}
}

/* test_spec_missing - the visible SKIP of a bare clone: names what is
 * missing and how to provide it */
static void
test_spec_missing(gconstpointer data)
{
	g_test_skip((const char *)data);
}

/* test_add_spec_dir - register every spec file's cases in DIR, in name
 * order, under PREFIX ("spec" or "herald") */
static void
test_add_spec_dir(const char *dir, const char *prefix, GHashTable *seen)
{
	g_autoptr(GDir) d = NULL;
	g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) error = NULL;
	const char *entry;
	guint i;

	d = g_dir_open(dir, 0, &error);
	if (d == NULL)
		g_error("spec directory: %s", error->message);
	while ((entry = g_dir_read_name(d)) != NULL)
		if (g_str_has_suffix(entry, ".json"))
			g_ptr_array_add(files, g_build_filename(dir, entry,
			    NULL));
	g_ptr_array_sort(files, (GCompareFunc)g_strcmp0);
	if (files->len == 0)
		g_error("no spec files in %s", dir);
	for (i = 0; i < files->len; i++)
		test_add_spec_file(g_ptr_array_index(files, i), prefix,
		    seen);
}

/* test_add_spec - the Mustache spec from $HERALD_SPEC_DIR, else
 * $TOP/../shared/spec/mustache; when neither is there (a bare clone), one
 * skipped test that says so. herald's own cases (tests/mustache, in the
 * spec's format) always run. */
static void
test_add_spec(GHashTable *seen)
{
	const char *env = g_getenv("HERALD_SPEC_DIR");
	const char *top = g_getenv("TOP") != NULL ? g_getenv("TOP") : ".";
	g_autofree char *dir = NULL, *own = NULL;

	dir = env != NULL ? g_strdup(env) :
	    g_build_filename(top, "..", "shared", "spec", "mustache", NULL);
	if (g_file_test(dir, G_FILE_TEST_IS_DIR))
		test_add_spec_dir(dir, "spec", seen);
	else if (env != NULL)
		g_error("HERALD_SPEC_DIR=%s: no such directory", env);
	else
		g_test_add_data_func_full("/spec/mustache", g_strdup_printf(
		    "Mustache spec not found at %s (set HERALD_SPEC_DIR); "
		    "herald's own cases in tests/mustache still run", dir),
		    test_spec_missing, g_free);
	own = g_build_filename(top, "tests", "mustache", NULL);
	test_add_spec_dir(own, "herald", seen);
}

/* test_render - compile SOURCE (and PARTIALS, name/source pairs ending in
 * NULL) and render it against one map built from JSON */
static char *
test_render(const char *source, const char *const *partials,
    const char *json, enum template_escape escape, GPtrArray *missing)
{
	g_autoptr(template_set) set = template_set_new();
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(value) ctx = NULL;
	g_autoptr(GError) error = NULL;
	GString *out = g_string_new(NULL);

	g_assert_true(json_parser_load_from_data(parser, json, -1, &error));
	ctx = test_value_from_json(json_parser_get_root(parser));
	for (; partials != NULL && partials[0] != NULL; partials += 2)
		g_assert_true(template_set_add(set, partials[0], partials[1],
		    NULL, &error));
	g_assert_true(template_set_add(set, "t", source, "t.mustache",
	    &error));
	g_assert_true(template_set_check(set, FALSE, &error));
	g_assert_no_error(error);
	g_assert_true(template_render(set, "t", &ctx, 1, escape, out,
	    missing, &error));
	g_assert_no_error(error);
	return g_string_free(out, FALSE);
}

/* test_compile_error - SOURCE must fail to compile with MESSAGE */
static void
test_compile_error(const char *source, const char *message)
{
	g_autoptr(template_set) set = template_set_new();
	g_autoptr(GError) error = NULL;

	g_assert_false(template_set_add(set, "t", source, "ann/t.mustache",
	    &error));
	g_assert_error(error, HERALD_ERROR, HERALD_ERROR_DATA);
	g_assert_cmpstr(error->message, ==, message);
	g_assert_false(template_set_has(set, "t"));
}

static void
test_errors_compile(void)
{
	test_compile_error("Hi\n  {{#speakers}}\n{{name}}\n",
	    "ann/t.mustache:2:3: 'speakers' is never closed");
	test_compile_error("{{#a}}\n {{#b}}{{/a}}\n",
	    "ann/t.mustache:2:8: 'a' closes 'b' opened at 2:2");
	test_compile_error("x\n\n{{/a}}", "ann/t.mustache:3:1: "
	    "'a' closed but never opened");
	test_compile_error("Dear {{name\nbye\n",
	    "ann/t.mustache:1:6: unclosed tag: no '}}'");
	test_compile_error("été {{=<% =}}",
	    "ann/t.mustache:1:5: bad delimiter tag: want two delimiters "
	    "without '='");
	test_compile_error("{{=<% %>=}}\n<%a.%>",
	    "ann/t.mustache:2:1: bad name 'a.'");
	test_compile_error("a {{ }} b", "ann/t.mustache:1:3: empty tag");
	test_compile_error("{{<p}}{{$b}}x{{/p}}",
	    "ann/t.mustache:1:14: 'p' closes 'b' opened at 1:7");
	test_compile_error("{{! multi\nline }}\n{{#a}}\n{{{b}}\n",
	    "ann/t.mustache:4:1: unclosed tag: no '}}}'");
}

static void
test_nesting_limit(void)
{
	g_autoptr(GString) deep = g_string_new(NULL);
	g_autoptr(template_set) set = template_set_new();
	g_autoptr(GError) error = NULL;
	guint i;

	for (i = 0; i < 100; i++)
		g_string_append(deep, "{{#a}}");
	for (i = 0; i < 100; i++)
		g_string_append(deep, "{{/a}}");
	g_assert_true(template_set_add(set, "t", deep->str, NULL, &error));
	g_assert_no_error(error);
	g_string_prepend(deep, "{{#a}}");
	g_string_append(deep, "{{/a}}");
	g_assert_false(template_set_add(set, "t", deep->str, NULL, &error));
	g_assert_cmpstr(error->message, ==,
	    "t:1:601: sections nested more than 100 deep");
}

/* sections nested over a list multiply what a render writes: 9 levels
 * over 10 items would write 10^9 copies; the render stops with an error
 * past 16 MB instead of filling the memory (found by fuzzing; without
 * the limit this test runs for minutes and gigabytes) */
static void
test_output_limit(void)
{
	g_autoptr(GString) t = g_string_new(NULL);
	g_autoptr(GString) out = g_string_new(NULL);
	g_autoptr(template_set) set = template_set_new();
	g_autoptr(GError) error = NULL;
	g_autoptr(value) ctx = value_new_map();
	struct value *list = value_new_list();
	guint i;

	alarm(60);	/* a regression fails (SIGALRM), never hangs the suite */
	for (i = 0; i < 10; i++)
		value_list_append(list, value_new_string("0123456789"));
	value_map_set(ctx, "l", list);
	for (i = 0; i < 9; i++)
		g_string_append(t, "{{#l}}");
	g_string_append(t, "{{.}}");
	for (i = 0; i < 9; i++)
		g_string_append(t, "{{/l}}");
	g_assert_true(template_set_add(set, "t", t->str, NULL, &error));
	g_assert_true(template_set_check(set, FALSE, &error));
	g_assert_false(template_render(set, "t", &ctx, 1,
	    TEMPLATE_ESCAPE_NONE, out, NULL, &error));
	g_assert_error(error, HERALD_ERROR, HERALD_ERROR_DATA);
	g_assert_nonnull(strstr(error->message, "the render is over 16 MB"));
	g_assert_cmpuint(out->len, <, 17 * 1024 * 1024 + 4096);
	alarm(0);
}

static void
test_add_dir(void)
{
	g_autoptr(template_set) set = template_set_new();
	g_autoptr(GError) error = NULL;
	g_autoptr(GString) out = g_string_new(NULL);
	g_autofree char *dir = g_dir_make_tmp("herald-tpl-XXXXXX", &error);
	g_autofree char *a = NULL, *b = NULL, *c = NULL;

	g_assert_no_error(error);
	a = g_build_filename(dir, "subject.mustache", NULL);
	b = g_build_filename(dir, "footer.mustache", NULL);
	c = g_build_filename(dir, "notes.txt", NULL);
	g_assert_true(g_file_set_contents(a, "Hi {{>footer}}", -1, NULL));
	g_assert_true(g_file_set_contents(b, "{{#x}}", -1, NULL));
	g_assert_true(g_file_set_contents(c, "{{", -1, NULL));
	g_assert_false(template_set_add_dir(set, dir, &error));
	g_assert_error(error, HERALD_ERROR, HERALD_ERROR_DATA);
	g_assert_true(g_str_has_suffix(error->message,
	    "/footer.mustache:1:1: 'x' is never closed"));
	g_clear_error(&error);
	g_assert_true(g_file_set_contents(b, "bye", -1, NULL));
	g_assert_true(template_set_add_dir(set, dir, &error));
	g_assert_true(template_set_has(set, "subject"));
	g_assert_false(template_set_has(set, "notes"));
	g_assert_true(template_set_check(set, FALSE, &error));
	g_assert_true(template_render(set, "subject", NULL, 0,
	    TEMPLATE_ESCAPE_NONE, out, NULL, &error));
	g_assert_cmpstr(out->str, ==, "Hi bye");
	g_unlink(a);
	g_unlink(b);
	g_unlink(c);
	g_rmdir(dir);
	g_assert_false(template_set_add_dir(set, dir, &error));
	g_assert_error(error, HERALD_ERROR, HERALD_ERROR_NOINPUT);
}

static void
test_errors_missing_partial(void)
{
	g_autoptr(template_set) set = template_set_new();
	g_autoptr(GError) error = NULL;
	g_autoptr(GString) out = g_string_new(NULL);

	g_assert_true(template_set_add(set, "t",
	    "Hello\n\n   {{> footer}}\n", "t.mustache", &error));
	g_assert_true(template_set_add(set, "u", "{{<base}}{{/base}}",
	    "u.mustache", &error));
	g_assert_false(template_render(set, "t", NULL, 0,
	    TEMPLATE_ESCAPE_NONE, out, NULL, &error));
	g_assert_error(error, HERALD_ERROR, HERALD_ERROR_SOFTWARE);
	g_clear_error(&error);

	g_assert_true(template_set_add(set, "base", "B", NULL, &error));
	g_assert_false(template_set_check(set, FALSE, &error));
	g_assert_error(error, HERALD_ERROR, HERALD_ERROR_DATA);
	g_assert_cmpstr(error->message, ==,
	    "t.mustache:3:4: no partial 'footer'");
	g_clear_error(&error);

	g_assert_true(template_set_check(set, TRUE, &error));
	g_assert_true(template_render(set, "t", NULL, 0,
	    TEMPLATE_ESCAPE_NONE, out, NULL, &error));
	g_assert_cmpstr(out->str, ==, "Hello\n\n");

	g_assert_true(template_set_add(set, "footer", "-- \nbye\n", NULL,
	    &error));
	g_assert_true(template_set_check(set, FALSE, &error));
	g_string_truncate(out, 0);
	g_assert_true(template_render(set, "t", NULL, 0,
	    TEMPLATE_ESCAPE_NONE, out, NULL, &error));
	g_assert_cmpstr(out->str, ==, "Hello\n\n   -- \n   bye\n");

	g_assert_false(template_render(set, "nope", NULL, 0,
	    TEMPLATE_ESCAPE_NONE, out, NULL, &error));
	g_assert_error(error, HERALD_ERROR, HERALD_ERROR_DATA);
}

static void
test_missing(void)
{
	g_autoptr(GPtrArray) missing = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *out = NULL;

	out = test_render("{{who}} {{#speakers}}{{name}} {{venue.city}}"
	    "{{/speakers}}{{^early}}late{{/early}} {{who}} {{.}} {{nil}}"
	    "{{venue.city}}{{venue.name}}",
	    NULL, "{\"speakers\": [{\"name\": \"A\"}, {\"name\": \"B\"}],"
	    " \"nil\": null, \"venue\": {\"name\": \"V\"}}",
	    TEMPLATE_ESCAPE_NONE, missing);
	g_assert_cmpstr(out, ==, " A B late   V");
	g_assert_cmpuint(missing->len, ==, 3);
	g_assert_cmpstr(g_ptr_array_index(missing, 0), ==, "who");
	g_assert_cmpstr(g_ptr_array_index(missing, 1), ==, "venue.city");
	g_assert_cmpstr(g_ptr_array_index(missing, 2), ==, "early");
}

static void
test_escape_modes(void)
{
	const char *json = "{\"x\": \"</a><script>&'\\\"\"}";
	g_autofree char *none = NULL, *html = NULL, *raw = NULL;

	none = test_render("{{x}}", NULL, json, TEMPLATE_ESCAPE_NONE, NULL);
	html = test_render("{{x}}", NULL, json, TEMPLATE_ESCAPE_HTML, NULL);
	raw = test_render("{{{x}}}{{&x}}", NULL, json, TEMPLATE_ESCAPE_HTML,
	    NULL);
	g_assert_cmpstr(none, ==, "</a><script>&'\"");
	g_assert_cmpstr(html, ==,
	    "&lt;/a&gt;&lt;script&gt;&amp;&#39;&quot;");
	g_assert_cmpstr(raw, ==, "</a><script>&'\"</a><script>&'\"");
}

/* test_number - what value_to_text prints for D */
static void
test_number(double d, const char *expected)
{
	g_autoptr(value) v = value_new_number(d);
	g_autoptr(GString) out = g_string_new(NULL);

	value_to_text(v, out);
	g_assert_cmpstr(out->str, ==, expected);
}

static void
test_value_text(void)
{
	g_autoptr(value) t = value_new_bool(TRUE);
	g_autoptr(value) n = value_new_null();
	g_autoptr(GString) out = g_string_new(NULL);

	test_number(85, "85");
	test_number(1.21, "1.21");
	test_number(-3, "-3");
	test_number(0, "0");
	test_number(-0.0, "0");
	test_number(0.1, "0.1");
	test_number(0.1 + 0.2, "0.30000000000000004");
	test_number(1.0 / 3.0, "0.3333333333333333");
	test_number(2.5e-7, "2.5e-07");
	test_number(1e21, "1e+21");
	test_number(123456789012.5, "123456789012.5");
	test_number(9007199254740991.0, "9007199254740991");
	value_to_text(t, out);
	value_to_text(n, out);
	g_assert_cmpstr(out->str, ==, "true");
}

static void
test_recursion_guard(void)
{
	g_autoptr(template_set) set = template_set_new();
	g_autoptr(GString) out = g_string_new(NULL);
	g_autoptr(GError) error = NULL;

	g_assert_true(template_set_add(set, "self", "x\n {{>self}}\n",
	    "self.mustache", &error));
	g_assert_true(template_set_add(set, "p",
	    "{{<p}}{{$a}}{{<p}}{{/p}}{{/a}}{{/p}}", "p.mustache", &error));
	g_assert_true(template_set_check(set, FALSE, &error));
	g_assert_false(template_render(set, "self", NULL, 0,
	    TEMPLATE_ESCAPE_NONE, out, NULL, &error));
	g_assert_error(error, HERALD_ERROR, HERALD_ERROR_DATA);
	g_assert_cmpstr(error->message, ==, "self.mustache:2:2: 'self' "
	    "nested more than 64 deep (endless recursion?)");
	g_assert_true(g_str_has_prefix(out->str, "x\n x\n  x\n"));
	g_clear_error(&error);
	g_assert_false(template_render(set, "p", NULL, 0,
	    TEMPLATE_ESCAPE_NONE, out, NULL, &error));
	g_assert_error(error, HERALD_ERROR, HERALD_ERROR_DATA);
}

static void
test_indentation(void)
{
	static const char *const partials[] = {
		"item", "- {{name}}\n  {{#talks}}\n  * {{.}}\n  {{/talks}}\n",
		"base", "<html>\n  {{$head}}{{/head}}\n  <body>\n"
		    "    {{$body}}\n    empty\n    {{/body}}\n  </body>\n"
		    "</html>\n",
		NULL,
	};
	g_autofree char *list = NULL, *page = NULL;

	list = test_render("Talks:\n{{#people}}\n    {{>item}}\n{{/people}}"
	    "end\n", partials, "{\"people\": [{\"name\": \"Ann\", \"talks\":"
	    " [\"Xen\", \"\\nARM\"]}, {\"name\": \"Bo\"}]}",
	    TEMPLATE_ESCAPE_NONE, NULL);
	g_assert_cmpstr(list, ==, "Talks:\n    - Ann\n      * Xen\n"
	    "      * \nARM\n    - Bo\nend\n");
	page = test_render("{{<base}}\n  {{$head}}\n    <title>T</title>\n"
	    "  {{/head}}\n  {{$body}}\n\t<p>one</p>\n\t<p>two</p>\n"
	    "  {{/body}}\n{{/base}}\n", partials, "{}",
	    TEMPLATE_ESCAPE_HTML, NULL);
	g_assert_cmpstr(page, ==, "<html>\n  <title>T</title>\n  <body>\n"
	    "    <p>one</p>\n    <p>two</p>\n  </body>\n</html>\n");
}

struct test_thread {
	const struct template_set *set;
	struct value *ctx;
	const char *expected;
	guint failures;
};

/* test_thread_render - render 2000 times and count differences */
static gpointer
test_thread_render(gpointer data)
{
	struct test_thread *tt = data;
	g_autoptr(GString) out = g_string_new(NULL);
	guint i;

	for (i = 0; i < 2000; i++) {
		g_string_truncate(out, 0);
		if (!template_render(tt->set, "t", &tt->ctx, 1,
		    TEMPLATE_ESCAPE_HTML, out, NULL, NULL) ||
		    strcmp(out->str, tt->expected) != 0)
			tt->failures++;
	}
	return NULL;
}

static void
test_threads(void)
{
	g_autoptr(template_set) set = template_set_new();
	g_autoptr(GString) first = g_string_new(NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(value) ctx = value_new_map();
	struct value *list = value_new_list(), *item;
	struct test_thread tt[4];
	GThread *threads[4];
	guint i;

	for (i = 0; i < 20; i++) {
		item = value_new_map();
		value_map_set(item, "name", value_new_string_take(
		    g_strdup_printf("Speaker <%u>", i)));
		value_map_set(item, "n", value_new_number(i * 1.5));
		value_list_append(list, item);
	}
	value_map_set(ctx, "speakers", list);
	value_map_set(ctx, "title", value_new_string("Xen & friends"));
	g_assert_true(template_set_add(set, "t", "<h1>{{title}}</h1>\n"
	    "{{#speakers}}\n  {{>row}}\n{{/speakers}}\n{{<base}}{{$x}}X"
	    "{{/x}}{{/base}}\n", NULL, &error));
	g_assert_true(template_set_add(set, "row", "<li>{{name}} {{n}}\n"
	    "</li>\n", NULL, &error));
	g_assert_true(template_set_add(set, "base", "[{{$x}}{{/x}}]", NULL,
	    &error));
	g_assert_true(template_set_check(set, FALSE, &error));
	g_assert_true(template_render(set, "t", (struct value **)&ctx, 1,
	    TEMPLATE_ESCAPE_HTML, first, NULL, &error));
	g_assert_nonnull(strstr(first->str, "  <li>Speaker &lt;19&gt; 28.5\n"
	    "  </li>\n[X]"));
	for (i = 0; i < 4; i++) {
		tt[i].set = set;
		tt[i].ctx = ctx;
		tt[i].expected = first->str;
		tt[i].failures = 0;
		threads[i] = g_thread_new("render", test_thread_render, &tt[i]);
	}
	for (i = 0; i < 4; i++) {
		g_thread_join(threads[i]);
		g_assert_cmpuint(tt[i].failures, ==, 0);
	}
}

int
main(int argc, char **argv)
{
	g_autoptr(GHashTable) seen = NULL;

	g_test_init(&argc, &argv, NULL);
	g_test_set_nonfatal_assertions();
	seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	test_add_spec(seen);
	g_test_add_func("/template/errors/compile", test_errors_compile);
	g_test_add_func("/template/errors/missing-partial",
	    test_errors_missing_partial);
	g_test_add_func("/template/errors/nesting", test_nesting_limit);
	g_test_add_func("/template/add-dir", test_add_dir);
	g_test_add_func("/template/missing", test_missing);
	g_test_add_func("/template/escape", test_escape_modes);
	g_test_add_func("/template/indentation", test_indentation);
	g_test_add_func("/template/recursion-guard", test_recursion_guard);
	g_test_add_func("/template/output-limit", test_output_limit);
	g_test_add_func("/template/threads", test_threads);
	g_test_add_func("/value/text", test_value_text);
	return g_test_run();
}
