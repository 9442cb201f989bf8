#!/usr/bin/env bash
# `make bench-launch`: launch day.  Distinct honest buyers (own card, CPF,
# e-mail and client address, given by X-Forwarded-For from a trusted load
# balancer) each tokenize a card and order it (tests/bench/bench_launch.c)
# through b4-gateway -> b4-checkout -> b4-acquirer-sandbox, antifraud on,
# every setting at its production default, a private MariaDB under var/
# with innodb_flush_log_at_trx_commit=1.  Then mariadb-slap at 16 clients on
# the same server for the raw commit rate.  Per connection count: paid
# orders/s, order request p50/p99, refused buyers, CPU ms per paid order of
# each process (/proc/PID/stat) and MariaDB statements and commits per paid
# order (SHOW GLOBAL STATUS deltas); then the offer page's views (wrk,
# tests/bench/offer_page.lua) with their rate, latency and CPU per view,
# and whole page loads (bench_launch.c's visit mode: the offer, a session,
# two funnel events) with their CPU and statements per load; then the
# jobs the paid orders queued (invoices, approved-payment events), drained
# by a b4-worker as deployed, with jobs/s and CPU per job.
# A b4-worker runs the sales outbox's
# applier (the aggregates, db/migrations/0023) as in production; its CPU
# and its statements count in the figures.
#   BENCH_SECONDS=20 BENCH_CONNS="8 32" tests/bench/bench_launch.sh
# Extra settings for b4-checkout (to measure an idea) go in
# BENCH_CHECKOUT_ENV, e.g. BENCH_CHECKOUT_ENV="B4_WORKERS=16".
# BENCH_DIGESTS=1 starts MariaDB with performance_schema and prints, after
# the runs, each statement's time in the server per paid order (wall time,
# so lock and fsync waits count) and its calls per order: where MariaDB's
# share goes.  The profile costs throughput; take the rates from a run
# without it.  B4_MARIADB_ARGS (deploy/dev/mariadb.sh) tries a server
# setting, e.g. B4_MARIADB_ARGS=--thread-handling=pool-of-threads.
# BENCH_ADDRESSES=N sends the buyers and visitors from N client addresses
# instead of one each (bench_launch.c): BENCH_ADDRESSES=1 is a launch
# behind one carrier's NAT, every order counted by the per-address rule.
# BENCH_COUPON=BEMVINDO10 has every buyer order with the demo's coupon, as
# a launch's link carries one.
# BENCH_CPUS pins the whole run (MariaDB, the binaries, the driver and
# mariadb-slap) to those CPUs (taskset -c), to see how both rates scale
# with cores: BENCH_CPUS=0 for one core.
set -euo pipefail
if [ -n "${BENCH_CPUS:-}" ] && [ -z "${BENCH_PINNED:-}" ]; then
	exec env BENCH_PINNED=1 taskset -c "$BENCH_CPUS" "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
seconds=${BENCH_SECONDS:-20}
conns_list=${BENCH_CONNS:-8 32}
pkgs="libevent libmariadb"
cc -std=c11 -O2 -pthread -o "$bench_dir/bench_launch" "$top/tests/bench/bench_launch.c"
if [ "${BENCH_DIGESTS:-}" = 1 ]; then
	export B4_MARIADB_ARGS="${B4_MARIADB_ARGS:-} --performance-schema=ON --performance-schema-max-prepared-statements-instances=4000 --performance-schema-consumer-events-statements-current=ON --performance-schema-consumer-events-statements-history=ON"
fi
bench_db
secret=bench-acquirer-secret-0123456789abcdef0123
bench_start b4-acquirer-sandbox B4_ACQUIRER_SECRET=$secret B4_NO_DB=true
sandbox_port=$port
sandbox_pid=${bench_pids[-1]}
checkout_env=(B4_ACQUIRER_SECRET=$secret B4_ACQUIRERS="sandbox=http://127.0.0.1:$sandbox_port")
# the client address comes from the load balancer's X-Forwarded-For where
# libcommon knows trusted proxies (branch trust); before that every buyer
# is 127.0.0.1 to b4-checkout, and only the per-address rule is lifted.
# The help is read whole first: under pipefail, grep -q quitting at its
# match could kill b4-checkout with SIGPIPE and take the else branch.
checkout_help=$("$bin/b4-checkout" --help 2>&1 || true)
if grep -q B4_TRUSTED_PROXIES <<<"$checkout_help"; then
	checkout_env+=(B4_TRUSTED_PROXIES=127.0.0.1/32)
	address_note="client address from X-Forwarded-For (B4_TRUSTED_PROXIES)"
else
	checkout_env+=(B4_FRAUD_IP_MAX=1000000)
	address_note="b4-checkout has no B4_TRUSTED_PROXIES here: per-address rule lifted (B4_FRAUD_IP_MAX)"
