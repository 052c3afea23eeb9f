/* ipaddr.h - the one IP address parser, canonicaliser and CIDR matcher. */
#ifndef AUTHRELAY_IPADDR_H
#define AUTHRELAY_IPADDR_H

#include <stddef.h>
#include <stdint.h>

/* Longest canonical text form, with its NUL (INET6_ADDRSTRLEN). */
#define IPADDR_TEXT_MAX 46

struct ipaddr {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t bytes[16];	/* 4 used for AF_INET */
};

struct ipcidr {
	struct ipaddr addr;	/* host bits cleared */
	int prefix;		/* 0..32 or 0..128 */
};

/*
 * Parse exactly len bytes of s as one IP address with inet_pton (no
 * brackets, zone ids, trailing bytes, 127.1 or 01.2.3.4). IPv4-mapped
 * IPv6 (::ffff:a.b.c.d) becomes IPv4; IPv4-compatible ::a.b.c.d is
 * rejected. Returns 0, or -1 with *error_r set to a static reason.
 */
int ipaddr_parse(const char *s, size_t len, struct ipaddr *addr_r,
    const char **error_r);

/* Write the canonical text (inet_ntop: IPv6 lower-case, compressed). */
void ipaddr_format(const struct ipaddr *addr, char out[IPADDR_TEXT_MAX]);

/* ipaddr_parse + ipaddr_format in one call; 0 or -1 with *error_r. */
int ipaddr_canon(const char *s, size_t len, char out[IPADDR_TEXT_MAX],
    const char **error_r);

/*
 * Parse "addr/prefix" or a bare address (a host prefix). IPv4-mapped
 * IPv6 networks (::ffff:0:0/96 and longer) become IPv4 networks.
 * Returns 0, or -1 with *error_r.
 */
int ipaddr_parse_cidr(const char *s, size_t len, struct ipcidr *cidr_r,
    const char **error_r);

/* True when addr lies within cidr (same family only). */
int ipaddr_in_cidr(const struct ipaddr *addr, const struct ipcidr *cidr);

/*
 * True for addresses that must never relay whatever any table says:
 * unspecified, loopback, link-local, multicast, broadcast, 0.0.0.0/8,
 * and IPv4-compatible/mapped leftovers. *why_r names the class.
 */
int ipaddr_is_special(const struct ipaddr *addr, const char **why_r);

#endif
