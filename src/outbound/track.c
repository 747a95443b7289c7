/*
 * track.c - find and rewrite the links of an announcement's copies (see
 * track.h for what is rewritten and what never is).
 *
 * A link is found the same way when the links are registered (the
 * sample's copy) and when a message is written, so a link is rewritten
 * exactly when its text equals a registered one. In text, a link starts
 * at "http://" or "https://" and ends before white space, a quote, < or
 * >, without the sentence's closing punctuation; in HTML, it is the
 * value of an href attribute. A link that runs into a subscriber's slot
 * marker (compose.c's cache) is not one (its text is personal).
 *
 * Must stay true: the rewritten URL is web.base_url, "/l/" and a token
 * (base32 and '-'): nothing in it needs escaping in HTML or text.
 */
#include <string.h>

#include "herald.h"
#include "compose.h"
#include "store_clicks.h"
#include "track.h"

#define TRACK_MARK '\001'	/* compose.c's slot marker */

struct track_links {
	const struct list_config *list;
	struct token_key key;
	gint64 campaign;
	gboolean test;
	GHashTable *ids;	/* "segment\nurl" -> gint64 * */
};

/* track_links_new - see track.h */
struct track_links *
track_links_new(const struct list_config *list, const struct token_key *key,
    gint64 campaign, gboolean test)
{
	struct track_links *t = g_new0(struct track_links, 1);

	t->list = list;
	t->key = *key;
	t->campaign = campaign;
	t->test = test;
	t->ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
	    g_free);
	return t;
}

/* track_links_free - T and its map */
void
track_links_free(struct track_links *t)
{
	if (t == NULL)
		return;
	g_hash_table_unref(t->ids);
	g_free(t);
}

/* track_links_add - see track.h */
void
track_links_add(struct track_links *t, const char *segment, const char *url,
    gint64 id)
{
	g_hash_table_replace(t->ids, g_strdup_printf("%s\n%s", segment != NULL ?
	    segment : "", url), g_memdup2(&id, sizeof(id)));
}

/* track_per_message - see track.h */
gboolean
track_per_message(const struct track_links *t)
{
	return t->list->track_clicks == TRACK_CLICKS_PER_SUBSCRIBER ||
	    t->list->track_opens;
}

/* track_is_scheme - S starts with http:// or https:// (any case) */
static gboolean
track_is_scheme(const char *s, gsize n)
{
	return (n >= 7 && g_ascii_strncasecmp(s, "http://", 7) == 0) ||
	    (n >= 8 && g_ascii_strncasecmp(s, "https://", 8) == 0);
}

/* track_text_end - where the text link at S (before END) ends; 0 bytes
 * when it runs into a slot marker */
static gsize
track_text_end(const char *s, const char *end)
{
	const char *p = s;
	gsize n;

	while (p < end && !g_ascii_isspace(*p) && *p != '"' && *p != '\'' &&
	    *p != '<' && *p != '>' && (guchar)*p >= 0x20)
		p++;
	if (p < end && *p == TRACK_MARK)
		return 0;
	n = p - s;
	while (n > 0 && strchr(".,;:!?", s[n - 1]) != NULL)
		n--;
	if (n > 0 && s[n - 1] == ')' && memchr(s, '(', n) == NULL)
		n--;
	return n;
}

/* track_href - at P (before END) an href attribute's quoted value?
 * *VAL and *LEN are its text then */
static gboolean
track_href(const char *p, const char *end, const char **val, gsize *len)
{
	const char *q, *close;

	if (end - p < 6 || g_ascii_strncasecmp(p, "href", 4) != 0 ||
	    !g_ascii_isspace(p[-1]))
		return FALSE;
	for (q = p + 4; q < end && (*q == ' ' || *q == '\t'); q++)
		;
	if (q >= end || *q++ != '=')
		return FALSE;
	while (q < end && (*q == ' ' || *q == '\t'))
		q++;
	if (q >= end || (*q != '"' && *q != '\''))
		return FALSE;
	close = memchr(q + 1, *q, end - q - 1);
	if (close == NULL)
		return FALSE;
	*val = q + 1;
	*len = close - q - 1;
	return TRUE;
}

/* track_url - the link's text as registered: HTML's "&amp;" decoded */
static char *
track_url(const char *s, gsize n, gboolean html)
{
	GString *u = g_string_sized_new(n);
	gsize i;

	for (i = 0; i < n; i++) {
		g_string_append_c(u, s[i]);
		if (html && s[i] == '&' && n - i >= 5 &&
		    memcmp(s + i, "&amp;", 5) == 0)
			i += 4;
	}
	return g_string_free(u, FALSE);
}

/* track_next - the next link in [*P, END): its start and length, *P past
 * it; FALSE when there is none */
