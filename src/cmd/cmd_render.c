/*
 * cmd_render.c - herald render and herald preview: an announcement as the
 * exact messages a campaign would send, without sending anything.
 *
 *   herald render ANNOUNCEMENT --list LIST (--to EMAIL | --segment S
 *       [--sample N]) [--segments A,B,…] [--out DIR] [--strict]
 *   herald preview ANNOUNCEMENT --list LIST [--segments A,B,…] [--out DIR]
 *
 * render prints one complete RFC 5322 message (CRLF line ends, as handed
 * to SMTP); several are separated by mbox "From " lines; with --out each
 * goes to DIR/NNN-SEGMENT.eml and the paths are printed. A subscriber's
 * message is rendered for the first segment, in the campaign's order
 * (--segments, else the list file's), that they match. preview prints one
 * line per segment: members, the subject they get, and a sample message
 * (a real member when the segment has one, else a placeholder).
 *
 * Everything (announcement, templates, segments, the token secret) is
 * loaded and checked before the first message is made.
 *
 * Both warn on stderr (the exit status stays 0) when a subject is longer
 * than RENDER_SUBJECT_WARN characters: a phone's inbox shows about 40,
 * Gmail's desktop list about 70 (less the sender), so past 60 the end of
 * the subject, often its point, is cut off for most readers. render
 * warns once per distinct subject, preview once per segment line.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <glib/gstdio.h>

#include "herald.h"
#include "cmd.h"
#include "announcement.h"
#include "audience.h"
#include "compose.h"
#include "config.h"
#include "store.h"
#include "subscriber.h"
#include "token.h"

#define RENDER_SUBJECT_WARN 60	/* characters; see the top of the file */

struct render_setup {
	struct announcement *ann;
	const struct list_config *list;
	struct audience *aud;
	struct composer *comp;
	struct token_key key;
};

/* render_setup_clear - free what render_prepare made */
static void
render_setup_clear(struct render_setup *s)
{
	composer_free(s->comp);
	audience_free(s->aud);
	announcement_free(s->ann);
}

/* render_prepare - load and check everything before any message */
static gboolean
render_prepare(struct herald *h, const char *what, const char *listname,
    const char *segments, int flags, struct render_setup *s, GError **error)
{
	g_auto(GStrv) order = NULL;

	if (listname == NULL) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_USAGE,
		    "--list LIST is required");
		return FALSE;
	}
	if ((s->list = config_list(h->config, listname, error)) == NULL)
		return FALSE;
	if (segments != NULL)
		order = g_strsplit(segments, ",", -1);
	if ((s->ann = announcement_load(what, h->config, error)) == NULL ||
	    !token_key_load(h->config->secret, &s->key, error) ||
	    (s->aud = audience_new(h->store, s->list,
	    (const char *const *)order, error)) == NULL)
		return FALSE;
	s->comp = composer_new(s->ann, s->list, &s->key,
	    audience_order(s->aud), flags, error);
	return s->comp != NULL;
}

/* render_one - the message for subscriber ID into OUT; *SEGMENT_OUT is
 * the segment it was rendered for (borrowed, NULL for none) */
static gboolean
render_one(struct herald *h, struct render_setup *s, gint64 id,
    const char *force_segment, GString *out, char **envelope,
    const char **segment_out, char **subject, GError **error)
{
	g_autoptr(subscriber) sub = subscriber_get(h->store, id, error);
	g_autoptr(GPtrArray) matched = g_ptr_array_new();
	const char *segment;

	if (sub == NULL || !audience_match(s->aud, id, matched, error))
		return FALSE;
	segment = force_segment != NULL ? force_segment :
	    matched->len > 0 ? g_ptr_array_index(matched, 0) : NULL;
	g_ptr_array_add(matched, NULL);
	*segment_out = segment;
	/* the message first: under --strict its error names every missing
	 * variable, the subject's alone would name only its own */
	if (!composer_render(s->comp, sub, segment,
	    (const char *const *)matched->pdata, 0, out, envelope, NULL, error))
		return FALSE;
	return subject == NULL || (*subject = composer_subject(s->comp, sub,
	    segment, (const char *const *)matched->pdata, error)) != NULL;
}

/* render_write - OUT to DIR/NAME.eml (0644); the path (caller frees) */
static char *
render_write(const char *dir, const char *name, const GString *out,
    GError **error)
{
	g_autofree char *path = NULL;

	if (g_mkdir_with_parents(dir, 0755) != 0) {
		int e = errno;

		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CANTCREAT,
		    "%s: %s", dir, g_strerror(e));
		return NULL;
	}
	path = g_strdup_printf("%s/%s.eml", dir, name);
	if (!g_file_set_contents_full(path, out->str, out->len,
	    G_FILE_SET_CONTENTS_CONSISTENT, 0644, error)) {
		(*error)->domain = HERALD_ERROR;
		(*error)->code = HERALD_ERROR_CANTCREAT;
		return NULL;
	}
	return g_steal_pointer(&path);
}

