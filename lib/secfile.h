/* secfile.h - read a small secret file only when nobody else could have written or read it. */
#ifndef AUTHRELAY_SECFILE_H
#define AUTHRELAY_SECFILE_H

#include <stddef.h>

/* A generous upper bound for a shared secret plus its NUL. */
#define SECFILE_MAX 1024

/*
 * Read the secret in path into buf (bufsz bytes, NUL-terminated on
 * success, *len_r = secret length without the NUL).
 *
 * Checks, in order: open with O_RDONLY|O_NOFOLLOW|O_CLOEXEC|O_NONBLOCK
 * (a symlink is refused), then fstat on that descriptor: a regular file,
 * owned by geteuid(), no group or other permission bits. One trailing
 * "\n" (or "\r\n") is stripped. The rest must be non-empty, fit in
 * bufsz - 1 bytes, and contain no NUL, CR or LF (the secret travels
 * inside a protocol line).
 *
 * Returns 0, or -1 with buf zeroed and *error_r naming the failed check
 * ("is a symlink", "not a regular file", "owner is not uid 0",
 * "mode 0644 allows group/other access", "empty", "too long",
 * "contains NUL", "contains a line break", or an errno text). *error_r
 * may point into a static buffer valid until the next call.
 */
int secfile_read(const char *path, char *buf, size_t bufsz, size_t *len_r,
    const char **error_r);

/*
 * Constant-time equality of a (alen bytes) and b (blen bytes): the time
 * depends only on blen (pass the secret as b). Returns 1 when equal.
 */
int secfile_equal(const char *a, size_t alen, const char *b, size_t blen);

/* Room for secfile_open_fifo's reasons (with the directory's path). */
#define SECFILE_WHY_MAX 512

/*
 * Open the FIFO at path for reading login lines: O_RDWR (a writer that
 * closes never gives EOF), O_NONBLOCK, O_NOFOLLOW, O_CLOEXEC, relative
 * to its directory opened first, and check on the descriptors:
 *   - the directory is not writable by others unless sticky (else
 *     another user could swap the FIFO between restarts);
 *   - the path is not a symlink, and is a FIFO;
 *   - the FIFO is not writable by others;
 *   - the FIFO is owned by root or by geteuid().
 * Returns the descriptor, or -1 with a one-line reason in why (naming
 * the check, e.g. "is a symlink", "not a FIFO", "mode 0622 lets any user
 * write login lines", "directory /x mode 0777 lets any user replace the
 * FIFO (writable by others, no sticky bit)", or "open: <errno text>").
 */
int secfile_open_fifo(const char *path, char why[SECFILE_WHY_MAX]);

#endif
