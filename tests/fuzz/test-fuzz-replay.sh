#!/usr/bin/env bash
# test-fuzz-replay.sh - build the libFuzzer targets, replay every seed corpus
# and every saved finding, then fuzz each target for a few seconds (CI gate).
# FUZZ_TIME: seconds per target (default 3).
. "$(dirname "$0")/../lib.sh"

FUZZ=$TOP/tests/fuzz
RUN=$FUZZ/run-fuzz.sh
export FUZZ_BUILD=$T/fuzz
export FUZZ_TIME=${FUZZ_TIME:-3}

rc=0
bash "$RUN" build >"$T/build.log" 2>&1 || rc=$?
if [ $rc -eq 77 ]; then
	skip "clang cannot link -fsanitize=fuzzer (libclang-rt-14-dev missing)"
fi
[ $rc -eq 0 ] || { cat "$T/build.log"; fail "fuzz targets do not build"; }

targets=()
for f in "$FUZZ"/fuzz-*.c; do
	t=${f##*/fuzz-}
	targets+=("${t%.c}")
done
[ ${#targets[@]} -ge 8 ] || fail "expected at least 8 targets, found ${#targets[@]}"
ok "built ${#targets[@]} targets: ${targets[*]}"

# Replay: every corpus file must run clean, and every one must run.
bash "$RUN" replay || fail "a seed corpus input fails (see $FUZZ_BUILD/logs)"
for t in "${targets[@]}"; do
	want=$(find "$FUZZ/corpus/$t" -type f | wc -l)
	[ "$want" -gt 0 ] || fail "$t: empty seed corpus"
	got=$(sed -n 's/^stat::number_of_executed_units: *//p' \
	    "$FUZZ_BUILD/logs/$t-replay.log" | tail -1)
	# libFuzzer adds one run on an empty input.
	[ "${got:-0}" -ge "$want" ] || fail "$t: replayed ${got:-0} of $want inputs"
done
ok "replayed every seed corpus"

# Saved findings: each must now run clean (a regression test per bug).
n=0
for f in "$FUZZ"/crashes/*; do
	[ -f "$f" ] || continue
	name=${f##*/}
	t=${name%%-*}
	[ -x "$FUZZ_BUILD/fuzz-$t" ] || fail "$name: no target fuzz-$t"
	AUTHRELAY_FUZZ_PARSERS=$TOP/parsers "$FUZZ_BUILD/fuzz-$t" \
	    -artifact_prefix="$T/" "$f" \
	    >"$T/crash-$name.log" 2>&1 ||
	    { grep -E 'property failed|ERROR|runtime error' "$T/crash-$name.log";
	      fail "saved finding $name fails: open bug or regression (tests/fuzz/README.md)"; }
	n=$((n + 1))
done
ok "$n saved findings run clean"

# A short real fuzzing run per target.
bash "$RUN" run || fail "fuzzing found something (see $FUZZ_BUILD/artifacts)"
ok "every target fuzzed ${FUZZ_TIME}s clean"
