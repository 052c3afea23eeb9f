/* rules.c - parser families: tag dispatch, anchored PCRE2 rules, samples. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <dirent.h>
#include <errno.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "syslog.h"
#include "utf8.h"

/* Enough for any sane rule; a pathological line fails fast, not slowly. */
#define RULES_MATCH_LIMIT 100000
#define RULES_DEPTH_LIMIT 2000
#define RULES_FAMILIES_PER_TAG 8
#define RULES_FAMILY_MAX 64

struct rule {
	char name[RULES_NAME_MAX + 1];
	unsigned line;
	pcre2_code *code;
	int g_user, g_ip, g_service;	/* group numbers; g_service may be -1 */
	unsigned hits;			/* samples expecting this rule */
};

struct sample {
	unsigned line;		/* of the sample keyword */
	char *expect_rule;	/* NULL: expect none */
	char *service, *user, *ip;	/* expected values, NULL = unchecked */
	char *text;
};

struct family {
	char name[RULES_NAME_MAX + 1];
	char *path;
	struct rule *rules;
	size_t nrules;
	struct sample *samples;
	size_t nsamples;
	int has_tag;
};

struct tagref {
	size_t family;
	char service[RULES_SERVICE_MAX + 1];	/* "" = from the rule */
};

struct tagentry {
	char tag[SYSLOG_TAG_MAX + 1];
	size_t len;
	struct tagref refs[RULES_FAMILIES_PER_TAG];
	size_t nrefs;
};

struct rules {
	struct family *families;
	size_t nfamilies;
	struct tagentry *table;		/* open addressing, size a power of 2 */
	size_t table_size;
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	int naive;
};

/* State while reading one file. */
struct loader {
	struct rules *rules;
	struct family *fam;
	const char *path;
	unsigned line;
	struct sample pending;	/* expectation waiting for its sample */
	int have_pending;
	char *error;
};

static int
load_error(struct loader *ld, const char *fmt, ...)
{
	char what[RULES_ERROR_MAX / 2];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(ld->error, RULES_ERROR_MAX, "%s:%u: %s", ld->path, ld->line,
	    what);
	return -1;
}

static uint32_t
tag_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	return h;
}

static struct tagentry *
tag_find(const struct rules *r, const char *tag, size_t len, int *free_r)
{
	size_t mask = r->table_size - 1;
	size_t i = tag_hash(tag, len) & mask;

	for (;; i = (i + 1) & mask) {
		struct tagentry *e = &r->table[i];

		if (e->len == 0) {
			*free_r = 1;
			return e;
		}
		if (e->len == len && memcmp(e->tag, tag, len) == 0) {
			*free_r = 0;
			return e;
		}
	}
}

