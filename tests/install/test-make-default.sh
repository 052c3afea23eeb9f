#!/usr/bin/env bash
# A bare `make` in a clean copy of the tree builds every program (the
# README's "make  # every program into bin/"), not just the first rule
# of the first module.mk: afterwards `make -q all` has nothing left to do.
. "$(dirname "$0")/../lib.sh"
command -v git >/dev/null || skip "git not installed"
git -C "$TOP" rev-parse --git-dir >/dev/null 2>&1 || skip "not a git checkout"

# A clean clone, but of the working tree as it is (tracked files only:
# no build/, no bin/).
clone=$T/clone
mkdir "$clone"
git -C "$TOP" ls-files -z | tar -C "$TOP" --null -T - --ignore-failed-read -cf - 2>/dev/null |
	tar -C "$clone" -xf -
[ ! -e "$clone/bin" ] && [ ! -e "$clone/build" ] || fail "the copy is not clean"
make -C "$clone" -j2 > "$T/make.log" 2>&1 || { tail -n 30 "$T/make.log"; fail "bare make"; }
for p in auth-wrap authrelayd authrelayctl sslwrap-hack qmail-popup-hack qmail-pop3d-hack; do
	[ -x "$clone/bin/$p" ] || fail "bare make did not build bin/$p"
done
make -C "$clone" -q all || fail "after a bare make, make all still has work to do"
ok "bare make in a clean tree builds every program (make -q all is satisfied)"
