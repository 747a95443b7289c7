/*
 * dkim.c - DKIM keys and signatures through libopendkim (see dkim.h).
 *
 * Loading: libopendkim and OpenSSL's libcrypto are opened with dlopen()
 * the first time a key is loaded, as send.c opens libesmtp: most herald
 * runs (one "herald pipe" per inbound message) sign nothing, and binding
 * their symbols at start-up would cost every one of them. Below the
 * includes, each function taken from them is a macro for a pointer.
 *
 * The key cache. libopendkim parses the PEM private key once per message
 * (dkim_sign() takes the key's text; dkim_eom() calls OpenSSL's
 * PEM_read_bio_PrivateKey on it), and OpenSSL 3's decoder set-up makes
 * that parse four times the cost of the RSA signature itself. This file
 * therefore defines PEM_read_bio_PrivateKey() for the process (the
 * executable exports it, see the Makefile): when the memory BIO it is
 * given holds exactly the text of a key a signer loaded, it hands back
 * that key with one more reference (libopendkim frees it after the
 * message); anything else goes to OpenSSL's own. The key is the same
 * either way; only the parse is saved.
 *
 * Must stay true: nothing here prints or exits; keys are never written
 * with a mode other than 0600; a message is either signed by every key
 * of its signer or left as it was.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <opendkim/dkim.h>

#include "herald.h"
#include "announcement.h"
#include "compose.h"
#include "config.h"
#include "dkim.h"
#include "dl_lib.h"
#include "subscriber.h"
#include "token.h"

#ifndef DKIM_OPENDKIM_SONAME
#define DKIM_OPENDKIM_SONAME	"libopendkim.so.11"
#endif
#ifndef DKIM_CRYPTO_SONAME
#define DKIM_CRYPTO_SONAME	"libcrypto.so.3"
#endif

#define DKIM_HEADER_NAME "DKIM-Signature: "

/* the functions taken from libopendkim (K) and libcrypto (C) */
#define DKIM_LIB_FUNCS(K, C) \
	K(dkim_init) K(dkim_options) K(dkim_sign) K(dkim_verify) \
	K(dkim_chunk) K(dkim_eom) K(dkim_getsighdr_d) K(dkim_free) \
	K(dkim_geterror) K(dkim_getresultstr) K(dkim_set_key_lookup) \
	K(dkim_set_user_context) K(dkim_get_user_context) \
	K(dkim_getsiglist) K(dkim_sig_getflags) K(dkim_sig_getbh) \
	K(dkim_sig_getselector) K(dkim_sig_getdomain) \
	K(dkim_sig_geterror) K(dkim_sig_geterrorstr) K(dkim_libfeature) \
	K(dkim_sig_getsignalg) \
	C(BIO_new_mem_buf) C(BIO_new) C(BIO_s_mem) C(BIO_ctrl) C(BIO_free) \
	C(BIO_method_type) C(PEM_write_bio_PrivateKey) C(EVP_PKEY_free) \
	C(EVP_PKEY_up_ref) C(EVP_PKEY_get_base_id) C(EVP_PKEY_get_bits) \
	C(EVP_PKEY_Q_keygen) C(i2d_PUBKEY) C(EVP_PKEY_get_raw_public_key) \
	C(ERR_get_error) C(ERR_error_string_n) C(ERR_clear_error) \
	C(CRYPTO_free)

#define DKIM_LIB_PTR(f)	__typeof__(f) *f;
static struct {
	DKIM_LIB_FUNCS(DKIM_LIB_PTR, DKIM_LIB_PTR)
	__typeof__(PEM_read_bio_PrivateKey) *pem_read;	/* OpenSSL's own */
	DKIM_LIB *lib;
	char *error;		/* why they could not be loaded, or NULL */
} dkim_lib;
#undef DKIM_LIB_PTR

static GMutex dkim_cache_lock;
static GPtrArray *dkim_cache;		/* struct dkim_key *, borrowed */
static GPtrArray *dkim_retired;		/* EVP_PKEY * that must not be freed */

struct dkim_key {
	enum dkim_key_type type;
	char *path;
	char *pem;		/* the file's text, NUL-terminated */
	gsize pem_len;
	EVP_PKEY *pkey;
	int bits;
	char *record;		/* v=DKIM1; k=…; p=… */
	gint signed_ed25519;	/* atomic: libopendkim kept references */
};

