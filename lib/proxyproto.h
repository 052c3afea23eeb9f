/* proxyproto.h - strict parser for the HAProxy PROXY protocol v1 header line. */
#ifndef AUTHRELAY_PROXYPROTO_H
#define AUTHRELAY_PROXYPROTO_H

#include <stddef.h>

#include "ipaddr.h"

/* Longest v1 header including CRLF (the spec's worst case). */
#define PROXYPROTO_V1_MAX 107

struct proxyproto_v1 {
	int known;		/* 0 for "PROXY UNKNOWN": use the real peer */
	struct ipaddr src;	/* client; valid when known */
	struct ipaddr dst;	/* the address the client connected to */
	unsigned src_port;
	unsigned dst_port;
};

/*
 * Parse exactly len bytes of buf as one v1 header, "\r\n" included:
 * "PROXY" SP ("TCP4" | "TCP6") SP src SP dst SP sport SP dport CRLF, or
 * "PROXY UNKNOWN" [SP anything] CRLF. Single spaces only; at most
 * PROXYPROTO_V1_MAX bytes; no CR or LF before the final CRLF; addresses
 * through ipaddr_parse (TCP4 needs dotted IPv4, TCP6 needs IPv6 text;
 * an IPv4-mapped TCP6 address comes out as IPv4); ports 0..65535 in
 * decimal without leading zeros. Returns 0, or -1 with *error_r set to
 * a static reason.
 */
int proxyproto_v1_parse(const char *buf, size_t len, struct proxyproto_v1 *r,
    const char **error_r);

#endif
