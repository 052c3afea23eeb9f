/* pgpass.c - refuse a libpq password file that group or others may read. */
#include <ctype.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pgpass.h"

#define PGPASS_PATH_MAX 4096

/* What we need from a conninfo: the passfile and whether a password is in it. */
struct found {
	char passfile[PGPASS_PATH_MAX];
	int has_passfile;
	int has_password;
};

static void
note_param(struct found *f, const char *key, size_t klen, const char *val,
    size_t vlen)
{
	if (klen == 8 && memcmp(key, "passfile", 8) == 0) {
		snprintf(f->passfile, sizeof(f->passfile), "%.*s", (int)vlen, val);
		f->has_passfile = vlen > 0 && vlen < sizeof(f->passfile);
	} else if (klen == 8 && memcmp(key, "password", 8) == 0) {
		f->has_password = vlen > 0;
	}
}

/* keyword = value ...; values bare (\ escapes) or '...' (\' and \\). */
static int
parse_keywords(const char *s, struct found *f, char *val, size_t valsz)
{
	while (*s != '\0') {
		const char *key;
		size_t klen, vlen = 0;

		while (isspace((unsigned char)*s))
			s++;
		if (*s == '\0')
			break;
		key = s;
		while (*s != '\0' && *s != '=' && !isspace((unsigned char)*s))
			s++;
		klen = (size_t)(s - key);
		while (isspace((unsigned char)*s))
			s++;
		if (*s != '=' || klen == 0)
			return -1;
		s++;
		while (isspace((unsigned char)*s))
			s++;
		if (*s == '\'') {
			for (s++; *s != '\'' ; s++) {
				if (*s == '\\' && s[1] != '\0')
					s++;
				if (*s == '\0')
					return -1;	/* unterminated quote */
				if (vlen + 1 < valsz)
					val[vlen++] = *s;
			}
			s++;
		} else {
			for (; *s != '\0' && !isspace((unsigned char)*s); s++) {
				if (*s == '\\' && s[1] != '\0')
					s++;
				if (vlen + 1 < valsz)
					val[vlen++] = *s;
			}
		}
		val[vlen] = '\0';
		note_param(f, key, klen, val, vlen);
	}
	return 0;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decode n bytes of s into out; -1 on a bad escape. */
static int
decode(const char *s, size_t n, char *out, size_t outsz, size_t *len_r)
{
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= n || (hi = hexval(s[i + 1])) < 0 ||
			    (lo = hexval(s[i + 2])) < 0)
				return -1;
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if (len + 1 < outsz)
			out[len++] = c;
	}
	out[len] = '\0';
	*len_r = len;
	return 0;
}

/* postgres[ql]://[user[:password]@]host.../db?k=v&k=v */
static int
parse_uri(const char *s, struct found *f, char *val, size_t valsz)
{
	const char *rest = strstr(s, "://") + 3;
	const char *q = strchr(rest, '?');
	const char *at = strchr(rest, '@');
	const char *slash = strchr(rest, '/');
	const char *colon;
	size_t vlen;

	/* A password in the authority: user:password@ before any '/' or '?'. */
	if (at != NULL && (slash == NULL || at < slash) && (q == NULL || at < q) &&
	    (colon = memchr(rest, ':', (size_t)(at - rest))) != NULL &&
	    at > colon + 1)
		f->has_password = 1;
	if (q == NULL)
		return 0;
	for (q++; *q != '\0'; ) {
		const char *amp = strchr(q, '&');
		size_t n = amp != NULL ? (size_t)(amp - q) : strlen(q);
		const char *eq = memchr(q, '=', n);
		char key[32];
		size_t klen;

		if (eq == NULL)
			return -1;
		if (decode(q, (size_t)(eq - q), key, sizeof(key), &klen) < 0 ||
		    decode(eq + 1, n - (size_t)(eq + 1 - q), val, valsz, &vlen) < 0)
			return -1;
		note_param(f, key, klen, val, vlen);
		q += n + (amp != NULL);
	}
	return 0;
}

int
pgpass_path(const char *conninfo, char *path, unsigned long pathsz,
    char why[PGPASS_WHY_MAX])
{
	struct found f = { .has_passfile = 0, .has_password = 0 };
	char val[PGPASS_PATH_MAX];
	const char *env, *home;
	int rc;

	path[0] = '\0';
	if (strncmp(conninfo, "postgresql://", 13) == 0 ||
	    strncmp(conninfo, "postgres://", 11) == 0)
		rc = parse_uri(conninfo, &f, val, sizeof(val));
	else
		rc = parse_keywords(conninfo, &f, val, sizeof(val));
	explicit_bzero(val, sizeof(val));	/* it may have held a password */
	if (rc < 0) {
		snprintf(why, PGPASS_WHY_MAX, "database: conninfo does not parse");
		return -1;
	}
	if (f.has_password || ((env = getenv("PGPASSWORD")) != NULL && *env != '\0'))
		return 0;	/* libpq reads no file */
	if (f.has_passfile)
		rc = snprintf(path, pathsz, "%s", f.passfile);
	else if ((env = getenv("PGPASSFILE")) != NULL && *env != '\0')
		rc = snprintf(path, pathsz, "%s", env);
	else {
		struct passwd *pw;

		home = getenv("HOME");
		if (home == NULL || *home == '\0')
			home = (pw = getpwuid(geteuid())) != NULL ? pw->pw_dir : NULL;
		if (home == NULL)
			return 0;	/* libpq finds no file either */
		rc = snprintf(path, pathsz, "%s/.pgpass", home);
	}
	if (rc < 0 || (unsigned long)rc >= pathsz) {
		path[0] = '\0';
		snprintf(why, PGPASS_WHY_MAX, "password file path too long");
		return -1;
	}
	return 0;
}

int
pgpass_check(const char *conninfo, char why[PGPASS_WHY_MAX])
{
	char path[PGPASS_PATH_MAX];
	struct stat st;

	/* What does not parse here, libpq refuses with its own message. */
	if (pgpass_path(conninfo, path, sizeof(path), why) < 0 ||
	    path[0] == '\0')
		return 0;
	/*
	 * Followed like libpq follows it. A file we cannot stat (missing,
	 * or in a home we may not search after the privilege drop) or that
	 * is not regular is one libpq ignores as well.
	 */
	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		snprintf(why, PGPASS_WHY_MAX, "password file %.400s mode %04o "
		    "allows group or other access (want 0600)", path,
		    (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}
