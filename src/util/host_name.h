/*
 * host_name.h - this host's fully qualified domain name, for an SMTP
 * greeting (EHLO).
 */
#ifndef HERALD_HOST_NAME_H
#define HERALD_HOST_NAME_H

#include <glib.h>

/* host_name_fqdn - the canonical name of gethostname() as getaddrinfo
 * (AI_CANONNAME) gives it, when that is fully qualified (has a dot and
 * is not localhost.*); NULL otherwise. Looked up once per process;
 * borrowed, never freed. */
const char *host_name_fqdn(void);

#endif
