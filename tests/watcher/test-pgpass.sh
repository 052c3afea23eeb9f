#!/usr/bin/env bash
# A libpq password file that group or others may read (issue 12 item 6)
# is refused, with a message naming it, by authrelayd (at start and with
# --sync), authrelayctl (its database commands) and auth-wrap in db mode
# (no RELAYCLIENT, one warning): the file from passfile= in the
# conninfo, $PGPASSFILE, or $HOME/.pgpass. Mode 0600 works as before.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/watcher/watcher-lib.sh"
. "$TOP/tests/authwrap/common.sh"

pg_start
add_relay 192.0.2.10 alice
mkdir -m 0700 "$T/home"
export HOME=$T/home
unset PGPASSFILE PGPASSWORD
pf=$HOME/.pgpass
echo '*:*:*:*:unused' > "$pf"
mkfifo -m 0620 "$T/fifo"

want() { echo "password file $1 mode $2 allows group or other access (want 0600)"; }
# all_refuse FILE MODE: each program refuses, naming FILE and MODE.
all_refuse() {
	local f=$1 mode=$2 msg
	msg=$(want "$f" "$mode")
	if "$BIN/authrelayd" -f -c "$T/authrelay.conf" > "$T/out" 2>&1; then fail "authrelayd started"; fi
	assert_contains "$(cat "$T/out")" "event=fatal error=\"$msg\"" "authrelayd"
	if "$BIN/authrelayd" --sync -f -c "$T/authrelay.conf" > "$T/out" 2>&1; then fail "authrelayd --sync ran"; fi
	assert_contains "$(cat "$T/out")" "$msg" "authrelayd --sync"
	if "$BIN/authrelayctl" -c "$T/authrelay.conf" list > "$T/out" 2>&1; then fail "authrelayctl list ran"; fi
	assert_eq "authrelayctl: $msg" "$(cat "$T/out")" "authrelayctl list"
	if "$BIN/authrelayctl" -c "$T/authrelay.conf" allow 192.0.2.50 > "$T/out" 2>&1; then fail "authrelayctl allow ran"; fi
	assert_eq "authrelayctl: $msg" "$(cat "$T/out")" "authrelayctl allow"
	out=$(env -i PATH=/usr/bin:/bin HOME="$HOME" ${PGPASSFILE:+PGPASSFILE=$PGPASSFILE} \
	    AUTHRELAY_CONF="$T/authrelay.conf" TCPREMOTEIP=192.0.2.10 "$AW" /usr/bin/env 2> "$T/aw.err")
	assert_not_contains "$out" "RELAYCLIENT" "auth-wrap db mode"
	assert_eq "auth-wrap: warning: no relay check for 192.0.2.10: db: $msg" "$(cat "$T/aw.err")" "auth-wrap warning"
}
conf() { # conninfo
	watcher_config "lookup = db" "lookup_database = $1" "lookup_deadline = 10s" "cdb_file ="
	sed -i "s|^database = .*|database = $1|" "$T/authrelay.conf"
}

# ~/.pgpass of the running user ($HOME)
conf "$AUTHRELAY_DB"
chmod 0644 "$pf"
all_refuse "$pf" 0644
ok "\$HOME/.pgpass mode 0644 refused by authrelayd, --sync, authrelayctl and auth-wrap"

# $PGPASSFILE, group-readable only
chmod 0600 "$pf"
echo '*:*:*:*:unused' > "$T/pgpass.env"; chmod 0640 "$T/pgpass.env"
export PGPASSFILE=$T/pgpass.env
all_refuse "$T/pgpass.env" 0640
unset PGPASSFILE
ok "\$PGPASSFILE mode 0640 refused"

# passfile= in the conninfo
echo '*:*:*:*:unused' > "$T/pgpass.ci"; chmod 0604 "$T/pgpass.ci"
conf "$AUTHRELAY_DB passfile=$T/pgpass.ci"
all_refuse "$T/pgpass.ci" 0604
ok "passfile= in the conninfo, mode 0604, refused"

# Private files: everything works as before.
chmod 0600 "$T/pgpass.ci"
"$BIN/authrelayctl" -c "$T/authrelay.conf" list > "$T/out" 2>&1 || { cat "$T/out"; fail "list with a 0600 passfile"; }
assert_contains "$(cat "$T/out")" "192.0.2.10" "list"
out=$(env -i PATH=/usr/bin:/bin HOME="$HOME" AUTHRELAY_CONF="$T/authrelay.conf" TCPREMOTEIP=192.0.2.10 "$AW" /usr/bin/env 2> "$T/aw.err")
assert_contains "$out" "RELAYCLIENT=" "auth-wrap with a 0600 passfile"
"$BIN/authrelayd" -f -c "$T/authrelay.conf" > "$T/watcher.log" 2>&1 &
WATCHER_PID=$!
track_pid "$WATCHER_PID"
wait_for 30 grep -q 'event=db_connected' "$T/watcher.log"
ok "mode 0600: authrelayd, authrelayctl and auth-wrap work"
