/* trusted.h - lines from rsyslog's trusted-properties template: who really sent them. */
#ifndef AUTHRELAY_TRUSTED_H
#define AUTHRELAY_TRUSTED_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"

/*
 * The template (etc/rsyslog/authrelay-trusted.conf) writes
 *   v1 t=UNIXTIME uid=UID pid=PID in=INPUT from=HOST prog=PROG msg=LINE
 * where uid and pid come from SCM_CREDENTIALS (the kernel), t is
 * rsyslog's reception time, and LINE is the sender's own text.
 */
struct trusted_line {
	int64_t received;	/* t=, seconds since the epoch */
	int has_uid;		/* uid= was not empty */
	uid_t uid;
	const char *input;	/* in=, e.g. imuxsock */
	size_t input_len;
	const char *msg;	/* the syslog line the parsers see */
	size_t msg_len;
};

/* Split one template line; 0, or -1 when it is not one. */
int trusted_parse(const char *line, size_t len, struct trusted_line *out);

/* Allowed senders: family name and uid pairs, from trusted_uids. */
struct trusted_policy {
	struct trusted_entry {
		char family[65];
		uid_t uid;
	} *entries;
	size_t count;
};

/*
 * Resolve "family:uid" pairs (uid a number or a user name). On error
 * returns -1 with a message naming the bad item.
 */
int trusted_policy_load(const struct config_list *pairs,
    struct trusted_policy *out, char *error, size_t errlen);
void trusted_policy_free(struct trusted_policy *p);

/* Does the policy name family at all? */
int trusted_policy_has_family(const struct trusted_policy *p, const char *family);

/*
 * May this line speak for family? NULL when yes, else a short reason:
 * "no-credentials", "network-input", "uid", "clock".
 */
const char *trusted_check(const struct trusted_policy *p,
    const struct trusted_line *tl, const char *family, int64_t now,
    int64_t max_skew_s);

#endif
