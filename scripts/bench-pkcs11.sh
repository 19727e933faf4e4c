#!/usr/bin/env bash
# bench-pkcs11.sh: PKCS#11 provider throughput side by side, same run, same
# machine: our service (static daemon + parsec-pkcs11 co-server) against
# the Rust Parsec 1.4.1 service's in-process PKCS#11 provider, each on its
# own SoftHSM 2 token initialised alike; ECDSA P-256 and RSA-2048 PKCS#1
# v1.5 sign at 1 and 8 clients (tools/parsec-load). Then the extra hop:
# the same signatures sent straight to the co-server's socket (no daemon,
# no authentication, key named by its CKA_ID), so that the 1-client latency
# difference is what the daemon and the hop add per request. Figures are
# reported, nothing passes or fails on them.
#
#   scripts/bench-pkcs11.sh [--seconds N] [--out FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/go.sh
. scripts/lib/softhsm.sh
ensure_go

seconds=3
out=
while [ $# -gt 0 ]; do
	case $1 in
	--seconds) seconds=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	*) echo "usage: $0 [--seconds N] [--out FILE]" >&2; exit 2 ;;
	esac
done
for c in softhsm2-util pkcs11-tool cc; do
	command -v $c >/dev/null || { echo "bench-pkcs11: needs $c (apt-get install softhsm2 opensc gcc)" >&2; exit 2; }
done
lib=$(softhsm_lib) || true

W=$(mktemp -d /tmp/bench-pkcs11.XXXXXX)
pid=
cleanup() {
	[ -z "$pid" ] || { kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; } || true
	scripts/rust-parsec.sh stop --dir "$W/rust" >/dev/null 2>&1 || true
	rm -rf "$W"
}
trap cleanup EXIT INT TERM
mkdir -p "$W/bin" "$W/rbin" "$W/ours"
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$W/bin/parsec" ./service/cmd/parsec
CGO_ENABLED=1 go build -trimpath -ldflags "-s -w" -o "$W/bin/parsec-pkcs11" ./service/cmd/parsec-pkcs11
CGO_ENABLED=0 go build -trimpath -o "$W/bin/parsec-load" ./tools/parsec-load
scripts/rust-parsec.sh install-wrapper "$W/rbin" >/dev/null
load=$W/bin/parsec-load

token() { softhsm_token "$1" bench; }

token "$W/ours"
cat >"$W/ours/config.toml" <<EOT
[core_settings]
allow_root = true
log_level = "error"
[listener]
listener_type = "DomainSocket"
timeout = 200
socket_path = "$W/ours/parsec.sock"
[authenticator]
auth_type = "UnixPeerCredentials"
[[key_manager]]
name = "on-disk-manager"
manager_type = "OnDisk"
store_path = "$W/ours/mappings"
[[provider]]
provider_type = "Pkcs11"
key_info_manager = "on-disk-manager"
library_path = "$lib"
user_pin = "123456"
coserver_socket = "$W/ours/coserver.sock"
EOT
SOFTHSM2_CONF="$W/ours/softhsm2.conf" "$W/bin/parsec" -c "$W/ours/config.toml" >"$W/ours/log" 2>&1 &
pid=$!
for _ in $(seq 1 300); do [ -S "$W/ours/parsec.sock" ] && break; sleep 0.05; done
token "$W/rust-token"
SOFTHSM2_CONF="$W/rust-token/softhsm2.conf" scripts/rust-parsec.sh start --dir "$W/rust" --provider pkcs11 --log-level error >/dev/null

declare -A R
measure() { # KEY ENDPOINT ARGS...: rps and p50 of one parsec-load run
	local key=$1 ep=$2 line
	shift 2
	line=$(SOFTHSM2_CONF=/dev/null "$load" -endpoint "$ep" -duration "${seconds}s" "$@" | tail -n 1)
	R[$key,rps]=$(sed -n 's/.* rps=\([0-9.]*\).*/\1/p' <<<"$line")
	R[$key,p50]=$(sed -n 's/.* p50_ms=\([0-9.]*\).*/\1/p' <<<"$line")
	echo "  $key: $line"
}
for alg in ecdsa rsa; do
	for c in 1 8; do
		measure "go,$alg,$c" "unix:$W/ours/parsec.sock" -op sign -alg "$alg" -provider 2 -clients "$c"
		measure "rust,$alg,$c" "unix:$W/rust/parsec.sock" -op sign -alg "$alg" -provider 2 -clients "$c"
	done
	# The hop: a key made through the daemon, signed with at the co-server.
	tool() { PARSEC_SERVICE_ENDPOINT="unix:$W/ours/parsec.sock" "$W/rbin/parsec-tool" "$@" >/dev/null 2>&1; }
	if [ "$alg" = ecdsa ]; then tool -p 2 create-ecc-key -k hop; else tool -p 2 create-rsa-key -s -k hop; fi
	id=$(SOFTHSM2_CONF="$W/ours/softhsm2.conf" pkcs11-tool --module "$lib" --list-objects --type pubkey 2>/dev/null | awk '$1 == "ID:" {print $2; exit}')
	measure "direct,$alg,1" "unix:$W/ours/coserver.sock" -op sign -alg "$alg" -provider 2 -raw -key "cka_id:$id" -clients 1
	measure "direct,$alg,8" "unix:$W/ours/coserver.sock" -op sign -alg "$alg" -provider 2 -raw -key "cka_id:$id" -clients 8
	tool delete-key -k hop
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
diff_us() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", (a - b) * 1000 }'; }
{
	echo "PKCS#11 provider on SoftHSM 2, ${seconds} s per row, $(nproc) cores ($(date -u +%Y-%m-%d))"
	echo
	echo "| sign | ours req/s | Rust 1.4.1 req/s | ours / Rust | co-server direct req/s | ours p50 ms | direct p50 ms | daemon + hop per request |"
	echo "|---|---|---|---|---|---|---|---|"
	for alg in ecdsa rsa; do
		name=$([ $alg = ecdsa ] && echo "ECDSA P-256" || echo "RSA-2048 PKCS#1 v1.5")
		for c in 1 8; do
			echo "| $name, $c client(s) | ${R[go,$alg,$c,rps]} | ${R[rust,$alg,$c,rps]} | $(ratio "${R[go,$alg,$c,rps]}" "${R[rust,$alg,$c,rps]}")x | ${R[direct,$alg,$c,rps]} | ${R[go,$alg,$c,p50]} | ${R[direct,$alg,$c,p50]} | $(diff_us "${R[go,$alg,$c,p50]}" "${R[direct,$alg,$c,p50]}") µs |"
		done
	done
} | tee "${out:-/dev/null}"
