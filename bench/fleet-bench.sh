#!/usr/bin/env bash
# fleet-bench.sh - issue 14's fleet latency: on the fleet of
# tests/e2e/fleet-lib.sh (primary and streaming standby, two POP hosts
# with rsyslog running authrelayd as omprog child, two SMTP hosts with
# `authrelayd --sync` on the standby and auth-wrap), FLEET_LOGINS
# (default 200, at most 504) logins, one at a time, each from a new
# address, alternating between the two POP hosts: the time from writing
# the login line into that POP host's rsyslog socket until the real
# auth-wrap grants the address on both SMTP hosts. On the way, the first
# time the relay row is visible on the primary and on the standby, and
# each SMTP host's grant. Target: p99 <= 1000 ms (make check asserts a
# generous bound in tests/e2e/test-fleet.sh).
# The baseline (ratio 1.00) is the row being visible on the primary, in
# the same logins: the durable commit by the POP host's own authrelayd,
# all a single host whose auth-wrap looks the primary up (lookup = db)
# would wait for. The ratios say what the fleet adds on top: streaming
# replication, the --sync poll of the standby (cdb_interval 100 ms), the
# delta write.
# Never part of make check. FLEET_TIMEOUT (default 60) seconds per login.
. "$(dirname "$0")/../tests/lib.sh"
. "$TOP/tests/e2e/fleet-lib.sh"
N=${FLEET_LOGINS:-200}
TIMEOUT=${FLEET_TIMEOUT:-60}
# Login addresses: 198.51.100.1-254 then 203.0.113.1-250 (203.0.113.253
# and .254 warm up). No fleet host has an address there (they use
# 192.0.2.0/24), no never_relay class holds them, and the POP hosts'
# authrelayd sees only its own namespace's addresses as its own, so
# whatever addresses this machine has outside does not matter.
[ "$N" -ge 1 ] && [ "$N" -le 504 ] || fail "FLEET_LOGINS must be 1 to 504"
for _p in authrelayd auth-wrap; do
	[ -x "$BIN/$_p" ] || skip "bin/$_p not built"
done

# The probe: sends each login as logger -u would (a datagram on the POP
# host's socket, from uid 0, which the POP hosts trust), then polls in
# rounds each stage not yet seen: the row on the primary and on the
# standby (libpq, over the clusters' unix sockets) and auth-wrap's grant
# for each SMTP host (the real bin/auth-wrap spawned as tcpserver would,
# with that host's config, both hosts side by side; the snapshot files
# are on the shared filesystem, so this runs from the root namespace). A
# stage's time is when the first poll that saw it answered: the
# resolution is one round, whose mean is printed. No shell in the
# measurement; busy polling, like snapshot-bench's latprobe, so the
# probe's own spawns share the CPU with the fleet.
cat >"$T/hasrc.c" <<'C'
#include <stdlib.h>
int main(void) { return getenv("RELAYCLIENT") != NULL ? 0 : 1; }
C
cat >"$T/fleetprobe.c" <<'C'
/*
 * fleetprobe AUTHWRAP HASRC SMTP1-CONF SMTP2-CONF POP1-SOCK POP2-SOCK
 *     PRIMARY STANDBY COUNT TIMEOUT-MS RAW ERRLOG: COUNT logins,
 * alternating between the POP sockets; per stage "name p50 p99 max" in
 * ms, then "round mean-ms"; every login's times into RAW, auth-wrap's
 * warnings into ERRLOG.
 */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <libpq-fe.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { PRIMARY, STANDBY, SMTP1, SMTP2, BOTH, NSTAGES };
static const char *const stage_name[NSTAGES] = {
	"primary", "standby", "smtp1", "smtp2", "both" };
static const char *authwrap, *hasrc;
static posix_spawn_file_actions_t to_errlog;

static double ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void addr_of(int i, char *ip, size_t len)
{
	if (i < 254)
		snprintf(ip, len, "198.51.100.%d", i + 1);
	else
		snprintf(ip, len, "203.0.113.%d", i - 253);
}

/* auth-wrap with this SMTP host's config, as tcpserver runs it for ip */
static pid_t start_check(const char *conf, const char *ip)
{
	char e1[600], e2[64];
	char *env[] = { e1, e2, "PATH=/usr/bin:/bin", NULL };
	char *argv[] = { (char *)authwrap, (char *)hasrc, NULL };
	pid_t pid;

	snprintf(e1, sizeof e1, "AUTHRELAY_CONF=%s", conf);
	snprintf(e2, sizeof e2, "TCPREMOTEIP=%s", ip);
	if (posix_spawn(&pid, authwrap, &to_errlog, NULL, argv, env) != 0) {
		perror("fleetprobe: posix_spawn");
		exit(2);
	}
	return pid;
}

