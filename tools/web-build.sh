#!/usr/bin/env bash
# tools/web-build.sh BUILD_DIR NPM_PROJECT [build]
#
# `npm ci` for an npm project of the repository (web/checkout, tests/browser,
# ...) when its package-lock.json changed since the last install, and with
# `build` also `npm run build` when any of its sources changed since the
# last build.  Stamps live under BUILD_DIR/stamps, so `make run` and
# `make test` skip both when up to date.  Only the npm registry is used.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$1
project=$2
want_build=${3:-}
dir="$top/$project"
stamps="$build/stamps"
name=$(echo "$project" | tr '/' '-')
mkdir -p "$stamps"
export NEXT_TELEMETRY_DISABLED=1 PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm_config_fund=false npm_config_audit=false

if ! command -v npm >/dev/null; then
	echo "web-build: npm is missing (deploy/dev/deps.sh installs it)" >&2
	exit 1
fi
ci_stamp="$stamps/$name.npm-ci"
if [ ! -d "$dir/node_modules" ] || [ ! -f "$ci_stamp" ] || [ "$dir/package-lock.json" -nt "$ci_stamp" ]; then
	echo "web-build: npm ci in $project"
	(cd "$dir" && timeout 600 npm ci --no-audit --no-fund --loglevel=error >&2)
	touch "$ci_stamp"
fi
[ "$want_build" = build ] || exit 0
build_stamp="$stamps/$name.build"
# sources: everything of the project but its outputs and dependencies, and
# the generated API types it compiles against
newer=$(find "$dir" "$top/web/contract/schema.d.ts" \( -name node_modules -o -name .next -o -name out -o -name dist \) -prune \
	-o -type f -newer "$build_stamp" -print -quit 2>/dev/null || true)
if [ ! -f "$build_stamp" ] || [ -n "$newer" ] || [ "$ci_stamp" -nt "$build_stamp" ]; then
	echo "web-build: npm run build in $project"
	(cd "$dir" && timeout 600 npm run build --silent >&2)
	touch "$build_stamp"
fi
