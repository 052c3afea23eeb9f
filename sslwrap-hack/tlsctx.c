/* tlsctx.c - build the server SSL_CTX (TLS 1.2/1.3 only) from certificate and key files. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "tlsctx.h"

/*
 * TLS 1.2: forward-secret AEAD suites only (Mozilla "intermediate"
 * minus DHE). TLS 1.3 keeps OpenSSL's defaults, which are all AEAD.
 */
#define TLS12_CIPHERS \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

/* A PEM key file, however long its chain of comments, fits in this. */
#define KEY_FILE_MAX (64 * 1024)

void
tlsctx_error(char *out, size_t outsz)
{
	unsigned long e = ERR_get_error();
	const char *reason;

	if (e == 0) {
		snprintf(out, outsz, "unknown error");
		return;
	}
	reason = ERR_reason_error_string(e);
	if (reason != NULL)
		snprintf(out, outsz, "%s", reason);
	else
		ERR_error_string_n(e, out, outsz);
	ERR_clear_error();
}

static SSL_CTX *
fail(SSL_CTX *ctx, const char *what, const char *file,
    char error_r[TLSCTX_ERROR_MAX])
{
	char why[TLSCTX_ERROR_MAX / 2];

	tlsctx_error(why, sizeof(why));
	snprintf(error_r, TLSCTX_ERROR_MAX, "%s%s%s: %s", what,
	    file != NULL ? " " : "", file != NULL ? file : "", why);
	SSL_CTX_free(ctx);
	return NULL;
}

/*
 * Open the key without following symlinks and check the descriptor:
 * a regular file nobody but its owner and group can write and others
 * cannot read (0640 root:ssl-cert is fine, 0644 is not).
 */
static int
open_key(const char *path, char error_r[TLSCTX_ERROR_MAX])
{
	struct stat st;
	int fd;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		snprintf(error_r, TLSCTX_ERROR_MAX, "key %s: %s", path,
		    errno == ELOOP ? "is a symlink" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (st.st_mode & (S_IWGRP | S_IRWXO)) != 0) {
		snprintf(error_r, TLSCTX_ERROR_MAX,
		    "key %s: not a regular file of mode 0640 or stricter",
		    path);
		close(fd);
		return -1;
	}
	return fd;
}

/* Read the key file through open_key; the copy in memory is zeroed. */
static int
use_key(SSL_CTX *ctx, const char *path, char error_r[TLSCTX_ERROR_MAX])
{
	static char pem[KEY_FILE_MAX];
	size_t len = 0;
	ssize_t n = 1;
	EVP_PKEY *key = NULL;
	BIO *bio;
	int fd, rc = -1;

	fd = open_key(path, error_r);
	if (fd < 0)
		return -1;
	while (len < sizeof(pem) && n != 0) {
		n = read(fd, pem + len, sizeof(pem) - len);
		if (n < 0 && errno != EINTR)
			break;
		if (n > 0)
			len += (size_t)n;
	}
	close(fd);
	if (n < 0 || len == sizeof(pem)) {
		snprintf(error_r, TLSCTX_ERROR_MAX, "key %s: %s", path,
		    n < 0 ? strerror(errno) : "too long");
	} else {
		/* -2: the reason is in OpenSSL's error queue. */
		bio = BIO_new_mem_buf(pem, (int)len);
		if (bio != NULL)
			key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
		BIO_free(bio);
		rc = key != NULL && SSL_CTX_use_PrivateKey(ctx, key) == 1 ?
		    0 : -2;
		EVP_PKEY_free(key);
	}
	explicit_bzero(pem, sizeof(pem));
	return rc;
}

SSL_CTX *
tlsctx_load(const char *certfile, const char *keyfile,
    char error_r[TLSCTX_ERROR_MAX])
{
	SSL_CTX *ctx;

	ERR_clear_error();
	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL)
		return fail(NULL, "SSL_CTX_new", NULL, error_r);
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1)
		return fail(ctx, "TLS settings", NULL, error_r);
	/* No renegotiation: a client-driven CPU sink. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_NO_COMPRESSION);
	/* One process per connection: a server-side cache is never hit. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (SSL_CTX_use_certificate_chain_file(ctx, certfile) != 1)
		return fail(ctx, "certificate", certfile, error_r);
	switch (use_key(ctx, keyfile, error_r)) {
	case -1:
		SSL_CTX_free(ctx);
		return NULL;
	case -2:
		return fail(ctx, "key", keyfile, error_r);
	}
	if (SSL_CTX_check_private_key(ctx) != 1)
		return fail(ctx, "key does not match certificate", NULL,
		    error_r);
	return ctx;
}
