# e2e-lib.sh - the real pieces for tests/e2e/test-*.sh (source after
# tests/lib.sh): a private rsyslogd running the shipped recipe
# etc/rsyslog/authrelay-pipe.conf into authrelayd's FIFO, authrelayd
# started like the systemd unit (root, dropping to authrelay itself,
# capability bounding set CAP_SETUID CAP_SETGID), auth-wrap under the
# real tcpserver, clients bound to chosen source addresses.
# Daemons under test log through /dev/log; start_in_ns_devlog gives them one
# that leads to the private rsyslogd, inside a private mount namespace.
# Background commands are started directly (not through a shell
# function, which would fork a subshell), so track_pid gets their PID.

[ "$(id -u)" -eq 0 ] || skip "needs root (namespaces, privilege drop)"
for _p in rsyslogd tcpserver tcpclient curl unshare setpriv; do
	command -v "$_p" >/dev/null || skip "$_p not installed"
done
for _p in authrelayd authrelayctl auth-wrap; do
	[ -x "$BIN/$_p" ] || skip "bin/$_p not built"
done
. "$TOP/tests/watcher/watcher-lib.sh"

# e2e_rsyslog_start [RECIPE]: rsyslogd on $T/log.sock (trusted
# properties on) running the shipped recipe etc/rsyslog/RECIPE.conf
# (default authrelay-pipe) with its paths pointed into $T and $BIN: the
# FIFO, authrelayd and its config, omprog's output ($T/watcher.log). The
# recipe's own imuxsock module line (authrelay-trusted) is dropped: the
# test's socket replaces the system one. For the record, every login
# line is also written with the trusted template to $T/trusted.log.
e2e_rsyslog_start() {
	local recipe=$TOP/etc/rsyslog/${1:-authrelay-pipe}.conf
	mkdir -p "$T/rsyslog"
	{
		cat <<CONF
global(workDirectory="$T/rsyslog")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="$T/log.sock" Annotate="on" ParseTrusted="on" UsePIDFromSystem="on")
CONF
		sed -e '/^module(load="imuxsock"/,/)$/d' \
		    -e "s|/run/authrelay/fifo|$T/fifo|" \
		    -e "s|/usr/local/bin/authrelayd|$BIN/authrelayd|" \
		    -e "s|/etc/authrelay/authrelay.conf|$T/authrelay.conf|" \
		    -e "s|/var/log/authrelayd.log|$T/watcher.log|" "$recipe"
		grep -q 'template(name="authrelay_trusted"' "$recipe" ||
		    sed -n '/^template(name="authrelay_trusted"/,/^}/p' \
		    "$TOP/etc/rsyslog/authrelay-trusted.conf"
		cat <<CONF
if (\$syslogfacility-text == "mail") then {
  action(type="omfile" file="$T/trusted.log" template="authrelay_trusted")
}
CONF
	} > "$T/rsyslog.conf"
	rsyslogd -N1 -f "$T/rsyslog.conf" >"$T/rsyslog.check" 2>&1 ||
	    { cat "$T/rsyslog.check"; fail "rsyslogd -N1 rejects the test config"; }
	rsyslogd -n -f "$T/rsyslog.conf" -i "$T/rsyslog/pid" 2>"$T/rsyslog.err" &
	RSYSLOG_PID=$!
	track_pid "$RSYSLOG_PID"
	wait_for 10 test -S "$T/log.sock"
	chmod 0666 "$T/log.sock"
}

# e2e_fifo: the FIFO as etc/tmpfiles/authrelay.conf makes it.
e2e_fifo() {
	[ -p "$T/fifo" ] || mkfifo -m 0620 "$T/fifo"
	chgrp authrelay "$T/fifo"
}

# e2e_config LINES...: authrelay.conf for the watcher and auth-wrap; the
# watcher drops to authrelay and writes the snapshot auth-wrap reads.
e2e_config() {
	mkdir -p "$T/cdb"
	chown authrelay:authrelay "$T/cdb"
	watcher_config "user = authrelay" "cdb_file = $T/cdb/relay.cdb" \
	    "cdb_interval = 50ms" "lookup = cdb" "relayuser = yes" "$@"
	"$BIN/authrelayd" -n -c "$T/authrelay.conf" >"$T/check.log" 2>&1 ||
	    { cat "$T/check.log"; fail "authrelayd -n rejects the test config"; }
}

