#!/bin/bash
# in-chroot.sh - run by package-check.sh as root inside a fresh Debian 12 chroot: install, check, reinstall, upgrade and purge the authrelay packages as an administrator would.
# Usage: bash in-chroot.sh DIR
# DIR holds the .debs, authrelay_<v>+conffile_*.deb (the same package with
# a changed authrelay.conf, for the conffile prompt), programs.txt (one
# program name a line, what the build put in bin/) and manpages.txt (one
# man page file name a line, what man/ holds). Prints "ok: ..." per check
# and "not ok: ..." on the first failure (exit 1).
set -euo pipefail
dir=$1
cd "$dir"
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8
passed=0
fail() { printf 'not ok: %s\n' "$*" >&2; exit 1; }
ok() { printf 'ok: %s\n' "$*"; passed=$((passed + 1)); }
apt_q() { apt-get -q -y -o Dpkg::Use-Pty=0 "$@"; }

main=$(ls authrelay_*_*.deb | grep -v +conffile)
smtp=$(ls authrelay-smtp_*_*.deb)
pop=$(ls authrelay-pop_*_*.deb)
upgrade=$(ls authrelay_*+conffile_*.deb)
conf=/etc/authrelay/authrelay.conf

# Every path on this root except the kernel's, apt's and dpkg's own
# bookkeeping, logs, temporary files, the account files' backups,
# adduser's lock file (/run/adduser) and what systemd-analyze leaves in
# /run/systemd: none of these are the packages' files.
snapshot() {
	find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /tmp \
	    -o -path /var/lib/dpkg -o -path /var/lib/apt -o -path /var/cache \
	    -o -path /var/log -o -path /run/systemd \) -prune -o -print |
	    grep -Ev '^(/etc/(passwd|group|shadow|gshadow)-|/run/adduser)$' | sort
}

apt_q update >/dev/null || fail "apt-get update in the chroot"

# An SMTP host (authrelay + authrelay-smtp, with Recommends, as apt
# installs by default) gets neither PostgreSQL's server nor the TLS front.
plan=$(apt-get -s install "./$main" "./$smtp" 2>&1) || fail "apt-get -s: $plan"
if grep -E '^Inst (postgresql|postgresql-[0-9]+|authrelay-pop) ' <<<"$plan"; then
	fail "an SMTP host would pull in the lines above"
fi
ok "an SMTP host installs neither postgresql nor authrelay-pop"

# The packages' Depends and Recommends first, so that what remains after
# the purge can be compared with the root before ours came.
deps=""
for deb in "$main" "$smtp" "$pop"; do
	for field in Depends Recommends; do
		while read -r d; do
			case $d in '' | authrelay*) continue ;; esac
			deps="$deps${deps:+, }$d"
		done < <(dpkg-deb -f "$deb" "$field" | tr ',' '\n')
	done
done
apt_q satisfy --no-install-recommends "$deps" >/dev/null ||
    fail "apt-get satisfy '$deps'"
snapshot >/tmp/before.txt
# the root after a purge must match that, user accounts aside
getent passwd authrelay >/dev/null && fail "user authrelay exists before install"

apt_q install "./$main" "./$smtp" "./$pop" >/tmp/install.log 2>&1 ||
    { cat /tmp/install.log; fail "apt-get install of the three packages"; }
ok "apt-get install ./authrelay*.deb (dependencies resolved by apt)"

# Programs: each one built is installed, finds its libraries and runs.
while read -r p; do
	f=/usr/bin/$p
	[ -x "$f" ] || fail "$f missing"
	if ldd "$f" | grep 'not found'; then fail "$f: libraries missing"; fi
	dpkg -S "$f" >/dev/null || fail "$f belongs to no package"
done <programs.txt
ok "programs: $(wc -l <programs.txt) in /usr/bin, libraries found"
out=$(authrelayctl parse-test -p /usr/share/authrelay/parsers 2>&1) ||
    fail "authrelayctl parse-test: $out"
