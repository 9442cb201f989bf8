#!/usr/bin/env bash
# bench_abandon_scan.sh - the abandoned-cart scan over a launch's leftover
# sessions: SESSIONS (300000) checkout sessions without an e-mail (visitors
# who never typed one), then the scan's query as it was before migration
# 0026 (over its old (abandoned_at, updated_at) index, put back here) and
# as it is (ix_sessions_abandon_due), twice each, wall time per query.
#   tests/bench/bench_abandon_scan.sh [SESSIONS]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
n=${1:-300000}
bench_db
sql() { mariadb --ssl=0 -h127.0.0.1 -P"$B4_DB_PORT" -ub4 -pb4dev -N b4bench -e "$1"; }
offer=$(sql "SELECT id FROM offers WHERE code = 'DEMOOFFER1'")
sql "INSERT INTO checkout_sessions (id, offer_id, updated_at) SELECT UUID(), '$offer',
	UTC_TIMESTAMP(6) - INTERVAL 2 HOUR - INTERVAL seq SECOND FROM seq_1_to_$n"
sql "ALTER TABLE checkout_sessions ADD INDEX ix_old (abandoned_at, updated_at)"
sql "ANALYZE TABLE checkout_sessions" >/dev/null
paid="'paid','refund_requested','refunded','disputed','chargeback'"
old="SELECT s.id FROM checkout_sessions s IGNORE INDEX (ix_sessions_abandon_due)
	WHERE s.abandoned_at IS NULL AND s.email IS NOT NULL AND s.email <> ''
	AND s.updated_at <= CURRENT_TIMESTAMP(6) - INTERVAL 1 HOUR
	AND NOT EXISTS (SELECT 1 FROM orders x WHERE x.session_id = s.id AND x.status IN ($paid))
	AND (s.order_id IS NULL OR NOT EXISTS (SELECT 1 FROM orders y
	WHERE y.id = s.order_id AND y.status IN ($paid))) ORDER BY s.updated_at LIMIT 200"
new="SELECT s.id FROM checkout_sessions s
	WHERE s.abandon_due <= CURRENT_TIMESTAMP(6) - INTERVAL 1 HOUR ORDER BY s.abandon_due LIMIT 200"
echo "$n sessions without an e-mail"
for round in 1 2; do
	for which in before after; do
		q=$old
		[ "$which" = after ] && q=$new
		t0=$(date +%s%N)
		sql "$q" >/dev/null
		t1=$(date +%s%N)
		echo "round $round, scan $which 0026: $(((t1 - t0) / 1000000)) ms"
	done
done
