/* log.c - one line per event, key=value, to syslog or stderr. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "log.h"

static const char *log_ident = "authrelay";
static int log_to_stderr = 1;
static int log_debug_on;

void
log_init(const char *ident, int to_stderr, int verbose)
{
	log_ident = ident;
	log_to_stderr = to_stderr;
	log_debug_on = verbose;
	if (!to_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

int
log_verbose(void)
{
	return log_debug_on;
}

static const char *
level_name(int priority)
{
	switch (priority) {
	case LOG_EMERG: case LOG_ALERT: case LOG_CRIT: case LOG_ERR:
		return "err";
	case LOG_WARNING:
		return "warning";
	case LOG_DEBUG:
		return "debug";
	default:
		return "info";
	}
}

static void
log_emit(int priority, const char *text)
{
	if (log_to_stderr)
		fprintf(stderr, "%s: %s: %s\n", log_ident, level_name(priority),
		    text);
	else
		syslog(priority, "%s", text);
}

static void
log_format(int priority, int with_errno, const char *fmt, va_list ap)
{
	/* The message, one byte more to see where a cut falls, a NUL. */
	char text[LOG_TEXT_MAX + 2];
	size_t len;
	int saved = errno;
	int n;

	if (priority == LOG_DEBUG && !log_debug_on)
		return;
	n = vsnprintf(text, sizeof(text), fmt, ap);
	if (n < 0)
		return;
	if (with_errno && (size_t)n < sizeof(text))
		snprintf(text + n, sizeof(text) - (size_t)n, ": %s",
		    strerror(saved));
	/* Over the limit: cut, never inside a UTF-8 character. */
	if ((len = strlen(text)) > LOG_TEXT_MAX) {
		len = LOG_TEXT_MAX;
		while (len > 0 && ((unsigned char)text[len] & 0xc0) == 0x80)
			len--;
		text[len] = '\0';
	}
	log_emit(priority, text);
	errno = saved;
}

void
log_msg(int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_format(priority, 0, fmt, ap);
	va_end(ap);
}

void
log_sys(int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_format(priority, 1, fmt, ap);
	va_end(ap);
}
