#!/usr/bin/env bash
# package-check.sh - `make package-check`: build the Debian packages twice and compare them byte for byte, run lintian, then install, reinstall, upgrade and purge them in a fresh Debian 12 chroot (tests/package/in-chroot.sh).
# Slow (two package builds and a chroot), so not a tests/*/test-*.sh:
# `make check` (tests/run.sh) does not run it; CI runs it once.
# Needs root (chroot, private mount namespace), the tools of
# `sh tools/deps.sh package` and the Debian mirror the host's apt uses:
# the chroot is made from the host's Debian sources (PACKAGE_SOURCES, a
# sources.list or deb822 .sources file; default: the host's Debian one).
# Nothing is installed on this system: the builds run on copies of the
# tree under $T, the chroot is a directory under $T whose /dev and /proc
# are mounted only in a private mount namespace that ends with it.
# The chroot's base (minbase + systemd) is cached for a day in
# build/package-cache/ (git-ignored), keyed by the sources and the
# package list; PACKAGE_FRESH=1 ignores the cache.
# Exit 0 pass, 77 skip (last line = reason), else fail.
source "$(dirname "$0")/../lib.sh"

passed=0
pass() { ok "$*"; passed=$((passed + 1)); }
fail() {
	printf 'not ok: %s\n' "$*" >&2
	echo "package-check: $passed passed, 1 failed"
	exit 1
}

[ "$(id -u)" -eq 0 ] || skip "needs root (chroot in a private mount namespace)"
for t in dpkg-buildpackage dh lintian mmdebstrap unshare readelf git; do
	command -v "$t" >/dev/null || skip "$t missing: run sh tools/deps.sh package"
done
command -v git >/dev/null && git -C "$TOP" rev-parse --git-dir >/dev/null 2>&1 ||
    skip "not a git checkout: the build copies the files git knows"

# --- two builds from copies of the tree, at different paths ---------------

# The tracked and the not-ignored new files, as they are in the work
# tree: what CI's clone has, plus work in progress; never build/ or bin/.
copy_tree() { # DEST
	mkdir -p "$1"
	(cd "$TOP" && git ls-files -z --cached --others --exclude-standard |
	    while IFS= read -r -d '' f; do
		[ -e "$f" ] || [ -L "$f" ] && printf '%s\0' "$f"
	    done | xargs -0 cp -P --parents -t "$1")
}
build() { # DIR LOG [VAR=VALUE...]
	local dir=$1 log=$2
	shift 2
	(cd "$dir" && env "$@" dpkg-buildpackage -us -uc -b) >"$log" 2>&1 ||
	    { tail -n 40 "$log"; fail "dpkg-buildpackage -us -uc -b in $dir (log $log)"; }
}

out1=$T/one
out2=$T/second/build-path
copy_tree "$out1/authrelay"
copy_tree "$out2/authrelay-src"
note "building in $out1/authrelay"
build "$out1/authrelay" "$T/build1.log"
debs=$(cd "$out1" && ls ./*.deb | sed 's|^\./||')
[ -n "$debs" ] || fail "no .deb built"
for p in authrelay authrelay-smtp authrelay-pop; do
	ls "$out1/${p}"_*.deb >/dev/null 2>&1 || fail "package $p not built"
done
grep -q 'parse-test: .* 0 failures' "$T/build1.log" ||
    fail "the build did not run the parser samples (dh_auto_test)"
pass "dpkg-buildpackage -us -uc -b: $(echo $debs)"

# Hardening: dpkg-buildflags reached the compiler and the linker, and the
# binaries show it (PIE, full RELRO, bind now, fortified calls).
grep -E '^cc .* -D_FORTIFY_SOURCE=2 .*-fstack-protector-strong' "$T/build1.log" >/dev/null ||
    fail "CPPFLAGS/CFLAGS of dpkg-buildflags not on the compile lines"
grep -E '^cc .*-Wl,-z,relro -Wl,-z,now .*-o bin/' "$T/build1.log" >/dev/null ||
    fail "LDFLAGS of dpkg-buildflags not on the link lines"
fortified=0
for f in "$out1"/authrelay/bin/*; do
	elf=$(readelf -hldW --dyn-syms "$f")
	grep -q 'Type: *DYN' <<<"$elf" || fail "${f##*/} is not PIE"
	grep -q GNU_RELRO <<<"$elf" || fail "${f##*/} has no RELRO"
	grep -Eq 'BIND_NOW|FLAGS.*NOW' <<<"$elf" || fail "${f##*/} not bound now"
	if grep -q '__[a-z_]*_chk' <<<"$elf"; then fortified=$((fortified + 1)); fi
