/* checkpassword-test.c - a checkpassword for the tests: fixed user table, real setuid, real exec. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <openssl/evp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The interface allows 512 bytes; read one more to notice excess. */
#define INPUT_MAX 512
#define PATH_TEXT_MAX 4096
#define MD5_HEX_MAX 33
#define FD_LIST_MAX 256

struct account {
	const char *login;
	const char *password;
	int exit_code;		/* nonzero: always fail with this code */
	int as_root;		/* stay uid 0 (to test pop3d's refusal) */
};

static const struct account table[] = {
	{ "alice", "wonderland", 0, 0 },
	{ "bob@example.org", "builder", 0, 0 },
	{ "temp", "x", 111, 0 },
	{ "misuse", "x", 2, 0 },
	{ "rootuser", "x", 0, 1 },
};

static size_t
read_input(char buf[INPUT_MAX + 1])
{
	size_t len = 0;
	ssize_t n;

	while (len < INPUT_MAX + 1) {
		n = read(3, buf + len, INPUT_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			_exit(111);
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > INPUT_MAX)
		_exit(1);
	close(3);
	return len;
}

static void
md5_hex(const char *a, const char *b, char out[MD5_HEX_MAX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0, i;
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	if (c == NULL || !EVP_DigestInit_ex(c, EVP_md5(), NULL) ||
	    !EVP_DigestUpdate(c, a, strlen(a)) ||
	    !EVP_DigestUpdate(c, b, strlen(b)) ||
	    !EVP_DigestFinal_ex(c, md, &len))
		_exit(111);
	EVP_MD_CTX_free(c);
	for (i = 0; i < len && i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static int
fcntl_ok(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* "0,1,2,4": every descriptor this process inherited (fd 3 is closed). */
static void
fd_list(char out[FD_LIST_MAX])
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	size_t o = 0;
	int self = d ? dirfd(d) : -1, n;

	out[0] = '\0';
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || atoi(de->d_name) == self)
			continue;
		n = snprintf(out + o, FD_LIST_MAX - o, "%s%s", o ? "," : "",
		    de->d_name);
		if (n < 0 || (size_t)n >= FD_LIST_MAX - o)
			break;
		o += (size_t)n;
	}
	closedir(d);
}

/* One line per call for the test to check: never the password. */
static void
record(const char *login, const char *stamp)
{
	const char *path = getenv("CHECKPW_TEST_RECORD");
	const char *ip = getenv("TCPREMOTEIP");
	const char *front = getenv("SSL_HACK_FRONTIP");
	const char *nfd = getenv("AUTHRELAY_NOTIFY_FD");
	char fds[FD_LIST_MAX];
	FILE *f;

	if (path == NULL)
		return;
	fd_list(fds);
	f = fopen(path, "a");
	if (f == NULL)
		_exit(111);
	fprintf(f, "login=%s stamp=%s ip=%s front=%s notifyfd=%s "
	    "fd4=%s sslpass=%s fds=%s\n", login, stamp, ip ? ip : "-",
	    front ? front : "-", nfd ? nfd : "-",
	    fcntl_ok(4) ? "open" : "closed",
	    getenv("SSL_HACK_PASS") ? "leaked" : "-", fds);
	fclose(f);
}

/*
 * A table login, or with $CHECKPW_TEST_ANY_PASS set any other login
 * whose password is that text (names the table cannot hold: UTF-8,
 * 255 bytes, spaces).
 */
static const struct account *
find(const char *login)
{
	static struct account any;
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strcmp(table[i].login, login) == 0)
			return &table[i];
	if ((any.password = getenv("CHECKPW_TEST_ANY_PASS")) == NULL ||
	    any.password[0] == '\0')
		return NULL;
	any.login = login;
	return &any;
}

static int
password_ok(const struct account *a, const char *pass, const char *stamp)
{
	char digest[MD5_HEX_MAX] = "";

	if (strcmp(pass, a->password) == 0)
		return 1;
	md5_hex(stamp, a->password, digest);
	return strcmp(pass, digest) == 0;
}

static void
become(const struct account *a, const char *login)
{
	const char *name = getenv("CHECKPW_TEST_ACCOUNT");
	const char *base = getenv("CHECKPW_TEST_HOME");
	char home[PATH_TEXT_MAX];
	struct passwd *pw;

	if (base == NULL)
		_exit(111);
	snprintf(home, sizeof(home), "%s/%s", base, login);
	pw = getpwnam(a->as_root ? "root" : name ? name : "nobody");
	if (pw == NULL)
		_exit(111);
	if (setgroups(1, &pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
	    setuid(pw->pw_uid) < 0)
		_exit(111);
	if (chdir(home) < 0)
		_exit(111);
	if (setenv("USER", login, 1) < 0 || setenv("HOME", home, 1) < 0 ||
	    setenv("SHELL", "/bin/sh", 1) < 0)
		_exit(111);
}

int
main(int argc, char **argv)
{
	char buf[INPUT_MAX + 1];
	const struct account *a;
	const char *login, *pass, *stamp;
	size_t len, l1, l2;

	if (argc < 2)
		_exit(2);
	len = read_input(buf);
	buf[len] = '\0';
	login = buf;
	l1 = strnlen(buf, len);
	if (l1 == len)
		_exit(2);
	pass = buf + l1 + 1;
	l2 = strnlen(pass, len - l1 - 1);
	if (l1 + 1 + l2 == len)
		_exit(2);
	stamp = pass + l2 + 1;
	record(login, stamp);
	a = find(login);
	if (a == NULL)
		_exit(1);
	if (a->exit_code != 0)
		_exit(a->exit_code);
	if (!password_ok(a, pass, stamp))
		_exit(1);
	become(a, login);
	execvp(argv[1], argv + 1);
	_exit(111);
}
