#!/usr/bin/env bash
# Runs the test suites and closes with "N passed, N failed".
#
#   tests/run.sh [all|unit|integration|browser|fuzz] [NAME_FILTER]
#
# Unit tests are cmocka binaries under $BUILD/tests/unit.  Integration tests
# are cmocka binaries under $BUILD/tests/integration; this script starts one
# private MariaDB for them (ephemeral port, under var/test-*) and each test
# creates its own database in it, then starts the real binaries it needs.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
BUILD=${BUILD:-build}
mode=${1:-all}
filter=${2:-}

passed=0
failed=0
failed_names=()

run_cmocka() {
	local bin=$1 out rc p f
	out=$(mktemp)
	echo "=== $bin"
	"$bin" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -n1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -n1)
	p=${p:-0}
	f=${f:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		# crashed or failed in setup: count the binary as one failure
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	[ "$f" -eq 0 ] || failed_names+=("$bin")
	rm -f "$out"
}

run_dir() {
	local dir=$1 bin
	[ -d "$dir" ] || return 0
	while IFS= read -r bin; do
		[ -n "$filter" ] && [[ "$bin" != *"$filter"* ]] && continue
		run_cmocka "$bin"
	done < <(find "$dir" -type f -name 'test_*' -perm -u+x | sort)
}

db_dir=""
cleanup() {
	if [ -n "$db_dir" ]; then
		deploy/dev/mariadb.sh stop "$db_dir" >/dev/null 2>&1 || true
		rm -rf "$(dirname "$db_dir")"
	fi
}
trap cleanup EXIT

start_db() {
	local run_dir
	run_dir="var/test-$$"
	db_dir="$run_dir/db"
	mkdir -p "$run_dir"
	B4_TEST_DB_PORT=$(deploy/dev/mariadb.sh start "$db_dir" 0) || {
		echo "tests: could not start MariaDB" >&2
		failed=$((failed + 1))
		return 1
	}
	export B4_TEST_DB_PORT
	export B4_TEST_DB_SOCKET="$top/$db_dir/mysqld.sock"
	export B4_TEST_VAR="$top/$run_dir"
	export B4_TEST_BUILD="$top/$BUILD"
	export B4_TEST_TOP="$top"
}

case "$mode" in
all | unit) run_dir "$BUILD/tests/unit" ;;
esac
# Browser tests (tests/browser/run.sh): headless Chromium through the
# gateway against the real stack, in the MariaDB of the integration tests.
run_browser() {
	[ -n "$filter" ] && [[ "tests/browser/run.sh" != *"$filter"* ]] && return 0
	run_cmocka tests/browser/run.sh
}

case "$mode" in
all | integration | browser)
	if start_db; then
		[ "$mode" = browser ] || run_dir "$BUILD/tests/integration"
		run_browser
		# a sanitizer report in any started binary fails the run, even when
		# the test that started it did not look at its exit status
		reports=$(grep -l -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' \
			"$B4_TEST_VAR"/logs/* 2>/dev/null || true)
		if [ -n "$reports" ]; then
			echo "sanitizer reports in:"
			for r in $reports; do
				echo "--- $r"
				grep -E -A 15 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$r" | head -40
			done
			failed=$((failed + 1))
			failed_names+=(sanitizer-reports)
		fi
	fi
	;;
esac
# The API contract (web/contract, npm ci by make test): docs/openapi.yaml
# passes redocly lint, the generated TypeScript types are up to date and
# compile (mode `contract` runs only these).  The live answers are checked
# by the test_contract binary.
run_check() {
	local name=$1 out
	shift
	echo "=== $name"
	if out=$("$@" 2>&1); then
		echo "$out" | tail -n 3
		passed=$((passed + 1))
	else
		echo "$out" | tail -n 40
		failed=$((failed + 1))
		failed_names+=("$name")
	fi
}
case "$mode" in
all | contract)
	if [ -z "$filter" ]; then
		if [ -f web/contract/node_modules/.package-lock.json ]; then
			run_check contract-lint npm --prefix web/contract run --silent lint
			run_check contract-types-fresh npm --prefix web/contract run --silent check-gen
			run_check contract-types-compile npm --prefix web/contract run --silent typecheck
		else
			echo "contract: web/contract/node_modules is missing (make test runs npm ci)"
			failed=$((failed + 1))
			failed_names+=(contract-npm)
		fi
	fi
	;;
esac
case "$mode" in
all | fuzz)
	[ -x tests/fuzz/run.sh ] && [ -z "$filter" ] && {
		out=$(BUILD=$BUILD tests/fuzz/run.sh short 2>&1)
		rc=$?
		echo "$out" | tail -n 20
		if [ $rc -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); failed_names+=(fuzz); fi
	}
	;;
esac

if [ "${#failed_names[@]}" -gt 0 ]; then
	echo "failed: ${failed_names[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