# e2e_watcher_start: authrelayd on the FIFO as the systemd unit runs
# it: as root with only CAP_SETUID and CAP_SETGID in the bounding set,
# dropping to authrelay itself.
e2e_watcher_start() {
	e2e_fifo
	setpriv --bounding-set=-all,+setuid,+setgid --no-new-privs -- \
	    "$BIN/authrelayd" -f -v -c "$T/authrelay.conf" >"$T/watcher.log" 2>&1 &
	WATCHER_PID=$!
	track_pid "$WATCHER_PID"
	wait_for 20 grep -q 'event=db_connected' "$T/watcher.log"
	assert_eq authrelay "$(ps -o user= -p "$WATCHER_PID")" \
	    "authrelayd dropped to user authrelay"
}

# Shell text, run inside a private mount namespace with $t set: a fresh
# /dev holding only the usual devices and a /dev/log that is $t/log.sock
# (the test's private rsyslog), so a real daemon logs there unchanged.
E2E_PRIVATE_DEVLOG='
mkdir -p "$t/hostdev"
mount --bind /dev "$t/hostdev"
mount -t tmpfs -o mode=0755,size=64k authrelay-dev /dev
for d in null zero full random urandom tty; do
	: > "/dev/$d"
	mount --bind "$t/hostdev/$d" "/dev/$d"
done
umount -l "$t/hostdev"
: > /dev/log
mount --bind "$t/log.sock" /dev/log
'

# start_in_ns_devlog ERRFILE CMD...: start CMD in the background inside
# the netns, in a private mount namespace whose /dev is a small tmpfs
# with the usual character devices and /dev/log leading to $T/log.sock;
# nothing changes outside. ip, unshare and sh each exec the next, so the
# tracked PID is CMD's own.
start_in_ns_devlog() {
	local err=$1; shift
	ip netns exec "$NS" unshare -m --propagation private sh -ec '
		t=$1; shift
		'"$E2E_PRIVATE_DEVLOG"'
		exec "$@"' start_in_ns_devlog "$T" "$@" 2>"$err" &
	track_pid $!
}

require_dovecot() {
	command -v dovecot >/dev/null || skip "dovecot not installed (dovecot-pop3d, dovecot-imapd)"
	[ -x /usr/lib/dovecot/pop3 ] && [ -x /usr/lib/dovecot/imap ] ||
	    skip "dovecot-pop3d and dovecot-imapd needed"
	getent passwd dovenull >/dev/null || skip "dovecot's dovenull user missing"
}

# dovecot_start USERS...: Dovecot from Debian, POP3 on $POP and IMAP on
# $IMAP at $SRV4, $SRV6 and loopback inside the netns; its own base_dir,
# state and Maildirs under $T; logs only to syslog (facility mail), so
# through /dev/log into the private rsyslogd. User U has password pw-U.
POP=11110 IMAP=11143
dovecot_start() {
	local d=$T/dovecot u
	mkdir -p "$d/run" "$d/state" "$T/mail"
	chown 65534:65534 "$T/mail"
	for u in "$@"; do
		echo "$u:{PLAIN}pw-$u::::::"
	done > "$d/passwd"
	chmod 0644 "$d/passwd"
	cat > "$d/dovecot.conf" <<CONF
base_dir = $d/run
state_dir = $d/state
instance_name = dovecot
protocols = pop3 imap
listen = $SRV4, $SRV6, 127.0.0.1, ::1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
auth_failure_delay = 0
# Dovecot's default set plus a few non-ASCII letters (issue 16): the
# check is per byte, so listing "ö" allows its two UTF-8 bytes.
auth_username_chars = abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01234567890.-_@äöüß
login_trusted_networks =
log_path = syslog
syslog_facility = mail
mail_location = maildir:$T/mail/%u
first_valid_uid = 1
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $d/passwd
}
userdb {
  driver = static
  args = uid=65534 gid=65534 home=$T/mail/%u
}
service pop3-login {
  inet_listener pop3 {
    port = $POP
  }
  inet_listener pop3s {
    port = 0
  }
}
service imap-login {
  inet_listener imap {
    port = $IMAP
  }
  inet_listener imaps {
    port = 0
  }
}
CONF
	start_in_ns_devlog "$d/stderr" dovecot -F -c "$d/dovecot.conf"
	wait_for 20 port_open $SRV4 $POP
	wait_for 10 port_open $SRV4 $IMAP
}
port_open() { in_ns bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

# login SRC SCHEME USER PASS HOST PORT: a real curl login from SRC
# (USER and PASS percent-encoded where the URL needs it).
login() {
	in_ns curl -s -S --max-time 10 --interface "$1" \
	    "$2://$3:$4@$5:$6/" -o /dev/null 2>>"$T/curl.err"
}

# e2e_smtp_start ADDR PORT: tcpserver (as nobody, like qmaild) running
# auth-wrap, whose program reports what it was given.
e2e_smtp_start() {
	ip netns exec "$NS" tcpserver -R -H -u 65534 -g 65534 "$1" "$2" \
	    env AUTHRELAY_CONF="$T/authrelay.conf" "$BIN/auth-wrap" \
	    sh -c 'echo "RELAYCLIENT=${RELAYCLIENT-unset} RELAYUSER=${RELAYUSER-unset} ip=$TCPREMOTEIP"' \
	    2>>"$T/tcpserver.err" &
	track_pid $!
}

# smtp_from SRC ADDR PORT: connect from SRC, print what auth-wrap passed on.
smtp_from() {
	in_ns tcpclient -R -H -i "$1" "$2" "$3" sh -c 'exec cat <&6' 2>/dev/null
}
# relay_verdict SRC ADDR PORT: "yes USER" or "no".
relay_verdict() {
	local out
	out=$(smtp_from "$@")
	case $out in
	"RELAYCLIENT= RELAYUSER="*) set -- $out; echo "yes ${2#RELAYUSER=}" ;;
	"RELAYCLIENT=unset "*) echo no ;;
	*) echo "bad: $out" ;;
	esac
}
verdict_is() { [ "$(relay_verdict "$2" "$3" "$4")" = "$1" ]; }

