/* ctl-db.c - authrelayctl's database commands: list, allow, revoke, check, expire, audit, stats. */
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "cdbexport.h"
#include "ctl.h"
#include "hook.h"
#include "ipaddr.h"
#include "relaycdb.h"
#include "store.h"

static PGconn *
connect_db(const struct config *cfg)
{
	PGconn *conn;

	if (cfg->database[0] == '\0') {
		fprintf(stderr, "authrelayctl: database is not set in the configuration\n");
		return NULL;
	}
	if (ctl_pgpass_refused(cfg->database))
		return NULL;
	conn = PQconnectdb(cfg->database);
	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "authrelayctl: database: %s", PQerrorMessage(conn));
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

/* Run a parameterised statement; NULL (and a message) on failure. */
static PGresult *
run(PGconn *conn, const char *sql, int n, const char *const *params)
{
	PGresult *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);

	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		fprintf(stderr, "authrelayctl: %s", PQresultErrorMessage(res));
		PQclear(res);
		return NULL;
	}
	return res;
}

/* Canonical text of an address argument, refusing anything else. */
static int
canon_arg(const char *arg, char out[IPADDR_TEXT_MAX], struct ipaddr *addr)
{
	const char *why;

	if (ipaddr_parse(arg, strlen(arg), addr, &why) < 0) {
		fprintf(stderr, "authrelayctl: %s: %s\n", arg, why);
		return -1;
	}
	ipaddr_format(addr, out);
	return 0;
}

static void
print_rows(PGresult *res)
{
	int rows = PQntuples(res), cols = PQnfields(res);
	int width[16] = { 0 };

	for (int c = 0; c < cols && c < 16; c++) {
		width[c] = (int)strlen(PQfname(res, c));
		for (int r = 0; r < rows; r++)
			if ((int)strlen(PQgetvalue(res, r, c)) > width[c])
				width[c] = (int)strlen(PQgetvalue(res, r, c));
	}
	for (int c = 0; c < cols && c < 16; c++)
		printf("%-*s%s", width[c], PQfname(res, c), c + 1 < cols ? "  " : "\n");
	for (int r = 0; r < rows; r++)
		for (int c = 0; c < cols && c < 16; c++)
			printf("%-*s%s", width[c], PQgetvalue(res, r, c),
			    c + 1 < cols ? "  " : "\n");
}

/* Run a query, print it as a table, and give the exit status. */
static int
query_table(const struct config *cfg, const char *sql, int n,
    const char *const *params)
{
	PGconn *conn = connect_db(cfg);
	PGresult *res;

	if (conn == NULL)
		return 1;
	if ((res = run(conn, sql, n, params)) == NULL) {
		PQfinish(conn);
		return 1;
	}
	print_rows(res);
	PQclear(res);
	PQfinish(conn);
	return 0;
}

int
ctl_list(const struct config *cfg, int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return 2;
	return query_table(cfg,
	    "SELECT host(ip) AS ip, username AS user, parser, service, logins,"
	    " to_char(last_seen, 'YYYY-MM-DD HH24:MI:SS') AS last_login,"
	    " date_trunc('second', expires_at - now())::text AS remaining"
	    " FROM relay WHERE expires_at > now() ORDER BY expires_at, ip",
	    0, NULL);
}

/* Who is acting, for the audit trail. */
static const char *
operator_name(char *buf, size_t len)
{
	const char *sudo = getenv("SUDO_USER");
	struct passwd *pw = getpwuid(getuid());

	snprintf(buf, len, "admin:%s", sudo != NULL && *sudo != '\0' ? sudo :
	    pw != NULL ? pw->pw_name : "unknown");
	return buf;
}