struct dkim_signer {
	char *domain;
	char *selector[2];	/* RSA, ed25519 (or NULL) */
	struct dkim_key *key[2];
	gint fail_after;	/* HERALD_DKIM_FAIL_AFTER: tests only, -1 off */
	gint signed_count;	/* atomic */
};

/* dkim_lib_open - dlopen both libraries once; FALSE, error set, if not */
static gboolean
dkim_lib_open(GError **error)
{
	static gsize done;
	/* libcrypto first, as before: libopendkim is opened on top of it */
	static const char *const sonames[] = { DKIM_CRYPTO_SONAME,
	    DKIM_OPENDKIM_SONAME, NULL };
#define DKIM_LIB_K(f)	{ #f, 1, (void **)&dkim_lib.f },
#define DKIM_LIB_C(f)	{ #f, 0, (void **)&dkim_lib.f },
	static const struct dl_sym syms[] = {
		DKIM_LIB_FUNCS(DKIM_LIB_K, DKIM_LIB_C)
		{ "PEM_read_bio_PrivateKey", 0, (void **)&dkim_lib.pem_read },
	};
#undef DKIM_LIB_C
#undef DKIM_LIB_K

	if (g_once_init_enter(&done)) {
		dkim_lib.error = dl_lib_load(sonames, 2, syms,
		    G_N_ELEMENTS(syms));
		g_once_init_leave(&done, 1);
	}
	if (dkim_lib.error != NULL) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
		    "cannot load libopendkim (apt-get install libopendkim11): %s",
		    dkim_lib.error);
		return FALSE;
	}
	return TRUE;
}

/* from here on, every call goes through the pointers */
#define dkim_init		(*dkim_lib.dkim_init)
#define dkim_options		(*dkim_lib.dkim_options)
#define dkim_sign		(*dkim_lib.dkim_sign)
#define dkim_verify_new		(*dkim_lib.dkim_verify)
#define dkim_chunk		(*dkim_lib.dkim_chunk)
#define dkim_eom		(*dkim_lib.dkim_eom)
#define dkim_getsighdr_d	(*dkim_lib.dkim_getsighdr_d)
#define dkim_free		(*dkim_lib.dkim_free)
#define dkim_geterror		(*dkim_lib.dkim_geterror)
#define dkim_getresultstr	(*dkim_lib.dkim_getresultstr)
#define dkim_set_key_lookup	(*dkim_lib.dkim_set_key_lookup)
#define dkim_set_user_context	(*dkim_lib.dkim_set_user_context)
#define dkim_get_user_context	(*dkim_lib.dkim_get_user_context)
#define dkim_getsiglist		(*dkim_lib.dkim_getsiglist)
#define dkim_sig_getflags	(*dkim_lib.dkim_sig_getflags)
#define dkim_sig_getbh		(*dkim_lib.dkim_sig_getbh)
#define dkim_sig_getselector	(*dkim_lib.dkim_sig_getselector)
#define dkim_sig_getdomain	(*dkim_lib.dkim_sig_getdomain)
#define dkim_sig_geterror	(*dkim_lib.dkim_sig_geterror)
#define dkim_sig_geterrorstr	(*dkim_lib.dkim_sig_geterrorstr)
#define dkim_sig_getsignalg	(*dkim_lib.dkim_sig_getsignalg)
#define dkim_libfeature		(*dkim_lib.dkim_libfeature)
#define BIO_new_mem_buf		(*dkim_lib.BIO_new_mem_buf)
#define BIO_new			(*dkim_lib.BIO_new)
#define BIO_s_mem		(*dkim_lib.BIO_s_mem)
#define BIO_ctrl		(*dkim_lib.BIO_ctrl)
#define BIO_free		(*dkim_lib.BIO_free)
#define BIO_method_type		(*dkim_lib.BIO_method_type)
#define PEM_write_bio_PrivateKey (*dkim_lib.PEM_write_bio_PrivateKey)
#define EVP_PKEY_free		(*dkim_lib.EVP_PKEY_free)
#define EVP_PKEY_up_ref		(*dkim_lib.EVP_PKEY_up_ref)
#define EVP_PKEY_get_base_id	(*dkim_lib.EVP_PKEY_get_base_id)
#define EVP_PKEY_get_bits	(*dkim_lib.EVP_PKEY_get_bits)
#define EVP_PKEY_Q_keygen	(*dkim_lib.EVP_PKEY_Q_keygen)
#define i2d_PUBKEY		(*dkim_lib.i2d_PUBKEY)
#define EVP_PKEY_get_raw_public_key (*dkim_lib.EVP_PKEY_get_raw_public_key)
#define ERR_get_error		(*dkim_lib.ERR_get_error)
#define ERR_error_string_n	(*dkim_lib.ERR_error_string_n)
#define ERR_clear_error		(*dkim_lib.ERR_clear_error)
#define CRYPTO_free		(*dkim_lib.CRYPTO_free)

