/*
 * dl_lib.c - load a set of shared libraries and a table of their
 * functions (see dl_lib.h). Must stay true: a library or function that
 * is missing is an answer in words, never a crash; nothing is unloaded.
 */
#include <dlfcn.h>

#include "dl_lib.h"

/* dl_lib_load - see dl_lib.h */
char *
dl_lib_load(const char *const *sonames, guint n, const struct dl_sym *syms,
    guint nsyms)
{
	void *libs[8];
	guint i;

	g_return_val_if_fail(n <= G_N_ELEMENTS(libs), g_strdup("too many"));
	for (i = 0; i < n; i++)
		if ((libs[i] = dlopen(sonames[i], RTLD_NOW | RTLD_GLOBAL)) ==
		    NULL)
			return g_strdup(dlerror());
	for (i = 0; i < nsyms; i++) {
		g_return_val_if_fail(syms[i].lib < n, g_strdup("bad table"));
		if ((*syms[i].ptr = dlsym(libs[syms[i].lib], syms[i].name)) ==
		    NULL) {
			g_autofree char *all = g_strjoinv(" or ",
			    (char **)sonames);

			return g_strdup_printf("%s has no %s", all,
			    syms[i].name);
		}
	}
	return NULL;
}
