/* config.c - authrelay.conf: one table of keys shared by every program. */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

enum config_type { T_STR, T_DURATION, T_COUNT, T_BOOL, T_LIST, T_CIDRS };

struct config_key {
	const char *name;
	enum config_type type;
	const char *def;
	size_t offset;
	int64_t min_ms, max_ms;	/* T_DURATION: the sane range, inclusive */
	const char *range;	/* ... as the message and the man page say it */
};

#define KEY(n, t, d) { #n, t, d, offsetof(struct config, n), 0, 0, NULL }
/* A duration whose bounds its own module checks (retention.c: audit_*). */
#define KEYAS(n, field, t, d) { n, t, d, offsetof(struct config, field), 0, 0, NULL }
#define DURATION(n, field, d, lo, lo_ms, hi, hi_ms) \
	{ n, T_DURATION, d, offsetof(struct config, field), lo_ms, hi_ms, \
	  "out of range (want " lo " to " hi ")" }
#define SEC INT64_C(1000)
#define MINUTE (60 * SEC)
#define HOUR (60 * MINUTE)
#define DAY (24 * HOUR)

/* Every key, with its default; etc/authrelay.conf shows the same. */
static const struct config_key config_keys[] = {
	KEY(fifo, T_STR, "/run/authrelay/fifo"),
	KEY(confirm, T_BOOL, "no"),
	KEY(confirm_journal, T_STR, "/var/lib/authrelay/omprog.journal"),
	KEY(input_format, T_STR, "syslog"),
	KEY(parsers, T_STR, CONFIG_DEFAULT_PARSERS),
	KEY(enable, T_LIST, "all"),
	KEY(services, T_LIST, "pop3 pop3s imap imaps"),
	KEY(never_relay, T_CIDRS,
	    "0.0.0.0/8 127.0.0.0/8 169.254.0.0/16 224.0.0.0/4 "
	    "255.255.255.255/32 ::/128 ::1/128 fe80::/10 ff00::/8"),
	KEY(database, T_STR, ""),
	DURATION("expire", expire_ms, "30m", "1s", SEC, "7d", 7 * DAY),
	DURATION("sweep_interval", sweep_interval_ms, "60s", "100ms", 100,
	    "1d", DAY),
	KEY(queue_max, T_COUNT, "10000"),
	KEY(batch_max, T_COUNT, "5000"),
	KEY(user, T_STR, "authrelay"),
	KEY(pidfile, T_STR, "/run/authrelay/authrelayd.pid"),
	KEY(on_change, T_STR, ""),
	KEYAS("audit_keep", audit_keep_ms, T_DURATION, "90d"),
	KEYAS("audit_interval", audit_interval_ms, T_DURATION, "1h"),
	KEY(metrics_file, T_STR, ""),
	KEY(cdb_file, T_STR, ""),
	DURATION("cdb_interval", cdb_interval_ms, "100ms", "1ms", 1, "1h", HOUR),
	DURATION("cdb_max_age", cdb_max_age_ms, "10m", "1s", SEC, "7d", 7 * DAY),
	KEY(tcp_rules, T_STR, ""),
	KEY(tcp_cdb, T_STR, ""),
	KEY(postfix_map, T_STR, ""),
	KEY(lookup, T_LIST, "cdb"),
	KEY(lookup_database, T_STR, ""),
	DURATION("lookup_deadline", lookup_deadline_ms, "200ms", "1ms", 1,
	    "60s", MINUTE),
	KEY(relayclient, T_STR, ""),
	KEY(relayuser, T_BOOL, "no"),
	KEY(require_trusted, T_BOOL, "no"),
	KEY(trusted_uids, T_LIST, ""),
	DURATION("max_clock_skew", max_clock_skew_ms, "5m", "1s", SEC,
	    "1d", DAY),
};
#define NKEYS (sizeof(config_keys) / sizeof(config_keys[0]))

static void *
field(struct config *cfg, const struct config_key *k)
{
	return (char *)cfg + k->offset;
}

int64_t
config_parse_duration(const char *s)
{
	static const struct { const char *unit; int64_t ms; } units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "", 1000 }, { "m", 60000 },
		{ "h", 3600000 }, { "d", 86400000 },
	};
	int64_t value = 0;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		if (value > INT64_C(1000000000))
			return -1;
		value = value * 10 + (*p - '0');
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(p, units[i].unit) == 0)
			return value * units[i].ms;
	return -1;
}

static int
parse_count(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0)
		return -1;
	*out = v;
	return 0;
}

