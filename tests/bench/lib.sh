# Shared by the bench scripts: a private MariaDB with the schema and demo
# data, and helpers to start binaries on free ports.  Source it.
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-build}
bin="$top/$BUILD/bin"
bench_dir="$top/var/bench-$$"
bench_pids=()
mkdir -p "$bench_dir"

bench_cleanup() {
	for pid in "${bench_pids[@]+"${bench_pids[@]}"}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${bench_pids[@]+"${bench_pids[@]}"}"; do wait "$pid" 2>/dev/null || true; done
	"$top/deploy/dev/mariadb.sh" stop "$bench_dir/db" >/dev/null 2>&1 || true
	rm -rf "$bench_dir"
}
trap bench_cleanup EXIT

bench_db() {
	local port
	port=$("$top/deploy/dev/mariadb.sh" start "$bench_dir/db" 0) || return 1
	export B4_DB_HOST=127.0.0.1 B4_DB_PORT="$port" B4_DB_USER=b4 B4_DB_PASSWORD=b4dev B4_DB_NAME=b4bench
	export B4_JWT_SECRET=bench-jwt-secret-0123456789abcdef0123456789abcdef
	export B4_FIELD_KEYS=b1:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff
	export B4_BLIND_INDEX_KEY=ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100
	export B4_LOG_LEVEL=warn B4_ENV=test
	"$bin/b4-migrate" --create-database --migrations-dir="$top/db/migrations" \
		--seed="$top/db/seed/demo.sql" >/dev/null
}

# bench_start NAME [ENV=VALUE...]: starts bin/NAME on a free port; sets $port.
bench_start() {
	local name=$1
	shift
	local pf="$bench_dir/$name.$RANDOM.port"
	env B4_PORT=0 B4_PORT_FILE="$pf" "$@" "$bin/$name" >>"$bench_dir/$name.log" 2>&1 &
	bench_pids+=($!)
	for _ in $(seq 1 100); do
		[ -s "$pf" ] && break
		sleep 0.05
	done
	port=$(sed -n 's/^http=//p' "$pf")
	[ -n "$port" ]
}

# bench_gateway API_PORT BACKOFFICE_PORT CHECKOUT_PORT: starts b4-gateway on
# a free port in front of them, with rate limits lifted (wrk comes from one
# address) and no access log; sets $gw_port.
bench_gateway() {
	local cfg="$bench_dir/gateway.json" pf="$bench_dir/gateway.port"
	cat >"$cfg" <<JSON
{"listeners": [{"host": "127.0.0.1", "port": 0}],
 "admin": {"host": "127.0.0.1", "port": 0},
 "routes": [
  {"name": "api", "prefix": "/api", "strip_prefix": true, "upstream": "api"},
  {"name": "backoffice", "prefix": "/backoffice", "strip_prefix": true, "upstream": "backoffice"},
  {"name": "checkout", "prefix": "/checkout", "strip_prefix": true, "upstream": "checkout"}],
 "upstreams": {
  "api": {"instances": ["127.0.0.1:$1"]},
  "backoffice": {"instances": ["127.0.0.1:$2"]},
  "checkout": {"instances": ["127.0.0.1:$3"]}},
 "rate_limits": [{"name": "default", "prefix": "/", "rate_per_sec": 100000000, "burst": 100000000}],
 "access_log": false}
JSON
	B4_GATEWAY_CONFIG="$cfg" B4_GATEWAY_PORT=0 B4_GATEWAY_ADMIN_PORT=0 B4_PORT_FILE="$pf" \
		"$bin/b4-gateway" >>"$bench_dir/gateway.log" 2>&1 &
	bench_pids+=($!)
	for _ in $(seq 1 100); do
		[ -s "$pf" ] && break
		sleep 0.05
	done
	gw_port=$(sed -n 's/^http=//p' "$pf")
	[ -n "$gw_port" ]
}
