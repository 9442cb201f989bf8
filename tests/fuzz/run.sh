#!/usr/bin/env bash
# Builds and runs every libFuzzer driver tests/fuzz/fuzz_*.c.
#
#   tests/fuzz/run.sh [short|long] [DRIVER_NAME_FILTER]
#
# short: about 10 s per driver (make test); long: B4_FUZZ_SECONDS each
# (default 300; make fuzz).  Each driver is built with
# clang -fsanitize=fuzzer,address,undefined against every libcommon source
# and gateway/http_parse.c, linked with the pkg-config libraries, so any
# driver works without a rule of its own.  Seeds come from the checked-in
# tests/fuzz/corpus/<driver>/; new inputs go to tests/fuzz/corpus-work/
# (ignored by git).  Exits non-zero if a driver fails to build or crashes.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
mode=${1:-short}
filter=${2:-}
BUILD=${BUILD:-build}
case "$mode" in
short) seconds=10 ;;
long) seconds=${B4_FUZZ_SECONDS:-300} ;;
*)
	echo "usage: $0 [short|long] [FILTER]" >&2
	exit 2
	;;
esac

CLANG=${CLANG:-clang}
if ! command -v "$CLANG" >/dev/null; then
	echo "fuzz: $CLANG not found" >&2
	exit 1
fi
pkgs="libevent libevent_pthreads libevent_openssl libmariadb libcjson openssl libcurl libargon2"
pkg_cflags=$(pkg-config --cflags $pkgs 2>/dev/null)
pkg_libs=$(pkg-config --libs $pkgs 2>/dev/null)
out="$BUILD/fuzz"
mkdir -p "$out"

srcs=()
for f in libcommon/src/*.c gateway/http_parse.c; do
	[ -f "$f" ] && srcs+=("$f")
done
# libcommon's b4_version comes from the Makefile's generated file; here a fixed one
printf '#include "b4/config.h"\nconst char b4_version[] = "fuzz";\n' >"$out/version.c"
srcs+=("$out/version.c")

status=0
ran=0
for driver in tests/fuzz/fuzz_*.c; do
	[ -f "$driver" ] || continue
	name=$(basename "$driver" .c)
	[ -n "$filter" ] && [[ "$name" != *"$filter"* ]] && continue
	bin="$out/$name"
	echo "fuzz: building $name"
	if ! "$CLANG" -g -O1 -std=c11 -D_GNU_SOURCE -pthread -fno-strict-aliasing \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-Ilibcommon/include -Igateway $pkg_cflags \
		-o "$bin" "$driver" "${srcs[@]}" $pkg_libs -lm 2>"$out/$name.build.log"; then
		echo "fuzz: $name: build failed" >&2
		tail -n 20 "$out/$name.build.log" >&2
		status=1
		continue
	fi
	seeds="tests/fuzz/corpus/$name"
	work="tests/fuzz/corpus-work/$name"
	mkdir -p "$seeds" "$work"
	echo "fuzz: running $name for ${seconds}s"
	if ! "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$out/$name-" -print_final_stats=0 "$work" "$seeds" \
		>"$out/$name.log" 2>&1; then
		echo "fuzz: $name: CRASH (see $out/$name.log, artifacts $out/$name-*)" >&2
		grep -A 30 'ERROR:\|SUMMARY' "$out/$name.log" | head -n 40 >&2
		status=1
		continue
	fi
	echo "fuzz: $name: ok ($(grep -o 'cov: [0-9]*' "$out/$name.log" | tail -n1), $(grep -c . <(ls "$work")) inputs)"
	ran=$((ran + 1))
done
echo "fuzz: $ran driver(s) ran clean"
exit $status
