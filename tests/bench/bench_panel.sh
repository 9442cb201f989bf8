#!/usr/bin/env bash
# The panel's "Vendas" for a producer with 100,000 sales, in headless
# Chromium through b4-gateway (tests/bench/panel_sales.mjs), and the sizes
# of the panel's bundles (web/panel/dist).  Figures in docs/BENCHMARKS.md.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bench_db
"$top/tools/web-build.sh" "$top/$BUILD" tests/browser
"$top/tools/web-build.sh" "$top/$BUILD" web/panel build
mkdir -p "$bench_dir/var"
B4_TEST_DB_PORT=$B4_DB_PORT B4_TEST_DB_SOCKET="$bench_dir/db/mysqld.sock" B4_TEST_VAR="$bench_dir/var" \
	B4_TEST_BUILD="$top/$BUILD" B4_TEST_TOP="$top" PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
	NODE_PATH="$top/tests/browser/node_modules" node "$top/tests/bench/panel_sales.mjs"
