#!/usr/bin/env bash
# A private MariaDB under a directory of ours, never the system service.
#
#   mariadb.sh start DIR [PORT]   initialise DIR/data if needed, start mariadbd
#                                 on DIR/mysqld.sock and 127.0.0.1:PORT
#                                 (PORT 0 or absent: a free port), wait until it
#                                 answers, print the port
#   mariadb.sh stop DIR           stop it cleanly (SIGTERM, wait)
#   mariadb.sh port DIR           print the port of a running instance
#   mariadb.sh sql DIR [ARGS...]  run the mariadb client as root on it
#
# B4_MARIADB_ARGS adds options to mariadbd (a benchmark's profile, e.g.
# --performance-schema=ON); word-split, for options without spaces.
#
# The root account has no password and is reachable only through the
# socket and loopback; the application user is b4 / $B4_DB_PASSWORD (b4dev).
set -euo pipefail

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || {
	echo "usage: $0 start|stop|port|sql DIR [PORT]" >&2
	exit 2
}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
sock="$dir/mysqld.sock"
pidfile="$dir/mysqld.pid"
app_password=${B4_DB_PASSWORD:-b4dev}

user_opt=()
if [ "$(id -u)" -eq 0 ]; then
	user_opt=(--user=root)
fi

free_port() {
	# Ask the kernel for a free port by binding port 0.
	python3 - <<'PY' 2>/dev/null && return
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
	# Fallback without python: pick from the ephemeral range until unused.
	local p
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 20000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	return 1
}

# Reads the pid once: mariadbd removes its pid file while shutting down.
running_pid() {
	local pid
	pid=$(cat "$pidfile" 2>/dev/null) || return 1
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

is_running() {
	running_pid >/dev/null
}

client() {
	mariadb --no-defaults --protocol=socket -S "$sock" -uroot "$@"
}

case "$cmd" in
start)
	port=${3:-0}
	if is_running; then
		cat "$dir/port"
		exit 0
	fi
	if [ ! -d "$dir/data/mysql" ]; then
		# a bootstrap on a loaded machine has been seen to fail once; a
		# second try on a clean directory is cheap, so retry before failing
		for attempt in 1 2; do
			rm -rf "$dir/data"
			if mariadb-install-db --no-defaults --datadir="$dir/data" "${user_opt[@]}" \
				--auth-root-authentication-method=normal --skip-test-db \
				>"$dir/install.log" 2>&1; then
				break
			fi
			echo "mariadb.sh: mariadb-install-db failed (attempt $attempt):" >&2
			cat "$dir/install.log" >&2
			[ "$attempt" = 2 ] && exit 1
			sleep 1
		done
	fi
	if [ "$port" = 0 ]; then
		port=$(free_port)
	fi
	echo "$port" >"$dir/port"
	read -ra extra_args <<<"${B4_MARIADB_ARGS:-}"
	mariadbd --no-defaults --datadir="$dir/data" "${user_opt[@]}" \
		--socket="$sock" --port="$port" --bind-address=127.0.0.1 \
		--pid-file="$pidfile" --log-error="$dir/mariadb.err" \
		--skip-name-resolve --character-set-server=utf8mb4 \
		--collation-server=utf8mb4_unicode_ci --innodb-buffer-pool-size=256M \
		--max-connections=500 --innodb-lock-wait-timeout=10 \
		--transaction-isolation=READ-COMMITTED \
		--tmpdir="$dir" "${extra_args[@]}" \
		</dev/null >/dev/null 2>&1 &
	for _ in $(seq 1 300); do
		if client -e 'SELECT 1' >/dev/null 2>&1; then
			client <<SQL
CREATE USER IF NOT EXISTS 'b4'@'127.0.0.1' IDENTIFIED BY '$app_password';
CREATE USER IF NOT EXISTS 'b4'@'localhost' IDENTIFIED BY '$app_password';
GRANT ALL PRIVILEGES ON *.* TO 'b4'@'127.0.0.1';
GRANT ALL PRIVILEGES ON *.* TO 'b4'@'localhost';
SQL
			echo "$port"
			exit 0
		fi
		sleep 0.1
	done
	echo "mariadb.sh: mariadbd did not answer within 30 s; see $dir/mariadb.err" >&2
	tail -n 20 "$dir/mariadb.err" >&2 || true
	exit 1
	;;
stop)
	if pid=$(running_pid); then
		kill -TERM "$pid" 2>/dev/null || exit 0
		for _ in $(seq 1 300); do
			kill -0 "$pid" 2>/dev/null || exit 0
			sleep 0.1
		done
		echo "mariadb.sh: mariadbd $pid still running after 30 s; killing" >&2
		kill -KILL "$pid" 2>/dev/null || true
	fi
	;;
port)
	is_running && cat "$dir/port"
	;;
sql)
	shift 2
	client "$@"
	;;
*)
	echo "usage: $0 start|stop|port|sql DIR [PORT]" >&2
	exit 2
	;;
esac
