#!/usr/bin/env bash
# test-install.sh - `make install` into a DESTDIR: every file where and
# with the mode it belongs, paths adjusted to PREFIX/SYSCONFDIR, an
# edited config never overwritten, and the installed pieces really work:
# authrelayd -n accepts the installed config and parsers, rsyslog and
# systemd accept the installed recipes, tcprules the tcp.smtp sample,
# systemd-tmpfiles makes the FIFO as documented.
source "$(dirname "$0")/../lib.sh"
[ -x "$BIN/authrelayd" ] || skip "bin/authrelayd not built"

root=$T/root
inst() {
	make -C "$TOP" --no-print-directory install DESTDIR="$root" PREFIX=/usr \
	    SYSCONFDIR=/etc/authrelay >"$T/install.log" 2>&1 ||
	    { cat "$T/install.log"; fail "make install"; }
}
mode_of() { stat -c %a "$1"; }
inst

# programs: every one built into bin/, executable by all, writable by none
n=0
for p in "$BIN"/*; do
	f=$root/usr/bin/${p##*/}
	[ -f "$f" ] || fail "program ${p##*/} not installed"
	assert_eq 755 "$(mode_of "$f")" "mode of $f"
	cmp -s "$p" "$f" || fail "$f differs from bin/"
	n=$((n + 1))
done
[ "$n" -ge 1 ] || fail "no programs in bin/"
ok "$n programs in /usr/bin, mode 0755"

