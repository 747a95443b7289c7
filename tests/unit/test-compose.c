/*
 * test-compose.c - composed messages are what the issue asks for, checked
 * by parsing them back with GMime: structure, charsets, headers, the
 * escaping of subscriber data in HTML and not in text, refusal of header
 * injection, RFC 2047 subjects and names, VERP and Message-ID, strict
 * mode, and many threads rendering from one composer.
 *
 * Runs from the top of the tree (make test sets TOP): it reads the shipped
 * lists/xen-users.conf and templates/.
 */
#include <string.h>
#include <gmime/gmime.h>
#include <glib/gstdio.h>

#include "herald.h"
#include "announcement.h"
#include "compose.h"
#include "config.h"
#include "token.h"

static struct list_config *users;
static struct announcement *summit;
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

/* sub_new - a subscriber for the tests */
static struct subscriber *
sub_new(gint64 id, const char *email, const char *name)
{
	struct subscriber *s = g_new0(struct subscriber, 1);

	s->id = id;
	s->email = g_strdup(email);
	s->name = g_strdup(name);
	s->attrs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	return s;
}

/* parse - the message in OUT, through GMime's parser */
static GMimeMessage *
parse(const GString *out)
{
	GMimeStream *st = g_mime_stream_mem_new_with_buffer(out->str, out->len);
	GMimeParser *p = g_mime_parser_new_with_stream(st);
	GMimeMessage *m = g_mime_parser_construct_message(p, NULL);

	g_object_unref(p);
	g_object_unref(st);
	g_assert_nonnull(m);
	return m;
}

/* part_text - the decoded content of the first part of MIME type TYPE */
static char *
part_text(GMimeMessage *m, const char *type, const char *subtype)
{
	GMimePartIter *it = g_mime_part_iter_new((GMimeObject *)m);
	char *text = NULL;

	do {
		GMimeObject *o = g_mime_part_iter_get_current(it);
		GMimeContentType *ct;

		if (o == NULL || !GMIME_IS_PART(o))
			continue;
		ct = g_mime_object_get_content_type(o);
		if (g_mime_content_type_is_type(ct, type, subtype)) {
			GMimeDataWrapper *w = g_mime_part_get_content((GMimePart *)o);
			GMimeStream *mem = g_mime_stream_mem_new();
			GByteArray *ba;

			g_assert_cmpstr(g_mime_content_type_get_parameter(ct,
			    "charset"), ==, "utf-8");
			g_mime_data_wrapper_write_to_stream(w, mem);
			ba = g_mime_stream_mem_get_byte_array((GMimeStreamMem *)mem);
			text = g_strndup((char *)ba->data, ba->len);
			g_object_unref(mem);
			break;
		}
	} while (g_mime_part_iter_next(it));
	g_mime_part_iter_free(it);
	g_assert_nonnull(text);
	return text;
}

/* assert_crlf - every LF in OUT follows a CR, and no line passes 998 */
static void
assert_crlf(const GString *out)
{
	gsize i, col = 0;

	for (i = 0; i < out->len; i++) {
		if (out->str[i] == '\n') {
			g_assert_true(i > 0 && out->str[i - 1] == '\r');
			col = 0;
		} else {
			g_assert_cmpuint(++col, <=, 999);
		}
	}
	g_assert_true(g_str_has_suffix(out->str, "\r\n"));
}

