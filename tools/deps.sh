#!/bin/sh
# deps.sh - install the Debian packages authrelay builds and tests with.
# As root: apt-get install -y what is missing. Otherwise: print the command.
# `deps.sh package` adds what `make package-check` needs (Debian package
# build, lintian, a Debian 12 chroot made with mmdebstrap); `make check`
# does not need them.
# Also makes sure the unprivileged 'authrelay' system user exists (the
# watcher drops to it, and the private PostgreSQL cluster runs as it).
set -eu

# stress-ng: .ci/run's pass of the suite beside two CPU hogs.
# postfix, postfix-cdb: tests/policy runs a private instance (its own config and queue
# directories; the package's own instance is never started). Exim
# (exim4-daemon-light conflicts with postfix) and ucspi-tcp-ipv6 (replaces
# ucspi-tcp) are never installed: tests/policy/test-exim.sh and
# tests/authwrap/test-tcpserver6.sh run them from their .deb files
# (tools/fetch-debs.sh); libgnutls-dane0 is Exim's one library that
# nothing else here pulls in.
# The last line: shared libraries of Courier, which tests/e2e/test-courier.sh
# runs from Debian's .deb files without installing them (courier-pop and
# courier-imap conflict with dovecot-pop3d and dovecot-imapd).
PACKAGES="gcc make pkg-config libc6-dev libpcre2-dev libpq-dev libcdb-dev tinycdb
libssl-dev openssl postgresql ucspi-tcp curl python3 faketime rsyslog mandoc
procps util-linux iproute2 clang libclang-rt-14-dev dovecot-pop3d dovecot-imapd
postfix postfix-cdb libgnutls-dane0 stress-ng
prometheus python3-prometheus-client
libcourier-unicode4 libidn12 libltdl7 libgamin0"
if [ "${1:-}" = package ]; then
	PACKAGES="$PACKAGES dpkg-dev debhelper fakeroot lintian mmdebstrap"
fi

missing=""
for p in $PACKAGES; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done

if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps: missing Debian packages; run as root:" >&2
		echo "  apt-get install -y$missing" >&2
		exit 1
	fi
	echo "deps: installing:$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	# Never start services while installing (postgresql, rsyslog, postfix).
	policy=/usr/sbin/policy-rc.d
	made_policy=""
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' > "$policy"
		chmod 755 "$policy"
		made_policy=yes
	fi
	apt-get install -y -q $missing >/dev/null 2>&1 ||
		{ apt-get update -q >/dev/null && apt-get install -y -q $missing; }
	[ -n "$made_policy" ] && rm -f "$policy"
fi

if [ "$(id -u)" -eq 0 ] && ! getent passwd authrelay >/dev/null; then
	useradd --system --no-create-home --home-dir /nonexistent \
	    --shell /usr/sbin/nologin authrelay
	echo "deps: created system user authrelay" >&2
fi
exit 0
