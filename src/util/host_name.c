/*
 * host_name.c - this host's fully qualified domain name.
 *
 * A relay judges the name a client greets it with: a bare host name
 * ("vm") is no name in the DNS, and many relays and spam filters count
 * it against the mail (Postfix's reject_non_fqdn_helo_hostname refuses
 * it). gethostname() often gives that bare name; the resolver, asked
 * for its canonical name (getaddrinfo with AI_CANONNAME, through
 * /etc/hosts and then the DNS as nsswitch.conf says), may know the full
 * one, as hostname --fqdn does.
 *
 * Must stay true: what host_name_fqdn() returns has a dot and is not a
 * localhost name, or is NULL; it is looked up once (the resolver may be
 * slow) and then shared by every thread.
 */
#include <string.h>
#include <unistd.h>
#include <netdb.h>
#include <sys/socket.h>

#include "host_name.h"

/* host_name_lookup - the fully qualified canonical name, or NULL */
static char *
host_name_lookup(void)
{
	char name[256];
	struct addrinfo hints, *res = NULL;
	char *fqdn = NULL;

	if (gethostname(name, sizeof name) != 0)
		return NULL;
	name[sizeof name - 1] = '\0';
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_CANONNAME;
	if (getaddrinfo(name, NULL, &hints, &res) == 0 && res != NULL &&
	    res->ai_canonname != NULL)
		fqdn = g_strdup(res->ai_canonname);
	else if (strchr(name, '.') != NULL)
		fqdn = g_strdup(name);
	if (res != NULL)
		freeaddrinfo(res);
	if (fqdn != NULL && (strchr(fqdn, '.') == NULL ||
	    g_ascii_strncasecmp(fqdn, "localhost", 9) == 0 ||
	    fqdn[strlen(fqdn) - 1] == '.')) {
		g_free(fqdn);
		fqdn = NULL;
	}
	return fqdn;
}

/* host_name_fqdn - see host_name.h */
const char *
host_name_fqdn(void)
{
	static gsize done;
	static char *fqdn;

	if (g_once_init_enter(&done)) {
		fqdn = host_name_lookup();
		g_once_init_leave(&done, 1);
	}
	return fqdn;
}
