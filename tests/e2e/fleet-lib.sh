# fleet-lib.sh - the fleet of tests/e2e/test-fleet.sh and
# bench/fleet-bench.sh (source after tests/lib.sh), in network namespaces
# on one bridge (documentation addresses, 192.0.2.0/24): db1 (primary,
# 192.0.2.11) and db2 (streaming hot standby, 192.0.2.12) over TCP; two
# POP hosts (pop1 192.0.2.21, pop2 192.0.2.22), each with a real rsyslog
# running authrelayd as its omprog child (trusted template, confirm =
# yes, writers' multi-host string); two SMTP hosts (smtp1 192.0.2.31,
# smtp2 192.0.2.32), each with authrelayd --sync reading the standby
# (target_session_attrs=prefer-standby) and auth-wrap under the real
# tcpserver on port 25; a client host (192.0.2.100 to .102).
# fleet_up starts all of it and returns once both SMTP hosts read the
# standby; `on HOST CMD...` runs in a host's namespace. Under $T: pg/
# (db1: data, sock), pg2/ (db2), and HOST/ with each host's
# authrelay.conf; a POP host's rsyslog socket is HOST/log.sock (a unix
# socket in the filesystem: reachable from any namespace), an SMTP
# host's snapshot HOST/relay.cdb and its --sync log HOST/sync.log.

. "$TOP/tests/watcher/watcher-lib.sh"	# omprog_conf, rsyslog_trusted_conf

command -v tcpserver >/dev/null || skip "ucspi-tcp not installed"
command -v rsyslogd >/dev/null || skip "rsyslog not installed"
[ "$(id -u)" -eq 0 ] || skip "network namespaces need root"
MAXAGE=${FLEET_MAX_AGE:-10}	# the SMTP hosts' cdb_max_age, seconds

P=arf$$	# namespace and interface prefix: this run's own
WRITERS="host=192.0.2.11,192.0.2.12 dbname=authrelay user=authrelay target_session_attrs=read-write connect_timeout=5"
READERS="host=192.0.2.12,192.0.2.11 dbname=authrelay user=authrelay target_session_attrs=prefer-standby connect_timeout=5"

# --- the network: one bridge in a hub namespace, a veth per host
nhosts=0
host_ns() { # NAME ADDR...
	local ns=$P-$1 i=$nhosts a
	nhosts=$((nhosts + 1))
	ip netns add "$ns"
	on_exit "ip netns del $ns"
	ip link add "v$P$i" netns "$ns" type veth peer name "h$P$i" netns "$P-hub"
	ip -n "$P-hub" link set "h$P$i" master br0 up
	ip -n "$ns" link set lo up
	ip -n "$ns" link set "v$P$i" up
	shift
	for a in "$@"; do ip -n "$ns" addr add "$a/24" dev "v$P$i"; done
}
on() { local h=$1; shift; ip netns exec "$P-$h" "$@"; }

fleet_network() {
	ip netns add "$P-hub" || skip "cannot create a network namespace"
	on_exit "ip netns del $P-hub"
	ip -n "$P-hub" link add br0 type bridge
	ip -n "$P-hub" link set br0 up
	host_ns db1 192.0.2.11
	host_ns db2 192.0.2.12
	host_ns pop1 192.0.2.21
	host_ns pop2 192.0.2.22
	host_ns smtp1 192.0.2.31
	host_ns smtp2 192.0.2.32
	host_ns client 192.0.2.100 192.0.2.101 192.0.2.102
}

# --- the databases
pg_in_ns() { # HOST DATA ADDR SOCK
	on "$1" setpriv --reuid=authrelay --regid=authrelay --init-groups -- \
	    "$PG_BINDIR/pg_ctl" -D "$2" -l "$2/../log" -w -t 60 \
	    -o "-c listen_addresses='$3' -c unix_socket_directories='$4' -c max_connections=50" \
	    start >/dev/null || { cat "$2/../log"; fail "pg_ctl start on $1"; }
	track_pid "$(head -n 1 "$2/postmaster.pid")"
}

