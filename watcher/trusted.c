/* trusted.c - lines from rsyslog's trusted-properties template: who really sent them. */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trusted.h"

/* "key=" then a token up to the next space; the token may be empty. */
static const char *
field(const char *p, const char *end, const char *key, const char **val_r,
    size_t *len_r)
{
	size_t klen = strlen(key);
	const char *sp;

	if ((size_t)(end - p) < klen || memcmp(p, key, klen) != 0)
		return NULL;
	p += klen;
	sp = memchr(p, ' ', (size_t)(end - p));
	if (sp == NULL)
		return NULL;
	*val_r = p;
	*len_r = (size_t)(sp - p);
	return sp + 1;
}

/* Decimal digits only, bounded; -1 if malformed. */
static int64_t
number(const char *s, size_t len)
{
	int64_t v = 0;

	if (len == 0 || len > 12)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int
trusted_parse(const char *line, size_t len, struct trusted_line *out)
{
	const char *p = line, *end = line + len, *v;
	size_t vlen;
	int64_t n;

	memset(out, 0, sizeof(*out));
	if (len < 3 || memcmp(p, "v1 ", 3) != 0)
		return -1;
	p += 3;
	if ((p = field(p, end, "t=", &v, &vlen)) == NULL ||
	    (out->received = number(v, vlen)) < 0)
		return -1;
	if ((p = field(p, end, "uid=", &v, &vlen)) == NULL)
		return -1;
	if (vlen > 0) {
		if ((n = number(v, vlen)) < 0 || n > UINT32_MAX - 1)
			return -1;
		out->has_uid = 1;
		out->uid = (uid_t)n;
	}
	if ((p = field(p, end, "pid=", &v, &vlen)) == NULL)
		return -1;
	if ((p = field(p, end, "in=", &out->input, &out->input_len)) == NULL)
		return -1;
	if ((p = field(p, end, "from=", &v, &vlen)) == NULL)
		return -1;
	if ((p = field(p, end, "prog=", &v, &vlen)) == NULL)
		return -1;
	if ((size_t)(end - p) < 4 || memcmp(p, "msg=", 4) != 0)
		return -1;
	out->msg = p + 4;
	out->msg_len = (size_t)(end - out->msg);
	return 0;
}

static int
parse_uid(const char *s, uid_t *uid_r)
{
	struct passwd *pw;
	char *endp;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &endp, 10);
	if (*s != '\0' && *endp == '\0' && errno == 0 && v < UINT32_MAX) {
		*uid_r = (uid_t)v;
		return 0;
	}
	if ((pw = getpwnam(s)) == NULL)
		return -1;
	*uid_r = pw->pw_uid;
	return 0;
}

int
trusted_policy_load(const struct config_list *pairs, struct trusted_policy *out,
    char *error, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (pairs->count == 0)
		return 0;
	out->entries = calloc(pairs->count, sizeof(*out->entries));
	if (out->entries == NULL) {
		snprintf(error, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < pairs->count; i++) {
		const char *item = pairs->items[i];
		const char *colon = strchr(item, ':');
		struct trusted_entry *e = &out->entries[out->count];

		if (colon == NULL || colon == item ||
		    (size_t)(colon - item) >= sizeof(e->family) ||
		    parse_uid(colon + 1, &e->uid) < 0) {
			snprintf(error, errlen,
			    "trusted_uids: '%s': want family:uid (a number or a user name)",
			    item);
			trusted_policy_free(out);
			return -1;
		}
		memcpy(e->family, item, (size_t)(colon - item));
		e->family[colon - item] = '\0';
		out->count++;
	}
	return 0;
}

void
trusted_policy_free(struct trusted_policy *p)
{
	free(p->entries);
	memset(p, 0, sizeof(*p));
}

int
trusted_policy_has_family(const struct trusted_policy *p, const char *family)
{
	for (size_t i = 0; i < p->count; i++)
		if (strcmp(p->entries[i].family, family) == 0)
			return 1;
	return 0;
}

/* Local inputs only: imuxsock (the /dev/log socket) and imjournal. */
static int
local_input(const struct trusted_line *tl)
{
	return (tl->input_len == 8 && memcmp(tl->input, "imuxsock", 8) == 0) ||
	    (tl->input_len == 9 && memcmp(tl->input, "imjournal", 9) == 0);
}

const char *
trusted_check(const struct trusted_policy *p, const struct trusted_line *tl,
    const char *family, int64_t now, int64_t max_skew_s)
{
	if (!local_input(tl))
		return "network-input";
	if (!tl->has_uid)
		return "no-credentials";
	if (tl->received < now - max_skew_s || tl->received > now + max_skew_s)
		return "clock";
	for (size_t i = 0; i < p->count; i++)
		if (p->entries[i].uid == tl->uid &&
		    strcmp(p->entries[i].family, family) == 0)
			return NULL;
	return "uid";
}
