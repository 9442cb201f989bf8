#!/usr/bin/env bash
# Gateway benchmark: the same fixed backend measured with wrk directly,
# through b4-gateway and through nginx set up as an equivalent keep-alive
# reverse proxy (same number of workers as gateway threads, prefix strip,
# X-Request-Id and X-Forwarded-For set, access logs off in both).  Runs
# alternate (direct, gateway, nginx) for B4_BENCH_ROUNDS rounds and prints
# the median requests/s, p50 and p99 of each and the ratios.
#
#   make bench-gateway            (or BUILD=build tests/bench/gateway.sh)
#   B4_BENCH_SECONDS=10 B4_BENCH_ROUNDS=3 B4_BENCH_CONNECTIONS=64 B4_BENCH_THREADS=2
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
BUILD=${BUILD:-build}
seconds=${B4_BENCH_SECONDS:-10}
rounds=${B4_BENCH_ROUNDS:-3}
conns=${B4_BENCH_CONNECTIONS:-64}
wrk_threads=${B4_BENCH_THREADS:-2}
workers=${B4_GATEWAY_THREADS:-2}
gateway_bin="$BUILD/bin/b4-gateway"
for tool in wrk nginx; do
	command -v "$tool" >/dev/null || {
		echo "bench: $tool not found (make deps)" >&2
		exit 1
	}
done
[ -x "$gateway_bin" ] || {
	echo "bench: $gateway_bin missing (make)" >&2
	exit 1
}

dir="$top/var/bench-gateway"
rm -rf "$dir"
mkdir -p "$dir/backend/logs" "$dir/proxy/logs"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	[ -f "$dir/backend/nginx.pid" ] && kill "$(cat "$dir/backend/nginx.pid")" 2>/dev/null || true
	[ -f "$dir/proxy/nginx.pid" ] && kill "$(cat "$dir/proxy/nginx.pid")" 2>/dev/null || true
}
trap cleanup EXIT

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
backend_port=$(free_port)
proxy_port=$(free_port)
user_line=""
[ "$(id -u)" -eq 0 ] && user_line="user root;"

common="pid nginx.pid; error_log logs/error.log warn; $user_line
events { worker_connections 4096; }"
# The fixed backend: nginx answering a constant 200 on keep-alive connections.
cat >"$dir/backend/nginx.conf" <<CONF
worker_processes 1;
$common
http {
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
    client_body_temp_path $dir/backend/tmp;
    server {
        listen 127.0.0.1:$backend_port reuseport;
        location / { return 200 "hello from the fixed backend\n"; }
    }
}
CONF
# nginx as the reference reverse proxy.
cat >"$dir/proxy/nginx.conf" <<CONF
worker_processes $workers;
$common
http {
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
    client_body_temp_path $dir/proxy/tmp;
    proxy_temp_path $dir/proxy/tmp;
    upstream backend {
        server 127.0.0.1:$backend_port;
        keepalive 128;
    }
    server {
        listen 127.0.0.1:$proxy_port reuseport;
        location /api/ {
            proxy_pass http://backend/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Request-Id \$request_id;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto \$scheme;
            add_header X-Request-Id \$request_id;
        }
    }
}
CONF
nginx -p "$dir/backend" -c "$dir/backend/nginx.conf"
nginx -p "$dir/proxy" -c "$dir/proxy/nginx.conf"

cat >"$dir/gateway.json" <<CONF
{
  "listeners": [{"host": "127.0.0.1", "port": 0}],
  "admin": {"host": "127.0.0.1", "port": 0},
  "threads": $workers,
  "routes": [{"prefix": "/api", "upstream": "api"}],
  "upstreams": {"api": {"instances": ["127.0.0.1:$backend_port"], "max_idle": 128,
                        "health_check": {"interval_ms": 3000}}},
  "rate_limits": [],
  "access_log": false
}
CONF
"$gateway_bin" --config "$dir/gateway.json" --port-file "$dir/gateway.ports" >"$dir/gateway.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -f "$dir/gateway.ports" ] && break; sleep 0.05; done
gateway_port=$(sed -n 's/^http=//p' "$dir/gateway.ports")
for _ in $(seq 100); do
	curl -sf "http://127.0.0.1:$backend_port/" >/dev/null && curl -sf "http://127.0.0.1:$proxy_port/api/" >/dev/null &&
		curl -sf "http://127.0.0.1:$gateway_port/api/" >/dev/null && break
	sleep 0.05
done

# wrk latency figures come as 1.23ms / 456.78us / 1.20s; print milliseconds.
to_ms() {
	awk '{ v=$1; if (v ~ /us$/) { sub(/us$/,"",v); v=v/1000 } else if (v ~ /ms$/) { sub(/ms$/,"",v) } else if (v ~ /s$/) { sub(/s$/,"",v); v=v*1000 } printf "%.3f\n", v }'
}

run_wrk() { # name url
	local out
	out=$(wrk -t"$wrk_threads" -c"$conns" -d"${seconds}s" --latency "$2")
	local rps p50 p99 errors
	rps=$(echo "$out" | awk '/^Requests\/sec:/ {print $2}')
	p50=$(echo "$out" | awk '$1=="50%" {print $2}' | to_ms)
	p99=$(echo "$out" | awk '$1=="99%" {print $2}' | to_ms)
	errors=$(echo "$out" | awk '/Non-2xx|Socket errors/ {print}' | tr '\n' ' ')
	echo "$1 $rps $p50 $p99" >>"$dir/results"
	printf "  %-8s %10s req/s  p50 %8s ms  p99 %8s ms  %s\n" "$1" "$rps" "$p50" "$p99" "$errors"
}

echo "bench: wrk -t$wrk_threads -c$conns -d${seconds}s --latency, $rounds rounds, $(nproc) cores, $workers gateway threads / nginx workers"
: >"$dir/results"
for r in $(seq "$rounds"); do
	echo "round $r"
	run_wrk direct "http://127.0.0.1:$backend_port/v1/ping"
	run_wrk gateway "http://127.0.0.1:$gateway_port/api/v1/ping"
	run_wrk nginx "http://127.0.0.1:$proxy_port/api/v1/ping"
done

median() { # name column
	awk -v n="$1" -v c="$2" '$1==n {print $c}' "$dir/results" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
echo
echo "median of $rounds rounds:"
printf "| target | requests/s | p50 ms | p99 ms |\n|---|---|---|---|\n"
for n in direct gateway nginx; do
	printf "| %s | %s | %s | %s |\n" "$n" "$(median $n 2)" "$(median $n 3)" "$(median $n 4)"
done
g_rps=$(median gateway 2)
n_rps=$(median nginx 2)
g_p99=$(median gateway 4)
n_p99=$(median nginx 4)
d_rps=$(median direct 2)
awk -v g="$g_rps" -v n="$n_rps" -v gp="$g_p99" -v np="$n_p99" -v d="$d_rps" 'BEGIN {
	printf "\nratios: gateway/nginx rps %.2f, gateway/nginx p99 %.2f, gateway/direct rps %.2f, nginx/direct rps %.2f\n", g/n, gp/np, g/d, n/d }'
