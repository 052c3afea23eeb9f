/* test-atomicfile.c - unit tests for lib/atomicfile.c: replace, errors leave the old file. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomicfile.h"
#include "harness.h"

static char dir[] = "/tmp/test-atomicfile.XXXXXX";
static char path[256], err[512];

/* The whole content of p, or "" (static buffer). */
static const char *
slurp(const char *p)
{
	static char buf[256];
	int fd = open(p, O_RDONLY);
	ssize_t n = fd < 0 ? 0 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* Entries in dir other than . and .. */
static int
entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while (d != NULL && (e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	if (d != NULL)
		closedir(d);
	return n;
}

static int
replace(const char *p, const char *text, mode_t mode)
{
	struct atomicfile af;

	if (atomicfile_open(&af, p, mode, err, sizeof(err)) < 0)
		return -1;
	if (atomicfile_write(&af, text, strlen(text), err, sizeof(err)) < 0) {
		atomicfile_abort(&af);
		return -1;
	}
	return atomicfile_commit(&af, err, sizeof(err));
}

static void
test_replace(void)
{
	struct stat st;

	CHECK(replace(path, "old\n", 0644) == 0);
	CHECK(strcmp(slurp(path), "old\n") == 0);
	CHECK(replace(path, "new\n", 0640) == 0);
	CHECK(strcmp(slurp(path), "new\n") == 0);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0640);
	/* the mode is exact: a strict umask must not lock readers out */
	mode_t old = umask(077);
	CHECK(replace(path, "new\n", 0644) == 0);
	umask(old);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644);
	CHECK(entries() == 1);		/* no temp file left behind */
}

static void
test_abort(void)
{
	struct atomicfile af;

	CHECK(atomicfile_open(&af, path, 0644, err, sizeof(err)) == 0);
	CHECK(atomicfile_write(&af, "junk", 4, err, sizeof(err)) == 0);
	CHECK(entries() == 2);
	/* the temp file is close-on-exec: no child inherits it */
	CHECK((fcntl(af.fd, F_GETFD) & FD_CLOEXEC) != 0);
	atomicfile_abort(&af);
	CHECK(strcmp(slurp(path), "new\n") == 0);
	CHECK(entries() == 1);
}

/* A write error (here EFBIG, like ENOSPC) keeps the old file. */
static void
test_write_error(void)
{
	struct rlimit old, small;
	char big[64];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	signal(SIGXFSZ, SIG_IGN);
	CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
	small.rlim_cur = 8;	/* soft limit only: it can be raised again */
	small.rlim_max = old.rlim_max;
	CHECK(setrlimit(RLIMIT_FSIZE, &small) == 0);
	int rc = replace(path, big, 0644);
	CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
	CHECK(rc == -1);
	CHECK(strstr(err, "write(") != NULL || strstr(err, "close(") != NULL);
	CHECK(strcmp(slurp(path), "new\n") == 0);
	CHECK(entries() == 1);
}

/* rename fails (target is a directory): error, temp removed. */
static void
test_rename_error(void)
{
	char sub[300];

	snprintf(sub, sizeof(sub), "%s/sub", dir);
	CHECK(mkdir(sub, 0755) == 0);
	CHECK(replace(sub, "x", 0644) == -1);
	CHECK(strstr(err, "rename(") != NULL);
	CHECK(entries() == 2);		/* the file and sub, no temp */
	rmdir(sub);
}

static void
test_missing_dir(void)
{
	char p[300];

	snprintf(p, sizeof(p), "%s/nodir/file", dir);
	CHECK(replace(p, "x", 0644) == -1);
	CHECK(strstr(err, "nodir") != NULL && strstr(err, "No such") != NULL);
}

/* A symlink at the target is replaced, its target is never written. */
static void
test_symlink_target(void)
{
	char victim[300], link[300];

	snprintf(victim, sizeof(victim), "%s/victim", dir);
	snprintf(link, sizeof(link), "%s/link", dir);
	CHECK(replace(victim, "victim\n", 0644) == 0);
	CHECK(symlink(victim, link) == 0);
	CHECK(replace(link, "mine\n", 0644) == 0);
	CHECK(strcmp(slurp(victim), "victim\n") == 0);
	CHECK(strcmp(slurp(link), "mine\n") == 0);
	unlink(victim);
	unlink(link);
}

int
main(void)
{
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/file.cdb", dir);
	test_replace();
	test_abort();
	test_write_error();
	test_rename_error();
	test_missing_dir();
	test_symlink_target();
	unlink(path);
	rmdir(dir);
	return harness_done();
}
