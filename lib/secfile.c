/* secfile.c - read a small secret file only when nobody else could have written or read it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secfile.h"

/* Room for "owner is not uid 4294967295" or "mode 0777 allows ...". */
#define SECFILE_ERROR_MAX 64

static char secfile_error[SECFILE_ERROR_MAX];

static int
open_nofollow(const char *path, const char **error_r)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);

	if (fd >= 0)
		return fd;
	/* O_NOFOLLOW on a final symlink fails with ELOOP. */
	*error_r = errno == ELOOP ? "is a symlink" : strerror(errno);
	return -1;
}

/* The checks that make sense only on the opened descriptor. */
static int
check_fd(int fd, const char **error_r)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		*error_r = strerror(errno);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		*error_r = "not a regular file";
		return -1;
	}
	if (st.st_uid != geteuid()) {
		snprintf(secfile_error, sizeof(secfile_error),
		    "owner is not uid %lu", (unsigned long)geteuid());
		*error_r = secfile_error;
		return -1;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		snprintf(secfile_error, sizeof(secfile_error),
		    "mode %04o allows group/other access",
		    (unsigned)(st.st_mode & 07777));
		*error_r = secfile_error;
		return -1;
	}
	return 0;
}

/* Read everything, up to bufsz bytes; *len_r = bytes read. */
static int
read_all(int fd, char *buf, size_t bufsz, size_t *len_r,
    const char **error_r)
{
	size_t len = 0;
	char extra;
	ssize_t n;

	while (len < bufsz) {
		n = read(fd, buf + len, bufsz - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*error_r = strerror(errno);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len == bufsz) {
		/* Full buffer: only fine when the file ends right here. */
		do
			n = read(fd, &extra, 1);
		while (n < 0 && errno == EINTR);
		if (n != 0) {
			*error_r = "too long";
			return -1;
		}
	}
	*len_r = len;
	return 0;
}

/* Strip one trailing line end, then insist on a clean one-line secret. */
static int
check_content(char *buf, size_t bufsz, size_t *len, const char **error_r)
{
	if (*len > 0 && buf[*len - 1] == '\n') {
		(*len)--;
		if (*len > 0 && buf[*len - 1] == '\r')
			(*len)--;
	}
	if (*len == 0) {
		*error_r = "empty";
		return -1;
	}
	if (*len >= bufsz) {
		*error_r = "too long";
		return -1;
	}
	if (memchr(buf, '\0', *len) != NULL) {
		*error_r = "contains NUL";
		return -1;
	}
	if (memchr(buf, '\n', *len) != NULL || memchr(buf, '\r', *len) != NULL) {
		*error_r = "contains a line break";
		return -1;
	}
	buf[*len] = '\0';
	return 0;
}

int
secfile_read(const char *path, char *buf, size_t bufsz, size_t *len_r,
    const char **error_r)
{
	size_t len = 0;
	int fd, rc = -1;

	if (bufsz < 2) {
		*error_r = "buffer too small";
	} else if ((fd = open_nofollow(path, error_r)) >= 0) {
		rc = check_fd(fd, error_r);
		if (rc == 0)
			rc = read_all(fd, buf, bufsz, &len, error_r);
		if (close(fd) < 0 && rc == 0) {
			*error_r = strerror(errno);
			rc = -1;
		}
		if (rc == 0)
			rc = check_content(buf, bufsz, &len, error_r);
	}
	/* Whatever went wrong, no partial secret stays behind. */
	if (rc < 0) {
		explicit_bzero(buf, bufsz);
		return -1;
	}
	*len_r = len;
	return 0;
}

int
secfile_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	volatile unsigned char diff = 0;
	size_t i;

	/* Walk b in full; read a only within its bounds. */
	for (i = 0; i < blen; i++)
		diff |= (unsigned char)b[i] ^
		    (unsigned char)(i < alen ? a[i] : ~b[i]);
	return diff == 0 && alen == blen;
}

/* Why a FIFO we opened may not be trusted with login lines, or 0. */
static int
fifo_problem(const struct stat *sb, char why[SECFILE_WHY_MAX])
{
	if (!S_ISFIFO(sb->st_mode)) {
		snprintf(why, SECFILE_WHY_MAX, "not a FIFO");
		return -1;
	}
	if (sb->st_mode & S_IWOTH) {
		snprintf(why, SECFILE_WHY_MAX,
		    "mode %04o lets any user write login lines",
		    (unsigned)(sb->st_mode & 07777));
		return -1;
	}
	if (sb->st_uid != 0 && sb->st_uid != geteuid()) {
		snprintf(why, SECFILE_WHY_MAX,
		    "owner uid %ld is neither root nor the watcher",
		    (long)sb->st_uid);
		return -1;
	}
	return 0;
}

int
secfile_open_fifo(const char *path, char why[SECFILE_WHY_MAX])
{
	const char *slash = strrchr(path, '/');
	const char *base = slash != NULL ? slash + 1 : path;
	char *dir;
	struct stat sb;
	int dfd, fd;

	if (*base == '\0') {
		snprintf(why, SECFILE_WHY_MAX, "not a FIFO");
		return -1;
	}
	if (slash == NULL)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (dir == NULL) {
		snprintf(why, SECFILE_WHY_MAX, "out of memory");
		return -1;
	}
	dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fstat(dfd, &sb) < 0) {
		snprintf(why, SECFILE_WHY_MAX, "directory %s: %s", dir,
		    strerror(errno));
		goto fail;
	}
	if ((sb.st_mode & S_IWOTH) && !(sb.st_mode & S_ISVTX)) {
		snprintf(why, SECFILE_WHY_MAX, "directory %s mode %04o lets any "
		    "user replace the FIFO (writable by others, no sticky bit)",
		    dir, (unsigned)(sb.st_mode & 07777));
		goto fail;
	}
	fd = openat(dfd, base, O_RDWR | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ELOOP)
			snprintf(why, SECFILE_WHY_MAX, "is a symlink");
		else
			snprintf(why, SECFILE_WHY_MAX, "open: %s",
			    strerror(errno));
		goto fail;
	}
	if (fstat(fd, &sb) < 0) {
		snprintf(why, SECFILE_WHY_MAX, "fstat: %s", strerror(errno));
		close(fd);
		goto fail;
	}
	if (fifo_problem(&sb, why) < 0) {
		close(fd);
		goto fail;
	}
	close(dfd);
	free(dir);
	return fd;
fail:
	if (dfd >= 0)
		close(dfd);
	free(dir);
	return -1;
}
