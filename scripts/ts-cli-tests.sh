#!/bin/sh
# ts-cli-tests.sh: runs tools/parsec-cli-tests/parsec-cli-tests.sh against
# our service configured with only the Trusted Service provider, which
# reaches the emulated secure world (tools/parsec-tsemu) running as a
# separate process.
#
# Usage: scripts/ts-cli-tests.sh [--encoding packed-c|protobuf]
#                                [--transport unix|unix-inline] [-- ARGS]
# ARGS go to parsec-cli-tests.sh (default: -4, the provider id).
# Prints the test script's PASS/FAIL lines; exits with its status.
set -eu
cd "$(dirname "$0")/.."
. scripts/lib/go.sh
ensure_go

encoding=packed-c
transport=unix
while [ $# -gt 0 ]; do
	case "$1" in
	--encoding) encoding=$2; shift 2 ;;
	--transport) transport=$2; shift 2 ;;
	--) shift; break ;;
	*) echo "usage: $0 [--encoding packed-c|protobuf] [--transport unix|unix-inline] [-- ARGS]" >&2; exit 2 ;;
	esac
done
[ $# -gt 0 ] || set -- -4
command -v openssl >/dev/null 2>&1 || { echo "ts-cli-tests: openssl is needed (apt-get install openssl)" >&2; exit 2; }

D=$(mktemp -d /tmp/ts-cli-tests.XXXXXX)
emu_pid= svc_pid=
cleanup() {
	[ -n "$svc_pid" ] && kill "$svc_pid" 2>/dev/null && wait "$svc_pid" 2>/dev/null || true
	[ -n "$emu_pid" ] && kill "$emu_pid" 2>/dev/null && wait "$emu_pid" 2>/dev/null || true
	rm -rf "$D"
}
trap cleanup EXIT INT TERM

mkdir -p "$D/bin"
for p in parsec-tsemu:./tools/parsec-tsemu parsec:./service/cmd/parsec parsec-tool:./tools/parsec-tool; do
	CGO_ENABLED=0 go build -trimpath -o "$D/bin/${p%%:*}" "${p#*:}"
done

"$D/bin/parsec-tsemu" -listen "$D/tsemu.sock" -state "$D/secure-world" 2>"$D/tsemu.log" &
emu_pid=$!

allow_root=false
[ "$(id -u)" = 0 ] && allow_root=true
sock=$D/tsemu.sock
[ "$transport" = unix-inline ] && sock=unix-inline:$D/tsemu.sock
cat >"$D/config.toml" <<EOF
[core_settings]
allow_root = $allow_root
log_level = "info"

[listener]
listener_type = "DomainSocket"
timeout = 200
socket_path = "$D/parsec.sock"

[authenticator]
auth_type = "UnixPeerCredentials"

[[key_manager]]
name = "on-disk-manager"
manager_type = "OnDisk"
store_path = "$D/mappings"

[[provider]]
provider_type = "TrustedService"
key_info_manager = "on-disk-manager"
emulator_socket = "$sock"
encoding = "$encoding"
EOF

i=0
until [ -S "$D/tsemu.sock" ]; do
	i=$((i + 1))
	[ $i -lt 100 ] || { echo "ts-cli-tests: the emulator did not start:" >&2; cat "$D/tsemu.log" >&2; exit 1; }
	sleep 0.1
done
"$D/bin/parsec" --config "$D/config.toml" 2>"$D/parsec.log" &
svc_pid=$!
export PARSEC_SERVICE_ENDPOINT="unix:$D/parsec.sock"
i=0
until "$D/bin/parsec-tool" ping >/dev/null 2>&1; do
	i=$((i + 1))
	if [ $i -ge 100 ] || ! kill -0 "$svc_pid" 2>/dev/null; then
		echo "ts-cli-tests: the service did not start:" >&2
		cat "$D/parsec.log" >&2
		exit 1
	fi
	sleep 0.1
done
"$D/bin/parsec-tool" list-providers

status=0
PARSEC_TOOL="$D/bin/parsec-tool" sh tools/parsec-cli-tests/parsec-cli-tests.sh "$@" || status=$?
if [ $status -ne 0 ]; then
	echo "--- service log" >&2
	tail -n 40 "$D/parsec.log" >&2
	echo "--- emulator log" >&2
	tail -n 40 "$D/tsemu.log" >&2
fi
exit $status
