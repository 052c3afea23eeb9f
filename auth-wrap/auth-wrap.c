/* auth-wrap.c - set RELAYCLIENT for clients with an active relay, exec PROGRAM. */
#include <errno.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "ipaddr.h"
#include "relaylookup.h"

#define PROG "auth-wrap"

extern char **environ;

static void
usage(void)
{
	fputs(PROG ": usage: auth-wrap program [arg ...]\n", stderr);
	exit(100);
}

/*
 * Our own settings and libpq's must not reach PROGRAM: it runs as the
 * same user and could otherwise learn where the database and its
 * password are.
 */
static void
scrub_environment(void)
{
	for (size_t i = 0; environ != NULL && environ[i] != NULL;) {
		const char *e = environ[i];
		const char *eq = strchr(e, '=');
		char *name;

		if (eq != NULL && (strncmp(e, "AUTHRELAY_", 10) == 0 ||
		    strncmp(e, "PG", 2) == 0) &&
		    (name = strndup(e, (size_t)(eq - e))) != NULL) {
			unsetenv(name);
			free(name);
			if (environ[i] != e)
				continue;	/* shifted down: look at i again */
		}
		i++;
	}
}

/* $TCPREMOTEIP, or $TCP6REMOTEIP (fefe/ucspi-tcp6); both must agree. */
static int
remote_ip(struct ipaddr *addr_r, char text_r[IPADDR_TEXT_MAX],
    const char **why_r)
{
	static const char *const names[] = { "TCPREMOTEIP", "TCP6REMOTEIP" };
	int have = 0;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *v = getenv(names[i]);
		struct ipaddr a;
		char t[IPADDR_TEXT_MAX];

		if (v == NULL)
			continue;
		if (ipaddr_parse(v, strlen(v), &a, why_r) < 0) {
			*why_r = i == 0 ? "bad TCPREMOTEIP" : "bad TCP6REMOTEIP";
			return -1;
		}
		ipaddr_format(&a, t);
		if (have && strcmp(t, text_r) != 0) {
			*why_r = "TCPREMOTEIP and TCP6REMOTEIP disagree";
			return -1;
		}
		*addr_r = a;
		memcpy(text_r, t, sizeof(t));
		have = 1;
	}
	if (!have)
		*why_r = "TCPREMOTEIP not set";
	return have ? 0 : -1;
}

/*
 * Is the client the server itself ($TCPLOCALIP or $TCP6LOCALIP equal to
 * its address)? Then every local process could use its relay: never.
 * 1 = self, 0 = not, -1 = a local address that does not parse (*why_r).
 */
static int
is_self(const struct ipaddr *remote, const char **why_r)
{
	static const char *const names[] = { "TCPLOCALIP", "TCP6LOCALIP" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *v = getenv(names[i]);
		struct ipaddr a;

		if (v == NULL)
			continue;
		if (ipaddr_parse(v, strlen(v), &a, why_r) < 0) {
			*why_r = i == 0 ? "bad TCPLOCALIP" : "bad TCP6LOCALIP";
			return -1;
		}
		if (a.family == remote->family && memcmp(a.bytes, remote->bytes,
		    a.family == AF_INET ? 4 : 16) == 0)
			return 1;
	}
	return 0;
}

/* Look the client up and set RELAYCLIENT/RELAYUSER; warn on failure. */
static void
decide(void)
{
	struct config cfg;
	struct relaycdb_entry entry;
	struct ipaddr addr;
	char ip[IPADDR_TEXT_MAX];
	char cerr[CONFIG_ERROR_MAX];
	char why[RELAYLOOKUP_WHY_MAX];
	const char *err;
	int self;

	if (config_load(config_path(NULL), 0, &cfg, cerr) < 0) {
		fprintf(stderr, PROG ": warning: no relay check: %s\n", cerr);
		return;
	}
	if (remote_ip(&addr, ip, &err) < 0) {
		fprintf(stderr, PROG ": warning: no relay check: %s\n", err);
	} else if ((self = is_self(&addr, &err)) != 0) {
		/* The server's own address never relays: silent, like never_relay. */
		if (self < 0)
			fprintf(stderr, PROG ": warning: no relay check for "
			    "%s: %s\n", ip, err);
	} else {
		switch (relaylookup(&cfg, &addr, ip, &entry, why)) {
		case RELAYLOOKUP_RELAY:
			if (setenv("RELAYCLIENT", cfg.relayclient, 1) < 0 ||
			    (cfg.relayuser &&
			    setenv("RELAYUSER", entry.user, 1) < 0)) {
				unsetenv("RELAYCLIENT");
				fprintf(stderr, PROG ": warning: no relay for "
				    "%s: out of memory\n", ip);
			}
			break;
		case RELAYLOOKUP_NONE:
			break;
		case RELAYLOOKUP_ERROR:
			fprintf(stderr, PROG ": warning: no relay check for "
			    "%s: %s\n", ip, why);
			break;
		}
	}
	if (cfg.lookup_database != NULL)
		explicit_bzero(cfg.lookup_database,
		    strlen(cfg.lookup_database));
	if (cfg.database != NULL)
		explicit_bzero(cfg.database, strlen(cfg.database));
	config_free(&cfg);
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	/* tcprules already allowed it: the administrator decided. */
	if (getenv("RELAYCLIENT") == NULL)
		decide();
	scrub_environment();
	execvp(argv[1], argv + 1);
	fprintf(stderr, PROG ": fatal: unable to run %s: %s\n", argv[1],
	    strerror(errno));
	return 111;
}