static DKIM_CBSTAT dkim_key_lookup_cb(DKIM *d, DKIM_SIGINFO *sig,
    u_char *buf, size_t buflen);

/*
 * libopendkim's memory. libopendkim 2.11 loses the 64-byte key state of
 * every ed25519-sha256 signature (dkim_free() releases it for RSA only):
 * about 50 bytes of heap per message, 50 MB over a million. So each
 * signing handle allocates from an arena of its own (the closure of
 * dkim_sign()), whose blocks are all freed with the arena after
 * dkim_free(); its free() is a no-op. Allocations without a closure
 * (the library handle, verifying) go to the heap as usual.
 */
struct dkim_arena {
	GPtrArray *blocks;
};

/* dkim_arena_malloc - libopendkim's allocator: a block the arena keeps */
static void *
dkim_arena_malloc(void *closure, size_t n)
{
	struct dkim_arena *a = closure;
	void *p = g_malloc(n);

	if (a != NULL)
		g_ptr_array_add(a->blocks, p);
	return p;
}

/* dkim_arena_free - libopendkim's free: an arena's blocks wait for the arena */
static void
dkim_arena_free(void *closure, void *p)
{
	if (closure == NULL)
		g_free(p);
}

/* dkim_library - the one DKIM_LIB of the process, set up for herald's
 * header lists; NULL and a CONFIG error when it cannot be had */
static DKIM_LIB *
dkim_library(GError **error)
{
	static gsize done;
	static const char *sign[] = { DKIM_SIGN_HEADERS, NULL };
	static const char *over[] = { DKIM_OVERSIGN_HEADERS, NULL };

	if (!dkim_lib_open(error))
		return NULL;
	if (g_once_init_enter(&done)) {
		DKIM_LIB *lib = dkim_init(dkim_arena_malloc, dkim_arena_free);

		/* the lists are passed by address, their size that of a pointer */
		if (lib != NULL &&
		    (dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNHDRS, sign,
		    sizeof(char **)) != DKIM_STAT_OK ||
		    dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_OVERSIGNHDRS, over,
		    sizeof(char **)) != DKIM_STAT_OK ||
		    dkim_set_key_lookup(lib, dkim_key_lookup_cb) != DKIM_STAT_OK))
			lib = NULL;
		dkim_lib.lib = lib;
		g_once_init_leave(&done, 1);
	}
	if (dkim_lib.lib == NULL)
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
		    "libopendkim: dkim_init() or its options failed");
	return dkim_lib.lib;
}

/* dkim_ssl_error - OpenSSL's last error as text, the queue emptied */
static char *
dkim_ssl_error(void)
{
	char buf[256] = "";
	unsigned long e, last = 0;

	while ((e = ERR_get_error()) != 0)
		last = e;
	if (last == 0)
		return g_strdup("no detail");
	ERR_error_string_n(last, buf, sizeof buf);
	return g_strdup(buf);
}

/* PEM_read_bio_PrivateKey - OpenSSL's, but a key a signer holds comes
 * back from the cache (see the top of this file). Exported. */
EVP_PKEY *
PEM_read_bio_PrivateKey(BIO *bp, EVP_PKEY **x, pem_password_cb *cb, void *u)
{
	static __typeof__(PEM_read_bio_PrivateKey) *next;
	__typeof__(PEM_read_bio_PrivateKey) *real;
	EVP_PKEY *found = NULL;

	if (x == NULL && bp != NULL && dkim_lib.pem_read != NULL &&
	    BIO_method_type(bp) == BIO_TYPE_MEM) {
		char *data = NULL;
		long n = BIO_ctrl(bp, BIO_CTRL_INFO, 0, &data);
		guint i;

		g_mutex_lock(&dkim_cache_lock);
		for (i = 0; dkim_cache != NULL && i < dkim_cache->len; i++) {
			struct dkim_key *k = g_ptr_array_index(dkim_cache, i);

			if (n >= (long)k->pem_len && n <= (long)k->pem_len + 1 &&
			    memcmp(data, k->pem, k->pem_len) == 0 &&
			    EVP_PKEY_up_ref(k->pkey) == 1) {
				found = k->pkey;
				if (k->type == DKIM_KEY_ED25519)
					g_atomic_int_set(&k->signed_ed25519, 1);
				break;
			}
		}
		g_mutex_unlock(&dkim_cache_lock);
		if (found != NULL)
			return found;
	}
	if ((real = dkim_lib.pem_read) == NULL) {
		if (next == NULL)
			*(void **)&next = dlsym(RTLD_NEXT, "PEM_read_bio_PrivateKey");
		real = next;
	}
	return real != NULL ? real(bp, x, cb, u) : NULL;
}

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

