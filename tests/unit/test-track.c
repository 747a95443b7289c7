/*
 * test-track.c - which links of a rendered part are tracked, and how
 * they are rewritten (track.c): text links without the sentence's
 * punctuation, HTML href values only (with &amp; decoded), nothing that
 * runs into a subscriber's slot marker or holds a skipped string, only
 * registered links rewritten (per segment), aggregate tokens free of the
 * delivery, per-subscriber ones naming it, the open image before </body>.
 */
#include <string.h>

#include "herald.h"
#include "config.h"
#include "token.h"
#include "track.h"

static struct token_key key;

/* cmp - qsort order of strings */
static int
cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* collect - the set track_collect makes of TEXT, as sorted lines */
static char *
collect(const char *text, gboolean html, const char *const *skip)
{
	g_autoptr(GHashTable) set = g_hash_table_new_full(g_str_hash,
	    g_str_equal, g_free, NULL);
	g_autofree gpointer *keys = NULL;
	guint n, i;
	GString *out = g_string_new(NULL);

	track_collect(text, strlen(text), html, "users", skip, set);
	keys = g_hash_table_get_keys_as_array(set, &n);
	qsort(keys, n, sizeof(*keys), cmp);
	for (i = 0; i < n; i++)
		g_string_append_printf(out, "%s|", strchr(keys[i], '\n') + 1);
	return g_string_free(out, FALSE);
}

static void
test_collect_text(void)
{
	g_autofree char *got = collect("Register: https://a.example/r?x=1&y=2.\n"
	    "(see https://b.example/s) or http://c.example/x, and "
	    "https://d.example/q_(1) too; mailto:x@y.z ftp://e.example/ "
	    "xhttps://f.example/ https://g.example/\001A&\001\n", FALSE, NULL);

	g_assert_cmpstr(got, ==, "http://c.example/x|https://a.example/r?x=1&y=2|"
	    "https://b.example/s|https://d.example/q_(1)|");
}

static void
test_collect_html(void)
{
	const char *skip[] = { "/unsubscribe/", NULL };
	g_autofree char *got = collect("<a href=\"https://a.example/?x=1&amp;y=2\">"
	    "https://visible.example/</a> <a class=x href = 'https://b.example/'>"
	    "b</a> <img src=\"https://img.example/i.png\"> <a href=\"mailto:x@y\">"
	    "</a> <a href=\"https://u.example/unsubscribe/uabc\">u</a>"
	    " <a href=\"https://m.example/?e=\001A&amp;\001\">m</a>", TRUE, skip);

	g_assert_cmpstr(got, ==, "https://a.example/?x=1&y=2|https://b.example/|");
}

/* a list that tracks in MODE */
static struct list_config *
list_new(enum track_clicks mode, gboolean opens)
{
	struct list_config *l = g_new0(struct list_config, 1);

	l->name = g_strdup("xen-users");
	l->track_clicks = mode;
	l->track_opens = opens;
	l->track_base_url = g_strdup("https://lists.example.org/h");
	return l;
}

static void
test_rewrite(void)
{
	struct list_config *l = list_new(TRACK_CLICKS_AGGREGATE, FALSE);
	struct track_links *t = track_links_new(l, &key, 7, FALSE);
	g_autoptr(GString) part = g_string_new("keep\nGo: https://a.example/r. "
	    "Not https://z.example/ (unregistered)\n");
	g_autofree char *tok = token_make(&key, TOKEN_CLICK, "xen-users", 42, 0);
	g_autofree char *want = g_strdup_printf("keep\nGo: https://lists.example.org"
	    "/h/l/%s. Not https://z.example/ (unregistered)\n", tok);
	g_autoptr(GString) other = g_string_new("https://a.example/r\n");

	track_links_add(t, "users", "https://a.example/r", 42);
	track_rewrite(t, "users", 99, part, 0, FALSE);
	g_assert_cmpstr(part->str, ==, want);
	/* another segment's copy: not its link */
	track_rewrite(t, "developers", 99, other, 0, FALSE);
	g_assert_cmpstr(other->str, ==, "https://a.example/r\n");
	track_links_free(t);
	config_list_free(l);
}

static void
test_rewrite_html_per_subscriber(void)
{
	struct list_config *l = list_new(TRACK_CLICKS_PER_SUBSCRIBER, TRUE);
	struct track_links *t = track_links_new(l, &key, 7, FALSE);
	g_autoptr(GString) part = g_string_new("<body><a href=\"https://a.example/"
	    "?x=1&amp;y=2\">https://a.example/?x=1&amp;y=2</a></body>\n");
	g_autofree char *tok = token_make(&key, TOKEN_CLICK, "xen-users", 5, 99);
	g_autofree char *open = token_make(&key, TOKEN_OPEN, "xen-users", 7, 99);
	g_autofree char *want = g_strdup_printf("<body><a href=\"https://lists."
	    "example.org/h/l/%s\">https://a.example/?x=1&amp;y=2</a><img src=\""
	    "https://lists.example.org/h/o/%s\" width=\"1\" height=\"1\" alt=\"\""
	    " style=\"display:block;border:0\"></body>\n", tok, open);
	struct token_claim c;

	track_links_add(t, "users", "https://a.example/?x=1&y=2", 5);
	track_rewrite(t, "users", 99, part, 0, TRUE);
	g_assert_cmpstr(part->str, ==, want);
	g_assert_true(token_verify(&key, tok, "xen-users", TOKEN_ACCEPT_CLICK, &c,
	    NULL));
	g_assert_cmpint(c.subscriber_id, ==, 5);
	g_assert_cmpint(c.extra_id, ==, 99);
	g_assert_false(token_verify(&key, tok, "xen-users",
	    0xfffu & ~(guint)TOKEN_ACCEPT_CLICK, NULL, NULL));
	track_links_free(t);
	config_list_free(l);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	memset(key.bytes, 'k', sizeof(key.bytes));
	g_test_add_func("/track/collect-text", test_collect_text);
	g_test_add_func("/track/collect-html", test_collect_html);
	g_test_add_func("/track/rewrite", test_rewrite);
	g_test_add_func("/track/rewrite-html-per-subscriber",
	    test_rewrite_html_per_subscriber);
	return g_test_run();
}
