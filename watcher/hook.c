/* hook.c - the on_change program: run on grant, expire and revoke, never waited for. */
#include <errno.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>

#include "hook.h"
#include "log.h"

extern char **environ;

static int hook_children;

void
hook_run(const char *program, const char *action, const char *ip)
{
	char *argv[] = { (char *)program, (char *)action, (char *)ip, NULL };
	pid_t pid;
	int rc;

	if (program == NULL || program[0] == '\0')
		return;
	if (hook_children >= HOOK_CHILDREN_MAX) {
		log_warn("event=on_change_skipped action=%s ip=%s reason=busy", action, ip);
		return;
	}
	/* posix_spawn reports a failed exec itself (glibc): no zombie left. */
	rc = posix_spawn(&pid, program, NULL, NULL, argv, environ);
	if (rc != 0) {
		log_err("event=on_change_failed program=%s action=%s ip=%s error=\"%s\"",
		    program, action, ip, strerror(rc));
		return;
	}
	hook_children++;
}

void
hook_reap(void)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		hook_children--;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			continue;
		log_warn("event=on_change_exit pid=%ld status=%d", (long)pid,
		    WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	}
}
