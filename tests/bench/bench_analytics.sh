#!/usr/bin/env bash
# Sales analytics at scale: GET /v1/sales/summary (all time: sales_totals;
# the last 30 days: sales_days), GET /v1/sales?limit=20 and the panel's
# charts (GET /v1/dashboard/charts, the last 30 days) for the demo producer
# on b4-api, and the back-office's GET /v1/analytics/sales for 30 days,
# first with 1,000 orders, then with BENCH_ORDERS (default 1,000,000) made
# by tests/bench/gen_orders.sh.  wrk -t2 -c8 -d10s each; the machine's load
# average is printed with every figure.
#   BENCH_ORDERS=200000 tests/bench/bench_analytics.sh
# The rebuild writes every aggregate row in slot 0, while live writers
# spread a day over 16 slots (sales_agg.c); with BENCH_SLOTS=16 the last
# round copies each row into slots 1..15 (zero sums: the sums stay, the
# rows to read are those of a producer who sold every day through 16
# connections) and measures again; then folds the slots of the days
# before yesterday back into slot 0 (b4-migrate --compact-aggregates, what
# the worker's hourly cron.sales_compact does) and measures once more.
# BENCH_EVENTS=N then adds N checkout events (page views, 1 in 5 a session
# started) of the producer's offer over the last 30 days and measures
# again: the charts' funnel counts them; with BENCH_SLOTS too, it then
# copies the funnel's rows into slots 1..15 (zero events), measures, folds
# them (b4-migrate --compact-aggregates) and measures once more.
# BENCH_PENDING=N then leaves N rows in the aggregates' outbox
# (sales_pending, what the worker's applier has not folded yet: a lag of
# N / 1.5 orders) for the producer over the last 30 days and measures
# again: every read adds them (B4_SALES_LIVE, db/migrations/0023).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
total=${BENCH_ORDERS:-1000000}
bench_db
bench_start b4-api B4_WORKERS=8
api_port=$port
bench_start b4-backoffice B4_WORKERS=8
bo_port=$port
login() { # EMAIL PASSWORD: a bearer token from b4-api
	curl -sf -X POST "http://127.0.0.1:$api_port/v1/auth/login" -H 'Content-Type: application/json' \
		-d "{\"email\":\"$1\",\"password\":\"$2\"}" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p'
}
token=$(login producer@b4you.dev producer-demo-123)
admin_token=$(login admin@b4you.dev admin-demo-12345)
[ -n "$token" ] && [ -n "$admin_token" ] || { echo "bench_analytics: login failed" >&2; exit 1; }

sql() { # ARGS...: the mariadb client on the bench database
	mariadb --ssl=0 -h127.0.0.1 -P"$B4_DB_PORT" -ub4 -pb4dev b4bench "$@"
}
compact_and_measure() { # LABEL: b4-migrate --compact-aggregates, timed, then measure LABEL
	local t0
	t0=$(date +%s.%N)
	"$bin/b4-migrate" --migrations-dir="$top/db/migrations" --compact-aggregates
	echo "compacted in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
	measure "$1"
}

