#!/usr/bin/env bash
# `make run`, the main job, in a scratch copy of the tree: a private
# PostgreSQL under ./var (unix socket only), the FIFO var/fifo, authrelayd
# in the foreground; lines fed to the FIFO show up in authrelayctl list.
. "$(dirname "$0")/../lib.sh"

tree=$T/tree
mkdir -p "$tree"
cp -r "$TOP/bin" "$TOP/tools" "$TOP/etc" "$TOP/parsers" "$TOP/sql" "$tree/"
chmod 755 "$tree"
cd "$tree"
sh tools/run-embedded.sh > "$T/run.log" 2>&1 &
RUN_PID=$!
track_pid "$RUN_PID"
on_exit "cd $tree && sh tools/run-embedded.sh stop"
wait_for 60 grep -q 'event=db_connected' "$T/run.log"
[ -p var/fifo ] || fail "no var/fifo"
[ -S var/pg/sock/.s.PGSQL.5432 ] || fail "no unix socket in var/pg/sock"
pm=$(head -n 1 var/pg/data/postmaster.pid)
tcp=$(ss -ltnpH)
if grep -q "pid=$pm," <<<"$tcp"; then fail "the private cluster listens on TCP"; fi
ok "private cluster and FIFO created, authrelayd connected"

printf 'Feb 11 16:49:22 myhost dovecot: pop3-login: Login: user=<usernm>, method=PLAIN, rip=11.222.33.44, lip=11.0.222.33, mpid=91587\n' > "$T/sample.log"
cat "$T/sample.log" > var/fifo
listed() { bin/authrelayctl -c var/authrelay.conf list | grep -q '11.222.33.44'; }
wait_for 20 listed
ok "README walk-through: cat log > var/fifo; authrelayctl list shows the relay"

kill -TERM "$RUN_PID"
rc=0; wait "$RUN_PID" || rc=$?
assert_eq 0 "$rc" "authrelayd exit status"
sh tools/run-embedded.sh stop > /dev/null
[ ! -f var/pg/data/postmaster.pid ] || fail "make stop left PostgreSQL running"
ok "make stop stops the private cluster"
