/*
 * cmd_sub_import.c - herald sub import LIST FILE.csv|- [--strict]
 *
 * The header row names the columns: email (required), name, and any
 * attributes (names are case-insensitive). Each later row adds or updates
 * one subscriber and makes them an active member of LIST. A row that is
 * wrong (bad address, a line break in a value, the wrong number of fields,
 * malformed CSV) is reported on stderr as FILE:LINE: why, and the rest are
 * imported, unless --strict, where one bad row imports nothing.
 *
 * Updates: a non-empty cell sets the name or attribute; an empty cell
 * leaves what is stored. Members who unsubscribed, were disabled by bounces
 * or blocklisted keep that status (an import never re-subscribes anyone).
 *
 * The whole import is one transaction: a failure halfway (a full disk, a
 * kill) leaves the database as it was. Exit 0 when every row went in, 65
 * when some were rejected (the others are in, unless --strict), 66 when the
 * file cannot be opened.
 *
 * Erased addresses (herald sub erase, "Erase me" on the preferences page):
 * a row whose address was erased from LIST is rejected, saying so,
 * unless --allow-erased (the owner's override: it goes in, and the
 * address's hash is forgotten for LIST).
 *
 * Must stay true: one transaction for the file (none of it with --strict
 * and a rejected row); the connection's bulk settings (store_admin.h) are
 * set back whatever happens.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "herald.h"
#include "cmd.h"
#include "cmd_sub.h"
#include "config.h"
#include "csv.h"
#include "store.h"
#include "store_admin.h"
#include "subscriber.h"

struct import {
	const char *label;		/* the file name in messages */
	struct store *store;
	int email_col, name_col;
	GPtrArray *keys;		/* column -> attribute key, or NULL */
	gint64 counts[4];		/* by enum subscriber_outcome */
	gint64 rows, rejected;
	struct cmd_sub_erased *erased;	/* set in import_write */
};

/* import_header - the columns; FALSE and a DATA error if unusable */
static gboolean
import_header(struct import *im, struct csv_reader *r, enum csv_result res,
    GError **error)
{
	guint i, j;

	if (res == CSV_EOF) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_DATA,
		    "%s: empty file (the first row names the columns: email, "
		    "name, attributes…)", im->label);
		return FALSE;
	}
	if (res == CSV_BAD) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_DATA,
		    "%s:%d: header row: %s", im->label, csv_line(r), csv_why(r));
		return FALSE;
	}
	im->email_col = im->name_col = -1;
	for (i = 0; i < csv_nfields(r); i++) {
		g_autofree char *col = g_strstrip(g_ascii_strdown(csv_field(r, i),
		    -1));

		for (j = 0; j < i; j++)
			if (g_strcmp0(col, g_ptr_array_index(im->keys, j)) == 0 ||
			    (strcmp(col, "email") == 0 && (int)j == im->email_col) ||
			    (strcmp(col, "name") == 0 && (int)j == im->name_col)) {
				g_set_error(error, HERALD_ERROR, HERALD_ERROR_DATA,
				    "%s:%d: column \"%s\" appears twice", im->label,
				    csv_line(r), col);
				return FALSE;
			}
		if (strcmp(col, "email") == 0) {
			im->email_col = i;
			g_ptr_array_add(im->keys, NULL);
		} else if (strcmp(col, "name") == 0) {
			im->name_col = i;
			g_ptr_array_add(im->keys, NULL);
		} else {
			if (!subscriber_check_key(col, error)) {
				g_prefix_error(error, "%s:%d: column %u: ", im->label,
				    csv_line(r), i + 1);
				return FALSE;
			}
			g_ptr_array_add(im->keys, g_steal_pointer(&col));
		}
	}
	if (im->email_col < 0) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_DATA,
		    "%s:%d: the header row has no \"email\" column", im->label,
		    csv_line(r));
		return FALSE;
	}
	return TRUE;
}

/* import_reject - report one bad row */
static void
import_reject(struct import *im, int line, const char *why)
{
	fprintf(stderr, "%s:%d: %s\n", im->label, line, why);
	im->rejected++;
}

/* import_rows - every row after the header, inside the transaction;
 * FALSE only for errors that end the import */
