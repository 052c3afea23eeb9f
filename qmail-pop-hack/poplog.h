/* poplog.h - syslog lines for the POP programs, optionally to a private socket for tests. */
#ifndef QMAIL_POP_HACK_POPLOG_H
#define QMAIL_POP_HACK_POPLOG_H

#include <syslog.h>

/*
 * Every record stays within POPLOG_LINE_MAX bytes as handed to syslog,
 * RFC 3164 header ("<PRI>Mmm dd hh:mm:ss ident[pid]: ", at most
 * POPLOG_HEADER_MAX) included: half of the 1024 bytes many syslog
 * daemons keep, so a host name or a relay hop never gets it cut.
 */
#define POPLOG_LINE_MAX 512
#define POPLOG_HEADER_MAX 64
#define POPLOG_MSG_MAX (POPLOG_LINE_MAX - POPLOG_HEADER_MAX)

/*
 * ident with LOG_PID at facility LOG_MAIL. $AUTHRELAY_SYSLOG_SOCKET, when
 * set, names a unix datagram socket that gets RFC 3164 lines instead of
 * /dev/log (test rigs with a private rsyslogd).
 */
void poplog_init(const char *ident);

/* One message; a longer one is cut, never inside a UTF-8 character. */
void poplog(int priority, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* One message only if it fits whole: 0, or -1 and nothing written. */
int poplog_whole(int priority, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* "prog: fatal: ..." on stderr and to the log, then exit(code). */
void poplog_fatal(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

#endif
