/*
 * cmd.c - what every cmd_*.c shares: reporting an error with the exit
 * status its class maps to, and option parsing with one-line hints.
 */
#include <stdio.h>
#include <string.h>

#include "herald.h"
#include "cmd.h"

/* cmd_error - report ERROR for CMD and return its exit status */
int
cmd_error(const char *cmd, GError *error)
{
	int status = herald_exit_status(error);

	fprintf(stderr, "herald %s: %s\n", cmd, error->message);
	g_error_free(error);
	return status;
}

/* cmd_context - the GOption context of command CMD: the program name is
 * "herald CMD", so the usage line reads "herald CMD [OPTION…] PARAMS" */
static GOptionContext *
cmd_context(const char *cmd, const char *params, const char *summary,
    const char *description, const GOptionEntry *entries,
    GOptionEntry **copy)
{
	g_autofree char *prg = g_strdup_printf("herald %s", cmd);
	GOptionContext *ctx = g_option_context_new(params);
	size_t i, n;

	g_set_prgname(prg);
	if (summary != NULL)
		g_option_context_set_summary(ctx, summary);
	if (description != NULL)
		g_option_context_set_description(ctx, description);
	*copy = NULL;
	if (entries != NULL) {
		/* Text options are taken as FILENAME types: GOption converts
		 * STRING values from the locale's charset, which under LANG=C
		 * refuses "Jürgen". herald's arguments are UTF-8; modules check
		 * the values they store (g_utf8_validate) themselves. */
		for (n = 0; entries[n].long_name != NULL; n++)
			;
		*copy = g_memdup2(entries, (n + 1) * sizeof(*entries));
		for (i = 0; i < n; i++) {
			if ((*copy)[i].arg == G_OPTION_ARG_STRING)
				(*copy)[i].arg = G_OPTION_ARG_FILENAME;
			else if ((*copy)[i].arg == G_OPTION_ARG_STRING_ARRAY)
				(*copy)[i].arg = G_OPTION_ARG_FILENAME_ARRAY;
		}
		g_option_context_add_main_entries(ctx, *copy, NULL);
	}
	g_option_context_set_strict_posix(ctx, FALSE);
	return ctx;
}

/* cmd_parse - GOption over the command's own arguments */
gboolean
cmd_parse(const char *cmd, const char *params, const char *summary,
    const GOptionEntry *entries, int *argc, char ***argv)
{
	g_autofree GOptionEntry *copy = NULL;
	g_autoptr(GOptionContext) ctx = cmd_context(cmd, params, summary, NULL,
	    entries, &copy);
	g_autoptr(GError) error = NULL;

	if (!g_option_context_parse(ctx, argc, argv, &error)) {
		fprintf(stderr, "herald %s: %s (try \"herald %s --help\")\n", cmd,
		    error->message, cmd);
		return FALSE;
	}
	return TRUE;
}

/* cmd_is_help - ARG asks for help */
gboolean
cmd_is_help(const char *arg)
{
	return arg != NULL && (strcmp(arg, "--help") == 0 ||
	    strcmp(arg, "-h") == 0 || strcmp(arg, "-?") == 0);
}

/* cmd_help_verbs - the --help of a command made of verbs, in the layout
 * GOption gives every other command; VERBS is one "VERB ARGS" a line */
int
cmd_help_verbs(const char *cmd, const char *params, const char *summary,
    const char *verbs)
{
	g_autofree GOptionEntry *copy = NULL;
	g_autofree char *desc = g_strdup_printf("%s\n\"herald %s VERB --help\" "
	    "describes one.", verbs, cmd);
	g_autoptr(GOptionContext) ctx = cmd_context(cmd, params, summary, desc,
	    NULL, &copy);
	g_autofree char *text = g_option_context_get_help(ctx, TRUE, NULL);

	fputs(text, stdout);
	return EX_OK;
}
