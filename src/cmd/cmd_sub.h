/*
 * cmd_sub.h - the parts of "herald sub" that live in files of their own
 * (cmd_sub.c dispatches on the verb), and what they share.
 */
#ifndef HERALD_CMD_SUB_H
#define HERALD_CMD_SUB_H

#include "cmd.h"
#include "config.h"

int cmd_sub_import(struct herald *h, int argc, char **argv);
int cmd_sub_export(struct herald *h, int argc, char **argv);

/* cmd_sub_list - the list named NAME, or print why not and return NULL
 * with *STATUS set (67 for an unknown list) */
const struct list_config *cmd_sub_list(struct herald *h, const char *cmd,
    const char *name, int *status);

#endif
