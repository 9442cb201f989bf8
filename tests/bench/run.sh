#!/usr/bin/env bash
# `make bench`: runs every tests/bench/bench_*.sh (or those matching $1).
# Each prints its figures; docs/BENCHMARKS.md records them with the command.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
export BUILD=${BUILD:-build}
status=0
for b in tests/bench/bench_*.sh; do
	[ -n "${1:-}" ] && [[ "$b" != *"$1"* ]] && continue
	echo "=== $b"
	bash "$b" || status=1
done
exit $status
