#!/usr/bin/env bash
# Usage: scripts/takeover-tests.sh [--quick] [--managers "sqlite ondisk"]
#                                  [--providers "1 3"] [--kill-loops N]
#
# Upgrade in place from Rust Parsec to parsec-go, with the real Rust service
# 1.4.1 and parsec-tool 0.7.0 (trixie root, scripts/rust-parsec.sh), a
# private swtpm and two clients (uid 0, and uid 61003 through setpriv). Per
# key info manager (SQLite, then OnDisk), with the MbedCrypto (1) and TPM
# (3) providers:
#   1. the Rust service runs in a working directory W with config.toml;
#      each client creates ECC P-256 and RSA-2048 signing keys and an
#      RSA-2048 encryption key in each provider, and exports the public keys;
#   2. our daemon starts on the same config.toml (byte for byte), in W, with
#      parsec-takeover beside it; every client lists exactly its keys (the
#      parsec-tool output equals the Rust service's), exports the same public
#      keys, signs (openssl verifies with the PEM exported from Rust) and
#      decrypts (data encrypted by openssl to the Rust PEM); new keys are
#      created, old ones deleted, a restart keeps all of it;
#   3. Rust's files are byte-identical to what the Rust service left;
#   4. rollback: the Rust service starts again on the same files and lists,
#      exports and signs with exactly its keys.
# Then, on fresh copies of the SQLite state, parsec-takeover is killed with
# SIGKILL at varied points (N rounds, default 12), each run again to completion:
# every key carried exactly once (mappings, one key file each, the marker).
#
# --quick: SQLite only, 8 kill rounds (the CI slice in scripts/test.sh).
# Our software provider's store_path is unset in Rust's config, so it is the
# default /var/lib/parsec/mbed-crypto: our programs run in a private mount
# namespace where a temporary directory is bind-mounted on /var/lib/parsec
# (the host's is never written). Needs root. Last line: "N passed, N failed".
set -euo pipefail

here=$(cd "${0%/*}" && pwd -P)
repo=$(cd "$here/.." && pwd -P)
# shellcheck source=lib/trixie.sh
. "$here/lib/trixie.sh"

managers="sqlite ondisk"
providers="1 3"
kill_loops=12
while [ $# -gt 0 ]; do
	case $1 in
	--quick) managers=sqlite kill_loops=8 ;;
	--managers) managers=$2; shift ;;
	--providers) providers=$2; shift ;;
	--kill-loops) kill_loops=$2; shift ;;
	*) echo "usage: $0 [--quick] [--managers M] [--providers P] [--kill-loops N]" >&2; exit 2 ;;
	esac
	shift
done
uids='0 61003'
msg='parsec-go takeover test message'

[ "$(id -u)" = 0 ] || { echo "takeover-tests: needs root (two client uids, a mount namespace)" >&2; exit 1; }
"$here/swtpm.sh" install
trixie_resolve
export OPENSSL_CONF="$TRIXIE_ROOT/etc/ssl/openssl.cnf" OPENSSL_MODULES="$TRIXIE_LIBDIR/ossl-modules"

base=$(mktemp -d /tmp/parsec-takeover-tests.XXXXXX)
chmod 755 "$base"
bin=$base/bin
T=$base/scratch # the checks' files, never in a service's directory
mkdir -p "$bin" "$T"
(cd "$repo" && CGO_ENABLED=0 go build -o "$bin/parsec" ./service/cmd/parsec &&
	CGO_ENABLED=0 go build -o "$bin/parsec-takeover" ./service/cmd/parsec-takeover)

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
check() { # DESCRIPTION CMD...
	local d=$1
	shift
	if "$@"; then ok "$d"; else bad "$d"; fi
}

tool() { trixie_tool_as "$1" "$W/parsec.sock" "${@:2}"; } # UID PROVIDER ARGS...

# in_ns CMD...: CMD with $VARLIB on /var/lib/parsec, in a private mount
# namespace (nothing of it is seen outside).
created_varlib=0
if [ ! -d /var/lib/parsec ]; then mkdir -p /var/lib/parsec; created_varlib=1; fi
in_ns() {
	unshare --mount --propagation private sh -c 'mount --bind "$0" /var/lib/parsec && exec "$@"' "$VARLIB" "$@"
}