static void
test_structure(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(composer) c = composer_new(summit, users, &key, NULL, 0, &error);
	g_autoptr(GString) out = g_string_new(NULL);
	g_autofree char *env = NULL, *msgid = NULL, *text = NULL, *html = NULL;
	g_autoptr(subscriber) s = sub_new(42, "ada@example.com", "Ada Lovelace");
	const char *matched[] = { "developers", NULL };
	GMimeMessage *m;
	GMimeObject *body;
	InternetAddressList *to;
	gint64 delivery = 0;
	const char *lu;

	g_assert_no_error(error);
	g_assert_true(composer_render(c, s, "developers", matched, 777, out, &env,
	    &msgid, &error));
	g_assert_no_error(error);
	assert_crlf(out);
	m = parse(out);
	body = g_mime_message_get_mime_part(m);
	/* summit has a calendar: mixed(alternative(text, html), calendar) */
	g_assert_true(GMIME_IS_MULTIPART(body));
	g_assert_true(g_mime_content_type_is_type(
	    g_mime_object_get_content_type(body), "multipart", "mixed"));
	g_assert_true(g_mime_content_type_is_type(g_mime_object_get_content_type(
	    g_mime_multipart_get_part((GMimeMultipart *)body, 0)), "multipart",
	    "alternative"));
	g_assert_true(g_mime_content_type_is_type(g_mime_object_get_content_type(
	    g_mime_multipart_get_part((GMimeMultipart *)body, 1)), "text",
	    "calendar"));
	to = g_mime_message_get_to(m);
	g_assert_cmpint(internet_address_list_length(to), ==, 1);
	g_assert_cmpstr(internet_address_get_name(internet_address_list_get_address(
	    to, 0)), ==, "Ada Lovelace");
	g_assert_cmpstr(g_mime_message_get_subject(m), ==,
	    "Xen Project Developer Summit: Chicago, IL, Aug 18-19");
	g_assert_cmpstr(g_mime_message_get_message_id(m), ==, msgid);
	g_assert_true(compose_message_id_delivery(msgid, "lists.xenproject.org",
	    &key, &delivery));
	g_assert_cmpint(delivery, ==, 777);
	g_assert_false(compose_message_id_delivery("<abc@lists.xenproject.org>",
	    NULL, &key, NULL));
	{
		/* the guess: a well-formed id whose MAC is made up,
		 * another delivery's number under this MAC, another key */
		g_autofree char *forged = g_strdup(msgid);
		g_autofree char *other = NULL;
		struct token_key key2 = key;
		char *dot = strchr(forged, '@') - TOKEN_MAC_CHARS - 1;

		memset(dot + 1, 'a', TOKEN_MAC_CHARS);
		g_assert_false(compose_message_id_delivery(forged, NULL, &key,
		    NULL));
		g_assert_false(compose_message_id_delivery(
		    "<herald.5.0000000000000000@lists.xenproject.org>", NULL,
		    &key, NULL));
		other = g_strdup_printf("herald.778%s", msgid +
		    strlen("herald.777"));
		g_assert_false(compose_message_id_delivery(other, NULL, &key,
		    NULL));
		key2.bytes[0] ^= 1;
		g_assert_false(compose_message_id_delivery(msgid, NULL, &key2,
		    NULL));
		g_assert_false(compose_message_id_delivery(msgid, NULL, NULL,
		    NULL));
	}
	g_assert_cmpstr(g_mime_object_get_header((GMimeObject *)m, "List-Id"), ==,
	    "Xen Project Users <xen-users.lists.xenproject.org>");
	g_assert_cmpstr(g_mime_object_get_header((GMimeObject *)m, "List-Post"),
	    ==, "NO");
	g_assert_cmpstr(g_mime_object_get_header((GMimeObject *)m, "Precedence"),
	    ==, "bulk");
	g_assert_cmpstr(g_mime_object_get_header((GMimeObject *)m,
	    "List-Unsubscribe-Post"), ==, "List-Unsubscribe=One-Click");
	lu = g_mime_object_get_header((GMimeObject *)m, "List-Unsubscribe");
	g_assert_nonnull(strstr(lu, "<mailto:xen-users-unsubscribe+"));
	g_assert_nonnull(strstr(lu, "<https://lists.xenproject.org/unsubscribe/"));
	g_assert_cmpstr(g_mime_object_get_header((GMimeObject *)m, "X-Loop"), ==,
	    "xen-users@lists.xenproject.org");
	/* the VERP address carries a bounce token for this delivery */
	g_assert_true(g_str_has_prefix(env, "xen-users-bounces+"));
	g_assert_true(g_str_has_suffix(env, "@lists.xenproject.org"));
	{
		g_autofree char *tok = g_strndup(env + strlen("xen-users-bounces+"),
		    strchr(env, '@') - env - strlen("xen-users-bounces+"));

		struct token_claim tc;

		g_assert_true(token_verify(&key, tok, "xen-users",
		    TOKEN_ACCEPT_BOUNCE, &tc, &error));
		g_assert_cmpint(tc.purpose, ==, TOKEN_BOUNCE);
		g_assert_cmpint(tc.subscriber_id, ==, 42);
		g_assert_cmpint(tc.extra_id, ==, 777);
	}
	text = part_text(m, "text", "plain");
	html = part_text(m, "text", "html");
	g_assert_nonnull(strstr(text, "Hello Ada,"));
	g_assert_nonnull(strstr(html, "Hello Ada,"));
	/* the developer hears about the Developer Summit first */
	g_assert_true(strstr(text, "Xen Project Developer Summit") <
	    strstr(text, "Xen Project User Summit"));
	g_object_unref(m);
}

