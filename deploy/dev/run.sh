#!/usr/bin/env bash
# `make run`: the whole system in the foreground, in development mode.
# The private MariaDB under var/dev (shared with `make run-<service>`),
# migrations and demo data, then every binary, each under a supervisor that
# restarts it when it exits (back-off 1 s doubling to 30 s; after
# B4_DEV_MAX_FAST_CRASHES crashes in a row, each within 10 s of its start,
# it gives up on that one and says so).  `make restart-<service>` rebuilds
# and restarts one of them.  Ctrl-C (or SIGTERM) stops all of them, and
# MariaDB too unless a `make run-<service>` still uses it.
#
# Settings and ports: deploy/dev/env.sh (dev_settings is where a setting
# every binary needs goes; B4_DEV_VAR, B4_DEV_PORT_BASE... move the stack).
set -euo pipefail

# shellcheck source=deploy/dev/env.sh
. "$(dirname "$0")/env.sh"
cd "$dev_top"
top=$dev_top
bin=$dev_bin
dev=$dev_var
max_fast_crashes=${B4_DEV_MAX_FAST_CRASHES:-5}

# --- stopping ------------------------------------------------------------
supervisors=() # one per binary, see supervise
pids=()        # other processes started below; TERMed and waited for at stop
stopping=0
stop_all() {
	[ "$stopping" = 1 ] && return
	stopping=1
	echo
	echo "run: stopping..."
	for pid in "${supervisors[@]+"${supervisors[@]}"}" "${pids[@]+"${pids[@]}"}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${supervisors[@]+"${supervisors[@]}"}" "${pids[@]+"${pids[@]}"}"; do
		wait "$pid" 2>/dev/null || true
	done
	dev_db_release run
	echo "run: stopped"
}
trap 'stop_all; exit 0' INT TERM HUP
trap stop_all EXIT

# --- supervision -----------------------------------------------------------
# supervise NAME [KEY=value ...]: runs in the background (a subshell) and
# keeps NAME running until TERM.  SIGUSR1 (make restart-NAME) restarts it at
# once with the binary now on disk.  Pids: $dev/run/NAME.pid (this
# supervisor), $dev/run/NAME.child (the binary).
supervise() {
	local name=$1 child="" rc started delay=1 fast=0 stop=0 restart=0
	shift
	trap 'stop=1; [ -z "$child" ] || kill -TERM "$child" 2>/dev/null || true' TERM
	trap 'restart=1; [ -z "$child" ] || kill -TERM "$child" 2>/dev/null || true' USR1
	echo "$BASHPID" >"$dev/run/$name.pid"
	while [ "$stop" = 0 ]; do
		if [ "$fast" -lt "$max_fast_crashes" ] || [ "$restart" = 1 ]; then
			[ "$restart" = 1 ] && fast=0 && delay=1
			restart=0
			started=$SECONDS
			env "$@" "$bin/$name" --env-file "$dev/env/$name.env" >>"$dev/logs/$name.log" 2>&1 &
			child=$!
			echo "$child" >"$dev/run/$name.child"
			# wait returns early when a trapped signal arrives; the
			# second wait collects the real status
			while :; do
				rc=0
				wait "$child" || rc=$?
				kill -0 "$child" 2>/dev/null || break
			done
			child=""
			[ "$stop" = 1 ] && break
			[ "$restart" = 1 ] && echo "run: restarting $name" && continue
			if [ $((SECONDS - started)) -ge 10 ]; then
				fast=0
				delay=1
			fi
			fast=$((fast + 1))
			if [ "$fast" -ge "$max_fast_crashes" ]; then
				echo "run: $name exited (status $rc) $fast times in a row soon after starting;" \
					"giving up on it. See $dev/logs/$name.log, fix, then: make restart-$(dev_short "$name")"
				continue
			fi
			echo "run: $name exited (status $rc); restarting in ${delay}s (log: $dev/logs/$name.log)"
		fi
		# back-off, or idle after giving up: TERM and USR1 cut it short
		sleep "$delay" &
		wait $! 2>/dev/null || kill $! 2>/dev/null || true
		[ "$fast" -lt "$max_fast_crashes" ] && delay=$((delay * 2 > 30 ? 30 : delay * 2))
	done
	rm -f "$dev/run/$name.pid" "$dev/run/$name.child"
}

# start NAME [KEY=value ...]: NAME under its supervisor, settings from its
# env file (the KEY=value arguments win over it).
start() {
	local name=$1
	if [ ! -x "$bin/$name" ]; then
		echo "run: $name is not built; skipping"
		return
	fi
	dev_env_file_write "$name" >/dev/null
	supervise "$@" &
	supervisors+=($!)
}

