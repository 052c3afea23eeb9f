/* cdbexport-tool.c - test driver for the snapshot writers and loop (watcher/snap*.c). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cdb.h>
#include <libpq-fe.h>

#include "atomicfile.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "relaycdb.h"
#include "../../watcher/snapshot.h"
#include "../../watcher/snapverify.h"
#include "../../watcher/snapwrite.h"

static void
usage(void)
{
	fputs("usage: cdbexport-tool export | verify | sync\n"
	    "       cdbexport-tool write FILE BUILT [IP EXPIRES USER]...\n"
	    "       cdbexport-tool write-pair FILE BUILT [IP EXPIRES USER]...\n",
	    stderr);
	exit(2);
}

#define PAIR_ID "0123456789abcdef"

/*
 * Write a snapshot by hand: crafted files for auth-wrap's tests. With
 * pair, the base gets an id and a delta for it holds the last relay.
 */
static int
write_snapshot(int argc, char **argv, int pair)
{
	const char *ids[1] = { PAIR_ID };
	struct atomicfile af;
	struct cdb_make cm;
	char val[RELAYCDB_VALUE_MAX], err[512], delta[ATOMICFILE_PATH_MAX];
	int n;

	if (argc < 4 || (argc - 4) % 3 != 0)
		usage();
	if (pair && argc >= 7) {
		snprintf(delta, sizeof(delta), "%s%s", argv[2],
		    RELAYCDB_DELTA_SUFFIX);
		if (atomicfile_open(&af, delta, 0644, err, sizeof(err)) < 0 ||
		    cdb_make_start(&cm, af.fd) < 0)
			goto fail;
		n = relaycdb_format_meta(strtoll(argv[3], NULL, 10), 1, ids, 1,
		    val, sizeof(val));
		cdb_make_add(&cm, RELAYCDB_DELTA_KEY,
		    sizeof(RELAYCDB_DELTA_KEY) - 1, val, (unsigned)n);
		n = relaycdb_format(strtoll(argv[argc - 2], NULL, 10),
		    argv[argc - 1], val, sizeof(val));
		cdb_make_add(&cm, argv[argc - 3], (unsigned)strlen(argv[argc - 3]),
		    val, (unsigned)n);
		if (cdb_make_finish(&cm) < 0 || atomicfile_commit(&af, err,
		    sizeof(err)) < 0)
			goto fail;
	}
	if (atomicfile_open(&af, argv[2], 0644, err, sizeof(err)) < 0 ||
	    cdb_make_start(&cm, af.fd) < 0)
		goto fail;
	if (strcmp(argv[3], "-") != 0) {
		n = relaycdb_format_meta(strtoll(argv[3], NULL, 10),
		    (argc - 4) / 3, ids, pair ? 1 : 0, val, sizeof(val));
		if (n < 0 || cdb_make_add(&cm, RELAYCDB_META_KEY,
		    sizeof(RELAYCDB_META_KEY) - 1, val, (unsigned)n) < 0)
			goto fail;
	}
	for (int i = 4; i < argc; i += 3) {
		n = relaycdb_format(strtoll(argv[i + 1], NULL, 10), argv[i + 2],
		    val, sizeof(val));
		if (n < 0 || cdb_make_add(&cm, argv[i], (unsigned)strlen(argv[i]),
		    val, (unsigned)n) < 0)
			goto fail;
	}
	if (cdb_make_finish(&cm) < 0 || atomicfile_commit(&af, err,
	    sizeof(err)) < 0)
		goto fail;
	return 0;
fail:
	fprintf(stderr, "cdbexport-tool: write: %s\n", err);
	return 1;
}

int
main(int argc, char **argv)
{
	struct config cfg;
	struct snapwrite_tcp_stats tcp;
	struct snapbase base;
	char err[CONFIG_ERROR_MAX];
	int64_t start = clock_ms();
	PGconn *conn;
	int rc;

	if (argc < 2)
		usage();
	if (strcmp(argv[1], "write") == 0)
		return write_snapshot(argc, argv, 0);
	if (strcmp(argv[1], "write-pair") == 0)
		return write_snapshot(argc, argv, 1);
	if (config_load(config_path(NULL), 0, &cfg, err) < 0) {
		fprintf(stderr, "cdbexport-tool: %s\n", err);
		return 2;
	}
	log_init("authrelayd", 1, 0);
	if (strcmp(argv[1], "sync") == 0) {
		rc = snapshot_run(&cfg);
		config_free(&cfg);
		return rc;
	}
	conn = PQconnectdb(cfg.database);
	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "cdbexport-tool: %s", PQerrorMessage(conn));
		PQfinish(conn);
		config_free(&cfg);
		return 2;
	}
	if (strcmp(argv[1], "export") == 0) {
		rc = snapwrite_all(conn, &cfg, &base, &tcp, err, sizeof(err));
		if (rc < 0)
			fprintf(stderr, "cdbexport-tool: export: %s\n", err);
		else
			printf("relays=%" PRId64 " skipped=%" PRId64
			    " static_keys=%" PRId64 " tcp_relays=%" PRId64
			    " ms=%" PRId64 "\n", base.count, base.skipped,
			    tcp.static_keys, tcp.relays, clock_ms() - start);
		rc = rc < 0 ? 1 : 0;
	} else if (strcmp(argv[1], "verify") == 0) {
		rc = snapverify_run(conn, &cfg, stdout);
		printf("differences=%d\n", rc);
		rc = rc == 0 ? 0 : rc < 0 ? 2 : 1;
	} else
		usage();
	PQfinish(conn);
	config_free(&cfg);
	return rc;
}
