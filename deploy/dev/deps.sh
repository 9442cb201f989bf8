#!/usr/bin/env bash
# Installs the Debian 12 packages b4you needs to build, run and test.
# As root it runs apt-get; otherwise it prints the exact command to run.
set -euo pipefail

PACKAGES=(
	build-essential pkg-config git ca-certificates curl
	libevent-dev libmariadb-dev mariadb-server mariadb-client
	libcjson-dev libssl-dev libcurl4-openssl-dev libcmocka-dev libargon2-dev
	prometheus prometheus-alertmanager wrk nginx-light libxml2-utils clang libclang-rt-14-dev
	clang-format nodejs npm openssl procps chromium tzdata
)

missing=()
for pkg in "${PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$pkg")
	fi
done
# A tool installed some other way (e.g. a preinstalled node) is good enough.
filtered=()
for pkg in "${missing[@]}"; do
	case "$pkg" in
	nodejs) command -v node >/dev/null || filtered+=("$pkg") ;;
	npm) command -v npm >/dev/null || filtered+=("$pkg") ;;
	clang) command -v clang >/dev/null || filtered+=("$pkg") ;;
	clang-format) command -v clang-format >/dev/null || filtered+=("$pkg") ;;
	*) filtered+=("$pkg") ;;
	esac
done
missing=("${filtered[@]+"${filtered[@]}"}")

if [ "${#missing[@]}" -eq 0 ]; then
	exit 0
fi

cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: ${missing[*]}" >&2
	echo "deps: run as root:  sudo sh -c '$cmd'" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian's postinst may start system daemons where an init exists; b4you
# runs its own private instances, so leave the system ones alone.
