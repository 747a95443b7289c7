/*
 * mta.h - the MTA side of herald pipe, written out for the configured
 * lists: Postfix (main.cf lines, a master.cf pipe transport, a transport
 * map naming every list address) and Exim (a router and a transport).
 *
 * With lmtp set, the same for herald lmtp: Postfix's lmtp(8) client named
 * in the transport map (lmtp:unix:PATH), Exim's lmtp or smtp transport
 * (protocol = lmtp); several recipients per transaction.
 *
 * Must stay true (pipe): each recipient is one invocation (Postfix
 * herald_destination_recipient_limit = 1), the null sender reaches herald
 * as an empty -f (null_sender=), and the recipient keeps its +extension
 * (recipient_delimiter = +; Exim local_part_suffix = +*).
 */
#ifndef HERALD_MTA_H
#define HERALD_MTA_H

#include <glib.h>
#include "config.h"

struct mta_params {
	const char *binary;	/* absolute path of herald */
	const char *config;	/* absolute path of herald.conf, or NULL */
	const char *user;	/* the system user that owns herald's state */
	const char *postfix_dir; /* Postfix's configuration folder, NULL:
				 * the default (/etc/postfix, no -c) */
	const char *lmtp;	/* NULL: herald pipe; else herald lmtp's
				 * socket: "unix:PATH" or "HOST:PORT" */
};

/* mta_check - P can be written into an MTA's configuration: the user a
 * valid system user name (a lower-case letter or _, then lower-case
 * letters, digits, _ and -, at most 32; useradd's rule), the binary and
 * configuration absolute paths with no white space, control character,
 * quote, backslash or $ (which the MTA would read as its own syntax).
 * FALSE and a USAGE error naming the value otherwise. */
gboolean mta_check(const struct mta_params *p, GError **error);

/* mta_postfix - the Postfix snippets, commented, the data folder's owner
 * they need, and the postconf -e / postconf -M / postmap / postfix reload
 * commands that install them (with -c DIR and the map in DIR when
 * P->postfix_dir is set; caller frees) */
char *mta_postfix(const struct config *config, const struct mta_params *p);

/* mta_check_postfix_dir - DIR can name Postfix's configuration folder
 * in main.cf lines: absolute, no white space, comma, quote, backslash, $
 * or control character; FALSE and a USAGE error naming it otherwise */
gboolean mta_check_postfix_dir(const char *dir, GError **error);

/* mta_exim - the Exim router and transport (caller frees) */
char *mta_exim(const struct config *config, const struct mta_params *p);

/* mta_transport_map - just the transport map lines: one per list address,
 * "ADDRESS TRANSPORT" (caller frees) */
char *mta_transport_map(const struct config *config, const char *transport);

#endif
