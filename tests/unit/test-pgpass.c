/* test-pgpass.c - unit tests for lib/pgpass.c: which file libpq would read, and its mode. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "pgpass.h"

static char path[4096];
static char why[PGPASS_WHY_MAX];

/* pgpass_path(conninfo) equals want ("" = no file). */
static int
path_is(const char *conninfo, const char *want)
{
	if (pgpass_path(conninfo, path, sizeof(path), why) < 0) {
		fprintf(stderr, "  [%s]: %s\n", conninfo, why);
		return 0;
	}
	if (strcmp(path, want) != 0)
		fprintf(stderr, "  [%s]: got [%s], want [%s]\n", conninfo, path, want);
	return strcmp(path, want) == 0;
}

int
main(void)
{
	char dir[] = "/tmp/test-pgpass.XXXXXX", file[256];
	int fd;

	unsetenv("PGPASSWORD");
	unsetenv("PGPASSFILE");
	setenv("HOME", "/home/x", 1);
	CHECK(path_is("dbname=a", "/home/x/.pgpass"));
	CHECK(path_is("", "/home/x/.pgpass"));
	CHECK(path_is("dbname=a passfile=/p/q", "/p/q"));
	CHECK(path_is("passfile = '/p q/\\'r'", "/p q/'r"));
	CHECK(path_is("passfile=/a\\ b host=h", "/a b"));
	CHECK(path_is("passfile=/first passfile=/second", "/second"));
	CHECK(path_is("dbname=a password=secret", ""));
	CHECK(path_is("dbname=a password='' passfile=/p", "/p"));
	CHECK(path_is("postgresql://u@h/db?passfile=%2Fp%2Fq&sslmode=disable", "/p/q"));
	CHECK(path_is("postgres://h/db", "/home/x/.pgpass"));
	CHECK(path_is("postgresql://u:pw@h/db", ""));
	CHECK(path_is("postgresql:///db?host=/run/x&password=s", ""));
	CHECK(pgpass_path("dbname='open", path, sizeof(path), why) < 0);
	setenv("PGPASSFILE", "/env/file", 1);
	CHECK(path_is("dbname=a", "/env/file"));
	CHECK(path_is("passfile=/p", "/p"));	/* the conninfo wins */
	setenv("PGPASSWORD", "pw", 1);
	CHECK(path_is("dbname=a", ""));
	unsetenv("PGPASSWORD");
	unsetenv("PGPASSFILE");

	/* The mode check, on a real file. */
	if (mkdtemp(dir) == NULL)
		return 2;
	snprintf(file, sizeof(file), "passfile=%s/pgpass", dir);
	CHECK(pgpass_check(file, why) == 0);		/* missing: fine */
	fd = open(file + 9, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CHECK(fd >= 0);
	close(fd);
	CHECK(pgpass_check(file, why) == 0);
	chmod(file + 9, 0640);
	CHECK(pgpass_check(file, why) < 0);
	CHECK(strstr(why, "mode 0640 allows group or other access (want 0600)") != NULL);
	chmod(file + 9, 0604);
	CHECK(pgpass_check(file, why) < 0);
	chmod(file + 9, 0400);
	CHECK(pgpass_check(file, why) == 0);
	unlink(file + 9);
	rmdir(dir);
	return harness_done();
}
