/* ctl-parse.c - authrelayctl parse and parse-test: the parser engine from the shell. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "linebuf.h"
#include "rules.h"
#include "utf8.h"

#define PARSE_BUF_SIZE (1024 * 1024)

struct parse_stats {
	uint64_t lines;
	uint64_t matches;
	uint64_t *per_family;	/* indexed like the loaded families */
	uint64_t oversized;
};

void
ctl_json_string(void *stdio_file, const char *s)
{
	FILE *f = stdio_file;
	size_t len = strlen(s), i = 0, n;
	uint32_t cp;

	putc('"', f);
	while (i < len) {
		n = utf8_decode(s + i, len - i, &cp);
		if (n == 0) {
			/* JSON text is UTF-8: a stray byte becomes U+FFFD */
			fputs("\\ufffd", f);
			i++;
			continue;
		}
		if (cp == '"' || cp == '\\')
			fprintf(f, "\\%c", (int)cp);
		else if (utf8_is_control(cp) || cp == 0x2028 || cp == 0x2029)
			fprintf(f, "\\u%04x", (unsigned)cp);	/* 2028/9: for JS */
		else
			fwrite(s + i, 1, n, f);
		i += n;
	}
	putc('"', f);
}

static void
print_match(const struct rules_match *m, uint64_t lineno)
{
	printf("{\"line\":%llu,\"parser\":", (unsigned long long)lineno);
	ctl_json_string(stdout, m->parser);
	fputs(",\"service\":", stdout);
	ctl_json_string(stdout, m->service);
	fputs(",\"user\":", stdout);
	ctl_json_string(stdout, m->user);
	fputs(",\"ip\":", stdout);
	ctl_json_string(stdout, m->ip);
	fputs("}\n", stdout);
}

static void
handle_line(struct rules *rules, const char *line, size_t len,
    uint64_t lineno, struct parse_stats *st)
{
	struct rules_match m;

	st->lines++;
	if (rules_match_line(rules, line, len, &m) != RULES_MATCH)
		return;
	st->matches++;
	st->per_family[m.family]++;
	print_match(&m, lineno);
}

/*
 * A regular file is mapped and matched in place: no copy through read(2).
 * Returns 1 when it handled the file, 0 to fall back to reading.
 */
static int
parse_mapped(struct rules *rules, int fd, struct parse_stats *st)
{
	struct stat sb;
	const char *map, *p, *end;
	uint64_t lineno = 0;

	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size == 0)
		return 0;
	map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED)
		return 0;
	(void)madvise((void *)map, (size_t)sb.st_size, MADV_SEQUENTIAL);
	for (p = map, end = map + sb.st_size; p < end; ) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl != NULL ? nl : end) - p);

		lineno++;
		if (len > RULES_MSG_MAX * 8)
			st->oversized++;
		else
			handle_line(rules, p, len > 0 && p[len - 1] == '\r' ?
			    len - 1 : len, lineno, st);
		p += len + 1;
	}
	munmap((void *)map, (size_t)sb.st_size);
	return 1;
}

/* Parse one input; line numbers restart per input. */
static int
parse_fd(struct rules *rules, int fd, const char *name, struct parse_stats *st)
{
	struct linebuf lb;
	const char *line;
	size_t len;
	uint64_t lineno = 0;
	ssize_t n;

	if (parse_mapped(rules, fd, st))
		return 0;
	if (linebuf_init(&lb, PARSE_BUF_SIZE, RULES_MSG_MAX * 8) < 0) {
		fprintf(stderr, "authrelayctl: %s: out of memory\n", name);
		return -1;
	}
	while ((n = linebuf_fill(&lb, fd)) > 0) {
		uint64_t before = lb.oversized;

		while (linebuf_next(&lb, &line, &len)) {
			lineno += 1 + (lb.oversized - before);
			before = lb.oversized;
			handle_line(rules, line, len, lineno, st);
		}
	}
	if (n == 0 && linebuf_rest(&lb, &line, &len))
		handle_line(rules, line, len, ++lineno, st);
	st->oversized += lb.oversized;
	linebuf_free(&lb);
	if (n < 0) {
		fprintf(stderr, "authrelayctl: read %s: %s\n", name, strerror(errno));
		return -1;
	}
	return 0;
}

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
print_summary(struct rules *rules, const struct parse_stats *st, double secs)
{
	fprintf(stderr, "lines=%llu matches=%llu", (unsigned long long)st->lines,
	    (unsigned long long)st->matches);
	for (size_t i = 0; i < rules_family_count(rules); i++)
		fprintf(stderr, " %s=%llu", rules_family_name(rules, i),
		    (unsigned long long)st->per_family[i]);
	fprintf(stderr, " oversized=%llu seconds=%.3f lines_per_sec=%.0f\n",
	    (unsigned long long)st->oversized, secs,
	    secs > 0 ? (double)st->lines / secs : 0.0);
}

static struct rules *
load_or_complain(const char *dir, const struct config *cfg, int naive)
{
	char error[RULES_ERROR_MAX];
	struct rules *rules = rules_load(dir, &cfg->enable, naive, error);

	if (rules == NULL)
		fprintf(stderr, "authrelayctl: %s\n", error);
	return rules;
}

int
ctl_parse(const struct config *cfg, int argc, char **argv)
{
	const char *dir = NULL;
	struct parse_stats st = { 0 };
	struct rules *rules;
	int naive = 0, c, rc = 0;
	double start;
	static char outbuf[1 << 16];

	while ((c = getopt(argc, argv, "p:N")) != -1) {
		if (c == 'p')
			dir = optarg;
		else if (c == 'N')
			naive = 1;	/* benchmark baseline: no JIT, no dispatch */
		else
			return 2;
	}
	dir = ctl_parsers_dir(cfg, dir);
	if ((rules = load_or_complain(dir, cfg, naive)) == NULL)
		return 1;
	st.per_family = calloc(rules_family_count(rules), sizeof(uint64_t));
	setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
	start = now_seconds();
	if (optind == argc)
		rc = parse_fd(rules, STDIN_FILENO, "stdin", &st);
	for (int i = optind; i < argc && rc == 0; i++) {
		int fd = open(argv[i], O_RDONLY | O_CLOEXEC);

		if (fd < 0) {
			fprintf(stderr, "authrelayctl: %s: %s\n", argv[i],
			    strerror(errno));
			rc = -1;
			break;
		}
		rc = parse_fd(rules, fd, argv[i], &st);
		close(fd);
	}
	fflush(stdout);
	print_summary(rules, &st, now_seconds() - start);
	free(st.per_family);
	rules_free(rules);
	return rc == 0 ? 0 : 1;
}

int
ctl_parse_test(const struct config *cfg, int argc, char **argv)
{
	const char *dir = NULL;
	struct rules *rules;
	size_t samples;
	int failures, c;

	while ((c = getopt(argc, argv, "p:")) != -1) {
		if (c != 'p')
			return 2;
		dir = optarg;
	}
	dir = ctl_parsers_dir(cfg, dir);
	if ((rules = load_or_complain(dir, cfg, 0)) == NULL)
		return 1;
	failures = rules_run_samples(rules, stdout, &samples);
	printf("parse-test: %zu families, %zu samples, %d failures\n",
	    rules_family_count(rules), samples, failures);
	rules_free(rules);
	return failures == 0 ? 0 : 1;
}
