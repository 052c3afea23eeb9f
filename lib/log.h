/* log.h - one line per event, key=value, to syslog or stderr. */
#ifndef AUTHRELAY_LOG_H
#define AUTHRELAY_LOG_H

#include <syslog.h>

/*
 * Start logging as ident (never a tag one of our parsers reads).
 * to_stderr: foreground mode, lines go to stderr; otherwise syslog
 * facility LOG_MAIL with LOG_PID. verbose enables debug lines.
 */
void log_init(const char *ident, int to_stderr, int verbose);

/*
 * Longest message text: with the syslog header (at most 64 bytes) every
 * record stays within 512 bytes, so no syslog daemon cuts it. A longer
 * message is cut, never inside a UTF-8 character.
 */
#define LOG_TEXT_MAX 448

/* printf-style message at a syslog priority. */
void log_msg(int priority, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Same, with ": strerror(errno)" appended. */
void log_sys(int priority, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_err(...)	log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_DEBUG, __VA_ARGS__)

/* Is debug logging on? Lets callers skip building debug arguments. */
int log_verbose(void);

#endif
