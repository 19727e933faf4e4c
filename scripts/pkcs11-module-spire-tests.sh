#!/usr/bin/env bash
# Usage: scripts/pkcs11-module-spire-tests.sh SPIRE_DIR
#
# The PKCS#11 module (tools/parsec-pkcs11-module) authenticating with
# JWT-SVIDs from a real SPIRE server and agent (SPIRE_DIR holds spire-server
# and spire-agent, built by scripts/spire-build.sh): the module's own h2c
# gRPC client on the Workload API socket. Our service (built with
# -tags parsec_jwtsvid) lists JwtSvid before UnixPeerCredentials. Checks,
# each workload a uid of its own (setpriv): keys are isolated by SPIFFE ID;
# SPIFFE_ENDPOINT_SOCKET lets discovery pick JwtSvid; the same uid without a
# JWT-SVID is another identity; two SPIFFE IDs of one uid
# (PARSEC_JWT_SVID_SUBJECT) are isolated; an unregistered workload gets a
# clear error. Needs root; run by scripts/spire-tests.sh. Exit 1 on failure.
set -uo pipefail
spire=${1:?usage: $0 SPIRE_DIR}
cd "$(dirname "$0")/.." || exit 1
. scripts/lib/go.sh
ensure_go || exit 1

rc=0
[ "$(id -u)" = 0 ] || { echo "skip: needs root (workloads run as uids 1101-1103)"; exit 0; }
command -v pkcs11-tool >/dev/null || { echo "skip: no pkcs11-tool (opensc)"; exit 0; }
d=$(mktemp -d /tmp/parsec-p11-spire.XXXXXX) && chmod 755 "$d" && mkdir -p "$d/server" "$d/agent" "$d/state" || exit 1
M=$d/libparsec-pkcs11.so
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf "$d"
}
trap cleanup EXIT
scripts/build-pkcs11-module.sh "$M" &&
	CGO_ENABLED=0 go build -tags parsec_jwtsvid -o "$d/parsec" ./service/cmd/parsec || exit 1
chmod -R a+rX "$d"
port=$((20000 + $$ % 20000))
ag=$d/agent/agent.sock
cat >"$d/server/server.conf" <<CONF
server {
  bind_address = "127.0.0.1"
  bind_port = "$port"
  socket_path = "$d/server/api.sock"
  trust_domain = "example.org"
  data_dir = "$d/server/data"
  log_level = "WARN"
}
plugins {
  DataStore "sql" { plugin_data { database_type = "sqlite3" connection_string = "$d/server/ds.sqlite3" } }
  KeyManager "memory" { plugin_data {} }
  NodeAttestor "join_token" { plugin_data {} }
}
CONF
"$spire/spire-server" run -config "$d/server/server.conf" >"$d/server.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 300); do
	"$spire/spire-server" healthcheck -socketPath "$d/server/api.sock" >/dev/null 2>&1 && break
	sleep 0.1
