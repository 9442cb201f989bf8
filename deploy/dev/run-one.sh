#!/usr/bin/env bash
# `make run-<service>`: one binary in the foreground, in development mode,
# with the settings and secrets make run gives it (deploy/dev/env.sh), its
# log on this terminal.
#
#   deploy/dev/run-one.sh api|backoffice|checkout|worker|gateway|sandbox
#
# Services that use the database (api, backoffice, checkout, worker) share
# make run's private MariaDB: started here if it is not running, migrations
# and demo data applied.  Ctrl-C stops the binary; MariaDB stops with it
# only if nothing else (make run, another make run-<service>) still uses it.
set -euo pipefail

# shellcheck source=deploy/dev/env.sh
. "$(dirname "$0")/env.sh"
cd "$dev_top"

usage="usage: $0 api|backoffice|checkout|worker|gateway|sandbox"
short=${1:-}
name=$(dev_binary "$short") || {
	echo "$usage" >&2
	exit 2
}
who="run-$short"
if [ ! -x "$dev_bin/$name" ]; then
	echo "$who: $dev_bin/$name is not built (make all)" >&2
	exit 1
fi
port=$(dev_port "$name")
if dev_port_in_use "$port"; then
	if [ -e "$dev_var/run/$name.pid" ] && kill -0 "$(cat "$dev_var/run/$name.pid")" 2>/dev/null; then
		echo "$who: $name already runs under make run on port $port;" \
			"use make restart-$short to restart it with a new build" >&2
	else
		echo "$who: port $port is in use (another make run-$short?)" >&2
	fi
	exit 1
fi

# expect LABEL URL HOW: one line about a process this one talks to (HOW
# starts it, shown while it is not running).
expect() {
	if curl -fsS -m 2 "$2/healthz" >/dev/null 2>&1; then
		printf '  %-28s %-32s %s\n' "$1" "$2" "answering"
	else
		printf '  %-28s %-32s %s\n' "$1" "$2" "not running yet: $3"
	fi
}

# Which other processes this one talks to, and where.
print_expectations() {
	local s="http://127.0.0.1:$dev_port_sandbox" c="http://127.0.0.1:$dev_port_checkout"
	echo "$who: $name talks to:"
	case "$name" in
	b4-checkout)
		expect "acquirer sandbox (payments)" "$s" "make run-sandbox"
		echo "  the sandbox's callbacks come back to $c"
		;;
	b4-worker)
		expect "acquirer sandbox (refunds)" "$s" "make run-sandbox"
		echo "  webhooks go to the URLs producers registered"
		;;
	b4-gateway)
		expect "b4-api        /api" "http://127.0.0.1:$dev_port_api" "make run-api"
		expect "b4-backoffice /backoffice" "http://127.0.0.1:$dev_port_backoffice" \
			"make run-backoffice"
		expect "b4-checkout   /checkout" "$c" "make run-checkout"
		echo "  a route whose service is not running answers 502/503"
		;;
	b4-acquirer-sandbox)
		echo "  callbacks go to the URL each charge names: b4-checkout at $c (make run-checkout)"
		;;
	b4-api | b4-backoffice)
		echo "  only MariaDB; jobs it queues are run by b4-worker (make run-worker)"
		;;
	esac
	if dev_needs_db "$name"; then
		echo "  MariaDB                      127.0.0.1:$dev_db_port (user b4 / b4dev, database b4)"
	fi
}

child=""
stopping=0
finish() {
	[ "$stopping" = 1 ] && return
	stopping=1
	if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
		echo "$who: stopping $name"
		kill -TERM "$child" 2>/dev/null || true
		wait "$child" 2>/dev/null || true
	fi
	dev_db_release "$who"
}
trap 'finish; exit 0' INT TERM HUP
trap finish EXIT

if dev_needs_db "$name"; then
	dev_db_acquire "$who"
	dev_migrate "$who"
fi
file=$(dev_env_file_write "$name")
print_expectations
echo "$who: $name on http://127.0.0.1:$port (settings: $file); Ctrl-C stops it"
echo

# In the background so that this script's trap runs on Ctrl-C; its output
# still goes to this terminal.
"$dev_bin/$name" --env-file "$file" &
child=$!
rc=0
wait "$child" || rc=$?
child=""
echo "$who: $name exited with status $rc"
exit "$rc"