fi
# shellcheck disable=SC2206
checkout_env+=(${BENCH_CHECKOUT_ENV:-})
bench_start b4-checkout "${checkout_env[@]}"
checkout_port=$port
checkout_pid=${bench_pids[-1]}
# the aggregates' owner: the outbox's applier thread (and the hourly
# cron.sales_compact), nothing else
bench_start b4-worker B4_WORKER_TYPES=cron.sales_compact B4_WORKER_CONCURRENCY=1
worker_pid=${bench_pids[-1]}

# the gateway as deployed (deploy/dev/gateway.json): 2 threads, rate limits,
# access log, the load balancer (127.0.0.1 here) trusted for X-Forwarded-For
cat >"$bench_dir/gateway.json" <<JSON
{"listeners": [{"host": "127.0.0.1", "port": 0}],
 "admin": {"host": "127.0.0.1", "port": 0},
 "threads": 2,
 "routes": [{"name": "checkout", "prefix": "/checkout", "strip_prefix": true, "upstream": "checkout"}],
 "upstreams": {"checkout": {"instances": ["127.0.0.1:$checkout_port"], "balance": "least_outstanding"}},
 "rate_limits": [{"name": "default", "prefix": "/", "rate_per_sec": 1000, "burst": 2000}],
 "trusted_proxies": ["127.0.0.1/32"],
 "access_log": true}
JSON
B4_GATEWAY_CONFIG="$bench_dir/gateway.json" B4_PORT_FILE="$bench_dir/gw.port" \
	"$bin/b4-gateway" >>"$bench_dir/gateway.log" 2>&1 &
bench_pids+=($!)
gateway_pid=$!
for _ in $(seq 1 100); do [ -s "$bench_dir/gw.port" ] && break; sleep 0.05; done
gw_port=$(sed -n 's/^http=//p' "$bench_dir/gw.port")
[ -n "$gw_port" ] || { echo "bench_launch: gateway did not start" >&2; exit 1; }
db_pid=$(cat "$bench_dir/db/mysqld.pid")
sql() { mariadb --ssl=0 -h127.0.0.1 -P"$B4_DB_PORT" -ub4 -pb4dev -N b4bench -e "$1"; }
echo "durability: $(sql "SELECT CONCAT('innodb_flush_log_at_trx_commit=', @@innodb_flush_log_at_trx_commit, ' sync_binlog=', @@sync_binlog, ' log_bin=', @@log_bin)")"
echo "b4-checkout: B4_WORKERS=${B4_WORKERS:-default} ${BENCH_CHECKOUT_ENV:-}; $address_note"
[ -n "${BENCH_ADDRESSES:-}" ] && echo "client addresses: $BENCH_ADDRESSES"
[ -n "${BENCH_COUPON:-}" ] && echo "every order with coupon $BENCH_COUPON"
echo "cpus: $(taskset -pc $$ | sed 's/.*: //') of $(nproc --all)"

ticks() { # PID: utime + stime in clock ticks
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}
status_vars="'Questions','Com_commit','Handler_commit','Com_stmt_prepare','Com_stmt_execute','Com_select','Com_insert','Com_update','Com_delete','Innodb_row_lock_waits','Innodb_row_lock_time'"
status() { sql "SHOW GLOBAL STATUS WHERE Variable_name IN ($status_vars)" | tr '\t' '=' | tr '\n' ' '; }
hz=$(getconf CLK_TCK)
# cpu_mark PROC...: notes each process's CPU (PROC_pid); cpu_per WHAT N
# DIGITS PROC...: prints each one's CPU ms per WHAT since, over N of them
declare -A cpu_before
cpu_mark() {
	local p pid_var
	for p in "$@"; do
		pid_var=${p}_pid
		cpu_before[$p]=$(ticks "${!pid_var}")
	done
}
# status_per WHAT N BEFORE AFTER: MariaDB's counters per WHAT between two
# status readings, over N of them
status_per() {
	echo "per $1:" "$(awk -v s0="$3" -v s1="$4" -v n="$2" 'BEGIN {
		split(s0, a, " "); split(s1, b, " ");
		for (i in a) { split(a[i], x, "="); v0[x[1]] = x[2] }
		for (i in b) { split(b[i], y, "="); if (n) printf "%s=%.1f ", y[1], (y[2] - v0[y[1]]) / n }
	}')"
}
cpu_per() {
	local what=$1 n=$2 digits=$3 line p pid_var after
	shift 3
	line="cpu ms per $what:"
	for p in "$@"; do
		pid_var=${p}_pid
		after=$(ticks "${!pid_var}")
		line+=" $p=$(awk -v a="${cpu_before[$p]}" -v b="$after" -v hz="$hz" -v n="$n" -v d="$digits" \
			'BEGIN { printf "%." d "f", n ? (b - a) * 1000 / hz / n : 0 }')"
	done
	echo "$line"
}

