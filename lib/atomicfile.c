/* atomicfile.c - replace a file atomically: temp, write, fsync, rename. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomicfile.h"

/* Attempts at a fresh temp name before giving up (EEXIST each time). */
#define ATOMICFILE_TRIES 8

static int
fail(char *err, size_t errlen, const char *what, const char *path)
{
	int saved = errno;

	snprintf(err, errlen, "%s(%s): %s", what, path, strerror(saved));
	errno = saved;
	return -1;
}

/* Directory part of path ("." when there is none). */
static int
dir_of(const char *path, char *dir, size_t dirlen)
{
	const char *slash = strrchr(path, '/');
	int n;

	if (slash == NULL)
		n = snprintf(dir, dirlen, ".");
	else if (slash == path)
		n = snprintf(dir, dirlen, "/");
	else
		n = snprintf(dir, dirlen, "%.*s", (int)(slash - path), path);
	return n < 0 || (size_t)n >= dirlen ? -1 : 0;
}

/* Temp name ".base.tmp.PID.RANDOM" in the target's directory. */
static int
temp_name(struct atomicfile *af)
{
	const char *slash = strrchr(af->path, '/');
	const char *base = slash != NULL ? slash + 1 : af->path;
	int dirlen = (int)(base - af->path);
	unsigned int rnd = 0;
	int n;

	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
		rnd ^= (unsigned int)getpid() * 2654435761u;
	n = snprintf(af->tmp, sizeof(af->tmp), "%.*s.%s.tmp.%ld.%08x",
	    dirlen, af->path, base, (long)getpid(), rnd);
	return n < 0 || (size_t)n >= sizeof(af->tmp) ? -1 : 0;
}

int
atomicfile_open(struct atomicfile *af, const char *path, mode_t mode,
    char *err, size_t errlen)
{
	int n;

	af->fd = -1;
	af->tmp[0] = '\0';
	n = snprintf(af->path, sizeof(af->path), "%s", path);
	if (n < 0 || (size_t)n >= sizeof(af->path) || path[0] == '\0') {
		errno = ENAMETOOLONG;
		return fail(err, errlen, "open", path);
	}
	for (int i = 0; i < ATOMICFILE_TRIES; i++) {
		if (temp_name(af) < 0) {
			errno = ENAMETOOLONG;
			return fail(err, errlen, "open", path);
		}
		/* O_EXCL|O_NOFOLLOW: never write through a planted link. */
		af->fd = open(af->tmp, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, mode);
		/* exact mode: readers must not depend on the writer's umask */
		if (af->fd >= 0 && fchmod(af->fd, mode) == 0)
			return 0;
		if (af->fd >= 0) {
			n = fail(err, errlen, "fchmod", af->tmp);
			atomicfile_abort(af);
			return n;
		}
		if (errno != EEXIST)
			break;
	}
	n = fail(err, errlen, "open", af->tmp);
	af->tmp[0] = '\0';
	return n;
}

int
atomicfile_write(struct atomicfile *af, const void *buf, size_t len,
    char *err, size_t errlen)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t w = write(af->fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return fail(err, errlen, "write", af->tmp);
		if (w == 0) {
			errno = EIO;
			return fail(err, errlen, "write", af->tmp);
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

void
atomicfile_abort(struct atomicfile *af)
{
	int saved = errno;

	if (af->fd >= 0)
		close(af->fd);
	af->fd = -1;
	if (af->tmp[0] != '\0')
		unlink(af->tmp);
	af->tmp[0] = '\0';
	errno = saved;
}

/* The rename is durable only once the directory entry is on disk. */
static int
sync_dir(const char *path, char *err, size_t errlen)
{
	char dir[ATOMICFILE_PATH_MAX];
	int fd, rc;

	if (dir_of(path, dir, sizeof(dir)) < 0) {
		errno = ENAMETOOLONG;
		return fail(err, errlen, "open", path);
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return fail(err, errlen, "open", dir);
	rc = fsync(fd);
	if (rc < 0 && errno != EINVAL)	/* EINVAL: fs cannot sync dirs */
		rc = fail(err, errlen, "fsync", dir);
	else
		rc = 0;
	close(fd);
	return rc;
}

int
atomicfile_prepare(struct atomicfile *af, char *err, size_t errlen)
{
	int fd = af->fd;

	if (fd < 0) {
		errno = EBADF;
		return fail(err, errlen, "commit", af->path);
	}
	if (fsync(fd) < 0) {
		fail(err, errlen, "fsync", af->tmp);
		atomicfile_abort(af);
		return -1;
	}
	af->fd = -1;
	/* close can report a deferred write error (NFS, quota). */
	if (close(fd) < 0) {
		fail(err, errlen, "close", af->tmp);
		atomicfile_abort(af);
		return -1;
	}
	return 0;
}

int
atomicfile_install(const char *tmp, const char *path, char *err,
    size_t errlen)
{
	if (rename(tmp, path) < 0) {
		fail(err, errlen, "rename", path);
		unlink(tmp);
		return -1;
	}
	return sync_dir(path, err, errlen);
}

int
atomicfile_commit(struct atomicfile *af, char *err, size_t errlen)
{
	if (atomicfile_prepare(af, err, errlen) < 0)
		return -1;
	if (atomicfile_install(af->tmp, af->path, err, errlen) < 0) {
		af->tmp[0] = '\0';
		return -1;
	}
	af->tmp[0] = '\0';
	return 0;
}
