#!/usr/bin/env bash
# Usage: scripts/make-rust-fixtures.sh [OUT]
#
# Makes the takeover fixtures with the real Rust Parsec service 1.4.1 and
# parsec-tool 0.7.0 (Debian trixie, from the root of scripts/trixie-root.sh):
# one run per key info manager (SQLite, then OnDisk), each with an MbedCrypto
# and a TPM provider (a private swtpm), and two clients (uid 0 and uid 61003,
# the second run through setpriv). Each client creates, in each provider, an
# ECC P-256 signing key, an RSA-2048 signing key and an RSA-2048 encryption
# key; the script exports their public keys, signs a fixed message with every
# signing key (checked with openssl), encrypts a fixed message with every
# encryption key (checked by decrypting through the Rust service) and then
# stops the service and the TPM so their files are complete.
#
# OUT (default service/takeover/testdata/rust-1.4.1) receives, per manager
# (sqlite/, ondisk/): config.toml as used, the state the service wrote
# (kim/ or mappings/, *.psa_its from its working directory), the swtpm state
# (tpm/), pem/, sig/, enc/ and keys.tsv; corrupt/ holds damaged copies of the
# SQLite database for the readers' tests. The service ran in WORK
# (default /tmp/parsec-rust-fixtures/<manager>), which is the path inside
# config.toml. Nothing else is needed: run as root on a host with swtpm.
set -euo pipefail

here=$(cd "${0%/*}" && pwd -P)
# shellcheck source=lib/trixie.sh
. "$here/lib/trixie.sh"
repo=$(cd "$here/.." && pwd -P)
out=${1:-$repo/service/takeover/testdata/rust-1.4.1}
work_base=${FIXTURE_WORK:-/tmp/parsec-rust-fixtures}
msg='parsec-go takeover fixture message'
uids='0 61003'

die() { echo "make-rust-fixtures: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (the second client runs under setpriv as uid 61003)"

trixie_resolve
export OPENSSL_CONF="$TRIXIE_ROOT/etc/ssl/openssl.cnf" OPENSSL_MODULES="$TRIXIE_LIBDIR/ossl-modules"
tool() { trixie_tool_as "$1" "$work/parsec.sock" "${@:2}"; } # UID PROVIDER ARGS...

swtpm_dir=
svc_pid=
cleanup() {
	if [ -n "$svc_pid" ]; then kill -TERM "$svc_pid" 2>/dev/null || true; wait "$svc_pid" 2>/dev/null || true; fi
	if [ -n "$swtpm_dir" ]; then "$here/swtpm.sh" stop --dir "$swtpm_dir" || true; fi
}
trap cleanup EXIT

write_config() { # MANAGER TCTI
	{
		echo '# Made by parsec-go scripts/make-rust-fixtures.sh for the Rust service 1.4.1'
		echo '[core_settings]'
		echo 'allow_root = true'
		echo 'log_level = "info"'
		echo
		echo '[listener]'
		echo 'listener_type = "DomainSocket"'
		echo 'timeout = 200'
		echo "socket_path = \"$work/parsec.sock\""
		echo
		echo '[authenticator]'
		echo 'auth_type = "UnixPeerCredentials"'
		echo
		echo '[[key_manager]]'
		case $1 in
		sqlite)
			echo 'name = "sqlite-manager"'
			echo 'manager_type = "SQLite"'
			echo "sqlite_db_path = \"$work/kim/sqlite-key-info-manager.sqlite3\""
			;;
		ondisk)
			echo 'name = "on-disk-manager"'
			echo 'manager_type = "OnDisk"'
			echo "store_path = \"$work/mappings\""
			;;
		esac
		echo
		echo '[[provider]]'
		echo 'provider_type = "MbedCrypto"'
		echo "key_info_manager = \"$kim_name\""
		echo
		echo '[[provider]]'
		echo 'provider_type = "Tpm"'
		echo "key_info_manager = \"$kim_name\""
		echo "tcti = \"$2\""
		echo 'owner_hierarchy_auth = ""'
	} >"$work/config.toml"
}

start_service() {
	rm -f "$work/parsec.sock"
	(
		cd "$work"
		exec "$TRIXIE_LDSO" --library-path "$TRIXIE_LIBPATH" --argv0 parsec \
			"$TRIXIE_ROOT/usr/bin/parsec" -c "$work/config.toml"
	) </dev/null >>"$work/parsec.log" 2>&1 &
	svc_pid=$!
	for _ in $(seq 1 600); do
		kill -0 "$svc_pid" 2>/dev/null || { tail -n 20 "$work/parsec.log" >&2; die "the Rust service exited"; }
		if [ -S "$work/parsec.sock" ] && tool 0 1 ping >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.05
	done
	die "the Rust service did not answer a ping"
}

stop_service() {
	kill -TERM "$svc_pid"
	wait "$svc_pid" 2>/dev/null || true
	svc_pid=
	rm -f "$work/parsec.sock"
}