static int
valid_service(const char *s, size_t len)
{
	if (len == 0 || len > RULES_SERVICE_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' &&
		    s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

/* "tag NAME [service=SVC]" */
static int
parse_tag(struct loader *ld, char *rest)
{
	char *name = strtok(rest, " \t"), *opt = strtok(NULL, " \t");
	struct tagentry *e;
	struct tagref *ref;
	int is_free;

	if (name == NULL)
		return load_error(ld, "tag: missing name");
	if (strlen(name) > SYSLOG_TAG_MAX || strpbrk(name, "[:") != NULL)
		return load_error(ld, "tag: bad name '%s'", name);
	if (strtok(NULL, " \t") != NULL)
		return load_error(ld, "tag: too many fields");
	if (opt != NULL && (strncmp(opt, "service=", 8) != 0 ||
	    !valid_service(opt + 8, strlen(opt + 8))))
		return load_error(ld, "tag: want service=NAME (a-z0-9-), got '%s'",
		    opt);
	e = tag_find(ld->rules, name, strlen(name), &is_free);
	if (is_free) {
		memcpy(e->tag, name, strlen(name) + 1);
		e->len = strlen(name);
	}
	for (size_t i = 0; i < e->nrefs; i++)
		if (e->refs[i].family == (size_t)(ld->fam - ld->rules->families))
			return load_error(ld, "tag: duplicate tag '%s'", name);
	if (e->nrefs == RULES_FAMILIES_PER_TAG)
		return load_error(ld, "tag: too many families share '%s'", name);
	ref = &e->refs[e->nrefs++];
	ref->family = (size_t)(ld->fam - ld->rules->families);
	snprintf(ref->service, sizeof(ref->service), "%s",
	    opt != NULL ? opt + 8 : "");
	ld->fam->has_tag = 1;
	return 0;
}

static int
group_number(pcre2_code *code, const char *name)
{
	return pcre2_substring_number_from_name(code, (PCRE2_SPTR)name);
}

/* "rule NAME REGEX" */
static int
parse_rule(struct loader *ld, char *rest)
{
	struct family *f = ld->fam;
	size_t nlen = strcspn(rest, " \t");
	char *pattern = rest + nlen;
	size_t plen;
	struct rule *grown, *r;
	int errcode;
	PCRE2_SIZE erroff;

	while (*pattern == ' ' || *pattern == '\t')
		pattern++;
	plen = strlen(pattern);
	if (nlen == 0 || nlen > RULES_NAME_MAX || *pattern == '\0')
		return load_error(ld, "rule: want 'rule NAME REGEX'");
	rest[nlen] = '\0';
	if (strcmp(rest, "none") == 0)
		return load_error(ld, "rule: 'none' is reserved");
	for (size_t i = 0; i < f->nrules; i++)
		if (strcmp(f->rules[i].name, rest) == 0)
			return load_error(ld, "rule: duplicate name '%s'", rest);
	if (pattern[0] != '^' || pattern[plen - 1] != '$' ||
	    (plen >= 2 && pattern[plen - 2] == '\\'))
		return load_error(ld, "rule %s: regex must start with ^ and end with $",
		    rest);
	grown = realloc(f->rules, (f->nrules + 1) * sizeof(*grown));
	if (grown == NULL)
		return load_error(ld, "out of memory");
	f->rules = grown;
	r = &f->rules[f->nrules];
	memset(r, 0, sizeof(*r));
	memcpy(r->name, rest, nlen + 1);
	r->line = ld->line;
	/*
	 * Anchored at both ends by the engine too: "^a|b$" cannot slip.
	 * The benchmark's naive baseline searches whole lines instead, as a
	 * watcher without header split and tag dispatch has to.
	 */
	if (ld->rules->naive)
		r->code = pcre2_compile((PCRE2_SPTR)pattern + 1, plen - 1,
		    PCRE2_ENDANCHORED | PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_UTF,
		    &errcode, &erroff, NULL);
	else
		r->code = pcre2_compile((PCRE2_SPTR)pattern, plen,
		    PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_DOLLAR_ENDONLY |
		    PCRE2_NEVER_UTF | PCRE2_NEVER_UCP | PCRE2_NEVER_BACKSLASH_C,
		    &errcode, &erroff, NULL);
	if (r->code == NULL) {
		PCRE2_UCHAR msg[256];

		pcre2_get_error_message(errcode, msg, sizeof(msg));
		return load_error(ld, "rule %s: regex error at offset %zu: %s",
		    r->name, (size_t)erroff, (char *)msg);
	}
	f->nrules++;
	r->g_user = group_number(r->code, "user");
	r->g_ip = group_number(r->code, "ip");
	r->g_service = group_number(r->code, "service");
	if (r->g_user < 0 || r->g_ip < 0)
		return load_error(ld, "rule %s: needs named groups (?<user>...) and (?<ip>...)",
		    r->name);
	if (!ld->rules->naive)
		(void)pcre2_jit_compile(r->code, PCRE2_JIT_COMPLETE);
	return 0;
}

static void
sample_free(struct sample *s)
{
	free(s->expect_rule);
	free(s->service);
	free(s->user);
	free(s->ip);
	free(s->text);
	memset(s, 0, sizeof(*s));
}

/* "expect none" or "expect RULE key=value..." */
static int
parse_expect(struct loader *ld, char *rest)
{
	struct sample *s = &ld->pending;
	char *word = strtok(rest, " \t");

	if (ld->have_pending)
		return load_error(ld, "expect: previous expect has no sample");
	if (word == NULL)
		return load_error(ld, "expect: want 'none' or a rule name");
	memset(s, 0, sizeof(*s));
	ld->have_pending = 1;
	if (strcmp(word, "none") == 0)
		return strtok(NULL, " \t") == NULL ? 0 :
		    load_error(ld, "expect none: takes no fields");
	s->expect_rule = strdup(word);
	while ((word = strtok(NULL, " \t")) != NULL) {
		char **slot = NULL;

		if (strncmp(word, "service=", 8) == 0)
			slot = &s->service;
		else if (strncmp(word, "user=", 5) == 0)
			slot = &s->user;
		else if (strncmp(word, "ip=", 3) == 0)
			slot = &s->ip;
		if (slot == NULL || *slot != NULL)
			return load_error(ld, "expect: bad or repeated field '%s'",
			    word);
		*slot = strdup(strchr(word, '=') + 1);
	}
	return 0;
}

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * xsample text in place: "\xHH" is one byte (not 00), "\\" one
 * backslash, any other backslash an error. Lets a file hold invalid
 * UTF-8 and control bytes as printable text.
 */
static int
unescape_sample(struct loader *ld, char *text)
{
	char *in = text, *out = text;

	while (*in != '\0') {
		int hi, lo;

		if (*in != '\\') {
			*out++ = *in++;
			continue;
		}
		if (in[1] == '\\') {
			*out++ = '\\';
			in += 2;
			continue;
		}
		if (in[1] != 'x' || (hi = hex_digit(in[2])) < 0 ||
		    (lo = hex_digit(in[3])) < 0 || (hi == 0 && lo == 0))
			return load_error(ld, "xsample: want \\xHH (not \\x00) or \\\\ at offset %zu",
			    (size_t)(in - text));
		*out++ = (char)(hi * 16 + lo);
		in += 4;
	}
	*out = '\0';
	return 0;
}

static int
parse_sample(struct loader *ld, char *rest, int escaped)
{
	struct family *f = ld->fam;
	struct sample *grown;

	if (!ld->have_pending)
		return load_error(ld, "sample: no expect line before it");
	if (escaped && unescape_sample(ld, rest) < 0)
		return -1;
	grown = realloc(f->samples, (f->nsamples + 1) * sizeof(*grown));
	if (grown == NULL)
		return load_error(ld, "out of memory");
	f->samples = grown;
	ld->pending.line = ld->line;
	ld->pending.text = strdup(rest);
	f->samples[f->nsamples++] = ld->pending;
	ld->have_pending = 0;
	return 0;
}

static int
parse_line(struct loader *ld, char *line)
{
	size_t klen = strcspn(line, " \t");
	char *rest = line + klen;

	if (line[0] == '#' || line[strspn(line, " \t")] == '\0')
		return 0;
	if (*rest != '\0')
		*rest++ = '\0';
	while (*rest == ' ' || *rest == '\t')
		rest++;
	if (strcmp(line, "tag") == 0)
		return parse_tag(ld, rest);
	if (strcmp(line, "rule") == 0)
		return parse_rule(ld, rest);
	if (strcmp(line, "expect") == 0)
		return parse_expect(ld, rest);
	if (strcmp(line, "sample") == 0)
		return parse_sample(ld, rest, 0);
	if (strcmp(line, "xsample") == 0)
		return parse_sample(ld, rest, 1);
	return load_error(ld, "unknown keyword '%s'", line);
}

/* After a file: samples name existing rules, every rule has a tag path. */
static int
check_family(struct loader *ld)
{
	struct family *f = ld->fam;

	if (ld->have_pending)
		return load_error(ld, "expect at end of file has no sample");
	if (!f->has_tag)
		return load_error(ld, "no tag line");
	if (f->nrules == 0)
		return load_error(ld, "no rule line");
	for (size_t i = 0; i < f->nsamples; i++) {
		struct sample *s = &f->samples[i];
		size_t j;

		if (s->expect_rule == NULL)
			continue;
		for (j = 0; j < f->nrules; j++)
			if (strcmp(f->rules[j].name, s->expect_rule) == 0)
				break;
		if (j == f->nrules) {
			ld->line = s->line;
			return load_error(ld, "expect names unknown rule '%s'",
			    s->expect_rule);
		}
	}
	return 0;
}

static int
load_file(struct rules *r, const char *dir, const char *fname, char *error)
{
	struct loader ld = { .rules = r, .error = error };
	struct family *f = &r->families[r->nfamilies];
	size_t plen = strlen(dir) + strlen(fname) + 2;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *fp;
	int rc = 0;

	memset(f, 0, sizeof(*f));
	if ((f->path = malloc(plen)) == NULL)
		return -1;
	snprintf(f->path, plen, "%s/%s", dir, fname);
	snprintf(f->name, sizeof(f->name), "%.*s",
	    (int)(strlen(fname) - strlen(".conf")), fname);
	r->nfamilies++;
	ld.fam = f;
	ld.path = f->path;
	if ((fp = fopen(f->path, "re")) == NULL) {
		snprintf(error, RULES_ERROR_MAX, "%s: %s", f->path, strerror(errno));
		return -1;
	}
	while (rc == 0 && (len = getline(&line, &cap, fp)) >= 0) {
		ld.line++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if ((size_t)len != strlen(line))
			rc = load_error(&ld, "NUL byte in line");
		else
			rc = parse_line(&ld, line);
	}
	free(line);
	fclose(fp);
	if (rc == 0)
		rc = check_family(&ld);
	if (ld.have_pending)
		sample_free(&ld.pending);
	return rc;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
wanted(const struct config_list *enable, const char *fname)
{
	char family[RULES_NAME_MAX + 1];

	if (enable == NULL || config_list_has(enable, "all"))
		return 1;
	snprintf(family, sizeof(family), "%.*s",
	    (int)(strlen(fname) - strlen(".conf")), fname);
	return config_list_has(enable, family);
}

/* The *.conf names in dir, sorted; NULL-terminated. */
static char **
list_files(const char *dir, const struct config_list *enable, size_t *n_r,
    char *error)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;

	if (d == NULL) {
		snprintf(error, RULES_ERROR_MAX, "%s: %s", dir, strerror(errno));
		return NULL;
	}
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		char **grown;

		if (len <= 5 || strcmp(de->d_name + len - 5, ".conf") != 0 ||
		    de->d_name[0] == '.' || len - 5 > RULES_NAME_MAX ||
		    !wanted(enable, de->d_name))
			continue;
		if ((grown = realloc(names, (n + 2) * sizeof(*names))) == NULL)
			break;
		names = grown;
		names[n++] = strdup(de->d_name);
		names[n] = NULL;
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), name_cmp);
	*n_r = n;
	return names;
}

