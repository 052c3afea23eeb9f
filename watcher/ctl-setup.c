/* ctl-setup.c - authrelayctl before any work: the parser directory, the password file, the syslog tags. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "pgpass.h"
#include "rules.h"

#define TAGS_MAX 1024
#define TAG_LINE_MAX 4096

int
ctl_pgpass_refused(const char *conninfo)
{
	char why[PGPASS_WHY_MAX];

	if (pgpass_check(conninfo, why) == 0)
		return 0;
	fprintf(stderr, "authrelayctl: %s\n", why);
	return 1;
}

/* Not writable by others, owned by root or by us: safe to read rules from. */
static int
safe_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode) &&
	    (st.st_mode & S_IWOTH) == 0 &&
	    (st.st_uid == 0 || st.st_uid == geteuid());
}

/*
 * The build tree this program runs from: bin/authrelayctl beside a
 * Makefile and a parsers/ folder. Its parsers directory in tree, or -1.
 */
static int
tree_parsers(char *tree, size_t treesz)
{
	char exe[PATH_MAX], probe[PATH_MAX + 16];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;
	struct stat st;

	if (n <= 0)
		return -1;
	exe[n] = '\0';
	if ((slash = strrchr(exe, '/')) == NULL)
		return -1;
	*slash = '\0';			/* .../bin */
	if ((slash = strrchr(exe, '/')) == NULL || strcmp(slash, "/bin") != 0)
		return -1;
	*slash = '\0';			/* the tree */
	snprintf(probe, sizeof(probe), "%s/Makefile", exe);
	if (stat(probe, &st) < 0 || !S_ISREG(st.st_mode) || !safe_dir(exe))
		return -1;
	if (snprintf(tree, treesz, "%s/parsers", exe) >= (int)treesz ||
	    !safe_dir(tree))
		return -1;
	return 0;
}