# make_keys: every client, every provider; keys.tsv lines:
# uid, provider id, kind (ecc, rsa-sign, rsa-enc), key name.
make_keys() {
	local u p pn name kind
	: >"$dst/keys.tsv"
	for u in $uids; do
		for p in 1 3; do
			case $p in 1) pn=mbed ;; 3) pn=tpm ;; esac
			for kind in ecc rsa-sign rsa-enc; do
				name="$pn-$kind-$u"
				case $kind in
				ecc) tool "$u" "$p" create-ecc-key -k "$name" >/dev/null ;;
				rsa-sign) tool "$u" "$p" create-rsa-key --for-signing -k "$name" >/dev/null ;;
				rsa-enc) tool "$u" "$p" create-rsa-key -k "$name" >/dev/null ;;
				esac
				printf '%s\t%s\t%s\t%s\n' "$u" "$p" "$kind" "$name" >>"$dst/keys.tsv"
			done
		done
	done
	# A name that needs URL-safe base64 and UTF-8 in the OnDisk layout, and a
	# deleted key, so that ids have a gap as on a real device.
	tool 61003 1 create-ecc-key -k 'a/b+c é' >/dev/null
	printf '61003\t1\tecc\ta/b+c é\n' >>"$dst/keys.tsv"
	tool 0 1 create-ecc-key -k mbed-deleted-0 >/dev/null
	tool 0 1 delete-key -k mbed-deleted-0 >/dev/null
}

# use_keys: public keys, signatures, ciphertexts, each checked once here.
use_keys() {
	local u p kind name f
	mkdir -p "$dst/pem" "$dst/sig" "$dst/enc"
	printf '%s' "$msg" >"$dst/message.txt"
	while IFS=$'\t' read -r u p kind name; do
		f=$(printf '%s' "$name" | tr -c 'A-Za-z0-9.-' '_')
		tool "$u" "$p" export-public-key -k "$name" >"$dst/pem/$f.pem"
		case $kind in
		ecc | rsa-sign)
			tool "$u" "$p" sign -k "$name" "$msg" | tr -d '\n' >"$dst/sig/$f.b64"
			base64 -d "$dst/sig/$f.b64" >"$work/sig.bin"
			trixie_run openssl dgst -sha256 -verify "$dst/pem/$f.pem" -signature "$work/sig.bin" \
				"$dst/message.txt" >/dev/null || die "signature of $name does not verify"
			;;
		rsa-enc)
			tool "$u" "$p" encrypt -k "$name" "$msg" | tr -d '\n' >"$dst/enc/$f.b64"
			[ "$(tool "$u" "$p" decrypt -k "$name" "$(cat "$dst/enc/$f.b64")")" = "$msg" ] ||
				die "decryption with $name failed"
			;;
		esac
	done <"$dst/keys.tsv"
}

one_run() { # MANAGER
	local m=$1 kim_name
	case $m in sqlite) kim_name=sqlite-manager ;; ondisk) kim_name=on-disk-manager ;; esac
	work=$work_base/$m
	dst=$out/$m
	rm -rf "$work" "$dst"
	mkdir -p "$work" "$dst"
	chmod 755 "$work_base" "$work"
	swtpm_dir=$work/swtpm
	local env
	env=$("$here/swtpm.sh" start --dir "$swtpm_dir")
	write_config "$m" "$(echo "$env" | sed -n 's/^SWTPM_TCTI=//p')"
	start_service
	make_keys
	use_keys
	stop_service
	"$here/swtpm.sh" stop --dir "$swtpm_dir"
	swtpm_dir=

	# The TCTI port is picked at random; the committed config names a fixed
	# one so the file does not change on every run (tests start their own
	# swtpm and rewrite it).
	sed 's/port=[0-9]*/port=2321/' "$work/config.toml" >"$dst/config.toml"
	cp -a "$work"/*.psa_its "$dst/"
	case $m in
	sqlite) cp -a "$work/kim" "$dst/kim" ;;
	ondisk) cp -a "$work/mappings" "$dst/mappings" ;;
	esac
	mkdir -p "$dst/tpm"
	cp -a "$work/swtpm/state/." "$dst/tpm/"
	rm -f "$dst/tpm/.lock"
	grep -q 'Parsec is ready' "$work/parsec.log" || die "no 'Parsec is ready' in $work/parsec.log"
}

corrupt_sqlite() {
	local src=$out/sqlite/kim/sqlite-key-info-manager.sqlite3 c=$out/corrupt
	rm -rf "$c"
	mkdir -p "$c"
	head -c 1000 "$src" >"$c/truncated.sqlite3"
	printf 'this is not a database, just text of the right size\n%.0s' $(seq 1 80) >"$c/garbage.sqlite3"
	sq() { cp "$src" "$c/$1.sqlite3"; trixie_run sqlite3 "$c/$1.sqlite3" "$2"; }
	sq schema-v2 "UPDATE kim_metadata SET int_value = 2 WHERE id = 'schema_version';"
	sq keyid-v2 "UPDATE key_mapping SET key_id_version = 2 WHERE key_name = 'mbed-ecc-0';"
	sq attrs-v2 "UPDATE key_mapping SET key_attributes_version = 2 WHERE key_name = 'mbed-ecc-0';"
	sq one-table "DROP TABLE kim_metadata;"
	sq no-tables "DROP TABLE kim_metadata; DROP TABLE key_mapping;"
	# Per-key damage: the rest of the database must still be read.
	sq bad-rows "UPDATE key_mapping SET key_attributes = X'0100' WHERE key_name = 'mbed-ecc-0';
UPDATE key_mapping SET key_id = X'0200' WHERE key_name = 'mbed-rsa-sign-0';
UPDATE key_mapping SET provider_uuid = '00000000-0000-0000-0000-000000000000' WHERE key_name = 'mbed-rsa-enc-0';
UPDATE key_mapping SET key_id = substr(key_id, 1, 100) WHERE key_name = 'tpm-ecc-0';"
	for f in "$c"/*.sqlite3; do chmod 644 "$f"; done
}

mkdir -p "$out"
one_run sqlite
one_run ondisk
corrupt_sqlite
for m in sqlite ondisk; do
	chmod -R u+rwX,go+rX "$out/$m"
done
echo "make-rust-fixtures: fixtures in $out ($(du -sh "$out" | cut -f1))" >&2