static int
parse_bool(const char *s, int *out)
{
	if (strcmp(s, "yes") == 0 || strcmp(s, "on") == 0 ||
	    strcmp(s, "true") == 0 || strcmp(s, "1") == 0)
		*out = 1;
	else if (strcmp(s, "no") == 0 || strcmp(s, "off") == 0 ||
	    strcmp(s, "false") == 0 || strcmp(s, "0") == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

static void
list_free(struct config_list *list)
{
	for (size_t i = 0; i < list->count; i++)
		free(list->items[i]);
	free(list->items);
	list->items = NULL;
	list->count = 0;
}

static int
is_sep(char c)
{
	return c == ',' || isspace((unsigned char)c);
}

/* Split value on commas and blanks; words must be printable ASCII. */
static int
parse_list(const char *s, struct config_list *out, const char **why_r)
{
	struct config_list list = { NULL, 0 };
	size_t cap = 0;

	while (*s != '\0') {
		size_t len = 0;
		char **grown = list.items;

		while (is_sep(*s))
			s++;
		while (s[len] != '\0' && !is_sep(s[len]))
			len++;
		if (len == 0)
			break;
		for (size_t i = 0; i < len; i++) {
			if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e) {
				list_free(&list);
				*why_r = "list items must be printable ASCII";
				return -1;
			}
		}
		/* Doubling: a long list must not cost a copy per word. */
		if (list.count == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			grown = realloc(list.items, cap * sizeof(char *));
		}
		if (grown == NULL || (grown[list.count] = strndup(s, len)) == NULL) {
			list.items = grown != NULL ? grown : list.items;
			list_free(&list);
			*why_r = "out of memory";
			return -1;
		}
		list.items = grown;
		list.count++;
		s += len;
	}
	list_free(out);
	*out = list;
	return 0;
}

static int
parse_cidrs(const char *s, struct config_cidrs *out, const char **why_r)
{
	struct config_list words = { NULL, 0 };
	struct ipcidr *items;

	if (parse_list(s, &words, why_r) < 0)
		return -1;
	if (words.count > CONFIG_NETWORKS_MAX) {
		list_free(&words);
		*why_r = "too many networks (at most 1024)";
		return -1;
	}
	items = calloc(words.count + 1, sizeof(*items));
	if (items == NULL) {
		list_free(&words);
		*why_r = "out of memory";
		return -1;
	}
	for (size_t i = 0; i < words.count; i++) {
		if (ipaddr_parse_cidr(words.items[i], strlen(words.items[i]),
		    &items[i], why_r) < 0) {
			free(items);
			list_free(&words);
			return -1;
		}
	}
	free(out->items);
	out->items = items;
	out->count = words.count;
	list_free(&words);
	return 0;
}

/* Set one key from its text value; *why_r says what is wrong. */
static int
set_value(struct config *cfg, const struct config_key *k, const char *value,
    const char **why_r)
{
	void *p = field(cfg, k);
	int64_t n;
	char *copy;

	switch (k->type) {
	case T_STR:
		if ((copy = strdup(value)) == NULL) {
			*why_r = "out of memory";
			return -1;
		}
		free(*(char **)p);
		*(char **)p = copy;
		return 0;
	case T_DURATION:
		if ((n = config_parse_duration(value)) < 0) {
			*why_r = "bad duration (want a number with ms, s, m, h or d)";
			return -1;
		}
		if (k->range != NULL && (n < k->min_ms || n > k->max_ms)) {
			*why_r = k->range;
			return -1;
		}
		*(int64_t *)p = n;
		return 0;
	case T_COUNT:
		if (parse_count(value, &n) < 0) {
			*why_r = "bad number";
			return -1;
		}
		*(int64_t *)p = n;
		return 0;
	case T_BOOL:
		if (parse_bool(value, (int *)p) < 0) {
			*why_r = "bad boolean (want yes or no)";
			return -1;
		}
		return 0;
	case T_LIST:
		return parse_list(value, p, why_r);
	case T_CIDRS:
		return parse_cidrs(value, p, why_r);
	}
	*why_r = "internal error";
	return -1;
}

static const struct config_key *
find_key(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(config_keys[i].name, name) == 0)
			return &config_keys[i];
	return NULL;
}

void
config_defaults(struct config *cfg)
{
	const char *why;

	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < NKEYS; i++)
		if (set_value(cfg, &config_keys[i], config_keys[i].def, &why) < 0)
			abort();	/* a bad built-in default is a bug */
}

static char *
trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* One "name = value" line; returns 0 or -1 with *why_r. */
static int
parse_line(struct config *cfg, char *line, const char **why_r)
{
	char *eq, *name, *value, *hash;
	const struct config_key *k;

	if ((hash = strchr(line, '#')) != NULL)
		*hash = '\0';
	line = trim(line);
	if (*line == '\0')
		return 0;
	if ((eq = strchr(line, '=')) == NULL) {
		*why_r = "expected 'name = value'";
		return -1;
	}
	*eq = '\0';
	name = trim(line);
	value = trim(eq + 1);
	if ((k = find_key(name)) == NULL) {
		*why_r = "unknown key";
		return -1;
	}
	if (strlen(value) > CONFIG_VALUE_MAX) {
		*why_r = "value too long";
		return -1;
	}
	return set_value(cfg, k, value, why_r);
}

