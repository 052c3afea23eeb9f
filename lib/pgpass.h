/* pgpass.h - refuse a libpq password file that group or others may read. */
#ifndef AUTHRELAY_PGPASS_H
#define AUTHRELAY_PGPASS_H

/* Room for the reason, with the file's path. */
#define PGPASS_WHY_MAX 512

/*
 * The password file libpq would read for conninfo (a keyword/value
 * string or a postgres:// URI), found as libpq 15 finds it, without
 * linking libpq: the conninfo's passfile, else $PGPASSFILE, else
 * $HOME/.pgpass (the home directory of geteuid() when HOME is unset).
 * Call it as the user that will connect. Nothing is checked when libpq
 * would not read a file: a password in the conninfo or $PGPASSWORD.
 * Limitation: a passfile set through service= (pg_service.conf) is not
 * seen; the default file is checked instead.
 *
 * Returns 0 when there is no such file (or none we can stat: libpq
 * ignores it too) or it is private (no group or other permission bits),
 * -1 with a one-line reason in why otherwise ("password file /x/.pgpass
 * mode 0644 allows group or other access (want 0600)"). A conninfo that
 * does not parse is left to libpq, which refuses it with its own message.
 */
int pgpass_check(const char *conninfo, char why[PGPASS_WHY_MAX]);

/*
 * The file pgpass_check would look at, in path (NUL-terminated), or ""
 * when none applies; 0, or -1 with why (the conninfo does not parse,
 * or the path is too long).
 */
int pgpass_path(const char *conninfo, char *path, unsigned long pathsz,
    char why[PGPASS_WHY_MAX]);

#endif
