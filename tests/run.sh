#!/usr/bin/env bash
# run.sh - run every test: unit programs, then every tests/*/test-*.sh.
# Each test exits 0 (pass), 77 (skip, with a reason) or anything else
# (fail). Logs go to build/test-logs/. The last line is the summary.
# TESTS="pattern" limits the run to tests whose name contains pattern.
set -u
cd "$(dirname "$0")/.."
top=$PWD
logs=$top/build/test-logs
mkdir -p "$logs"
passed=0 failed=0 skipped=0 failures=()

run_one() {
	local name=$1; shift
	local log=$logs/${name//\//_}.log start end rc
	[ -n "${TESTS:-}" ] && [[ $name != *"$TESTS"* ]] && return
	start=$(date +%s)
	timeout --kill-after=10 "${TEST_TIMEOUT:-300}" "$@" >"$log" 2>&1 </dev/null
	rc=$?
	end=$(date +%s)
	case $rc in
	0) passed=$((passed + 1)); printf 'PASS %s (%ss)\n' "$name" $((end - start)) ;;
	77) skipped=$((skipped + 1)); printf 'SKIP %s: %s\n' "$name" "$(tail -n 1 "$log")" ;;
	*) failed=$((failed + 1)); failures+=("$name")
	   printf 'FAIL %s (exit %s, %ss); last lines of %s:\n' "$name" $rc $((end - start)) "$log"
	   tail -n 25 "$log" | sed 's/^/    /' ;;
	esac
}

for t in build/tests/test-*; do
	[ -x "$t" ] && run_one "unit/$(basename "$t")" "$t"
done
for t in tests/*/test-*.sh; do
	[ -f "$t" ] && run_one "${t#tests/}" bash "$t"
done

[ ${#failures[@]} -gt 0 ] && printf 'failed: %s\n' "${failures[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
