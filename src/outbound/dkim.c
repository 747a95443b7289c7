/*
 * dkim.c - DKIM keys (see dkim.h): loading and checking them, the TXT
 * record of their public half, making new ones, and what herald dns
 * prints. The signer and the verifier are in dkim_sign.c, the
 * canonicalization in dkim_canon.c; all three speak to OpenSSL's
 * libcrypto through dkim_crypto.h, which this file loads.
 *
 * Must stay true: nothing here prints or exits; keys are never written
 * with a mode other than 0600; a key is parsed once, when it is loaded,
 * and then only read (the signer shares it between threads).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "herald.h"
#include "announcement.h"
#include "compose.h"
#include "config.h"
#include "dkim.h"
#include "subscriber.h"
#include "token.h"
#include "dkim_crypto.h"

/* dkim_no_passphrase - an encrypted key is refused, never prompted for */
static int
dkim_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

/* dkim_key_type_name - "rsa" or "ed25519" */
const char *
dkim_key_type_name(enum dkim_key_type type)
{
	return type == DKIM_KEY_ED25519 ? "ed25519" : "rsa";
}

/* dkim_key_make_record - v=DKIM1; k=…; p=BASE64 of the public key: the
 * SubjectPublicKeyInfo for RSA (RFC 6376), the raw 32 octets for ed25519
 * (RFC 8463) */
static char *
dkim_key_make_record(struct dkim_key *k)
{
	g_autofree char *b64 = NULL;

	if (k->type == DKIM_KEY_RSA) {
		unsigned char *der = NULL;
		int n = i2d_PUBKEY(k->pkey, &der);

		if (n <= 0)
			return NULL;
		b64 = g_base64_encode(der, n);
		CRYPTO_free(der, __FILE__, __LINE__);
	} else {
		unsigned char raw[64];
		size_t n = sizeof raw;

		if (EVP_PKEY_get_raw_public_key(k->pkey, raw, &n) != 1)
			return NULL;
		b64 = g_base64_encode(raw, n);
	}
	return g_strdup_printf("v=DKIM1; k=%s; p=%s",
	    dkim_key_type_name(k->type), b64);
}

/* dkim_key_prepare - K's RSA signing context, set up once (PKCS#1 v1.5
 * over a SHA-256 digest); FALSE and a CONFIG error naming the file */
static gboolean
dkim_key_prepare(struct dkim_key *k, GError **error)
{
	if ((k->sign = EVP_PKEY_CTX_new(k->pkey, NULL)) == NULL ||
	    EVP_PKEY_sign_init(k->sign) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(k->sign, RSA_PKCS1_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(k->sign, dkim_crypto.sha256) != 1) {
		g_autofree char *why = dkim_crypto_error();

		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
		    "%s: cannot sign with this key: %s", k->path, why);
		return FALSE;
	}
	return TRUE;
}

/* dkim_key_load - read, parse and check one private key */
struct dkim_key *
dkim_key_load(const char *path, enum dkim_key_type type, GError **error)
{
	g_autoptr(GError) ioerr = NULL;
	struct dkim_key *k;
	g_autofree char *pem = NULL;
	gsize pem_len = 0;
	BIO *bio;
	int id;

	if (!dkim_crypto_open(error))
		return NULL;
	k = g_new0(struct dkim_key, 1);
	k->type = type;
	k->path = g_strdup(path);
	if (!g_file_get_contents(path, &pem, &pem_len, &ioerr)) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
		    "%s: cannot read the DKIM key: %s (herald dkim keygen "
		    "makes one)", path, g_strerror(ioerr->code == G_FILE_ERROR_NOENT ?
		    ENOENT : ioerr->code == G_FILE_ERROR_ACCES ? EACCES : EIO));
		goto fail;
	}
	if (strncmp(pem, "-----BEGIN ", 11) != 0 || strlen(pem) != pem_len) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
		    "%s: not a PEM private key (\"-----BEGIN PRIVATE KEY-----\")",
		    path);
		goto fail;
	}
	ERR_clear_error();
	bio = BIO_new_mem_buf(pem, (int)pem_len);
	k->pkey = bio != NULL ? PEM_read_bio_PrivateKey(bio, NULL,
	    dkim_no_passphrase, NULL) : NULL;
	if (bio != NULL)
		BIO_free(bio);
	if (k->pkey == NULL) {
		g_autofree char *why = dkim_crypto_error();

		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
		    "%s: not a usable private key (encrypted keys are refused): "
		    "%s", path, why);
		goto fail;
	}
	id = EVP_PKEY_get_base_id(k->pkey);
	if ((type == DKIM_KEY_RSA && id != EVP_PKEY_RSA) ||
	    (type == DKIM_KEY_ED25519 && id != EVP_PKEY_ED25519)) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
		    "%s: not an %s key (it is %s); %s", path,
		    type == DKIM_KEY_RSA ? "RSA" : "ed25519",
		    id == EVP_PKEY_RSA ? "RSA" : id == EVP_PKEY_ED25519 ?
		    "ed25519" : "of another type",
		    type == DKIM_KEY_RSA ? "key_file holds the RSA key" :
		    "ed25519_key_file holds the ed25519 key");
		goto fail;
	}
	k->bits = EVP_PKEY_get_bits(k->pkey);
	if (type == DKIM_KEY_RSA && k->bits < DKIM_MIN_RSA_BITS) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
		    "%s: an RSA key of %d bits is too weak: at least %d (RFC "
		    "8301), %d recommended", path, k->bits, DKIM_MIN_RSA_BITS,
		    DKIM_RSA_BITS);
		goto fail;
	}
	if (type == DKIM_KEY_RSA && !dkim_key_prepare(k, error))
		goto fail;
	if ((k->record = dkim_key_make_record(k)) == NULL) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
		    "%s: cannot derive the public key", path);
		goto fail;
	}
	explicit_bzero(pem, pem_len);
	return k;