static void
free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

struct rules *
rules_load(const char *dir, const struct config_list *enable, int naive,
    char error_r[RULES_ERROR_MAX])
{
	struct rules *r = calloc(1, sizeof(*r));
	size_t n = 0;
	char **names;
	int rc = 0;

	error_r[0] = '\0';
	if (r == NULL)
		return NULL;
	r->naive = naive;
	if ((names = list_files(dir, enable, &n, error_r)) == NULL || n == 0) {
		if (error_r[0] == '\0')
			snprintf(error_r, RULES_ERROR_MAX,
			    "%s: no parser files (*.conf) enabled", dir);
		free_names(names, n);
		rules_free(r);
		return NULL;
	}
	if (n > RULES_FAMILY_MAX)
		n = RULES_FAMILY_MAX;
	r->families = calloc(n, sizeof(*r->families));
	r->table_size = 1024;
	r->table = calloc(r->table_size, sizeof(*r->table));
	r->md = pcre2_match_data_create(64, NULL);
	r->mctx = pcre2_match_context_create(NULL);
	if (r->families == NULL || r->table == NULL || r->md == NULL ||
	    r->mctx == NULL) {
		snprintf(error_r, RULES_ERROR_MAX, "out of memory");
		rc = -1;
	}
	if (rc == 0) {
		pcre2_set_match_limit(r->mctx, RULES_MATCH_LIMIT);
		pcre2_set_depth_limit(r->mctx, RULES_DEPTH_LIMIT);
	}
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = load_file(r, dir, names[i], error_r);
	free_names(names, n);
	if (rc < 0) {
		rules_free(r);
		return NULL;
	}
	return r;
}

