# courier-lib.sh - Courier POP3/IMAP from Debian's own .deb files for
# tests/e2e/test-courier.sh (source after tests/lib.sh and e2e-lib.sh).
# Debian's courier-pop and courier-imap conflict with dovecot-pop3d and
# dovecot-imapd (virtual pop3-server, imap-server), which the project
# installs, so they are never installed: tools/fetch-debs.sh downloads
# the .deb files once into var/cache/debs, each run unpacks them with
# dpkg -x under $T, and the daemons run in private mount namespaces where
# that tree is layered (read-only overlayfs) over /usr and /etc, so their
# compiled-in paths (/usr/lib/courier..., /etc/courier/..., the
# authdaemon socket under /run/courier) all resolve to the private copy
# and nothing outside changes. Their shared libraries that do not
# conflict are installed normally (tools/deps.sh).

COURIER_DEBS="courier-pop courier-imap courier-base courier-authlib courier-authlib-userdb"
COURIER_CACHE=${COURIER_CACHE:-$TOP/var/cache/debs}
CR=$T/courier/root	# the unpacked packages, plus our configuration

# require_courier: the .deb files (downloaded if missing; skip only when
# that is impossible), unpacked under $CR, their libraries present and
# overlayfs usable.
require_courier() {
	local f
	command -v dpkg >/dev/null || skip "dpkg missing"
	if ! sh "$TOP/tools/fetch-debs.sh" "$COURIER_CACHE" $COURIER_DEBS \
	    2>"$T/fetch.err"; then
		cat "$T/fetch.err"
		skip "cannot download Courier's .deb files (see above)"
	fi
	mkdir -p "$CR"
	# a cache that kept an older version too: the newest
	for f in $COURIER_DEBS; do
		dpkg -x "$(printf '%s\n' "$COURIER_CACHE/${f}"_*.deb | sort -V | tail -n 1)" \
		    "$CR" || fail "dpkg -x $f failed"
	done
	for f in "$CR/usr/sbin/couriertcpd" "$CR/usr/sbin/courierlogger" \
	    "$CR/usr/lib/courier/courier/courierpop3login" "$CR/usr/bin/imapd" \
	    "$CR/usr/lib/courier/courier-authlib/authdaemond"; do
		[ -x "$f" ] || fail "unpacked Courier lacks $f"
		if LD_LIBRARY_PATH=$CR/usr/lib ldd "$f" | grep -q 'not found'; then
			LD_LIBRARY_PATH=$CR/usr/lib ldd "$f" | grep 'not found'
			fail "Courier's libraries missing: run tools/deps.sh"
		fi
	done
	mkdir -p "$T/ovl-probe"
	unshare -m --propagation private mount -t overlay overlay \
	    -o "lowerdir=$CR/usr:/usr" "$T/ovl-probe" 2>/dev/null ||
	    skip "overlayfs unavailable (needed to run Courier from its .debs)"
}

# The mount namespace every Courier program runs in (argument 1: $T,
# 2: $CR): /usr and /etc with the unpacked packages layered over them,
# /etc/courier itself writable (makeuserdb writes there), an empty /run
# with /run/courier from $T, and a /dev whose /dev/log leads to the
# private rsyslogd (as start_in_ns_devlog in e2e-lib.sh).
# Then, if COURIER_ENV names a file, its variables are exported (the
# shipped /etc/courier/pop3d and imapd are shell assignments, read the
# same way by Debian's start scripts), and the command is exec'd.
COURIER_NS_SCRIPT='
t=$1 cr=$2; shift 2
mount -t overlay courier-usr -o "lowerdir=$cr/usr:/usr" /usr
mount -t overlay courier-etc -o "lowerdir=$cr/etc:/etc" /etc
mount --bind "$cr/etc/courier" /etc/courier
mount -t tmpfs -o mode=0755,size=64k courier-run /run
mkdir /run/courier
mount --bind "$t/courier/run" /run/courier
'"$E2E_PRIVATE_DEVLOG"'
if [ -n "${COURIER_ENV-}" ]; then
	set -a
	. "$COURIER_ENV"
	set +a
fi
exec "$@"'

# courier_run CMD...: run CMD in the foreground in Courier's namespace.
courier_run() {
	ip netns exec "$NS" unshare -m --propagation private \
	    sh -ec "$COURIER_NS_SCRIPT" courier_run "$T" "$CR" "$@"
}

