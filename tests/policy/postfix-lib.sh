# postfix-lib.sh - a private Postfix instance for tests/policy (source after
# tests/lib.sh, netns_setup and watcher_start). Its own config_directory,
# queue_directory and data_directory under $T/pf, logging to a file
# (postlogd), listening on one address inside the namespace $NS; the relay
# rules and the spawn service are the recipe's own lines from etc/postfix/.

PF=$T/pf

require_postfix() {
	[ "$(id -u)" -eq 0 ] || skip "a Postfix instance needs root"
	command -v postfix >/dev/null && [ -x /usr/lib/postfix/sbin/master ] ||
	    skip "Postfix missing (sh tools/deps.sh installs postfix)"
	getent passwd postfix >/dev/null && getent group postdrop >/dev/null ||
	    skip "Postfix's users missing (reinstall the postfix package)"
}

# postfix_start ADDRESS CONF EXTRA_MAIN_CF_LINE...: start master for
# ADDRESS:25 with the recipe's restrictions, authrelay-policy reading CONF.
postfix_start() {
	local addr=$1 conf=$2 line
	shift 2
	mkdir -p "$PF/etc" "$PF/queue" "$PF/data"
	chown postfix "$PF/data"
	{
		cat <<CF
compatibility_level = 3.6
queue_directory = $PF/queue
data_directory = $PF/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = $PF/maillog
maillog_file_prefixes = $PF
myhostname = mx.example.test
mydomain = example.test
mydestination = example.test
inet_interfaces = $addr
inet_protocols = all
mynetworks = 127.0.0.0/8
local_recipient_maps =
alias_maps =
alias_database =
smtpd_peername_lookup = no
smtputf8_enable = no
biff = no
CF
		# the recipe's own lines
		grep -E '^[a-z_]+ *=' "$TOP/etc/postfix/main.cf"
		for line in "$@"; do printf '%s\n' "$line"; done
	} >"$PF/etc/main.cf"
	{
		cat <<CF
$addr:25  inet  n  -  n  -  -  smtpd
pickup    unix  n  -  n  60 1  pickup
cleanup   unix  n  -  n  -  0  cleanup
qmgr      unix  n  -  n  300 1 qmgr
rewrite   unix  -  -  n  -  -  trivial-rewrite
bounce    unix  -  -  n  -  0  bounce
defer     unix  -  -  n  -  0  bounce
trace     unix  -  -  n  -  0  bounce
verify    unix  -  -  n  -  1  verify
flush     unix  n  -  n  1000? 0 flush
proxymap  unix  -  -  n  -  -  proxymap
smtp      unix  -  -  n  -  -  smtp
error     unix  -  -  n  -  -  error
retry     unix  -  -  n  -  -  error
discard   unix  -  -  n  -  -  discard
anvil     unix  -  -  n  -  1  anvil
scache    unix  -  -  n  -  1  scache
postlog   unix-dgram n  -  n  -  1  postlogd
CF
		# the recipe's spawn service, pointed at this build and CONF
		sed -n '/^authrelay /,/^  /p' "$TOP/etc/postfix/master.cf" |
		    sed -e "s|/usr/local/bin/|$BIN/|" \
		    -e "s|/etc/authrelay/authrelay.conf|$conf|"
	} >"$PF/etc/master.cf"
	chmod 0644 "$PF/etc/main.cf" "$PF/etc/master.cf"
	# postfix check wants root-owned, not group/other-writable ancestors
	chmod 0755 "$PF" "$PF/etc"
	ip netns exec "$NS" postfix -c "$PF/etc" start >"$PF/start.log" 2>&1 ||
	    { cat "$PF/start.log" "$PF/maillog" 2>/dev/null || true; fail "postfix start"; }
	wait_for 30 test -s "$PF/queue/pid/master.pid"
	POSTFIX_PID=$(tr -d ' \n' <"$PF/queue/pid/master.pid")
	track_pid "$POSTFIX_PID"
	# stopped by PID (SIGTERM): master takes its children with it
	wait_for 30 grep -q 'daemon started' "$PF/maillog"
}

# rcpt FROM_ADDR RCPT: the RCPT TO reply code from FROM_ADDR.
rcpt() {
	in_ns python3 "$TOP/tests/policy/rcpt-probe.py" "$PF_ADDR" 25 "$1" "$2"
}
rcpt_is() { [ "$(rcpt "$2" "$3")" = "$1" ]; }
