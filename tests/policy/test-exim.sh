#!/usr/bin/env bash
# test-exim.sh - a real Exim 4 (Debian's exim4-daemon-light, unpacked from
# its .deb: as a package it conflicts with postfix) runs the recipe's ACL
# statement from etc/exim/ in `exim -bh ADDRESS` sessions, asking a
# standalone authrelay-policy over its unix socket: relaying is accepted
# after a login recorded by the real authrelayd, refused before it, from
# another address, and after the exact expiry.
source "$(dirname "$0")/../lib.sh"
[ "$(id -u)" -eq 0 ] || skip "needs root (private mount namespace)"
[ -x "$BIN/authrelayd" ] && [ -x "$BIN/authrelay-policy" ] ||
    skip "bin/authrelayd or bin/authrelay-policy not built"
getent passwd authrelay >/dev/null || skip "user authrelay missing (tools/deps.sh)"
command -v dpkg >/dev/null || skip "dpkg missing"
. "$TOP/tests/watcher/watcher-lib.sh"

EXIM_DEBS="exim4-daemon-light"
EXIM_CACHE=${EXIM_CACHE:-$TOP/var/cache/debs}
ER=$T/exim/root
if ! sh "$TOP/tools/fetch-debs.sh" "$EXIM_CACHE" $EXIM_DEBS 2>"$T/fetch.err"; then
	cat "$T/fetch.err"
	skip "cannot download Exim's .deb (see above)"
fi
mkdir -p "$ER" "$T/exim/spool" "$T/exim/log"
dpkg -x "$(printf '%s\n' "$EXIM_CACHE"/exim4-daemon-light_*.deb | sort -V | tail -n 1)" \
    "$ER" || fail "dpkg -x exim4-daemon-light failed"
if ldd "$ER/usr/sbin/exim4" | grep -q 'not found'; then
	ldd "$ER/usr/sbin/exim4" | grep 'not found'
	skip "Exim's shared libraries missing"
fi

# Exim looks its compiled-in user and group (Debian-exim) up at start; the
# package's postinst would create them. Here they exist only inside a
# private mount namespace, with the group of the watcher's user, so Exim
# may connect to the policy socket (mode 0660, group authrelay) just as
# -g Debian-exim arranges on a real host.
ar_gid=$(id -g authrelay)
cp /etc/passwd "$T/exim/passwd"
cp /etc/group "$T/exim/group"
echo "Debian-exim:x:64990:$ar_gid::/nonexistent:/usr/sbin/nologin" >>"$T/exim/passwd"
echo "Debian-exim:x:$ar_gid:" >>"$T/exim/group"
chmod 0644 "$T/exim/passwd" "$T/exim/group"

SOCK=$T/policy/policy.sock
mkdir -p "$T/policy"
# The recipe's ACL statement, with this test's socket path.
acl=$(sed -n '/^  accept  condition = \${if def:sender_host_address}/,/^$/p' \
    "$TOP/etc/exim/acl_check_rcpt.conf" |
    sed "s|/run/authrelay-policy/policy.sock|$SOCK|")
assert_contains "$acl" "readsocket" "recipe statement found"
cat >"$T/exim/exim.conf" <<CF
primary_hostname = mx.example.test
domainlist local_domains = example.test
domainlist relay_to_domains =
hostlist relay_from_hosts = 127.0.0.1
spool_directory = $T/exim/spool
log_file_path = $T/exim/log/%slog
acl_smtp_rcpt = acl_check_rcpt
begin acl
acl_check_rcpt:
  accept  hosts = :
  accept  domains = +local_domains
  accept  hosts = +relay_from_hosts
$acl
  require message = relay not permitted
          domains = +local_domains : +relay_to_domains
CF
chmod 0644 "$T/exim/exim.conf"

# rcpt ADDRESS: the RCPT reply code of an `exim -bh ADDRESS` session.
rcpt() {
	printf 'EHLO client.test\r\nMAIL FROM:<sender@example.net>\r\nRCPT TO:<%s>\r\nQUIT\r\n' \
	    "${2:-someone@elsewhere.test}" |
	unshare -m --propagation private sh -c '
		mount --bind "$1/passwd" /etc/passwd &&
		mount --bind "$1/group" /etc/group &&
		exec "$2" -C "$1/exim.conf" -bh "$3"' sh "$T/exim" \
	    "$ER/usr/sbin/exim4" "$1" 2>/dev/null |
	    sed -n 's/^\(2[0-9][0-9]\|5[0-9][0-9]\) .*/\1/p' | sed -n 4p
}
rcpt_is() { [ "$(rcpt "$2")" = "$1" ]; }

pg_start
watcher_start "cdb_file = $T/relay.cdb" "cdb_interval = 50ms" "expire = 20s" \
    "sweep_interval = 1h" "never_relay = 127.0.0.0/8 ::1/128"
# the same file, but user = authrelay: started as root, the policy
# server binds its socket and then drops to that user (the watcher runs
# as root in $T here)
sed 's/^user =.*/user = authrelay/' "$T/authrelay.conf" >"$T/policy.conf"
chmod 0644 "$T/policy.conf"

"$BIN/authrelay-policy" -e -v -c "$T/policy.conf" -l "$SOCK" -g authrelay \
    2>"$T/policy.log" &
track_pid $!
wait_for 10 test -S "$SOCK"
assert_eq "660 root:authrelay" "$(stat -c '%a %U:%G' "$SOCK")" "socket mode"
wait_for 10 pgrep -u authrelay -f "authrelay-policy -e -v -c $T/policy.conf"

assert_eq 250 "$(rcpt 192.0.2.11 postmaster@example.test)" "own domain"
assert_eq 550 "$(rcpt 192.0.2.10)" "relay before login"
ok "Exim refuses relay before a login"

fifo_writer_open
dovecot_login alice 192.0.2.10 >&$FIFO_FD
wait_for 20 rcpt_is 250 192.0.2.10
assert_eq 550 "$(rcpt 192.0.2.11)" "another address"
assert_eq 550 "$(rcpt 2001:db8::11)" "another address (IPv6)"
ok "Exim relays for the logged-in address only"

wait_for 60 rcpt_is 550 192.0.2.10
assert_eq 1 "$(relay_count 192.0.2.10)" "row not yet swept: expiry was exact"
ok "Exim refuses relay after expiry"

assert_contains "$(cat "$T/policy.log")" "event=ok ip=192.0.2.10 user=alice" "policy log"
assert_not_contains "$(cat "$T/policy.log")" "warning: event=no_check" "no faults"
ok "policy answers logged, no faults"