fail:
	if (pem != NULL)
		explicit_bzero(pem, pem_len);
	dkim_key_free(k);
	return NULL;
}

/* dkim_key_free - see dkim.h */
void
dkim_key_free(struct dkim_key *k)
{
	if (k == NULL)
		return;
	if (k->sign != NULL)
		EVP_PKEY_CTX_free(k->sign);
	if (k->pkey != NULL)
		EVP_PKEY_free(k->pkey);
	g_free(k->path);
	g_free(k->record);
	g_free(k);
}

/* dkim_key_bits - the key's size in bits */
int
dkim_key_bits(const struct dkim_key *k)
{
	return k->bits;
}

/* dkim_key_record - the key's DNS TXT record */
const char *
dkim_key_record(const struct dkim_key *k)
{
	return k->record;
}

/* dkim_write_private - PEM of PKEY into PATH, 0600; FORCE replaces */
static gboolean
dkim_write_private(const char *path, EVP_PKEY *pkey, gboolean force,
    GError **error)
{
	g_autofree char *dir = g_path_get_dirname(path);
	g_autofree char *tmp = g_strdup_printf("%s.tmp%d", path, (int)getpid());
	BIO *mem = BIO_new(BIO_s_mem());
	char *data = NULL;
	long n;
	int fd, e;
	gboolean ok = FALSE;

	if (mem == NULL || PEM_write_bio_PrivateKey(mem, pkey, NULL, NULL, 0,
	    NULL, NULL) != 1 || (n = BIO_ctrl(mem, BIO_CTRL_INFO, 0, &data)) <= 0) {
		g_autofree char *why = dkim_crypto_error();

		g_set_error(error, HERALD_ERROR, HERALD_ERROR_SOFTWARE,
		    "writing the key as PEM: %s", why);
		goto out;
	}
	if (g_mkdir_with_parents(dir, 0700) != 0) {
		e = errno;
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CANTCREAT,
		    "%s: %s", dir, g_strerror(e));
		goto out;
	}
	if (!force && g_file_test(path, G_FILE_TEST_EXISTS)) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CANTCREAT,
		    "%s exists: herald keeps a key it made (--force replaces it, "
		    "and the DNS record must change with it)", path);
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || fchmod(fd, 0600) != 0 || write(fd, data, n) != n ||
	    fsync(fd) != 0) {
		e = errno;
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		g_set_error(error, HERALD_ERROR, herald_errno_class(e) ==
		    HERALD_ERROR_TEMP ? HERALD_ERROR_TEMP : HERALD_ERROR_CANTCREAT,
		    "%s: %s", tmp, g_strerror(e));
		goto out;
	}
	close(fd);
	if ((force ? rename(tmp, path) : link(tmp, path)) != 0) {
		e = errno;
		unlink(tmp);
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CANTCREAT,
		    "%s: %s", path, g_strerror(e));
		goto out;
	}
	if (!force)
		unlink(tmp);
	ok = TRUE;
out:
	if (data != NULL && n > 0)
		explicit_bzero(data, n);
	if (mem != NULL)
		BIO_free(mem);
	return ok;
}

