/*
 * mta.c - write the Postfix and Exim configuration that hands a list's
 * mail to herald pipe (see mta.h). Every list address is named, so mail
 * to an unknown address of the list domain is refused by the MTA itself.
 */
#include <string.h>

#include "herald.h"
#include "config.h"
#include "mta.h"

static const char *const mta_suffixes[] = { "", "-bounces", "-unsubscribe",
    "-subscribe", "-confirm", "-owner", "-request" };

/* mta_domains - the distinct list domains, space-separated */
static char *
mta_domains(const struct config *config, const char *sep)
{
	g_autoptr(GPtrArray) seen = g_ptr_array_new();
	GString *s = g_string_new(NULL);
	guint i, j;

	for (i = 0; i < config->lists->len; i++) {
		const struct list_config *l = g_ptr_array_index(config->lists, i);
		gboolean dup = FALSE;

		for (j = 0; j < seen->len; j++)
			dup |= g_ascii_strcasecmp(g_ptr_array_index(seen, j),
			    l->domain) == 0;
		if (dup)
			continue;
		g_ptr_array_add(seen, l->domain);
		g_string_append_printf(s, "%s%s", s->len > 0 ? sep : "",
		    l->domain);
	}
	if (s->len == 0)
		g_string_append(s, config->domain);
	return g_string_free(s, FALSE);
}

/* mta_valid_user - NAME is a system user name by useradd's rule */
static gboolean
mta_valid_user(const char *name)
{
	const char *p;

	if (name == NULL || !(g_ascii_islower(*name) || *name == '_'))
		return FALSE;
	for (p = name; *p != '\0'; p++)
		if (!g_ascii_islower(*p) && !g_ascii_isdigit(*p) && *p != '_' &&
		    *p != '-')
			return FALSE;
	return p - name <= 32;
}

/* mta_valid_path - PATH is absolute and has nothing an MTA reads as its
 * own syntax (white space ends an argument, $ starts a macro) */
static gboolean
mta_valid_path(const char *path)
{
	const char *p;

	if (path == NULL || path[0] != '/')
		return FALSE;
	for (p = path; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f ||
		    strchr("$\"'\\`;", *p) != NULL)
			return FALSE;
	return TRUE;
}

gboolean
mta_check(const struct mta_params *p, GError **error)
{
	if (!mta_valid_user(p->user)) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_USAGE,
		    "--user \"%s\" is not a valid user name (a lower-case "
		    "letter or _, then letters, digits, _ or -; at most 32)",
		    p->user);
		return FALSE;
	}
	if (!mta_valid_path(p->binary)) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_USAGE,
		    "--bin \"%s\" is not an absolute path without white space, "
		    "quotes, $ or ;", p->binary);
		return FALSE;
	}
	if (p->config != NULL && !mta_valid_path(p->config)) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_USAGE,
		    "the configuration path \"%s\" is not an absolute path "
		    "without white space, quotes, $ or ; (give one with "
		    "--config)", p->config);
		return FALSE;
	}
	return TRUE;
}

/* mta_transport_map - ADDRESS herald: for every list address */
char *
mta_transport_map(const struct config *config)
{
	GString *s = g_string_new(NULL);
	guint i;
	size_t j;

	for (i = 0; i < config->lists->len; i++) {
		const struct list_config *l = g_ptr_array_index(config->lists, i);

		for (j = 0; j < G_N_ELEMENTS(mta_suffixes); j++)
			g_string_append_printf(s, "%s%s@%s\therald:\n", l->local,
			    mta_suffixes[j], l->domain);
	}
	return g_string_free(s, FALSE);
}

/* mta_command - the herald command line an MTA runs, before pipe's args */
static char *
mta_command(const struct mta_params *p)
{
	if (p->config != NULL)
		return g_strdup_printf("%s -c %s pipe", p->binary, p->config);
	return g_strdup_printf("%s pipe", p->binary);
}

/* mta_postfix - main.cf, master.cf and the transport map */
char *
mta_postfix(const struct config *config, const struct mta_params *p)
{
	g_autofree char *map = mta_transport_map(config);
	g_autofree char *domains = mta_domains(config, ", ");
	g_autofree char *cmd = mta_command(p);

	return g_strdup_printf(
	    "# --- main.cf (postconf -e each line) ---\n"
	    "# list addresses carry +TOKEN extensions\n"
	    "recipient_delimiter = +\n"
	    "# the list domain is relayed to herald, and only its addresses exist\n"
	    "# (add the domain to relay_domains if you have one already)\n"
	    "relay_domains = %s\n"
	    "transport_maps = hash:/etc/postfix/herald_transport\n"
	    "relay_recipient_maps = hash:/etc/postfix/herald_transport\n"
	    "# one recipient per herald pipe run: the exit status is per address\n"
	    "herald_destination_recipient_limit = 1\n"
	    "\n"
	    "# --- master.cf ---\n"
	    "# D: Delivered-To, R: Return-Path, X: final delivery, q: quote\n"
	    "# null_sender= : a bounce arrives as -f '' (not MAILER-DAEMON)\n"
	    "herald    unix  -       n       n       -       -       pipe\n"
	    "  flags=DRXq user=%s null_sender=\n"
	    "  argv=%s -f ${sender} ${recipient}\n"
	    "\n"
	    "# --- /etc/postfix/herald_transport (then: postmap "
	    "/etc/postfix/herald_transport) ---\n"
	    "%s",
	    domains, p->user, cmd, map);
}

/* mta_exim - a router before dnslookup and a pipe transport */
char *
mta_exim(const struct config *config, const struct mta_params *p)
{
	GString *parts = g_string_new(NULL);
	g_autofree char *domains = mta_domains(config, " : ");
	g_autofree char *cmd = mta_command(p);
	char *out;
	guint i;
	size_t j;

	for (i = 0; i < config->lists->len; i++) {
		const struct list_config *l = g_ptr_array_index(config->lists, i);

		for (j = 0; j < G_N_ELEMENTS(mta_suffixes); j++)
			g_string_append_printf(parts, "%s%s%s",
			    parts->len > 0 ? " : \\\n                " : "",
			    l->local, mta_suffixes[j]);
	}
	out = g_strdup_printf(
	    "# --- routers (begin routers; before dnslookup) ---\n"
	    "herald_lists:\n"
	    "  driver = accept\n"
	    "  domains = %s\n"
	    "  local_parts = %s\n"
	    "  local_part_suffix = +*\n"
	    "  local_part_suffix_optional\n"
	    "  transport = herald_pipe\n"
	    "\n"
	    "# --- transports (begin transports) ---\n"
	    "herald_pipe:\n"
	    "  driver = pipe\n"
	    "  command = %s -f \"$sender_address\" "
	    "\"$local_part$local_part_suffix@$domain\"\n"
	    "  user = %s\n"
	    "  # 75 defers; anything else bounces with herald's one line\n"
	    "  temp_errors = 75\n"
	    "  return_fail_output\n"
	    "  log_output\n",
	    domains, parts->str, cmd, p->user);
	g_string_free(parts, TRUE);
	return out;
}
