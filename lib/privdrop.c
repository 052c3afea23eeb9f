/* privdrop.c - drop root for good: setgroups, setresgid, setresuid, no_new_privs. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "privdrop.h"

int
privdrop_lookup(const char *user, uid_t *uid_r, gid_t *gid_r,
    const char **error_r)
{
	struct passwd *pw;

	errno = 0;
	pw = getpwnam(user);
	if (pw == NULL) {
		*error_r = errno != 0 ? strerror(errno) : "no such user";
		return -1;
	}
	if (pw->pw_uid == 0) {
		*error_r = "user is root";
		return -1;
	}
	*uid_r = pw->pw_uid;
	*gid_r = pw->pw_gid;
	return 0;
}

/* After the drop: ids are exactly uid/gid and root cannot come back. */
static int
verify(uid_t uid, gid_t gid, const char **error_r)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0 ||
	    ru != uid || eu != uid || su != uid ||
	    rg != gid || eg != gid || sg != gid) {
		*error_r = "ids did not change";
		return -1;
	}
	if (setuid(0) == 0 || setgid(0) == 0) {
		*error_r = "root could be regained";
		return -1;
	}
	return 0;
}

int
privdrop_to(uid_t uid, gid_t gid, const char **error_r)
{
	if (geteuid() == 0 && setgroups(0, NULL) < 0) {
		*error_r = "setgroups";
		return -1;
	}
	if (setresgid(gid, gid, gid) < 0) {
		*error_r = "setresgid";
		return -1;
	}
	if (setresuid(uid, uid, uid) < 0) {
		*error_r = "setresuid";
		return -1;
	}
	if (verify(uid, gid, error_r) < 0)
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		*error_r = "PR_SET_NO_NEW_PRIVS";
		return -1;
	}
	/* A uid change resets dumpable; set it again to be explicit. */
	privdrop_nocore();
	return 0;
}

void
privdrop_nocore(void)
{
	struct rlimit rl = { 0, 0 };

	(void)setrlimit(RLIMIT_CORE, &rl);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}
