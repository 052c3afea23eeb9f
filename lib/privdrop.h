/* privdrop.h - drop root for good: setgroups, setresgid, setresuid, no_new_privs. */
#ifndef AUTHRELAY_PRIVDROP_H
#define AUTHRELAY_PRIVDROP_H

#include <sys/types.h>

/* Look up user's uid and primary gid; 0, or -1 with *error_r. */
int privdrop_lookup(const char *user, uid_t *uid_r, gid_t *gid_r,
    const char **error_r);

/*
 * setgroups(0), setresgid, setresuid (group before user, CERT POS36-C),
 * verify that root cannot be regained (POS37-C), then no_new_privs.
 * Returns 0, or -1 with *error_r naming the failed step.
 */
int privdrop_to(uid_t uid, gid_t gid, const char **error_r);

/* No core files and no ptrace by other users: the key is in memory. */
void privdrop_nocore(void);

#endif