void
rules_free(struct rules *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->nfamilies; i++) {
		struct family *f = &r->families[i];

		for (size_t j = 0; j < f->nrules; j++)
			pcre2_code_free(f->rules[j].code);
		for (size_t j = 0; j < f->nsamples; j++)
			sample_free(&f->samples[j]);
		free(f->rules);
		free(f->samples);
		free(f->path);
	}
	free(r->families);
	free(r->table);
	pcre2_match_data_free(r->md);
	pcre2_match_context_free(r->mctx);
	free(r);
}

size_t
rules_family_count(const struct rules *r)
{
	return r->nfamilies;
}

const char *
rules_family_name(const struct rules *r, size_t i)
{
	return r->families[i].name;
}

/* "#" + three octal digits: rsyslog's escape of a control character. */
static int
has_rsyslog_escape(const char *s, size_t len)
{
	for (size_t i = 0; i + 3 < len; i++)
		if (s[i] == '#' && s[i + 1] >= '0' && s[i + 1] <= '3' &&
		    s[i + 2] >= '0' && s[i + 2] <= '7' &&
		    s[i + 3] >= '0' && s[i + 3] <= '7')
			return 1;
	return 0;
}

/*
 * Well-formed UTF-8 without control characters (C0, DEL, C1; inner
 * spaces allowed: some daemons accept them), no rsyslog escapes,
 * 1..255 bytes, kept as logged (no normalisation). "user%domain" and
 * "user:domain" become "user@domain".
 */
