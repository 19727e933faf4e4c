#!/bin/sh
# Usage: scripts/build-pkcs11-module.sh OUTPUT_PATH
#
# Builds libparsec-pkcs11.so, the PKCS#11 module backed by the Parsec
# service (tools/parsec-pkcs11-module), at OUTPUT_PATH. It needs cgo: a C
# compiler and p11-kit's pkcs11.h (Debian's libp11-kit-dev), which it
# installs when run as root on a machine without them.
#
# GOOS/GOARCH/CC in the environment cross-compile as usual; -trimpath and
# -s keep the library reproducible and small.
set -eu
[ $# -eq 1 ] || { sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
out=$1
cd "$(dirname "$0")/.."
. scripts/lib/apt.sh
. scripts/lib/go.sh
ensure_go

header_ok() {
	echo '#include <p11-kit-1/p11-kit/pkcs11.h>' | ${CC:-cc} -x c -fsyntax-only - 2>/dev/null
}
if ! command -v "${CC:-cc}" >/dev/null 2>&1 || ! header_ok; then
	if [ "$(id -u)" != 0 ]; then
		echo "build-pkcs11-module: need a C compiler and libp11-kit-dev (apt-get install gcc libp11-kit-dev)" >&2
		exit 1
	fi
	echo "build-pkcs11-module: installing gcc and libp11-kit-dev" >&2
	apt_get update -qq
	apt_get install -y -qq gcc libc6-dev libp11-kit-dev >/dev/null
fi
mkdir -p "$(dirname "$out")"
CGO_ENABLED=1 go build -buildmode=c-shared -trimpath -ldflags=-s -o "$out" ./tools/parsec-pkcs11-module
# The generated C header of the Go exports is of no use to anyone.
rm -f "${out%.so}.h"
