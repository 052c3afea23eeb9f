/* syslog.c - split a syslog line into tag and message, once, without copying. */
#include <string.h>

#include "syslog.h"

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f');
}

/* Number of leading digits at p, at most max. */
static size_t
digits(const char *p, const char *end, size_t max)
{
	size_t n = 0;

	while (p + n < end && n < max && is_digit(p[n]))
		n++;
	return n;
}

/* "@" + 24 hex digits + " " (daemontools multilog TAI64N). */
static const char *
skip_tai64n(const char *p, const char *end)
{
	if (end - p < 26 || p[0] != '@' || p[25] != ' ')
		return p;
	for (int i = 1; i < 25; i++)
		if (!is_hex(p[i]))
			return p;
	return p + 26;
}

/* "<PRI>" with 1..3 digits. */
static const char *
skip_pri(const char *p, const char *end)
{
	size_t n;

	if (p >= end || *p != '<')
		return p;
	n = digits(p + 1, end, 3);
	if (n == 0 || p + 1 + n >= end || p[1 + n] != '>')
		return p;
	return p + 2 + n;
}

/*
 * "Mmm dd hh:mm:ss " (day may be " 1", "01" or "1"); NULL if absent.
 * The month is only checked for shape: it decides nothing but where the
 * header ends, and this runs for every line.
 */
static const char *
skip_bsd_time(const char *p, const char *end)
{
	if (end - p < 15 || p[0] < 'A' || p[0] > 'Z' || p[1] < 'a' ||
	    p[1] > 'z' || p[2] < 'a' || p[2] > 'z' || p[3] != ' ')
		return NULL;
	p += 4;
	if (*p == ' ')
		p++;
	if (digits(p, end, 2) == 0)
		return NULL;
	p += digits(p, end, 2);
	if (end - p < 10 || p[0] != ' ' || digits(p + 1, end, 2) != 2 ||
	    p[3] != ':' || digits(p + 4, end, 2) != 2 || p[6] != ':' ||
	    digits(p + 7, end, 2) != 2 || p[9] != ' ')
		return NULL;
	return p + 10;
}

/* RFC 3339 "YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm) "; NULL if absent. */
static const char *
skip_iso_time(const char *p, const char *end)
{
	const char *sp;

	if (end - p < 20 || digits(p, end, 4) != 4 || p[4] != '-' ||
	    p[7] != '-' || (p[10] != 'T' && p[10] != ' ') || p[13] != ':')
		return NULL;
	sp = memchr(p + 11, ' ', (size_t)(end - p - 11));
	if (sp == NULL)
		return NULL;
	return sp + 1;
}

/* One space-delimited field; *field_end_r set. NULL if none. */
static const char *
next_field(const char *p, const char *end, const char **field_end_r)
{
	const char *sp = memchr(p, ' ', (size_t)(end - p));

	if (sp == NULL || sp == p)
		return NULL;
	*field_end_r = sp;
	return sp + 1;
}

/*
 * "tag[pid]: msg" or "tag: msg" at p. The tag may hold any byte but
 * space, ':' and '['; the pid is digits. A single space after the
 * colon is part of the separator.
 */
static int
split_tag(const char *p, const char *end, struct syslog_line *out)
{
	const char *t = p;

	while (t < end && *t != ':' && *t != '[' && *t != ' ')
		t++;
	if (t == p || t >= end || *t == ' ' || (size_t)(t - p) > SYSLOG_TAG_MAX)
		return -1;
	out->tag = p;
	out->tag_len = (size_t)(t - p);
	if (*t == '[') {
		size_t n = digits(t + 1, end, 10);

		if (n == 0 || t + 1 + n >= end || t[1 + n] != ']')
			return -1;
		t += 2 + n;
		if (t >= end || *t != ':')
			return -1;
	}
	t++;			/* the colon */
	if (t < end && *t == ' ')
		t++;
	out->msg = t;
	out->msg_len = (size_t)(end - t);
	return 0;
}

/* Does the token at p end in ':' or "[digits]:" (a tag, not a host)? */
static int
looks_like_tag(const char *p, const char *end)
{
	const char *sp = memchr(p, ' ', (size_t)(end - p));
	const char *stop = sp != NULL ? sp : end;

	return stop > p && stop[-1] == ':';
}

/* RFC 5424 after "<pri>1 ": TIME HOST APP PROCID MSGID SD [MSG]. */
static int
split_5424(const char *p, const char *end, struct syslog_line *out)
{
	const char *f_end, *app;

	if ((p = next_field(p, end, &f_end)) == NULL)	/* timestamp */
		return -1;
	if ((p = next_field(p, end, &f_end)) == NULL)	/* hostname */
		return -1;
	app = p;
	if ((p = next_field(p, end, &f_end)) == NULL)	/* app-name */
		return -1;
	if (f_end - app > SYSLOG_TAG_MAX || (f_end - app == 1 && *app == '-'))
		return -1;
	out->tag = app;
	out->tag_len = (size_t)(f_end - app);
	if ((p = next_field(p, end, &f_end)) == NULL)	/* procid */
		return -1;
	if ((p = next_field(p, end, &f_end)) == NULL)	/* msgid */
		return -1;
	if (p < end && *p == '-') {
		p++;
	} else {
		/* SD-ELEMENTs: "[...]"+, where "\]" does not close. */
		while (p < end && *p == '[') {
			for (p++; p < end && *p != ']'; p++)
				if (*p == '\\' && p + 1 < end)
					p++;
			if (p >= end)
				return -1;
			p++;
		}
	}
	if (p < end && *p == ' ')
		p++;
	/* A UTF-8 BOM may open the message. */
	if (end - p >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	out->msg = p;
	out->msg_len = (size_t)(end - p);
	return 0;
}

int
syslog_split(const char *line, size_t len, struct syslog_line *out)
{
	const char *p = line, *end = line + len, *after;

	p = skip_tai64n(p, end);
	p = skip_pri(p, end);
	if (p != line && end - p > 2 && p[0] == '1' && p[1] == ' ')
		return split_5424(p + 2, end, out);
	after = skip_bsd_time(p, end);
	if (after == NULL)
		after = skip_iso_time(p, end);
	if (after != NULL) {
		p = after;
		if (!looks_like_tag(p, end)) {
			const char *sp = memchr(p, ' ', (size_t)(end - p));

			if (sp == NULL)
				return -1;
			p = sp + 1;	/* the host */
		}
	}
	return split_tag(p, end, out);
}
