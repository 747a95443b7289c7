/*
 * listen_addr.h - a numeric ADDR:PORT to a socket address.
 */
#ifndef HERALD_LISTEN_ADDR_H
#define HERALD_LISTEN_ADDR_H

#include <glib.h>
#include <sys/socket.h>

/* listen_addr_parse - LISTEN ("ADDR:PORT", "[V6]:PORT", numeric; an empty
 * ADDR is every address) into *SS and *SSLEN; FALSE and a USAGE error
 * otherwise */
gboolean listen_addr_parse(const char *listen, struct sockaddr_storage *ss,
    socklen_t *sslen, GError **error);

#endif
