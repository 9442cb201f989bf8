#!/usr/bin/env bash
# Gateway benchmark: the same fixed backend measured with wrk directly,
# through b4-gateway and through nginx set up as an equivalent keep-alive
# reverse proxy (same number of workers as gateway threads, prefix strip,
# X-Request-Id and X-Forwarded-For set, access logs off in both).  Runs
# alternate (direct, then gateway and nginx in turns, the one that goes
# first switching every round) for B4_BENCH_ROUNDS short rounds, so a noisy
# moment on a shared machine hits both proxies alike; it prints the median
# requests/s, p50 and p99 of each, the ratios, and in how many rounds the
# gateway's p99 was the lower one.
#
#   make bench-gateway            (or BUILD=build tests/bench/bench_gateway.sh)
#   B4_BENCH_SECONDS=5 B4_BENCH_ROUNDS=6 B4_BENCH_CONNECTIONS=64 B4_BENCH_THREADS=2
#   B4_BENCH_GATEWAY_BIN=path    another b4-gateway build (to compare two commits)
#   B4_BENCH_GATEWAY_SESSION=shared   run it in this script's session, as before
#                                     2026-11-29 05:20 (see the comment at setsid)
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
BUILD=${BUILD:-build}
seconds=${B4_BENCH_SECONDS:-5}
rounds=${B4_BENCH_ROUNDS:-6}
conns=${B4_BENCH_CONNECTIONS:-64}
wrk_threads=${B4_BENCH_THREADS:-2}
workers=${B4_GATEWAY_THREADS:-2}
gateway_bin=${B4_BENCH_GATEWAY_BIN:-$BUILD/bin/b4-gateway}
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
# Its own session, as each nginx has by daemonizing: with autogroup
# scheduling (the Linux default) a session is one scheduling group, and a
# gateway left in this script's session would share one CPU share with wrk,
# the load generator, while nginx has a share of its own (docs/BENCHMARKS.md).
session=setsid
if [ "${B4_BENCH_GATEWAY_SESSION:-own}" = shared ]; then
	session=
fi
$session "$gateway_bin" --config "$dir/gateway.json" --port-file "$dir/gateway.ports" >"$dir/gateway.log" 2>&1 &
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

# CPU time (user+system, clock ticks) of the given processes.
cpu_ticks() {
	local t=0 p
	for p in "$@"; do
		[ -r "/proc/$p/stat" ] && t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
	done
	echo "$t"
}
hz=$(getconf CLK_TCK)

run_wrk() { # name url pids-of-the-proxy...
	local out name=$1 url=$2 t0 t1 reqs cpu_us
	shift 2
	t0=$(cpu_ticks "$@")
	out=$(wrk -t"$wrk_threads" -c"$conns" -d"${seconds}s" --latency "$url")
	t1=$(cpu_ticks "$@")
	reqs=$(echo "$out" | awk '/requests in/ {print $1}')
	# CPU per request of the proxy itself: a figure that depends less on
	# what else shares the machine than requests/s does
	cpu_us=$(awk -v d=$((t1 - t0)) -v hz="$hz" -v n="$reqs" 'BEGIN { printf "%.1f", n ? d * 1e6 / hz / n : 0 }')
	local rps p50 p99 errors
	rps=$(echo "$out" | awk '/^Requests\/sec:/ {print $2}')
	p50=$(echo "$out" | awk '$1=="50%" {print $2}' | to_ms)
	p99=$(echo "$out" | awk '$1=="99%" {print $2}' | to_ms)
	errors=$(echo "$out" | awk '/Non-2xx|Socket errors/ {print}' | tr '\n' ' ')
	echo "$name $rps $p50 $p99 $cpu_us" >>"$dir/results"
	printf "  %-8s %10s req/s  p50 %8s ms  p99 %8s ms  cpu %6s us/req  %s\n" "$name" "$rps" "$p50" "$p99" "$cpu_us" "$errors"
}

gateway_pid=${pids[0]}
# (setsid execs in place unless it had to fork; then find the child)
[ "$(cat "/proc/$gateway_pid/comm" 2>/dev/null)" = b4-gateway ] || gateway_pid=$(pgrep -n -f -- "--config $dir/gateway.json")
backend_pids=$(pgrep -P "$(cat "$dir/backend/nginx.pid")" | tr '\n' ' ')
proxy_pids=$(pgrep -P "$(cat "$dir/proxy/nginx.pid")" | tr '\n' ' ')
echo "bench: $gateway_bin (session: ${B4_BENCH_GATEWAY_SESSION:-own})"
echo "bench: wrk -t$wrk_threads -c$conns -d${seconds}s --latency, $rounds rounds, $(nproc) cores, $workers gateway threads / nginx workers, load average $(cut -d' ' -f1-3 /proc/loadavg)"
: >"$dir/results"
for r in $(seq "$rounds"); do
	echo "round $r"
	run_wrk direct "http://127.0.0.1:$backend_port/v1/ping" $backend_pids
	if [ $((r % 2)) -eq 1 ]; then
		run_wrk gateway "http://127.0.0.1:$gateway_port/api/v1/ping" "$gateway_pid"
		run_wrk nginx "http://127.0.0.1:$proxy_port/api/v1/ping" $proxy_pids
	else
		run_wrk nginx "http://127.0.0.1:$proxy_port/api/v1/ping" $proxy_pids
		run_wrk gateway "http://127.0.0.1:$gateway_port/api/v1/ping" "$gateway_pid"
	fi
done

median() { # name column
	awk -v n="$1" -v c="$2" '$1==n {print $c}' "$dir/results" | sort -g |
		awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2] + a[NR/2+1]) / 2}'
}
echo
echo "median of $rounds rounds:"
printf "| target | requests/s | p50 ms | p99 ms | CPU us/request (server or proxy) |\n|---|---|---|---|---|\n"
for n in direct gateway nginx; do
	printf "| %s | %s | %s | %s | %s |\n" "$n" "$(median $n 2)" "$(median $n 3)" "$(median $n 4)" "$(median $n 5)"
done
g_rps=$(median gateway 2)
n_rps=$(median nginx 2)
g_p99=$(median gateway 4)
n_p99=$(median nginx 4)
d_rps=$(median direct 2)
g_cpu=$(median gateway 5)
n_cpu=$(median nginx 5)
awk -v g="$g_rps" -v n="$n_rps" -v gp="$g_p99" -v np="$n_p99" -v d="$d_rps" -v gc="$g_cpu" -v nc="$n_cpu" 'BEGIN {
	printf "\nratios: gateway/nginx rps %.2f, gateway/nginx p99 %.2f, gateway/nginx CPU per request %.2f, gateway/direct rps %.2f, nginx/direct rps %.2f\n", g/n, gp/np, (nc ? gc/nc : 0), g/d, n/d }'
# round by round: the figure a reader of a single round would quote
awk '$1=="gateway" {g[++ng]=$0} $1=="nginx" {n[++nn]=$0}
END {
	rps = p99 = 0
	for (i = 1; i <= ng && i <= nn; i++) {
		split(g[i], a, " "); split(n[i], b, " ")
		if (a[2] >= b[2]) rps++
		if (a[4] < b[4]) p99++
	}
	printf "rounds where b4-gateway served at least nginx'"'"'s requests/s: %d of %d; had the lower p99: %d of %d\n", rps, ng, p99, ng
}' "$dir/results"
