/*
 * test-config.c - configuration errors name FILE:LINE and are CONFIG
 * errors: bad lines, an unclosed section (which libconfuse 3.3 alone would
 * accept), unknown options, bad enumerated values; the shipped list files
 * load, and every segment in them compiles; NUL bytes and invalid UTF-8
 * are refused at their line (config_scan); whether herald.conf has an
 * smtp { } section of its own, and so who carries notices (mailer.h).
 */
#include <string.h>
#include <glib/gstdio.h>

#include "herald.h"
#include "config.h"
#include "mailer.h"
#include "segment.h"

static char *tmpdir;

/* write_file - NAME under the temporary folder with TEXT; its path */
static char *
write_file(const char *name, const char *text)
{
	char *path = g_build_filename(tmpdir, name, NULL);

	g_assert_true(g_file_set_contents(path, text, -1, NULL));
	return path;
}

/* list_error - parse TEXT as a list file; the error message */
static char *
list_error(const char *text)
{
	g_autofree char *path = write_file("l.conf", text);
	g_autoptr(GError) error = NULL;
	struct list_config *list = config_parse_list_file(path, "example.org",
	    &error);

	if (list != NULL) {
		config_list_free(list);
		g_error("parsed: %s", text);
	}
	g_assert_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG);
	g_assert_true(g_str_has_prefix(error->message, path));
	return g_strdup(error->message + strlen(path));
}

static void
check(const char *text, const char *want)
{
	g_autofree char *msg = list_error(text);

	if (!g_str_has_prefix(msg, want))
		g_error("got \"%s\", wanted \"%s…\" for:\n%s", msg, want, text);
}

/* scan - config_scan over TEXT: the text libconfuse would get, or NULL
 * and the error message in *MSG */
static char *
scan(const char *text, gssize len, char **msg)
{
	g_autoptr(GError) error = NULL;
	char *out = NULL;

	*msg = NULL;
	if (!config_scan("f.conf", text, len < 0 ? strlen(text) : (gsize)len,
	    &out, NULL, &error)) {
		g_assert_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG);
		*msg = g_strdup(error->message);
		return NULL;
	}
	return out;
}

static void
test_scan(void)
{
	static const struct { const char *text, *out, *err; } cases[] = {
		/* ${ escaped in double quotes only; lines and the rest kept */
		{ "a = \"US${HOME}\"\nb = 'x${HOME}'\n",
		    "a = \"US\\${HOME}\"\nb = 'x${HOME}'\n", NULL },
		{ "a = \"\\${X} $ {Y} $\" # ${Z}\n",
		    "a = \"\\${X} $ {Y} $\" # ${Z}\n", NULL },
		{ "a = ${HOME}\n", NULL, "f.conf:1: ${…} outside quotes" },
		/* set twice: in one section only; += appends; lists and
		 * comments are not options */
		{ "a = 1\n/* a = 2 */\n# a = 3\nb = { \"a = 4\", x }\n"
		    "s t { a = 5 }\ns u { a = 6 }\nl = {1}\nl += {2}\n", "", NULL },
		{ "a = 1\ns {\n a = 2\n a = \"\n\"\n}\n", NULL,
		    "f.conf:4: a is set twice in one section (first at line 3)" },
		{ "x = \"multi\nline\"\nx = 2\n", NULL,
		    "f.conf:3: x is set twice in one section (first at line 1)" },
		/* a byte that is not UTF-8, in a value or a comment: its
		 * line; UTF-8 itself passes */
		{ "a = 1\nb = \"caf\xe9\"\n", NULL,
		    "f.conf:2: invalid UTF-8 (the file must be UTF-8 text)" },
		{ "a = \"x\ny\"\n# r\xc3\xa9sum\xe9\n", NULL,
		    "f.conf:3: invalid UTF-8" },
		{ "a = \"Zo\xc3\xab \xe2\x82\xac\" # \xc3\xa9\n",
		    "a = \"Zo\xc3\xab \xe2\x82\xac\" # \xc3\xa9\n", NULL },
	};
	char *msg, *out;
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(cases); i++) {
		out = scan(cases[i].text, -1, &msg);
		if (cases[i].err != NULL) {
			if (out != NULL || !g_str_has_prefix(msg, cases[i].err))
				g_error("%s: got \"%s\", wanted \"%s\"",
				    cases[i].text, msg, cases[i].err);
		} else if (out == NULL)
			g_error("%s: %s", cases[i].text, msg);
		else if (*cases[i].out != '\0')
			g_assert_cmpstr(out, ==, cases[i].out);
		g_free(out);
		g_free(msg);
	}
	out = scan("a = 1\nb = 2\0c = 3\n", 18, &msg);
	g_assert_null(out);
	g_assert_cmpstr(msg, ==, "f.conf:2: a NUL byte (the file must be text)");
	g_free(msg);
}

