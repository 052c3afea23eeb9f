# pop-lib.sh - helpers shared by tests/pop/test-*.sh (source after tests/lib.sh).
# A private rsyslogd on its own socket, Maildirs owned by nobody, and
# tcpserver instances of the real chain popup -> checkpassword -> pop3d.

POPUP=${POPUP:-$BIN/qmail-popup-hack}	# overridable: sanitizer builds
POP3D=${POP3D:-$BIN/qmail-pop3d-hack}
CHECKPW=$TOP/build/tests-bin/checkpassword-test
PYPOP=$TOP/tests/pop/poptest.py
for _b in "$POPUP" "$POP3D" "$CHECKPW"; do
	[ -x "$_b" ] || fail "missing $_b: run make all test-programs"
done
command -v tcpserver >/dev/null || skip "tcpserver (ucspi-tcp) not installed"
command -v rsyslogd >/dev/null || skip "rsyslogd not installed"
[ "$(id -u)" -eq 0 ] || skip "needs root (checkpassword must setuid)"

MAILUSER=nobody
MAILGROUP=$(id -gn nobody)
export CHECKPW_TEST_HOME=$T/home CHECKPW_TEST_ACCOUNT=$MAILUSER
export CHECKPW_TEST_RECORD=$T/checkpw.record
export AUTHRELAY_SYSLOG_SOCKET=$T/log.sock
export AUTHRELAY_POP_FAIL_DELAY=${AUTHRELAY_POP_FAIL_DELAY:-200ms}
export PYTHONPATH=$TOP/tests/pop
mkdir -p "$T/home"
touch "$CHECKPW_TEST_RECORD"

# syslog_start: rsyslogd writing traditional lines to $T/syslog and
# "uid=N tag=... msg=..." (SCM_CREDENTIALS, not the text) to $T/syslog.uid.
syslog_start() {
	mkdir -p "$T/rsyslog"
	cat >"$T/rsyslog.conf" <<EOC
global(workDirectory="$T/rsyslog")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="$T/log.sock" Annotate="on" ParseTrusted="on")
template(name="uid" type="string" string="uid=%\$!uid% tag=%syslogtag% msg=%msg:2:\$%\n")
*.* action(type="omfile" file="$T/syslog" template="RSYSLOG_TraditionalFileFormat")
*.* action(type="omfile" file="$T/syslog.uid" template="uid")
EOC
	rsyslogd -n -f "$T/rsyslog.conf" -i "$T/rsyslog.pid" 2>"$T/rsyslog.err" &
	track_pid $!
	wait_for 10 test -S "$T/log.sock"
}

# mk_maildir USER: an empty Maildir in $T/home/USER, owned by $MAILUSER.
mk_maildir() {
	local d=$T/home/$1/Maildir
	mkdir -p "$d/new" "$d/cur" "$d/tmp"
	chown -R "$MAILUSER:$MAILGROUP" "$T/home/$1"
	chmod 700 "$d"
}

# put_msg USER SUBDIR NAME EPOCH: stdin becomes a message with that mtime.
put_msg() {
	local f=$T/home/$1/Maildir/$2/$3
	cat >"$f"
	touch -d "@$4" "$f"
	chown "$MAILUSER:$MAILGROUP" "$f"
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# pop_start VAR=value...: a tcpserver on 127.0.0.1:$PORT running the chain
# with those extra environment settings; sets PORT. $POP_SUBPROGRAM, when
# set, replaces qmail-pop3d-hack as what checkpassword runs.
pop_start() {
	PORT=$(free_port)
	env "$@" tcpserver -R -H -l mail.test 127.0.0.1 "$PORT" \
	    "$POPUP" mail.test "$CHECKPW" "${POP_SUBPROGRAM:-$POP3D}" Maildir \
	    2>>"$T/tcpserver.err" &
	track_pid $!
	wait_for 10 port_listening "$PORT"
}

port_listening() {
	ss -ltnH "sport = :$1" | grep -q LISTEN
}

# log_has PATTERN: wait until an extended regex matches a syslog line.
log_has() {
	wait_for 10 grep -Eq -- "$1" "$T/syslog"
}

# Each login line matches the strict format and parses with the real parser.
# The user: the safe set, \xHH escapes, and bytes above 0x7e (UTF-8).
LOGIN_RE='^[A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} [^ ]+ qmail-popup-hack\[[0-9]+\]: login ok svc=(pop3|pop3s) ip=[0-9a-f:.]+ user=([A-Za-z0-9._@+=-]|\\x[0-9a-f]{2}|[^[:cntrl:][:print:]])+ auth=(user|apop) via=(tcp|ssl|proxy)$'
check_parses() { # LINE IP USER
	local out
	printf '%s\n' "$1" | LC_ALL=C grep -Eq -- "$LOGIN_RE" ||
	    fail "login line does not match the strict format: $1"
	out=$(printf '%s\n' "$1" | "$BIN/authrelayctl" parse -p "$TOP/parsers" 2>/dev/null)
	assert_contains "$out" "\"ip\":\"$2\"" "authrelayctl parse ip"
	assert_contains "$out" "\"user\":\"$3\"" "authrelayctl parse user"
}
