#!/usr/bin/env bash
# GET /v1/products/:id on b4-api directly and GET /api/v1/products/:id
# through b4-gateway, with a producer's token (wrk -t2 -c64 -d10s); then
# GET /v1/sales?limit=20 on 200,000 orders (tests/bench/sales_data.sql) for
# the producer (all of them) and the affiliate (the 20 oldest), and one
# GET /v1/sales/summary each.
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

"$top/deploy/dev/mariadb.sh" sql "$bench_dir/db" b4bench <"$top/tests/bench/sales_data.sql"
# the orders went in with SQL: the sales aggregates (0017/0018) from them
"$bin/b4-migrate" --migrations-dir="$top/db/migrations" --rebuild-aggregates >/dev/null
login() { # email password
	curl -sf -X POST "http://127.0.0.1:$api_port/v1/auth/login" -H 'Content-Type: application/json' \
		-d "{\"email\":\"$1\",\"password\":\"$2\"}" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p'
}
for who in "producer|producer@b4you.dev|producer-demo-123" "affiliate|affiliate@b4you.dev|affiliate-demo-123"; do
	IFS='|' read -r role email password <<<"$who"
	token=$(login "$email" "$password")
	[ -n "$token" ] || { echo "bench_api: $role login failed" >&2; exit 1; }
	echo "--- wrk -t2 -c8 -d10s GET /v1/sales?limit=20 on 200,000 orders, as the $role"
	wrk -t2 -c8 -d10s --latency -H "Authorization: Bearer $token" \
		"http://127.0.0.1:$api_port/v1/sales?limit=20" |
		grep -E 'Requests/sec|  50%|  99%|Non-2xx|Socket errors'
	# the totals read every one of the member's orders: one request, timed
	curl -sf -o /dev/null -w "--- GET /v1/sales/summary as the $role: %{time_total} s\n" \
		-H "Authorization: Bearer $token" "http://127.0.0.1:$api_port/v1/sales/summary"
done