/* dkim_key_load - read, parse and check one private key */
struct dkim_key *
dkim_key_load(const char *path, enum dkim_key_type type, GError **error)
{
	g_autoptr(GError) ioerr = NULL;
	struct dkim_key *k;
	BIO *bio;
	int id;

	if (!dkim_lib_open(error))
		return NULL;
	k = g_new0(struct dkim_key, 1);
	k->type = type;
	k->path = g_strdup(path);
	if (!g_file_get_contents(path, &k->pem, &k->pem_len, &ioerr)) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
		    "%s: cannot read the DKIM key: %s (herald dkim keygen "
		    "makes one)", path, g_strerror(ioerr->code == G_FILE_ERROR_NOENT ?
		    ENOENT : ioerr->code == G_FILE_ERROR_ACCES ? EACCES : EIO));
		goto fail;
	}
	if (strncmp(k->pem, "-----BEGIN ", 11) != 0 ||
	    strlen(k->pem) != k->pem_len) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
		    "%s: not a PEM private key (\"-----BEGIN PRIVATE KEY-----\")",
		    path);
		goto fail;
	}
	ERR_clear_error();
	bio = BIO_new_mem_buf(k->pem, (int)k->pem_len);
	k->pkey = bio != NULL ? dkim_lib.pem_read(bio, NULL,
	    dkim_no_passphrase, NULL) : NULL;
	if (bio != NULL)
		BIO_free(bio);
	if (k->pkey == NULL) {
		g_autofree char *why = dkim_ssl_error();

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
	if ((k->record = dkim_key_make_record(k)) == NULL) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
		    "%s: cannot derive the public key", path);
		goto fail;
	}
	g_mutex_lock(&dkim_cache_lock);
	if (dkim_cache == NULL)
		dkim_cache = g_ptr_array_new();
	g_ptr_array_add(dkim_cache, k);
	g_mutex_unlock(&dkim_cache_lock);
	return k;
fail:
	dkim_key_free(k);
	return NULL;
}

/* dkim_key_free - see dkim.h */
void
dkim_key_free(struct dkim_key *k)
{
	if (k == NULL)
		return;
	g_mutex_lock(&dkim_cache_lock);
	if (dkim_cache != NULL)
		g_ptr_array_remove(dkim_cache, k);
	g_mutex_unlock(&dkim_cache_lock);
	/* libopendkim 2.11 never drops its reference to an ed25519 key it
	 * signed with (see the arena above): such a key cannot be freed, so
	 * it stays where it can be found, not leaked */
	if (k->pkey != NULL && g_atomic_int_get(&k->signed_ed25519)) {
		g_mutex_lock(&dkim_cache_lock);
		if (dkim_retired == NULL)
			dkim_retired = g_ptr_array_new();
		g_ptr_array_add(dkim_retired, k->pkey);
		g_mutex_unlock(&dkim_cache_lock);
	} else if (k->pkey != NULL)
		EVP_PKEY_free(k->pkey);
	if (k->pem != NULL)
		explicit_bzero(k->pem, k->pem_len);
	g_free(k->pem);
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
		g_autofree char *why = dkim_ssl_error();

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

	if (!dkim_lib_open(error))
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
		g_autofree char *why = dkim_ssl_error();

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

/* dkim_signer_new - the keys of one list's dkim { } */
struct dkim_signer *
dkim_signer_new(const struct list_dkim *cfg, GError **error)
{
	struct dkim_signer *s;
	const char *fail;

	if (dkim_library(error) == NULL)
		return NULL;
	s = g_new0(struct dkim_signer, 1);
	s->domain = g_strdup(cfg->domain);
	s->selector[0] = g_strdup(cfg->selector);
	s->fail_after = -1;
	if ((fail = g_getenv("HERALD_DKIM_FAIL_AFTER")) != NULL && *fail != '\0')
		s->fail_after = atoi(fail);
	if ((s->key[0] = dkim_key_load(cfg->key_file, DKIM_KEY_RSA,
	    error)) == NULL)
		goto fail;
	if (cfg->ed25519_selector != NULL) {
		if (!dkim_libfeature(dkim_lib.lib, DKIM_FEATURE_ED25519)) {
			g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
			    "%s: this libopendkim has no ed25519-sha256 (remove "
			    "ed25519_selector)", cfg->ed25519_key_file);
			goto fail;
		}
		s->selector[1] = g_strdup(cfg->ed25519_selector);
		if ((s->key[1] = dkim_key_load(cfg->ed25519_key_file,
		    DKIM_KEY_ED25519, error)) == NULL)
			goto fail;
	}
	return s;
fail:
	dkim_signer_free(s);
	return NULL;
}