/* wait for any check; which one, and whether it granted (hasrc: 0) */
static pid_t end_check(int *granted)
{
	int st;
	pid_t pid = waitpid(-1, &st, 0);

	if (pid < 0) {
		perror("fleetprobe: waitpid");
		exit(2);
	}
	*granted = WIFEXITED(st) && WEXITSTATUS(st) == 0;
	return pid;
}

static int granted_now(const char *conf, const char *ip)
{
	int g;

	start_check(conf, ip);
	end_check(&g);
	return g;
}

static PGconn *db(const char *conninfo)
{
	PGconn *c = PQconnectdb(conninfo);
	PGresult *r;

	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "fleetprobe: %s: %s", conninfo, PQerrorMessage(c));
		exit(2);
	}
	r = PQprepare(c, "has", "SELECT 1 FROM relay WHERE ip = $1::inet", 1, NULL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		fprintf(stderr, "fleetprobe: prepare: %s", PQerrorMessage(c));
		exit(2);
	}
	PQclear(r);
	return c;
}

static int has_row(PGconn *c, const char *ip)
{
	const char *params[1] = { ip };
	PGresult *r = PQexecPrepared(c, "has", 1, params, NULL, NULL, 0);
	int n = PQresultStatus(r) == PGRES_TUPLES_OK ? PQntuples(r) : -1;

	PQclear(r);
	if (n < 0) {
		fprintf(stderr, "fleetprobe: %s", PQerrorMessage(c));
		exit(2);
	}
	return n > 0;
}

/* a datagram socket connected to a POP host's rsyslog socket */
static int syslog_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || strlen(path) >= sizeof sa.sun_path) {
		fprintf(stderr, "fleetprobe: %s: bad socket\n", path);
		exit(2);
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		perror(path);
		exit(2);
	}
	return fd;
}

/* the login line as `logger -t vpopmail -p mail.notice` sends it */
static void send_login(int fd, int i, const char *ip)
{
	char stamp[32], line[256];
	time_t now = time(NULL);
	int len;

	strftime(stamp, sizeof stamp, "%b %e %H:%M:%S", localtime(&now));
	len = snprintf(line, sizeof line, "<21>%s vpopmail: vchkpw-pop3: (PLAIN) "
	    "login success f%d@example.org:%s", stamp, i, ip);
	if (send(fd, line, (size_t)len, 0) != len) {
		perror("fleetprobe: send");
		exit(3);
	}
}

/*
 * One round: both SMTP hosts' auth-wrap run side by side while the
 * databases are asked; each stage not yet seen gets the time its poll
 * answered yes. Returns how many stages are still unseen.
 */
static int poll_round(const char *const conf[2], PGconn *primary,
    PGconn *standby, const char *ip, double t0, double seen[NSTAGES])
{
	pid_t pid[2] = { -1, -1 };
	int running = 0, left = 0, g;

	for (int h = 0; h < 2; h++)
		if (seen[SMTP1 + h] < 0)
			pid[h] = start_check(conf[h], ip), running++;
	if (seen[PRIMARY] < 0 && has_row(primary, ip))
		seen[PRIMARY] = ms() - t0;
	if (seen[STANDBY] < 0 && has_row(standby, ip))
		seen[STANDBY] = ms() - t0;
	for (; running > 0; running--) {
		pid_t done = end_check(&g);

		for (int h = 0; h < 2; h++)
			if (done == pid[h] && g)
				seen[SMTP1 + h] = ms() - t0;
	}
	for (int s = 0; s < BOTH; s++)
		left += seen[s] < 0;
	return left;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	if (argc != 13) {
		fprintf(stderr, "usage: fleetprobe AUTHWRAP HASRC SMTP1-CONF SMTP2-CONF "
		    "POP1-SOCK POP2-SOCK PRIMARY STANDBY COUNT TIMEOUT-MS RAW ERRLOG\n");
		return 2;
	}
	authwrap = argv[1];
	hasrc = argv[2];
	const char *const conf[2] = { argv[3], argv[4] };
	int pop[2] = { syslog_socket(argv[5]), syslog_socket(argv[6]) };
	PGconn *primary = db(argv[7]), *standby = db(argv[8]);
	int n = atoi(argv[9]);
	double limit = atof(argv[10]), *t[NSTAGES], rounds = 0, polling = 0;
	FILE *raw = fopen(argv[11], "w");
	char ip[32];

	if (n < 1 || raw == NULL)
		return 2;
	posix_spawn_file_actions_init(&to_errlog);
	posix_spawn_file_actions_addopen(&to_errlog, 2, argv[12],
	    O_WRONLY | O_CREAT | O_APPEND, 0644);
	for (int s = 0; s < NSTAGES; s++)
		t[s] = calloc((size_t)n, sizeof(double));
	fprintf(raw, "login\tpop\tip\tprimary\tstandby\tsmtp1\tsmtp2\tboth\n");
	for (int i = 0; i < n; i++) {
		double seen[NSTAGES] = { -1, -1, -1, -1, -1 }, t0, r0;

		addr_of(i, ip, sizeof ip);
		if (granted_now(conf[0], ip) || granted_now(conf[1], ip)) {
			fprintf(stderr, "fleetprobe: %s granted before its login\n", ip);
			return 4;
		}
		t0 = ms();
		send_login(pop[i % 2], i, ip);
		for (int left = BOTH; left > 0; ) {
			r0 = ms();
			left = poll_round(conf, primary, standby, ip, t0, seen);
			rounds++;
			polling += ms() - r0;
			if (left > 0 && ms() - t0 > limit) {
				fprintf(stderr, "fleetprobe: login %d (%s, pop%d) not "
				    "seen within %.0f ms:", i, ip, i % 2 + 1, limit);
				for (int s = 0; s < BOTH; s++)
					if (seen[s] < 0)
						fprintf(stderr, " %s", stage_name[s]);
				fprintf(stderr, "\n");
				return 5;
			}
		}
		seen[BOTH] = seen[SMTP1] > seen[SMTP2] ? seen[SMTP1] : seen[SMTP2];
		fprintf(raw, "%d\tpop%d\t%s", i, i % 2 + 1, ip);
		for (int s = 0; s < NSTAGES; s++) {
			t[s][i] = seen[s];
			fprintf(raw, "\t%.1f", seen[s]);
		}
		fprintf(raw, "\n");
	}
	for (int s = 0; s < NSTAGES; s++) {
		qsort(t[s], (size_t)n, sizeof(double), cmp);
		printf("%s %.1f %.1f %.1f\n", stage_name[s], t[s][n / 2],
		    t[s][(int)(n * 0.99)], t[s][n - 1]);
	}
	printf("round %.2f\n", polling / rounds);
	fclose(raw);
	PQfinish(primary);
	PQfinish(standby);
	return 0;
}
C
cc -O2 -Wall -Wextra -o "$T/hasrc" "$T/hasrc.c"
cc -O2 -Wall -Wextra -I"$(pg_config --includedir)" -o "$T/fleetprobe" "$T/fleetprobe.c" -lpq