static gboolean
track_next(const char **p, const char *end, gboolean html,
    const char **at, gsize *len)
{
	const char *s;

	for (s = *p; s < end; s++) {
		if (html) {
			if ((*s != 'h' && *s != 'H') || s == *p ||
			    !track_href(s, end, at, len))
				continue;
			*p = *at + *len;
			if (!track_is_scheme(*at, *len) ||
			    memchr(*at, TRACK_MARK, *len) != NULL) {
				s = *p - 1;
				continue;
			}
			return TRUE;
		}
		if ((*s != 'h' && *s != 'H') || !track_is_scheme(s, end - s) ||
		    (s > *p && g_ascii_isalnum(s[-1])))
			continue;
		*len = track_text_end(s, end);
		*at = s;
		*p = s + MAX(*len, 1);
		if (*len > 8)
			return TRUE;
		s = *p - 1;
	}
	*p = end;
	return FALSE;
}

/* track_collect - see track.h */
void
track_collect(const char *text, gsize len, gboolean html, const char *segment,
    const char *const *skip, GHashTable *set)
{
	const char *p = text, *end = text + len, *at;
	const char *const *k;
	gsize n;

	while (track_next(&p, end, html, &at, &n)) {
		g_autofree char *url = track_url(at, n, html);

		for (k = skip; k != NULL && *k != NULL; k++)
			if (**k != '\0' && strstr(url, *k) != NULL)
				break;
		if (k == NULL || *k == NULL)
			g_hash_table_add(set, g_strdup_printf("%s\n%s",
			    segment != NULL ? segment : "", url));
	}
}

/* track_token_url - BASE/KIND/TOKEN for PURPOSE of (REF, DELIVERY) */
static char *
track_token_url(const struct track_links *t, const char *kind,
    enum token_purpose purpose, gint64 ref, gint64 delivery)
{
	g_autofree char *tok = token_make(&t->key, t->test ?
	    (enum token_purpose)(purpose | TOKEN_TEST) : purpose,
	    t->list->name, ref, delivery);

	return g_strdup_printf("%s/%s/%s", t->list->track_base_url, kind, tok);
}

/* track_pixel - the open image for DELIVERY before </body> of PART (at
 * the end when there is none) */
static void
track_pixel(const struct track_links *t, gint64 delivery, GString *part,
    gsize from)
{
	g_autofree char *url = track_token_url(t, "o", TOKEN_OPEN, t->campaign,
	    delivery);
	g_autofree char *img = g_strdup_printf("<img src=\"%s\" width=\"1\""
	    " height=\"1\" alt=\"\" style=\"display:block;border:0\">", url);
	gsize i, at = part->len;

	for (i = part->len; i >= from + 7 && i > 7; i--)
		if (g_ascii_strncasecmp(part->str + i - 7, "</body>", 7) == 0) {
			at = i - 7;
			break;
		}
	g_string_insert(part, at, img);
}

/* track_rewrite - see track.h */
void
track_rewrite(const struct track_links *t, const char *segment,
    gint64 delivery, GString *part, gsize from, gboolean html)
{
	g_autoptr(GString) out = NULL;
	g_autoptr(GString) key = g_string_new(NULL);
	const char *p = part->str + from, *end = part->str + part->len, *at;
	const char *copied = p;
	gint64 per = t->list->track_clicks == TRACK_CLICKS_PER_SUBSCRIBER ?
	    delivery : 0;
	gsize n;

	if (t->list->track_clicks != TRACK_CLICKS_OFF) {
		out = g_string_sized_new(part->len + 256);
		g_string_append_len(out, part->str, from);
		while (track_next(&p, end, html, &at, &n)) {
			g_autofree char *url = track_url(at, n, html);
			g_autofree char *to = NULL;
			const gint64 *id;

			g_string_printf(key, "%s\n%s", segment != NULL ?
			    segment : "", url);
			if ((id = g_hash_table_lookup(t->ids, key->str)) == NULL)
				continue;
			to = track_token_url(t, "l", TOKEN_CLICK, *id, per);
			g_string_append_len(out, copied, at - copied);
			g_string_append(out, to);
			copied = at + n;
		}
		g_string_append_len(out, copied, end - copied);
		g_string_assign(part, out->str);
	}
	if (html && t->list->track_opens && (delivery > 0 || t->test))
		track_pixel(t, delivery, part, from);
}

/* track_setup - see track.h */
gboolean
track_setup(struct store *store, const struct list_config *list,
    struct composer *c, gint64 campaign, gboolean test, GError **error)
{
	g_autoptr(GHashTable) set = NULL;
	struct track_links *t;
	GHashTableIter it;
	gpointer k;

	if (list->track_clicks == TRACK_CLICKS_OFF && !list->track_opens)
		return TRUE;
	if ((set = composer_links(c, error)) == NULL)
		return FALSE;
	t = track_links_new(list, composer_key(c), test ? 0 : campaign, test);
	if (!store_begin(store, error))
		goto fail;
	g_hash_table_iter_init(&it, set);
	while (g_hash_table_iter_next(&it, &k, NULL)) {
		const char *nl = strchr(k, '\n');
		g_autofree char *segment = g_strndup(k, nl - (const char *)k);
		gint64 id;

		if (!store_link_ensure(store, t->campaign, segment, nl + 1, &id,
		    error)) {
			store_rollback(store);
			goto fail;
		}
		track_links_add(t, segment, nl + 1, id);
	}
	if (!store_commit(store, error))
		goto fail;
	composer_set_tracking(c, t);
	return TRUE;
fail:
	track_links_free(t);
	return FALSE;
}
