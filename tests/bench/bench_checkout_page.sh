#!/usr/bin/env bash
# The checkout page (/pay/DEMOOFFER1) in Chromium: first-load JavaScript
# bytes (compressed, as transferred) and the time to a usable form, over
# the real stack behind b4-gateway (tests/browser/measure.mjs).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
"$top/tools/web-build.sh" "$top/$BUILD" web/checkout build
"$top/tools/web-build.sh" "$top/$BUILD" tests/browser
port=$("$top/deploy/dev/mariadb.sh" start "$bench_dir/db" 0)
export B4_TEST_DB_PORT=$port B4_TEST_DB_SOCKET="$bench_dir/db/mysqld.sock"
export B4_TEST_VAR="$bench_dir" B4_TEST_BUILD="$top/$BUILD" B4_TEST_TOP="$top"
echo "--- node tests/browser/measure.mjs (Chromium $(/usr/bin/chromium --version 2>/dev/null | awk '{print $2}'))"
node "$top/tests/browser/measure.mjs"
# the gzip size of the same files, for comparison with other builds
echo "--- gzip -9 of the scripts index.html loads in a modern browser (not the nomodule polyfills)"
total=0
for f in $(grep -o '<script src="/pay/_next/static/[^"]*\.js"' "$top/web/checkout/out/index.html" | sed 's/.*src="//; s/"$//' | sort -u); do
	n=$(gzip -9c "$top/web/checkout/out/${f#/pay/}" | wc -c)
	total=$((total + n))
done
echo "first-load JS (gzip -9): $total bytes"
