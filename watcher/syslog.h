/* syslog.h - split a syslog line into tag and message, once, without copying. */
#ifndef AUTHRELAY_SYSLOG_H
#define AUTHRELAY_SYSLOG_H

#include <stddef.h>

/* Longest tag we dispatch on; longer tags belong to nobody. */
#define SYSLOG_TAG_MAX 64

struct syslog_line {
	const char *tag;	/* program name, without [pid] */
	size_t tag_len;
	const char *msg;	/* the message after "tag[pid]: " */
	size_t msg_len;
};

/*
 * Split line (len bytes, no newline) in any of the shapes we accept:
 * traditional "Mmm dd hh:mm:ss [host] tag[pid]: msg", RFC 3339
 * "2026-11-22T11:53:46.601335+00:00 host tag: msg", RFC 5424
 * "<34>1 TIME HOST APP PROCID MSGID SD MSG", an optional "<pri>" or
 * multilog "@4000..." prefix, and header-less "tag[pid]: msg".
 * Returns 0, or -1 when the line has no recognisable tag.
 */
int syslog_split(const char *line, size_t len, struct syslog_line *out);

#endif
