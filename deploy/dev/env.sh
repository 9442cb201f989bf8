# shellcheck shell=bash
# env.sh - the development settings shared by `make run` (run.sh),
# `make run-<service>` (run-one.sh) and `make restart-<service>`
# (restart.sh).  Source it from bash; it defines variables and functions
# and starts nothing.
#
# Overrides, for tests and for a second copy of the stack on one machine
# (defaults in brackets; the defaults are what the README documents):
#   B4_DEV_VAR         data, logs, secrets and env files      [var/dev]
#   B4_DEV_PORT_BASE   the gateway's public port; api +1, backoffice +2,
#                      checkout +3, worker +4, sandbox +10,
#                      gateway admin +1000                    [8080]
#   B4_DEV_<NAME>_PORT one port (NAME: GATEWAY, GATEWAY_ADMIN, API,
#                      BACKOFFICE, CHECKOUT, WORKER, SANDBOX)
#   B4_DEV_DB_PORT     the private MariaDB's TCP port (0: any free one) [3307]
#
# Every binary is started with `--env-file $dev_var/env/<binary>.env`,
# written by dev_env_file_write from dev_settings below: the one place
# where a development setting shared by make run and make run-<service>
# goes.  Variables already in the environment win over the file.

dev_top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in
/*) dev_bin="$BUILD/bin" ;;
*) dev_bin="$dev_top/$BUILD/bin" ;;
esac
dev_var=${B4_DEV_VAR:-$dev_top/var/dev}
mkdir -p "$dev_var"
dev_var=$(cd "$dev_var" && pwd)
mkdir -p "$dev_var/logs" "$dev_var/objects" "$dev_var/env" "$dev_var/run" "$dev_var/db-users"

dev_port_base=${B4_DEV_PORT_BASE:-8080}
dev_port_gateway=${B4_DEV_GATEWAY_PORT:-$dev_port_base}
dev_port_gateway_admin=${B4_DEV_GATEWAY_ADMIN_PORT:-$((dev_port_base + 1000))}
dev_port_api=${B4_DEV_API_PORT:-$((dev_port_base + 1))}
dev_port_backoffice=${B4_DEV_BACKOFFICE_PORT:-$((dev_port_base + 2))}
dev_port_checkout=${B4_DEV_CHECKOUT_PORT:-$((dev_port_base + 3))}
dev_port_worker=${B4_DEV_WORKER_PORT:-$((dev_port_base + 4))}
dev_port_sandbox=${B4_DEV_SANDBOX_PORT:-$((dev_port_base + 10))}
dev_db_port=${B4_DEV_DB_PORT:-3307}

# Every binary make run starts, in start order.
# shellcheck disable=SC2034 # used by run.sh
dev_binaries=(b4-acquirer-sandbox b4-api b4-backoffice b4-checkout b4-worker b4-gateway)

# dev_binary SHORT: the binary behind a make target's name (api -> b4-api).
dev_binary() {
	case "$1" in
	api | backoffice | checkout | worker | gateway) echo "b4-$1" ;;
	sandbox) echo b4-acquirer-sandbox ;;
	*) return 1 ;;
	esac
}

# dev_short NAME: the make target's name for a binary (b4-api -> api).
dev_short() {
	case "$1" in
	b4-acquirer-sandbox) echo sandbox ;;
	*) echo "${1#b4-}" ;;
	esac
}

# dev_port NAME: the port NAME listens on (the gateway: its public one).
dev_port() {
	case "$1" in
	b4-acquirer-sandbox) echo "$dev_port_sandbox" ;;
	b4-api) echo "$dev_port_api" ;;
	b4-backoffice) echo "$dev_port_backoffice" ;;
	b4-checkout) echo "$dev_port_checkout" ;;
	b4-worker) echo "$dev_port_worker" ;;
	b4-gateway) echo "$dev_port_gateway" ;;
	esac
}

# dev_health_port NAME: the port where NAME answers /healthz.
dev_health_port() {
	if [ "$1" = b4-gateway ]; then
		echo "$dev_port_gateway_admin"
	else
		dev_port "$1"
	fi
}

# dev_needs_db NAME: true for the binaries that use MariaDB (the sandbox
# runs without one; the gateway has none).
dev_needs_db() {
	case "$1" in
	b4-acquirer-sandbox | b4-gateway) return 1 ;;
	*) return 0 ;;
	esac
}

# Secrets for development are generated once and kept under the var dir.
dev_secrets_ensure() {
	[ -f "$dev_var/secrets.env" ] && return 0
	(
		umask 077
		{
			echo "B4_JWT_SECRET=$(openssl rand -hex 32)"
			echo "B4_FIELD_KEYS=k1:$(openssl rand -hex 32)"
			echo "B4_BLIND_INDEX_KEY=$(openssl rand -hex 32)"
			echo "B4_ACQUIRER_SECRET=$(openssl rand -hex 32)"
		} >"$dev_var/secrets.env.tmp"
		mv "$dev_var/secrets.env.tmp" "$dev_var/secrets.env"
	)
}

# dev_settings NAME: the KEY=value lines binary NAME runs with (shared
# settings first, then its own).  A new development setting goes here.
dev_settings() {
	cat <<SETTINGS
B4_ENV=development
B4_DB_HOST=127.0.0.1
B4_DB_PORT=$dev_db_port
B4_DB_USER=b4
B4_DB_PASSWORD=b4dev
B4_DB_NAME=b4
B4_STORAGE_DIR=$dev_var/objects
B4_API_UPSTREAM=127.0.0.1:$dev_port_api
B4_BACKOFFICE_UPSTREAM=127.0.0.1:$dev_port_backoffice
B4_CHECKOUT_UPSTREAM=127.0.0.1:$dev_port_checkout
B4_ACQUIRERS=sandbox=http://127.0.0.1:$dev_port_sandbox
B4_CHECKOUT_CALLBACK_URL=http://127.0.0.1:$dev_port_checkout
SETTINGS
	# the services believe the gateway's X-Forwarded-For (it reaches them
	# over loopback); the gateway believes nobody's, so a client's own
	# header never names its address
	case "$1" in
	b4-api | b4-backoffice | b4-checkout) echo "B4_TRUSTED_PROXIES=127.0.0.1/32,::1/128" ;;
	b4-gateway) echo "B4_TRUSTED_PROXIES=" ;;
	esac
	# the checkout page (/pay/CODE) sends cards straight to the sandbox's
	# public tokenization endpoint: its public key (not a secret) and the
	# origins allowed to call it
	case "$1" in
	b4-acquirer-sandbox)
		echo "B4_SANDBOX_PUBLIC_KEY=pk_test_b4you_dev_sandbox"
		echo "B4_SANDBOX_CORS_ORIGINS=http://localhost:$dev_port_gateway,http://127.0.0.1:$dev_port_gateway,http://localhost:3000"
		;;
	b4-checkout)
		echo "B4_ACQUIRER_PUBLIC_KEY=pk_test_b4you_dev_sandbox"
		echo "B4_CHECKOUT_TOKENIZE_URL=http://localhost:$dev_port_sandbox/v1/public/card-tokens"
		;;
	esac
	case "$1" in
	b4-acquirer-sandbox) echo "B4_PORT=$dev_port_sandbox" ;;
	b4-api) echo "B4_PORT=$dev_port_api" ;;
	b4-backoffice) echo "B4_PORT=$dev_port_backoffice" ;;
	b4-checkout) echo "B4_PORT=$dev_port_checkout" ;;
	b4-worker) echo "B4_PORT=$dev_port_worker" ;;
	b4-gateway)
		printf 'B4_GATEWAY_PORT=%s\nB4_GATEWAY_ADMIN_PORT=%s\n' \
			"$dev_port_gateway" "$dev_port_gateway_admin"
		# deploy/dev/gateway.json with these ports; its relative static
		# roots (web builds) resolve against the repository
		echo "B4_GATEWAY_CONFIG=$dev_var/env/gateway.json"
		echo "B4_GATEWAY_STATIC_BASE=$dev_top"
		;;
	esac
}

# dev_gateway_config_write: deploy/dev/gateway.json with this stack's
# ports (the file names the default ones) as $dev_var/env/gateway.json.
dev_gateway_config_write() {
	sed -e "s/\"port\": *8080\\b/\"port\": $dev_port_gateway/" \
		-e "s/\"port\": *9080\\b/\"port\": $dev_port_gateway_admin/" \
		-e "s/127\\.0\\.0\\.1:8081\\b/127.0.0.1:$dev_port_api/g" \
		-e "s/127\\.0\\.0\\.1:8082\\b/127.0.0.1:$dev_port_backoffice/g" \
		-e "s/127\\.0\\.0\\.1:8083\\b/127.0.0.1:$dev_port_checkout/g" \
		"$dev_top/deploy/dev/gateway.json" >"$dev_var/env/gateway.json.tmp"
	mv "$dev_var/env/gateway.json.tmp" "$dev_var/env/gateway.json"
}

# dev_env_file_write NAME: writes $dev_var/env/NAME.env (settings and
# secrets, mode 600) and prints its path.
dev_env_file_write() {
	local name=$1 file="$dev_var/env/$1.env"
	dev_secrets_ensure
	[ "$name" = b4-gateway ] && dev_gateway_config_write
	(
		umask 077
		{
			echo "# $name in development; written by deploy/dev/env.sh, rewritten at"
			echo "# every make run / make run-*.  Use: $name --env-file $file"
			dev_settings "$name"
			cat "$dev_var/secrets.env"
		} >"$file.tmp"
		mv "$file.tmp" "$file"
	)
	echo "$file"
}

# --- the shared MariaDB ------------------------------------------------
# make run and every make run-<service> share one MariaDB under
# $dev_var/db.  Each registers its pid in $dev_var/db-users while it uses
# the database; the last one to leave stops it, if one of them started it
# (a MariaDB found running with nobody registered is left alone).  All of
# this happens under a lock, so two scripts starting at once start one
# server.

dev_db_lock() {
	exec {dev_db_lock_fd}>"$dev_var/db.lock"
	flock "$dev_db_lock_fd"
}

dev_db_unlock() {
	exec {dev_db_lock_fd}>&-
}

# dev_db_users: pids of live registered users (stale entries removed).
dev_db_users() {
	local f pid
	for f in "$dev_var/db-users"/*; do
		[ -e "$f" ] || continue
		pid=${f##*/}
		[ "$pid" = started ] && continue
		if kill -0 "$pid" 2>/dev/null; then
			echo "$pid"
		else
			rm -f "$f"
		fi
	done
}

