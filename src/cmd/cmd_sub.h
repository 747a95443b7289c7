/*
 * cmd_sub.h - the parts of "herald sub" that live in files of their own
 * (cmd_sub.c dispatches on the verb), and what they share.
 */
#ifndef HERALD_CMD_SUB_H
#define HERALD_CMD_SUB_H

#include "cmd.h"
#include "config.h"
#include "token.h"

int cmd_sub_import(struct herald *h, int argc, char **argv);
int cmd_sub_export(struct herald *h, int argc, char **argv);
int cmd_sub_erase(struct herald *h, int argc, char **argv);

/* the erased addresses of a list, for import and add (cmd_sub_erase.c) */
struct cmd_sub_erased {
	struct token_key key;
	GHashTable *set;	/* hashes kept for the list */
	gint64 list_id;
	gboolean allow;		/* --allow-erased: the owner's override */
};
struct cmd_sub_erased *cmd_sub_erased_new(struct herald *h, gint64 list_id,
    gboolean allow, GError **error);
void cmd_sub_erased_free(struct cmd_sub_erased *e);
/* cmd_sub_erased_refuse - EMAIL was erased and may not come back (with
 * ALLOW its hash is forgotten instead, and FALSE; an error is TRUE with
 * *ERROR set) */
gboolean cmd_sub_erased_refuse(struct cmd_sub_erased *e, struct store *store,
    const char *email, GError **error);

/* cmd_sub_list - the list named NAME, or print why not and return NULL
 * with *STATUS set (67 for an unknown list) */
const struct list_config *cmd_sub_list(struct herald *h, const char *cmd,
    const char *name, int *status);

#endif