fleet_up
on_exit fleet_stop_sync	# runs before lib.sh removes the network

# Warm-up, untimed: one login on each POP host through to both SMTP
# hosts, so that each omprog authrelayd has its database connection and
# each SMTP host its base before the first measured login.
warm() { # POP-HOST ADDR
	logger -u "$T/$1/log.sock" -t vpopmail -p mail.notice -- \
	    "vchkpw-pop3: (PLAIN) login success warm@example.org:$2"
	wait_for 120 snapshot_grants "$T/smtp1/authrelay.conf" "$2"
	wait_for 120 snapshot_grants "$T/smtp2/authrelay.conf" "$2"
}
warm pop1 203.0.113.253
warm pop2 203.0.113.254

out=$("$T/fleetprobe" "$BIN/auth-wrap" "$T/hasrc" \
    "$T/smtp1/authrelay.conf" "$T/smtp2/authrelay.conf" \
    "$T/pop1/log.sock" "$T/pop2/log.sock" \
    "host=$T/pg/sock dbname=authrelay user=authrelay" \
    "host=$T/pg2/sock dbname=authrelay user=authrelay" \
    "$N" $((TIMEOUT * 1000)) "$T/per-login.tsv" "$T/auth-wrap.err") || {
	for h in pop1 pop2; do tail -n 5 "$T/$h/watcher.log" "$T/$h/rs/out"; done
	tail -n 5 "$T/smtp1/sync.log" "$T/smtp2/sync.log" "$T/auth-wrap.err"
	fail "fleetprobe failed"
}
[ "$(sql "SELECT count(*) FROM relay")" = $((N + 2)) ] ||
    fail "the primary holds $(sql "SELECT count(*) FROM relay") relays, not $((N + 2))"

echo "fleet: login line -> relay row -> auth-wrap grants ($N logins, one at a time, alternating pop1/pop2, ms)"
echo "$out" | awk -v n="$N" '
	$1 == "round" { round = $2; next }
	{ p50[$1] = $2; p99[$1] = $3; max[$1] = $4 }
	END {
		split("primary standby smtp1 smtp2 both", order, " ")
		label["primary"] = "row on the primary (baseline)"
		label["standby"] = "row on the standby"
		label["smtp1"] = "auth-wrap grants on smtp1"
		label["smtp2"] = "auth-wrap grants on smtp2"
		label["both"] = "granted on both SMTP hosts"
		printf "%-34s %7s %9s %9s %9s %7s %s\n", "login line ->", "logins", "p50", "p99", "max", "ratio", "target"
		for (i = 1; i <= 5; i++) {
			s = order[i]
			printf "%-34s %7d %9.1f %9.1f %9.1f %7.2f%s\n", label[s], n, p50[s], p99[s], max[s],
			    p99[s] / p99["primary"], s == "both" ? " p99 <= 1000 ms" : ""
		}
		printf "ratio: p99 against the baseline'"'"'s p99; resolution: one round of polls, mean %.1f ms\n", round
	}'
