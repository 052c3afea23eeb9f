#!/bin/sh
# install.sh - `make install`: programs, parsers, sql, man pages, samples.
# Usage: sh tools/install.sh DESTDIR PREFIX SYSCONFDIR
# DESTDIR is prepended to every path (staging for packages); PREFIX and
# SYSCONFDIR are the paths the installed system will really use, so they
# are what the installed configuration and examples refer to.
# An existing authrelay.conf is never overwritten: the new sample goes
# next to it as authrelay.conf.new.
set -eu

[ $# -eq 3 ] || { echo "usage: install.sh DESTDIR PREFIX SYSCONFDIR" >&2; exit 2; }
destdir=$1
prefix=$2
sysconfdir=$3
case $prefix in /*) ;; *) echo "install.sh: PREFIX must be absolute: $prefix" >&2; exit 2 ;; esac
case $sysconfdir in /*) ;; *) echo "install.sh: SYSCONFDIR must be absolute: $sysconfdir" >&2; exit 2 ;; esac

cd "$(dirname "$0")/.."
bindir=$destdir$prefix/bin
sharedir=$destdir$prefix/share/authrelay
mandir=$destdir$prefix/share/man
confdir=$destdir$sysconfdir

PROGRAMS="authrelayd authrelayctl auth-wrap sslwrap-hack qmail-popup-hack
qmail-pop3d-hack authrelay-policy"

# The sources say /usr/local and /etc/authrelay (the defaults); the
# installed copies say what this installation uses. '|' cannot occur in
# the paths (checked below), so it is a safe sed delimiter.
case $prefix$sysconfdir in *'|'* | *'&'* | *'\'*)
	echo "install.sh: PREFIX/SYSCONFDIR may not contain | & or \\" >&2; exit 2 ;;
esac
localize() { # SRC DST MODE
	sed -e "s|/usr/local/|$prefix/|g" -e "s|/etc/authrelay/|$sysconfdir/|g" \
	    -e "s|/etc/authrelay\$|$sysconfdir|g" "$1" > "$2.tmp.$$"
	chmod "$3" "$2.tmp.$$"
	mv -f "$2.tmp.$$" "$2"
}

for p in $PROGRAMS; do
	if [ -f "bin/$p" ]; then
		install -D -m 0755 "bin/$p" "$bindir/$p"
	else
		echo "install.sh: bin/$p not built, skipped" >&2
	fi
done

for f in parsers/*.conf; do
	install -D -m 0644 "$f" "$sharedir/parsers/${f##*/}"
done
for f in sql/*.sql; do
	install -D -m 0644 "$f" "$sharedir/sql/${f##*/}"
done
for f in man/*.[1-8]; do
	[ -f "$f" ] || continue
	sec=${f##*.}
	install -D -m 0644 "$f" "$mandir/man$sec/${f##*/}"
done

# Examples (service files, syslog recipes, tcp.smtp): never live config,
# so they go under share/, with paths adjusted to this installation.
for f in $(find etc -type f ! -path etc/authrelay.conf | sort); do
	rel=${f#etc/}
	mode=0644
	[ -x "$f" ] && mode=0755
	install -d -m 0755 "$sharedir/examples/$(dirname "$rel")"
	localize "$f" "$sharedir/examples/$rel" "$mode"
done

# The configuration: only if absent. Mode 0644: auth-wrap reads it as
# the SMTP user; secrets belong in ~/.pgpass or peer authentication,
# never in this file.
install -d -m 0755 "$confdir"
if [ -e "$confdir/authrelay.conf" ]; then
	localize etc/authrelay.conf "$confdir/authrelay.conf.new" 0644
	echo "install.sh: kept existing $confdir/authrelay.conf; new sample is authrelay.conf.new" >&2
else
	localize etc/authrelay.conf "$confdir/authrelay.conf" 0644
fi
echo "install.sh: installed under ${destdir:-/}: $prefix/bin, $prefix/share/authrelay, $prefix/share/man, $sysconfdir"
