#!/usr/bin/env bash
# GET /v1/products/:id on b4-api directly and GET /api/v1/products/:id
# through b4-gateway, with a producer's token (wrk -t2 -c64 -d10s).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bench_db
bench_start b4-api B4_WORKERS=8
api_port=$port
bench_gateway "$api_port" 1 1
token=$(curl -sf -X POST "http://127.0.0.1:$api_port/v1/auth/login" -H 'Content-Type: application/json' \
	-d '{"email":"producer@b4you.dev","password":"producer-demo-123"}' |
	sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
[ -n "$token" ] || { echo "bench_api: login failed" >&2; exit 1; }
id=01900000-0000-7000-8000-000000000101
for target in "b4-api directly|http://127.0.0.1:$api_port/v1/products/$id" \
	"through b4-gateway|http://127.0.0.1:$gw_port/api/v1/products/$id"; do
	echo "--- wrk -t2 -c64 -d10s GET products/:id, ${target%%|*}"
	wrk -t2 -c64 -d10s --latency -H "Authorization: Bearer $token" "${target##*|}" |
		grep -E 'Requests/sec|  50%|  99%|Non-2xx|Socket errors'
done