/* dkim_signer_free - free S and its keys */
void
dkim_signer_free(struct dkim_signer *s)
{
	int i;

	if (s == NULL)
		return;
	for (i = 0; i < 2; i++) {
		dkim_key_free(s->key[i]);
		g_free(s->selector[i]);
	}
	g_free(s->domain);
	g_free(s);
}

/* dkim_signer_key - S's RSA or Ed25519 key (NULL when none) */
const struct dkim_key *
dkim_signer_key(const struct dkim_signer *s, gboolean ed25519)
{
	return s->key[ed25519 ? 1 : 0];
}

/* dkim_sign_one - one DKIM-Signature header (CRLF ended) onto SIGS */
static gboolean
dkim_sign_one(const struct dkim_signer *s, int i, const char *msg, gsize len,
    GString *sigs, GError **error)
{
	DKIM_STAT st = DKIM_STAT_OK;
	DKIM *d;
	u_char *hdr = NULL;
	size_t hlen = 0;
	const char *where = "dkim_sign";
	struct dkim_arena arena = { g_ptr_array_new_with_free_func(g_free) };
	gboolean ok = FALSE;

	d = dkim_sign(dkim_lib.lib, (const u_char *)"herald", &arena,
	    (dkim_sigkey_t)s->key[i]->pem, (const u_char *)s->selector[i],
	    (const u_char *)s->domain, DKIM_CANON_RELAXED, DKIM_CANON_RELAXED,
	    s->key[i]->type == DKIM_KEY_RSA ? DKIM_SIGN_RSASHA256 :
	    DKIM_SIGN_ED25519SHA256, -1, &st);
	if (d == NULL)
		goto fail;
	where = "dkim_chunk";
	if ((st = dkim_chunk(d, (u_char *)msg, len)) != DKIM_STAT_OK ||
	    (st = dkim_chunk(d, NULL, 0)) != DKIM_STAT_OK)
		goto fail;
	where = "dkim_eom";
	if ((st = dkim_eom(d, NULL)) != DKIM_STAT_OK)
		goto fail;
	where = "dkim_getsighdr";
	if ((st = dkim_getsighdr_d(d, strlen(DKIM_HEADER_NAME), &hdr,
	    &hlen)) != DKIM_STAT_OK)
		goto fail;
	g_string_append(sigs, DKIM_HEADER_NAME);
	g_string_append_len(sigs, (const char *)hdr, hlen);
	g_string_append(sigs, "\r\n");
	ok = TRUE;
fail:
	if (!ok)
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_TEMP,
		    "DKIM signing (%s, s=%s) failed in %s: %s%s%s",
		    dkim_key_type_name(s->key[i]->type), s->selector[i], where,
		    dkim_getresultstr(st), d != NULL && dkim_geterror(d) != NULL ?
		    ": " : "", d != NULL && dkim_geterror(d) != NULL ?
		    dkim_geterror(d) : "");
	if (d != NULL)
		dkim_free(d);
	g_ptr_array_unref(arena.blocks);
	return ok;
}

/* dkim_signer_sign - every signature of S over MSG[START..], inserted */
gboolean
dkim_signer_sign(const struct dkim_signer *s, GString *msg, gsize start,
    GError **error)
{
	struct dkim_signer *w = (struct dkim_signer *)s;	/* the counter */
	GString *heap;
	gboolean ok = TRUE;
	int i;

	if (s->fail_after >= 0 &&
	    g_atomic_int_add(&w->signed_count, 1) >= s->fail_after) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_TEMP,
		    "DKIM signing failed (HERALD_DKIM_FAIL_AFTER=%d)",
		    s->fail_after);
		return FALSE;
	}
	heap = g_string_sized_new(1024);
	for (i = 0; i < 2 && ok; i++)
		if (s->key[i] != NULL)
			ok = dkim_sign_one(s, i, msg->str + start,
			    msg->len - start, heap, error);
	if (ok)
		g_string_insert_len(msg, start, heap->str, heap->len);
	g_string_free(heap, TRUE);
	return ok;
}