static int
take_user(const char *s, size_t len, char out[RULES_USER_MAX + 1])
{
	const char *why;
	char *sep;

	if (len == 0 || len > RULES_USER_MAX || has_rsyslog_escape(s, len) ||
	    s[0] == ' ' || s[len - 1] == ' ' || !utf8_text_ok(s, len, &why))
		return -1;
	memcpy(out, s, len);
	out[len] = '\0';
	if (strchr(out, '@') == NULL && (sep = strpbrk(out, "%:")) != NULL)
		*sep = '@';
	return 0;
}

/* Validate and copy the captured groups of a successful match. */
static enum rules_verdict
extract(struct rules *r, const struct family *f, const struct rule *rule,
    const char *default_service, const char *msg, struct rules_match *m)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(r->md);
	const char *why;
	size_t slen;

	if (ov[2 * rule->g_user] == PCRE2_UNSET || ov[2 * rule->g_ip] == PCRE2_UNSET)
		return RULES_BAD_FIELD;
	if (take_user(msg + ov[2 * rule->g_user],
	    ov[2 * rule->g_user + 1] - ov[2 * rule->g_user], m->user) < 0)
		return RULES_BAD_FIELD;
	if (ipaddr_parse(msg + ov[2 * rule->g_ip],
	    ov[2 * rule->g_ip + 1] - ov[2 * rule->g_ip], &m->addr, &why) < 0)
		return RULES_BAD_FIELD;
	ipaddr_format(&m->addr, m->ip);
	if (rule->g_service >= 0 && ov[2 * rule->g_service] != PCRE2_UNSET) {
		const char *s = msg + ov[2 * rule->g_service];

		slen = ov[2 * rule->g_service + 1] - ov[2 * rule->g_service];
		if (slen > RULES_SERVICE_MAX)
			return RULES_BAD_FIELD;
		for (size_t i = 0; i < slen; i++)
			m->service[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ?
			    s[i] + 32 : s[i]);
		m->service[slen] = '\0';
	} else {
		slen = strlen(default_service);
		memcpy(m->service, default_service, slen + 1);
	}
	if (!valid_service(m->service, slen))
		return RULES_BAD_FIELD;
	m->parser = f->name;
	m->family = (size_t)(f - r->families);
	m->rule = rule->name;
	return RULES_MATCH;
}

static int
run_rule(struct rules *r, const struct rule *rule, const char *msg, size_t len)
{
	if (r->naive)
		return pcre2_match(rule->code, (PCRE2_SPTR)msg, len, 0,
		    PCRE2_NO_JIT, r->md, r->mctx);
	return pcre2_match(rule->code, (PCRE2_SPTR)msg, len, 0, 0, r->md,
	    r->mctx);
}

/* Try the rules of one family; NO_MATCH lets the next family look. */
static enum rules_verdict
match_family(struct rules *r, const struct family *f, const char *service,
    const struct syslog_line *sl, struct rules_match *m)
{
	for (size_t i = 0; i < f->nrules; i++) {
		int rc = run_rule(r, &f->rules[i], sl->msg, sl->msg_len);

		if (rc > 0)
			return extract(r, f, &f->rules[i], service, sl->msg, m);
		if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
		    rc == PCRE2_ERROR_JIT_STACKLIMIT || rc == PCRE2_ERROR_HEAPLIMIT)
			return RULES_LIMIT;
	}
	return RULES_NO_MATCH;
}

/*
 * The benchmark's baseline, never used to grant: every rule of every
 * family searched over the whole line, no JIT, no header split.
 */
