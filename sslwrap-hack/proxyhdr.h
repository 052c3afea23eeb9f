/* proxyhdr.h - what sslwrap-hack sends the back end first: SSL line or PROXY v1/v2. */
#ifndef SSLWRAP_PROXYHDR_H
#define SSLWRAP_PROXYHDR_H

#include <stddef.h>
#include <stdint.h>

#include "ipaddr.h"
#include "secfile.h"

/*
 * Room for the largest preamble: "SSL [" IPv6 "]:" secret CRLF with
 * a SECFILE_MAX secret; PROXY v1 needs 108, v2 (TCP, SSL TLV) < 128.
 */
#define PROXYHDR_MAX (SECFILE_MAX + IPADDR_TEXT_MAX + 16)

/* Both ends of the client's TCP connection, as the front saw them. */
struct proxyhdr_conn {
	struct ipaddr src;	/* the client */
	struct ipaddr dst;	/* the address the client connected to */
	uint16_t sport, dport;
};

/*
 * "SSL <ip>:<secret>\r\n" (IPv6 in brackets). Returns its length, or 0
 * when it does not fit in outsz.
 */
size_t proxyhdr_ssl_line(const struct ipaddr *client, const char *secret,
    size_t secret_len, char *out, size_t outsz);

/* "PROXY TCP4|TCP6 src dst sport dport\r\n"; length, or 0 if no room. */
size_t proxyhdr_v1(const struct proxyhdr_conn *conn, char *out,
    size_t outsz);

/*
 * Binary v2 PROXY/STREAM header. With tls_version (e.g. "TLSv1.3") it
 * carries a PP2_TYPE_SSL TLV (client connected over TLS, no client
 * certificate) with that version, so the back end treats the session
 * as secured. Returns its length, or 0 if no room or a too long version.
 */
size_t proxyhdr_v2(const struct proxyhdr_conn *conn, const char *tls_version,
    unsigned char *out, size_t outsz);

#endif
