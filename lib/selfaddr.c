/* selfaddr.c - the host's own addresses, which never relay. */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "selfaddr.h"

/* One interface address, as canonical ipaddr; 0, or -1 to skip it. */
static int
from_sockaddr(const struct sockaddr *sa, struct ipaddr *addr_r)
{
	char text[IPADDR_TEXT_MAX];
	const char *why;
	const void *raw;

	if (sa->sa_family == AF_INET)
		raw = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		raw = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	else
		return -1;
	/* Through the one parser, like every other address we compare. */
	if (inet_ntop(sa->sa_family, raw, text, sizeof(text)) == NULL ||
	    ipaddr_parse(text, strlen(text), addr_r, &why) < 0)
		return -1;
	return 0;
}

int
selfaddr_load(struct selfaddr *set, const char **why_r)
{
	struct ifaddrs *list, *ifa;
	struct ipaddr *items;
	size_t n = 0, count = 0;

	if (getifaddrs(&list) < 0) {
		*why_r = "getifaddrs failed";
		return -1;
	}
	for (ifa = list; ifa != NULL; ifa = ifa->ifa_next)
		n++;
	if ((items = calloc(n + 1, sizeof(*items))) == NULL) {
		freeifaddrs(list);
		*why_r = "out of memory";
		errno = ENOMEM;
		return -1;
	}
	for (ifa = list; ifa != NULL; ifa = ifa->ifa_next) {
		struct ipaddr a;

		if (ifa->ifa_addr == NULL || from_sockaddr(ifa->ifa_addr, &a) < 0 ||
		    selfaddr_has(&(struct selfaddr){ items, count }, &a))
			continue;
		items[count++] = a;
	}
	freeifaddrs(list);
	free(set->items);
	set->items = items;
	set->count = count;
	return 0;
}

int
selfaddr_has(const struct selfaddr *set, const struct ipaddr *addr)
{
	size_t len = addr->family == AF_INET ? 4 : 16;

	for (size_t i = 0; i < set->count; i++)
		if (set->items[i].family == addr->family &&
		    memcmp(set->items[i].bytes, addr->bytes, len) == 0)
			return 1;
	return 0;
}

void
selfaddr_free(struct selfaddr *set)
{
	free(set->items);
	set->items = NULL;
	set->count = 0;
}
