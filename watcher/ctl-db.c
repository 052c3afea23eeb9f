/* ctl-db.c - authrelayctl's database commands: list, allow, revoke, check, expire, audit, stats. */
#include <getopt.h>
#include <locale.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wchar.h>

#include <libpq-fe.h>

#include "snapverify.h"
#include "snapwrite.h"
#include "ctl.h"
#include "clock.h"
#include "hook.h"
#include "ipaddr.h"
#include "metrics.h"
#include "relaycdb.h"
#include "retention.h"
#include "schema.h"
#include "store.h"
#include "strbuf.h"
#include "utf8.h"

/* Refuse a schema this program does not know, saying how to fix it. */
static int
check_schema(PGconn *conn)
{
	PGresult *res = PQexec(conn, SCHEMA_VERSION_SQL);
	char why[512];
	int found = 0;

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		found = atoi(PQgetvalue(res, 0, 0));
	else
		fprintf(stderr, "authrelayctl: %s", PQresultErrorMessage(res));
	PQclear(res);
	if (found == SCHEMA_VERSION)
		return 0;
	schema_problem(found, PQdb(conn), why, sizeof(why));
	fprintf(stderr, "authrelayctl: %s\n", why);
	return -1;
}

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
	if (check_schema(conn) < 0) {
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

/*
 * One cell made safe for a terminal: well-formed UTF-8 as it is, but a
 * control character (C0, DEL, C1) or a stray byte as \xHH per byte, a
 * bidi mark as \uHHHH and the backslash as \\, so no row can move the
 * cursor, change colours or reorder what the operator reads. Returns
 * the columns it takes (wcwidth in a UTF-8 locale, else one per
 * character).
 */
static int
safe_cell(const char *s, struct strbuf *out, int utf8_locale)
{
	size_t len = strlen(s), i = 0, n;
	int cols = 0, w;
	uint32_t cp;

	strbuf_reset(out);
	while (i < len) {
		n = utf8_decode(s + i, len - i, &cp);
		if (n == 0 || utf8_is_control(cp)) {
			n = n == 0 ? 1 : n;
			for (size_t k = 0; k < n; k++)
				strbuf_addf(out, "\\x%02x", (unsigned char)s[i + k]);
			cols += 4 * (int)n;
		} else if (utf8_is_unsafe_display(cp)) {
			strbuf_addf(out, "\\u%04x", (unsigned)cp);
			cols += 6;
		} else if (cp == '\\') {
			strbuf_add(out, "\\\\", 2);
			cols += 2;
		} else {
			strbuf_add(out, s + i, n);
			w = utf8_locale ? wcwidth((wchar_t)cp) : 1;
			cols += w < 0 ? 1 : w;
		}
		i += n;
	}
	return cols;
}

static const char *
cell_text(const struct strbuf *cell)
{
	if (cell->failed)
		return "?";
	return cell->data != NULL ? cell->data : "";
}

static void
print_padded(const char *text, int cols, int width, int last)
{
	fputs(text, stdout);
	if (last) {
		putchar('\n');
		return;
	}
	for (int pad = width - cols + 2; pad > 0; pad--)
		putchar(' ');
}

/* Rows as an aligned table; every value goes through safe_cell. */
static void
print_rows(PGresult *res)
{
	int rows = PQntuples(res), cols = PQnfields(res) < 16 ?
	    PQnfields(res) : 16;
	int width[16] = { 0 };
	struct strbuf cell = { 0 };
	char *saved = setlocale(LC_CTYPE, NULL);
	int utf8_locale;

	saved = saved != NULL ? strdup(saved) : NULL;
	utf8_locale = setlocale(LC_CTYPE, "C.UTF-8") != NULL;
	for (int c = 0; c < cols; c++) {
		width[c] = safe_cell(PQfname(res, c), &cell, utf8_locale);
		for (int r = 0; r < rows; r++) {
			int w = safe_cell(PQgetvalue(res, r, c), &cell,
			    utf8_locale);

			if (w > width[c])
				width[c] = w;
		}
	}
	for (int c = 0; c < cols; c++) {
		int w = safe_cell(PQfname(res, c), &cell, utf8_locale);

		print_padded(cell_text(&cell), w, width[c], c + 1 == cols);
	}
	for (int r = 0; r < rows; r++)
		for (int c = 0; c < cols; c++) {
			int w = safe_cell(PQgetvalue(res, r, c), &cell,
			    utf8_locale);

			print_padded(cell_text(&cell), w, width[c],
			    c + 1 == cols);
		}
	strbuf_free(&cell);
	if (saved != NULL) {
		setlocale(LC_CTYPE, saved);
		free(saved);
	}
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

/* --since and --until take a duration back from now (2h) or a timestamp. */
static void
time_param(const char *arg, char *buf, size_t len)
{
	int64_t ms = config_parse_duration(arg);

	if (ms >= 0)
		snprintf(buf, len, "%lld milliseconds ago", (long long)ms);
	else
		snprintf(buf, len, "%s", arg);
}

enum audit_format { AUDIT_TABLE, AUDIT_CSV, AUDIT_JSON };

/*
 * The filters, shared by every format: $1 address, $2 user, $3 since,
 * $4 until, each NULL when not given ('N milliseconds ago' is
 * PostgreSQL's own interval input syntax). The time bounds compare
 * 'at' directly, so PostgreSQL reads only the day partitions in range.
 */
#define AUDIT_FROM \
	" FROM login_event" \
	" WHERE ($1::inet IS NULL OR ip = $1::inet)" \
	"   AND ($2::text IS NULL OR username = $2)" \
	"   AND ($3::text IS NULL OR at >= CASE WHEN $3 LIKE '% ago'" \
	"        THEN now() - (replace($3, ' ago', ''))::interval" \
	"        ELSE $3::timestamptz END)" \
	"   AND ($4::text IS NULL OR at < CASE WHEN $4 LIKE '% ago'" \
	"        THEN now() - (replace($4, ' ago', ''))::interval" \
	"        ELSE $4::timestamptz END)" \
	" ORDER BY at, id"

/* For people: seconds, the session's time zone. */
static const char audit_table_sql[] =
    "SELECT to_char(at, 'YYYY-MM-DD HH24:MI:SS') AS time, host(ip) AS ip,"
    " username AS user, parser, service, outcome, coalesce(reason, '') AS reason,"
    " coalesce(to_char(expires_at, 'YYYY-MM-DD HH24:MI:SS'), '') AS until,"
    " CASE WHEN redelivered THEN 'yes' ELSE '' END AS redelivered"
    AUDIT_FROM;

/* For tools: exact UTC times in RFC 3339, NULL for none, t/f. */
static const char audit_export_sql[] =
    "SELECT id, to_char(at AT TIME ZONE 'UTC',"
    "  'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS time, host(ip) AS ip,"
    " username AS user, parser, service, outcome, reason,"
    " to_char(expires_at AT TIME ZONE 'UTC',"
    "  'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS until, redelivered"
    AUDIT_FROM;

/* One CSV field (RFC 4180): quoted when it holds a comma, quote or line break. */
static void
csv_field(const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, stdout);
		return;
	}
	putchar('"');
	for (; *s != '\0'; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

/* One exported row: CSV (NULL as an empty field) or a JSON object. */
static void
print_export_row(const PGresult *res, int r, enum audit_format format)
{
	int cols = PQnfields(res);

	if (format == AUDIT_JSON)
		putchar('{');
	for (int c = 0; c < cols; c++) {
		const char *name = PQfname(res, c), *v = PQgetvalue(res, r, c);
		int null = PQgetisnull(res, r, c);

		if (format == AUDIT_CSV) {
			if (!null)
				csv_field(strcmp(name, "redelivered") == 0 ?
				    (*v == 't' ? "true" : "false") : v);
			putchar(c + 1 < cols ? ',' : '\n');
			continue;
		}
		ctl_json_string(stdout, name);
		putchar(':');
		if (null)
			fputs("null", stdout);
		else if (strcmp(name, "redelivered") == 0)
			fputs(*v == 't' ? "true" : "false", stdout);
		else if (strcmp(name, "id") == 0)
			fputs(v, stdout);
		else
			ctl_json_string(stdout, v);
		fputs(c + 1 < cols ? "," : "}\n", stdout);
	}
}

/*
 * Stream an export row by row (single-row mode): an export of millions
 * of rows never sits in memory whole. CSV starts with a header line;
 * JSON is one object per line.
 */
static int
audit_export(PGconn *conn, const char *const *params, enum audit_format format)
{
	PGresult *res;
	int header = format == AUDIT_CSV, rc = 0;

	if (!PQsendQueryParams(conn, audit_export_sql, 4, NULL, params, NULL,
	    NULL, 0) || !PQsetSingleRowMode(conn)) {
		fprintf(stderr, "authrelayctl: %s", PQerrorMessage(conn));
		return 1;
	}
	while ((res = PQgetResult(conn)) != NULL) {
		ExecStatusType st = PQresultStatus(res);

		if (st == PGRES_SINGLE_TUPLE || st == PGRES_TUPLES_OK) {
			for (int c = 0; header && c < PQnfields(res); c++) {
				csv_field(PQfname(res, c));
				putchar(c + 1 < PQnfields(res) ? ',' : '\n');
			}
			header = 0;
			for (int r = 0; r < PQntuples(res); r++)
				print_export_row(res, r, format);
		} else {
			fprintf(stderr, "authrelayctl: %s", PQresultErrorMessage(res));
			rc = 1;
		}
		PQclear(res);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "authrelayctl: audit: write error\n");
		rc = 1;
	}
	return rc;
}

int
ctl_audit(const struct config *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ip", required_argument, NULL, 'i' },
		{ "user", required_argument, NULL, 'u' },
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 't' },
		{ "format", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	char ip[IPADDR_TEXT_MAX], since[128], until[128];
	const char *params[4] = { NULL, NULL, NULL, NULL };
	enum audit_format format = AUDIT_TABLE;
	struct ipaddr addr;
	PGconn *conn;
	int c, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'i') {
			if (canon_arg(optarg, ip, &addr) < 0)
				return 1;
			params[0] = ip;
		} else if (c == 'u') {
			params[1] = optarg;
		} else if (c == 's') {
			time_param(optarg, since, sizeof(since));
			params[2] = since;
		} else if (c == 't') {
			time_param(optarg, until, sizeof(until));
			params[3] = until;
		} else if (c == 'f' && strcmp(optarg, "table") == 0) {
			format = AUDIT_TABLE;
		} else if (c == 'f' && strcmp(optarg, "csv") == 0) {
			format = AUDIT_CSV;
		} else if (c == 'f' && strcmp(optarg, "json") == 0) {
			format = AUDIT_JSON;
		} else if (c == 'f') {
			fprintf(stderr, "authrelayctl: --format: want table, csv or json\n");
			return 2;
		} else {
			return 2;
		}
	}
	if (optind != argc)
		return 2;
	if (format == AUDIT_TABLE)
		return query_table(cfg, audit_table_sql, 4, params);
	if ((conn = connect_db(cfg)) == NULL)
		return 1;
	rc = audit_export(conn, params, format);
	PQfinish(conn);
	return rc;
}

