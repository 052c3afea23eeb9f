#!/bin/sh
# fetch-debs.sh - download Debian packages (.deb files) into a cache folder
# without installing them: for tests that run software which cannot be
# installed next to what the project already installs (Courier and Cyrus
# conflict with Dovecot).
#   sh tools/fetch-debs.sh DIR PACKAGE...
# Downloads with `apt-get download` only the packages that have no
# DIR/PACKAGE_*.deb yet. Exit 0 when every package is in DIR; exit 1 with
# the exact command to run when the registry is unreachable (or apt does
# not know a package); exit 2 on bad usage.
set -eu

[ $# -ge 2 ] || { echo "usage: fetch-debs.sh DIR PACKAGE..." >&2; exit 2; }
dir=$1
shift
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

missing=""
for p in "$@"; do
	case $p in
	*[!a-z0-9.+-]*|-*) echo "fetch-debs: bad package name: $p" >&2; exit 2 ;;
	esac
	# a file dpkg-deb cannot read (an interrupted download) is missing
	found=no
	for f in "$dir/${p}"_*.deb; do
		[ -e "$f" ] || continue
		if dpkg-deb --info "$f" >/dev/null 2>&1; then
			found=yes
		else
			rm -f "$f"
		fi
	done
	[ "$found" = yes ] || missing="$missing $p"
done
[ -n "$missing" ] || exit 0

# apt-get download writes into the current directory. As root apt hands the download to user _apt, which may not be
# able to write DIR: it then downloads unsandboxed (a notice, not an error).
# Short timeouts: without a registry the caller (a test) should skip
# promptly rather than hang.
apt_opts="-o Acquire::Retries=0 -o Acquire::http::Timeout=15"
fetch() {
	(cd "$dir" && apt-get download -q $apt_opts $missing) \
	    >"$dir/.fetch.log" 2>&1
}
if ! fetch; then
	# A fresh container may have no package lists yet.
	if [ "$(id -u)" -eq 0 ]; then
		apt-get update -q $apt_opts >>"$dir/.fetch.log" 2>&1 || true
	fi
	if ! fetch; then
		sed 's/^/fetch-debs: /' "$dir/.fetch.log" >&2
		rm -f "$dir/.fetch.log"
		echo "fetch-debs: cannot download; run (with network access):" >&2
		echo "  cd '$dir' && apt-get download$missing" >&2
		exit 1
	fi
fi
rm -f "$dir/.fetch.log"
echo "fetch-debs: downloaded:$missing" >&2
exit 0
