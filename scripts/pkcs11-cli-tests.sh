#!/usr/bin/env bash
# pkcs11-cli-tests.sh: the CLI suite against the PKCS#11 provider (id 2) of
# our service (daemon + parsec-pkcs11 co-server) and of the Rust Parsec
# service 1.4.1, each on its own SoftHSM 2 token initialised the same way
# (Debian's softhsm2, a private SOFTHSM2_CONF in a temp dir), in the same
# run, with the Rust parsec-tool 0.7.0; then compares them: every check the
# Rust service passes must pass for ours. Last, the upgrade: keys the Rust
# service made on its token, then our daemon started on Rust's state (the
# takeover copies the SQLite mappings): same public keys, and signatures
# openssl verifies with the keys Rust exported.
#
# Usage: scripts/pkcs11-cli-tests.sh [--quick] [--script FILE]
#   --script FILE  upstream parsec-tool's tests/parsec-cli-tests.sh (also
#                  $UPSTREAM_CLI_TESTS), run through scripts/upstream-cli-tests.sh;
#                  default: our tools/parsec-cli-tests/parsec-cli-tests.sh
#   --quick        only the --no-oaep variant (the CI slice); default: with
#                  and without --no-oaep (meta-parsec passes --no-oaep for
#                  SoftHSM, whose RSA-OAEP takes SHA-1 only)
#
# Installs softhsm2 and a C compiler (the co-server is cgo) with apt-get when
# missing. Ends with "N passed, N failed" (one line per variant and service,
# plus the comparisons).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/apt.sh
. scripts/lib/go.sh
. scripts/lib/softhsm.sh
ensure_go

script=${UPSTREAM_CLI_TESTS:-}
variants=("" "--no-oaep")
while [ $# -gt 0 ]; do
	case $1 in
	--quick) variants=("--no-oaep"); shift ;;
	--script) script=$2; shift 2 ;;
	*) echo "usage: $0 [--quick] [--script FILE]" >&2; exit 2 ;;
	esac
done

need=()
command -v softhsm2-util >/dev/null || need+=(softhsm2)
command -v cc >/dev/null || need+=(gcc libc6-dev)
command -v openssl >/dev/null || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
	[ "$(id -u)" = 0 ] || { echo "pkcs11-cli-tests: need ${need[*]} (run as root to install)" >&2; exit 2; }
	apt_get update -qq
	apt_get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
lib=$(softhsm_lib) || true
[ -n "$lib" ] || { echo "pkcs11-cli-tests: libsofthsm2.so not found" >&2; exit 2; }

W=$(mktemp -d /tmp/pkcs11-cli.XXXXXX)
ours_pid=
cleanup() {
	[ -z "$ours_pid" ] || { kill "$ours_pid" 2>/dev/null && wait "$ours_pid" 2>/dev/null; } || true
	scripts/rust-parsec.sh stop --dir "$W/rust" >/dev/null 2>&1 || true
	rm -rf "$W"
}
trap cleanup EXIT INT TERM

mkdir -p "$W/bin" "$W/rbin"
CGO_ENABLED=0 go build -trimpath -o "$W/bin/parsec" ./service/cmd/parsec
CGO_ENABLED=0 go build -trimpath -o "$W/bin/parsec-takeover" ./service/cmd/parsec-takeover
# Next to the daemon, where it looks first.
CGO_ENABLED=1 go build -trimpath -o "$W/bin/parsec-pkcs11" ./service/cmd/parsec-pkcs11
scripts/rust-parsec.sh install-wrapper "$W/rbin" >/dev/null

# token DIR: a private SoftHSM configuration with one initialised token.
token() { softhsm_token "$1" parsec-cli; }

start_ours() {
	local d=$W/ours
	token "$d"
	cat >"$d/config.toml" <<EOT
[core_settings]
allow_root = true
log_level = "info"
[listener]
listener_type = "DomainSocket"
timeout = 200
socket_path = "$d/parsec.sock"
[authenticator]
auth_type = "UnixPeerCredentials"
[[key_manager]]
name = "on-disk-manager"
manager_type = "OnDisk"
store_path = "$d/mappings"
[[provider]]
provider_type = "Pkcs11"
key_info_manager = "on-disk-manager"
library_path = "$lib"
user_pin = "123456"
software_public_operations = false
allow_export = true
EOT
	SOFTHSM2_CONF="$d/softhsm2.conf" "$W/bin/parsec" -c "$d/config.toml" >"$d/log" 2>&1 &
	ours_pid=$!
	for _ in $(seq 1 300); do
		[ -S "$d/parsec.sock" ] && PARSEC_SERVICE_ENDPOINT="unix:$d/parsec.sock" "$W/rbin/parsec-tool" ping >/dev/null 2>&1 && return 0
		kill -0 "$ours_pid" 2>/dev/null || break
		sleep 0.1
	done
	cat "$d/log" >&2
	echo "pkcs11-cli-tests: our service did not start" >&2
	exit 1
}

