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

/* "<PRI>Mmm dd hh:mm:ss ident[pid]: " fits easily in this. */
#define POPLOG_HEADER_MAX 128
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

void
poplog(int priority, const char *fmt, ...)
{
	char msg[POPLOG_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	emit(priority, msg);
}

void
poplog_fatal(int code, const char *fmt, ...)
{
	char msg[POPLOG_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: fatal: %s\n", poplog_ident, msg);
	emit(LOG_ERR, msg);
	exit(code);
}