# parsers, sql, man pages: same names as the sources, mode 0644
check_dir() { # SRC_GLOB DEST_DIR
	local src dest count=0
	for src in $1; do
		dest=$2/${src##*/}
		[ -f "$dest" ] || fail "$dest missing"
		assert_eq 644 "$(mode_of "$dest")" "mode of $dest"
		cmp -s "$src" "$dest" || fail "$dest differs from $src"
		count=$((count + 1))
	done
	[ "$count" -ge 1 ] || fail "nothing matched $1"
}
check_dir "$TOP/parsers/*.conf" "$root/usr/share/authrelay/parsers"
check_dir "$TOP/sql/*.sql" "$root/usr/share/authrelay/sql"
check_dir "$TOP/man/*.8" "$root/usr/share/man/man8"
check_dir "$TOP/man/*.5" "$root/usr/share/man/man5"
ok "parsers, sql, man pages installed"

# the config: 0644, parsers key says the installed place (not /usr/local)
conf=$root/etc/authrelay/authrelay.conf
[ -f "$conf" ] || fail "config not installed"
assert_eq 644 "$(mode_of "$conf")" "config mode"
grep -qx 'parsers = /usr/share/authrelay/parsers' "$conf" ||
    fail "installed config does not point at /usr/share/authrelay/parsers"
[ ! -e "$conf.new" ] || fail "authrelay.conf.new on a first install"
ok "config installed with PREFIX paths"

# examples: present, executable run scripts, no /usr/local left
ex=$root/usr/share/authrelay/examples
for f in systemd/authrelayd.service systemd/sslwrap-hack.service \
    systemd/authrelay-policy.service postfix/master.cf postfix/main.cf \
    exim/acl_check_rcpt.conf tmpfiles/authrelay.conf rsyslog/authrelay-pipe.conf \
    rsyslog/authrelay-omprog.conf rsyslog/authrelay-trusted.conf \
    syslog-ng/authrelay.conf syslog/syslog.conf tcp.smtp; do
	[ -f "$ex/$f" ] || fail "example $f missing"
done
for f in authrelayd/run authrelayd/log/run pop3s/run pop3s/log/run \
    pop3-backend/run pop3-backend/log/run smtpd/run smtpd/log/run; do
	assert_eq 755 "$(mode_of "$ex/daemontools/$f")" "mode of run script $f"
	sh -n "$ex/daemontools/$f" || fail "run script $f: syntax"
done
if grep -rl /usr/local/ "$ex" >"$T/local.txt"; then
	fail "examples still name /usr/local: $(cat "$T/local.txt")"
fi
grep -q 'ExecStart=/usr/bin/authrelayd -f -c /etc/authrelay/authrelay.conf' \
    "$ex/systemd/authrelayd.service" || fail "unit not adjusted to PREFIX"
ok "examples installed, adjusted to PREFIX"

# a second install keeps an edited config, offers the new one beside it
printf 'expire = 42m # edited by the admin\n' >> "$conf"
cp "$conf" "$T/edited.conf"
inst
cmp -s "$T/edited.conf" "$conf" || fail "second install changed the edited config"
[ -f "$conf.new" ] || fail "no authrelay.conf.new on the second install"
grep -q 'edited by the admin' "$conf.new" && fail "authrelay.conf.new is not the sample"
assert_contains "$(cat "$T/install.log")" "kept existing" "second install says so"
ok "second install keeps the edited config"

# the installed authrelayd checks the installed config and parsers
sed "s|^parsers = .*|parsers = $root/usr/share/authrelay/parsers|" "$conf" > "$T/check.conf"
out=$("$root/usr/bin/authrelayd" -n -c "$T/check.conf" 2>&1) ||
    fail "authrelayd -n rejected the installed config: $out"
assert_contains "$out" "config ok" "authrelayd -n"
assert_contains "$out" " 0 failures" "parser samples"
# and refuses a broken one (so the check above could fail)
printf 'expire = soon\n' >> "$T/check.conf"
"$root/usr/bin/authrelayd" -n -c "$T/check.conf" >/dev/null 2>&1 &&
    fail "authrelayd -n accepted a bad duration"
ok "installed authrelayd -n accepts the installed config"

# rsyslog accepts each recipe as installed; the trusted one also inside
# Debian's own rsyslog.conf, whose imuxsock line it replaces
mkdir -p "$T/rsyslog"
for f in authrelay-pipe authrelay-omprog authrelay-trusted; do
	(cd "$T/rsyslog" && rsyslogd -N1 -f "$ex/rsyslog/$f.conf") >"$T/rs.log" 2>&1 ||
	    { cat "$T/rs.log"; fail "rsyslogd -N1 rejects $f.conf"; }
done
if [ -f /etc/rsyslog.conf ]; then
	sed -e 's|^module(load="imuxsock").*|# imuxsock: see authrelay-trusted.conf|' \
	    -e "s|^\\\$IncludeConfig.*|include(file=\"$ex/rsyslog/authrelay-trusted.conf\")|" \
	    -e "s|^\\\$WorkDirectory.*|\$WorkDirectory $T/rsyslog|" \
	    /etc/rsyslog.conf > "$T/rsyslog-full.conf"
	rsyslogd -N1 -f "$T/rsyslog-full.conf" >"$T/rs.log" 2>&1 ||
	    { cat "$T/rs.log"; fail "Debian rsyslog.conf + authrelay-trusted.conf rejected"; }
fi
ok "rsyslogd -N1 accepts the rsyslog recipes"

# syslog-ng (not installable next to rsyslog on Debian, so only where it
# is the system's syslog): the recipe inside Debian's syslog-ng.conf
if command -v syslog-ng >/dev/null && [ -f /etc/syslog-ng/syslog-ng.conf ]; then
	sed "s|^@include \"/etc/syslog-ng/conf.d/\*.conf\"|@include \"$ex/syslog-ng/authrelay.conf\"|" \
	    /etc/syslog-ng/syslog-ng.conf > "$T/syslog-ng.conf"
	syslog-ng --syntax-only -f "$T/syslog-ng.conf" >"$T/sng.log" 2>&1 ||
	    { cat "$T/sng.log"; fail "syslog-ng --syntax-only rejects the recipe"; }
	ok "syslog-ng --syntax-only accepts the recipe"
fi

# tcprules builds the sample; your network relays, others only connect
tcprules "$T/tcp.smtp.cdb" "$T/tcp.smtp.tmp" < "$ex/tcp.smtp" ||
    fail "tcprules rejects tcp.smtp"
out=$(env -i TCPREMOTEIP=192.168.1.5 tcprulescheck "$T/tcp.smtp.cdb")
assert_contains "$out" "set environment variable RELAYCLIENT=" "local network relays"
out=$(env -i TCPREMOTEIP=198.51.100.7 tcprulescheck "$T/tcp.smtp.cdb")
assert_not_contains "$out" "RELAYCLIENT" "stranger gets no RELAYCLIENT"
assert_contains "$out" "allow connection" "stranger may connect"
out=$(env -i TCPREMOTEIP=127.0.0.1 tcprulescheck "$T/tcp.smtp.cdb")
assert_not_contains "$out" "RELAYCLIENT" "loopback gets no RELAYCLIENT"
ok "tcp.smtp sample"

# systemd-tmpfiles makes exactly the documented FIFO and directories
if command -v systemd-tmpfiles >/dev/null && getent group authrelay >/dev/null; then
	tr=$T/tmpfiles-root
	mkdir -p "$tr/etc"
	cp /etc/passwd /etc/group "$tr/etc/"
	systemd-tmpfiles --create --root="$tr" "$ex/tmpfiles/authrelay.conf" ||
	    fail "systemd-tmpfiles --create"
	assert_eq "fifo 620 root:authrelay" \
	    "$(stat -c '%F %a %U:%G' "$tr/run/authrelay/fifo")" "FIFO"
	assert_eq "directory 750 root:authrelay" \
	    "$(stat -c '%F %a %U:%G' "$tr/run/authrelay")" "FIFO directory"
	assert_eq "directory 755 authrelay:authrelay" \
	    "$(stat -c '%F %a %U:%G' "$tr/var/lib/authrelay")" "state directory"
	ok "tmpfiles.d snippet"
fi

# systemd accepts the units (binaries pointed into DESTDIR; missing man
# pages are the only complaint allowed, they are not installed system-wide)
if command -v systemd-analyze >/dev/null; then
	mkdir -p "$T/units"
	for u in authrelayd sslwrap-hack authrelay-policy; do
		sed "s|=/usr/bin/|=$root/usr/bin/|" "$ex/systemd/$u.service" > "$T/units/$u.service"
	done
	(cd "$T/units" && systemd-analyze verify ./authrelayd.service \
	    ./sslwrap-hack.service ./authrelay-policy.service) >"$T/verify.log" 2>&1 || true
	if grep -v "Command 'man " "$T/verify.log" | grep -q .; then
		cat "$T/verify.log"
		fail "systemd-analyze verify complains"
	fi
	ok "systemd-analyze verify accepts the units"
fi