# run NAME ENDPOINT ARGS...: one CLI run; keeps its PASS/FAIL lines.
run() {
	local name=$1 ep=$2
	shift 2
	echo "== $name: ${script:-tools/parsec-cli-tests/parsec-cli-tests.sh} $*"
	if [ -n "$script" ]; then
		scripts/upstream-cli-tests.sh --script "$script" --endpoint "$ep" -- "$@" >"$W/$name.out" 2>&1 || true
	else
		PATH="$W/rbin:$PATH" PARSEC_SERVICE_ENDPOINT="$ep" sh tools/parsec-cli-tests/parsec-cli-tests.sh "$@" >"$W/$name.out" 2>&1 || true
	fi
	grep -aE '^(PASS|FAIL): ' "$W/$name.out" | sort -u >"$W/$name.res" || true
	grep -aE '^(PASS|FAIL|SKIP): ' "$W/$name.out" | sed 's/^/   /'
	tail -n 1 "$W/$name.out" | sed 's/^/   /'
}

start_ours
token "$W/rust-token"
export SOFTHSM2_CONF="$W/rust-token/softhsm2.conf"
scripts/rust-parsec.sh start --dir "$W/rust" --provider pkcs11 --pin 123456 >/dev/null
rust_ep=unix:$W/rust/parsec.sock
ours_ep=unix:$W/ours/parsec.sock

passed=0
failed=0
for v in "${variants[@]}"; do
	tag=${v:-default}
	tag=${tag#--}
	# shellcheck disable=SC2086
	run "ours-$tag" "$ours_ep" -2 $v
	# shellcheck disable=SC2086
	run "rust-$tag" "$rust_ep" -2 $v
	np=$(grep -c '^PASS' "$W/ours-$tag.res" || true)
	rp=$(grep -c '^PASS' "$W/rust-$tag.res" || true)
	missing=$(comm -13 <(grep '^PASS' "$W/ours-$tag.res") <(grep '^PASS' "$W/rust-$tag.res") || true)
	echo "   $tag: ours $np passed, Rust 1.4.1 $rp passed"
	if [ "$np" -gt 0 ] && [ -z "$missing" ]; then
		passed=$((passed + 1))
		echo "PASS: $tag: ours passes every check the Rust service passes"
	else
		failed=$((failed + 1))
		echo "FAIL: $tag: checks Rust passes and ours does not:"
		echo "${missing:-(ours passed nothing)}" | sed 's/^/     /'
		tail -n 30 "$W/ours/log" | sed 's/^/     log: /'
	fi
done
# The upgrade from the Rust service, on its token and state.
echo "== takeover: Rust 1.4.1's PKCS#11 keys served by ours"
rtool() { PARSEC_SERVICE_ENDPOINT=$rust_ep "$W/rbin/parsec-tool" "$@" 2>/dev/null; }
rtool -p 2 create-ecc-key -k up-ecc >/dev/null
rtool -p 2 create-rsa-key -s -k up-rsa >/dev/null
rtool export-public-key -k up-ecc >"$W/up-ecc.pem"
rtool export-public-key -k up-rsa >"$W/up-rsa.pem"
scripts/rust-parsec.sh stop --dir "$W/rust" >/dev/null 2>&1
kill "$ours_pid" 2>/dev/null && wait "$ours_pid" 2>/dev/null || true
ours_pid=
# Rust's config as is, but for the SoftHSM build: the root's module is
# linked against the root's libraries.
sed "s|^library_path = .*|library_path = \"$lib\"|" "$W/rust/config.toml" >"$W/rust/go-config.toml"
(cd "$W/rust" && exec "$W/bin/parsec" -c "$W/rust/go-config.toml") >"$W/rust/go.log" 2>&1 &
ours_pid=$!
for _ in $(seq 1 300); do
	PARSEC_SERVICE_ENDPOINT=$rust_ep "$W/rbin/parsec-tool" ping >/dev/null 2>&1 && break
	sleep 0.1
done
problems=
for k in ecc rsa; do
	if ! rtool export-public-key -k "up-$k" | cmp -s - "$W/up-$k.pem"; then
		problems="$problems up-$k:public-key-differs"
	fi
	rtool sign -k "up-$k" "carried over" | base64 -d >"$W/up-$k.sig" || true
	if ! printf 'carried over' | "$W/rbin/openssl" dgst -sha256 -verify "$W/up-$k.pem" -signature "$W/up-$k.sig" >/dev/null 2>&1; then
		problems="$problems up-$k:signature-does-not-verify"
	fi
done
if [ -z "$problems" ]; then
	passed=$((passed + 1))
	echo "PASS: takeover: same public keys, signatures verified by openssl with the keys Rust exported"
else
	failed=$((failed + 1))
	echo "FAIL: takeover:$problems"
	tail -n 20 "$W/rust/go.log" | sed 's/^/     log: /'
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