/* Partition upkeep now, as authrelayd does every audit_interval. */
int
ctl_audit_maintain(const struct config *cfg, int argc, char **argv)
{
	char keep[32], ahead[16];
	const char *params[2] = { keep, ahead };

	(void)argv;
	if (argc != 1)
		return 2;
	snprintf(keep, sizeof(keep), "%lld", (long long)cfg->audit_keep_ms);
	snprintf(ahead, sizeof(ahead), "%d", RETENTION_AHEAD_DAYS);
	return query_table(cfg, STORE_MAINTAIN_SQL, 2, params);
}

/* stats --format=prometheus: the database's figures as gauges. */
static int
stats_prometheus(const struct config *cfg)
{
	struct strbuf out = { 0 };
	const char *why = "";
	PGconn *conn;
	PGresult *res;
	double v[7];
	int rc = 1;

	if ((conn = connect_db(cfg)) == NULL)
		return 1;
	res = run(conn,
	    "SELECT (SELECT count(*) FROM relay WHERE expires_at > now()),"
	    " (SELECT count(*) FROM relay WHERE expires_at <= now()),"
	    " (SELECT count(*) FROM login_event WHERE outcome = 'granted'"
	    "   AND at > now() - interval '1 hour'),"
	    " (SELECT count(*) FROM login_event WHERE outcome = 'ignored'"
	    "   AND at > now() - interval '1 hour'),"
	    " (SELECT count(*) FROM login_event),"
	    " (SELECT count(DISTINCT username) FROM login_event"
	    "   WHERE outcome = 'granted' AND at > now() - interval '1 day'),"
	    " coalesce((SELECT extract(epoch FROM now() - max(at))::float8"
	    "   FROM login_event), -1)", 0, NULL);
	if (res != NULL && PQntuples(res) == 1) {
		for (int i = 0; i < 7; i++)
			v[i] = strtod(PQgetvalue(res, 0, i), NULL);
		const struct metrics_sample s[] = {
			{ "authrelay_db_active_relays",
			    "Relays that have not expired.", "gauge",
			    { { NULL, NULL } }, v[0] },
			{ "authrelay_db_expired_relays",
			    "Expired relays the sweeper has not deleted yet.",
			    "gauge", { { NULL, NULL } }, v[1] },
			{ "authrelay_db_logins_last_hour",
			    "Audited logins of the last hour, by outcome.", "gauge",
			    { { "outcome", "granted" }, { NULL, NULL } }, v[2] },
			{ "authrelay_db_logins_last_hour", NULL, NULL,
			    { { "outcome", "ignored" }, { NULL, NULL } }, v[3] },
			{ "authrelay_db_audit_rows", "Rows in login_event.",
			    "gauge", { { NULL, NULL } }, v[4] },
			{ "authrelay_db_users_last_day",
			    "Distinct users granted in the last day.", "gauge",
			    { { NULL, NULL } }, v[5] },
			{ "authrelay_db_last_login_age_seconds",
			    "Seconds since the newest audited login (-1: none).",
			    "gauge", { { NULL, NULL } }, v[6] },
		};

		if (metrics_format(&out, s, sizeof(s) / sizeof(s[0]), &why) == 0 &&
		    fwrite(out.data, 1, out.len, stdout) == out.len &&
		    fflush(stdout) == 0)
			rc = 0;
		else
			fprintf(stderr, "authrelayctl: stats: %s\n",
			    *why != '\0' ? why : "write failed");
	}
	PQclear(res);
	PQfinish(conn);
	strbuf_free(&out);
	return rc;
}

