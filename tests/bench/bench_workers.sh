#!/usr/bin/env bash
# Workers: webhook deliveries per second to a loopback receiver with 4
# consumers, and the time from an order's payment (its transaction commits
# the approved-payment event) to the webhook arriving, at the default poll
# (500 ms) and at 50 ms.  The driver (bench_workers.c) is the receiver and
# the producer; it is compiled here against libcommon.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pkgs="libevent libevent_pthreads libmariadb libcjson openssl libcurl libargon2"
cc -std=c11 -D_GNU_SOURCE -O2 -pthread -I"$top/libcommon/include" -I"$top/tests/integration/harness" \
	$(pkg-config --cflags $pkgs) -o "$bench_dir/bench_workers" "$top/tests/bench/bench_workers.c" \
	"$top/$BUILD/lib/libb4common.a" $(pkg-config --libs $pkgs) -lm
bench_db
drv="$bench_dir/bench_workers"

bench_start b4-worker B4_WORKERS=1 B4_WORKER_CONCURRENCY=4
worker=${bench_pids[-1]}
echo "b4-worker, B4_WORKER_CONCURRENCY=4, B4_WORKER_POLL=500ms (default)"
"$drv" throughput 2000
"$drv" latency 200 20
kill -TERM "$worker"
wait "$worker" || true

bench_start b4-worker B4_WORKERS=1 B4_WORKER_CONCURRENCY=4 B4_WORKER_POLL=50ms
echo "b4-worker, B4_WORKER_CONCURRENCY=4, B4_WORKER_POLL=50ms"
"$drv" latency 200 20