done
tok=$("$spire/spire-server" token generate -socketPath "$d/server/api.sock" -spiffeID spiffe://example.org/host | sed 's/^Token: *//')
for e in parsec:0 p11a:1101 p11b:1102 p11c1:1103 p11c2:1103; do
	"$spire/spire-server" entry create -socketPath "$d/server/api.sock" -parentID spiffe://example.org/host \
		-spiffeID "spiffe://example.org/${e%%:*}" -selector "unix:uid:${e#*:}" >/dev/null || rc=1
done
cat >"$d/agent/agent.conf" <<CONF
agent {
  data_dir = "$d/agent/data"
  log_level = "WARN"
  server_address = "127.0.0.1"
  server_port = "$port"
  socket_path = "$ag"
  trust_domain = "example.org"
  insecure_bootstrap = true
}
plugins {
  NodeAttestor "join_token" { plugin_data {} }
  KeyManager "memory" { plugin_data {} }
  WorkloadAttestor "unix" { plugin_data {} }
}
CONF
"$spire/spire-agent" run -config "$d/agent/agent.conf" -joinToken "$tok" >"$d/agent.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 300); do
	"$spire/spire-agent" healthcheck -socketPath "$ag" >/dev/null 2>&1 && break
	sleep 0.1
done
cat >"$d/config.toml" <<CONF
[core_settings]
allow_root = true
log_level = "warn"
[listener]
listener_type = "DomainSocket"
timeout = 2000
socket_path = "$d/parsec.sock"
[[authenticator]]
auth_type = "JwtSvid"
workload_endpoint = "unix://$ag"
[[authenticator]]
auth_type = "UnixPeerCredentials"
[[key_manager]]
name = "on-disk-manager"
manager_type = "OnDisk"
store_path = "$d/state/mappings"
[[provider]]
provider_type = "MbedCrypto"
key_info_manager = "on-disk-manager"
store_path = "$d/state/keys"
CONF
"$d/parsec" -c "$d/config.toml" >"$d/parsec.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 300); do
	[ -S "$d/parsec.sock" ] && break
	sleep 0.1
done
ep=unix:$d/parsec.sock
# as UID [VAR=VALUE...] -- CMD...: a workload of that uid.
as() {
	local uid=$1
	shift
	setpriv --reuid="$uid" --regid="$uid" --clear-groups env -i PATH=/usr/bin:/bin PARSEC_SERVICE_ENDPOINT="$ep" "$@"
}
p11() { pkcs11-tool --module "$M" "$@"; }
p11step() { # NAME CMD...
	local name=$1
	shift
	if "$@" >"$d/step.log" 2>&1; then
		echo "ok   module: $name"
	else
		echo "FAIL module: $name"
		tail -n 8 "$d/step.log"
		rc=1
	fi
}
force=PARSEC_JWT_SVID_ENDPOINT=unix://$ag
export -f as p11
export ep M d
# The agent learns the registration entries on its next sync with the
# server (every few seconds): wait until the first workload has an identity.
for _ in $(seq 1 150); do
	as 1101 "$force" pkcs11-tool --module "$M" --list-objects >/dev/null 2>&1 && break
	sleep 0.2
done
# shellcheck disable=SC2016
p11step "JWT-SVID (PARSEC_JWT_SVID_ENDPOINT): p11a makes a key and signs with it" bash -c "
	as 1101 $force pkcs11-tool --module $M --keypairgen --key-type EC:prime256v1 --id 31 --label a-key &&
	printf msg >$d/msg && chmod 644 $d/msg &&
	as 1101 $force pkcs11-tool --module $M --sign --id 31 -m ECDSA-SHA256 -i $d/msg -o /dev/null"
p11step "another SPIFFE ID (p11b) does not see p11a's key" bash -c "
	out=\$(as 1102 $force pkcs11-tool --module $M --list-objects 2>&1) && echo \"\$out\" && ! grep -q a-key <<<\"\$out\""
p11step "SPIFFE_ENDPOINT_SOCKET: discovery picks JwtSvid (listed first), p11a sees its key" bash -c "
	as 1101 SPIFFE_ENDPOINT_SOCKET=unix://$ag pkcs11-tool --module $M --list-objects | grep -q a-key"
p11step "the same uid without a JWT-SVID (UnixPeerCredentials) does not see the SPIFFE ID's key" bash -c "
	out=\$(as 1101 pkcs11-tool --module $M --list-objects 2>&1) && echo \"\$out\" && ! grep -q a-key <<<\"\$out\""
p11step "one uid, two SPIFFE IDs (PARSEC_JWT_SVID_SUBJECT): c1's key is invisible to c2" bash -c "
	as 1103 $force PARSEC_JWT_SVID_SUBJECT=spiffe://example.org/p11c1 pkcs11-tool --module $M --keypairgen --key-type EC:prime256v1 --label c1-key &&
	as 1103 $force PARSEC_JWT_SVID_SUBJECT=spiffe://example.org/p11c1 pkcs11-tool --module $M --list-objects | grep -q c1-key &&
	out=\$(as 1103 $force PARSEC_JWT_SVID_SUBJECT=spiffe://example.org/p11c2 pkcs11-tool --module $M --list-objects 2>&1) &&
	echo \"\$out\" && ! grep -q c1-key <<<\"\$out\""
p11step "an unregistered workload gets a clear error (no JWT-SVID), not another identity" bash -c "
	out=\$(as 1199 $force pkcs11-tool --module $M --list-objects 2>&1); echo \"\$out\"; grep -q 'no JWT-SVID' <<<\"\$out\""
[ "$rc" = 0 ] || tail -n 5 "$d/parsec.log" "$d/agent.log"
exit "$rc"