static gboolean
import_rows(struct import *im, struct csv_reader *r,
    struct subscriber_writer *w, GError **error)
{
	g_autoptr(GHashTable) attrs = g_hash_table_new(g_str_hash, g_str_equal);
	enum csv_result res;
	guint i;

	while ((res = csv_read(r, error)) != CSV_EOF) {
		g_autoptr(GError) bad = NULL;
		const char *name;

		if (res == CSV_ERROR)
			return FALSE;
		im->rows++;
		if (res == CSV_BAD) {
			import_reject(im, csv_line(r), csv_why(r));
			continue;
		}
		if (csv_nfields(r) != im->keys->len) {
			g_autofree char *why = g_strdup_printf("%u fields, the "
			    "header has %u", csv_nfields(r), im->keys->len);

			import_reject(im, csv_line(r), why);
			continue;
		}
		g_hash_table_remove_all(attrs);
		for (i = 0; i < im->keys->len; i++) {
			const char *key = g_ptr_array_index(im->keys, i);

			if (key != NULL && *csv_field(r, i) != '\0')
				g_hash_table_insert(attrs, (char *)key,
				    (char *)csv_field(r, i));
		}
		name = im->name_col >= 0 ? csv_field(r, im->name_col) : NULL;
		if (cmd_sub_erased_refuse(im->erased, im->store,
		    csv_field(r, im->email_col), &bad)) {
			if (bad != NULL) {
				g_propagate_error(error, g_steal_pointer(&bad));
				return FALSE;
			}
			import_reject(im, csv_line(r), "this address was erased "
			    "at its owner's request: not added back "
			    "(--allow-erased overrides)");
			continue;
		}
		if (!subscriber_writer_queue(w, csv_field(r, im->email_col), name,
		    attrs, &bad)) {
			if (bad->domain != HERALD_ERROR ||
			    bad->code != HERALD_ERROR_DATA) {
				g_propagate_prefixed_error(error,
				    g_steal_pointer(&bad), "%s:%d: ", im->label,
				    csv_line(r));
				return FALSE;
			}
			import_reject(im, csv_line(r), bad->message);
			continue;
		}
	}
	if (!subscriber_writer_finish(w, error)) {
		g_prefix_error(error, "%s: ", im->label);
		return FALSE;
	}
	memcpy(im->counts, subscriber_writer_counts(w), sizeof(im->counts));
	return TRUE;
}

/* import_summary - one line of counts */
static void
import_summary(struct import *im, const char *list, gboolean kept)
{
	printf("%s: %" G_GINT64_FORMAT " rows: %" G_GINT64_FORMAT " added, %"
	    G_GINT64_FORMAT " joined, %" G_GINT64_FORMAT " updated, %"
	    G_GINT64_FORMAT " left as they were (unsubscribed, disabled or "
	    "blocklisted), %" G_GINT64_FORMAT " rejected%s\n", list, im->rows,
	    im->counts[SUBSCRIBER_ADDED], im->counts[SUBSCRIBER_JOINED],
	    im->counts[SUBSCRIBER_UPDATED], im->counts[SUBSCRIBER_KEPT],
	    im->rejected, kept ? "" : "; --strict: nothing imported");
}

/* import_open - FILE ("-": stdin) to read, its name in messages in
 * *LABEL; NULL and *ERROR when it cannot be opened */
static FILE *
import_open(const char *file, const char **label, GError **error)
{
	FILE *fp;

	if (strcmp(file, "-") == 0) {
		*label = "stdin";
		return stdin;
	}
	if ((fp = fopen(file, "r")) == NULL) {
		g_set_error(error, HERALD_ERROR, errno == ENOENT ||
		    errno == EACCES ? HERALD_ERROR_NOINPUT :
		    herald_errno_class(errno), "%s: %s", file, g_strerror(errno));
		return NULL;
	}
	*label = file;
	return fp;
}

/* import_event - the one event for the file (each membership says
 * "import" itself) */
static gboolean
import_event(struct store *store, gint64 list_id, const struct import *im,
    GError **error)
{
	g_autofree char *detail = g_strdup_printf("%s: %" G_GINT64_FORMAT
	    " rows, %" G_GINT64_FORMAT " added, %" G_GINT64_FORMAT " joined, %"
	    G_GINT64_FORMAT " updated, %" G_GINT64_FORMAT " kept, %"
	    G_GINT64_FORMAT " rejected", im->label, im->rows,
	    im->counts[SUBSCRIBER_ADDED], im->counts[SUBSCRIBER_JOINED],
	    im->counts[SUBSCRIBER_UPDATED], im->counts[SUBSCRIBER_KEPT],
	    im->rejected);

	return store_event(store, list_id, 0, "import", "import", detail, error);
}

