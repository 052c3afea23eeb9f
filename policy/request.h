/* request.h - one Postfix policy delegation request, read in bounded memory. */
#ifndef AUTHRELAY_POLICY_REQUEST_H
#define AUTHRELAY_POLICY_REQUEST_H

#include <stddef.h>

/*
 * The protocol (Postfix SMTPD_POLICY_README): a request is lines
 * "name=value\n" ended by an empty line; the answer is "action=...\n\n".
 * Only three attributes matter to us (request, client_address,
 * server_address); every other line is checked for its form and
 * dropped, so memory stays bounded whatever the client sends.
 *
 * A request is bad (bad_why set, static text) when a line has no '=',
 * an empty or odd name, a NUL byte, is longer than POLICYREQ_LINE_MAX,
 * when the request passes POLICYREQ_TOTAL_MAX bytes or
 * POLICYREQ_ATTRS_MAX lines, or repeats one of our attributes. A bad
 * request is still read to its empty line and then answered (DUNNO),
 * so the next request on the connection starts in step.
 */
#define POLICYREQ_LINE_MAX 4096		/* bytes per line, without '\n' */
#define POLICYREQ_TOTAL_MAX 65536	/* bytes per request */
#define POLICYREQ_ATTRS_MAX 256		/* lines per request */
#define POLICYREQ_VALUE_MAX 64		/* our attributes' values */

struct policyreq {
	/* the line being read */
	char line[POLICYREQ_LINE_MAX];
	size_t line_len;
	int line_long;		/* line passed POLICYREQ_LINE_MAX */
	/* the request so far */
	size_t total;
	size_t attrs;
	const char *bad_why;
	int started;		/* some byte of this request was read */
	/* what we use; present = value was given (possibly empty) */
	int has_request, has_client, has_server;
	char request[POLICYREQ_VALUE_MAX + 1];
	char client[POLICYREQ_VALUE_MAX + 1];
	char server[POLICYREQ_VALUE_MAX + 1];
};

/* Start a connection (or the next request): everything empty. */
void policyreq_reset(struct policyreq *r);

/*
 * Consume bytes of p[0..len). Returns how many were used: fewer than
 * len only when a request ended (its empty line was read), in which
 * case *done_r is 1 and r holds that request until policyreq_reset;
 * otherwise *done_r is 0 and all of p was used.
 */
size_t policyreq_feed(struct policyreq *r, const char *p, size_t len,
    int *done_r);

#endif
