/* test-relaycdb.c - unit tests for lib/relaycdb.c: record format, lookups, tcprules layout. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cdb.h>

#include "harness.h"
#include "relaycdb.h"
#include "tcprules.h"

static void
test_format(void)
{
	struct relaycdb_entry e;
	char buf[RELAYCDB_VALUE_MAX], user[400];
	const char *why;
	int n;

	n = relaycdb_format(1700000000, "alice@example.org", buf, sizeof(buf));
	CHECK(n > 0 && strcmp(buf, "1 1700000000 alice@example.org") == 0);
	CHECK(relaycdb_parse(buf, (size_t)n, &e, &why) == 0);
	CHECK(e.expires == 1700000000 && strcmp(e.user, "alice@example.org") == 0);
	/* control bytes never reach a record (nor RELAYUSER) */
	n = relaycdb_format(5, "a\nb\tc\x7f", buf, sizeof(buf));
	CHECK(n > 0 && strcmp(buf, "1 5 a?b?c?") == 0);
	/* over-long users are cut to the maximum */
	memset(user, 'u', sizeof(user) - 1);
	user[sizeof(user) - 1] = '\0';
	n = relaycdb_format(5, user, buf, sizeof(buf));
	CHECK(n == 4 + RELAYCDB_USER_MAX);
	CHECK(relaycdb_parse(buf, (size_t)n, &e, &why) == 0);
	CHECK(strlen(e.user) == RELAYCDB_USER_MAX);
	CHECK(relaycdb_format(5, "x", buf, 4) == -1);
	/* UTF-8 names are kept byte for byte, no normalisation */
	n = relaycdb_format(5, "j\xc3\xb6rg@\xe4\xbe\x8b.\xf0\x9d\x94\x9e", buf,
	    sizeof(buf));
	CHECK(n > 0 && strcmp(buf, "1 5 j\xc3\xb6rg@\xe4\xbe\x8b.\xf0\x9d\x94\x9e") == 0);
	CHECK(relaycdb_parse(buf, (size_t)n, &e, &why) == 0);
	CHECK(strcmp(e.user, "j\xc3\xb6rg@\xe4\xbe\x8b.\xf0\x9d\x94\x9e") == 0);
	n = relaycdb_format(5, "jo\xcc\x88rg", buf, sizeof(buf));
	CHECK(n > 0 && strcmp(buf, "1 5 jo\xcc\x88rg") == 0);
	/* only controls (C1 too) and stray bytes become '?' */
	n = relaycdb_format(5, "j\xf6rg\xc2\x9b" "2J\xc0\xaf\xed\xa0\x80\x1b", buf,
	    sizeof(buf));
	CHECK(n > 0 && strcmp(buf, "1 5 j?rg?2J??????") == 0);
	CHECK(relaycdb_parse(buf, (size_t)n, &e, &why) == 0);
	/* a cut never splits a character: 254 'u' + "\xc3\xb6" -> 254 bytes */
	memset(user, 'u', 254);
	memcpy(user + 254, "\xc3\xb6", 3);
	n = relaycdb_format(5, user, buf, sizeof(buf));
	CHECK(n == 4 + 254);
	CHECK(relaycdb_parse(buf, (size_t)n, &e, &why) == 0);
}

static void
test_parse_rejects(void)
{
	static const char *const bad[] = {
		"", "1", "1 ", "1 5", "1 5 ", "2 5 alice", "1  5 alice",
		"1 -5 alice", "1 5x alice", "1 1234567890123456789 a",
		"1 5 a\nb", "15 alice", "x 5 alice",
	};
	struct relaycdb_entry e;
	const char *why;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		CHECK(relaycdb_parse(bad[i], strlen(bad[i]), &e, &why) == -1);
		CHECK(why != NULL);
	}
	/* a NUL inside the value is a control byte too */
	CHECK(relaycdb_parse("1 5 a\0b", 7, &e, &why) == -1);
	/* records are UTF-8 without controls: nothing else reaches RELAYUSER */
	CHECK(relaycdb_parse("1 5 j\xf6rg", 8, &e, &why) == -1);
	CHECK(strcmp(why, "invalid UTF-8 in record user") == 0);
	CHECK(relaycdb_parse("1 5 a\xc0\xaf", 7, &e, &why) == -1);
	CHECK(relaycdb_parse("1 5 a\xc2\x9b", 7, &e, &why) == -1);
	CHECK(strcmp(why, "control character in record user") == 0);
	CHECK(relaycdb_parse("1 5 j\xc3\xb6rg", 9, &e, &why) == 0);
}

