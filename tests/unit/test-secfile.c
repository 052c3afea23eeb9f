/* test-secfile.c - unit tests for lib/secfile.c: every check, the newline rule, bounds, zeroing. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "secfile.h"

#define PATH_TEXT_MAX 256

static char dir[] = "/tmp/test-secfile.XXXXXX";
static char path[PATH_TEXT_MAX];

/* Write len bytes to dir/name with mode; returns the path. */
static const char *
put(const char *name, const char *data, size_t len, mode_t mode)
{
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len) {
		perror(path);
		exit(2);
	}
	close(fd);
	chmod(path, mode);
	return path;
}

static char buf[SECFILE_MAX];
static size_t len;
static const char *err;

static int
reads(const char *p, size_t bufsz)
{
	len = 12345;
	err = NULL;
	memset(buf, 'Z', sizeof(buf));
	return secfile_read(p, buf, bufsz, &len, &err);
}

/* Failed with this reason and left nothing behind in the buffer. */
static int
fails_with(const char *p, size_t bufsz, const char *why)
{
	size_t i;

	if (reads(p, bufsz) != -1 || err == NULL || strcmp(err, why) != 0) {
		fprintf(stderr, "  %s: got error [%s]\n", p, err ? err : "none");
		return 0;
	}
	for (i = 0; i < bufsz; i++)
		if (buf[i] != 0)
			return 0;
	return 1;
}

static int
gives(const char *p, size_t bufsz, const char *want)
{
	return reads(p, bufsz) == 0 && len == strlen(want) &&
	    strcmp(buf, want) == 0;
}

static void
test_content(void)
{
	CHECK(gives(put("a", "secret\n", 7, 0600), sizeof(buf), "secret"));
	CHECK(gives(put("a", "secret", 6, 0400), sizeof(buf), "secret"));
	CHECK(gives(put("a", "secret\r\n", 8, 0600), sizeof(buf), "secret"));
	CHECK(gives(put("a", "with:colon and space\n", 21, 0600),
	    sizeof(buf), "with:colon and space"));
	/* Only one newline is stripped; a second one is a line break. */
	CHECK(fails_with(put("a", "secret\n\n", 8, 0600), sizeof(buf),
	    "contains a line break"));
	CHECK(fails_with(put("a", "sec\nret", 7, 0600), sizeof(buf),
	    "contains a line break"));
	CHECK(fails_with(put("a", "sec\rret", 7, 0600), sizeof(buf),
	    "contains a line break"));
	CHECK(fails_with(put("a", "sec\0ret\n", 8, 0600), sizeof(buf),
	    "contains NUL"));
	CHECK(fails_with(put("a", "", 0, 0600), sizeof(buf), "empty"));
	CHECK(fails_with(put("a", "\n", 1, 0600), sizeof(buf), "empty"));
	CHECK(fails_with(put("a", "\r\n", 2, 0600), sizeof(buf), "empty"));
}

static void
test_bounds(void)
{
	/* bufsz 8 holds 7 bytes and the NUL; a trailing newline is fine. */
	CHECK(gives(put("b", "1234567", 7, 0600), 8, "1234567"));
	CHECK(gives(put("b", "1234567\n", 8, 0600), 8, "1234567"));
	CHECK(fails_with(put("b", "12345678", 8, 0600), 8, "too long"));
	CHECK(fails_with(put("b", "12345678\n", 9, 0600), 8, "too long"));
	CHECK(fails_with(put("b", "x", 1, 0600), 1, "buffer too small"));
}

static void
test_file_checks(void)
{
	char link[PATH_TEXT_MAX], fifo[PATH_TEXT_MAX];

	CHECK(fails_with(put("c", "secret\n", 7, 0640), sizeof(buf),
	    "mode 0640 allows group/other access"));
	CHECK(fails_with(put("c", "secret\n", 7, 0604), sizeof(buf),
	    "mode 0604 allows group/other access"));
	CHECK(fails_with(put("c", "secret\n", 7, 0610), sizeof(buf),
	    "mode 0610 allows group/other access"));
	put("target", "secret\n", 7, 0600);
	snprintf(link, sizeof(link), "%s/link", dir);
	CHECK(symlink(path, link) == 0);
	CHECK(fails_with(link, sizeof(buf), "is a symlink"));
	CHECK(fails_with(dir, sizeof(buf), "not a regular file"));
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	CHECK(mkfifo(fifo, 0600) == 0);
	CHECK(fails_with(fifo, sizeof(buf), "not a regular file"));
	snprintf(link, sizeof(link), "%s/missing", dir);
	CHECK(fails_with(link, sizeof(buf), "No such file or directory"));
	if (geteuid() == 0) {
		put("d", "secret\n", 7, 0600);
		CHECK(chown(path, 65534, 65534) == 0);
		CHECK(fails_with(path, sizeof(buf), "owner is not uid 0"));
	}
}

static void
test_equal(void)
{
	CHECK(secfile_equal("abc", 3, "abc", 3));
	CHECK(!secfile_equal("abd", 3, "abc", 3));
	CHECK(!secfile_equal("ab", 2, "abc", 3));
	CHECK(!secfile_equal("abcd", 4, "abc", 3));
	CHECK(!secfile_equal("", 0, "abc", 3));
	/* A prefix match with a different length is still unequal. */
	CHECK(!secfile_equal("abc\0", 4, "abc", 3));
}

int
main(void)
{
	char cmd[PATH_TEXT_MAX + 16];

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	test_content();
	test_bounds();
	test_file_checks();
	test_equal();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return harness_done();
}
