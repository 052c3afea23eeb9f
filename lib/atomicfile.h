/* atomicfile.h - replace a file atomically: temp, write, fsync, rename. */
#ifndef AUTHRELAY_ATOMICFILE_H
#define AUTHRELAY_ATOMICFILE_H

#include <stddef.h>
#include <sys/types.h>

/* Longest path accepted for the target (and its temp file). */
#define ATOMICFILE_PATH_MAX 4096

struct atomicfile {
	int fd;				/* write here; -1 when closed */
	char path[ATOMICFILE_PATH_MAX];	/* the file to replace */
	char tmp[ATOMICFILE_PATH_MAX];	/* temp file in the same directory */
};

/*
 * Create a temp file next to path (O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC,
 * exactly the given mode, whatever the umask) and fill *af. Returns 0, or -1 with a "what: why"
 * message in err.
 */
int atomicfile_open(struct atomicfile *af, const char *path, mode_t mode,
    char *err, size_t errlen);

/* Write all of buf to the temp file (retries EINTR and short writes). */
int atomicfile_write(struct atomicfile *af, const void *buf, size_t len,
    char *err, size_t errlen);

/*
 * fsync, checked close, rename over path, fsync the directory. On any
 * error the temp file is removed, path is left as it was, and -1 is
 * returned with err set. Either way af is finished afterwards.
 */
int atomicfile_commit(struct atomicfile *af, char *err, size_t errlen);

/*
 * The commit in two steps, for a writer that builds the file in one
 * process and puts it in place from another: atomicfile_prepare makes
 * the temp file durable and closes it (af->tmp stays for the other
 * step; on error it is removed); atomicfile_install renames tmp over
 * path and fsyncs the directory (on error tmp is removed, path is left).
 */
int atomicfile_prepare(struct atomicfile *af, char *err, size_t errlen);
int atomicfile_install(const char *tmp, const char *path, char *err,
    size_t errlen);

/* Give up: close and unlink the temp file; path is untouched. */
void atomicfile_abort(struct atomicfile *af);

#endif
