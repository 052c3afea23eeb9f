/* proxyhdr.c - build the SSL line and HAProxy PROXY v1/v2 headers for the back end. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "proxyhdr.h"

/* v2 signature, haproxy doc/proxy-protocol.txt section 2.2. */
static const unsigned char v2_sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

#define V2_VERSION_PROXY 0x21	/* version 2, command PROXY */
#define V2_TCP4 0x11
#define V2_TCP6 0x21
#define V2_FIXED 16
#define V2_ADDR4 12		/* 2 x 4 address bytes + 2 x 2 port bytes */
#define V2_ADDR6 36
#define V2_TLV_HEAD 3		/* type, 2 length bytes */
#define PP2_TYPE_SSL 0x20
#define PP2_SUBTYPE_SSL_VERSION 0x21
#define PP2_CLIENT_SSL 0x01
#define PP2_SSL_FIXED 5		/* client flags, 4 verify bytes */
#define TLS_VERSION_MAX 32	/* "TLSv1.3" and friends */

/* Turn an IPv4 address into ::ffff:a.b.c.d, for mixed-family pairs. */
static void
map_v6(const struct ipaddr *in, struct ipaddr *out)
{
	if (in->family == AF_INET6) {
		*out = *in;
		return;
	}
	memset(out, 0, sizeof(*out));
	out->family = AF_INET6;
	out->bytes[10] = 0xff;
	out->bytes[11] = 0xff;
	memcpy(out->bytes + 12, in->bytes, 4);
}

/*
 * Both addresses in one family: PROXY headers carry one family for the
 * pair. Only a mixed pair (rare: dual-stack oddities) is mapped to v6.
 */
static int
pair_family(const struct proxyhdr_conn *conn, struct ipaddr *src_r,
    struct ipaddr *dst_r)
{
	if (conn->src.family == conn->dst.family) {
		*src_r = conn->src;
		*dst_r = conn->dst;
		return conn->src.family;
	}
	map_v6(&conn->src, src_r);
	map_v6(&conn->dst, dst_r);
	return AF_INET6;
}

size_t
proxyhdr_ssl_line(const struct ipaddr *client, const char *secret,
    size_t secret_len, char *out, size_t outsz)
{
	char ip[IPADDR_TEXT_MAX];
	int n;

	ipaddr_format(client, ip);
	n = snprintf(out, outsz, client->family == AF_INET6 ?
	    "SSL [%s]:%.*s\r\n" : "SSL %s:%.*s\r\n", ip, (int)secret_len,
	    secret);
	if (n < 0 || (size_t)n >= outsz)
		return 0;
	return (size_t)n;
}

size_t
proxyhdr_v1(const struct proxyhdr_conn *conn, char *out, size_t outsz)
{
	struct ipaddr src, dst;
	char s[IPADDR_TEXT_MAX], d[IPADDR_TEXT_MAX];
	int family, n;

	family = pair_family(conn, &src, &dst);
	ipaddr_format(&src, s);
	ipaddr_format(&dst, d);
	n = snprintf(out, outsz, "PROXY %s %s %s %u %u\r\n",
	    family == AF_INET ? "TCP4" : "TCP6", s, d,
	    (unsigned)conn->sport, (unsigned)conn->dport);
	if (n < 0 || (size_t)n >= outsz)
		return 0;
	return (size_t)n;
}

static void
put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)(v & 0xff);
}

/*
 * PP2_TYPE_SSL { client = PP2_CLIENT_SSL, verify = 1 (no client
 * certificate was verified), sub-TLV SSL_VERSION }; returns its size.
 */
static size_t
put_ssl_tlv(unsigned char *p, const char *version, size_t vlen)
{
	size_t inner = PP2_SSL_FIXED + V2_TLV_HEAD + vlen;

	p[0] = PP2_TYPE_SSL;
	put16(p + 1, (uint16_t)inner);
	p[3] = PP2_CLIENT_SSL;
	memcpy(p + 4, "\0\0\0\1", 4);
	p[8] = PP2_SUBTYPE_SSL_VERSION;
	put16(p + 9, (uint16_t)vlen);
	memcpy(p + 11, version, vlen);
	return V2_TLV_HEAD + inner;
}

size_t
proxyhdr_v2(const struct proxyhdr_conn *conn, const char *tls_version,
    unsigned char *out, size_t outsz)
{
	struct ipaddr src, dst;
	size_t alen, total, vlen = 0;
	unsigned char *p;
	int family;

	family = pair_family(conn, &src, &dst);
	alen = family == AF_INET ? 4 : 16;
	total = V2_FIXED + (family == AF_INET ? V2_ADDR4 : V2_ADDR6);
	if (tls_version != NULL) {
		vlen = strlen(tls_version);
		if (vlen > TLS_VERSION_MAX)
			return 0;
		total += V2_TLV_HEAD + PP2_SSL_FIXED + V2_TLV_HEAD + vlen;
	}
	if (outsz < total)
		return 0;
	memcpy(out, v2_sig, sizeof(v2_sig));
	out[12] = V2_VERSION_PROXY;
	out[13] = family == AF_INET ? V2_TCP4 : V2_TCP6;
	put16(out + 14, (uint16_t)(total - V2_FIXED));
	p = out + V2_FIXED;
	memcpy(p, src.bytes, alen);
	memcpy(p + alen, dst.bytes, alen);
	put16(p + 2 * alen, conn->sport);
	put16(p + 2 * alen + 2, conn->dport);
	p += 2 * alen + 4;	/* addresses, then two ports */
	if (tls_version != NULL)
		put_ssl_tlv(p, tls_version, vlen);
	return total;
}