static void
test_meta_and_active(void)
{
	struct relaycdb_meta m;
	struct relaycdb_entry e = { .expires = 1000 };
	char buf[RELAYCDB_VALUE_MAX];
	const char *why;
	const char *ids[] = { "0123456789abcdef", "fedcba9876543210", "x" };
	int n = relaycdb_format_meta(900, 42, NULL, 0, buf, sizeof(buf));

	CHECK(n > 0 && strcmp(buf, "1 900 42") == 0);
	CHECK(relaycdb_parse_meta(buf, (size_t)n, &m, &why) == 0);
	CHECK(m.built == 900 && m.count == 42 && m.ids == 0);
	CHECK(relaycdb_parse_meta("1 900 x", 7, &m, &why) == -1);
	/* base ids: one or two, exactly 16 lowercase hex digits each */
	n = relaycdb_format_meta(900, 42, ids, 2, buf, sizeof(buf));
	CHECK(n > 0 && strcmp(buf,
	    "1 900 42 0123456789abcdef fedcba9876543210") == 0);
	CHECK(relaycdb_parse_meta(buf, (size_t)n, &m, &why) == 0);
	CHECK(m.ids == 2 && relaycdb_meta_has_id(&m, ids[1]) &&
	    relaycdb_meta_has_id(&m, ids[0]) &&
	    !relaycdb_meta_has_id(&m, "0000000000000000"));
	CHECK(relaycdb_format_meta(900, 42, ids + 1, 2, buf, sizeof(buf)) == -1);
	CHECK(relaycdb_format_meta(900, 42, ids, 3, buf, sizeof(buf)) == -1);
	CHECK(relaycdb_parse_meta("1 900 42 0123456789ABCDEF", 25, &m, &why) == -1);
	CHECK(relaycdb_parse_meta("1 900 42 0123456789abcde", 24, &m, &why) == -1);
	CHECK(relaycdb_parse_meta("1 900 42 0123456789abcdef ", 26, &m, &why) == -1);
	CHECK(relaycdb_parse_meta("1 900 42 0123456789abcdef 0123456789abcdef "
	    "0123456789abcdef", 59, &m, &why) == -1);
	CHECK(relaycdb_active(&e, 999, 100, &why) == 1);
	CHECK(relaycdb_active(&e, 1000, 100, &why) == 0);	/* exact */
	CHECK(relaycdb_active(&e, 1001, 100, &why) == 0);
	CHECK(relaycdb_active(&e, 899, 100, &why) == 0);	/* too far */
	CHECK(strstr(why, "future") != NULL);
	CHECK(relaycdb_ttl_max(1800000, 300000) == 86400 + 300 + 1);
	CHECK(relaycdb_ttl_max(2 * 86400000, 0) == 2 * 86400 + 1);
}

static void
test_lookup(void)
{
	char path[] = "/tmp/test-relaycdb.XXXXXX";
	struct relaycdb_entry e;
	struct relaycdb_meta m;
	struct cdb_make cm;
	const char *why;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	CHECK(cdb_make_start(&cm, fd) == 0);
	cdb_make_add(&cm, "192.0.2.10", 10, "1 2000 alice", 12);
	cdb_make_add(&cm, "192.0.2.11", 10, "9 2000 alice", 12);
	cdb_make_add(&cm, RELAYCDB_META_KEY, sizeof(RELAYCDB_META_KEY) - 1,
	    "1 1500 2", 8);
	CHECK(cdb_make_finish(&cm) == 0);
	CHECK(relaycdb_lookup(fd, "192.0.2.10", &e, &why) == 1);
	CHECK(e.expires == 2000 && strcmp(e.user, "alice") == 0);
	CHECK(relaycdb_lookup(fd, "192.0.2.12", &e, &why) == 0);
	CHECK(relaycdb_lookup(fd, "192.0.2.11", &e, &why) == -1);
	CHECK(relaycdb_read_meta(fd, RELAYCDB_META_KEY, &m, &why) == 0 &&
	    m.built == 1500);
	CHECK(relaycdb_read_meta(fd, RELAYCDB_DELTA_KEY, &m, &why) == -1);
	/* a file that is not a cdb: an error, never "not found" */
	CHECK(ftruncate(fd, 100) == 0);
	CHECK(relaycdb_lookup(fd, "192.0.2.10", &e, &why) == -1);
	CHECK(relaycdb_read_meta(fd, RELAYCDB_META_KEY, &m, &why) == -1);
	close(fd);
	unlink(path);
}

/* Collects the keys a rule produces, as "key=data|" with NUL as '0'. */
static char keys[1024];

