/* sslline.h - the "SSL ip:secret" first line a TLS front sends: split it and check its address. */
#ifndef QMAIL_POP_HACK_SSLLINE_H
#define QMAIL_POP_HACK_SSLLINE_H

#include <stddef.h>

#include "ipaddr.h"

/*
 * Split the argument of "SSL <ipv4>:<secret>" or "SSL [<ipv6>]:<secret>"
 * (len bytes after "SSL "). The pointers lie within arg; *v6_r says
 * whether the address was bracketed. Returns 0, or -1 when malformed.
 */
int sslline_split(const char *arg, size_t len, const char **ip_r,
    size_t *iplen_r, int *v6_r, const char **secret_r, size_t *slen_r);

/*
 * The address must parse, be of the family its brackets promise, and be
 * canonical already (what ipaddr_canon would print), so one client has
 * exactly one spelling in every log. Returns 0 with *addr_r, or -1 with
 * *reason_r "bad-ip" or "non-canonical-ip".
 */
int sslline_check_ip(const char *ip, size_t iplen, int v6,
    struct ipaddr *addr_r, const char **reason_r);

#endif
