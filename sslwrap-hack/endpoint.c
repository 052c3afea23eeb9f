/* endpoint.c - parse "IP:PORT" / "[IPv6]:PORT" / unix paths; listen and connect. */
#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "endpoint.h"

/* Decimal 1..65535, no sign, no leading zero, nothing after. */
static int
parse_port(const char *s, uint16_t *port_r)
{
	unsigned long v = 0;
	size_t i;

	if (s[0] == '\0' || s[0] == '0' || strlen(s) > 5)
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*port_r = (uint16_t)v;
	return 0;
}

static int
parse_unix(const char *spec, struct endpoint *ep, const char **error_r)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&ep->sa;
	size_t len = strlen(spec);

	if (len >= sizeof(sun->sun_path) || len >= sizeof(ep->text)) {
		*error_r = "unix socket path too long";
		return -1;
	}
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, spec, len + 1);
	memcpy(ep->text, spec, len + 1);
	ep->family = AF_UNIX;
	ep->salen = (socklen_t)sizeof(*sun);
	return 0;
}

/* Fill ep's sockaddr from a parsed address and port. */
static void
set_inet(struct endpoint *ep, const struct ipaddr *ip, uint16_t port)
{
	char text[IPADDR_TEXT_MAX];

	ipaddr_format(ip, text);
	ep->family = ip->family;
	if (ip->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ep->sa;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, ip->bytes, 4);
		ep->salen = (socklen_t)sizeof(*sin);
		snprintf(ep->text, sizeof(ep->text), "%s:%u", text,
		    (unsigned)port);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ep->sa;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, ip->bytes, 16);
		ep->salen = (socklen_t)sizeof(*sin6);
		snprintf(ep->text, sizeof(ep->text), "[%s]:%u", text,
		    (unsigned)port);
	}
}

int
endpoint_parse(const char *spec, int allow_unix, struct endpoint *ep_r,
    const char **error_r)
{
	const char *host, *colon;
	size_t hostlen;
	struct ipaddr ip;
	uint16_t port;

	memset(ep_r, 0, sizeof(*ep_r));
	if (spec[0] == '/') {
		if (!allow_unix) {
			*error_r = "unix socket not allowed here";
			return -1;
		}
		return parse_unix(spec, ep_r, error_r);
	}
	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');

		if (close == NULL || close[1] != ':') {
			*error_r = "expected [IPv6]:PORT";
			return -1;
		}
		host = spec + 1;
		hostlen = (size_t)(close - host);
		colon = close + 1;
		if (memchr(host, ':', hostlen) == NULL) {
			*error_r = "brackets are for IPv6 only";
			return -1;
		}
	} else {
		colon = strchr(spec, ':');
		if (colon == NULL || strchr(colon + 1, ':') != NULL) {
			*error_r = "expected IPv4:PORT or [IPv6]:PORT";
			return -1;
		}
		host = spec;
		hostlen = (size_t)(colon - spec);
	}
	if (ipaddr_parse(host, hostlen, &ip, error_r) < 0)
		return -1;
	if (parse_port(colon + 1, &port) < 0) {
		*error_r = "bad port";
		return -1;
	}
	set_inet(ep_r, &ip, port);
	return 0;
}

int
endpoint_listen(const struct endpoint *ep)
{
	int one = 1, fd, saved;

	fd = socket(ep->family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (const struct sockaddr *)&ep->sa, ep->salen) < 0 ||
	    listen(fd, SOMAXCONN) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* Wait for a non-blocking connect to finish; 0 or -1 with errno. */
static int
connect_wait(int fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	int err = 0, n;
	socklen_t len = sizeof(err);

	do
		n = poll(&pfd, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if (n == 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return -1;
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}

int
endpoint_connect(const struct endpoint *ep, int timeout_ms)
{
	int fd, saved;

	fd = socket(ep->family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)&ep->sa, ep->salen) == 0)
		return fd;
	if ((errno == EINPROGRESS || errno == EAGAIN) &&
	    connect_wait(fd, timeout_ms) == 0)
		return fd;
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

int
endpoint_from_sockaddr(const struct sockaddr_storage *ss,
    struct ipaddr *addr_r, uint16_t *port_r)
{
	char text[INET6_ADDRSTRLEN];
	const char *error;
	const void *raw;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		raw = &sin->sin_addr;
		*port_r = ntohs(sin->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 =
		    (const struct sockaddr_in6 *)ss;

		raw = &sin6->sin6_addr;
		*port_r = ntohs(sin6->sin6_port);
	} else {
		return -1;
	}
	/* Through the one canonicaliser: ::ffff:a.b.c.d becomes IPv4. */
	if (inet_ntop(ss->ss_family, raw, text, sizeof(text)) == NULL)
		return -1;
	return ipaddr_parse(text, strlen(text), addr_r, &error);
}
