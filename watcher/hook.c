/* hook.c - the on_change program: run on grant, expire and revoke, never waited for. */
#include <errno.h>
#include <fcntl.h>
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
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int rc;

	if (program == NULL || program[0] == '\0')
		return;
	if (hook_children >= HOOK_CHILDREN_MAX) {
		log_warn("event=on_change_skipped action=%s ip=%s reason=busy", action, ip);
		return;
	}
	/*
	 * Standard output may be rsyslog's confirmation pipe (omprog): the
	 * hook gets /dev/null for input and output, and keeps stderr.
	 * posix_spawn reports a failed exec itself (glibc): no zombie left.
	 */
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	rc = posix_spawn(&pid, program, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		log_err("event=on_change_failed program=%s action=%s ip=%s error=\"%s\"",
		    program, action, ip, strerror(rc));
		return;
	}
	hook_children++;
}

void
hook_reaped(pid_t pid, int status)
{
	if (hook_children > 0)
		hook_children--;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return;
	log_warn("event=on_change_exit pid=%ld status=%d", (long)pid,
	    WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}
