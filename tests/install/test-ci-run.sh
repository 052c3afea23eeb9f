#!/usr/bin/env bash
# .ci/run (issue 12 item 12): in this order, the -Werror build, its suite
# beside `stress-ng --cpu 2` (started and stopped by PID, its workers
# gone afterwards), then `make check` under ASan+UBSan; tools/deps.sh
# installs stress-ng. The stress block is run here with a stand-in for
# the suite.
. "$(dirname "$0")/../lib.sh"
ci=$TOP/.ci/run
bash -n "$ci" || fail ".ci/run: syntax"
line() { grep -n -m 1 -F -- "$1" "$ci" | cut -d: -f1; }
w=$(line 'make WERROR=1 all test-programs'); s=$(line 'stress-ng --cpu 2'); a=$(line 'make check WERROR=1 SAN=1')
[ -n "$w" ] && [ -n "$s" ] && [ -n "$a" ] || fail ".ci/run lacks a pass (werror=$w stress=$s asan=$a)"
[ "$w" -lt "$s" ] && [ "$s" -lt "$a" ] || fail ".ci/run order: werror line $w, stress $s, asan $a"
awk '/^PACKAGES="/,/"$/' "$TOP/tools/deps.sh" | grep -qw stress-ng || fail "tools/deps.sh does not install stress-ng"
ok ".ci/run: -Werror, stress, ASan in that order; deps.sh installs stress-ng"

command -v stress-ng >/dev/null || skip "stress-ng not installed (tools/deps.sh)"
# The block from the stress-ng line to the blank line after it, with the
# suite replaced by stand_in: wait (up to 60 s) for two workers, note them.
{
	cat <<EOF
stand_in() {
	for _ in \$(seq 600); do
		pgrep -P "\$hogs" > "$T/workers" && [ \$(wc -l < "$T/workers") -ge 2 ] && return 0
		sleep 0.1
	done
	return 1
}
EOF
	awk -v s="$s" 'NR >= s && /^$/ { exit } NR >= s' "$ci" | sed 's|^bash tests/run.sh|stand_in|'
	printf 'echo "$hogs" > "%s/hogs"\n' "$T"
} > "$T/block.sh"
grep -q '^stand_in ' "$T/block.sh" || fail "the stress block does not run tests/run.sh"
bash -euo pipefail "$T/block.sh" 2> "$T/block.err" || { cat "$T/block.err"; fail "the stress block failed"; }
[ "$(wc -l < "$T/workers")" -ge 2 ] || fail "fewer than two CPU hogs ran beside the suite"
hogs=$(cat "$T/hogs")
! kill -0 "$hogs" 2>/dev/null || fail "stress-ng $hogs still runs after the pass"
while read -r p; do
	! kill -0 "$p" 2>/dev/null || fail "stress-ng worker $p still runs"
done < "$T/workers"
ok "two CPU hogs ran beside the pass and were stopped by PID"