/* import_write - the rows of R into LIST in one transaction (none of
 * them with STRICT when one is rejected); the exit status, or -1 and
 * *ERROR. The connection is set for a bulk import before, and set back
 * after, whatever happens. */
static int
import_write(struct herald *h, const struct list_config *list,
    struct import *im, struct csv_reader *r, gboolean strict,
    gboolean allow, GError **error)
{
	struct store *store = h->store;
	g_autoptr(subscriber_writer) w = NULL;
	gint64 list_id;
	int rc = -1;

	if (!store_bulk_settings(store, TRUE, error) ||
	    !store_begin(store, error))
		goto out;
	if ((list_id = store_list_id(store, list->name, TRUE, error)) == 0 ||
	    (im->erased = cmd_sub_erased_new(h, list_id, allow, error)) ==
	    NULL ||
	    (w = subscriber_writer_new(store, list_id, "import", error)) == NULL)
		goto fail;
	im->store = store;
	subscriber_writer_quiet(w);
	if (!subscriber_writer_bulk(w, error))
		goto fail;
	subscriber_writer_pipeline(w);
	if (!import_rows(im, r, w, error))
		goto fail;
	g_clear_pointer(&w, subscriber_writer_free);
	if (strict && im->rejected > 0) {
		store_rollback(store);
		import_summary(im, list->name, FALSE);
		rc = EX_DATAERR;
		goto out;
	}
	if (!import_event(store, list_id, im, error) ||
	    !store_commit(store, error))
		goto fail;
	import_summary(im, list->name, TRUE);
	rc = im->rejected > 0 ? EX_DATAERR : EX_OK;
	goto out;
fail:
	/* its writing thread ends before the rollback */
	g_clear_pointer(&w, subscriber_writer_free);
	store_rollback(store);
out:
	g_clear_pointer(&im->erased, cmd_sub_erased_free);
	store_bulk_settings(store, FALSE, NULL);
	return rc;
}

/* cmd_sub_import - herald sub import LIST FILE.csv|- [--strict] */
int
cmd_sub_import(struct herald *h, int argc, char **argv)
{
	gboolean strict = FALSE, allow = FALSE;
	const GOptionEntry entries[] = {
		{ "strict", 0, 0, G_OPTION_ARG_NONE, &strict,
		    "import nothing if any row is rejected", NULL },
		{ "allow-erased", 0, 0, G_OPTION_ARG_NONE, &allow,
		    "add addresses erased at their owners' request back too "
		    "(the owner's override)", NULL },
		{ NULL }
	};
	struct import im = { 0 };
	g_autoptr(csv_reader) r = NULL;
	const struct list_config *list;
	GError *error = NULL;
	enum csv_result res;
	FILE *fp;
	int rc = EX_OK;

	if (!cmd_parse("sub import", "LIST FILE.csv|-", "Import subscribers "
	    "from CSV (\"-\" reads stdin). The header row names the columns: "
	    "email, name, and attributes.", entries, &argc, &argv))
		return EX_USAGE;
	if (argc != 3) {
		fprintf(stderr, "herald sub import: wants LIST and FILE "
		    "(try \"herald sub import --help\")\n");
		return EX_USAGE;
	}
	if ((list = cmd_sub_list(h, "sub import", argv[1], &rc)) == NULL)
		return rc;
	if ((fp = import_open(argv[2], &im.label, &error)) == NULL)
		return cmd_error("sub import", error);
	im.keys = g_ptr_array_new_with_free_func(g_free);
	r = csv_reader_new(fp);
	res = csv_read(r, &error);
	if (res != CSV_ERROR && import_header(&im, r, res, &error))
		rc = import_write(h, list, &im, r, strict, allow, &error);
	if (fp != stdin)
		fclose(fp);
	g_ptr_array_unref(im.keys);
	if (error != NULL)
		return cmd_error("sub import", error);
	return rc;
}
