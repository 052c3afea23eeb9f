# watcher-lib.sh - start a real authrelayd on a real FIFO against pg_start's cluster.
# Source after tests/lib.sh. watcher_start [extra config lines...]

# A Dovecot 2.3 success line for user $1 from address $2 (service $3, default imap).
dovecot_login() {
	printf '%s mx dovecot: %s-login: Login: user=<%s>, method=PLAIN, rip=%s, lip=192.0.2.1, mpid=%d, TLS, session=<abc%d>\n' \
	    "$(date '+%b %e %H:%M:%S')" "${3:-imap}" "$1" "$2" $RANDOM $RANDOM
}

# config_write FILE FIFO DATABASE [LINE...]: an authrelay.conf for the
# tests (parsers from this tree, no privilege drop, no pidfile); LINEs
# are added as they are.
config_write() {
	local f=$1 fifo=$2 db=$3
	shift 3
	{
		cat <<CONF
fifo = $fifo
database = $db
parsers = $TOP/parsers
user =
pidfile =
CONF
		[ $# -eq 0 ] || printf '%s\n' "$@"
	} > "$f"
}

watcher_config() {
	config_write "$T/authrelay.conf" "$T/fifo" "$AUTHRELAY_DB" "$@"
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

# audit_mark: the newest audit row's id, before a bench's ingest run.
audit_mark() { sql "SELECT coalesce(max(id), 0) FROM login_event"; }

# wait_ingested LIMIT IP USER COUNT [MARK]: the benches' end of an ingest
# run: first the run's last login (from IP as USER) is committed (an index
# probe), then COUNT audit rows are newer than MARK (audit_mark before the
# run; default 0, an empty table). Counting the whole table, every few
# milliseconds from the start or once at the end, would steal time from
# the run being measured, the more the larger the audit trail (a second
# on 10 M rows); rows past MARK are one index range. rsyslog may hand
# lines on out of order, so the count is waited for too, not assumed; a
# line that never comes (rsyslog's ompipe can lose some) fails the run
# within a minute, naming the count, rather than hanging it. Both
# queries name a time as a constant, so PostgreSQL plans only the day
# partitions since (a fresh session planning all of them for every probe
# would steal a core itself).
wait_ingested() {
	local since
	since="'$(date -u -d "-$(($1 + 3600)) seconds" '+%F %T')+00'"
	wait_for "$1" sql_is t "SELECT EXISTS (SELECT 1 FROM login_event
	    WHERE ip = '$2' AND username = '$3' AND at > $since)"
	local deadline=$((SECONDS + 60)) n
	while n=$(sql "SELECT count(*) FROM login_event WHERE id > ${5:-0} AND at > $since"); [ "$n" != "$4" ]; do
		[ "$SECONDS" -lt "$deadline" ] ||
		    fail "only $n of $4 audit rows a minute after the last login"
		sleep 0.05
	done
}

# rsyslog_trusted_conf WORKDIR SOCKET ACTION: an rsyslog.conf whose local
# SOCKET annotates each message with the sender's kernel credentials, and
# whose mail.* lines go to ACTION (an rsyslog action(...) statement) with
# the trusted template from etc/rsyslog/authrelay-trusted.conf's layout.
rsyslog_trusted_conf() {
	cat <<CONF
global(workDirectory="$1" parser.escapeControlCharactersOnReceive="on")
module(load="imuxsock" SysSock.Use="off")
module(load="omprog")
input(type="imuxsock" Socket="$2" Annotate="on" ParseTrusted="on" UsePIDFromSystem="on")
template(name="authrelay_trusted" type="list") {
  constant(value="v1 t=") property(name="timegenerated" dateFormat="unixtimestamp")
  constant(value=" uid=") property(name="\$!uid")
  constant(value=" pid=") property(name="\$!pid")
  constant(value=" in=") property(name="inputname")
  constant(value=" from=") property(name="fromhost-ip")
  constant(value=" prog=") property(name="programname")
  constant(value=" msg=") property(name="rawmsg-after-pri" controlCharacters="escape" position.from="1" position.to="2000")
  constant(value="\n")
}
mail.* $3
CONF
}

# omprog_conf FILE DATABASE [LINE...]: authrelayd as rsyslog's omprog
# child (confirmed, its journal beside FILE), reading the trusted template
# from vchkpw and root; LINEs are added as they are.
omprog_conf() {
	local f=$1 db=$2
	shift 2
	config_write "$f" - "$db" "confirm = yes" \
	    "confirm_journal = $(dirname "$f")/omprog.journal" \
	    "input_format = trusted" "require_trusted = yes" \
	    "trusted_uids = vchkpw:0" "$@"
}

# omprog_action CONF OUTPUT TIMEOUT-MS [PARAMS]: the rsyslog action that
# runs authrelayd -c CONF (omprog_conf) with confirmed transactions.
omprog_action() {
	printf 'action(type="omprog" binary="%s -f -c %s"\n' "$BIN/authrelayd" "$1"
	printf '    template="authrelay_trusted" confirmMessages="on" useTransactions="on"\n'
	printf '    confirmTimeout="%s" reportFailures="on" output="%s"\n' "$3" "$2"
	[ -z "${4:-}" ] || printf '    %s\n' "$4"
	printf '    action.resumeRetryCount="-1" action.resumeInterval="1")'
}

# rsyslog_start ACTION: a private rsyslogd on $T/log.sock (rsyslog_trusted_conf).
rsyslog_start() {
	mkdir -p "$T/rs"
	rsyslog_trusted_conf "$T/rs" "$T/log.sock" "$1" > "$T/rs/rsyslog.conf"
	rsyslogd -f "$T/rs/rsyslog.conf" -i "$T/rs/pid" -n > "$T/rs/out" 2>&1 &
	RSYSLOG_PID=$!
	track_pid "$RSYSLOG_PID"
	wait_for 10 test -S "$T/log.sock"
	chmod 0666 "$T/log.sock"
}

# log_as USER TAG MESSAGE: send a mail.notice line to the private rsyslog.
log_as() {
	if [ "$1" = root ]; then
		logger -u "$T/log.sock" -t "$2" -p mail.notice -- "$3"
	else
		setpriv --reuid="$1" --regid="$1" --clear-groups -- \
		    logger -u "$T/log.sock" -t "$2" -p mail.notice -- "$3"
	fi
}

# last_ip OCTET I: the address the benches' generators give login I.
last_ip() { echo "$1.$((($2 >> 16) & 255)).$((($2 >> 8) & 255)).$(($2 & 255))"; }