int
ctl_allow(const struct config *cfg, int argc, char **argv)
{
	char ip[IPADDR_TEXT_MAX], ms[32], who[64];
	struct ipaddr addr;
	const char *why;
	int64_t dur = cfg->expire_ms;
	PGconn *conn;
	PGresult *res;

	if (argc < 2 || argc > 3)
		return 2;
	if (canon_arg(argv[1], ip, &addr) < 0)
		return 1;
	if (config_never_relay(cfg, &addr, &why)) {
		fprintf(stderr, "authrelayctl: %s: never relays (%s)\n", ip, why);
		return 1;
	}
	if (argc == 3 && (dur = config_parse_duration(argv[2])) <= 0) {
		fprintf(stderr, "authrelayctl: %s: bad duration (want e.g. 30m, 2h)\n",
		    argv[2]);
		return 1;
	}
	/* auth-wrap distrusts grants further ahead than this (clock safety). */
	if (dur > (cfg->expire_ms > RELAYCDB_GRANT_CAP_S * 1000 ? cfg->expire_ms :
	    RELAYCDB_GRANT_CAP_S * 1000)) {
		fprintf(stderr, "authrelayctl: %s: longer than auth-wrap honours "
		    "(the larger of expire and 24h); use tcp.smtp rules for "
		    "lasting relays\n", argv[2]);
		return 1;
	}
	snprintf(ms, sizeof(ms), "%lld", (long long)dur);
	const char *params[] = { ip, operator_name(who, sizeof(who)), ms };
	if ((conn = connect_db(cfg)) == NULL)
		return 1;
	res = run(conn,
	    "WITH g AS (INSERT INTO relay AS r (ip, username, parser, service,"
	    "  first_seen, last_seen, expires_at, logins)"
	    " VALUES ($1, $2, 'authrelayctl', 'admin', now(), now(),"
	    "  now() + $3::float8 * interval '1 millisecond', 1)"
	    " ON CONFLICT (ip) DO UPDATE SET username = EXCLUDED.username,"
	    "  parser = EXCLUDED.parser, service = EXCLUDED.service,"
	    "  last_seen = EXCLUDED.last_seen, expires_at = EXCLUDED.expires_at,"
	    "  logins = r.logins + 1 RETURNING ip, expires_at)"
	    " INSERT INTO login_event (at, ip, username, parser, service, outcome,"
	    "  expires_at) SELECT now(), ip, $2, 'authrelayctl', 'admin',"
	    "  'granted', expires_at FROM g", 3, params);
	PQfinish(conn);
	if (res == NULL)
		return 1;
	PQclear(res);
	hook_run(cfg->on_change, "grant", ip);
	printf("%s may relay for %s\n", ip, argc == 3 ? argv[2] : "the default expire");
	return 0;
}

int
ctl_revoke(const struct config *cfg, int argc, char **argv)
{
	char ip[IPADDR_TEXT_MAX], who[64];
	struct ipaddr addr;
	PGconn *conn;
	PGresult *res;
	int n;

	if (argc != 2)
		return 2;
	if (canon_arg(argv[1], ip, &addr) < 0)
		return 1;
	const char *params[] = { ip, operator_name(who, sizeof(who)) };
	if ((conn = connect_db(cfg)) == NULL)
		return 1;
	res = run(conn,
	    "WITH d AS (DELETE FROM relay WHERE ip = $1 RETURNING ip)"
	    " INSERT INTO login_event (at, ip, username, parser, service, outcome)"
	    " SELECT now(), ip, $2, 'authrelayctl', 'admin', 'revoked' FROM d",
	    2, params);
	PQfinish(conn);
	if (res == NULL)
		return 1;
	n = atoi(PQcmdTuples(res));
	PQclear(res);
	if (n == 0) {
		fprintf(stderr, "authrelayctl: %s: no relay to revoke\n", ip);
		return 1;
	}
	hook_run(cfg->on_change, "revoke", ip);
	printf("%s revoked\n", ip);
	return 0;
}

int
ctl_check(const struct config *cfg, int argc, char **argv)
{
	char ip[IPADDR_TEXT_MAX];
	struct ipaddr addr;
	const char *why;
	PGconn *conn;
	PGresult *res;
	int found;

	if (argc != 2)
		return 2;
	if (canon_arg(argv[1], ip, &addr) < 0)
		return 1;
	if (config_never_relay(cfg, &addr, &why)) {
		printf("%s never relays (%s)\n", ip, why);
		return 1;
	}
	const char *params[] = { ip };
	if ((conn = connect_db(cfg)) == NULL)
		return 1;
	res = run(conn,
	    "SELECT host(ip) AS ip, username AS user, parser, service, logins,"
	    " to_char(expires_at, 'YYYY-MM-DD HH24:MI:SS TZ') AS expires"
	    " FROM relay WHERE ip = $1 AND expires_at > now()", 1, params);
	PQfinish(conn);
	if (res == NULL)
		return 1;
	found = PQntuples(res) == 1;
	if (found)
		print_rows(res);
	else
		printf("%s may not relay\n", ip);
	PQclear(res);
	return found ? 0 : 1;
}

int
ctl_expire(const struct config *cfg, int argc, char **argv)
{
	PGconn *conn;
	long total = 0, n;

	(void)argv;
	if (argc != 1)
		return 2;
	if ((conn = connect_db(cfg)) == NULL)
		return 1;
	do {
		PGresult *res = run(conn, STORE_SWEEP_SQL, 0, NULL);

		if (res == NULL) {
			PQfinish(conn);
			return 1;
		}
		n = atol(PQcmdTuples(res));
		total += n;
		PQclear(res);
	} while (n >= STORE_SWEEP_BATCH);
	PQfinish(conn);
	printf("expired %ld relays\n", total);
	return 0;
}