static enum rules_verdict
match_naive(struct rules *r, const char *line, size_t len, struct rules_match *m)
{
	struct syslog_line whole = { line, 0, line, len };

	for (size_t i = 0; i < r->nfamilies; i++) {
		enum rules_verdict v = match_family(r, &r->families[i], "pop3",
		    &whole, m);

		if (v != RULES_NO_MATCH)
			return v;
	}
	return RULES_NO_MATCH;
}

enum rules_verdict
rules_match_line(struct rules *r, const char *line, size_t len,
    struct rules_match *m)
{
	struct syslog_line sl;
	struct tagentry *e;
	int is_free;
	enum rules_verdict v = RULES_NO_TAG;

	if (len > RULES_MSG_MAX)
		return RULES_TOO_LONG;
	if (r->naive)
		return match_naive(r, line, len, m);
	if (syslog_split(line, len, &sl) < 0)
		return RULES_NO_TAG;
	e = tag_find(r, sl.tag, sl.tag_len, &is_free);
	if (is_free)
		return RULES_NO_TAG;
	/* No rule may see a NUL: C strings downstream would be cut short. */
	if (memchr(sl.msg, '\0', sl.msg_len) != NULL)
		return RULES_BAD_FIELD;
	for (size_t i = 0; i < e->nrefs; i++) {
		v = match_family(r, &r->families[e->refs[i].family],
		    e->refs[i].service, &sl, m);
		if (v != RULES_NO_MATCH)
			return v;
	}
	return v;
}

/* Compare one sample's outcome with its expectation; 0 when right. */
static int
check_sample(struct rules *r, const struct family *f, const struct sample *s,
    FILE *report)
{
	struct rules_match m;
	enum rules_verdict v = rules_match_line(r, s->text, strlen(s->text), &m);

	if (s->expect_rule == NULL) {
		if (v != RULES_MATCH)
			return 0;
		fprintf(report, "%s:%u: expected no match, got %s/%s user=%s ip=%s\n",
		    f->path, s->line, m.parser, m.rule, m.user, m.ip);
		return 1;
	}
	if (v != RULES_MATCH) {
		fprintf(report, "%s:%u: expected %s, got no match (verdict %d)\n",
		    f->path, s->line, s->expect_rule, (int)v);
		return 1;
	}
	if (strcmp(m.parser, f->name) != 0 || strcmp(m.rule, s->expect_rule) != 0) {
		fprintf(report, "%s:%u: expected %s/%s, matched %s/%s\n", f->path,
		    s->line, f->name, s->expect_rule, m.parser, m.rule);
		return 1;
	}
	if ((s->service && strcmp(s->service, m.service) != 0) ||
	    (s->user && strcmp(s->user, m.user) != 0) ||
	    (s->ip && strcmp(s->ip, m.ip) != 0)) {
		fprintf(report, "%s:%u: fields differ: expected service=%s user=%s ip=%s, got service=%s user=%s ip=%s\n",
		    f->path, s->line, s->service ? s->service : "*",
		    s->user ? s->user : "*", s->ip ? s->ip : "*", m.service,
		    m.user, m.ip);
		return 1;
	}
	return 0;
}

/* Every rule needs a sample; every file needs near misses. */
static int
check_coverage(const struct family *f, FILE *report)
{
	int failures = 0, nones = 0;

	for (size_t i = 0; i < f->nsamples; i++)
		nones += f->samples[i].expect_rule == NULL;
	if (nones == 0) {
		fprintf(report, "%s: no 'expect none' samples (near misses)\n",
		    f->path);
		failures++;
	}
	for (size_t j = 0; j < f->nrules; j++) {
		size_t i;

		for (i = 0; i < f->nsamples; i++)
			if (f->samples[i].expect_rule != NULL &&
			    strcmp(f->samples[i].expect_rule, f->rules[j].name) == 0)
				break;
		if (i == f->nsamples) {
			fprintf(report, "%s:%u: rule %s has no sample\n", f->path,
			    f->rules[j].line, f->rules[j].name);
			failures++;
		}
	}
	return failures;
}

int
rules_run_samples(struct rules *r, FILE *report, size_t *samples_r)
{
	int failures = 0;

	*samples_r = 0;
	for (size_t i = 0; i < r->nfamilies; i++) {
		const struct family *f = &r->families[i];

		for (size_t j = 0; j < f->nsamples; j++) {
			failures += check_sample(r, f, &f->samples[j], report);
			(*samples_r)++;
		}
		failures += check_coverage(f, report);
	}
	return failures;
}
