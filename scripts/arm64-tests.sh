#!/bin/sh
# arm64-tests.sh: builds the Trusted Services tests (tee, ts, the
# emulated secure world and the Trusted Service provider) for arm64 with
# `go test -c` and runs them under qemu-aarch64-static on this host. The
# provider's end-to-end tests start an arm64 parsec-tsemu, also under
# qemu-aarch64-static, as their separate secure-world process.
#
# Usage: scripts/arm64-tests.sh [PACKAGE...]   (default: the TS packages)
# Installs qemu-user-static from the distribution (bookworm) when missing.
# binfmt_misc is not needed: every arm64 binary is started through
# qemu-aarch64-static explicitly.
set -eu
cd "$(dirname "$0")/.."
. scripts/lib/apt.sh
. scripts/lib/go.sh
ensure_go

if ! command -v qemu-aarch64-static >/dev/null 2>&1; then
	if [ "$(id -u)" != 0 ]; then
		echo "arm64-tests: qemu-aarch64-static is missing; install qemu-user-static (as root)" >&2
		exit 2
	fi
	echo "arm64-tests: installing qemu-user-static" >&2
	apt_get update -qq
	apt_get install -y -qq --no-install-recommends qemu-user-static >/dev/null
fi
QEMU=$(command -v qemu-aarch64-static)

[ $# -gt 0 ] || set -- ./internal/tee ./internal/ts ./internal/ts/packedc ./tools/parsec-tsemu/emu ./service/provider/trustedservice

D=$(mktemp -d /tmp/arm64-tests.XXXXXX)
trap 'rm -rf "$D"' EXIT INT TERM

start=$(date +%s)
echo "arm64-tests: building for arm64 in $D" >&2
GOARCH=arm64 CGO_ENABLED=0 go build -trimpath -o "$D/parsec-tsemu" ./tools/parsec-tsemu
for pkg in "$@"; do
	name=$(echo "$pkg" | sed 's#^\./##; s#/#_#g')
	GOARCH=arm64 CGO_ENABLED=0 go test -c -trimpath -o "$D/$name.test" "$pkg"
done
echo "arm64-tests: built in $(($(date +%s) - start)) s" >&2

failed=0
for pkg in "$@"; do
	name=$(echo "$pkg" | sed 's#^\./##; s#/#_#g')
	[ -f "$D/$name.test" ] || { echo "SKIP  $pkg (no tests)"; continue; }
	t0=$(date +%s)
	# Tests run in their package directory, as go test does.
	if (cd "$pkg" && PARSEC_TSEMU="$QEMU $D/parsec-tsemu" "$QEMU" "$D/$name.test" -test.v -test.timeout 170s >"$D/$name.log" 2>&1); then
		echo "PASS  $pkg (arm64, $(grep -c -- '^--- PASS' "$D/$name.log") passed, $(grep -c -- '--- SKIP' "$D/$name.log") skipped, $(($(date +%s) - t0)) s)"
		grep -- '--- SKIP' "$D/$name.log" | sed 's/^ *--- SKIP: /      skipped: /' || true
	else
		echo "FAIL  $pkg (arm64)"
		tail -n 40 "$D/$name.log"
		failed=$((failed + 1))
	fi
done
echo "arm64-tests: $# packages, $failed failed, $(($(date +%s) - start)) s in all"
[ "$failed" -eq 0 ]
