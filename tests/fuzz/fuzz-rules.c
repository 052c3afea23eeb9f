/* fuzz-rules.c - libFuzzer target: every parser family in parsers/ against arbitrary syslog lines. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"
#include "ipaddr.h"
#include "rules.h"
#include "utf8.h"

static struct rules *rules;

/* $AUTHRELAY_FUZZ_PARSERS, else parsers/ two levels above the binary (build/fuzz/). */
static void
parsers_dir(char out[PATH_MAX])
{
	const char *env = getenv("AUTHRELAY_FUZZ_PARSERS");
	ssize_t n;
	char *slash;
	int up;

	if (env != NULL && env[0] != '\0') {
		snprintf(out, PATH_MAX, "%s", env);
		return;
	}
	n = readlink("/proc/self/exe", out, PATH_MAX - 1);
	if (n < 0) {
		snprintf(out, PATH_MAX, "parsers");
		return;
	}
	out[n] = '\0';
	for (up = 0; up < 3 && (slash = strrchr(out, '/')) != NULL; up++)
		*slash = '\0';
	if (strlen(out) + sizeof("/parsers") > PATH_MAX) {
		snprintf(out, PATH_MAX, "parsers");
		return;
	}
	memcpy(out + strlen(out), "/parsers", sizeof("/parsers"));
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char dir[PATH_MAX], err[RULES_ERROR_MAX];

	(void)argc;
	(void)argv;
	parsers_dir(dir);
	rules = rules_load(dir, NULL, 0, err);
	if (rules == NULL || rules_family_count(rules) == 0) {
		fprintf(stderr, "fuzz-rules: cannot load parsers from %s: %s\n",
		    dir, rules == NULL ? err : "no families");
		exit(2);
	}
	return 0;
}

static void
check_match(const struct rules_match *m)
{
	char canon[IPADDR_TEXT_MAX];
	const char *why = NULL;
	struct ipaddr a;

	FUZZ_CHECK(m->parser != NULL && m->rule != NULL);
	FUZZ_CHECK(m->service[0] != '\0');
	FUZZ_CHECK(strlen(m->service) <= RULES_SERVICE_MAX);
	FUZZ_CHECK(strlen(m->user) <= RULES_USER_MAX);
	/* Well-formed UTF-8 without control characters (C0, DEL, C1). */
	FUZZ_CHECK(utf8_text_ok(m->user, strlen(m->user), &why));
	/* The IP is canonical already and agrees with m->addr. */
	FUZZ_CHECK(ipaddr_canon(m->ip, strlen(m->ip), canon, &why) == 0);
	FUZZ_CHECK(strcmp(canon, m->ip) == 0);
	FUZZ_CHECK(ipaddr_parse(m->ip, strlen(m->ip), &a, &why) == 0);
	FUZZ_CHECK(a.family == m->addr.family);
	FUZZ_CHECK(memcmp(a.bytes, m->addr.bytes,
	    a.family == AF_INET ? 4 : 16) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *line = (const char *)data;
	struct rules_match m, again;
	enum rules_verdict v;

	memset(&m, 0, sizeof(m));
	v = rules_match_line(rules, line, size, &m);
	if (size > RULES_MSG_MAX)
		FUZZ_CHECK(v == RULES_TOO_LONG);
	if (v != RULES_MATCH)
		return 0;
	check_match(&m);
	/* Matching is deterministic: the same line gives the same answer. */
	memset(&again, 0, sizeof(again));
	FUZZ_CHECK(rules_match_line(rules, line, size, &again) == RULES_MATCH);
	FUZZ_CHECK(strcmp(m.parser, again.parser) == 0);
	FUZZ_CHECK(strcmp(m.rule, again.rule) == 0);
	FUZZ_CHECK(strcmp(m.service, again.service) == 0);
	FUZZ_CHECK(strcmp(m.user, again.user) == 0);
	FUZZ_CHECK(strcmp(m.ip, again.ip) == 0);
	return 0;
}
