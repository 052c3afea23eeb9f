/* strbuf.c - a growable byte buffer for text built piece by piece. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

static int
strbuf_grow(struct strbuf *sb, size_t more)
{
	size_t want = sb->len + more + 1;
	char *p;

	if (sb->failed)
		return -1;
	if (want <= sb->cap)
		return 0;
	if (want < sb->cap * 2)
		want = sb->cap * 2;
	if (want < 256)
		want = 256;
	if ((p = realloc(sb->data, want)) == NULL) {
		sb->failed = 1;
		return -1;
	}
	sb->data = p;
	sb->cap = want;
	return 0;
}

void
strbuf_reset(struct strbuf *sb)
{
	sb->len = 0;
	sb->failed = 0;
	if (sb->data != NULL)
		sb->data[0] = '\0';
}

void
strbuf_free(struct strbuf *sb)
{
	free(sb->data);
	memset(sb, 0, sizeof(*sb));
}

void
strbuf_add(struct strbuf *sb, const char *s, size_t len)
{
	if (strbuf_grow(sb, len) < 0)
		return;
	memcpy(sb->data + sb->len, s, len);
	sb->len += len;
	sb->data[sb->len] = '\0';
}

void
strbuf_adds(struct strbuf *sb, const char *s)
{
	strbuf_add(sb, s, strlen(s));
}

void
strbuf_addf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || strbuf_grow(sb, (size_t)n) < 0)
		return;
	va_start(ap, fmt);
	vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
}
