/* rules.h - parser families: tag dispatch, anchored PCRE2 rules, samples. */
#ifndef AUTHRELAY_RULES_H
#define AUTHRELAY_RULES_H

#include <stdio.h>

#include "config.h"
#include "ipaddr.h"

#define RULES_USER_MAX 255
#define RULES_SERVICE_MAX 16
#define RULES_NAME_MAX 64
/* Messages longer than this are not matched (rsyslog's default is 8k). */
#define RULES_MSG_MAX 8192
#define RULES_ERROR_MAX 512

struct rules;

/* A recognised successful login. */
struct rules_match {
	const char *parser;	/* family: the file's base name */
	size_t family;		/* its index, 0 .. rules_family_count() - 1 */
	const char *rule;	/* the rule's name */
	char service[RULES_SERVICE_MAX + 1];
	char user[RULES_USER_MAX + 1];
	char ip[IPADDR_TEXT_MAX];
	struct ipaddr addr;
};

/* Why a line did not produce a match (for counters and debug logs). */
enum rules_verdict {
	RULES_NO_TAG,		/* header not recognised or no family for tag */
	RULES_NO_MATCH,		/* a family looked, no rule matched */
	RULES_MATCH,
	RULES_BAD_FIELD,	/* a rule matched but user/ip/service failed checks */
	RULES_TOO_LONG,
	RULES_LIMIT,		/* PCRE2 match or depth limit hit */
};

/*
 * Load every *.conf in dir (only the families named in enable, unless it
 * holds "all"), in name order. naive: no JIT and no tag dispatch (the
 * benchmark's baseline). On error returns NULL with "file:line: what".
 */
struct rules *rules_load(const char *dir, const struct config_list *enable,
    int naive, char error_r[RULES_ERROR_MAX]);

void rules_free(struct rules *rules);

/* Match one raw line (no newline); fills *m on RULES_MATCH. */
enum rules_verdict rules_match_line(struct rules *rules, const char *line,
    size_t len, struct rules_match *m);

/* Number of families loaded, and the name of family i. */
size_t rules_family_count(const struct rules *rules);
const char *rules_family_name(const struct rules *rules, size_t i);

/*
 * Run every sample of every loaded file against all loaded families.
 * Prints "file:line: what" for each failure to report; returns the
 * number of failures (0 = all good) and the number of samples run.
 */
int rules_run_samples(struct rules *rules, FILE *report, size_t *samples_r);

#endif
