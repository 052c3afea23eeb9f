/* tlsctx.h - the server SSL_CTX: TLS 1.2/1.3, sensible ciphers, chain and key from files. */
#ifndef SSLWRAP_TLSCTX_H
#define SSLWRAP_TLSCTX_H

#include <stddef.h>

#include <openssl/ssl.h>

#define TLSCTX_ERROR_MAX 256

/*
 * Build a server context from a PEM certificate chain (leaf first) and
 * a PEM private key. Returns NULL with a one-line reason in error_r.
 */
SSL_CTX *tlsctx_load(const char *certfile, const char *keyfile,
    char error_r[TLSCTX_ERROR_MAX]);

/* The reason of the oldest queued OpenSSL error (queue emptied). */
void tlsctx_error(char *out, size_t outsz);

#endif