int
config_load(const char *path, int missing_ok, struct config *cfg,
    char error_r[CONFIG_ERROR_MAX])
{
	FILE *f;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned lineno = 0;
	const char *why;

	config_defaults(cfg);
	if ((f = fopen(path, "re")) == NULL) {
		if (missing_ok && errno == ENOENT)
			return 0;
		snprintf(error_r, CONFIG_ERROR_MAX, "%s: %s", path,
		    strerror(errno));
		config_free(cfg);
		return -1;
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		char name[64];

		lineno++;
		if ((size_t)len != strlen(line)) {
			why = "NUL byte in line";
			goto bad;
		}
		if ((size_t)len - (line[len - 1] == '\n') > CONFIG_LINE_MAX) {
			why = "line too long";
			goto bad;
		}
		/* The key's name, for the message, before parse_line cuts the line. */
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(line, "=#\n"), line);
		if (parse_line(cfg, line, &why) < 0) {
			snprintf(error_r, CONFIG_ERROR_MAX, "%s:%u: %s: %s", path,
			    lineno, trim(name), why);
			goto fail;
		}
	}
	free(line);
	fclose(f);
	return 0;
bad:
	snprintf(error_r, CONFIG_ERROR_MAX, "%s:%u: %s", path, lineno, why);
fail:
	free(line);
	fclose(f);
	config_free(cfg);
	return -1;
}

void
config_free(struct config *cfg)
{
	for (size_t i = 0; i < NKEYS; i++) {
		void *p = field(cfg, &config_keys[i]);

		switch (config_keys[i].type) {
		case T_STR:
			free(*(char **)p);
			*(char **)p = NULL;
			break;
		case T_LIST:
			list_free(p);
			break;
		case T_CIDRS:
			free(((struct config_cidrs *)p)->items);
			((struct config_cidrs *)p)->items = NULL;
			((struct config_cidrs *)p)->count = 0;
			break;
		default:
			break;
		}
	}
}

const char *
config_path(const char *from_option)
{
	const char *env;

	if (from_option != NULL)
		return from_option;
	env = getenv("AUTHRELAY_CONF");
	return env != NULL && *env != '\0' ? env : CONFIG_DEFAULT_PATH;
}

int
config_list_has(const struct config_list *list, const char *word)
{
	for (size_t i = 0; i < list->count; i++)
		if (strcmp(list->items[i], word) == 0)
			return 1;
	return 0;
}

int
config_never_relay(const struct config *cfg, const struct ipaddr *addr,
    const char **why_r)
{
	if (ipaddr_is_special(addr, why_r))
		return 1;
	for (size_t i = 0; i < cfg->never_relay.count; i++) {
		if (ipaddr_in_cidr(addr, &cfg->never_relay.items[i])) {
			*why_r = "never_relay";
			return 1;
		}
	}
	return 0;
}

static void
dump_duration(FILE *f, int64_t ms)
{
	if (ms % 86400000 == 0 && ms != 0)
		fprintf(f, "%lldd", (long long)(ms / 86400000));
	else if (ms % 3600000 == 0 && ms != 0)
		fprintf(f, "%lldh", (long long)(ms / 3600000));
	else if (ms % 60000 == 0 && ms != 0)
		fprintf(f, "%lldm", (long long)(ms / 60000));
	else if (ms % 1000 == 0)
		fprintf(f, "%llds", (long long)(ms / 1000));
	else
		fprintf(f, "%lldms", (long long)ms);
}

void
config_dump(const struct config *cfg, void *stdio_file)
{
	FILE *f = stdio_file;

	for (size_t i = 0; i < NKEYS; i++) {
		const struct config_key *k = &config_keys[i];
		const void *p = (const char *)cfg + k->offset;
		char text[IPADDR_TEXT_MAX];

		fprintf(f, "%s =", k->name);
		switch (k->type) {
		case T_STR:
			if (**(char *const *)p != '\0')
				fprintf(f, " %s", *(char *const *)p);
			break;
		case T_DURATION:
			fputc(' ', f);
			dump_duration(f, *(const int64_t *)p);
			break;
		case T_COUNT:
			fprintf(f, " %lld", (long long)*(const int64_t *)p);
			break;
		case T_BOOL:
			fprintf(f, " %s", *(const int *)p ? "yes" : "no");
			break;
		case T_LIST:
			for (size_t j = 0; j < ((const struct config_list *)p)->count; j++)
				fprintf(f, " %s", ((const struct config_list *)p)->items[j]);
			break;
		case T_CIDRS:
			for (size_t j = 0; j < ((const struct config_cidrs *)p)->count; j++) {
				const struct ipcidr *c = &((const struct config_cidrs *)p)->items[j];
				ipaddr_format(&c->addr, text);
				fprintf(f, " %s/%d", text, c->prefix);
			}
			break;
		}
		fputc('\n', f);
	}
}

int
config_writes_snapshot(const struct config *cfg)
{
	return cfg->cdb_file[0] != '\0' || cfg->tcp_cdb[0] != '\0' ||
	    cfg->postfix_map[0] != '\0';
}
