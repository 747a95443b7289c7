/*
 * dl_lib.h - open shared libraries with dlopen() when first needed and
 * fill a table of their functions' pointers: how herald loads libesmtp
 * and libssl (send.c) and libcrypto (dkim.c) only in the processes
 * that send or sign, instead of linking them into every herald pipe.
 */
#ifndef HERALD_DL_LIB_H
#define HERALD_DL_LIB_H

#include <glib.h>

/* one function to find: NAME in the library LIB (an index into the
 * sonames given), its address written to *PTR */
struct dl_sym {
	const char *name;
	guint lib;
	void **ptr;
};

/* dl_lib_load - dlopen each of the N SONAMES (RTLD_NOW | RTLD_GLOBAL),
 * then find each of the NSYMS SYMS. NULL when every one was found; else
 * why not (the loader's words, or "A or B has no NAME"), the caller's to
 * free. Not thread-safe: call it once (g_once). */
char *dl_lib_load(const char *const *sonames, guint n,
    const struct dl_sym *syms, guint nsyms);

#endif
