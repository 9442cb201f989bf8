#!/usr/bin/env bash
# Card orders per second through b4-checkout against b4-acquirer-sandbox
# and a private MariaDB (every request a new order: idempotency claim, tx1,
# acquirer call, tx2, stored response), then the raw rate of committed
# MariaDB transactions on the same machine for comparison.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bench_db
secret=bench-acquirer-secret-0123456789abcdef0123
bench_start b4-acquirer-sandbox B4_ACQUIRER_SECRET=$secret B4_NO_DB=true
sandbox_port=$port
# velocity rules off: one card pays every order of the run
bench_start b4-checkout B4_ACQUIRER_SECRET=$secret \
	B4_ACQUIRERS="sandbox=http://127.0.0.1:$sandbox_port" \
	B4_FRAUD_CARD_MAX=1000000 B4_FRAUD_IP_MAX=1000000
checkout_port=$port
bench_gateway 1 1 "$checkout_port"
# card tokens are single use (one order each): every run gets its own
# file of fresh tokens, made before wrk starts (not part of the figures)
make_tokens() {
	local n=$1 file=$2
	seq 1 "$n" | xargs -P 8 -I{} curl -sf -X POST "http://127.0.0.1:$checkout_port/v1/card-tokens" \
		-H 'Content-Type: application/json' \
		-d '{"number":"4111111111111111","holder_name":"Bench Buyer","exp_month":12,"exp_year":2031,"cvv":"123"}' |
		grep -o '"token":"[^"]*"' | sed 's/"token":"//; s/"$//' >"$file"
	[ "$(wc -l <"$file")" -eq "$n" ] || { echo "bench_checkout: could not make $n card tokens" >&2; exit 1; }
}
tokens_per_run=${BENCH_TOKENS_PER_RUN:-4000}
echo "b4-checkout on :$checkout_port (B4_WORKERS=8), sandbox on :$sandbox_port, b4-gateway on :$gw_port"
for conns in 8 32; do
	echo "--- wrk -t2 -c$conns -d10s POST /checkout/v1/orders through b4-gateway (card, 3x, new key and buyer per request)"
	make_tokens "$tokens_per_run" "$bench_dir/tokens-gw-$conns"
	BENCH_CARD_TOKENS="$bench_dir/tokens-gw-$conns" BENCH_PATH_PREFIX=/checkout wrk -t2 -c$conns -d10s --latency \
		-s "$top/tests/bench/checkout_orders.lua" "http://127.0.0.1:$gw_port" |
		grep -E 'orders/s|Non-2xx|Socket errors'
	echo "--- the same straight to b4-checkout"
	make_tokens "$tokens_per_run" "$bench_dir/tokens-direct-$conns"
	BENCH_CARD_TOKENS="$bench_dir/tokens-direct-$conns" wrk -t2 -c$conns -d10s --latency \
		-s "$top/tests/bench/checkout_orders.lua" "http://127.0.0.1:$checkout_port" |
		grep -E 'orders/s|Non-2xx|Socket errors'
done
sleep 2 # let the orders in flight when wrk stopped finish
paid=$(mariadb -h127.0.0.1 -P"$B4_DB_PORT" -ub4 -pb4dev -N b4bench \
	-e "SELECT GROUP_CONCAT(CONCAT(n, ' ', status) SEPARATOR ', ') FROM (SELECT status, COUNT(*) n FROM orders GROUP BY status) s")
echo "database: $paid"

echo "--- raw MariaDB: committed single-row INSERT transactions (autocommit)"
for conc in 8 32; do
	out=$(mariadb-slap --ssl=0 -h127.0.0.1 -P"$B4_DB_PORT" -ub4 -pb4dev --create-schema=b4bench \
		--concurrency=$conc --iterations=1 --number-of-queries=20000 \
		--pre-query="CREATE TABLE IF NOT EXISTS b4bench.bench_commits (id BIGINT AUTO_INCREMENT PRIMARY KEY, v INT) ENGINE=InnoDB" \
		--query="INSERT INTO b4bench.bench_commits (v) VALUES (1)" 2>&1) || { echo "$out"; exit 1; }
	secs=$(echo "$out" | sed -n 's/.*Average number of seconds to run all queries: \([0-9.]*\).*/\1/p')
	echo "concurrency $conc: 20000 commits in ${secs}s = $(awk "BEGIN { printf \"%.0f\", 20000 / $secs }") commits/s"
done
