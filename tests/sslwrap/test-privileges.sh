#!/usr/bin/env bash
# test-privileges.sh - started as root with -u authrelay, each
# connection child runs as authrelay with no groups, no capabilities,
# no_new_privs, no core dumps and no open key file, and cannot open the
# key; without -u (or with -u root), or with a key others can read, the
# front refuses to start.
. "$(dirname "$0")/common.sh"
[ "$(id -u)" -eq 0 ] || skip "needs root"
make_cert
make_secret s3cret
start_echo_backend 110
uid=$(id -u authrelay)
gid=$(id -g authrelay)

start_front "$T/front.log" -l "$FRONT4:995" -c "$T/cert.pem" \
    -k "$T/key.pem" -b 127.0.0.1:110 -p "$T/pass" -u authrelay
ip netns exec "$NS" python3 "$TOP/tests/sslwrap/tlsclient.py" hold \
    "$CLIENT4" "$FRONT4" 995 >"$T/hold.out" &
track_pid $!
wait_for 10 grep -q ready "$T/hold.out"
child=$(sed -n 's/.*event=connect .* pid=\([0-9]*\)$/\1/p' "$T/front.log" | tail -n 1)
[ -n "$child" ] && [ -d "/proc/$child" ] || fail "connection child not found"
assert_eq "$child" "$(children "$FRONT_PID")" "the child is the front's"

status() { awk -v k="$1:" '$1 == k { $1 = ""; sub(/^ /, ""); print }' "/proc/$child/status"; }
assert_eq "$uid $uid $uid $uid" "$(status Uid)" "child uids (real effective saved fs)"
assert_eq "$gid $gid $gid $gid" "$(status Gid)" "child gids"
assert_eq "" "$(status Groups)" "child supplementary groups"
assert_eq 1 "$(status NoNewPrivs)" "child no_new_privs"
assert_eq 0000000000000000 "$(status CapEff)" "child effective capabilities"
assert_eq 0000000000000000 "$(status CapPrm)" "child permitted capabilities"
ok "child runs as authrelay ($uid:$gid), no groups, no capabilities, no_new_privs"

core=$(awk '/^Max core file size/ { print $5 " " $6 }' "/proc/$child/limits")
assert_eq "0 0" "$core" "child core limit"
core=$(awk '/^Max core file size/ { print $5 " " $6 }' "/proc/$FRONT_PID/limits")
assert_eq "0 0" "$core" "parent core limit"
ok "core dumps disabled in parent and child"

open_files=$(ls -l "/proc/$child/fd" | awk '{print $NF}')
assert_not_contains "$open_files" "key.pem" "child's open files"
assert_not_contains "$open_files" "$T/pass" "child's open files"
if setpriv --reuid="$uid" --regid="$gid" --clear-groups \
    cat "$T/key.pem" >/dev/null 2>&1; then
	fail "the child's credentials can read the key"
fi
ok "the key is neither open in the child nor readable with its credentials"

rc=0
"$BIN/sslwrap-hack" -l "$FRONT4:1995" -c "$T/cert.pem" -k "$T/key.pem" \
    -p "$T/pass" 2>"$T/noroot.err" || rc=$?
assert_eq 100 "$rc" "exit status as root without -u"
assert_contains "$(cat "$T/noroot.err")" "sslwrap-hack: fatal: unable to run as root: give -u USER" "diagnostic"
rc=0
"$BIN/sslwrap-hack" -l "$FRONT4:1995" -c "$T/cert.pem" -k "$T/key.pem" \
    -p "$T/pass" -u root 2>"$T/root.err" || rc=$?
assert_eq 100 "$rc" "exit status with -u root"
assert_contains "$(cat "$T/root.err")" "user is root" "diagnostic"
ok "refuses to serve clients as root"

# A key others can read, or a symlink to it, is refused.
cp -p "$T/key.pem" "$T/loose.pem"
chmod 644 "$T/loose.pem"
rc=0
"$BIN/sslwrap-hack" -l "$FRONT4:1995" -c "$T/cert.pem" -k "$T/loose.pem" \
    -p "$T/pass" -u authrelay 2>"$T/loose.err" || rc=$?
assert_eq 100 "$rc" "exit status with a world-readable key"
assert_contains "$(cat "$T/loose.err")" "key $T/loose.pem: not a regular file of mode 0640 or stricter" "diagnostic"
ln -s "$T/key.pem" "$T/link.pem"
rc=0
"$BIN/sslwrap-hack" -l "$FRONT4:1995" -c "$T/cert.pem" -k "$T/link.pem" \
    -p "$T/pass" -u authrelay 2>"$T/link.err" || rc=$?
assert_eq 100 "$rc" "exit status with a symlinked key"
assert_contains "$(cat "$T/link.err")" "is a symlink" "diagnostic"
ok "key file: mode and symlink checks"
