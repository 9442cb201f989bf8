#!/usr/bin/env bash
# Checks that the runtime stage of the Dockerfile installs exactly the
# Debian packages the binaries need.
#
#   deploy/docker/runtime-deps.sh BIN_DIR [DOCKERFILE]
#
# Needed: for every NEEDED soname of every binary in BIN_DIR (objdump -p),
# the file ldd resolves it to and the package dpkg -S says owns that file
# on this (Debian) machine, minus what every Debian base image has: the
# Essential packages and what they depend on directly (libc6).  Installed: the words after
# `apt-get install` in the last stage of DOCKERFILE (options dropped).
# ca-certificates may be installed beyond the libraries (https needs it).
# Prints both lists; exits 1 naming what is missing or extra.
set -euo pipefail

bin_dir=${1:?usage: runtime-deps.sh BIN_DIR [DOCKERFILE]}
dockerfile=${2:-$(dirname "$0")/Dockerfile}
# data, not libraries, that the binaries read at run time: CA certificates
# (TLS to S3, acquirers, webhooks) and the zone files (libcommon tz.c, the
# producer charts' local days)
allowed_extra="ca-certificates tzdata"

owner_of() {
	local path=$1 real pkg
	real=$(readlink -f "$path")
	for candidate in "$path" "$real" "${real#/usr}" "/usr$path"; do
		pkg=$(dpkg -S "$candidate" 2>/dev/null | head -n1 | cut -d: -f1) || true
		if [ -n "$pkg" ]; then
			echo "$pkg"
			return 0
		fi
	done
	return 1
}

# Essential packages and their direct (pre-)dependencies
base=$(dpkg-query -W -f='${Essential} ${Package}, ${Pre-Depends}, ${Depends}\n' |
	awk '$1 == "yes" {$1 = ""; print}' | tr ',|' '\n' |
	sed -e 's/([^)]*)//g' -e 's/:any//g' -e 's/^ *//' -e 's/ .*//' | grep -v '^$' | sort -u)

declare -A needed=()
status=0
for bin in "$bin_dir"/*; do
	if [ ! -f "$bin" ] || [ ! -x "$bin" ]; then continue; fi
	libs=$(ldd "$bin")
	for soname in $(objdump -p "$bin" | awk '$1 == "NEEDED" {print $2}'); do
		# a SANITIZE= build links its runtime; the image is built without
		case "$soname" in libasan.* | libubsan.* | liblsan.* | libtsan.*) continue ;; esac
		path=$(awk -v so="$soname" '$1 == so && $2 == "=>" {print $3}' <<<"$libs")
		if [ -z "$path" ] || [ "$path" = "not" ]; then
			echo "$(basename "$bin"): $soname does not resolve on this machine" >&2
			status=1
			continue
		fi
		if ! pkg=$(owner_of "$path"); then
			echo "$(basename "$bin"): no Debian package owns $path ($soname)" >&2
			status=1
			continue
		fi
		grep -qx "$pkg" <<<"$base" && continue
		case " ${needed[$pkg]:-} " in
		*" $soname "*) ;;
		*) needed[$pkg]="${needed[$pkg]:-} $soname" ;;
		esac
	done
done

# the last stage's apt-get install list, continuation lines joined
installed=$(awk '/^FROM /{stage=""} {stage = stage $0 "\n"} END {printf "%s", stage}' "$dockerfile" |
	sed -e ':a' -e '/\\$/N; s/\\\n/ /; ta' |
	grep -m1 'apt-get install' |
	sed -e 's/.*apt-get install//' -e 's/&&.*//' |
	tr ' ' '\n' | grep -v '^-' | grep -v '^$' | sort -u)

echo "needed by the binaries:"
for pkg in $(printf '%s\n' "${!needed[@]}" | sort); do
	echo "  $pkg:${needed[$pkg]}"
done
echo "installed by the runtime stage: $(tr '\n' ' ' <<<"$installed")"

for pkg in "${!needed[@]}"; do
	if ! grep -qx "$pkg" <<<"$installed"; then
		echo "missing from the runtime stage: $pkg (for${needed[$pkg]})" >&2
		status=1
	fi
done
for pkg in $installed; do
	if [ -z "${needed[$pkg]:-}" ] && ! grep -qw "$pkg" <<<"$allowed_extra"; then
		echo "installed but not needed by any binary: $pkg" >&2
		status=1
	fi
done
exit $status