svc_pid=
swtpm_dir=
cleanup() {
	[ -z "$svc_pid" ] || { kill -TERM "$svc_pid" 2>/dev/null || true; wait "$svc_pid" 2>/dev/null || true; }
	[ -z "$swtpm_dir" ] || "$here/swtpm.sh" stop --dir "$swtpm_dir" >/dev/null 2>&1 || true
	[ "$created_varlib" = 0 ] || rmdir /var/lib/parsec 2>/dev/null || true
	rm -rf "$base"
}
trap cleanup EXIT

wait_ping() {
	for _ in $(seq 1 1200); do
		kill -0 "$svc_pid" 2>/dev/null || return 1
		if [ -S "$W/parsec.sock" ] && tool 0 1 ping >/dev/null 2>&1; then return 0; fi
		sleep 0.05
	done
	return 1
}
start_rust() {
	rm -f "$W/parsec.sock"
	(cd "$W" && exec "$TRIXIE_LDSO" --library-path "$TRIXIE_LIBPATH" --argv0 parsec \
		"$TRIXIE_ROOT/usr/bin/parsec" -c "$W/config.toml") </dev/null >>"$W/rust.log" 2>&1 &
	svc_pid=$!
	wait_ping || { tail -n 20 "$W/rust.log"; return 1; }
}
start_ours() {
	rm -f "$W/parsec.sock"
	(cd "$W" && exec unshare --mount --propagation private sh -c \
		'mount --bind "$0" /var/lib/parsec && exec "$@"' "$VARLIB" "$bin/parsec" -c "$W/config.toml") \
		</dev/null >>"$W/ours.log" 2>&1 &
	svc_pid=$!
	wait_ping || { tail -n 30 "$W/ours.log"; return 1; }
}
stop_svc() {
	kill -TERM "$svc_pid" 2>/dev/null || true
	wait "$svc_pid" 2>/dev/null || true
	svc_pid=
}

write_config() { # MANAGER TCTI
	{
		echo '[core_settings]'
		echo 'allow_root = true'
		echo
		echo '[listener]'
		echo 'listener_type = "DomainSocket"'
		echo 'timeout = 200'
		echo "socket_path = \"$W/parsec.sock\""
		echo
		echo '[authenticator]'
		echo 'auth_type = "UnixPeerCredentials"'
		echo
		echo '[[key_manager]]'
		echo "name = \"$kim_name\""
		case $1 in
		sqlite)
			echo 'manager_type = "SQLite"'
			echo "sqlite_db_path = \"$W/kim/sqlite-key-info-manager.sqlite3\""
			;;
		ondisk)
			echo 'manager_type = "OnDisk"'
			echo "store_path = \"$W/mappings\""
			;;
		esac
		for p in $providers; do
			echo
			echo '[[provider]]'
			case $p in
			1) echo 'provider_type = "MbedCrypto"' ;;
			3)
				echo 'provider_type = "Tpm"'
				echo "tcti = \"$2\""
				echo 'owner_hierarchy_auth = ""'
				;;
			esac
			echo "key_info_manager = \"$kim_name\""
		done
	} >"$W/config.toml"
}

keyname() { echo "k-$1-$2-$3"; } # provider kind uid
each_key() { # FUNCTION: called with uid provider kind name
	local u p k
	for u in $uids; do for p in $providers; do for k in ecc rsa-sign rsa-enc; do
		"$1" "$u" "$p" "$k" "$(keyname "$p" "$k" "$u")"
	done; done; done
}

create_key() {
	case $3 in
	ecc) tool "$1" "$2" create-ecc-key -k "$4" >/dev/null ;;
	rsa-sign) tool "$1" "$2" create-rsa-key --for-signing -k "$4" >/dev/null ;;
	rsa-enc) tool "$1" "$2" create-rsa-key -k "$4" >/dev/null ;;
	esac
	tool "$1" "$2" export-public-key -k "$4" >"$E/$4.pem"
}

# rust_files: hashes of everything the Rust service wrote (not ours).
rust_files() {
	(cd "$W" && find . -type f ! -path './varlib/*' ! -path './swtpm/*' ! -path './kim/parsec-go/*' \
		! -name 'kim-v2.*' ! -name '.rust-takeover*' ! -name '.kim*' ! -name '*.log' ! -name parsec.sock \
		! -name config.toml -print0 | sort -z | xargs -0 sha256sum)
}

list_sorted() { tool "$1" 1 list-keys 2>&1 | sort; }

