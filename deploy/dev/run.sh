#!/usr/bin/env bash
# `make run`: the whole system in the foreground, in development mode.
# A private MariaDB under var/dev, migrations and demo data, then every
# binary; Ctrl-C (or SIGTERM) stops all of them, MariaDB included.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
BUILD=${BUILD:-build}
bin="$top/$BUILD/bin"
dev="$top/var/dev"
mkdir -p "$dev/logs" "$dev/objects"

pids=()
stopping=0
stop_all() {
	[ "$stopping" = 1 ] && return
	stopping=1
	echo
	echo "run: stopping..."
	for pid in "${pids[@]+"${pids[@]}"}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]+"${pids[@]}"}"; do wait "$pid" 2>/dev/null || true; done
	deploy/dev/mariadb.sh stop "$dev/db" || true
	echo "run: stopped"
}
trap 'stop_all; exit 0' INT TERM
trap stop_all EXIT

# Secrets for development are generated once and kept under var/dev.
if [ ! -f "$dev/secrets.env" ]; then
	umask 077
	{
		echo "B4_JWT_SECRET=$(openssl rand -hex 32)"
		echo "B4_FIELD_KEYS=k1:$(openssl rand -hex 32)"
		echo "B4_BLIND_INDEX_KEY=$(openssl rand -hex 32)"
		echo "B4_ACQUIRER_SECRET=$(openssl rand -hex 32)"
	} >"$dev/secrets.env"
	umask 022
fi
set -a
# shellcheck disable=SC1091
. "$dev/secrets.env"
set +a

db_port=${B4_DEV_DB_PORT:-3307}
echo "run: starting MariaDB on 127.0.0.1:$db_port (data in var/dev/db)"
deploy/dev/mariadb.sh start "$dev/db" "$db_port" >/dev/null

export B4_ENV=development
export B4_DB_HOST=127.0.0.1 B4_DB_PORT="$db_port" B4_DB_USER=b4 B4_DB_PASSWORD=b4dev B4_DB_NAME=b4
export B4_STORAGE_DIR="$dev/objects"
export B4_API_UPSTREAM=127.0.0.1:8081 B4_BACKOFFICE_UPSTREAM=127.0.0.1:8082
export B4_CHECKOUT_UPSTREAM=127.0.0.1:8083
# the gateway's file: routes /pay, /painel and /admin to the web builds
# (relative static roots resolve against the repository), CORS for the
# Next.js dev server
export B4_GATEWAY_CONFIG="$top/deploy/dev/gateway.json" B4_GATEWAY_STATIC_BASE="$top"
export B4_ACQUIRERS=sandbox=http://127.0.0.1:8090 B4_CHECKOUT_CALLBACK_URL=http://127.0.0.1:8083
# the checkout page (/pay/CODE) sends cards straight to the sandbox's public
# tokenization endpoint: its public key (not a secret) and allowed origins
dev_public_key=pk_test_b4you_dev_sandbox
dev_origins=http://localhost:8080,http://127.0.0.1:8080,http://localhost:3000

"$bin/b4-migrate" --create-database --seed db/seed/demo.sql >>"$dev/logs/migrate.log"
echo "run: migrations applied, demo data loaded"

start() {
	local name=$1
	shift
	if [ ! -x "$bin/$name" ]; then
		echo "run: $name is not built; skipping"
		return
	fi
	env "$@" "$bin/$name" >>"$dev/logs/$name.log" 2>&1 &
	pids+=($!)
}
start b4-acquirer-sandbox B4_PORT=8090 B4_SANDBOX_PUBLIC_KEY=$dev_public_key \
	B4_SANDBOX_CORS_ORIGINS=$dev_origins
start b4-api B4_PORT=8081 B4_TRUST_PROXY=true
start b4-backoffice B4_PORT=8082
start b4-checkout B4_PORT=8083 B4_ACQUIRER_PUBLIC_KEY=$dev_public_key \
	B4_CHECKOUT_TOKENIZE_URL=http://localhost:8090/v1/public/card-tokens
start b4-worker B4_PORT=8084
start b4-gateway B4_GATEWAY_PORT=8080 B4_GATEWAY_ADMIN_PORT=9080

# Wait until everything answers its health check (or report who did not).
for pair in b4-acquirer-sandbox:8090 b4-api:8081 b4-backoffice:8082 b4-checkout:8083 b4-worker:8084 b4-gateway:9080; do
	name=${pair%%:*}
	port=${pair##*:}
	[ -x "$bin/$name" ] || continue
	ok=0
	for _ in $(seq 1 100); do
		if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then
			ok=1
			break
		fi
		sleep 0.1
	done
	[ "$ok" = 1 ] || echo "run: $name did not become healthy; see var/dev/logs/$name.log"
done

# the demo offer's product image (db/seed/demo-product.png), uploaded as
# its producer would, through the gateway into the object storage
demo_token=$(curl -fsS -X POST http://127.0.0.1:8080/api/v1/auth/login -H 'Content-Type: application/json' \
	-d '{"email":"producer@b4you.dev","password":"producer-demo-123"}' 2>/dev/null |
	sed -n 's/.*"token":"\([^"]*\)".*/\1/p' || true)
if [ -n "$demo_token" ]; then
	curl -fsS -X PUT http://127.0.0.1:8080/api/v1/products/01900000-0000-7000-8000-000000000101/image \
		-H "Authorization: Bearer $demo_token" -H 'Content-Type: image/png' \
		--data-binary @db/seed/demo-product.png >/dev/null 2>&1 ||
		echo "run: the demo product image was not uploaded; see var/dev/logs/b4-api.log"
fi

cat <<MSG

b4you is running (development mode). Ctrl-C stops everything.

  Gateway (front-ends use this)  http://localhost:8080
    members API                  http://localhost:8080/api/v1/...
    back-office                  http://localhost:8080/backoffice/v1/...
    checkout                     http://localhost:8080/checkout/v1/offers/DEMOOFFER1
    checkout page (buyers)       http://localhost:8080/pay/DEMOOFFER1
  Gateway admin                  http://localhost:9080/metrics
  Services (direct)              api :8081  backoffice :8082  checkout :8083  worker :8084
  Acquirer sandbox               http://localhost:8090
  MariaDB                        127.0.0.1:$db_port  user b4 / b4dev  database b4
  Logs                           var/dev/logs/

  Demo logins: producer@b4you.dev / producer-demo-123, affiliate@b4you.dev /
  affiliate-demo-123, admin@b4you.dev / admin-demo-12345

MSG

# Stay in the foreground until Ctrl-C or until a service dies.
while :; do
	for pid in "${pids[@]}"; do
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "run: a process (pid $pid) exited; see var/dev/logs/. Stopping."
			exit 1
		fi
	done
	sleep 1
done
