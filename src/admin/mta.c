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

/* mta_valid_socket - unix:PATH (relative too: Postfix's chroot) or
 * HOST:PORT, with nothing an MTA reads as its own syntax */
static gboolean
mta_valid_socket(const char *where)
{
	const char *colon = strrchr(where, ':');
	const char *p;

	if (g_str_has_prefix(where, "unix:")) {
		g_autofree char *abs = g_strconcat("/", where + 5, NULL);

		return where[5] != '\0' && mta_valid_path(abs);
	}
	if (colon == NULL || colon == where || colon[1] == '\0' ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return FALSE;
	for (p = where; p < colon; p++)
		if (!g_ascii_isalnum(*p) && strchr(".-:[]", *p) == NULL)
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
	if (p->lmtp != NULL && !mta_valid_socket(p->lmtp)) {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_USAGE,
		    "--socket \"%s\" is not unix:PATH (without white space,"
		    " quotes, $ or ;) or HOST:PORT", p->lmtp);
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
mta_transport_map(const struct config *config, const char *transport)
{
	GString *s = g_string_new(NULL);
	guint i;
	size_t j;

	for (i = 0; i < config->lists->len; i++) {
		const struct list_config *l = g_ptr_array_index(config->lists, i);

		for (j = 0; j < G_N_ELEMENTS(mta_suffixes); j++)
			g_string_append_printf(s, "%s%s@%s\t%s\n", l->local,
			    mta_suffixes[j], l->domain, transport);
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

/* mta_postfix_lmtp - main.cf and the transport map for herald lmtp */
static char *
mta_postfix_lmtp(const struct config *config, const struct mta_params *p)
{
	g_autofree char *next = g_str_has_prefix(p->lmtp, "unix:") ?
	    g_strdup_printf("lmtp:%s", p->lmtp) :
	    g_strdup_printf("lmtp:inet:%s", p->lmtp);
	g_autofree char *map = mta_transport_map(config, next);
	g_autofree char *domains = mta_domains(config, ", ");
	g_autofree char *mapfile = g_build_filename(p->postfix_dir != NULL ?
	    p->postfix_dir : "/etc/postfix", "herald_transport", NULL);

	return g_strdup_printf(
	    "# --- main.cf (postconf -e each line) ---\n"
	    "# list addresses carry +TOKEN extensions\n"
	    "recipient_delimiter = +\n"
	    "# the list domain is relayed to herald lmtp, and only its addresses\n"
	    "# exist (add the domain to relay_domains if you have one already)\n"
	    "relay_domains = %s\n"
	    "transport_maps = hash:%s\n"
	    "relay_recipient_maps = hash:%s\n"
	    "\n"
	    "# --- master.cf ---\n"
	    "# nothing to add: the lmtp service is there already. herald lmtp\n"
	    "# must listen where lmtp(8) looks: %s is\n"
	    "# inside Postfix's chroot when the lmtp line's chroot column is y\n"
	    "# (Debian's default); make it n, or listen under\n"
	    "# /var/spool/postfix. The postfix user must be able to write the\n"
	    "# socket (herald lmtp --socket-mode, or a shared group).\n"
	    "#   herald lmtp --listen %s\n"
	    "\n"
	    "# --- %s (then: postmap %s) ---\n"
	    "%s",
	    domains, mapfile, mapfile, p->lmtp, p->lmtp, mapfile, mapfile, map);
}


/* mta_check_postfix_dir - DIR is absolute and has nothing Postfix would
 * split a map list on or expand (white space, comma, quote, backslash, $),
 * nor a control character; else a USAGE error naming it */
gboolean
mta_check_postfix_dir(const char *dir, GError **error)
{
	const unsigned char *p;

	if (dir[0] != '/') {
		g_set_error(error, HERALD_ERROR, HERALD_ERROR_USAGE,
		    "--postfix-dir %s: wants an absolute path (Postfix's daemons "
		    "do not run in this folder)", dir);
		return FALSE;
	}
	for (p = (const unsigned char *)dir; *p != '\0'; p++)
		if (*p <= ' ' || *p == 0x7f || strchr(",\"'\\$", *p) != NULL) {
			g_set_error(error, HERALD_ERROR, HERALD_ERROR_USAGE,
			    "--postfix-dir %s: Postfix would split or expand it at "
			    "'%c' in main.cf: choose a path without white space, "
			    "commas, quotes, backslashes or $", dir,
			    *p > ' ' ? *p : '?');
			return FALSE;
		}
	return TRUE;
}

/* mta_postfix_cmd - "postconf" or "postconf -c DIR" (as a shell word) */
static char *
mta_postfix_cmd(const char *prog, const struct mta_params *p)
{
	g_autofree char *q = NULL;

	if (p->postfix_dir == NULL)
		return g_strdup(prog);
	q = g_shell_quote(p->postfix_dir);
	return g_strdup_printf("%s -c %s", prog, q);
}

/* mta_postfix - main.cf, master.cf and the transport map, then the
 * postconf and postmap commands that install them */
char *
mta_postfix(const struct config *config, const struct mta_params *p)
{
	g_autofree char *map = NULL;
	g_autofree char *domains = mta_domains(config, ", ");
	g_autofree char *cmd = mta_command(p);
	g_autofree char *mapfile = g_build_filename(p->postfix_dir != NULL ?
	    p->postfix_dir : "/etc/postfix", "herald_transport", NULL);
	g_autofree char *postconf = mta_postfix_cmd("postconf", p);
	g_autofree char *postmap = mta_postfix_cmd("postmap", p);
	g_autofree char *postfix = mta_postfix_cmd("postfix", p);
	g_autofree char *hash = g_strdup_printf("hash:%s", mapfile);
	g_autofree char *master = g_strdup_printf("herald/unix=herald unix - n n"
	    " - - pipe flags=DRXq user=%s null_sender= argv=%s -f ${sender} "
	    "-- ${recipient}", p->user, cmd);
	const char *settings[] = { "recipient_delimiter = +", NULL, NULL,
	    NULL, "herald_destination_recipient_limit = 1" };
	g_autofree char *relay = g_strdup_printf("relay_domains = %s", domains);
	g_autofree char *tmaps = g_strdup_printf("transport_maps = %s", hash);
	g_autofree char *rmaps = g_strdup_printf("relay_recipient_maps = %s",
	    hash);
	g_autofree char *qmaster = g_shell_quote(master);
	g_autofree char *qmapfile = g_shell_quote(mapfile);
	g_autofree char *qdata = g_shell_quote(config->data_dir);
	g_autofree char *quser = g_shell_quote(p->user);
	g_autoptr(GString) conf = g_string_new(NULL);
	size_t i;

	if (p->lmtp != NULL)
		return mta_postfix_lmtp(config, p);
	map = mta_transport_map(config, "herald:");
	settings[1] = relay;
	settings[2] = tmaps;
	settings[3] = rmaps;
	g_string_append_printf(conf, "%s -e", postconf);
	for (i = 0; i < G_N_ELEMENTS(settings); i++) {
		g_autofree char *q = g_shell_quote(settings[i]);

		g_string_append_printf(conf, " \\\n    %s", q);
	}
	return g_strdup_printf(
	    "# herald pipe runs as %s: herald's data folder %s (the\n"
	    "# database with its -wal and -shm files, the secret, the spool)\n"
	    "# must belong to that user, e.g. chown -R %s %s\n"
	    "\n"
	    "# --- main.cf (the postconf -e line at the end sets these) ---\n"
	    "# list addresses carry +TOKEN extensions\n"
	    "recipient_delimiter = +\n"
	    "# the list domain is relayed to herald, and only its addresses exist\n"
	    "# (add the domain to relay_domains if you have one already)\n"
	    "%s\n%s\n%s\n"
	    "# one recipient per herald pipe run: the exit status is per address\n"
	    "herald_destination_recipient_limit = 1\n"
	    "\n"
	    "# --- master.cf (the postconf -M line at the end adds it) ---\n"
	    "# D: Delivered-To, R: Return-Path, X: final delivery, q: quote\n"
	    "# null_sender= : a bounce arrives as -f '' (not MAILER-DAEMON)\n"
	    "herald    unix  -       n       n       -       -       pipe\n"
	    "  flags=DRXq user=%s null_sender=\n"
	    "  argv=%s -f ${sender} -- ${recipient}\n"
	    "\n"
	    "# --- %s (then: postmap %s) ---\n"
	    "%s"
	    "\n"
	    "# --- as root, once the map file above is in place ---\n"
	    "%s\n"
	    "%s -M %s\n"
	    "%s %s\n"
	    "%s reload\n",
	    p->user, config->data_dir, quser, qdata,
	    relay, tmaps, rmaps, p->user, cmd, mapfile, mapfile, map,
	    conf->str, postconf, qmaster, postmap, qmapfile, postfix);
}

/* mta_exim_lmtp - a router and an lmtp (unix socket) or smtp (protocol
 * lmtp, TCP) transport for herald lmtp */
static char *
mta_exim_lmtp(const struct config *config, const struct mta_params *p)
{
	GString *parts = g_string_new(NULL);
	g_autofree char *domains = mta_domains(config, " : ");
	g_autofree char *transport = NULL;
	const char *colon;
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
	if (g_str_has_prefix(p->lmtp, "unix:"))
		transport = g_strdup_printf("  driver = lmtp\n  socket = %s\n",
		    p->lmtp + 5);
	else {
		colon = strrchr(p->lmtp, ':');
		transport = g_strdup_printf("  driver = smtp\n  protocol = lmtp\n"
		    "  hosts = %.*s\n  port = %s\n  allow_localhost\n",
		    colon != NULL ? (int)(colon - p->lmtp) : (int)strlen(p->lmtp),
		    p->lmtp, colon != NULL ? colon + 1 : "24");
	}
	out = g_strdup_printf(
	    "# --- routers (begin routers; before dnslookup) ---\n"
	    "herald_lists:\n"
	    "  driver = accept\n"
	    "  domains = %s\n"
	    "  local_parts = %s\n"
	    "  local_part_suffix = +*\n"
	    "  local_part_suffix_optional\n"
	    "  transport = herald_lmtp\n"
	    "\n"
	    "# --- transports (begin transports) ---\n"
	    "# herald lmtp --listen %s\n"
	    "herald_lmtp:\n"
	    "%s"
	    "  # 4xx defers, 5xx bounces, one reply per recipient\n"
	    "  batch_max = 100\n",
	    domains, parts->str, p->lmtp, transport);
	g_string_free(parts, TRUE);
	return out;
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

	if (p->lmtp != NULL)
		return mta_exim_lmtp(config, p);
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
	    "  command = %s -f \"$sender_address\" -- "
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
