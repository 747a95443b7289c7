/*
 * test-compose-cache.c - the per-thread cache of pre-rendered parts in
 * compose.c gives the same bytes as rendering every message in full.
 *
 * For the shipped summit announcement and for a test announcement whose
 * templates use the subscriber's data every way the engine allows (escaped
 * and raw, in sections and inverted sections, through an indented partial,
 * segments.NAME flags, attributes), many subscribers of many shapes (empty,
 * HTML-special, non-ASCII, very long, marker-like names; attributes;
 * segments) are rendered twice by a composer with the cache (the second
 * round comes from the cache) and once by one made with
 * HERALD_RENDER_CACHE=0. The messages must be equal but for Date,
 * Message-ID and the random boundaries. Runs from the top of the tree.
 */
#include <string.h>
#include <glib/gstdio.h>

#include "herald.h"
#include "announcement.h"
#include "compose.h"
#include "config.h"
#include "token.h"

static struct list_config *users;
static struct token_key key;
static char *tmpdir;

/* top - the top of the tree */
static const char *
top(void)
{
	const char *t = g_getenv("TOP");

	return t != NULL ? t : ".";
}

/* put - write TEXT to DIR/NAME */
static void
put(const char *dir, const char *name, const char *text)
{
	g_autofree char *path = g_build_filename(dir, name, NULL);

	g_assert_true(g_file_set_contents(path, text, -1, NULL));
}

/* normal - OUT without what differs between two composers or renders:
 * boundaries, Date, Message-ID, and the calendar's DTSTAMP (each
 * composer stamps its own: a second may tick between the two, as it did
 * once under ASan in a loaded suite) */
static char *
normal(const GString *out)
{
	static GRegex *re;

	if (re == NULL)
		re = g_regex_new("=_herald_(alt|mix)_[0-9a-f]+|"
		    "(?m)^(Date|Message-ID): [^\r]*|(?m)^DTSTAMP:[0-9TZ]+", 0, 0, NULL);
	return g_regex_replace_literal(re, out->str, out->len, 0, "X", 0,
	    NULL);
}

/* long_name - WORD repeated N times, space-separated */
static char *
long_name(const char *word, int n)
{
	GString *s = g_string_new(NULL);
	int i;

	for (i = 0; i < n; i++)
		g_string_append_printf(s, "%s%s", i ? " " : "", word);
	return g_string_free(s, FALSE);
}

/* compare - render every test subscriber with a cached composer (twice)
 * and an uncached one, both with FLAGS; the messages must agree */
static void
compare(const struct announcement *ann, int flags)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(composer) cached = NULL, slow = NULL;
	g_autofree char *l300 = long_name("Abcdefgh", 40);
	g_autofree char *l1200 = long_name("Abcdefghijk", 110);
	g_autofree char *l8bit = long_name("ééééééééé", 300);
	const char *names[] = { "Ada Lovelace", "", "  ", NULL, "Linus",
	    "Jürgen Groß", "<b>O'Brien & \"Co\"</b>", "\001A&\001 \001B&amp;\001",
	    "a &amp; b", " Lead Space", l300, l1200, l8bit, "=?utf-8?q?x?=",
	    "--=_herald_alt_0", "Ünïcödé", "X" };
	const char *segs[] = { NULL, "users", "developers", "integrators",
	    "architects" };
	const char *m_none[] = { NULL };
	const char *m_users[] = { "users", NULL };
	const char *m_two[] = { "developers", "europe", NULL };
	const char *const *matched[] = { NULL, m_none, m_users, m_two };
	const char *const order[] = { "users", "developers", "integrators",
	    "architects", NULL };
	int round, i, n = 0;
	GPtrArray *want = g_ptr_array_new_with_free_func(g_free);

	g_unsetenv("HERALD_RENDER_CACHE");
	cached = composer_new(ann, users, &key, order, flags, &error);
	g_assert_no_error(error);
	g_setenv("HERALD_RENDER_CACHE", "0", TRUE);
	slow = composer_new(ann, users, &key, order, flags, &error);
	g_unsetenv("HERALD_RENDER_CACHE");
	g_assert_no_error(error);
	for (round = 0; round < 3; round++) {
		for (i = 0; i < 200; i++) {
			g_autoptr(GString) out = g_string_new(NULL);
			g_autofree char *email = g_strdup_printf(
			    i % 9 == 0 ? "p%d@bücher.example" : "p%d@example.com",
			    i * 7919);
			struct subscriber s = { 0 };
			g_autofree char *norm = NULL;
			const char *seg = segs[i % G_N_ELEMENTS(segs)];

			s.id = i % 5 == 0 ? (gint64)1 << 40 : i;
			s.email = email;
			s.name = (char *)names[i % G_N_ELEMENTS(names)];
			s.attrs = g_hash_table_new(g_str_hash, g_str_equal);
			if (i % 3 == 1)
				g_hash_table_insert(s.attrs, "company",
				    i % 2 ? "<ACME & Sons>" : "");
			if (i % 4 == 1)
				g_hash_table_insert(s.attrs, "city", "Zürich");
			g_assert_true(composer_render(round < 2 ? cached : slow,
			    &s, seg, matched[i % G_N_ELEMENTS(matched)], i + 1,
			    out, NULL, NULL, &error));
			g_assert_no_error(error);
			g_hash_table_unref(s.attrs);
			/* a test copy: marked, and no real token in it */
			if (flags & COMPOSER_TEST) {
				g_assert_nonnull(strstr(out->str,
				    "\r\nX-Herald-Test: yes\r\n"));
				g_assert_nonnull(strstr(out->str,
				    "-unsubscribe+tu"));
				g_assert_null(strstr(out->str, "-unsubscribe+u"));
				g_assert_null(strstr(out->str, "unsubscribe/u"));
			}
			norm = normal(out);
			if (round == 0)
				g_ptr_array_add(want, g_steal_pointer(&norm));
			else
				g_assert_cmpstr(norm, ==,
				    g_ptr_array_index(want, i));
			n++;
		}
	}
	g_assert_cmpint(n, ==, 600);
	g_ptr_array_unref(want);
}

