#!/usr/bin/env bash
# Throughput of one service: GET /healthz (answered by the loop thread) and
# GET /v1/offers/:code (a worker thread, one indexed query), with
# wrk -t2 -c64 -d10s on this machine.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bench_db
bench_start b4-checkout
echo "b4-checkout on :$port (B4_WORKERS=8, 1 loop thread)"
echo "--- wrk -t2 -c64 -d10s GET /healthz"
wrk -t2 -c64 -d10s --latency "http://127.0.0.1:$port/healthz" | sed -n '/Latency Distribution/,$p'
echo "--- wrk -t2 -c64 -d10s GET /v1/offers/DEMOOFFER1"
wrk -t2 -c64 -d10s --latency "http://127.0.0.1:$port/v1/offers/DEMOOFFER1" | sed -n '/Latency Distribution/,$p'
