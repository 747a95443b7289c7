/*
 * listen_addr.c - a numeric listen address ("ADDR:PORT", "[V6]:PORT") to
 * a socket address, for herald serve's listener and herald doctor's
 * probe of it, which must read the same text the same way.
 */
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "herald.h"
#include "listen_addr.h"

/* listen_addr_parse - LISTEN ("ADDR:PORT", "[V6]:PORT"; an empty ADDR is
 * the wildcard) into SS and SSLEN, numeric only: what herald serve binds
 * and what herald doctor's probe connects to (it makes a wildcard the
 * loopback) */
gboolean
listen_addr_parse(const char *listen, struct sockaddr_storage *ss,
    socklen_t *sslen, GError **error)
{
	g_autofree char *host = NULL;
	const char *colon, *port;
	struct addrinfo hints = { 0 }, *res = NULL;

	if (listen == NULL)
		goto bad;
	if (listen[0] == '[') {
		const char *end = strchr(listen, ']');

		if (end == NULL || end[1] != ':')
			goto bad;
		host = g_strndup(listen + 1, end - listen - 1);
		port = end + 2;
	} else {
		if ((colon = strrchr(listen, ':')) == NULL)
			goto bad;
		host = g_strndup(listen, colon - listen);
		port = colon + 1;
	}
	if (*port == '\0' || strlen(port) > 5 ||
	    strspn(port, "0123456789") != strlen(port) || atoi(port) > 65535)
		goto bad;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(*host != '\0' ? host : NULL, port, &hints, &res) != 0)
		goto bad;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sslen = res->ai_addrlen;
	freeaddrinfo(res);
	return TRUE;
bad:
	g_set_error(error, HERALD_ERROR, HERALD_ERROR_USAGE,
	    "listen address \"%s\" is not ADDR:PORT (numeric, e.g."
	    " 127.0.0.1:8025 or [::1]:8025)", listen != NULL ? listen : "");
	return FALSE;
}