static void
test_summit(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(announcement) summit = announcement_load("summit", NULL,
	    &error);

	g_assert_no_error(error);
	compare(summit, 0);
}

/* a test copy (herald send --test) comes out the same both ways too */
static void
test_test_copy(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(announcement) summit = announcement_load("summit", NULL,
	    &error);

	g_assert_no_error(error);
	compare(summit, COMPOSER_TEST);
}

static void
test_every_use(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *data = g_build_filename(tmpdir, "c.conf", NULL);
	g_autofree char *kd = g_build_filename(tmpdir, "t", "summit", NULL);
	g_autofree char *pd = g_build_filename(tmpdir, "t", "partials", NULL);
	g_autoptr(announcement) ann = NULL;

	g_mkdir_with_parents(kd, 0755);
	g_mkdir_with_parents(pd, 0755);
	g_assert_true(g_file_set_contents(data, "kind = \"summit\"\n"
	    "title = \"Tëst & <title>\"\ntemplates = \"t\"\n", -1, NULL));
	put(kd, "subject.mustache", "  {{title}} for "
	    "{{#subscriber.first_name}}{{subscriber.first_name}}"
	    "{{/subscriber.first_name}}{{^subscriber.first_name}}you"
	    "{{/subscriber.first_name}} {{subscriber.name}}  \n");
	put(kd, "text.mustache",
	    "Hello {{subscriber.name}} <{{subscriber.email}}> "
	    "#{{subscriber.id}}\n"
	    "{{#segments.users}}A user.{{/segments.users}}"
	    "{{^segments.users}}Not a user.{{/segments.users}}\n"
	    "{{#subscriber.attributes.company}}Company: {{.}}\n"
	    "{{/subscriber.attributes.company}}"
	    "  {{> ind}}\n"
	    "{{#subscriber.name}}\n{{subscriber.name}}{{subscriber.name}}\n"
	    "{{/subscriber.name}}\n"
	    "{{subscriber.first_name}}\n"
	    "Unsubscribe: {{unsubscribe_mailto}} {{unsubscribe_url}}\n"
	    "{{#segment}}Segment {{segment}}{{/segment}}\n"
	    "--{{subscriber.first_name}}");
	put(pd, "ind.mustache", "{{subscriber.name}}\n"
	    "two {{subscriber.attributes.city}}\n{{subscriber.first_name}}\n");
	put(kd, "html.mustache",
	    "<p>{{subscriber.name}} / {{{subscriber.name}}} / "
	    "{{& subscriber.first_name}}amp;</p>\n"
	    "<p>{{#segments.developers}}dev{{/segments.developers}} "
	    "{{subscriber.attributes.company}} {{{subscriber.attributes.city}}}"
	    "</p>\n<a href=\"{{unsubscribe_url}}\">{{title}}</a>\n");
	ann = announcement_load(data, NULL, &error);
	g_assert_no_error(error);
	compare(ann, 0);
	compare(ann, COMPOSER_TEST);
}

int
main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *lf = g_build_filename(top(), "lists", "xen-users.conf",
	    NULL);
	g_autofree char *tp = g_build_filename(top(), "templates", NULL);
	int rc;

	g_test_init(&argc, &argv, NULL);
	g_setenv("HERALD_TEMPLATES", tp, TRUE);
	memset(&key, 0x5a, sizeof(key));
	tmpdir = g_dir_make_tmp("test-compose-cache-XXXXXX", &error);
	g_assert_no_error(error);
	users = config_parse_list_file(lf, "lists.example.org", &error);
	g_assert_no_error(error);
	g_test_add_func("/compose-cache/summit", test_summit);
	g_test_add_func("/compose-cache/every-use", test_every_use);
	g_test_add_func("/compose-cache/test-copy", test_test_copy);
	rc = g_test_run();
	config_list_free(users);
	{
		g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", tmpdir);

		if (system(cmd) != 0)
			rc = 1;
	}
	g_free(tmpdir);
	return rc;
}