/* --since takes a duration back from now (2h) or a timestamp. */
static int
since_param(const char *arg, char *buf, size_t len)
{
	int64_t ms = config_parse_duration(arg);

	if (ms >= 0)
		snprintf(buf, len, "%lld milliseconds ago", (long long)ms);
	else
		snprintf(buf, len, "%s", arg);
	return 0;
}

int
ctl_audit(const struct config *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ip", required_argument, NULL, 'i' },
		{ "user", required_argument, NULL, 'u' },
		{ "since", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	char ip[IPADDR_TEXT_MAX], since[128];
	const char *params[3] = { NULL, NULL, NULL };
	struct ipaddr addr;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'i') {
			if (canon_arg(optarg, ip, &addr) < 0)
				return 1;
			params[0] = ip;
		} else if (c == 'u') {
			params[1] = optarg;
		} else if (c == 's') {
			since_param(optarg, since, sizeof(since));
			params[2] = since;
		} else {
			return 2;
		}
	}
	if (optind != argc)
		return 2;
	/* 'N milliseconds ago' is PostgreSQL's own interval input syntax. */
	return query_table(cfg,
	    "SELECT to_char(at, 'YYYY-MM-DD HH24:MI:SS') AS time, host(ip) AS ip,"
	    " username AS user, parser, service, outcome, coalesce(reason, '') AS reason,"
	    " coalesce(to_char(expires_at, 'YYYY-MM-DD HH24:MI:SS'), '') AS until,"
	    " CASE WHEN redelivered THEN 'yes' ELSE '' END AS redelivered"
	    " FROM login_event"
	    " WHERE ($1::inet IS NULL OR ip = $1::inet)"
	    "   AND ($2::text IS NULL OR username = $2)"
	    "   AND ($3::text IS NULL OR at >= CASE WHEN $3 LIKE '% ago'"
	    "        THEN now() - (replace($3, ' ago', ''))::interval"
	    "        ELSE $3::timestamptz END)"
	    " ORDER BY at, id", 3, params);
}

int
ctl_stats(const struct config *cfg, int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return 2;
	return query_table(cfg,
	    "SELECT 'active relays' AS what, count(*)::text AS value FROM relay"
	    "  WHERE expires_at > now()"
	    " UNION ALL SELECT 'expired, not yet swept', count(*)::text FROM relay"
	    "  WHERE expires_at <= now()"
	    " UNION ALL SELECT 'logins granted, last hour', count(*)::text"
	    "  FROM login_event WHERE outcome = 'granted'"
	    "  AND at > now() - interval '1 hour'"
	    " UNION ALL SELECT 'logins ignored, last hour', count(*)::text"
	    "  FROM login_event WHERE outcome = 'ignored'"
	    "  AND at > now() - interval '1 hour'"
	    " UNION ALL SELECT 'audit rows', count(*)::text FROM login_event"
	    " UNION ALL SELECT 'distinct users, last day',"
	    "  count(DISTINCT username)::text FROM login_event"
	    "  WHERE outcome = 'granted' AND at > now() - interval '1 day'",
	    0, NULL);
}

int
ctl_export_cdb(const struct config *cfg, int argc, char **argv)
{
	struct cdbexport_stats st;
	char err[256];
	PGconn *conn;
	int rc;

	(void)argv;
	if (argc != 1)
		return 2;
	if (cfg->cdb_file[0] == '\0' && cfg->tcp_cdb[0] == '\0') {
		fprintf(stderr, "authrelayctl: neither cdb_file nor tcp_cdb is set\n");
		return 1;
	}
	if ((conn = connect_db(cfg)) == NULL)
		return 1;
	rc = cdbexport_run(conn, cfg, &st, err, sizeof(err));
	PQfinish(conn);
	if (rc < 0) {
		fprintf(stderr, "authrelayctl: export-cdb: %s\n", err);
		return 1;
	}
	printf("exported %lld relays (%lld refused, %lld static rules) in %lld ms\n",
	    (long long)st.relays, (long long)st.skipped,
	    (long long)st.static_keys, (long long)st.elapsed_ms);
	return 0;
}

int
ctl_verify(const struct config *cfg, int argc, char **argv)
{
	PGconn *conn;
	int diffs;

	(void)argv;
	if (argc != 1)
		return 2;
	if ((conn = connect_db(cfg)) == NULL)
		return 1;
	diffs = cdbexport_verify(conn, cfg, stdout);
	PQfinish(conn);
	if (diffs < 0)
		return 1;
	printf("verify: %d differences\n", diffs);
	return diffs == 0 ? 0 : 1;
}