/* render_attr - ADA with attribute company = VALUE, via the fixture
 * announcement that prints it in both parts */
static void
test_escaping(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *dir = g_build_filename(tmpdir, "esc", NULL);
	g_autofree char *data = g_build_filename(dir, "esc.conf", NULL);
	g_autofree char *kd = g_build_filename(dir, "t", "summit", NULL);
	g_autofree char *pd = g_build_filename(dir, "t", "partials", NULL);
	g_autoptr(announcement) ann = NULL;
	g_autoptr(composer) c = NULL;
	g_autoptr(GString) out = g_string_new(NULL);
	g_autoptr(subscriber) s = sub_new(1, "eve@example.com", "Eve");
	g_autofree char *text = NULL, *html = NULL;
	GMimeMessage *m;

	g_mkdir_with_parents(kd, 0755);
	g_mkdir_with_parents(pd, 0755);
	g_assert_true(g_file_set_contents(data, "kind = \"summit\"\n"
	    "title = \"T\"\ntemplates = \"t\"\n", -1, NULL));
	put(kd, "subject.mustache", "Hi {{subscriber.attributes.company}}\n");
	put(kd, "text.mustache", "Company: {{subscriber.attributes.company}}\n");
	put(kd, "html.mustache", "<p>Company: {{subscriber.attributes.company}}</p>\n");
	ann = announcement_load(data, NULL, &error);
	g_assert_no_error(error);
	c = composer_new(ann, users, &key, NULL, 0, &error);
	g_assert_no_error(error);
	g_hash_table_insert(s->attrs, g_strdup("company"),
	    g_strdup("</a><script>alert(1)</script>"));
	g_assert_true(composer_render(c, s, NULL, NULL, 1, out, NULL, NULL,
	    &error));
	m = parse(out);
	text = part_text(m, "text", "plain");
	html = part_text(m, "text", "html");
	g_assert_nonnull(strstr(text, "Company: </a><script>alert(1)</script>"));
	g_assert_null(strstr(html, "<script>"));
	g_assert_nonnull(strstr(html,
	    "Company: &lt;/a&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
	/* headers render raw too: the subject keeps the text as is */
	g_assert_cmpstr(g_mime_message_get_subject(m), ==,
	    "Hi </a><script>alert(1)</script>");
	g_object_unref(m);

	/* a line break in an attribute is refused, naming it */
	g_hash_table_insert(s->attrs, g_strdup("company"),
	    g_strdup("X\r\nBcc: x@y"));
	g_string_truncate(out, 0);
	g_assert_false(composer_render(c, s, NULL, NULL, 1, out, NULL, NULL,
	    &error));
	g_assert_error(error, HERALD_ERROR, HERALD_ERROR_DATA);
	g_assert_nonnull(strstr(error->message, "attribute company"));
	g_assert_cmpuint(out->len, ==, 0);
}

static void
test_injection(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(composer) c = composer_new(summit, users, &key, NULL, 0, &error);
	g_autoptr(GString) out = g_string_new(NULL);
	g_autoptr(subscriber) s = sub_new(5, "mallory@example.com",
	    "Mallory\r\nBcc: x@y");
	g_autofree char *env = NULL;

	g_assert_false(composer_render(c, s, "users", NULL, 9, out, &env, NULL,
	    &error));
	g_assert_error(error, HERALD_ERROR, HERALD_ERROR_DATA);
	g_assert_nonnull(strstr(error->message, "name"));
	g_assert_nonnull(strstr(error->message, "line break"));
	g_assert_cmpuint(out->len, ==, 0);
	g_assert_null(env);
	g_clear_error(&error);
	g_free(s->name);
	s->name = g_strdup("Mallory\nBcc: x@y");
	g_assert_false(composer_render(c, s, "users", NULL, 9, out, NULL, NULL,
	    &error));
	g_clear_error(&error);
	g_free(s->name);
	s->name = NULL;
	g_free(s->email);
	s->email = g_strdup("m@example.com\r\nBcc: x@y");
	g_assert_false(composer_render(c, s, "users", NULL, 9, out, NULL, NULL,
	    &error));
	g_assert_nonnull(strstr(error->message, "email"));
}

/* test_long_name - a name with no space to fold at, longer than a header
 * line may be, is still sent in lines under 998 octets (RFC 2047 words,
 * folded between them) and reads back as the same name */
static void
test_long_name(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(composer) c = composer_new(summit, users, &key, NULL, 0, &error);
	g_autoptr(GString) out = g_string_new(NULL);
	g_autofree char *longname = g_strnfill(1500, 'x');
	g_autoptr(subscriber) s = sub_new(6, "long@example.com", longname);
	GMimeMessage *m;
	InternetAddressList *to;
	InternetAddress *a;

	g_assert_true(composer_render(c, s, "users", NULL, 11, out, NULL, NULL,
	    &error));
	g_assert_no_error(error);
	assert_crlf(out);
	m = parse(out);
	to = g_mime_message_get_to(m);
	g_assert_cmpint(internet_address_list_length(to), ==, 1);
	a = internet_address_list_get_address(to, 0);
	g_assert_cmpstr(internet_address_get_name(a), ==, longname);
	g_object_unref(m);
}

static void
test_non_ascii(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *dir = g_build_filename(tmpdir, "utf", NULL);
	g_autofree char *data = g_build_filename(dir, "utf.conf", NULL);
	g_autofree char *kd = g_build_filename(dir, "t", "summit", NULL);
	g_autoptr(announcement) ann = NULL;
	g_autoptr(composer) c = NULL;
	g_autoptr(GString) out = g_string_new(NULL);
	g_autoptr(subscriber) s = sub_new(3, "jurgen@example.de", "Jürgen Groß");
	g_autofree char *text = NULL;
	GMimeMessage *m;
	InternetAddressList *to;

	g_mkdir_with_parents(kd, 0755);
	g_assert_true(g_file_set_contents(data, "kind = \"summit\"\n"
	    "title = \"Café Xen: réunion à Genève – 2014\"\ntemplates = \"t\"\n",
	    -1, NULL));
	put(kd, "subject.mustache", "{{title}}\n");
	put(kd, "text.mustache", "Grüße, {{subscriber.name}}!\n");
	put(kd, "html.mustache", "<p>Grüße, {{subscriber.name}}!</p>\n");
	ann = announcement_load(data, NULL, &error);
	g_assert_no_error(error);
	c = composer_new(ann, users, &key, NULL, 0, &error);
	g_assert_no_error(error);
	g_assert_true(composer_render(c, s, NULL, NULL, 1, out, NULL, NULL,
	    &error));
	assert_crlf(out);
	/* nothing but ASCII on the wire */
	for (gsize i = 0; i < out->len; i++)
		g_assert_cmpint((guchar)out->str[i], <, 0x80);
	g_assert_nonnull(strstr(out->str, "\r\nSubject: =?"));
	m = parse(out);
	g_assert_cmpstr(g_mime_message_get_subject(m), ==,
	    "Café Xen: réunion à Genève – 2014");
	to = g_mime_message_get_to(m);
	g_assert_cmpstr(internet_address_get_name(internet_address_list_get_address(
	    to, 0)), ==, "Jürgen Groß");
	text = part_text(m, "text", "plain");
	g_assert_cmpstr(text, ==, "Grüße, Jürgen Groß!\r\n");
	g_object_unref(m);
}

static void
test_strict(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *dir = g_build_filename(tmpdir, "strict", NULL);
	g_autofree char *data = g_build_filename(dir, "s.conf", NULL);
	g_autofree char *kd = g_build_filename(dir, "t", "summit", NULL);
	g_autoptr(announcement) ann = NULL;
	g_autoptr(composer) loose = NULL, strict = NULL;
	g_autoptr(GString) out = g_string_new(NULL);
	g_autoptr(subscriber) s = sub_new(3, "a@example.org", NULL);

	g_mkdir_with_parents(kd, 0755);
	g_assert_true(g_file_set_contents(data, "kind = \"summit\"\n"
	    "title = \"T\"\ntemplates = \"t\"\n", -1, NULL));
	put(kd, "subject.mustache", "{{title}} {{nosuch}}\n");
	put(kd, "text.mustache", "{{intro}}{{subscriber.attributes.missing}}\n");
	put(kd, "html.mustache", "<p>{{#segments.users}}u{{/segments.users}}{{other}}</p>\n");
	ann = announcement_load(data, NULL, &error);
	g_assert_no_error(error);
	loose = composer_new(ann, users, &key, NULL, 0, &error);
	g_assert_no_error(error);
	g_assert_true(composer_render(loose, s, NULL, NULL, 1, out, NULL, NULL,
	    &error));
	strict = composer_new(ann, users, &key, NULL, COMPOSER_STRICT, &error);
	g_assert_no_error(error);
	g_assert_false(composer_render(strict, s, NULL, NULL, 1, out, NULL, NULL,
	    &error));
	g_assert_error(error, HERALD_ERROR, HERALD_ERROR_DATA);
	/* every missing name, and not the ones that are present but empty */
	g_assert_nonnull(strstr(error->message, "nosuch"));
	g_assert_nonnull(strstr(error->message, "subscriber.attributes.missing"));
	g_assert_nonnull(strstr(error->message, "other"));
	g_assert_null(strstr(error->message, "intro"));
	g_assert_null(strstr(error->message, "segments.users"));
}

struct thread_arg {
	const struct composer *c;
	int base;
	int bad;
};

/* render_thread - render many messages and parse each one */
static gpointer
render_thread(gpointer data)
{
	struct thread_arg *a = data;
	int i;

	for (i = 0; i < 200; i++) {
		g_autoptr(GString) out = g_string_new(NULL);
		g_autofree char *email = g_strdup_printf("p%d@example.com",
		    a->base + i);
		g_autoptr(subscriber) s = sub_new(a->base + i, email, "Pat Doe");
		const char *seg = i % 2 ? "users" : "developers";
		GMimeMessage *m;

		if (!composer_render(a->c, s, seg, NULL, a->base + i, out, NULL,
		    NULL, NULL)) {
			a->bad++;
			continue;
		}
		m = parse(out);
		if (strcmp(internet_address_mailbox_get_addr(
		    (InternetAddressMailbox *)internet_address_list_get_address(
		    g_mime_message_get_to(m), 0)), email) != 0)
			a->bad++;
		g_object_unref(m);
	}
	return NULL;
}

static void
test_threads(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(composer) c = composer_new(summit, users, &key, NULL, 0, &error);
	struct thread_arg args[4];
	GThread *th[4];
	int i;

	for (i = 0; i < 4; i++) {
		args[i] = (struct thread_arg){ c, i * 1000, 0 };
		th[i] = g_thread_new("render", render_thread, &args[i]);
	}
	for (i = 0; i < 4; i++) {
		g_thread_join(th[i]);
		g_assert_cmpint(args[i].bad, ==, 0);
	}
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
	g_mime_init();
	g_setenv("HERALD_TEMPLATES", tp, TRUE);
	memset(&key, 0x5a, sizeof(key));
	tmpdir = g_dir_make_tmp("test-compose-XXXXXX", &error);
	g_assert_no_error(error);
	users = config_parse_list_file(lf, "lists.example.org", &error);
	g_assert_no_error(error);
	summit = announcement_load("summit", NULL, &error);
	g_assert_no_error(error);
	g_test_add_func("/compose/structure", test_structure);
	g_test_add_func("/compose/escaping", test_escaping);
	g_test_add_func("/compose/injection", test_injection);
	g_test_add_func("/compose/non-ascii", test_non_ascii);
	g_test_add_func("/compose/long-name", test_long_name);
	g_test_add_func("/compose/strict", test_strict);
	g_test_add_func("/compose/threads", test_threads);
	rc = g_test_run();
	announcement_free(summit);
	config_list_free(users);
	{
		g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", tmpdir);

		if (system(cmd) != 0)
			rc = 1;
	}
	g_free(tmpdir);
	return rc;
}