out=$(authrelayd -n -c $conf 2>&1) || fail "authrelayd -n: $out"
case $out in *"config ok"*) ;; *) fail "authrelayd -n said: $out" ;; esac
# auth-wrap with no snapshot yet: warns, and runs the program without
# RELAYCLIENT (never stops mail)
out=$(TCPREMOTEIP=192.0.2.7 auth-wrap env 2>/dev/null) || fail "auth-wrap env failed"
case $out in *RELAYCLIENT*) fail "auth-wrap set RELAYCLIENT with no relay" ;; esac
case $out in *TCPREMOTEIP=192.0.2.7*) ;; *) fail "auth-wrap did not exec env" ;; esac
ok "installed authrelayctl parse-test, authrelayd -n and auth-wrap run"

# Man pages: every page of man/ is installed, compressed and readable.
while read -r m; do
	f=/usr/share/man/man${m##*.}/$m.gz
	[ -f "$f" ] || fail "man page $f missing"
	[ "$(zcat "$f" | grep -c '^\.Sh NAME')" = 1 ] || fail "$f is not an mdoc page"
done <manpages.txt
ok "man pages: $(wc -l <manpages.txt) installed"

# The system user and group, without home or shell.
pw=$(getent passwd authrelay) || fail "no user authrelay"
IFS=: read -r _ _ uid gid _ home shell <<<"$pw"
[ "$uid" -lt 1000 ] || fail "authrelay is not a system user (uid $uid)"
[ "$home" = /nonexistent ] || fail "home of authrelay: $home"
[ "$shell" = /usr/sbin/nologin ] || fail "shell of authrelay: $shell"
[ "$(getent group authrelay | cut -d: -f3)" = "$gid" ] || fail "group authrelay"
ok "system user authrelay (uid $uid, $home, $shell)"

# tmpfiles: the FIFO directory and the snapshot directory.
[ -p /run/authrelay/fifo ] || fail "/run/authrelay/fifo is not a FIFO"
[ "$(stat -c '%a %U:%G' /run/authrelay/fifo)" = "620 root:authrelay" ] ||
    fail "FIFO: $(stat -c '%a %U:%G' /run/authrelay/fifo)"
[ "$(stat -c '%a %U:%G' /run/authrelay)" = "750 root:authrelay" ] ||
    fail "/run/authrelay: $(stat -c '%a %U:%G' /run/authrelay)"
[ "$(stat -c '%U' /var/lib/authrelay)" = authrelay ] || fail "/var/lib/authrelay owner"
ok "tmpfiles: /run/authrelay/fifo 0620 root:authrelay, /var/lib/authrelay"

# Units: the watcher enabled, with the database condition; sslwrap-hack
# installed but not enabled.
u=/lib/systemd/system
[ -f $u/authrelayd.service ] || fail "authrelayd.service missing"
grep -q '^ExecStart=/usr/bin/authrelayd ' $u/authrelayd.service ||
    fail "authrelayd.service does not run /usr/bin/authrelayd"
grep -q '^ExecCondition=/usr/libexec/authrelay/authrelayd-condition' \
    $u/authrelayd.service.d/debian.conf || fail "no ExecCondition drop-in"
[ -L /etc/systemd/system/multi-user.target.wants/authrelayd.service ] ||
    fail "authrelayd.service not enabled"
[ -f $u/sslwrap-hack.service ] || fail "sslwrap-hack.service missing"
[ ! -e /etc/systemd/system/multi-user.target.wants/sslwrap-hack.service ] ||
    fail "sslwrap-hack.service enabled without a key"
out=$(systemd-analyze verify --man=no $u/authrelayd.service $u/sslwrap-hack.service 2>&1) ||
    fail "systemd-analyze verify: $out"
ok "units: authrelayd enabled (+ condition), sslwrap-hack installed, not enabled, both verify"

# The start condition: skipped with one clear line while no database is
# set, allowed once one is.
rc=0
msg=$(/usr/libexec/authrelay/authrelayd-condition $conf 2>&1) || rc=$?
[ "$rc" = 1 ] || fail "condition without a database: exit $rc"
case $msg in
*'event=not-started reason="no database in /etc/authrelay/authrelay.conf"'*) ;;
*) fail "condition message: $msg" ;;
esac
[ "$(printf '%s\n' "$msg" | wc -l)" = 1 ] || fail "more than one line: $msg"
ok "no database: the watcher's start is skipped, logging: $msg"