# a short warm-up: connections, prepared statements, the buffer pool
"$bench_dir/bench_launch" "$gw_port" 8 3 DEMOOFFER1 warm >/dev/null

digests=${BENCH_DIGESTS:-}
[ "$digests" = 1 ] && sql "TRUNCATE performance_schema.events_statements_summary_by_digest; TRUNCATE performance_schema.prepared_statements_instances"
paid_all=0
for conns in $conns_list; do
	cpu_mark gateway checkout sandbox worker db
	s0=$(status)
	echo "--- $conns connections, ${seconds}s; load: $(cut -d' ' -f1-3 /proc/loadavg)"
	out=$("$bench_dir/bench_launch" "$gw_port" "$conns" "$seconds" DEMOOFFER1 "c$conns-$$")
	echo "$out"
	s1=$(status)
	paid=$(echo "$out" | sed -n 's/.* paid=\([0-9]*\).*/\1/p')
	paid_all=$((paid_all + paid))
	cpu_per "paid order" "$paid" 2 gateway checkout sandbox worker db
	status_per "paid order" "$paid" "$s0" "$s1"
done

# a launch's page views: every buyer loads the offer page first, and many
# who look never pay; wrk at BENCH_PAGE_CONNS (32), each request from its
# own client address.  b4-checkout reuses the page's answer for
# B4_OFFER_PAGE_CACHE_MS (1000; BENCH_CHECKOUT_ENV="B4_OFFER_PAGE_CACHE_MS=0"
# measures every view reading the database); BENCH_PAGE_CODE=NOSUCHCODE
# views a code without an offer instead (a launch link with a typo)
if command -v wrk >/dev/null; then
	page_conns=${BENCH_PAGE_CONNS:-32}
	cpu_mark gateway checkout db
	echo "--- offer page views (GET /checkout/v1/offers/${BENCH_PAGE_CODE:-DEMOOFFER1}), $page_conns connections, ${seconds}s"
	out=$(wrk -t2 -c"$page_conns" -d"${seconds}s" --latency -s "$top/tests/bench/offer_page.lua" \
		"http://127.0.0.1:$gw_port")
	pages=$(echo "$out" | sed -n 's/^ *\([0-9]*\) requests in.*/\1/p')
	echo "pages/s=$(echo "$out" | sed -n 's/^Requests\/sec: *//p') p50=$(echo "$out" | awk '$1 == "50%" { print $2 }') p99=$(echo "$out" | awk '$1 == "99%" { print $2 }') not_2xx=$(echo "$out" | sed -n 's/^ *Non-2xx or 3xx responses: *//p' | grep . || echo 0)"
	cpu_per "page view" "$pages" 3 gateway checkout db