# --- database ----------------------------------------------------------------
# A port already taken (another make run, a make run-<service>) would make
# its service crash in a loop: refuse instead.
for name in "${dev_binaries[@]}"; do
	if dev_port_in_use "$(dev_port "$name")" || dev_port_in_use "$(dev_health_port "$name")"; then
		echo "run: port $(dev_port "$name") ($name) is in use: is make run or make" \
			"run-$(dev_short "$name") already running? Stop it first." >&2
		trap - EXIT
		exit 1
	fi
done
dev_db_acquire run
dev_migrate run

# --- start services ----------------------------------------------------------
start b4-acquirer-sandbox
start b4-api
start b4-backoffice
start b4-checkout
start b4-worker
start b4-gateway
# Prometheus and Alertmanager (deploy/dev/monitoring.sh), scraping this
# stack's ports; alerts land in $dev/logs/alerts.log
B4_MON_DIR=$dev/monitoring B4_ALERTS_LOG=$dev/logs/alerts.log \
	B4_MON_TARGETS="b4-gateway=127.0.0.1:$dev_port_gateway_admin b4-api=127.0.0.1:$dev_port_api \
b4-backoffice=127.0.0.1:$dev_port_backoffice b4-checkout=127.0.0.1:$dev_port_checkout \
b4-worker=127.0.0.1:$dev_port_worker b4-acquirer-sandbox=127.0.0.1:$dev_port_sandbox" \
	deploy/dev/monitoring.sh start $$ ||
	echo "run: monitoring did not start; see $dev/monitoring/*.log"

# --- wait until everything answers its health check (or report who did not) --
for name in "${dev_binaries[@]}"; do
	[ -x "$bin/$name" ] || continue
	dev_wait_healthy "$name" || echo "run: $name did not become healthy; see $dev/logs/$name.log"
done

# the demo offer's product image (db/seed/demo-product.png), uploaded as
# its producer would, through the gateway into the object storage
gw=http://127.0.0.1:$dev_port_gateway
demo_token=$(curl -fsS -X POST "$gw/api/v1/auth/login" -H 'Content-Type: application/json' \
	-d '{"email":"producer@b4you.dev","password":"producer-demo-123"}' 2>/dev/null |
	sed -n 's/.*"token":"\([^"]*\)".*/\1/p' || true)
if [ -n "$demo_token" ]; then
	curl -fsS -X PUT "$gw/api/v1/products/01900000-0000-7000-8000-000000000101/image" \
		-H "Authorization: Bearer $demo_token" -H 'Content-Type: image/png' \
		--data-binary @db/seed/demo-product.png >/dev/null 2>&1 ||
		echo "run: the demo product image was not uploaded; see $dev/logs/b4-api.log"
fi

cat <<MSG

b4you is running (development mode). Ctrl-C stops everything.

  Gateway (front-ends use this)  http://localhost:$dev_port_gateway
    members API                  http://localhost:$dev_port_gateway/api/v1/...
    back-office                  http://localhost:$dev_port_gateway/backoffice/v1/...
    checkout                     http://localhost:$dev_port_gateway/checkout/v1/offers/DEMOOFFER1
    checkout page (buyers)       http://localhost:$dev_port_gateway/pay/DEMOOFFER1
    producer panel               http://localhost:$dev_port_gateway/painel/
    back-office (admins)         http://localhost:$dev_port_gateway/admin/
  Gateway admin                  http://localhost:$dev_port_gateway_admin/metrics
  Services (direct)              api :$dev_port_api  backoffice :$dev_port_backoffice  checkout :$dev_port_checkout  worker :$dev_port_worker
  Acquirer sandbox               http://localhost:$dev_port_sandbox
  MariaDB                        127.0.0.1:$dev_db_port  user b4 / b4dev  database b4
  Logs                           $dev/logs/

  A service that exits is restarted (back-off 1 s .. 30 s);
  make restart-<api|backoffice|checkout|worker|gateway|sandbox> rebuilds and
  restarts one.

  Demo logins: producer@b4you.dev / producer-demo-123, affiliate@b4you.dev /
  affiliate-demo-123, admin@b4you.dev / admin-demo-12345

MSG

# --- stay in the foreground until Ctrl-C -------------------------------------
while :; do
	for pid in "${supervisors[@]+"${supervisors[@]}"}"; do
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "run: a supervisor (pid $pid) died; stopping."
			exit 1
		fi
	done
	sleep 1 &
	wait $! || true
done
