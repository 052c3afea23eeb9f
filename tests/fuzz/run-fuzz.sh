#!/bin/bash
# run-fuzz.sh - build the libFuzzer targets with clang, replay their corpora, fuzz each for a while.
#
# usage: tests/fuzz/run-fuzz.sh [build|replay|run|all] [target...]
#   build   compile every target into $FUZZ_BUILD (default build/fuzz)
#   replay  run each target once over every file of tests/fuzz/corpus/<target>
#   run     fuzz each target for $FUZZ_TIME seconds (default 60), or
#           until $FUZZ_RUNS executions if that comes first; new inputs go to
#           $FUZZ_BUILD/corpus/<target>, findings to $FUZZ_BUILD/artifacts/
#   all     build, replay, run (the default; what `make fuzz` does)
# Targets default to every tests/fuzz/fuzz-*.c. Exit 0 when everything ran
# clean, 1 on a finding or build failure, 77 when clang cannot link libFuzzer.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP" || exit 1
FUZZ_DIR=tests/fuzz
FUZZ_BUILD=${FUZZ_BUILD:-build/fuzz}
FUZZ_TIME=${FUZZ_TIME:-60}
FUZZ_RUNS=${FUZZ_RUNS:-}
FUZZ_CC=${FUZZ_CC:-clang}
FUZZ_NICE=${FUZZ_NICE:-}	# e.g. "nice -n 19" for long runs
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
# -iquote: watcher/syslog.h must not hide <syslog.h> from lib/log.c.
CFLAGS_F="-std=c17 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Wshadow -Wstrict-prototypes
  -Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral -Wvla -Wpointer-arith -Werror
  -Ilib -iquote watcher -iquote qmail-pop-hack -iquote policy -iquote $FUZZ_DIR $(pkg-config --cflags libpcre2-8 2>/dev/null)"
LIBS="$(pkg-config --libs libpcre2-8 2>/dev/null || echo -lpcre2-8)"
# The code under test: everything the targets reach, nothing with a main().
SOURCES="lib/ipaddr.c lib/config.c lib/proxyproto.c lib/log.c lib/strbuf.c lib/utf8.c
  watcher/syslog.c watcher/rules.c watcher/linebuf.c
  qmail-pop-hack/popio.c qmail-pop-hack/sslline.c policy/request.c"
# Per-target libFuzzer options: rules needs lines past RULES_MSG_MAX;
# config lines up to past CONFIG_LINE_MAX; popio only needs lines past
# POPIO_LINE_MAX (it reads a byte per call).
declare -A OPTS=([rules]="-max_len=9000" [popio]="-max_len=1100"
  [config]="-max_len=70000" [policyreq]="-max_len=70000")

mode=${1:-all}
[ $# -gt 0 ] && shift
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	for f in "$FUZZ_DIR"/fuzz-*.c; do
		t=${f##*/fuzz-}
		targets+=("${t%.c}")
	done
fi

say() { printf 'fuzz: %s\n' "$*"; }

# Can clang link a fuzzer at all? (needs libclang-rt-14-dev on Debian 12)
have_libfuzzer() {
	local d
	d=$(mktemp -d) || return 1
	printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
	    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
	    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n){(void)d;(void)n;return 0;}' \
	    >"$d/t.c"
	"$FUZZ_CC" -fsanitize=fuzzer,address,undefined -o "$d/t" "$d/t.c" \
	    >/dev/null 2>&1
	local rc=$?
	rm -rf "$d"
	return $rc
}

# Rebuild an object when its source or any header is newer.
stale() {
	local obj=$1 src=$2 h
	[ -e "$obj" ] && [ "$obj" -nt "$src" ] || return 0
	for h in lib/*.h watcher/*.h qmail-pop-hack/*.h policy/*.h "$FUZZ_DIR"/*.h; do
		[ "$h" -nt "$obj" ] && return 0
	done
	return 1
}

compile() {
	local src=$1 obj=$2 extra=$3
	if stale "$obj" "$src"; then
		mkdir -p "$(dirname "$obj")"
		# shellcheck disable=SC2086
		"$FUZZ_CC" $CFLAGS_F $SAN $extra -c -o "$obj" "$src" || return 1
	fi
}

build() {
	local objs=() src obj t failed=0
	if ! have_libfuzzer; then
		say "$FUZZ_CC cannot link -fsanitize=fuzzer (apt-get install libclang-rt-14-dev)"
		return 77
	fi
	for src in $SOURCES; do
		obj=$FUZZ_BUILD/obj/${src%.c}.o
		compile "$src" "$obj" -fsanitize=fuzzer-no-link || return 1
		objs+=("$obj")
	done
	for t in "${targets[@]}"; do
		obj=$FUZZ_BUILD/obj/fuzz-$t.o
		compile "$FUZZ_DIR/fuzz-$t.c" "$obj" -fsanitize=fuzzer || { failed=1; continue; }
		if [ ! -e "$FUZZ_BUILD/fuzz-$t" ] || stale "$FUZZ_BUILD/fuzz-$t" "$obj" ||
		    [ -n "$(find "${objs[@]}" -newer "$FUZZ_BUILD/fuzz-$t")" ]; then
			# shellcheck disable=SC2086
			"$FUZZ_CC" -fsanitize=fuzzer $SAN -o "$FUZZ_BUILD/fuzz-$t" \
			    "$obj" "${objs[@]}" $LIBS || failed=1
		fi
	done
	return $failed
}

# Run one target with libFuzzer arguments; log to $FUZZ_BUILD/logs.
fuzz_exec() {
	local t=$1 what=$2
	shift 2
	local log=$FUZZ_BUILD/logs/$t-$what.log
	mkdir -p "$FUZZ_BUILD/logs" "$FUZZ_BUILD/artifacts"
	# shellcheck disable=SC2086
	AUTHRELAY_FUZZ_PARSERS=$TOP/parsers \
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
	    $FUZZ_NICE "$FUZZ_BUILD/fuzz-$t" ${OPTS[$t]:-} -print_final_stats=1 \
	    -artifact_prefix="$FUZZ_BUILD/artifacts/$t-" "$@" >"$log" 2>&1
	local rc=$?
	local execs
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	if [ $rc -eq 0 ]; then
		say "$t $what: ok, ${execs:-?} executions"
	else
		say "$t $what: FAILED (exit $rc), see $log:"
		grep -E 'ERROR|property failed|runtime error|SUMMARY|Test unit written' \
		    "$log" | head -8 | sed 's/^/    /'
	fi
	return $rc
}

replay() {
	local t failed=0
	for t in "${targets[@]}"; do
		[ -d "$FUZZ_DIR/corpus/$t" ] || { say "$t: no corpus"; failed=1; continue; }
		fuzz_exec "$t" replay -runs=0 "$FUZZ_DIR/corpus/$t" || failed=1
	done
	return $failed
}

run() {
	local t failed=0 limit
	limit=(-max_total_time="$FUZZ_TIME")
	[ -n "$FUZZ_RUNS" ] && limit+=(-runs="$FUZZ_RUNS")
	for t in "${targets[@]}"; do
		# New inputs go to the scratch corpus, never into the repository.
		mkdir -p "$FUZZ_BUILD/corpus/$t"
		fuzz_exec "$t" run "${limit[@]}" "$FUZZ_BUILD/corpus/$t" \
		    "$FUZZ_DIR/corpus/$t" || failed=1
	done
	return $failed
}

case $mode in
build)	build ;;
replay)	replay ;;
run)	run ;;
all)	build && replay && run ;;
*)	echo "usage: $0 [build|replay|run|all] [target...]" >&2; exit 2 ;;
esac