/* render_subject_check - warn on stderr when SUBJECT (for SEGMENT, NULL:
 * none) is longer than RENDER_SUBJECT_WARN characters; TRUE if it was */
static gboolean
render_subject_check(const char *cmd, const char *segment,
    const char *subject)
{
	glong n = g_utf8_strlen(subject, -1);

	if (n <= RENDER_SUBJECT_WARN)
		return FALSE;
	fprintf(stderr, "herald %s: warning: the subject%s%s is %ld "
	    "characters, over %d (phones show about 40, Gmail on a desktop "
	    "about 70): %s\n", cmd, segment != NULL ? " for segment " : "",
	    segment != NULL ? segment : "", n, RENDER_SUBJECT_WARN, subject);
	return TRUE;
}

/* render_mbox_from - the mbox separator before a message on stdout */
static void
render_mbox_from(const char *envelope)
{
	g_autoptr(GDateTime) now = g_date_time_new_now_utc();
	g_autofree char *when = g_date_time_format(now, "%a %b %e %H:%M:%S %Y");

	printf("From %s %s\n", envelope, when);
}

int
cmd_render(struct herald *h, int argc, char **argv)
{
	g_autofree char *listname = NULL, *to = NULL, *segment = NULL;
	g_autofree char *outdir = NULL, *segments = NULL;
	gboolean strict = FALSE, no_calendar = FALSE;
	int sample = 0;
	GOptionEntry entries[] = {
		{ "list", 'l', 0, G_OPTION_ARG_STRING, &listname,
		    "the list (required)", "LIST" },
		{ "to", 0, 0, G_OPTION_ARG_STRING, &to,
		    "the message for this subscriber", "EMAIL" },
		{ "segment", 's', 0, G_OPTION_ARG_STRING, &segment,
		    "the messages for this segment's members", "S" },
		{ "sample", 'n', 0, G_OPTION_ARG_INT, &sample,
		    "only the first N members of the segment", "N" },
		{ "segments", 0, 0, G_OPTION_ARG_STRING, &segments,
		    "the campaign's segment order (default: the list file's)",
		    "A,B,…" },
		{ "out", 'o', 0, G_OPTION_ARG_FILENAME, &outdir,
		    "write DIR/NNN-SEGMENT.eml files instead of stdout", "DIR" },
		{ "strict", 0, 0, G_OPTION_ARG_NONE, &strict,
		    "a variable missing from the data is an error", NULL },
		{ "no-calendar", 0, 0, G_OPTION_ARG_NONE, &no_calendar,
		    "leave out the text/calendar part", NULL },
		{ NULL }
	};
	struct render_setup s = { 0 };
	g_autoptr(GArray) ids = NULL;
	g_autoptr(GHashTable) warned = g_hash_table_new_full(g_str_hash,
	    g_str_equal, g_free, NULL);
	GError *error = NULL;
	guint i;

	if (!cmd_parse("render", "ANNOUNCEMENT", "Print the messages an "
	    "announcement makes, exactly as they would be sent.\nANNOUNCEMENT "
	    "is a data file or a kind (its example data).", entries, &argc,
	    &argv))
		return EX_USAGE;
	if (argc != 2 || (to == NULL) == (segment == NULL) || sample < 0 ||
	    (to != NULL && sample > 0)) {
		fprintf(stderr, "herald render: usage: herald render ANNOUNCEMENT "
		    "--list LIST (--to EMAIL | --segment S [--sample N])\n");
		return EX_USAGE;
	}
	if (!render_prepare(h, argv[1], listname, segments,
	    (strict ? COMPOSER_STRICT : 0) |
	    (no_calendar ? COMPOSER_NO_CALENDAR : 0), &s, &error))
		goto fail;
	if (to != NULL) {
		g_autoptr(subscriber) sub = subscriber_find(h->store, to, &error);

		if (sub == NULL)
			goto fail;
		ids = g_array_new(FALSE, FALSE, sizeof(gint64));
		g_array_append_val(ids, sub->id);
	} else if ((ids = audience_members(s.aud, segment, sample,
	    &error)) == NULL) {
		goto fail;
	}
	for (i = 0; i < ids->len; i++) {
		g_autoptr(GString) out = g_string_sized_new(16384);
		g_autofree char *envelope = NULL, *name = NULL, *path = NULL;
		char *subject = NULL;
		const char *seg = NULL;

		if (!render_one(h, &s, g_array_index(ids, gint64, i), segment,
		    out, &envelope, &seg, &subject, &error))
			goto fail;
		if (g_hash_table_contains(warned, subject) ||
		    !render_subject_check("render", seg, subject))
			g_free(subject);
		else
			g_hash_table_add(warned, subject);
		if (outdir != NULL) {
			name = g_strdup_printf("%03u-%s", i + 1, seg != NULL ? seg :
			    "none");
			if ((path = render_write(outdir, name, out, &error)) == NULL)
				goto fail;
			printf("%s\t%s\n", path, envelope);
			continue;
		}
		if (ids->len > 1)
			render_mbox_from(envelope);
		fwrite(out->str, 1, out->len, stdout);
	}
	if (ids->len == 0)
		fprintf(stderr, "herald render: segment %s has no active "
		    "members\n", segment);
	render_setup_clear(&s);
	return fflush(stdout) == 0 ? EX_OK : EX_IOERR;
fail:
	render_setup_clear(&s);
	return cmd_error("render", error);
}

