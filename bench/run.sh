#!/usr/bin/env bash
# run.sh - `make bench`: every bench/*-bench.sh, each printing a table.
# Figures are ratios against baselines measured in the same run; the
# machines are noisy, so absolute numbers are for information only.
set -u
cd "$(dirname "$0")/.."
rc=0
for b in bench/*-bench.sh; do
	echo "== $b"
	bash "$b"
	case $? in
	0) ;;
	77) echo "SKIPPED: $b (the reason is above)" ;;
	*) echo "FAILED: $b"; rc=1 ;;
	esac
	echo
done
exit $rc
