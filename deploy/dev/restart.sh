#!/usr/bin/env bash
# `make restart-<service>`: under a running `make run`, stop one binary and
# start it again from the binary now on disk (make rebuilds it first), then
# wait until it answers /healthz.
#
#   deploy/dev/restart.sh api|backoffice|checkout|worker|gateway|sandbox
set -euo pipefail

# shellcheck source=deploy/dev/env.sh
. "$(dirname "$0")/env.sh"

short=${1:-}
name=$(dev_binary "$short") || {
	echo "usage: $0 api|backoffice|checkout|worker|gateway|sandbox" >&2
	exit 2
}
who="restart-$short"
supervisor=$(cat "$dev_var/run/$name.pid" 2>/dev/null || true)
if [ -z "$supervisor" ] || ! kill -0 "$supervisor" 2>/dev/null; then
	echo "$who: $name does not run under make run here ($dev_var);" \
		"a make run-$short stops with Ctrl-C and starts again with make run-$short" >&2
	exit 1
fi
old=$(cat "$dev_var/run/$name.child" 2>/dev/null || true)
kill -USR1 "$supervisor"
# the supervisor writes the new child's pid once it has started it
for _ in $(seq 1 300); do
	new=$(cat "$dev_var/run/$name.child" 2>/dev/null || true)
	if [ -n "$new" ] && [ "$new" != "$old" ] && kill -0 "$new" 2>/dev/null &&
		dev_wait_healthy "$name" 1; then
		echo "$who: $name restarted (pid $new)"
		exit 0
	fi
	sleep 0.1
done
echo "$who: $name did not answer within 30 s; see $dev_var/logs/$name.log" >&2
exit 1