/* preview_line - one segment's line (SEGMENT NULL: the whole list) */
static gboolean
preview_line(struct herald *h, struct render_setup *s, const char *segment,
    const char *dir, GError **error)
{
	g_autoptr(GArray) ids = audience_members(s->aud, segment, 1, error);
	g_autoptr(GString) out = g_string_sized_new(16384);
	g_autofree char *path = NULL, *subject = NULL;
	gint64 count = audience_count(s->aud, segment, error);
	const char *seg = NULL;

	if (ids == NULL || count < 0)
		return FALSE;
	if (ids->len > 0) {
		if (!render_one(h, s, g_array_index(ids, gint64, 0), segment,
		    out, NULL, &seg, &subject, error))
			return FALSE;
	} else {
		/* nobody there yet: a placeholder subscriber in that segment */
		struct subscriber ph = { 0 };
		const char *matched[] = { segment, NULL };

		ph.email = (char *)"someone@example.org";
		ph.name = (char *)"Sample Subscriber";
		if (!composer_render(s->comp, &ph, segment,
		    segment != NULL ? matched : NULL, 0, out, NULL, NULL, error))
			return FALSE;
		subject = composer_subject(s->comp, &ph, segment,
		    segment != NULL ? matched : NULL, error);
	}
	if (subject == NULL ||
	    (path = render_write(dir, segment != NULL ? segment : "_all", out,
	    error)) == NULL)
		return FALSE;
	printf("%-22s %6" G_GINT64_FORMAT "  %s  %s\n", segment != NULL ?
	    segment : "(whole list)", count, subject, path);
	render_subject_check("preview", segment, subject);
	return TRUE;
}

int
cmd_preview(struct herald *h, int argc, char **argv)
{
	g_autofree char *listname = NULL, *outdir = NULL, *segments = NULL;
	g_autofree char *dir = NULL;
	GOptionEntry entries[] = {
		{ "list", 'l', 0, G_OPTION_ARG_STRING, &listname,
		    "the list (required)", "LIST" },
		{ "segments", 0, 0, G_OPTION_ARG_STRING, &segments,
		    "the campaign's segment order (default: the list file's)",
		    "A,B,…" },
		{ "out", 'o', 0, G_OPTION_ARG_FILENAME, &outdir,
		    "where the sample messages go (default: DATA/preview/NAME)",
		    "DIR" },
		{ NULL }
	};
	struct render_setup s = { 0 };
	const char *const *order;
	GError *error = NULL;

	if (!cmd_parse("preview", "ANNOUNCEMENT", "One line per segment: "
	    "members, the subject they get, and a sample message.", entries,
	    &argc, &argv))
		return EX_USAGE;
	if (argc != 2) {
		fprintf(stderr, "herald preview: usage: herald preview "
		    "ANNOUNCEMENT --list LIST\n");
		return EX_USAGE;
	}
	if (!render_prepare(h, argv[1], listname, segments, 0, &s, &error))
		goto fail;
	dir = outdir != NULL ? g_strdup(outdir) :
	    g_build_filename(h->config->data_dir, "preview", s.ann->name, NULL);
	printf("%-22s %6s  %s  %s\n", "SEGMENT", "COUNT", "SUBJECT", "SAMPLE");
	for (order = audience_order(s.aud); *order != NULL; order++)
		if (!preview_line(h, &s, *order, dir, &error))
			goto fail;
	if (!preview_line(h, &s, NULL, dir, &error))
		goto fail;
	render_setup_clear(&s);
	return fflush(stdout) == 0 ? EX_OK : EX_IOERR;
fail:
	render_setup_clear(&s);
	return cmd_error("preview", error);
}