fi
# and the whole load of the page, as web/checkout makes it: the offer, a
# checkout session and the funnel's page-view and session-started events
echo "--- checkout page loads (offer, session, 2 funnel events), ${BENCH_PAGE_CONNS:-32} connections, ${seconds}s"
cpu_mark gateway checkout db
s0=$(status)
out=$("$bench_dir/bench_launch" "$gw_port" "${BENCH_PAGE_CONNS:-32}" "$seconds" DEMOOFFER1 "v$$" visit)
s1=$(status)
echo "$out"
visits=$(echo "$out" | sed -n 's/^visits=\([0-9]*\).*/\1/p')
cpu_per "page load" "$visits" 3 gateway checkout db
status_per "page load" "$visits" "$s0" "$s1"
sleep 1
# digests WHAT N: with BENCH_DIGESTS=1, each statement's time in the
# server (performance_schema, wall us) and calls per WHAT since the last
# call, over N of them, then starts counting again
digests() {
	[ "$digests" = 1 ] && [ "$2" -gt 0 ] || return 0
	echo "--- time in the server per $1 (performance_schema, wall us), calls per $1, statement"
	sql "SELECT ROUND(SUM(t) / 1e6 / $2), ROUND(SUM(n) / $2, 2), LEFT(q, 120) FROM (
		SELECT SUM_TIMER_EXECUTE t, COUNT_EXECUTE n, REPLACE(REPLACE(SQL_TEXT, '\n', ' '), '\t', ' ') q
		FROM performance_schema.prepared_statements_instances
		UNION ALL SELECT SUM_TIMER_WAIT, COUNT_STAR, DIGEST_TEXT
		FROM performance_schema.events_statements_summary_by_digest
		WHERE SCHEMA_NAME = 'b4bench' AND DIGEST_TEXT IN ('COMMIT', 'START TRANSACTION', 'ROLLBACK')) s
		GROUP BY q HAVING SUM(n) > 0 ORDER BY SUM(t) DESC LIMIT 30" | column -t -s $'\t'
	sql "TRUNCATE performance_schema.events_statements_summary_by_digest; TRUNCATE performance_schema.prepared_statements_instances"
}
digests "paid order" "$paid_all"
# the launch's jobs, drained as production drains them: each paid order
# queued its invoice (invoice.issue) and its approved-payment event (the
# webhooks' fan-out; the demo producer has no endpoint, so no delivery),
# and the release of its commissions after the guarantee (not due yet).
# A b4-worker as deployed (every job type, the outbox's applier too) takes
# them with BENCH_WORKER_CONCURRENCY consumers (4, the default);
# BENCH_WORKER_TYPES gives it a subset instead.
due_jobs="SELECT COUNT(*) FROM jobs WHERE status IN ('ready','running') AND run_at <= UTC_TIMESTAMP(6)"
echo "--- the launch's jobs: $(sql "SELECT GROUP_CONCAT(CONCAT(type, '=', n) ORDER BY type SEPARATOR ' ') FROM (SELECT type, COUNT(*) n FROM jobs WHERE status = 'ready' AND run_at <= UTC_TIMESTAMP(6) GROUP BY type) j"); B4_WORKER_CONCURRENCY=${BENCH_WORKER_CONCURRENCY:-4} B4_WORKER_TYPES=${BENCH_WORKER_TYPES:-all}"
jobs_before=$(sql "$due_jobs")
bench_start b4-worker B4_WORKER_CONCURRENCY="${BENCH_WORKER_CONCURRENCY:-4}" \
	B4_WORKER_TYPES="${BENCH_WORKER_TYPES:-all}" B4_STORAGE_DIR="$bench_dir/objects"
jobs_pid=${bench_pids[-1]}
cpu_mark jobs db
t0=$(date +%s.%N)
jobs_left=$jobs_before
for _ in $(seq 1 3000); do
	jobs_left=$(sql "$due_jobs")
	[ "$jobs_left" -eq 0 ] && break
	sleep 0.1
done
t1=$(date +%s.%N)
jobs_done=$((jobs_before - jobs_left))
echo "jobs done=$jobs_done left=$jobs_left dead=$(sql "SELECT COUNT(*) FROM jobs WHERE status = 'dead'") seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') jobs_per_s=$(awk -v a="$t0" -v b="$t1" -v n="$jobs_done" 'BEGIN { printf "%.0f", n / (b - a) }') invoices=$(sql "SELECT COUNT(*) FROM invoices")"
cpu_per job "$jobs_done" 3 jobs db
digests job "$jobs_done"
echo "sales outbox left: $(sql "SELECT COUNT(*) FROM sales_pending") rows"
echo "database: $(sql "SELECT GROUP_CONCAT(CONCAT(n, ' ', status) SEPARATOR ', ') FROM (SELECT status, COUNT(*) n FROM orders GROUP BY status) s")"

# storage per order, for sizing the database (InnoDB's page counts, all
# tables of the schema: orders, splits, charges, idempotency, jobs, ...)
sql "ANALYZE TABLE orders, order_items, charges, splits, customers, idempotency_keys, jobs, sales_daily, sales_pending" >/dev/null 2>&1 || true
echo "storage: $(sql "SELECT CONCAT(ROUND(SUM(data_length + index_length) / (SELECT COUNT(*) FROM orders)), ' bytes per order over ', (SELECT COUNT(*) FROM orders), ' orders') FROM information_schema.tables WHERE table_schema = 'b4bench' AND table_name <> 'bench_commits'")"

echo "--- raw MariaDB: single-row INSERT transactions (autocommit), 16 clients; load: $(cut -d' ' -f1-3 /proc/loadavg)"
out=$(mariadb-slap --ssl=0 -h127.0.0.1 -P"$B4_DB_PORT" -ub4 -pb4dev --create-schema=b4bench \
	--concurrency=16 --iterations=1 --number-of-queries=40000 \
	--pre-query="CREATE TABLE IF NOT EXISTS b4bench.bench_commits (id BIGINT AUTO_INCREMENT PRIMARY KEY, v INT) ENGINE=InnoDB" \
	--query="INSERT INTO b4bench.bench_commits (v) VALUES (1)" 2>&1) || { echo "$out"; exit 1; }
secs=$(echo "$out" | sed -n 's/.*Average number of seconds to run all queries: \([0-9.]*\).*/\1/p')
echo "raw commits/s at 16 clients: $(awk "BEGIN { printf \"%.0f\", 40000 / $secs }")"
