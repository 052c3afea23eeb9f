# watcher-lib.sh - start a real authrelayd on a real FIFO against pg_start's cluster.
# Source after tests/lib.sh. watcher_start [extra config lines...]

# A Dovecot 2.3 success line for user $1 from address $2 (service $3, default imap).
dovecot_login() {
	printf '%s mx dovecot: %s-login: Login: user=<%s>, method=PLAIN, rip=%s, lip=192.0.2.1, mpid=%d, TLS, session=<abc%d>\n' \
	    "$(date '+%b %e %H:%M:%S')" "${3:-imap}" "$1" "$2" $RANDOM $RANDOM
}

watcher_config() {
	cat > "$T/authrelay.conf" <<CONF
fifo = $T/fifo
database = $AUTHRELAY_DB
parsers = $TOP/parsers
user =
pidfile =
CONF
	local line
	for line in "$@"; do
		printf '%s\n' "$line" >> "$T/authrelay.conf"
	done
}

watcher_start() {
	[ -p "$T/fifo" ] || mkfifo -m 0620 "$T/fifo"
	watcher_config "$@"
	"$BIN/authrelayd" -f -v -c "$T/authrelay.conf" >"$T/watcher.log" 2>&1 &
	WATCHER_PID=$!
	track_pid "$WATCHER_PID"
	wait_for 20 grep -q 'event=db_connected' "$T/watcher.log"
}

# Keep a writer open on the FIFO, like rsyslog's ompipe does.
fifo_writer_open() {
	exec {FIFO_FD}<>"$T/fifo"
}

relay_count() { sql "SELECT count(*) FROM relay WHERE ip = '$1'"; }
has_relay() { [ "$(relay_count "$1")" = 1 ]; }
audit_count() { sql "SELECT count(*) FROM login_event WHERE ip = '$1' $2"; }
