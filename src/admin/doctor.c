/*
 * doctor.c - herald doctor's checks (see doctor.h): keys against their
 * published records, alignment with From, the List-* headers of a sample
 * rendered and signed as a campaign would be, the one-click URL answered
 * by herald serve, over-signing, and the sample's signatures verified.
 *
 * Must stay true: nothing here changes state; the one-click check posts a
 * test token, which acts on nobody.
 */
#include <stdarg.h>
#include <string.h>

#include "herald.h"
#include "announcement.h"
#include "compose.h"
#include "config.h"
#include "dkim.h"
#include "doctor.h"
#include "probe.h"
#include "subscriber.h"
#include "token.h"


static void
doctor_check(GPtrArray *checks, enum doctor_result r, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

static void
doctor_check(GPtrArray *checks, enum doctor_result r, const char *fmt, ...)
{
	struct doctor_check *c = g_new0(struct doctor_check, 1);
	va_list ap;

	va_start(ap, fmt);
	c->result = r;
	c->text = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_ptr_array_add(checks, c);
}

static void
doctor_check_free(gpointer p)
{
	struct doctor_check *c = p;

	g_free(c->text);
	g_free(c);
}

/* the records the doctor's verifier sees: the published ones (--txt)
 * when given, else the keys' own */
struct doctor_dns {
	const struct list_dkim *cfg;
	const char *rsa;
	const char *ed25519;
};

static const char *
doctor_lookup(const char *selector, const char *domain, gpointer data)
{
	struct doctor_dns *dns = data;

	if (g_ascii_strcasecmp(domain, dns->cfg->domain) != 0)
		return NULL;
	if (g_ascii_strcasecmp(selector, dns->cfg->selector) == 0)
		return dns->rsa;
	if (dns->cfg->ed25519_selector != NULL &&
	    g_ascii_strcasecmp(selector, dns->cfg->ed25519_selector) == 0)
		return dns->ed25519;
	return NULL;
}

/* doctor_header_present - MSG's header block has a NAME: header */
static gboolean
doctor_header_present(const char *msg, const char *name)
{
	const char *end = strstr(msg, "\r\n\r\n");
	size_t n = strlen(name);
	const char *p = msg;

	while (p != NULL && (end == NULL || p < end)) {
		if (g_ascii_strncasecmp(p, name, n) == 0 && p[n] == ':')
			return TRUE;
		p = strstr(p, "\r\n");
		if (p != NULL)
			p += 2;
	}
	return FALSE;
}

/* doctor_header_value - the unfolded value of MSG's first NAME: header
 * (caller frees), NULL when there is none */
static char *
doctor_header_value(const char *msg, const char *name)
{
	const char *end = strstr(msg, "\r\n\r\n");
	size_t n = strlen(name);
	const char *p = msg, *eol;
	GString *v;

	while (p != NULL && (end == NULL || p < end)) {
		if (g_ascii_strncasecmp(p, name, n) == 0 && p[n] == ':')
			break;
		p = strstr(p, "\r\n");
		if (p != NULL)
			p += 2;
	}
	if (p == NULL || (end != NULL && p >= end))
		return NULL;
	v = g_string_new(NULL);
	for (p += n + 1; (eol = strstr(p, "\r\n")) != NULL; p = eol + 2) {
		g_string_append_len(v, p, eol - p);
		if (eol[2] != ' ' && eol[2] != '\t')
			break;
	}
	if (eol == NULL)
		g_string_append(v, p);
	return g_strstrip(g_string_free(v, FALSE));
}

/* doctor_url - the http(s) URL among the <…> of a List-Unsubscribe
 * value (caller frees), NULL when there is none */
static char *
doctor_url(const char *value)
{
	const char *p = value, *e;

	while (value != NULL && (p = strchr(p, '<')) != NULL) {
		p++;
		if ((e = strchr(p, '>')) == NULL)
			break;
		if (g_ascii_strncasecmp(p, "https://", 8) == 0 ||
		    g_ascii_strncasecmp(p, "http://", 7) == 0)
			return g_strndup(p, e - p);
		p = e;
	}
	return NULL;
}

/* doctor_hint - why herald serve may answer STATUS to a one-click */
static const char *
doctor_hint(unsigned status)
{
	switch (status) {
	case 400:
		return ": the test token was not taken (does that herald serve "
		    "read this herald.conf and its token secret?)";
	case 404:
		return ": herald serve has no such page (unsubscribe_base_url "
		    "must be the web base_url followed by /unsubscribe/)";
	case 429:
		return ": rate limited, wait a minute";
	case 503:
		return ": busy, try again";
	default:
		return "";
	}
}

/* doctor_one_click - the one-click URL of the sample MSG against the
 * web side's base URL, then herald serve's answer to one RFC 8058 POST of
 * a test token (TK, NULL with KEY_ERR when there is no secret) at the
 * path that URL has behind the proxy. A test token acts on nobody (web.c
 * answers 200 and changes nothing); its extra id is random, so doctor
 * runs in a row do not meet serve's per-token limit (web.token_rate). */
static void
doctor_one_click(GPtrArray *checks, const struct config *config,
    const struct list_config *list, const struct doctor_opts *o,
    const char *msg, const struct token_key *tk, const GError *key_err)
{
	const char *base = config->web.base_url;
	const char *listen = o->listen != NULL ? o->listen : config->web.listen;
	g_autofree char *hdr = NULL, *url = NULL, *want = NULL, *token = NULL;
	g_autofree char *target = NULL, *host = NULL;
	const char *path, *h;
	struct probe_reply rp;
	GError *err = NULL;

	if (list->unsubscribe_base_url == NULL) {
		doctor_check(checks, DOCTOR_SKIP, "one-click URL: no web side "
		    "configured (no web { base_url } in %s, no "
		    "unsubscribe_base_url in %s): herald serve not probed",
		    config->path != NULL ? config->path : "herald.conf",
		    list->file);
		return;
	}
	hdr = doctor_header_value(msg, "List-Unsubscribe");
	url = doctor_url(hdr);
	want = base != NULL ? g_strconcat(base, "/", NULL) :
	    g_strdup(list->unsubscribe_base_url);
	if (url == NULL)
		doctor_check(checks, DOCTOR_FAIL, "one-click URL: the sample's "
		    "List-Unsubscribe has no https URL");
	else {
		/* the sample's token is a real one: not shown */
		int cut = (int)(strrchr(url, '/') + 1 - url);
		gboolean in = g_str_has_prefix(url, want);

		doctor_check(checks, in ? DOCTOR_PASS : DOCTOR_FAIL, "one-click URL "
		    "%.*s… %s %s %s%s%s%s", cut, url, in ? "starts with" :
		    "does NOT start with", base != NULL ? "the web base_url" :
		    "unsubscribe_base_url", base != NULL ? base : want,
		    base != NULL && !in ? " (herald serve behind it never sees "
		    "the click: unsubscribe_base_url in " : "",
		    base != NULL && !in ? list->file : "",
		    base != NULL && !in ? ")" : "");
	}
	if (tk == NULL) {
		doctor_check(checks, DOCTOR_FAIL, "one-click URL served: no token "
		    "secret (%s), herald serve not probed", key_err->message);
		return;
	}
	token = token_make(tk, TOKEN_TEST_UNSUBSCRIBE, list->name, 0,
	    g_random_int_range(1, G_MAXINT32));
	target = g_strconcat(list->unsubscribe_base_url, token, NULL);
	/* the proxy passes BASE/… on as /… (herald web nginx) */
	h = strstr(target, "://") + 3;
	if (base != NULL && g_str_has_prefix(target, base) &&
	    target[strlen(base)] == '/')
		path = target + strlen(base);
	else if ((path = strchr(h, '/')) == NULL)
		path = "/";
	host = g_strndup(h, strcspn(h, "/"));
	if (!probe_post(listen, host, path, "application/x-www-form-urlencoded",
	    "List-Unsubscribe=One-Click", PROBE_TIMEOUT_MS, &rp, &err)) {
		if (rp.refused)
			doctor_check(checks, DOCTOR_FAIL, "one-click URL served: herald "
			    "serve is not running at %s: connection refused (POST "
			    "%s for %s)", listen, path, target);
		else
			doctor_check(checks, DOCTOR_FAIL, "one-click URL served: POST "
			    "%s to herald serve at %s (for %s): %s", path, listen,
			    target, err->message);
		g_error_free(err);
		return;
	}
	doctor_check(checks, rp.status == 200 ? DOCTOR_PASS : DOCTOR_FAIL,
	    "one-click URL served: herald serve at %s answered %u %s to POST "
	    "%s (for %s)%s", listen, rp.status, rp.reason, path, target,
	    rp.status == 200 ? ": a test token, nobody is unsubscribed" :
	    doctor_hint(rp.status));
}

/* doctor_h_count - how often NAME is in the h= of the first signature */
static int
doctor_h_count(const char *msg, const char *name)
{
	const char *h = strstr(msg, " h=");
	g_autofree char *flat = NULL;
	g_auto(GStrv) names = NULL;
	int n = 0, i;

	if (h == NULL)
		h = strstr(msg, "\th=");
	if (h == NULL)
		return 0;
	flat = g_strndup(h + 3, strcspn(h + 3, ";"));
	g_strdelimit(flat, "\r\n\t ", ' ');
	g_strstrip(flat);
	names = g_strsplit(flat, ":", -1);
	for (i = 0; names[i] != NULL; i++) {
		g_strstrip(names[i]);
		if (g_ascii_strcasecmp(names[i], name) == 0)
			n++;
	}
	return n;
}

/* doctor_key - load KEY_FILE as TYPE, saying whether it could be read */
static struct dkim_key *
doctor_key(GPtrArray *checks, const char *key_file, enum dkim_key_type type,
    const char *selector, int want_bits)
{
	GError *err = NULL;
	struct dkim_key *key = dkim_key_load(key_file, type, &err);

	if (key == NULL) {
		doctor_check(checks, DOCTOR_FAIL, "key readable: %s",
		    err->message);
		g_clear_error(&err);
	} else if (want_bits)
		doctor_check(checks, DOCTOR_PASS, "key readable: %s (rsa, %d "
		    "bits, s=%s)", key_file, dkim_key_bits(key), selector);
	else
		doctor_check(checks, DOCTOR_PASS, "key readable: %s "
		    "(ed25519, s=%s)", key_file, selector);
	return key;
}

/* doctor_published - the p= of the published record TXT against KEY's:
 * "WHAT matches WHERE" or "WHAT does NOT match WHERE" */
static void
doctor_published(GPtrArray *checks, const char *txt,
    const struct dkim_key *key, const char *what, const char *where)
{
	g_autofree char *p = dkim_record_key(txt);
	g_autofree char *mine = dkim_record_key(dkim_key_record(key));
	gboolean same = p != NULL && strcmp(p, mine) == 0;

	doctor_check(checks, same ? DOCTOR_PASS : DOCTOR_FAIL, "%s %s%s%s",
	    what, same ? "matches" : "does NOT match", where,
	    p == NULL && *where != '\0' ? " (no p= in --txt)" : "");
}

/* doctor_keys - the list's keys, their published records, and whether
 * From and the notices' From align with d=; *RSA and *ED the keys read */
static void
doctor_keys(GPtrArray *checks, const struct list_config *list,
    const struct doctor_opts *o, struct dkim_key **rsa, struct dkim_key **ed)
{
	const struct list_dkim *k = list->dkim;
	g_autofree char *from = config_from_domain(list);
	g_autofree char *what = NULL;
	enum dkim_align a, an;

	if (k == NULL) {
		doctor_check(checks, DOCTOR_FAIL, "dkim: %s has no dkim { } "
		    "section (messages go out unsigned)", list->file);
		return;
	}
	*rsa = doctor_key(checks, k->key_file, DKIM_KEY_RSA, k->selector, 1);
	if (k->ed25519_selector != NULL)
		*ed = doctor_key(checks, k->ed25519_key_file, DKIM_KEY_ED25519,
		    k->ed25519_selector, 0);
	what = g_strdup_printf(" %s._domainkey.%s", k->selector, k->domain);
	if (o->txt == NULL)
		doctor_check(checks, DOCTOR_SKIP, "published key: no --txt "
		    "given (dig +short TXT %s._domainkey.%s)", k->selector,
		    k->domain);
	else if (*rsa != NULL)
		doctor_published(checks, o->txt, *rsa, "published key", what);
	if (o->ed25519_txt != NULL && *ed != NULL)
		doctor_published(checks, o->ed25519_txt, *ed,
		    "published ed25519 key", "");
	a = dkim_alignment(k->domain, from);
	an = dkim_alignment(k->domain, list->domain);
	doctor_check(checks, a != DKIM_ALIGN_NONE ? DOCTOR_PASS : DOCTOR_FAIL,
	    "From %s and d=%s: %s", from != NULL ? from : "(none)", k->domain,
	    dkim_alignment_name(a));
	doctor_check(checks, an != DKIM_ALIGN_NONE ? DOCTOR_PASS : DOCTOR_FAIL,
	    "notices' From %s-request@%s and d=%s: %s", list->local,
	    list->domain, k->domain, dkim_alignment_name(an));
}

/* doctor_sample - a message rendered from the announcement as a campaign
 * would make it (signed when RSA is there), with its List-* headers
 * checked; NULL (said in CHECKS) when it cannot be made */
static GString *
doctor_sample(GPtrArray *checks, const struct config *config,
    const struct list_config *list, const struct doctor_opts *o,
    const struct dkim_key *rsa, const struct token_key *tk)
{
	static const char *const listhdr[] = { "List-Id", "List-Unsubscribe",
	    "List-Unsubscribe-Post", "List-Help", "List-Owner", "List-Post",
	    "Precedence" };
	struct announcement *ann = NULL;
	struct composer *comp = NULL;
	struct subscriber sub = { 0 };
	GString *msg = g_string_sized_new(16384);
	GError *err = NULL;
	guint i;

	sub.id = 1;
	sub.email = (char *)"doctor@example.com";
	sub.name = (char *)"Sample Subscriber";
	if ((ann = announcement_load(o->announcement, config, &err)) == NULL ||
	    (comp = composer_new(ann, list, tk, NULL,
	    rsa == NULL ? COMPOSER_NO_SIGN : 0, &err)) == NULL ||
	    !composer_render(comp, &sub, NULL, NULL, 0, msg, NULL, NULL,
	    &err)) {
		doctor_check(checks, DOCTOR_FAIL, "sample message (%s): %s",
		    o->announcement, err->message);
		g_clear_error(&err);
		g_string_free(msg, TRUE);
		msg = NULL;
	}
	composer_free(comp);
	announcement_free(ann);
	for (i = 0; msg != NULL && i < G_N_ELEMENTS(listhdr); i++) {
		gboolean has = doctor_header_present(msg->str, listhdr[i]);

		doctor_check(checks, has ? DOCTOR_PASS : DOCTOR_FAIL, "sample has "
		    "%s%s", listhdr[i], has ? "" :
		    strcmp(listhdr[i], "List-Unsubscribe-Post") == 0 ?
		    " (one-click needs unsubscribe_base_url in the list file)" :
		    "");
	}
	return msg;
}

/* doctor_oversign - each header of DKIM_OVERSIGN_HEADERS named in h= one
 * more time than MSG has it */
static void
doctor_oversign(GPtrArray *checks, const char *msg)
{
	static const char *const over[] = { DKIM_OVERSIGN_HEADERS };
	guint i;

	for (i = 0; i < G_N_ELEMENTS(over); i++) {
		int n = doctor_h_count(msg, over[i]);
		int present = doctor_header_present(msg, over[i]) ? 1 : 0;

		doctor_check(checks, n == present + 1 ? DOCTOR_PASS : DOCTOR_FAIL,
		    "h= names %s %d time%s (%d present: over-signed when one "
		    "more)", over[i], n, n == 1 ? "" : "s", present);
	}
}

/* doctor_unquote - a record as dig prints it or pasted in zone syntax:
 * the quoted strings joined, as DNS joins them (in place) */
static void
doctor_unquote(char *w)
{
	char *p, *q;
	gboolean in = FALSE;

	if (w == NULL || strchr(w, '"') == NULL)
		return;
	for (p = q = w; *p != '\0'; p++)
		if (*p == '"')
			in = !in;
		else if (in)
			*q++ = *p;
	*q = '\0';
}

/* doctor_verify - MSG's signatures verified against the published
 * records (--txt), else the keys' own */
static void
doctor_verify(GPtrArray *checks, const struct list_dkim *k,
    const struct doctor_opts *o, const struct dkim_key *rsa,
    const struct dkim_key *ed, const GString *msg)
{
	g_autofree char *want_rsa = g_strdup(o->txt != NULL ? o->txt :
	    dkim_key_record(rsa));
	g_autofree char *want_ed = o->ed25519_txt != NULL ?
	    g_strdup(o->ed25519_txt) : ed != NULL ?
	    g_strdup(dkim_key_record(ed)) : NULL;
	struct doctor_dns dns = { k, NULL, NULL };
	g_autoptr(GString) report = g_string_new(NULL);
	GError *err = NULL;
	gboolean ok;

	doctor_unquote(want_rsa);
	doctor_unquote(want_ed);
	dns.rsa = want_rsa;
	dns.ed25519 = want_ed;
	ok = dkim_verify_message(msg->str, msg->len, doctor_lookup, &dns,
	    report, &err);
	g_strchomp(report->str);
	g_strdelimit(report->str, "\n", ';');
	doctor_check(checks, ok ? DOCTOR_PASS : DOCTOR_FAIL, "signature "
	    "verifies (herald's verifier over libcrypto, key from %s): %s", o->txt != NULL ?
	    "--txt" : "the key file", ok ? report->str : err->message);
	g_clear_error(&err);
}

/* doctor_run - the checks, in order */

GPtrArray *
doctor_run(const struct config *config, const struct list_config *list,
    const struct doctor_opts *o)
{
	GPtrArray *checks = g_ptr_array_new_with_free_func(doctor_check_free);
	struct dkim_key *rsa = NULL, *ed = NULL;
	struct token_key tk = { { 0 } };
	GError *key_err = NULL;
	GString *msg;

	doctor_keys(checks, list, o, &rsa, &ed);
	if (!token_key_load(config->secret, &tk, &key_err))
		memset(&tk, 0, sizeof tk);	/* the sample's tokens do not matter */
	msg = doctor_sample(checks, config, list, o, rsa, &tk);
	if (msg != NULL) {
		doctor_one_click(checks, config, list, o, msg->str,
		    key_err == NULL ? &tk : NULL, key_err);
		if (rsa != NULL) {
			doctor_oversign(checks, msg->str);
			doctor_verify(checks, list->dkim, o, rsa, ed, msg);
		}
		g_string_free(msg, TRUE);
	}
	memset(&tk, 0, sizeof tk);
	g_clear_error(&key_err);
	dkim_key_free(rsa);
	dkim_key_free(ed);
	return checks;
}
