#!/usr/bin/env bash
# client-go-e2e.sh: parsec-client-go's end-to-end suite (its e2etest
# package, run as its CI does: go test --tags=end2endtest) against our
# service configured like that CI's "all" config minus the TPM: MbedCrypto
# then Pkcs11 on a SoftHSM 2 token. For by-hand runs: the client's source is
# a local checkout (the Go module proxy does not serve this module), copied
# into a temp dir and never committed; its tests' dependencies (ginkgo,
# gomega) come from the Go module proxy.
#
# Usage: scripts/client-go-e2e.sh SRC   (a parsec-client-go checkout)
# Ends with "N passed, N failed" (Go tests of e2etest).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/go.sh
. scripts/lib/softhsm.sh
ensure_go
src=${1:-}
[ -d "$src/e2etest" ] || { echo "usage: $0 PARSEC_CLIENT_GO_CHECKOUT" >&2; exit 2; }
src=$(cd "$src" && pwd)
lib=$(softhsm_lib) || { echo "client-go-e2e: install softhsm2 first (scripts/pkcs11-cli-tests.sh does)" >&2; exit 2; }

W=$(mktemp -d /tmp/client-go-e2e.XXXXXX)
pid=
cleanup() {
	[ -z "$pid" ] || { kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; } || true
	chmod -R u+w "$W" 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT INT TERM

mkdir -p "$W/bin" "$W/tokens" "$W/gopath"
CGO_ENABLED=0 go build -trimpath -o "$W/bin/parsec" ./service/cmd/parsec
CGO_ENABLED=1 go build -trimpath -o "$W/bin/parsec-pkcs11" ./service/cmd/parsec-pkcs11

cp -r "$src" "$W/client"
chmod -R u+w "$W/client"

softhsm_token "$W" client-go
export SOFTHSM2_CONF=$W/softhsm2.conf
cat >"$W/config.toml" <<EOT
[core_settings]
allow_root = true
log_error_details = true
[listener]
listener_type = "DomainSocket"
timeout = 200
socket_path = "$W/parsec.sock"
[authenticator]
auth_type = "UnixPeerCredentials"
admins = [ { name = "$(id -u)" } ]
[[key_manager]]
name = "on-disk-manager"
manager_type = "OnDisk"
store_path = "$W/mappings"
[[provider]]
provider_type = "MbedCrypto"
key_info_manager = "on-disk-manager"
store_path = "$W/mbed"
[[provider]]
provider_type = "Pkcs11"
key_info_manager = "on-disk-manager"
library_path = "$lib"
user_pin = "123456"
EOT
"$W/bin/parsec" -c "$W/config.toml" >"$W/log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do [ -S "$W/parsec.sock" ] && break; sleep 0.1; done
[ -S "$W/parsec.sock" ] || { cat "$W/log" >&2; exit 1; }

cd "$W/client"
set +e
PARSEC_SERVICE_ENDPOINT=unix:$W/parsec.sock GOPATH="$W/gopath" GOFLAGS=-mod=mod \
	go test -count=1 -v --tags=end2endtest ./e2etest/ >"$W/out" 2>&1
# (its CI runs ./...: the other packages' mock tests need a mock server
# container and do not talk to a Parsec service.)
set -e
grep -E '^--- (PASS|FAIL)' "$W/out"
passed=$(grep -c '^--- PASS' "$W/out" || true)
failed=$(grep -c '^--- FAIL' "$W/out" || true)
[ "$passed" -gt 0 ] || { tail -30 "$W/out"; failed=$((failed + 1)); }
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
