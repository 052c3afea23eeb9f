/* endpoint.h - sslwrap-hack's address specs: parse, listen, connect. */
#ifndef SSLWRAP_ENDPOINT_H
#define SSLWRAP_ENDPOINT_H

#include <stdint.h>
#include <sys/socket.h>

#include "ipaddr.h"

/* "[" + IPv6 + "]:" + port + NUL, or a unix socket path (sun_path). */
#define ENDPOINT_TEXT_MAX 110

struct endpoint {
	int family;			/* AF_INET, AF_INET6 or AF_UNIX */
	struct sockaddr_storage sa;
	socklen_t salen;
	char text[ENDPOINT_TEXT_MAX];	/* canonical form, for logs */
};

/*
 * Parse "IPv4:PORT", "[IPv6]:PORT" or (when allow_unix) an absolute
 * unix socket path. Addresses are numeric only, through ipaddr_parse.
 * Returns 0, or -1 with *error_r set to a static reason.
 */
int endpoint_parse(const char *spec, int allow_unix, struct endpoint *ep_r,
    const char **error_r);

/* A listening TCP socket (CLOEXEC, NONBLOCK, SO_REUSEADDR); -1 on error. */
int endpoint_listen(const struct endpoint *ep);

/*
 * Connect to ep within timeout_ms. Returns a non-blocking CLOEXEC
 * socket, or -1 with errno set (ETIMEDOUT on timeout).
 */
int endpoint_connect(const struct endpoint *ep, int timeout_ms);

/* Convert a socket address to ipaddr (IPv4-mapped unmapped) and port. */
int endpoint_from_sockaddr(const struct sockaddr_storage *ss,
    struct ipaddr *addr_r, uint16_t *port_r);

#endif