done
[ "$fortified" -ge 1 ] || fail "no binary calls a fortified (_chk) function"
pass "hardening: CPPFLAGS/CFLAGS/LDFLAGS used; PIE, RELRO, BIND_NOW; $fortified programs fortified"

# Reproducible: a second build at another path, with another time zone,
# umask and DEB_BUILD_OPTIONS, gives the same bytes.
note "building again in $out2/authrelay-src"
(umask 0002 && build "$out2/authrelay-src" "$T/build2.log" \
    DEB_BUILD_OPTIONS=nocheck TZ=Pacific/Kiritimati LC_ALL=C.UTF-8)
for d in $debs; do
	[ -f "$out2/$d" ] || fail "second build made no $d"
	if ! cmp -s "$out1/$d" "$out2/$d"; then
		diff <(dpkg-deb -c "$out1/$d") <(dpkg-deb -c "$out2/$d") | head -n 20
		fail "$d differs between the two builds"
	fi
done
[ "$(cd "$out2" && ls ./*.deb | wc -l)" = "$(echo "$debs" | wc -l)" ] ||
    fail "the builds made different sets of packages"
pass "reproducible: $(echo "$debs" | wc -l) .debs identical from two build paths"

# lintian: no error, no warning (the explained ones are overridden in
# debian/*.lintian-overrides).
changes=$(ls "$out1"/*.changes)
if ! lintian --fail-on error,warning --display-info "$changes" >"$T/lintian.log" 2>&1; then
	cat "$T/lintian.log"
	fail "lintian: errors or warnings (see above)"
fi
grep -E '^[EW]: ' "$T/lintian.log" && fail "lintian printed errors or warnings"
pass "lintian: no errors, no warnings ($(grep -c '^[IPX]: ' "$T/lintian.log" || true) info/pedantic tags)"

# The split: every program and every man page of the tree in exactly one
# of the three packages.
contents=$T/contents.txt
for p in authrelay authrelay-smtp authrelay-pop; do
	dpkg-deb -c "$out1/${p}"_*.deb | awk -v p="$p" '{ print p, $6 }'
done >"$contents"
ls "$out1/authrelay/bin" >"$T/programs.txt"
(cd "$out1/authrelay/man" && ls ./*.[1-8] | sed 's|^\./||') >"$T/manpages.txt"
while read -r prog; do
	n=$(grep -c " \./usr/bin/$prog\$" "$contents" || true)
	[ "$n" = 1 ] || fail "program $prog is in $n packages"
done <"$T/programs.txt"
while read -r page; do
	n=$(grep -c "/man${page##*.}/$page\.gz\$" "$contents" || true)
	[ "$n" = 1 ] || fail "man page $page is in $n packages"
done <"$T/manpages.txt"
for want in "authrelay ./usr/bin/authrelayd" "authrelay-smtp ./usr/bin/auth-wrap" \
    "authrelay-pop ./usr/bin/sslwrap-hack" "authrelay ./usr/share/authrelay/sql/schema.sql"; do
	grep -qx "$want" "$contents" || fail "not where README.Debian says: $want"
done
pass "split: $(wc -l <"$T/programs.txt") programs and $(wc -l <"$T/manpages.txt") man pages each in one package"

# --- a fresh Debian 12 root ------------------------------------------------

sources=${PACKAGE_SOURCES:-}
if [ -z "$sources" ]; then
	for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
		if [ -s "$f" ] && grep -q '^[^#]*bookworm' "$f"; then sources=$f; break; fi
	done
fi
[ -n "$sources" ] && [ -s "$sources" ] ||
    skip "no Debian 12 apt sources found on this host (set PACKAGE_SOURCES)"
include=systemd,debian-archive-keyring
key=$( (cat "$sources"; echo "$include minbase bookworm") | sha256sum | cut -c1-16)
cache=$TOP/build/package-cache
base=$cache/debian12-$key.tar
if [ -n "${PACKAGE_FRESH:-}" ] || [ -z "$(find "$base" -mmin -1440 2>/dev/null)" ]; then
	note "making a Debian 12 base with mmdebstrap (from $sources)"
	mkdir -p "$cache"
	chmod 700 "$cache"
	rm -f "$cache"/debian12-*.tar
	if ! mmdebstrap --variant=minbase --format=tar --include="$include" bookworm \
	    "$base.tmp" "$sources" >"$T/mmdebstrap.log" 2>&1; then
		rm -f "$base.tmp"
		tail -n 20 "$T/mmdebstrap.log"
		if grep -Eq 'Could not resolve|Failed to fetch|Temporary failure|Connection failed|Unable to connect' "$T/mmdebstrap.log"; then
			skip "the Debian mirror cannot be reached: no chroot test"
		fi
		fail "mmdebstrap (log $T/mmdebstrap.log)"
	fi
	mv "$base.tmp" "$base"
fi
root=$T/root
mkdir "$root"
tar -C "$root" -xf "$base" || fail "unpacking $base"
work=$root/tmp/pkgtest
mkdir -p "$work"
for d in $debs; do
	case $d in *-dbgsym_*) ;; *) cp "$out1/$d" "$work/" ;; esac
done
cp "$T/programs.txt" "$T/manpages.txt" "$(dirname "$0")/in-chroot.sh" "$work/"
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
# No service may start in the chroot (rsyslog's postinst would).
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"

# The same authrelay with a changed authrelay.conf and a higher version:
# what an upgrade that changes the conffile looks like to dpkg.
main=$(ls "$out1"/authrelay_*.deb)
rp=$T/repack
dpkg-deb -R "$main" "$rp"
echo '# changed upstream' >>"$rp/etc/authrelay/authrelay.conf"
sum=$(cd "$rp" && md5sum etc/authrelay/authrelay.conf)
sed -i "s|^[0-9a-f]*  etc/authrelay/authrelay.conf\$|$sum|" "$rp/DEBIAN/md5sums"
version=$(dpkg-deb -f "$main" Version)
sed -i "s|^Version: .*|Version: $version+conffile|" "$rp/DEBIAN/control"
dpkg-deb --root-owner-group -b "$rp" \
    "$work/authrelay_${version}+conffile_$(dpkg-deb -f "$main" Architecture).deb" >/dev/null ||
    fail "repacking authrelay with a changed conffile"

note "installing in the chroot $root"
set +e
unshare --mount --propagation private -- /bin/sh -ec '
	root=$1
	mount --rbind /dev "$root/dev"
	mount -t proc proc "$root/proc"
	mount -t sysfs -o ro sysfs "$root/sys"
	exec chroot "$root" /bin/bash /tmp/pkgtest/in-chroot.sh /tmp/pkgtest
' sh "$root" 2>&1 | tee "$T/chroot.log"
rc=${PIPESTATUS[0]}
set -e
[ "$rc" -eq 0 ] || fail "in the chroot (exit $rc; log $T/chroot.log)"
n=$(grep -c '^ok: ' "$T/chroot.log")
passed=$((passed + n))
ok "chroot: install, programs, man pages, user, tmpfiles, units, condition, conffiles, purge"
echo "package-check: $passed passed, 0 failed"
