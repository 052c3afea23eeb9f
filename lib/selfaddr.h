/* selfaddr.h - the host's own addresses, which never relay. */
#ifndef AUTHRELAY_SELFADDR_H
#define AUTHRELAY_SELFADDR_H

#include <stddef.h>

#include "ipaddr.h"

/*
 * A login from an address of the host itself (webmail on the same
 * machine reaching IMAP over its public address) must not open the
 * relay: every local process would then relay. The set is a snapshot:
 * callers reload it when told to (authrelayd: at start and on SIGHUP).
 */
struct selfaddr {
	struct ipaddr *items;
	size_t count;
};

/*
 * Read every IPv4 and IPv6 address of every interface (getifaddrs),
 * through ipaddr_parse. Replaces *set only on success; returns 0, or -1
 * with *why_r (static text, errno left set) and *set untouched.
 */
int selfaddr_load(struct selfaddr *set, const char **why_r);

/* Is addr one of the set's addresses? */
int selfaddr_has(const struct selfaddr *set, const struct ipaddr *addr);

/* Release the set (it stays usable, empty). */
void selfaddr_free(struct selfaddr *set);

#endif
