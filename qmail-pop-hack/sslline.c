/* sslline.c - the "SSL ip:secret" first line a TLS front sends: split it and check its address. */
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "sslline.h"

int
sslline_split(const char *arg, size_t len, const char **ip_r,
    size_t *iplen_r, int *v6_r, const char **secret_r, size_t *slen_r)
{
	const char *colon, *rb;

	if (len > 0 && arg[0] == '[') {
		rb = memchr(arg, ']', len);
		if (rb == NULL || (size_t)(rb - arg) + 1 >= len ||
		    rb[1] != ':')
			return -1;
		*ip_r = arg + 1;
		*iplen_r = (size_t)(rb - arg) - 1;
		*v6_r = 1;
		colon = rb + 1;
	} else {
		colon = memchr(arg, ':', len);
		if (colon == NULL)
			return -1;
		*ip_r = arg;
		*iplen_r = (size_t)(colon - arg);
		*v6_r = 0;
	}
	*secret_r = colon + 1;
	*slen_r = len - (size_t)(colon + 1 - arg);
	return 0;
}

int
sslline_check_ip(const char *ip, size_t iplen, int v6,
    struct ipaddr *addr_r, const char **reason_r)
{
	char canon[IPADDR_TEXT_MAX];
	const char *why;

	if (ipaddr_parse(ip, iplen, addr_r, &why) < 0 ||
	    addr_r->family != (v6 ? AF_INET6 : AF_INET)) {
		*reason_r = "bad-ip";
		return -1;
	}
	ipaddr_format(addr_r, canon);
	if (strlen(canon) != iplen || memcmp(canon, ip, iplen) != 0) {
		*reason_r = "non-canonical-ip";
		return -1;
	}
	return 0;
}
