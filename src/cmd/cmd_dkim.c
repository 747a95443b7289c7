/*
 * cmd_dkim.c - herald dkim keygen LIST [--out FILE] [--bits N]
 *              [--ed25519] [--force]
 *
 * Makes the list's signing key(s) (dkim.c) and prints the TXT record(s)
 * to publish. The RSA key goes to --out, else the list's key_file, else
 * DATA_DIR/dkim/LIST.herald.pem; the ed25519 key (when the list has an
 * ed25519_selector, or with --ed25519) to ed25519_key_file or beside it.
 * A list without a dkim { } section is told the section to add.
 */
#include <stdio.h>
#include <string.h>

#include "herald.h"
#include "cmd.h"
#include "config.h"
#include "dkim.h"

/* keygen_print - the zone line of the key in PATH */
static gboolean
keygen_print(const char *path, enum dkim_key_type type, const char *selector,
    const char *domain, GError **error)
{
	struct dkim_key *k = dkim_key_load(path, type, error);
	g_autofree char *name = NULL, *txt = NULL;

	if (k == NULL)
		return FALSE;
	name = g_strdup_printf("%s._domainkey.%s.", selector, domain);
	txt = dkim_zone_txt(name, dkim_key_record(k));
	if (type == DKIM_KEY_RSA)
		printf("; %s (rsa, %d bits), mode 0600\n%s\n", path,
		    dkim_key_bits(k), txt);
	else
		printf("; %s (ed25519), mode 0600\n%s\n", path, txt);
	dkim_key_free(k);
	return TRUE;
}

int
cmd_dkim(struct herald *h, int argc, char **argv)
{
	g_autofree char *out = NULL;
	gboolean ed = FALSE, force = FALSE;
	int bits = DKIM_RSA_BITS;
	GOptionEntry entries[] = {
		{ "out", 'o', 0, G_OPTION_ARG_FILENAME, &out,
		    "write the RSA key here (default: the list's key_file)",
		    "FILE" },
		{ "bits", 0, 0, G_OPTION_ARG_INT, &bits,
		    "RSA key size (default 2048)", "N" },
		{ "ed25519", 0, 0, G_OPTION_ARG_NONE, &ed,
		    "also make an ed25519 key (a second signature, RFC 8463)",
		    NULL },
		{ "force", 0, 0, G_OPTION_ARG_NONE, &force,
		    "replace existing keys (publish the new records first)",
		    NULL },
		{ NULL }
	};
	const struct list_config *list;
	const struct list_dkim *k;
	g_autofree char *domain = NULL, *rsa_path = NULL, *ed_path = NULL;
	g_autofree char *ed_sel = NULL;
	const char *sel;
	GError *error = NULL;

	if (!cmd_parse("dkim", "keygen LIST", "Make a list's DKIM signing key "
	    "(mode 0600) and print the TXT record to publish.", entries, &argc,
	    &argv))
		return EX_USAGE;
	if (argc != 3 || strcmp(argv[1], "keygen") != 0) {
		fprintf(stderr, "herald dkim: usage: herald dkim keygen LIST\n");
		return EX_USAGE;
	}
	if ((list = config_list(h->config, argv[2], &error)) == NULL)
		return cmd_error("dkim", error);
	k = list->dkim;
	domain = k != NULL ? g_strdup(k->domain) : config_from_domain(list);
	if (domain == NULL)
		domain = g_strdup(list->domain);
	sel = k != NULL ? k->selector : "herald";
	rsa_path = g_strdup(out != NULL ? out : k != NULL ? k->key_file : NULL);
	if (rsa_path == NULL)
		rsa_path = dkim_default_key_path(h->config->data_dir, list->name,
		    sel);
	if (k != NULL && k->ed25519_selector != NULL) {
		ed = TRUE;
		ed_sel = g_strdup(k->ed25519_selector);
		ed_path = g_strdup(k->ed25519_key_file);
	} else if (ed) {
		ed_sel = g_strdup_printf("%s-ed25519", sel);
		ed_path = dkim_default_key_path(h->config->data_dir, list->name,
		    ed_sel);
	}
	if (!dkim_keygen(rsa_path, DKIM_KEY_RSA, bits, force, &error) ||
	    (ed && !dkim_keygen(ed_path, DKIM_KEY_ED25519, 0, force, &error)))
		return cmd_error("dkim", error);
	if (!keygen_print(rsa_path, DKIM_KEY_RSA, sel, domain, &error) ||
	    (ed && !keygen_print(ed_path, DKIM_KEY_ED25519, ed_sel, domain,
	    &error)))
		return cmd_error("dkim", error);
	if (k == NULL || (out != NULL && strcmp(out, k->key_file) != 0)) {
		printf("\n; add to %s:\ndkim {\n\tdomain = \"%s\"\n"
		    "\tselector = \"%s\"\n\tkey_file = \"%s\"\n", list->file,
		    domain, sel, rsa_path);
		if (ed && (k == NULL || k->ed25519_selector == NULL))
			printf("\ted25519_selector = \"%s\"\n"
			    "\ted25519_key_file = \"%s\"\n", ed_sel, ed_path);
		printf("}\n");
	}
	return EX_OK;
}
