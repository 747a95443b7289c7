/*
 * dkim_crypto.c - libcrypto for the DKIM code, opened with dlopen() the
 * first time it is needed (see dkim_crypto.h), and its error queue read
 * as text. This file alone sees the table without the macros.
 *
 * Must stay true: dkim_crypto is filled once (g_once), then only read.
 */
#define DKIM_CRYPTO_NO_MACROS
#include "herald.h"
#include "dl_lib.h"
#include "dkim_crypto.h"

#ifndef DKIM_CRYPTO_SONAME
#define DKIM_CRYPTO_SONAME	"libcrypto.so.3"
#endif

struct dkim_crypto dkim_crypto;

/* dkim_crypto_open - see dkim_crypto.h */
gboolean
dkim_crypto_open(GError **error)
{
	static gsize done;
	static const char *const sonames[] = { DKIM_CRYPTO_SONAME, NULL };
#define DKIM_CRYPTO_SYM(f)	{ #f, 0, (void **)&dkim_crypto.f },
	static const struct dl_sym syms[] = {
		DKIM_CRYPTO_FUNCS(DKIM_CRYPTO_SYM)
	};
#undef DKIM_CRYPTO_SYM

	if (g_once_init_enter(&done)) {
		dkim_crypto.error = dl_lib_load(sonames, 1, syms,
		    G_N_ELEMENTS(syms));
		if (dkim_crypto.error == NULL &&
		    (dkim_crypto.sha256 = dkim_crypto.EVP_MD_fetch(NULL, "SHA256",
		    NULL)) == NULL)
			dkim_crypto.error = g_strdup("no SHA-256 in libcrypto");
		g_once_init_leave(&done, 1);
	}
	if (dkim_crypto.error != NULL) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_CONFIG,
		    "cannot load OpenSSL's libcrypto for DKIM (apt-get install "
		    "libssl3): %s", dkim_crypto.error);
		return FALSE;
	}
	return TRUE;
}

/* dkim_crypto_error - see dkim_crypto.h */
char *
dkim_crypto_error(void)
{
	char buf[256] = "";
	unsigned long e, last = 0;

	while ((e = dkim_crypto.ERR_get_error()) != 0)
		last = e;
	if (last == 0)
		return g_strdup("no detail");
	dkim_crypto.ERR_error_string_n(last, buf, sizeof buf);
	return g_strdup(buf);
}
