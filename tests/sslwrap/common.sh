# common.sh - helpers for tests/sslwrap/test-*.sh (source after nothing else).
# Every test runs in a private network namespace (no port clashes, and a
# TEST-NET client address on lo): the front listens on 192.0.2.1:995,
# clients connect from 192.0.2.45 or 2001:db8::45.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

[ -x "$BIN/sslwrap-hack" ] || skip "bin/sslwrap-hack not built"
netns_setup 192.0.2.1 192.0.2.45 2001:db8::1 2001:db8::45
CLIENT4=192.0.2.45
CLIENT6=2001:db8::45
FRONT4=192.0.2.1
FRONT6=2001:db8::1

# make_cert: a throw-away P-256 certificate, key readable by root only.
make_cert() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -days 2 -subj /CN=localhost -keyout "$T/key.pem" \
	    -out "$T/cert.pem" 2>/dev/null || fail "openssl req"
	chmod 600 "$T/key.pem"
}

# make_secret VALUE: the shared secret file for the SSL line.
make_secret() {
	printf '%s\n' "$1" >"$T/pass"
	chmod 600 "$T/pass"
}

# listening PORT: something in the namespace listens on TCP PORT.
listening() {
	[ -n "$(in_ns ss -Hltn "sport = :$1")" ]
}

# start_front LOG ARGS...: sslwrap-hack standalone in the namespace,
# logging to LOG; returns when it listens. Sets FRONT_PID.
start_front() {
	local log=$1; shift
	ip netns exec "$NS" "$BIN/sslwrap-hack" -e -v "$@" 2>>"$log" &
	FRONT_PID=$!
	track_pid "$FRONT_PID"
	wait_for 10 grep -q 'event=listen' "$log"
}

# children PID: the PIDs of PID's child processes, one per line.
children() {
	cat "/proc/$1/task/$1/children" 2>/dev/null | tr ' ' '\n' | grep . || true
}
nchildren() { children "$1" | wc -l; }
no_children() { [ "$(nchildren "$1")" -eq 0 ]; }

# nfds PID: how many descriptors PID has open.
nfds() { ls "/proc/$1/fd" | wc -l; }

# start_dovecot PORT NAME PLAINTEXT: a private Dovecot POP3 server in
# the namespace on 127.0.0.1:PORT with a HAProxy (PROXY v1/v2) listener
# trusting loopback, user alice / wonderland, log in $T/NAME/log;
# PLAINTEXT is disable_plaintext_auth (yes: only "secured" sessions,
# i.e. TLS as reported by the proxy, may log in with a password).
start_dovecot() {
	local port=$1 d=$T/$2
	command -v dovecot >/dev/null || skip "dovecot not installed (tools/deps.sh)"
	mkdir -p "$d/run" "$d/home/alice/Maildir/new" "$d/home/alice/Maildir/cur" \
	    "$d/home/alice/Maildir/tmp"
	printf 'From: a@example.org\nSubject: hi\n\nhello\n' \
	    >"$d/home/alice/Maildir/new/1.test.host"
	chown -R authrelay:authrelay "$d/home"
	printf 'alice:{PLAIN}wonderland\n' >"$d/passwd"
	cat >"$d/dovecot.conf" <<EOF
base_dir = $d/run
state_dir = $d/run
log_path = $d/log
protocols = pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = $3
auth_mechanisms = plain
haproxy_trusted_networks = 127.0.0.0/8
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = $d/passwd
}
userdb {
  driver = static
  args = uid=authrelay gid=authrelay home=$d/home/%u
}
service pop3-login {
  inet_listener pop3 {
    port = 0
  }
  inet_listener pop3-haproxy {
    address = 127.0.0.1
    port = $port
    haproxy = yes
  }
}
EOF
	ip netns exec "$NS" dovecot -F -c "$d/dovecot.conf" 2>>"$d/stderr" &
	track_pid $!
	wait_for 15 listening "$port"
}

# tlsclient MODE SRC HOST PORT [ARGS]: tests/sslwrap/tlsclient.py in the namespace.
tlsclient() {
	in_ns python3 "$TOP/tests/sslwrap/tlsclient.py" "$@"
}

# start_echo_backend PORT: real tcpserver on 127.0.0.1:PORT running a
# tiny POP-like script: the greeting quotes the first line received
# (the SSL line or PROXY v1 header), each later line is echoed, QUIT
# or EOF ends it. The first lines are also appended to $T/firstlines.
start_echo_backend() {
	cat >"$T/backend.sh" <<'EOF'
#!/bin/sh
IFS= read -r first
printf '%s\n' "$first" >>"$FIRSTLINES"
printf '+OK hello [%s]\r\n' "$first"
while IFS= read -r line; do
	case $line in
	QUIT*) printf '+OK bye\r\n'; exit 0 ;;
	*) printf '+OK got %s\r\n' "$line" ;;
	esac
done
printf '+OK eof\r\n'
EOF
	chmod 755 "$T/backend.sh"
	: >"$T/firstlines"
	chmod 666 "$T/firstlines"
	FIRSTLINES=$T/firstlines ip netns exec "$NS" \
	    tcpserver -R -H -c 1200 -b 1200 127.0.0.1 "$1" "$T/backend.sh" &
	track_pid $!
	wait_for 10 listening "$1"
}
