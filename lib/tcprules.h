/* tcprules.h - tcpserver's rules: the tcprules source syntax, its cdb layout and lookup order. */
#ifndef AUTHRELAY_TCPRULES_H
#define AUTHRELAY_TCPRULES_H

#include <stddef.h>

/*
 * tcpserver -x cdbs, in ucspi-tcp 0.88's layout (tcprules.c, rules.c):
 *   key   = address text exactly as written ("1.2.3.4", "1.2.3.", "",
 *           "=host", "info@1.2.3.4"); ranges "1.2.3.4-9" expand to
 *           one key per number
 *   value = "D\0" for deny, then "+NAME=value\0" per variable
 * tcpserver takes the first record of a key, so rules added first win.
 */
#define TCPRULES_LINE_MAX 4096		/* longest tcprules line accepted */

struct tcprules_rule {
	char address[TCPRULES_LINE_MAX];
	size_t address_len;
	char data[TCPRULES_LINE_MAX];
	size_t data_len;
};

/*
 * Parse one tcprules line (with or without its newline) the way
 * tcprules 0.88 does. Returns 1 with *r_r filled, 0 for a line that
 * tcprules ignores (comment, blank, no colon), -1 with *error_r for a
 * line tcprules rejects.
 */
int tcprules_parse(const char *line, size_t len,
    struct tcprules_rule *r_r, const char **error_r);

/* Called once per key a rule produces; nonzero return stops the walk. */
typedef int tcprules_key_fn(void *ctx, const char *key, size_t klen,
    const char *data, size_t dlen);

/*
 * Call fn for every key of rule r, expanding a range as tcprules does.
 * Returns fn's nonzero result, 0 when done, or -1 with *error_r for a
 * malformed range.
 */
int tcprules_keys(const struct tcprules_rule *r, tcprules_key_fn *fn,
    void *ctx, const char **error_r);

/* Value of a relay's allow rule: "+RELAYCLIENT=<relayclient>\0". */
int tcprules_relay_value(const char *relayclient, char *out, size_t outlen);

/* Does tcprules data (as above) say deny? Does it set variable name? */
int tcprules_data_is_deny(const char *data, size_t len);
int tcprules_data_has_var(const char *data, size_t len, const char *name);


/*
 * The static rules of a tcprules source file, kept in memory so that a
 * relay's record can be merged the way tcpserver would decide.
 */
struct tcprules_key {
	char *key;
	size_t klen;
	char *data;
	size_t dlen;
	size_t order;		/* position in the file: first one wins */
};

struct tcprules_table {
	struct tcprules_key *items;
	size_t count, cap;
};

/*
 * Read path (tcprules syntax) into t, calling fn (may be NULL) for each
 * key in file order as well. 0, or -1 with "path:line: what" in err.
 */
int tcprules_load(const char *path, struct tcprules_table *t,
    tcprules_key_fn *fn, void *ctx, char *err, size_t errlen);
void tcprules_free(struct tcprules_table *t);

/* First static record for key, as tcpserver's cdb_find would see it. */
const struct tcprules_key *tcprules_find(const struct tcprules_table *t,
    const char *key, size_t klen);

/*
 * What a relay for ip gets in the merged tcp cdb: 1 with the value in
 * out, 0 when a static rule decides (the same key, a prefix that
 * denies, or a prefix that already relays), -1 when out is too small.
 * A matching allow prefix's variables are kept.
 */
int tcprules_relay_record(const struct tcprules_table *t, const char *ip,
    const char *relayclient, char *out, size_t outlen, size_t *len_r);

#endif