static void
test_list_errors(void)
{
	/* an unknown option, on line 3 */
	check("address = \"a@example.org\"\n\nfrobnicate = 1\n", ":3:");
	/* a bad enumerated value, on line 2 */
	check("address = \"a@example.org\"\nreply_to = \"everyone\"\n", ":2:");
	/* a section never closed: the line of its { */
	check("address = \"a@example.org\"\nsegment dev {\n"
	    "  where = \"role = \\\"x\\\"\"\n", ":2: section opened here is never "
	    "closed");
	/* a } with nothing to close */
	check("address = \"a@example.org\"\n}\n", ":2: '}' without");
	/* an unterminated string */
	check("address = \"a@example.org\ndisplay_name = \"x\"\n",
	    ":3: unterminated string");
	/* a segment without where */
	check("segment dev {\n  description = \"x\"\n}\n", ":3:");
	/* a bad segment name */
	check("segment \"Dev Team\" {\n  where = \"a = \\\"b\\\"\"\n}\n", ":3:");
	/* an unknown option in a section */
	check("bounce {\n  threshold = 5.0\n  color = \"red\"\n}\n", ":3:");
	/* a bad type */
	check("bounce {\n  stale_days = \"often\"\n}\n", ":2:");
	check("announce_only = maybe\n", ":1:");
	/* comments do not throw the line count off (libconfuse 3.3 alone
	 * counts a "#" comment's line more than once) */
	check("# one\n# two\n// three\n/* four\n five */\nfrobnicate = 1\n", ":6:");
	/* a # inside a string is not a comment */
	check("description = \"issue #12\"\nfrobnicate = 1\n", ":2:");
}

static void
test_main_errors(void)
{
	static const struct { const char *text, *want; } bad[] = {
		{ "smtp {\n  port = 0\n}\n", ":2:" },
		{ "smtp {\n  starttls = \"sometimes\"\n}\n", ":2:" },
		{ "data_dir = \"x\"\nsmtp {\n  host = \"h\"\n", ":2: section opened" },
		{ "nonsense = 1\n", ":1:" },
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autofree char *path = write_file("herald.conf", bad[i].text);
		g_autoptr(GError) error = NULL;
		g_autoptr(config) c = config_load(path, &error);

		g_assert_null(c);
		g_assert_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG);
		if (!g_str_has_prefix(error->message, path) ||
		    !g_str_has_prefix(error->message + strlen(path), bad[i].want))
			g_error("got \"%s\", wanted %s%s", error->message, path,
			    bad[i].want);
	}
}

/* smtp { } given or defaulted: only a section the file opens counts,
 * empty or not, wherever it is; with relay sections and none, the relays
 * carry herald's own mail */
static void
test_smtp_given(void)
{
	static const struct {
		const char *text;
		gboolean smtp, relays, by_relays;
	} cases[] = {
		{ "", FALSE, FALSE, FALSE },
		{ "smtp { }\n", TRUE, FALSE, FALSE },
		{ "\n\n# smtp { }\nsmtp {\n  port = 2525\n}\n", TRUE, FALSE,
		    FALSE },
		{ "# smtp { host = \"h\" }\nrelay a { port = 2525 }\n", FALSE,
		    TRUE, TRUE },
		{ "relay a { port = 2525 }\nrelay b { }\nsmtp { host = \"h\" }\n",
		    TRUE, TRUE, FALSE },
	};
	g_autofree char *lists = g_build_filename(tmpdir, "lists", NULL);
	size_t i;

	g_assert_cmpint(g_mkdir_with_parents(lists, 0700), ==, 0);
	for (i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *text = g_strdup_printf("list_dir = \"lists\"\n%s",
		    cases[i].text);
		g_autofree char *path = write_file("herald.conf", text);
		g_autoptr(GError) error = NULL;
		g_autoptr(config) c = config_load(path, &error);

		g_assert_no_error(error);
		if (c->smtp_given != cases[i].smtp ||
		    c->relays_given != cases[i].relays ||
		    mailer_by_relays(c) != cases[i].by_relays)
			g_error("%s: smtp %d, relays %d, by relays %d", text,
			    c->smtp_given, c->relays_given, mailer_by_relays(c));
	}
}

static void
test_shipped_lists(void)
{
	static const char *const files[] = { "xen-users.conf", "xen-devel.conf" };
	size_t i;
	guint j;

	for (i = 0; i < G_N_ELEMENTS(files); i++) {
		g_autofree char *path = g_build_filename(g_getenv("TOP") != NULL ?
		    g_getenv("TOP") : ".", "lists", files[i], NULL);
		g_autoptr(GError) error = NULL;
		struct list_config *list = config_parse_list_file(path,
		    "example.org", &error);

		g_assert_no_error(error);
		g_assert_cmpuint(list->segments->len, >, 3);
		for (j = 0; j < list->segments->len; j++) {
			const struct segment_def *def =
			    g_ptr_array_index(list->segments, j);
			g_autoptr(segment) seg = segment_compile(def->where, &error);

			g_assert_no_error(error);
			g_assert_nonnull(seg);
			g_assert_cmpint(def->line, >, 0);
		}
		config_list_free(list);
	}
}

int
main(int argc, char **argv)
{
	int rc;

	g_test_init(&argc, &argv, NULL);
	tmpdir = g_dir_make_tmp("herald-config-XXXXXX", NULL);
	g_test_add_func("/config/scan", test_scan);
	g_test_add_func("/config/list-errors", test_list_errors);
	g_test_add_func("/config/main-errors", test_main_errors);
	g_test_add_func("/config/shipped-lists", test_shipped_lists);
	g_test_add_func("/config/smtp-given", test_smtp_given);
	rc = g_test_run();
	{
		g_autofree char *a = g_build_filename(tmpdir, "l.conf", NULL);
		g_autofree char *b = g_build_filename(tmpdir, "herald.conf", NULL);
		g_autofree char *l = g_build_filename(tmpdir, "lists", NULL);

		g_unlink(a);
		g_unlink(b);
		g_rmdir(l);
		g_rmdir(tmpdir);
	}
	return rc;
}