# db1: the primary, reachable over TCP from the fleet (pg_start's
# cluster, restarted in db1's namespace)
fleet_primary() {
	pg_start
	cat >> "$T/pg/data/pg_hba.conf" <<HBA
host all all 192.0.2.0/24 trust
host replication all 192.0.2.0/24 trust
HBA
	pg_stop
	pg_in_ns db1 "$T/pg/data" 192.0.2.11 "$T/pg/sock"
}

# db2: a streaming standby, made over the network
fleet_standby() {
	mkdir -p "$T/pg2/sock"
	chown -R authrelay:authrelay "$T/pg2"
	on db2 setpriv --reuid=authrelay --regid=authrelay --init-groups -- \
	    "$PG_BINDIR/pg_basebackup" -h 192.0.2.11 -U authrelay -D "$T/pg2/data" \
	    -R -X stream -c fast --no-sync >"$T/pg2/basebackup.log" 2>&1 ||
	    { cat "$T/pg2/basebackup.log"; fail "pg_basebackup over the network"; }
	pg_in_ns db2 "$T/pg2/data" 192.0.2.12 "$T/pg2/sock"
	wait_for 60 sql_is streaming "SELECT state FROM pg_stat_replication"
}

# --- POP hosts: real rsyslog, authrelayd as its omprog child
pop_host() { # NAME
	local d=$T/$1
	mkdir -p "$d/rs"
	omprog_conf "$d/authrelay.conf" "$WRITERS" "sweep_interval = 1s"
	rsyslog_trusted_conf "$d/rs" "$d/log.sock" \
	    "$(omprog_action "$d/authrelay.conf" "$d/watcher.log" 60000)" > "$d/rsyslog.conf"
	ip netns exec "$P-$1" rsyslogd -f "$d/rsyslog.conf" -i "$d/rs/pid" -n > "$d/rs/out" 2>&1 &
	track_pid $!
	wait_for 20 test -S "$d/log.sock"
}

# --- SMTP hosts: --sync from the standby, auth-wrap under tcpserver
smtp_host() { # NAME ADDR
	local d=$T/$1
	mkdir -p "$d"
	cat > "$d/authrelay.conf" <<CONF
database = $READERS
cdb_file = $d/relay.cdb
cdb_interval = 100ms
cdb_max_age = ${MAXAGE}s
lookup = cdb
relayuser = yes
user =
pidfile =
CONF
	ip netns exec "$P-$1" "$BIN/authrelayd" --sync -f -v -c "$d/authrelay.conf" > "$d/sync.log" 2>&1 &
	track_pid $!
	SYNC_PIDS+=($!)
	ip netns exec "$P-$1" env AUTHRELAY_CONF="$d/authrelay.conf" \
	    tcpserver -H -R -l "$1" "$2" 25 "$BIN/auth-wrap" \
	    python3 "$TOP/tests/authwrap/smtp-responder.py" example.net 2>>"$d/tcpserver.err" &
	track_pid $!
}

# fleet_stop_sync: TERM both SMTP hosts' --sync by PID and wait (5 s at
# most each) while the network still stands; for `on_exit`, which runs
# before lib.sh's exit removes the namespaces and TERMs what it tracked.
# Once the bridge is gone, a --sync in the middle of a query on its live
# standby (every cdb_interval) would block on the vanished connection,
# not see its TERM, and be killed after 5 s.
SYNC_PIDS=()
fleet_stop_sync() {
	local p i
	for p in "${SYNC_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${SYNC_PIDS[@]}"; do
		for ((i = 0; i < 100; i++)); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.05
		done
	done
}

# fleet_up: the whole fleet, both SMTP hosts connected to the standby
fleet_up() {
	fleet_network
	fleet_primary
	fleet_standby
	pop_host pop1
	pop_host pop2
	smtp_host smtp1 192.0.2.31
	smtp_host smtp2 192.0.2.32
	wait_for 30 grep -q 'event=sync_connected standby=yes' "$T/smtp1/sync.log"
	wait_for 30 grep -q 'event=sync_connected standby=yes' "$T/smtp2/sync.log"
}