int
ctl_stats(const struct config *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	int c, prometheus = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'f' && strcmp(optarg, "prometheus") == 0)
			prometheus = 1;
		else if (c != 'f' || strcmp(optarg, "table") != 0)
			return 2;
	}
	if (optind != argc)
		return 2;
	if (prometheus)
		return stats_prometheus(cfg);
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
	struct snapwrite_tcp_stats tcp;
	struct snapbase base;
	char err[512];
	int64_t start = clock_ms();
	PGconn *conn;
	int rc;

	(void)argv;
	if (argc != 1)
		return 2;
	if (!config_writes_snapshot(cfg)) {
		fprintf(stderr, "authrelayctl: neither cdb_file nor tcp_cdb is set\n");
		return 1;
	}
	if ((conn = connect_db(cfg)) == NULL)
		return 1;
	rc = snapwrite_all(conn, cfg, &base, &tcp, err, sizeof(err));
	PQfinish(conn);
	if (rc < 0) {
		fprintf(stderr, "authrelayctl: export-cdb: %s\n", err);
		return 1;
	}
	printf("exported %lld relays (%lld refused, %lld static rules) in %lld ms\n",
	    (long long)(cfg->cdb_file[0] != '\0' ? base.count : tcp.relays),
	    (long long)base.skipped, (long long)tcp.static_keys,
	    (long long)(clock_ms() - start));
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
	diffs = snapverify_run(conn, cfg, stdout);
	PQfinish(conn);
	if (diffs < 0)
		return 1;
	printf("verify: %d differences\n", diffs);
	return diffs == 0 ? 0 : 1;
}