# dev_db_acquire WHO: starts MariaDB unless running; sets dev_db_port.
dev_db_acquire() {
	local who=$1 port
	dev_db_lock
	echo "$who" >"$dev_var/db-users/$$"
	if port=$("$dev_top/deploy/dev/mariadb.sh" port "$dev_var/db" 2>/dev/null); then
		dev_db_port=$port
		echo "$who: MariaDB already running on 127.0.0.1:$dev_db_port; using it"
	else
		echo "$who: starting MariaDB (data in $dev_var/db)"
		# its own session, so a Ctrl-C meant for this script never reaches
		# it, and without the lock's fd, which mariadbd would keep open
		if ! port=$(setsid -w "$dev_top/deploy/dev/mariadb.sh" start "$dev_var/db" \
			"$dev_db_port" {dev_db_lock_fd}>&-); then
			rm -f "$dev_var/db-users/$$"
			dev_db_unlock
			return 1
		fi
		dev_db_port=$port
		touch "$dev_var/db-users/started"
	fi
	dev_db_unlock
}

# dev_db_release WHO: unregisters; stops MariaDB if nobody else uses it
# and a dev script started it.  Says what it did.
dev_db_release() {
	local who=$1 others
	[ -e "$dev_var/db-users/$$" ] || return 0
	dev_db_lock
	rm -f "$dev_var/db-users/$$"
	others=$(dev_db_users | tr '\n' ' ')
	if [ -n "$others" ]; then
		echo "$who: MariaDB keeps running for the other dev processes using it (pids ${others% })"
	elif [ -e "$dev_var/db-users/started" ]; then
		"$dev_top/deploy/dev/mariadb.sh" stop "$dev_var/db" || true
		rm -f "$dev_var/db-users/started"
		echo "$who: MariaDB stopped (nothing else used it)"
	else
		echo "$who: MariaDB left running (it was running before; stop it with:" \
			"deploy/dev/mariadb.sh stop $dev_var/db)"
	fi
	dev_db_unlock
}

# dev_migrate WHO: applies the migrations and the demo data (the seed is
# idempotent, so it runs every time, as make run always did), one script
# at a time.
dev_migrate() {
	local who=$1 file rc=0
	file=$(dev_env_file_write b4-migrate)
	exec {dev_migrate_fd}>"$dev_var/migrate.lock"
	flock "$dev_migrate_fd"
	"$dev_bin/b4-migrate" --env-file "$file" --create-database --seed "$dev_top/db/seed/demo.sql" \
		>>"$dev_var/logs/migrate.log" 2>&1 {dev_migrate_fd}>&- || rc=$?
	exec {dev_migrate_fd}>&-
	if [ "$rc" != 0 ]; then
		echo "$who: migrations failed; see $dev_var/logs/migrate.log" >&2
		tail -n 5 "$dev_var/logs/migrate.log" >&2
		return 1
	fi
	echo "$who: migrations applied, demo data loaded"
}

# dev_wait_healthy NAME [TRIES]: polls NAME's /healthz every 0.1 s.
dev_wait_healthy() {
	local port tries=${2:-100}
	port=$(dev_health_port "$1")
	for _ in $(seq 1 "$tries"); do
		curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# dev_port_in_use PORT: true when something accepts connections there.
dev_port_in_use() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
