/* poplog.h - syslog lines for the POP programs, optionally to a private socket for tests. */
#ifndef QMAIL_POP_HACK_POPLOG_H
#define QMAIL_POP_HACK_POPLOG_H

#include <syslog.h>

/* One log message, before the syslog header is added. */
#define POPLOG_MSG_MAX 2048

/*
 * ident with LOG_PID at facility LOG_MAIL. $AUTHRELAY_SYSLOG_SOCKET, when
 * set, names a unix datagram socket that gets RFC 3164 lines instead of
 * /dev/log (test rigs with a private rsyslogd).
 */
void poplog_init(const char *ident);

void poplog(int priority, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* "prog: fatal: ..." on stderr and to the log, then exit(code). */
void poplog_fatal(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

#endif