/* dkim_keygen - a new key in PATH */
gboolean
dkim_keygen(const char *path, enum dkim_key_type type, int bits,
    gboolean force, GError **error)
{
	EVP_PKEY *pkey;
	gboolean ok;

	if (!dkim_crypto_open(error))
		return FALSE;
	if (type == DKIM_KEY_RSA && (bits < DKIM_MIN_RSA_BITS || bits > 8192)) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_USAGE,
		    "--bits %d: an RSA key has %d to 8192 bits", bits,
		    DKIM_MIN_RSA_BITS);
		return FALSE;
	}
	pkey = type == DKIM_KEY_RSA ?
	    EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits) :
	    EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (pkey == NULL) {
		g_autofree char *why = dkim_crypto_error();

		g_set_error(error, HERALD_ERROR, HERALD_ERROR_SOFTWARE,
		    "making the key: %s", why);
		return FALSE;
	}
	ok = dkim_write_private(path, pkey, force, error);
	EVP_PKEY_free(pkey);
	return ok;
}

/* dkim_record_key - p= of a published record */
char *
dkim_record_key(const char *txt)
{
	GString *flat = g_string_new(NULL);
	const char *p, *v;
	char *out = NULL;

	for (p = txt; *p != '\0'; p++)
		if (*p != '"' && !g_ascii_isspace(*p) && *p != '(' && *p != ')')
			g_string_append_c(flat, *p);
	for (v = flat->str; v != NULL && *v != '\0'; ) {
		if (strncmp(v, "p=", 2) == 0) {
			out = g_strndup(v + 2, strcspn(v + 2, ";"));
			break;
		}
		v = strchr(v, ';');
		if (v != NULL)
			v++;
	}
	g_string_free(flat, TRUE);
	return out;
}

/* dkim_zone_txt - a TXT record in strings of at most 255 octets */
char *
dkim_zone_txt(const char *name, const char *record)
{
	GString *s = g_string_new(NULL);
	size_t n = strlen(record), i;

	g_string_printf(s, "%s IN TXT ( ", name);
	for (i = 0; i < n; i += 250)
		g_string_append_printf(s, "%s\"%.*s\"", i > 0 ? "\n\t" : "",
		    (int)MIN(250, n - i), record + i);
	g_string_append(s, " )");
	return g_string_free(s, FALSE);
}

/* dkim_check_lists - every signing list's keys load (a long-running
 * server checks them before it starts, as send does through its composer) */
gboolean
dkim_check_lists(const struct config *config, GError **error)
{
	guint i;

	for (i = 0; config->lists != NULL && i < config->lists->len; i++) {
		const struct list_config *l = g_ptr_array_index(config->lists, i);
		struct dkim_signer *s;

		if (l->dkim == NULL)
			continue;
		if ((s = dkim_signer_new(l->dkim, error)) == NULL)
			return FALSE;
		dkim_signer_free(s);
	}
	return TRUE;
}

/* ------------------------------------------------------------------ */
/* herald dns: the records a list needs */

/* dkim_dns_key_lines - the TXT record of one configured key, or why not */
static void
dkim_dns_key_lines(GString *out, const char *selector, const char *domain,
    const char *path, enum dkim_key_type type)
{
	g_autoptr(GError) err = NULL;
	struct dkim_key *k = dkim_key_load(path, type, &err);
	g_autofree char *name = g_strdup_printf("%s._domainkey.%s.", selector,
	    domain);

	if (k == NULL) {
		g_string_append_printf(out, "; %s: no key to publish yet (%s);\n"
		    ";   \"herald dkim keygen\" makes it\n", name, err->message);
		return;
	}
	{
		g_autofree char *txt = dkim_zone_txt(name, k->record);

		g_string_append_printf(out, "; DKIM (%s, %d bits): the public "
		    "half of %s\n%s\n", dkim_key_type_name(type), k->bits, path,
		    txt);
	}
	dkim_key_free(k);
}

