#!/bin/sh
# Usage: scripts/build-pkcs11-module.sh OUTPUT_PATH
#
# Builds libparsec-pkcs11.so, the PKCS#11 module backed by the Parsec
# service (tools/parsec-pkcs11-module, plain C), at OUTPUT_PATH. It needs a
# C compiler, make and p11-kit's pkcs11.h (Debian's libp11-kit-dev), which
# it installs when run as root on a machine without them.
#
# CC, CFLAGS and LDFLAGS in the environment are honoured (cross-compile with
# CC=aarch64-linux-gnu-gcc, say). The build happens in a temporary copy, so
# the source tree stays clean.
set -eu
[ $# -eq 1 ] || { sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
out=$1
cd "$(dirname "$0")/.."
. scripts/lib/apt.sh

header_ok() {
	echo '#include <p11-kit-1/p11-kit/pkcs11.h>' | ${CC:-cc} -x c -fsyntax-only - 2>/dev/null
}
if ! command -v "${CC:-cc}" >/dev/null 2>&1 || ! command -v make >/dev/null 2>&1 || ! header_ok; then
	if [ "$(id -u)" != 0 ]; then
		echo "build-pkcs11-module: need a C compiler, make and libp11-kit-dev (apt-get install gcc make libp11-kit-dev)" >&2
		exit 1
	fi
	echo "build-pkcs11-module: installing gcc, make and libp11-kit-dev" >&2
	apt_get update -qq
	apt_get install -y -qq gcc make libc6-dev libp11-kit-dev >/dev/null
fi
mkdir -p "$(dirname "$out")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r tools/parsec-pkcs11-module/Makefile tools/parsec-pkcs11-module/src "$tmp/"
make -s -C "$tmp" CC="${CC:-cc}" libparsec-pkcs11.so
cp "$tmp/libparsec-pkcs11.so" "$out"