# courier_start ERRFILE CMD...: the same in the background; ip, unshare
# and sh each exec the next, so $! (tracked) is CMD's own PID.
courier_start() {
	local err=$1; shift
	ip netns exec "$NS" unshare -m --propagation private \
	    sh -ec "$COURIER_NS_SCRIPT" courier_start "$T" "$CR" "$@" 2>"$err" &
	COURIER_PID=$!
	track_pid "$COURIER_PID"
}

# courier_config USERS...: authdaemonrc with the userdb module only,
# a userdb where user U has password pw-U (SHA-512 crypt) and a Maildir
# under $T/mail, owned by nobody.
courier_config() {
	local u e=$CR/etc/courier
	mkdir -p "$T/courier/run/authdaemon" "$T/mail"
	chmod 0750 "$T/courier/run/authdaemon"
	cat > "$e/authdaemonrc" <<CONF
authmodulelist="authuserdb"
authmodulelistorig="authuserdb"
daemons=2
authdaemonvar=/run/courier/authdaemon
DEBUG_LOGIN=0
DEFAULTOPTIONS=""
LOGGEROPTS=""
CONF
	for u in "$@"; do
		mkdir -p "$T/mail/$u/Maildir/cur" "$T/mail/$u/Maildir/new" \
		    "$T/mail/$u/Maildir/tmp"
		printf '%s\tuid=65534|gid=65534|home=%s|mail=%s|systempw=%s\n' \
		    "$u" "$T/mail/$u" "$T/mail/$u/Maildir" \
		    "$(openssl passwd -6 "pw-$u")"
	done > "$e/userdb"
	chown -R 65534:65534 "$T/mail"
	chmod 0600 "$e/userdb"
	courier_run /usr/sbin/makeuserdb >"$T/courier/makeuserdb.log" 2>&1 ||
	    { cat "$T/courier/makeuserdb.log"; fail "makeuserdb failed"; }
	[ -s "$e/userdb.dat" ] || fail "makeuserdb wrote no userdb.dat"
}

# courier_start_all: authdaemond, then POP3 on $POP and IMAP on $IMAP as
# Debian's start scripts run them (courierlogger -name=pop3d/imapd around
# couriertcpd, with the shipped pop3d and imapd settings), on every
# address in the netns (couriertcpd -address=0: IPv6 socket, IPv4
# clients appear as ::ffff:a.b.c.d). courierlogger turns the servers'
# stderr into syslog lines (facility mail, tags pop3d and imapd) sent
# through /dev/log to the private rsyslogd. couriertcpd is courierlogger's
# child; its PID is tracked too.
courier_start_all() {
	local c=$T/courier
	courier_start "$c/authdaemond.err" /usr/lib/courier/courier-authlib/authdaemond
	wait_for 10 test -S "$c/run/authdaemon/socket"
	# the packaged settings, with our ports and no SASL for POP3 (curl
	# then uses USER/PASS, as most POP3 clients do)
	{ cat "$CR/etc/courier/pop3d"; echo "PORT=$POP POP3AUTH=\"\""; } > "$c/run/pop3d.env"
	{ cat "$CR/etc/courier/imapd"; echo "PORT=$IMAP"; } > "$c/run/imapd.env"
	COURIER_ENV=/run/courier/pop3d.env courier_start "$c/pop3d.err" \
	    /usr/sbin/courierlogger -name=pop3d -facility=mail \
	    /usr/sbin/couriertcpd -address=0 -maxprocs=10 -maxperip=50 \
	    -nodnslookup -noidentlookup $POP \
	    /usr/lib/courier/courier/courierpop3login \
	    /usr/lib/courier/courier/courierpop3d Maildir
	POP_LOGGER=$COURIER_PID
	COURIER_ENV=/run/courier/imapd.env courier_start "$c/imapd.err" \
	    /usr/sbin/courierlogger -name=imapd -facility=mail \
	    /usr/sbin/couriertcpd -address=0 -maxprocs=10 -maxperip=50 \
	    -nodnslookup -noidentlookup $IMAP \
	    /usr/lib/courier/courier/imaplogin /usr/bin/imapd Maildir
	IMAP_LOGGER=$COURIER_PID
	wait_for 10 port_open $SRV4 $POP
	wait_for 10 port_open $SRV4 $IMAP
	track_children "$POP_LOGGER"
	track_children "$IMAP_LOGGER"
}

# track_children PID: track PID's child processes (couriertcpd under
# courierlogger), found by parent PID.
track_children() {
	local p n=0
	for p in $(pgrep -P "$1"); do
		track_pid "$p"
		n=$((n + 1))
	done
	[ "$n" -gt 0 ] || fail "courierlogger $1 has no child (couriertcpd)"
}
