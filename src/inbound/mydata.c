/*
 * mydata.c - a subscriber's download and erasure (see mydata.h).
 *
 * Must stay true: the download holds only rows that name this
 * subscriber; an erasure is one transaction.
 */
#include <stdio.h>
#include <string.h>

#include "herald.h"
#include "json_out.h"
#include "mydata.h"
#include "store_erase.h"
#include "subscriber.h"

/* mydata_value - column C of ROWS as its type T says (the attributes,
 * a JSON text in the store, go as that text) */
static void
mydata_value(struct json_out *j, struct store_rows *rows, int c, char t)
{
	if (store_null(rows, c))
		json_out_null(j);
	else if (t == 'i')
		json_out_int(j, store_int(rows, c));
	else if (t == 't')
		json_out_time(j, store_int(rows, c));
	else
		json_out_string(j, store_text(rows, c));
}

/* mydata_section - section S's rows as an array (the subscriber as an
 * object) */
static gboolean
mydata_section(struct json_out *j, struct store *store,
    const struct store_mydata_section *s, guint i, gint64 sub,
    GError **error)
{
	g_autoptr(store_rows) rows = store_mydata_rows(store, i, sub, error);
	gboolean one = strcmp(s->name, "subscriber") == 0;
	GError *err = NULL;
	guint c;

	if (rows == NULL)
		return FALSE;
	json_out_key(j, s->name);
	if (!one)
		json_out_array(j);
	while (store_next(rows, &err)) {
		json_out_object(j);
		for (c = 0; s->columns[c] != NULL; c++) {
			json_out_key(j, s->columns[c] + 2);
			mydata_value(j, rows, c, s->columns[c][0]);
		}
		json_out_end(j);
		if (one)
			break;
	}
	if (!one)
		json_out_end(j);
	if (err != NULL) {
		g_propagate_error(error, err);
		return FALSE;
	}
	return TRUE;
}

/* mydata_json - see mydata.h */
char *
mydata_json(struct store *store, gint64 sub, GError **error)
{
	const struct store_mydata_section *s;
	struct json_out j;
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);
	gboolean ok = TRUE;
	guint n, i;

	if (fp == NULL) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_TEMP,
		    "out of memory");
		return NULL;
	}
	s = store_mydata_sections(&n);
	json_out_init(&j, fp);
	json_out_object(&j);
	json_out_kstring(&j, "about", "every row herald keeps about you");
	for (i = 0; ok && i < n; i++)
		ok = mydata_section(&j, store, &s[i], i, sub, error);
	json_out_end(&j);
	json_out_end_line(&j);
	fclose(fp);
	if (!ok) {
		free(buf);
		return NULL;
	}
	{
		char *out = g_strndup(buf, len);

		free(buf);
		return out;
	}
}

/* mydata_erase - see mydata.h */
gboolean
mydata_erase(struct store *store, const struct token_key *key, gint64 sub,
    GError **error)
{
	g_autoptr(subscriber) s = subscriber_get(store, sub, error);
	g_autofree char *hash = NULL;

	if (s == NULL)
		return FALSE;
	hash = token_address_hash(key, s->email);
	return store_erase_subscriber(store, sub, hash,
	    g_get_real_time() / G_USEC_PER_SEC, error);
}
