/* poplog.c - syslog lines for the POP programs, optionally to a private socket for tests. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "poplog.h"

/* "Mmm dd hh:mm:ss" and its NUL. */
#define POPLOG_STAMP_MAX 16

static const char *poplog_ident = "qmail-pop-hack";
static const char *poplog_socket;

void
poplog_init(const char *ident)
{
	const char *s = getenv("AUTHRELAY_SYSLOG_SOCKET");

	poplog_ident = ident;
	poplog_socket = s != NULL && *s != '\0' ? s : NULL;
	if (poplog_socket == NULL)
		openlog(ident, LOG_PID, LOG_MAIL);
}

/* Our own RFC 3164 datagram, the same shape glibc's syslog() sends. */
static void
send_private(int priority, const char *msg)
{
	char line[POPLOG_HEADER_MAX + POPLOG_MSG_MAX];
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char stamp[POPLOG_STAMP_MAX];
	time_t now = time(NULL);
	struct tm tm;
	int fd, n;

	if (strlen(poplog_socket) >= sizeof(sun.sun_path))
		return;
	memcpy(sun.sun_path, poplog_socket, strlen(poplog_socket) + 1);
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
	n = snprintf(line, sizeof(line), "<%d>%s %s[%ld]: %s",
	    LOG_MAIL | priority, stamp, poplog_ident, (long)getpid(), msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 1;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	(void)sendto(fd, line, (size_t)n, 0, (struct sockaddr *)&sun,
	    sizeof(sun));
	close(fd);
}

static void
emit(int priority, const char *msg)
{
	if (poplog_socket != NULL)
		send_private(priority, msg);
	else
		syslog(priority, "%s", msg);
}

/* The message and one byte more, to see where a cut falls, and a NUL. */
#define MSG_BUF (POPLOG_MSG_MAX + 2)

/*
 * Format into msg (MSG_BUF bytes). Returns 1 when it fit, 0 when it was
 * cut to POPLOG_MSG_MAX bytes or less; a cut never splits a UTF-8
 * character.
 */
static int
format_msg(char *msg, const char *fmt, va_list ap)
{
	int n = vsnprintf(msg, MSG_BUF, fmt, ap);
	size_t len = POPLOG_MSG_MAX;

	if (n < 0) {
		msg[0] = '\0';
		return 0;
	}
	if ((size_t)n <= POPLOG_MSG_MAX)
		return 1;
	while (len > 0 && ((unsigned char)msg[len] & 0xc0) == 0x80)
		len--;
	msg[len] = '\0';
	return 0;
}

void
poplog(int priority, const char *fmt, ...)
{
	char msg[MSG_BUF];
	va_list ap;

	va_start(ap, fmt);
	(void)format_msg(msg, fmt, ap);
	va_end(ap);
	emit(priority, msg);
}

int
poplog_whole(int priority, const char *fmt, ...)
{
	char msg[MSG_BUF];
	va_list ap;
	int fits;

	va_start(ap, fmt);
	fits = format_msg(msg, fmt, ap);
	va_end(ap);
	if (!fits)
		return -1;
	emit(priority, msg);
	return 0;
}

void
poplog_fatal(int code, const char *fmt, ...)
{
	char msg[MSG_BUF];
	va_list ap;

	va_start(ap, fmt);
	(void)format_msg(msg, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: fatal: %s\n", poplog_ident, msg);
	emit(LOG_ERR, msg);
	exit(code);
}
