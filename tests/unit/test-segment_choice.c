/*
 * test-segment_choice.c - the choices of an attribute, from a list file's
 * segments: the values tested with = and in, in file order, each once,
 * labelled with the first naming segment's description; never a value
 * tested only negated, with != or a glob; none for an attribute no
 * segment tests; and segment_choice_ok's exact comparison.
 */
#include <string.h>
#include <glib/gstdio.h>

#include "herald.h"
#include "config.h"
#include "segment_choice.h"

static const char list_text[] =
	"address = \"l@example.org\"\n"
	"segment users {\n"
	"  where = \"role = \\\"user\\\"\"\n"
	"  description = \"people who run it\"\n"
	"}\n"
	"segment devs {\n"
	"  where = \"role in (\\\"developer\\\", \\\"maintainer\\\") and"
	" region = \\\"us-east\\\"\"\n"
	"}\n"
	"segment again {\n"
	"  where = \"role = \\\"user\\\" or region in (\\\"europe\\\")\"\n"
	"  description = \"not the first to name user\"\n"
	"}\n"
	"segment others {\n"
	"  where = \"not role = \\\"spam\\\" and role != \\\"x\\\" and"
	" role ~ \\\"arch*\\\" and role not in (\\\"y\\\")\"\n"
	"}\n";

/* load - the list above, from a file in a temporary folder */
static struct list_config *
load(void)
{
	g_autofree char *dir = g_dir_make_tmp("herald-choice-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "l.conf", NULL);
	g_autoptr(GError) error = NULL;
	struct list_config *list;

	g_assert_nonnull(dir);
	g_assert_true(g_file_set_contents(path, list_text, -1, NULL));
	list = config_parse_list_file(path, "example.org", &error);
	g_assert_no_error(error);
	g_unlink(path);
	g_rmdir(dir);
	return list;
}

/* joined - the values (or the labels) of CHOICES joined by | */
static char *
joined(GPtrArray *choices, gboolean labels)
{
	GString *s = g_string_new(NULL);
	guint i;

	for (i = 0; i < choices->len; i++) {
		const struct segment_choice *c = g_ptr_array_index(choices, i);

		g_string_append_printf(s, "%s%s", i > 0 ? "|" : "",
		    labels ? c->label : c->value);
	}
	return g_string_free(s, FALSE);
}

static void
test_choices(void)
{
	struct list_config *list = load();
	g_autoptr(GPtrArray) role = segment_choices(list, "role");
	g_autoptr(GPtrArray) region = segment_choices(list, "region");
	g_autoptr(GPtrArray) company = segment_choices(list, "company");
	g_autofree char *rv = joined(role, FALSE);
	g_autofree char *rl = joined(role, TRUE);
	g_autofree char *gv = joined(region, FALSE);

	g_assert_cmpstr(rv, ==, "user|developer|maintainer");
	g_assert_cmpstr(rl, ==, "user: people who run it|developer|maintainer");
	g_assert_cmpstr(gv, ==, "us-east|europe");
	g_assert_cmpuint(company->len, ==, 0);
	config_list_free(list);
}

static void
test_ok(void)
{
	struct list_config *list = load();
	g_autoptr(GPtrArray) role = segment_choices(list, "role");
	g_autoptr(GPtrArray) company = segment_choices(list, "company");

	g_assert_true(segment_choice_ok(role, "developer"));
	g_assert_false(segment_choice_ok(role, "Developer "));
	g_assert_false(segment_choice_ok(role, "developer "));
	g_assert_false(segment_choice_ok(role, "spam"));
	g_assert_false(segment_choice_ok(role, ""));
	g_assert_true(segment_choice_ok(company, "anything at all"));
	config_list_free(list);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/segment_choice/choices", test_choices);
	g_test_add_func("/segment_choice/ok", test_ok);
	return g_test_run();
}