# Conffiles, and the rsyslog rule: shipped disabled, enabled by the
# command README.Debian gives (rsyslogd -N1 validates it here; no
# systemd runs in the chroot, so its restart is left out).
conffiles=$(dpkg-query -W -f='${Conffiles}\n' authrelay)
for f in $conf /etc/authrelay/rsyslog.conf; do
	grep -q "^ $f " <<<"$conffiles" || fail "$f is not a conffile"
done
[ ! -e /etc/rsyslog.d/authrelay.conf ] || fail "rsyslog rule active at install"
readme=/usr/share/doc/authrelay/README.Debian
[ -f $readme ] || readme=$readme.gz
text=$(zcat -f $readme)
enable=$(grep -m1 '^  ln -s /etc/authrelay/rsyslog.conf /etc/rsyslog.d/' <<<"$text") ||
    fail "README.Debian gives no enable command"
case $enable in *' && systemctl restart rsyslog') ;; *) fail "enable command: $enable" ;; esac
out=$(eval "${enable% && systemctl restart rsyslog}" 2>&1) || fail "enable command: $out"
[ -L /etc/rsyslog.d/authrelay.conf ] || fail "enable command made no link"
ok "conffiles; rsyslog rule disabled until: ${enable#  }"

# A second install of the same version keeps an edited configuration.
sed -i 's|^database =.*|database = host=/run/postgresql dbname=authrelay|' $conf
echo '# edited by the administrator' >>$conf
cp $conf /tmp/edited.conf
dpkg -i "$main" >/tmp/reinstall.log 2>&1 || { cat /tmp/reinstall.log; fail "reinstall"; }
cmp -s $conf /tmp/edited.conf || fail "reinstall changed the edited $conf"
ls /etc/authrelay/*.dpkg-* 2>/dev/null && fail "reinstall left dpkg copies"
/usr/libexec/authrelay/authrelayd-condition $conf ||
    fail "condition refuses a configured database"
ok "reinstall keeps the edited conffile; with a database the watcher may start"

# An upgrade whose authrelay.conf changed never replaces the edited file
# silently: without a terminal dpkg stops at its question; with
# --force-confold the file stays and the new one lands beside it.
dpkg -r authrelay-smtp >/dev/null # depends on exactly this version
if dpkg -i "$upgrade" </dev/null >/tmp/upgrade.log 2>&1; then
	cat /tmp/upgrade.log; fail "upgrade with a changed conffile did not ask"
fi
grep -q 'authrelay.conf' /tmp/upgrade.log || { cat /tmp/upgrade.log; fail "no conffile question"; }
cmp -s $conf /tmp/edited.conf || fail "the unanswered upgrade changed $conf"
dpkg --configure --force-confold authrelay >/tmp/upgrade.log 2>&1 ||
    { cat /tmp/upgrade.log; fail "dpkg --configure --force-confold"; }
cmp -s $conf /tmp/edited.conf || fail "--force-confold changed $conf"
grep -q '^# changed upstream' $conf.dpkg-dist || fail "no $conf.dpkg-dist"
ok "upgrade with a changed conffile asks; confold keeps the edit, new one as .dpkg-dist"

# Purge: nothing of ours remains, the user stays (README.Debian).
dpkg --purge authrelay-smtp authrelay-pop authrelay >/tmp/purge.log 2>&1 ||
    { cat /tmp/purge.log; fail "dpkg --purge"; }
snapshot >/tmp/after.txt
left=$(comm -13 /tmp/before.txt /tmp/after.txt)
[ -z "$left" ] || fail "left behind after purge: $left"
gone=$(comm -23 /tmp/before.txt /tmp/after.txt)
[ -z "$gone" ] || fail "purge removed what was there before: $gone"
getent passwd authrelay >/dev/null || fail "purge removed the user (README.Debian says it stays)"
ok "purge: no file of ours left, nothing else removed; user authrelay kept"

echo "in-chroot: $passed checks passed"
