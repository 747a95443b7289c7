/*
 * instance.c - the throwaway herald instance of the fuzz targets that
 * need one (see fuzz.h): made once per process in a temporary folder,
 * removed at exit.
 *
 * The lists are the shipped ones (the .conf files of lists/, read from the current
 * folder, or $TOP when set: make and the tests run from the top). The
 * relay is 127.0.0.1 port 9, which refuses: a notice is tried, fails at
 * once and stays queued, and nothing leaves the machine.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gstdio.h>

#include "herald.h"
#include "fuzz.h"
#include "store.h"

static struct fuzz_instance *instance;

/* fuzz_die - the instance cannot be made: nothing to fuzz */
static void
fuzz_die(const char *what, GError *error)
{
	fprintf(stderr, "fuzz instance: %s: %s\n", what,
	    error != NULL ? error->message : "failed");
	abort();
}

/* fuzz_instance_remove - at exit: the folder and all in it */
static void
fuzz_instance_remove(void)
{
	g_autofree char *cmd = NULL;

	if (instance == NULL || instance->dir == NULL)
		return;
	cmd = g_strdup_printf("rm -rf '%s'", instance->dir);
	if (system(cmd) != 0) {
		/* left behind in the temporary folder */
	}
}

/* fuzz_copy_lists - the shipped list files into DIR/lists */
static void
fuzz_copy_lists(const char *dir)
{
	const char *top = g_getenv("TOP") != NULL ? g_getenv("TOP") : ".";
	g_autofree char *from = g_build_filename(top, "lists", NULL);
	g_autofree char *to = g_build_filename(dir, "lists", NULL);
	g_autoptr(GDir) d = g_dir_open(from, 0, NULL);
	const char *name;

	if (d == NULL || g_mkdir_with_parents(to, 0700) != 0)
		fuzz_die(from, NULL);
	while ((name = g_dir_read_name(d)) != NULL) {
		g_autofree char *src = NULL, *dst = NULL, *text = NULL;
		gsize len;

		if (!g_str_has_suffix(name, ".conf"))
			continue;
		src = g_build_filename(from, name, NULL);
		dst = g_build_filename(to, name, NULL);
		if (!g_file_get_contents(src, &text, &len, NULL) ||
		    !g_file_set_contents(dst, text, (gssize)len, NULL))
			fuzz_die(src, NULL);
	}
}

/* fuzz_instance - see fuzz.h */
struct fuzz_instance *
fuzz_instance(void)
{
	struct fuzz_instance *fi;
	g_autofree char *conf = NULL, *text = NULL;
	struct store *st;
	GError *error = NULL;
	gboolean existed;

	if (instance != NULL)
		return instance;
	fi = g_new0(struct fuzz_instance, 1);
	if ((fi->dir = g_dir_make_tmp("herald-fuzz-XXXXXX", &error)) == NULL)
		fuzz_die("temporary folder", error);
	instance = fi;
	atexit(fuzz_instance_remove);
	fuzz_copy_lists(fi->dir);
	conf = g_build_filename(fi->dir, "herald.conf", NULL);
	text = g_strdup_printf("data_dir = \"%s/data\"\n"
	    "list_dir = \"%s/lists\"\n"
	    "domain = \"lists.example.org\"\n"
	    "smtp {\n  host = \"127.0.0.1\"\n  port = 9\n"
	    "  starttls = \"off\"\n  timeout = 1\n}\n", fi->dir, fi->dir);
	if (!g_file_set_contents(conf, text, -1, &error) ||
	    (fi->config = config_load(conf, &error)) == NULL)
		fuzz_die(conf, error);
	if (g_mkdir_with_parents(fi->config->data_dir, 0700) != 0 ||
	    g_mkdir_with_parents(fi->config->spool_dir, 0700) != 0)
		fuzz_die(fi->config->data_dir, NULL);
	if ((st = store_open(fi->config->database, STORE_OPEN_CREATE,
	    &error)) == NULL || !store_migrate(st, NULL, &error) ||
	    !store_exec(st,
	    "INSERT INTO lists(name) VALUES ('xen-users'), ('xen-devel');"
	    "INSERT INTO subscribers(email, email_key, name, attrs) VALUES"
	    " ('alice@subs.test', 'alice@subs.test', 'Alice',"
	    "  '{\"role\":\"developer\",\"region\":\"europe\"}'),"
	    " ('bob@subs.test', 'bob@subs.test', 'Bob', '{\"role\":\"user\"}'),"
	    " ('carol@subs.test', 'carol@subs.test', NULL, '{}');"
	    "INSERT INTO memberships(list_id, subscriber_id, status) VALUES"
	    " (1, 1, 'active'), (2, 1, 'active'), (1, 2, 'active'),"
	    " (1, 3, 'pending');", &error))
		fuzz_die(fi->config->database, error);
	store_close(st);
	if (!token_key_create(fi->config->secret, &fi->key, &existed, &error))
		fuzz_die(fi->config->secret, error);
	if (!g_file_get_contents(fi->config->database, &fi->pristine,
	    &fi->pristine_len, &error))
		fuzz_die(fi->config->database, error);
	return fi;
}

/* fuzz_instance_reset - see fuzz.h */
void
fuzz_instance_reset(struct fuzz_instance *fi)
{
	g_autofree char *wal = g_strconcat(fi->config->database, "-wal", NULL);
	g_autofree char *shm = g_strconcat(fi->config->database, "-shm", NULL);
	GError *error = NULL;

	g_unlink(wal);
	g_unlink(shm);
	if (!g_file_set_contents(fi->config->database, fi->pristine,
	    (gssize)fi->pristine_len, &error))
		fuzz_die(fi->config->database, error);
}

/* fuzz_tokens - see fuzz.h */
char *
fuzz_tokens(struct fuzz_instance *fi, const char *text, gsize len,
    gsize *out_len)
{
	static const struct { const char *mark; int purpose; gint64 sub; }
	    marks[] = {
		{ "{U}", TOKEN_UNSUBSCRIBE, 1 },
		{ "{B}", TOKEN_BOUNCE, 1 },
		{ "{S}", TOKEN_CONFIRM_SUBSCRIBE, 3 },
		{ "{C}", TOKEN_CONFIRM_UNSUBSCRIBE, 1 },
		{ "{T}", TOKEN_TEST_UNSUBSCRIBE, 1 },
	};
	GString *out = g_string_sized_new(len + 1);
	gsize i, m;

	for (i = 0; i < len; i++) {
		for (m = 0; m < G_N_ELEMENTS(marks); m++)
			if (len - i >= 3 && memcmp(text + i, marks[m].mark, 3) == 0)
				break;
		if (m == G_N_ELEMENTS(marks)) {
			g_string_append_c(out, text[i]);
			continue;
		}
		g_autofree char *t = token_make(&fi->key, marks[m].purpose,
		    "xen-users", marks[m].sub, marks[m].purpose == TOKEN_BOUNCE ?
		    1 : 0);
		g_string_append(out, t);
		i += 2;
	}
	*out_len = out->len;
	return g_string_free(out, FALSE);
}