measure() { # ORDERS
	local rows
	rows=$(sql -N -e "SELECT COUNT(*) FROM sales_daily WHERE member_id = '01900000-0000-7000-8000-000000000001'")
	echo "=== $1 orders of the producer ($rows aggregate rows); load: $(cut -d' ' -f1-3 /proc/loadavg)"
	# the last 30 whole days of the producer's time zone (UTC-3): the
	# daily rows; no range: the all-time totals
	local from to
	from=$(date -u -d '30 days ago' +%Y-%m-%dT03:00:00Z)
	to=$(date -u -d 'tomorrow' +%Y-%m-%dT03:00:00Z)
	for path in "/v1/sales/summary" "/v1/sales/summary?from=$from&to=$to" "/v1/sales?limit=20" \
		"/v1/dashboard/charts"; do
		echo "--- wrk -t2 -c8 -d10s GET $path"
		wrk -t2 -c8 -d10s --latency -H "Authorization: Bearer $token" \
			"http://127.0.0.1:$api_port$path" |
			grep -E 'Requests/sec|  50%|  99%|Non-2xx|Socket errors'
	done
	# the back-office's sales analytics (the platform: here the one
	# producer) over the same 30 days
	path="/v1/analytics/sales?from=$(date -u -d '30 days ago' +%Y-%m-%d)&to=$(date -u +%Y-%m-%d)"
	echo "--- wrk -t2 -c8 -d10s GET (back-office) $path"
	wrk -t2 -c8 -d10s --latency -H "Authorization: Bearer $admin_token" \
		"http://127.0.0.1:$bo_port$path" |
		grep -E 'Requests/sec|  50%|  99%|Non-2xx|Socket errors'
	curl -sS -H "Authorization: Bearer $token" "http://127.0.0.1:$api_port/v1/sales/summary"
	echo
	grep -v '"level":"info"' "$bench_dir/b4-api.log" | tail -n 3 || true
}

"$top/tests/bench/gen_orders.sh" 1 1000
measure 1000
echo "load before generating: $(cut -d' ' -f1-3 /proc/loadavg)"
"$top/tests/bench/gen_orders.sh" 1001 "$total"
measure "$total"
slots=${BENCH_SLOTS:-1}
if [ "$slots" -gt 1 ]; then
	sql -e "
	  INSERT INTO sales_daily (member_id, day, product_id, affiliate_id, role, status,
	    payment_method, slot, orders, gross_cents, amount_cents, reversed_cents)
	  SELECT d.member_id, d.day, d.product_id, d.affiliate_id, d.role, d.status,
	    d.payment_method, s.seq, 0, 0, 0, 0
	  FROM sales_daily d JOIN seq_1_to_$((slots - 1)) s WHERE d.slot = 0"
	measure "$total (aggregates in $slots slots)"
	compact_and_measure "$total (past days compacted)"
fi
events=${BENCH_EVENTS:-0}
if [ "$events" -gt 0 ]; then
	sql -e "
	  INSERT INTO checkout_events (event_id, offer_id, event_name, occurred_at)
	  SELECT CONCAT('bench-', seq), (SELECT id FROM offers WHERE code = 'DEMOOFFER1'),
	    IF(seq % 5 = 0, 'checkout_session_started', 'checkout_page_view'),
	    UTC_TIMESTAMP(6) - INTERVAL (seq % 2592000) SECOND FROM seq_1_to_$events"
	measure "$total (and $events checkout events)"
	if [ "$slots" -gt 1 ]; then
		# the funnel as live page views leave it: every row in every slot
		sql -e "
		  INSERT INTO funnel_days (offer_id, day, event_name, slot, events)
		  SELECT d.offer_id, d.day, d.event_name, s.seq, 0
		  FROM funnel_days d JOIN seq_1_to_$((slots - 1)) s WHERE d.slot = 0"
		measure "$total (and $events checkout events, funnel in $slots slots)"
		compact_and_measure "$total (and $events checkout events, funnel compacted)"
	fi
fi
pending=${BENCH_PENDING:-0}
if [ "$pending" -gt 0 ]; then
	sql -e "
	  INSERT INTO sales_pending (member_id, day, product_id, affiliate_id, role, status,
	    payment_method, orders, gross_cents, amount_cents, reversed_cents)
	  SELECT u.id, UTC_DATE() - INTERVAL (seq % 30) DAY, p.id, '', 'producer',
	    IF(seq % 2 = 0, 'paid', 'waiting_payment'), ELT(1 + seq % 3, 'card', 'pix', 'boleto'),
	    IF(seq % 4 = 1, -1, 1), 0, 0, 0
	  FROM seq_1_to_$pending JOIN users u ON u.email = 'producer@b4you.dev'
	  JOIN products p ON p.producer_id = u.id AND p.id = (SELECT MIN(id) FROM products
	    WHERE producer_id = u.id)"
	measure "$total (and $pending rows in the outbox)"
fi
