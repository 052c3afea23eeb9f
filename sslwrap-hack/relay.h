/* relay.h - one client session: TLS handshake, back-end connect, preamble, two-way relay. */
#ifndef SSLWRAP_RELAY_H
#define SSLWRAP_RELAY_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "endpoint.h"
#include "proxyhdr.h"

/* Session outcomes, also the exit status under tcpserver/inetd. */
#define RELAY_OK 0		/* either side ended the session */
#define RELAY_CLIENT 1		/* handshake failure, client timeout */
#define RELAY_TEMP 111		/* back end down, system error */

/*
 * Writes the preamble (SSL line or PROXY header) for the back end into
 * out, after the handshake so the TLS version is known; returns its
 * length, 0 on failure.
 */
typedef size_t relay_preamble_fn(SSL *ssl, void *arg, unsigned char *out,
    size_t outsz);

struct relay_conf {
	const struct endpoint *backend;
	relay_preamble_fn *preamble;
	void *preamble_arg;
	int handshake_ms;	/* whole TLS handshake */
	int connect_ms;		/* back-end connect and preamble write */
	int idle_ms;		/* no byte either way for this long */
};

/*
 * Serve one client whose TLS stream is read from rfd and written to wfd
 * (the same socket standalone; 0 and 1 under tcpserver). ip is the
 * client's canonical address for logs. The preamble goes to the back end
 * before any byte from the client and is zeroed once sent. Returns a
 * RELAY_ outcome; logs one line per event.
 */
int relay_session(SSL_CTX *ctx, int rfd, int wfd, const char *ip,
    const struct relay_conf *conf);

#endif