const char *
ctl_parsers_dir(const struct config *cfg, const char *from_option)
{
	static char tree[PATH_MAX];
	struct stat st;

	if (from_option != NULL)
		return from_option;
	if (stat(cfg->parsers, &st) == 0 || errno != ENOENT)
		return cfg->parsers;
	/* Only the compiled-in default falls back: a configured path is meant. */
	if (strcmp(cfg->parsers, CONFIG_DEFAULT_PARSERS) == 0 &&
	    tree_parsers(tree, sizeof(tree)) == 0) {
		fprintf(stderr, "authrelayctl: note: %s does not exist (not "
		    "installed); using the build tree's %s\n", cfg->parsers,
		    tree);
		return tree;
	}
	fprintf(stderr, "authrelayctl: %s does not exist: pass -p DIR (the "
	    "parsers/ folder of the source tree, or where make install put "
	    "them) or set parsers = DIR in authrelay.conf\n", cfg->parsers);
	return cfg->parsers;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Add the second word of every "tag" line of file to tags (no duplicates). */
static int
read_tags(const char *path, char **tags, size_t *n, int rsyslog)
{
	FILE *f = fopen(path, "re");
	char line[TAG_LINE_MAX];

	if (f == NULL) {
		fprintf(stderr, "authrelayctl: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *word, *save;
		size_t i;

		if (strncmp(line, "tag", 3) != 0 || (line[3] != ' ' && line[3] != '\t'))
			continue;
		if ((word = strtok_r(line + 3, " \t\r\n", &save)) == NULL)
			continue;	/* rules_load refused it already */
		/* rsyslog's programname ends at the first '/'. */
		if (rsyslog)
			word[strcspn(word, "/")] = '\0';
		for (i = 0; i < *n && strcmp(tags[i], word) != 0; i++)
			;
		if (i < *n)
			continue;
		if (*n == TAGS_MAX || (tags[*n] = strdup(word)) == NULL) {
			fprintf(stderr, "authrelayctl: %s: too many tags\n", path);
			fclose(f);
			return -1;
		}
		(*n)++;
	}
	fclose(f);
	return 0;
}

/* The files rules_load reads: *.conf of enabled families, in name order. */
static int
collect_tags(const char *dir, const struct config *cfg, char **tags,
    size_t *n, int rsyslog)
{
	struct dirent **names;
	int count = scandir(dir, &names, NULL, alphasort), rc = 0;

	if (count < 0) {
		fprintf(stderr, "authrelayctl: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (int i = 0; i < count; i++) {
		const char *name = names[i]->d_name;
		size_t len = strlen(name);
		char family[NAME_MAX + 1], path[PATH_MAX];

		if (rc == 0 && len > 5 && name[0] != '.' &&
		    strcmp(name + len - 5, ".conf") == 0) {
			snprintf(family, sizeof(family), "%.*s", (int)(len - 5), name);
			snprintf(path, sizeof(path), "%s/%s", dir, name);
			if (config_list_has(&cfg->enable, "all") ||
			    config_list_has(&cfg->enable, family))
				rc = read_tags(path, tags, n, rsyslog);
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

/* A tag as a syslog-ng program() PCRE alternative, or -1. */
static int
print_pcre_literal(const char *tag)
{
	for (const char *p = tag; *p != '\0'; p++) {
		if (strchr("\\]^\"", *p) != NULL)
			return -1;
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789-_/", *p) != NULL)
			putchar(*p);
		else
			printf("[%c]", *p);
	}
	return 0;
}

int
ctl_tags(const struct config *cfg, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *format = "list";
	char error[RULES_ERROR_MAX];
	char *tags[TAGS_MAX];
	struct rules *rules;
	size_t n = 0;
	int c, rc = 0, rsyslog;

	while ((c = getopt_long(argc, argv, "p:", longopts, NULL)) != -1) {
		if (c == 'p')
			dir = optarg;
		else if (c == 'f')
			format = optarg;
		else
			return 2;
	}
	if (optind != argc || (strcmp(format, "list") != 0 &&
	    strcmp(format, "rsyslog") != 0 && strcmp(format, "syslog-ng") != 0))
		return 2;
	dir = ctl_parsers_dir(cfg, dir);
	/* Only files the engine accepts: their tags are what it dispatches on. */
	if ((rules = rules_load(dir, &cfg->enable, 0, error)) == NULL) {
		fprintf(stderr, "authrelayctl: %s\n", error);
		return 1;
	}
	rules_free(rules);
	rsyslog = strcmp(format, "rsyslog") == 0;
	if (collect_tags(dir, cfg, tags, &n, rsyslog) < 0)
		rc = 1;
	qsort(tags, n, sizeof(tags[0]), cmp_str);
	if (rc == 0 && rsyslog) {
		size_t col = 22;

		fputs("$programname == [", stdout);
		for (size_t i = 0; i < n; i++) {
			size_t w = strlen(tags[i]) + 4;

			if (i > 0 && col + w > 78) {
				fputs(",\n                  ", stdout);
				col = 18;
			} else if (i > 0) {
				fputs(", ", stdout);
			}
			putchar('"');
			for (const char *p = tags[i]; *p != '\0'; p++)
				printf(*p == '"' || *p == '\\' ? "\\%c" : "%c", *p);
			putchar('"');
			col += w;
		}
		fputs("]\n", stdout);
	} else if (rc == 0 && strcmp(format, "syslog-ng") == 0) {
		fputs("program(\"^(", stdout);
		for (size_t i = 0; i < n && rc == 0; i++) {
			if (i > 0)
				putchar('|');
			if (print_pcre_literal(tags[i]) < 0) {
				fprintf(stderr, "\nauthrelayctl: tag '%s' cannot be "
				    "written as a syslog-ng pattern\n", tags[i]);
				rc = 1;
			}
		}
		if (rc == 0)
			fputs(")$\" type(pcre))\n", stdout);
	} else if (rc == 0) {
		for (size_t i = 0; i < n; i++)
			puts(tags[i]);
	}
	for (size_t i = 0; i < n; i++)
		free(tags[i]);
	return rc;
}
