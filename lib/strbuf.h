/* strbuf.h - a growable byte buffer for text built piece by piece. */
#ifndef AUTHRELAY_STRBUF_H
#define AUTHRELAY_STRBUF_H

#include <stddef.h>

struct strbuf {
	char *data;	/* always NUL-terminated once anything was added */
	size_t len;
	size_t cap;
	int failed;	/* an allocation failed; contents are incomplete */
};

void strbuf_reset(struct strbuf *sb);
void strbuf_free(struct strbuf *sb);
void strbuf_add(struct strbuf *sb, const char *s, size_t len);
void strbuf_adds(struct strbuf *sb, const char *s);
void strbuf_addf(struct strbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