/* dkim_dns_text - every record LIST needs, in zone-file syntax */
char *
dkim_dns_text(const struct config *config, const struct list_config *list,
    const struct dkim_dns_opts *o)
{
	GString *out = g_string_new(NULL);
	g_autofree char *from = config_from_domain(list);
	const struct list_dkim *k = list->dkim;
	g_autofree char *rua = NULL, *mx = NULL;
	GString *spf = g_string_new("v=spf1");
	enum dkim_align a;
	guint i;

	g_string_append_printf(out, "; herald dns %s: the records to publish "
	    "(zone-file syntax, names end in a dot)\n"
	    "; From:            %s (From domain %s)\n"
	    "; envelope sender: %s-bounces+TOKEN@%s (bounces come back there)\n"
	    "; notices From:    %s-request@%s\n\n", list->name, list->from,
	    from != NULL ? from : "(none)", list->local, list->domain,
	    list->local, list->domain);

	/* SPF, for the envelope domain */
	for (i = 0; o->spf != NULL && o->spf[i] != NULL; i++)
		g_string_append_printf(spf, " %s", o->spf[i]);
	if (i == 0)
		g_string_append(spf, " mx a");
	g_string_append(spf, " ~all");
	g_string_append_printf(out, "; SPF for the envelope (bounce) domain: the "
	    "hosts that hand herald's mail to the\n; world. %s\n%s. IN TXT "
	    "\"%s\"\n\n", i == 0 ? "\"mx a\" stands for this domain's MX and "
	    "A hosts: name your relay's\n; addresses or provider instead with "
	    "--spf \"ip4:192.0.2.25\" or --spf \"include:…\"." :
	    "From --spf.", list->domain, spf->str);
	g_string_free(spf, TRUE);

	/* DKIM */
	if (k == NULL)
		g_string_append_printf(out, "; DKIM: %s does not sign (add a dkim "
		    "{ } section to %s, then\n;   herald dkim keygen %s)\n\n",
		    list->name, list->file, list->name);
	else {
		dkim_dns_key_lines(out, k->selector, k->domain, k->key_file,
		    DKIM_KEY_RSA);
		if (k->ed25519_selector != NULL)
			dkim_dns_key_lines(out, k->ed25519_selector, k->domain,
			    k->ed25519_key_file, DKIM_KEY_ED25519);
		g_string_append_c(out, '\n');
	}

	/* DMARC, for the From domain (and the list domain when it is not
	 * under it: notices come From there) */
	rua = g_strdup(o->rua != NULL ? o->rua : list->owners != NULL &&
	    list->owners[0] != NULL ? list->owners[0] : list->address);
	if (from != NULL) {
		g_string_append_printf(out, "; DMARC for the From domain: p=none "
		    "to start (watch the aggregate reports\n; sent to rua, then "
		    "move to quarantine and reject)\n_dmarc.%s. IN TXT "
		    "\"v=DMARC1; p=none; rua=mailto:%s\"\n", from, rua);
		if (dkim_alignment(list->domain, from) == DKIM_ALIGN_NONE ||
		    (strlen(list->domain) < strlen(from)))
			g_string_append_printf(out, "_dmarc.%s. IN TXT \"v=DMARC1; "
			    "p=none; rua=mailto:%s\"\n", list->domain, rua);
		g_string_append_c(out, '\n');
	}

	/* MX, for the list's addresses */
	mx = g_strdup(o->mx != NULL ? o->mx : config->smtp.helo != NULL &&
	    strchr(config->smtp.helo, '.') != NULL ? config->smtp.helo : NULL);
	if (mx == NULL)
		mx = g_strdup_printf("mx.%s", list->domain);
	g_string_append_printf(out, "; MX for the list addresses (%s, "
	    "%s-bounces+…, -request, -owner, …):\n; the host whose MTA runs "
	    "herald pipe (--mx HOST)\n%s. IN MX 10 %s%s\n\n", list->address,
	    list->local, list->domain, mx, g_str_has_suffix(mx, ".") ? "" : ".");

	/* which identifiers align with From */
	g_string_append_printf(out, "; Alignment with From (DMARC passes when "
	    "an aligned DKIM signature or SPF passes):\n");
	if (k != NULL) {
		a = dkim_alignment(k->domain, from);
		g_string_append_printf(out, ";   DKIM d=%s: %s\n", k->domain,
		    dkim_alignment_name(a));
	} else
		g_string_append(out, ";   DKIM: none (the list does not sign)\n");
	a = dkim_alignment(list->domain, from);
	g_string_append_printf(out, ";   SPF, envelope domain %s: %s\n",
	    list->domain, dkim_alignment_name(a));
	if (k != NULL)
		g_string_append_printf(out, ";   notices (From %s-request@%s): "
		    "DKIM %s; SPF %s\n", list->local, list->domain,
		    dkim_alignment_name(dkim_alignment(k->domain, list->domain)),
		    dkim_alignment_name(DKIM_ALIGN_STRICT));
	return g_string_free(out, FALSE);
}