/* the verifier's key lookup: the caller's function, through the handle */
struct dkim_verify_ctx {
	dkim_lookup_fn lookup;
	gpointer data;
};

/* dkim_key_lookup_cb - libopendkim asks for a selector's TXT record */
static DKIM_CBSTAT
dkim_key_lookup_cb(DKIM *d, DKIM_SIGINFO *sig, u_char *buf, size_t buflen)
{
	struct dkim_verify_ctx *ctx = dkim_get_user_context(d);
	const char *rec;

	if (ctx == NULL || ctx->lookup == NULL)
		return DKIM_CBSTAT_NOTFOUND;
	rec = ctx->lookup((const char *)dkim_sig_getselector(sig),
	    (const char *)dkim_sig_getdomain(sig), ctx->data);
	if (rec == NULL)
		return DKIM_CBSTAT_NOTFOUND;
	g_strlcpy((char *)buf, rec, buflen);
	return DKIM_CBSTAT_CONTINUE;
}

/* dkim_verify_message - every signature of MSG checked with LOOKUP's keys */
gboolean
dkim_verify_message(const char *msg, gsize len, dkim_lookup_fn lookup, gpointer data,
    GString *report, GError **error)
{
	struct dkim_verify_ctx ctx = { lookup, data };
	DKIM_LIB *lib = dkim_library(error);
	DKIM_SIGINFO **sigs = NULL;
	DKIM_STAT st = DKIM_STAT_OK;
	DKIM *d;
	int n = 0, i, bad = 0;
	g_autoptr(GString) why = g_string_new(NULL);

	if (lib == NULL)
		return FALSE;
	if ((d = dkim_verify_new(lib, (const u_char *)"herald", NULL,
	    &st)) == NULL) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_SOFTWARE,
		    "dkim_verify: %s", dkim_getresultstr(st));
		return FALSE;
	}
	dkim_set_user_context(d, &ctx);
	if ((st = dkim_chunk(d, (u_char *)msg, len)) == DKIM_STAT_OK)
		st = dkim_chunk(d, NULL, 0);
	if (st == DKIM_STAT_OK || st == DKIM_STAT_NOSIG)
		st = dkim_eom(d, NULL);
	if (dkim_getsiglist(d, &sigs, &n) != DKIM_STAT_OK)
		n = 0;
	for (i = 0; i < n; i++) {
		unsigned flags = dkim_sig_getflags(sigs[i]);
		gboolean pass = (flags & DKIM_SIGFLAG_PASSED) != 0 &&
		    dkim_sig_getbh(sigs[i]) == DKIM_SIGBH_MATCH;
		dkim_alg_t alg = 0;
		g_autofree char *line = NULL;

		(void)dkim_sig_getsignalg(sigs[i], &alg);
		line = g_strdup_printf("%s s=%s d=%s: %s%s%s",
		    alg == DKIM_SIGN_ED25519SHA256 ? "ed25519-sha256" :
		    alg == DKIM_SIGN_RSASHA256 ? "rsa-sha256" : "other",
		    dkim_sig_getselector(sigs[i]), dkim_sig_getdomain(sigs[i]),
		    pass ? "pass" : "FAIL", pass ? "" : ": ",
		    pass ? "" : dkim_sig_getbh(sigs[i]) == DKIM_SIGBH_MISMATCH ?
		    "body hash mismatch" :
		    dkim_sig_geterrorstr(dkim_sig_geterror(sigs[i])) != NULL ?
		    dkim_sig_geterrorstr(dkim_sig_geterror(sigs[i])) :
		    "signature mismatch");
		if (report != NULL)
			g_string_append_printf(report, "%s\n", line);
		if (!pass) {
			bad++;
			g_string_append_printf(why, "%s%s", why->len > 0 ? "; " :
			    "", line);
		}
	}
	dkim_free(d);
	if (n == 0) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_DATA,
		    "no DKIM signature (%s)", dkim_getresultstr(st));
		return FALSE;
	}
	if (bad > 0) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_DATA, "%s",
		    why->str);
		return FALSE;
	}
	return TRUE;
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

