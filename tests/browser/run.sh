#!/usr/bin/env bash
# Browser tests of the web front-ends: called by tests/run.sh (inside its
# MariaDB environment, B4_TEST_*), output counted like a cmocka binary.
# Installs playwright-core from npm (never a browser: Debian's
# /usr/bin/chromium is driven) and builds the web apps when stale.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${B4_TEST_BUILD:-$top/build}

if [ ! -x "${B4_CHROMIUM:-/usr/bin/chromium}" ]; then
	echo "[  ERROR   ] ${B4_CHROMIUM:-/usr/bin/chromium} is missing (deploy/dev/deps.sh installs chromium)"
	exit 1
fi
"$top/tools/web-build.sh" "$build" tests/browser || exit 1
"$top/tools/web-build.sh" "$build" web/checkout build || exit 1
"$top/tools/web-build.sh" "$build" web/panel build || exit 1
# every *.test.mjs, their counts summed into one closing pair of lines
status=0 passed=0 failed=0
for t in "$here"/*.test.mjs; do
	# B4_BROWSER_ONLY=panel runs only the files whose name contains it
	[ -n "${B4_BROWSER_ONLY:-}" ] && [[ "$(basename "$t")" != *"$B4_BROWSER_ONLY"* ]] && continue
	out=$(mktemp)
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 timeout 600 node "$t" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -n1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -n1)
	p=${p:-0} f=${f:-0}
	[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
	passed=$((passed + p)) failed=$((failed + f))
	[ "$rc" -eq 0 ] || status=1
	rm -f "$out"
done
echo "[==========] browser tests of $(basename "$top")"
echo "[  PASSED  ] $passed test(s)."
[ "$failed" -eq 0 ] || echo "[  FAILED  ] $failed test(s)"
exit $status