use_key() { # uid provider kind name: through whichever service runs
	local u=$1 p=$2 k=$3 n=$4 out
	out=$(tool "$u" "$p" export-public-key -k "$n" 2>&1) || { echo "export $n: $out"; return 1; }
	[ "$out" = "$(cat "$E/$n.pem")" ] || { echo "export $n: differs from Rust's PEM"; return 1; }
	case $k in
	ecc | rsa-sign)
		tool "$u" "$p" sign -k "$n" "$msg" | tr -d '\n' | base64 -d >"$T/sig.bin" || return 1
		printf '%s' "$msg" >"$T/msg.txt"
		trixie_run openssl dgst -sha256 -verify "$E/$n.pem" -signature "$T/sig.bin" "$T/msg.txt" >/dev/null ||
			{ echo "signature with $n does not verify under Rust's PEM"; return 1; }
		;;
	rsa-enc)
		printf '%s' "$msg" | trixie_run openssl pkeyutl -encrypt -pubin -inkey "$E/$n.pem" \
			-pkeyopt rsa_padding_mode:pkcs1 | base64 -w0 >"$T/ct.b64"
		[ "$(tool "$u" "$p" decrypt -k "$n" "$(cat "$T/ct.b64")")" = "$msg" ] ||
			{ echo "decryption with $n failed"; return 1; }
		;;
	esac
}

scenario() { # MANAGER
	local m=$1 u p k out
	kim_name=$m-manager
	W=$base/$m
	E=$base/$m-expected
	VARLIB=$base/$m-varlib
	mkdir -p "$W" "$E" "$VARLIB"
	chmod 755 "$W"
	chmod 700 "$VARLIB"
	echo "--- $m: Rust service creates keys (providers: $providers)"
	swtpm_dir=$W/swtpm
	local tcti
	tcti=$("$here/swtpm.sh" start --dir "$swtpm_dir" | sed -n 's/^SWTPM_TCTI=//p')
	write_config "$m" "$tcti"
	cp "$W/config.toml" "$E/config.toml"
	start_rust
	each_key create_key
	for u in $uids; do list_sorted "$u" >"$E/list-$u.txt"; done
	stop_svc
	rust_files >"$E/rust-files.sha256"
	cp -a "$W" "$base/$m-rust-state" # for the kill loop
	rm -rf "$base/$m-rust-state/swtpm"

	echo "--- $m: our service takes over"
	check "$m: our daemon starts on Rust's config in Rust's working directory" start_ours
	check "$m: same config.toml byte for byte" cmp -s "$W/config.toml" "$E/config.toml"
	check "$m: the daemon ran parsec-takeover" grep -q "Rust Parsec state carried over" "$W/ours.log"
	for u in $uids; do
		out=$(list_sorted "$u")
		if [ "$out" = "$(cat "$E/list-$u.txt")" ]; then ok "$m: uid $u lists exactly its keys, same attributes"; else
			bad "$m: uid $u list-keys differs"
			diff <(echo "$out") "$E/list-$u.txt" || true
		fi
	done
	each_key use_key_check
	echo "--- $m: new keys, deletions, restart"
	for u in $uids; do for p in $providers; do
		check "$m: uid $u provider $p creates a new key" tool "$u" "$p" create-ecc-key -k "new-$p-$u"
		check "$m: uid $u provider $p deletes an old key" tool "$u" "$p" delete-key -k "$(keyname "$p" rsa-sign "$u")"
	done; done
	stop_svc
	check "$m: our daemon restarts" start_ours
	check "$m: no second takeover at restart" test "$(grep -c 'carrying Rust Parsec state over' "$W/ours.log")" = 1
	for u in $uids; do
		out=$(tool "$u" 1 list-keys 2>&1)
		for p in $providers; do
			check "$m: uid $u after restart: new key kept" grep -q "new-$p-$u" <<<"$out"
			if grep -q "$(keyname "$p" rsa-sign "$u")" <<<"$out"; then bad "$m: uid $u deleted key came back"; else ok "$m: uid $u deleted key stays deleted"; fi
			check "$m: uid $u provider $p old ECC key still signs" use_key "$u" "$p" ecc "$(keyname "$p" ecc "$u")"
		done
	done
	check "$m: parsec-takeover --report lists the carried keys" \
		sh -c "cd '$W' && '$bin/parsec-takeover' -c config.toml --report | grep -q 'carried'"
	stop_svc
	check "$m: Rust's files are byte-identical" cmp -s <(rust_files) "$E/rust-files.sha256"

	echo "--- $m: rollback to the Rust service"
	check "$m: the Rust service starts again on the same files" start_rust
	for u in $uids; do
		out=$(list_sorted "$u")
		if [ "$out" = "$(cat "$E/list-$u.txt")" ]; then ok "$m: rollback: uid $u has exactly its keys"; else
			bad "$m: rollback: uid $u list differs"
			diff <(echo "$out") "$E/list-$u.txt" || true
		fi
	done
	each_key use_key_check_rollback
	stop_svc
	"$here/swtpm.sh" stop --dir "$swtpm_dir" >/dev/null
	swtpm_dir=
}
use_key_check() { check "$m: uid $1 provider $2 $3: export, $( [ "$3" = rsa-enc ] && echo decrypt || echo sign)" use_key "$@"; }
use_key_check_rollback() { check "$m: rollback: uid $1 provider $2 $3 works under Rust" use_key "$@"; }

