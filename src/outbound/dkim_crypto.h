/*
 * dkim_crypto.h - the functions of OpenSSL's libcrypto that dkim.c and
 * dkim_sign.c call, reached through a table filled by dlopen() the first
 * time a key is loaded (dkim_crypto_open): most herald runs (one herald
 * pipe per inbound message) sign nothing, and binding libcrypto at
 * start-up would cost every one of them, as send.c keeps libesmtp and
 * libssl out of start-up. Below the table each name is a macro for its
 * pointer, so the code reads as plain OpenSSL.
 *
 * Must stay true: include this after every other header that may
 * declare an OpenSSL function, and call dkim_crypto_open() (TRUE) before
 * any of them.
 */
#ifndef HERALD_DKIM_CRYPTO_H
#define HERALD_DKIM_CRYPTO_H

#include <glib.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "dkim.h"

/* a private key, parsed once, then only read (by any thread) */
struct dkim_key {
	enum dkim_key_type type;
	char *path;
	EVP_PKEY *pkey;
	EVP_PKEY_CTX *sign;	/* RSA: set up to sign a SHA-256 digest once,
				 * duplicated for each message (no algorithm
				 * fetch per message); never used itself */
	int bits;
	char *record;		/* v=DKIM1; k=…; p=… */
};

/* the functions taken from libcrypto */
#define DKIM_CRYPTO_FUNCS(C) \
	C(BIO_new_mem_buf) C(BIO_new) C(BIO_s_mem) C(BIO_ctrl) C(BIO_free) \
	C(PEM_read_bio_PrivateKey) C(PEM_write_bio_PrivateKey) \
	C(EVP_PKEY_free) C(EVP_PKEY_get_base_id) C(EVP_PKEY_get_bits) \
	C(EVP_PKEY_get_size) C(EVP_PKEY_Q_keygen) C(i2d_PUBKEY) \
	C(d2i_PUBKEY) C(EVP_PKEY_get_raw_public_key) \
	C(EVP_PKEY_new_raw_public_key) \
	C(ERR_get_error) C(ERR_error_string_n) C(ERR_clear_error) \
	C(CRYPTO_free) C(EVP_MD_fetch) C(EVP_MD_CTX_new) C(EVP_MD_CTX_free) \
	C(EVP_DigestInit_ex) C(EVP_DigestUpdate) C(EVP_DigestFinal_ex) \
	C(EVP_PKEY_CTX_new) C(EVP_PKEY_CTX_free) C(EVP_PKEY_CTX_dup) \
	C(EVP_PKEY_sign_init) \
	C(EVP_PKEY_sign) C(EVP_PKEY_verify_init) C(EVP_PKEY_verify) \
	C(EVP_PKEY_CTX_set_rsa_padding) C(EVP_PKEY_CTX_set_signature_md) \
	C(EVP_DigestSignInit) C(EVP_DigestSign) C(EVP_DigestVerifyInit) \
	C(EVP_DigestVerify)

#define DKIM_CRYPTO_PTR(f)	__typeof__(f) *f;
struct dkim_crypto {
	DKIM_CRYPTO_FUNCS(DKIM_CRYPTO_PTR)
	EVP_MD *sha256;		/* fetched once: no fetch per message */
	char *error;		/* why libcrypto could not be had, or NULL */
};
#undef DKIM_CRYPTO_PTR

extern struct dkim_crypto dkim_crypto;

/* dkim_crypto_open - load libcrypto once (thread-safe); FALSE and a
 * CONFIG error when it cannot be */
gboolean dkim_crypto_open(GError **error);

/* dkim_crypto_error - OpenSSL's last error as text, its queue emptied
 * (caller frees) */
char *dkim_crypto_error(void);

/* from here on, every call goes through the pointers (but in
 * dkim_crypto.c, which fills them) */
#ifndef DKIM_CRYPTO_NO_MACROS
#define BIO_new_mem_buf		(*dkim_crypto.BIO_new_mem_buf)
#define BIO_new			(*dkim_crypto.BIO_new)
#define BIO_s_mem		(*dkim_crypto.BIO_s_mem)
#define BIO_ctrl		(*dkim_crypto.BIO_ctrl)
#define BIO_free		(*dkim_crypto.BIO_free)
#define PEM_read_bio_PrivateKey	(*dkim_crypto.PEM_read_bio_PrivateKey)
#define PEM_write_bio_PrivateKey (*dkim_crypto.PEM_write_bio_PrivateKey)
#define EVP_PKEY_free		(*dkim_crypto.EVP_PKEY_free)
#define EVP_PKEY_get_base_id	(*dkim_crypto.EVP_PKEY_get_base_id)
#define EVP_PKEY_get_bits	(*dkim_crypto.EVP_PKEY_get_bits)
#define EVP_PKEY_get_size	(*dkim_crypto.EVP_PKEY_get_size)
#define EVP_PKEY_Q_keygen	(*dkim_crypto.EVP_PKEY_Q_keygen)
#define i2d_PUBKEY		(*dkim_crypto.i2d_PUBKEY)
#define d2i_PUBKEY		(*dkim_crypto.d2i_PUBKEY)
#define EVP_PKEY_get_raw_public_key (*dkim_crypto.EVP_PKEY_get_raw_public_key)
#define EVP_PKEY_new_raw_public_key (*dkim_crypto.EVP_PKEY_new_raw_public_key)
#define ERR_get_error		(*dkim_crypto.ERR_get_error)
#define ERR_error_string_n	(*dkim_crypto.ERR_error_string_n)
#define ERR_clear_error		(*dkim_crypto.ERR_clear_error)
#define CRYPTO_free		(*dkim_crypto.CRYPTO_free)
#define EVP_MD_fetch		(*dkim_crypto.EVP_MD_fetch)
#define EVP_MD_CTX_new		(*dkim_crypto.EVP_MD_CTX_new)
#define EVP_MD_CTX_free		(*dkim_crypto.EVP_MD_CTX_free)
#define EVP_DigestInit_ex	(*dkim_crypto.EVP_DigestInit_ex)
#define EVP_DigestUpdate	(*dkim_crypto.EVP_DigestUpdate)
#define EVP_DigestFinal_ex	(*dkim_crypto.EVP_DigestFinal_ex)
#define EVP_PKEY_CTX_new	(*dkim_crypto.EVP_PKEY_CTX_new)
#define EVP_PKEY_CTX_free	(*dkim_crypto.EVP_PKEY_CTX_free)
#define EVP_PKEY_CTX_dup	(*dkim_crypto.EVP_PKEY_CTX_dup)
#define EVP_PKEY_sign_init	(*dkim_crypto.EVP_PKEY_sign_init)
#define EVP_PKEY_sign		(*dkim_crypto.EVP_PKEY_sign)
#define EVP_PKEY_verify_init	(*dkim_crypto.EVP_PKEY_verify_init)
#define EVP_PKEY_verify		(*dkim_crypto.EVP_PKEY_verify)
#define EVP_PKEY_CTX_set_rsa_padding (*dkim_crypto.EVP_PKEY_CTX_set_rsa_padding)
#define EVP_PKEY_CTX_set_signature_md (*dkim_crypto.EVP_PKEY_CTX_set_signature_md)
#define EVP_DigestSignInit	(*dkim_crypto.EVP_DigestSignInit)
#define EVP_DigestSign		(*dkim_crypto.EVP_DigestSign)
#define EVP_DigestVerifyInit	(*dkim_crypto.EVP_DigestVerifyInit)
#define EVP_DigestVerify	(*dkim_crypto.EVP_DigestVerify)
#endif

#endif