static int
collect(void *ctx, const char *key, size_t klen, const char *data,
    size_t dlen)
{
	size_t used = strlen(keys);

	(void)ctx;
	snprintf(keys + used, sizeof(keys) - used, "%.*s=", (int)klen, key);
	for (size_t i = 0; i < dlen; i++) {
		used = strlen(keys);
		snprintf(keys + used, sizeof(keys) - used, "%c",
		    data[i] == '\0' ? '0' : data[i]);
	}
	used = strlen(keys);
	snprintf(keys + used, sizeof(keys) - used, "|");
	return 0;
}

/* Parse one line and expand it; the result as collect() writes it. */
static const char *
rule(const char *line, int want)
{
	struct tcprules_rule *r = malloc(sizeof(*r));
	const char *why = NULL;
	int rc = tcprules_parse(line, strlen(line), r, &why);

	keys[0] = '\0';
	CHECK(rc == want);
	if (rc == 1)
		CHECK(tcprules_keys(r, collect, NULL, &why) == 0);
	free(r);
	return keys;
}

/* Expected values were produced by Debian's tcprules 0.88 + cdb -d. */
static void
test_tcprules(void)
{
	CHECK(strcmp(rule("1.2.3.4-6:deny\n", 1),
	    "1.2.3.4=D0|1.2.3.5=D0|1.2.3.6=D0|") == 0);
	CHECK(strcmp(rule(" 9.9.9.9:allow,A=/x/,B=\"\" \t\n", 1),
	    " 9.9.9.9=+A=x0+B=0|") == 0);
	CHECK(strcmp(rule(":allow", 1), "=|") == 0);
	CHECK(strcmp(rule("10.:allow,RELAYCLIENT=\"\",RBLSMTPD=\"\"", 1),
	    "10.=+RELAYCLIENT=0+RBLSMTPD=0|") == 0);
	CHECK(strcmp(rule("1.2.3-5.:deny", 1), "1.2.3.=D0|1.2.4.=D0|1.2.5.=D0|") == 0);
	CHECK(strcmp(rule("1.2.3.250-300:allow", 1),
	    "1.2.3.250=|1.2.3.251=|1.2.3.252=|1.2.3.253=|1.2.3.254=|1.2.3.255=|") == 0);
	CHECK(strcmp(rule("=mx.example.org:allow,X=\"a-b\"", 1),
	    "=mx.example.org=+X=a-b0|") == 0);
	CHECK(strcmp(rule("joe@1.2.3.4:deny", 1), "joe@1.2.3.4=D0|") == 0);
	rule("# comment:allow", 0);
	rule("\n", 0);
	rule("nocolon", 0);
	rule("", 0);
	rule("1.2.3.4:permit", -1);
	rule("1.2.3.4:allowx", -1);
	rule("1.2.3.4:allow,A", -1);
	rule("1.2.3.4:allow,A=", -1);
	rule("1.2.3.4:allow,A=\"unterminated", -1);
}

/* tcprules exits 100 on "1.2.3.x-5": the line parses, the range does not. */
static void
test_bad_range(void)
{
	struct tcprules_rule *r = malloc(sizeof(*r));
	const char *why = NULL;

	CHECK(tcprules_parse("1.2.3.x-5:allow", 15, r, &why) == 1);
	CHECK(tcprules_keys(r, collect, NULL, &why) == -1 && why != NULL);
	free(r);
}

static void
test_tcp_values(void)
{
	char buf[64];
	int n = tcprules_relay_value("", buf, sizeof(buf));

	CHECK(n == 14 && memcmp(buf, "+RELAYCLIENT=\0", 14) == 0);
	n = tcprules_relay_value("@fix.me", buf, sizeof(buf));
	CHECK(n == 21 && memcmp(buf, "+RELAYCLIENT=@fix.me\0", 21) == 0);
	CHECK(tcprules_relay_value("", buf, 13) == -1);
	CHECK(tcprules_data_is_deny("D\0+X=1\0", 7));
	CHECK(!tcprules_data_is_deny("+D=1\0", 5));
	CHECK(!tcprules_data_is_deny("", 0));
	CHECK(tcprules_data_has_var("D\0+RELAYCLIENT=\0", 16, "RELAYCLIENT"));
	CHECK(!tcprules_data_has_var("+RELAYCLIENTX=\0", 15, "RELAYCLIENT"));
	CHECK(!tcprules_data_has_var("+RBLSMTPD=\0", 11, "RELAYCLIENT"));
}

int
main(void)
{
	test_format();
	test_parse_rejects();
	test_meta_and_active();
	test_lookup();
	test_tcprules();
	test_bad_range();
	test_tcp_values();
	return harness_done();
}