# kill_loop: each round takes a fresh copy of the Rust state, SIGKILLs
# parsec-takeover at some point of its run (after its first write plus a
# few ms more each round, so the kills land between material, mappings and
# marker), then runs it again to completion, as the next start would: every
# key must be carried exactly once, with one material file each, and the
# marker written. Where a kill lands decides nothing in the checks.
kill_loop() {
	local m=sqlite i delay pid json n_ok=0 interrupted=0 want nu np internal=0 mbed_keys
	nu=$(echo $uids | wc -w)
	np=$(echo $providers | wc -w)
	case " $providers " in *" 3 "*) internal=1 ;; esac # RootKeyTPM
	want=$((nu * np * 3 + internal))
	mbed_keys=$((nu * 3))
	case " $providers " in *" 1 "*) ;; *) mbed_keys=0 ;; esac
	echo "--- kill -9 during the takeover ($kill_loops rounds, $m; $want mappings, $mbed_keys key files)"
	for i in $(seq 1 "$kill_loops"); do
		W=$base/kill-$i
		VARLIB=$base/kill-$i-varlib
		rm -rf "$W" "$VARLIB"
		cp -a "$base/$m-rust-state" "$W"
		sed -i "s|$base/$m/|$W/|g" "$W/config.toml"
		mkdir -m 700 "$VARLIB"
		(cd "$W" && exec unshare --mount --propagation private sh -c \
			'mount --bind "$0" /var/lib/parsec && exec "$@"' "$VARLIB" "$bin/parsec-takeover" -c config.toml) \
			>/dev/null 2>&1 &
		pid=$!
		while kill -0 "$pid" 2>/dev/null && [ ! -d "$VARLIB/mbed-crypto" ]; do sleep 0.002; done
		delay=$(awk -v i="$i" 'BEGIN { printf "%.3f", (i - 1) * 0.0015 }')
		sleep "$delay"
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		[ -f "$W/kim/parsec-go/.rust-takeover" ] || interrupted=$((interrupted + 1))
		json=$( (cd "$W" && in_ns "$bin/parsec-takeover" -c config.toml --json) 2>"$W/final.log") || true
		local carried present failed files
		carried=$(grep -c '"status": "carried"' <<<"$json" || true)
		present=$(grep -c '"status": "present"' <<<"$json" || true)
		failed=$(grep -c '"status": "not carried"' <<<"$json" || true)
		files=$(find "$VARLIB/mbed-crypto" -name '*.key' 2>/dev/null | wc -l)
		if [ "$((carried + present))" = "$want" ] && [ "$failed" = 0 ] && [ "$files" = "$mbed_keys" ] &&
			[ -f "$W/kim/parsec-go/.rust-takeover" ]; then
			n_ok=$((n_ok + 1))
		else
			echo "round $i: $carried carried + $present present (want $want), $failed failed, $files key files (want $mbed_keys)"
		fi
		rm -rf "$W" "$VARLIB"
	done
	echo "$interrupted of $kill_loops rounds were killed before the takeover finished"
	check "kill loop: after every round, each key carried exactly once, marker written ($n_ok of $kill_loops rounds)" \
		test "$n_ok" = "$kill_loops"
}

for m in $managers; do scenario "$m"; done
case " $managers " in *" sqlite "*) kill_loop ;; esac
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
