/* hook.h - the on_change program: run on grant, expire and revoke, never waited for. */
#ifndef AUTHRELAY_HOOK_H
#define AUTHRELAY_HOOK_H

#include <sys/types.h>

/* Children running at most; past it a change is logged and skipped. */
#define HOOK_CHILDREN_MAX 32

/*
 * Start "program action ip" in the background (program empty: nothing).
 * Never blocks: a missing or non-executable program is logged.
 */
void hook_run(const char *program, const char *action, const char *ip);

/*
 * A child ended (the caller reaps: it may have children of its own):
 * count it and log a failure.
 */
void hook_reaped(pid_t pid, int status);

#endif
