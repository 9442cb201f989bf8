#!/usr/bin/env bash
# gen_orders.sh FIRST LAST: adds orders number FIRST..LAST of the demo
# producer (tests/bench/gen_orders.sql) to the database of the B4_DB_*
# settings, then rebuilds the sales aggregates with b4-migrate
# --rebuild-aggregates.  Prints the seconds each step took.
#   tests/bench/gen_orders.sh 1 1000000     # one million orders
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
bin="$top/${BUILD:-build}/bin"
first=${1:?FIRST}
last=${2:?LAST}
[[ $first =~ ^[1-9][0-9]*$ && $last =~ ^[1-9][0-9]*$ && $last -ge $first ]] ||
	{ echo "gen_orders: FIRST and LAST are numbers, FIRST <= LAST" >&2; exit 2; }
t0=$(date +%s.%N)
sed -e "s/@FIRST@/$first/g" -e "s/@LAST@/$last/g" "$top/tests/bench/gen_orders.sql" |
	mariadb --ssl=0 -h"${B4_DB_HOST:-127.0.0.1}" -P"$B4_DB_PORT" -u"$B4_DB_USER" \
		-p"$B4_DB_PASSWORD" "$B4_DB_NAME"
t1=$(date +%s.%N)
"$bin/b4-migrate" --migrations-dir="$top/db/migrations" --rebuild-aggregates >/dev/null
t2=$(date +%s.%N)
awk -v a="$t0" -v b="$t1" -v c="$t2" -v n=$((last - first + 1)) 'BEGIN {
	printf "gen_orders: %d orders in %.1f s, aggregates rebuilt in %.1f s\n", n, b - a, c - b }'