# auth-wrap as an IPv6 tcpserver would run it (Debian's tcpserver is
# IPv4 only): TCPREMOTEIP set, as nobody.
relay_verdict6() {
	local out
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups -- env -i \
	    PATH=/usr/bin:/bin PROTO=TCP6 TCPREMOTEIP="$1" TCP6REMOTEIP="$1" \
	    AUTHRELAY_CONF="$T/authrelay.conf" "$BIN/auth-wrap" \
	    sh -c 'echo "RELAYCLIENT=${RELAYCLIENT-unset} RELAYUSER=${RELAYUSER-unset}"' 2>/dev/null)
	case $out in
	"RELAYCLIENT= RELAYUSER="*) set -- $out; echo "yes ${2#RELAYUSER=}" ;;
	"RELAYCLIENT=unset "*) echo no ;;
	*) echo "bad: $out" ;;
	esac
}
verdict6_is() { [ "$(relay_verdict6 "$2")" = "$1" ]; }

# event_is IP OUTCOME [REASON]: the newest audit row for IP.
last_event() {
	sql "SELECT outcome || coalesce(' ' || reason, '') FROM login_event
	    WHERE ip = '$1' ORDER BY id DESC LIMIT 1"
}
event_is() { [ "$(last_event "$1")" = "$2" ]; }

# e2e_assert_logins_and_relays: after the logins of test-dovecot.sh and
# test-courier.sh (same names and addresses): what the watcher recorded,
# and that auth-wrap under tcpserver lets exactly the logged-in addresses relay.
e2e_assert_logins_and_relays() {
	assert_eq 0 "$(sql "SELECT count(*) FROM login_event WHERE ip = '$MALLORY'")" "failed login not recorded"
	assert_eq "$EXPIRE" "$(sql "SELECT extract(epoch FROM expires_at - last_seen)::int FROM relay WHERE ip = '$ALICE'")" \
	    "relay lasts the configured expiry"
	audit=$("$BIN/authrelayctl" -c "$T/authrelay.conf" audit --ip 127.0.0.1 2>&1) ||
	    fail "authrelayctl audit: $audit"
	assert_contains "$audit" "carol" "authrelayctl audit shows the loopback login"
	assert_contains "$audit" "never_relay:loopback" "authrelayctl audit gives the reason"
	ok "watcher recorded alice, erin, bob; loopback audited, not granted; mallory absent"

	# --- auth-wrap under tcpserver: who may relay
	e2e_smtp_start 0 $SMTP
	wait_for 10 port_open $SRV4 $SMTP
	wait_for 10 verdict_is "yes alice" $ALICE $SRV4 $SMTP
	assert_eq "yes erin" "$(relay_verdict $ERIN $SRV4 $SMTP)" "erin relays (IMAP login)"
	assert_eq no "$(relay_verdict $MALLORY $SRV4 $SMTP)" "failed login does not relay"
	assert_eq no "$(relay_verdict 127.0.0.1 127.0.0.1 $SMTP)" "loopback does not relay"
	assert_eq "yes bob" "$(relay_verdict6 $BOB)" "bob relays (IPv6)"
	assert_eq no "$(relay_verdict6 ::1)" "::1 does not relay"
	assert_eq no "$(relay_verdict6 2001:db8::11)" "other IPv6 address does not relay"
	out=$(smtp_from $ALICE $SRV4 $SMTP)
	assert_contains "$out" "ip=$ALICE" "tcpserver passed the real source address"
	ok "auth-wrap under tcpserver: exactly the logged-in addresses relay"
}
