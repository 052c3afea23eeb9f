/* authrelayctl.c - the administrator's command line: parse, list, allow, revoke, ... */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ctl.h"

/* Print the effective configuration, every key, in file syntax. */
static int
ctl_config(const struct config *cfg, int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return 2;
	config_dump(cfg, stdout);
	return 0;
}

struct command {
	const char *name;
	int (*run)(const struct config *cfg, int argc, char **argv);
	const char *usage;
};

static const struct command commands[] = {
	{ "parse", ctl_parse, "parse [-p PARSERDIR] [FILE...]" },
	{ "parse-test", ctl_parse_test, "parse-test [-p PARSERDIR]" },
	{ "tags", ctl_tags,
	    "tags [-p PARSERDIR] [--format=list|rsyslog|syslog-ng]" },
	{ "config", ctl_config, "config" },
	{ "list", ctl_list, "list" },
	{ "allow", ctl_allow, "allow IP [DURATION]" },
	{ "revoke", ctl_revoke, "revoke IP" },
	{ "check", ctl_check, "check IP" },
	{ "expire", ctl_expire, "expire" },
	{ "audit", ctl_audit, "audit [--ip IP] [--user USER] [--since TIME] [--until TIME] [--format table|csv|json]" },
	{ "audit-maintain", ctl_audit_maintain, "audit-maintain" },
	{ "stats", ctl_stats, "stats [--format=table|prometheus]" },
	{ "export-cdb", ctl_export_cdb, "export-cdb" },
	{ "verify", ctl_verify, "verify" },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
usage(void)
{
	fprintf(stderr, "usage: authrelayctl [-c CONF] COMMAND [ARGS]\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(stderr, "       authrelayctl [-c CONF] %s\n",
		    commands[i].usage);
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *conf = NULL;
	char error[CONFIG_ERROR_MAX];
	struct config cfg;
	int c, rc;

	while ((c = getopt(argc, argv, "+c:h")) != -1) {
		if (c == 'c')
			conf = optarg;
		else
			usage();
	}
	if (optind >= argc)
		usage();
	/* Without -c or AUTHRELAY_CONF a missing default file is fine. */
	if (config_load(config_path(conf), conf == NULL &&
	    getenv("AUTHRELAY_CONF") == NULL, &cfg, error) < 0) {
		fprintf(stderr, "authrelayctl: %s\n", error);
		return 1;
	}
	argc -= optind;
	argv += optind;
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (strcmp(argv[0], commands[i].name) == 0) {
			optind = 1;
			rc = commands[i].run(&cfg, argc, argv);
			if (rc == 2)
				fprintf(stderr, "usage: authrelayctl %s\n",
				    commands[i].usage);
			config_free(&cfg);
			return rc;
		}
	}
	fprintf(stderr, "authrelayctl: unknown command '%s'\n", argv[0]);
	usage();
}
