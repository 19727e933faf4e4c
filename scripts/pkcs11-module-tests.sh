#!/usr/bin/env bash
# Usage: scripts/pkcs11-module-tests.sh [--quick] [--bench [SECONDS]] [--keep]
#
# Tests libparsec-pkcs11.so (tools/parsec-pkcs11-module) with real PKCS#11
# applications against our real service (software provider, in a temp dir):
# pkcs11-tool (opensc), p11tool (gnutls-bin), OpenSSL through the libp11
# engine (a CSR, then a TLS handshake with openssl s_server/s_client),
# isolation between two uids, keys shared with parsec-tool both ways, and
# fork (inherited handles, C_Initialize in the child, forks while threads
# sign), threads and error codes through the C ABI (testdata/p11check.c),
# the module's unit tests (make check, and under ASan/UBSan), the same C ABI
# checks on armhf and arm64 under qemu-user (cross-built); and,
# without --quick, the Rust Parsec 1.4.1 service with the Rust parsec-tool.
#
#   --quick        the CI slice: skips RSA 4096, TLS 1.2 and the Rust service
#   --bench [S]    also compares ECDSA P-256 C_Sign/s through the module with
#                  the Go client library's SignHash, same service, same run
#                  (9 alternating rounds of S seconds each, default 1; medians)
#   --keep         keep the temp dir (prints its path)
#
# Installs what it needs when root on Debian (opensc gnutls-bin
# libengine-pkcs11-openssl openssl gcc libp11-kit-dev). Ends with
# "N passed, N failed"; exits 1 if any check failed.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/lib/apt.sh"
. "$root/scripts/lib/go.sh"
ensure_go || exit 1

quick=0
bench=0
bench_s=1
keep=0
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=1 ;;
	--bench)
		bench=1
		if [[ ${2:-} =~ ^[0-9]+$ ]]; then
			bench_s=$2
			shift
		fi
		;;
	--keep) keep=1 ;;
	-h | --help)
		sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "unknown option $1" >&2
		exit 2
		;;
	esac
	shift
done

need=()
command -v pkcs11-tool >/dev/null || need+=(opensc)
command -v p11tool >/dev/null || need+=(gnutls-bin)
command -v openssl >/dev/null || need+=(openssl)
ls /usr/lib/*/engines-3/pkcs11.so >/dev/null 2>&1 || need+=(libengine-pkcs11-openssl)
if [ ${#need[@]} -gt 0 ]; then
	[ "$(id -u)" = 0 ] || { echo "install: ${need[*]}" >&2; exit 1; }
	apt_get update -qq && apt_get install -y -qq "${need[@]}" >/dev/null
fi

work=$(mktemp -d /tmp/parsec-p11-tests.XXXXXX)
chmod 755 "$work"
svc_pids=()
cleanup() {
	local e pid
	for e in "${svc_pids[@]}"; do
		pid=${e%%:*}
		# Only our daemon on this config: the pid may have been reused.
		if tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF "${e#*:}/config.toml"; then
			kill -TERM "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
		fi
	done
	[ ! -d "$work/swtpm" ] || "$root/scripts/swtpm.sh" stop --dir "$work/swtpm" >/dev/null 2>&1
	[ ! -d "$work/rust" ] || "$root/scripts/rust-parsec.sh" stop --dir "$work/rust" >/dev/null 2>&1
	if [ "$keep" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

bin=$work/bin
mkdir -p "$bin"
echo "building the module, the service, parsec-tool and p11check"
M=$bin/libparsec-pkcs11.so
"$root/scripts/build-pkcs11-module.sh" "$M" || exit 1
(cd "$root" && CGO_ENABLED=0 go build -o "$bin/parsec" ./service/cmd/parsec &&
	CGO_ENABLED=0 go build -o "$bin/parsec-tool" ./tools/parsec-tool) || exit 1
# module_sources DIR: the module's sources and test sources (no build
# output of a developer's tree) copied into DIR, where make may write.
module_sources() {
	local m=$root/tools/parsec-pkcs11-module
	mkdir -p "$1/test" && cp -r "$m/Makefile" "$m/src" "$1/" && cp "$m/test/"*.c "$1/test/"
}
# The module's unit and robustness tests (make check, then again under
# AddressSanitizer and UBSan) in a copy, so the tree stays clean.
module_sources "$work/modsrc" && make -s -C "$work/modsrc" check check-asan || exit 1
cc -O2 -Wall -o "$bin/p11check" "$root/tools/parsec-pkcs11-module/testdata/p11check.c" -ldl -lpthread || exit 1
chmod -R a+rX "$bin"

# start_service DIR [TPM_TCTI]: our service with state in DIR, the software
# provider, and first a TPM provider on TPM_TCTI when given. Sets svc_pid
# (the last one started) and prints nothing; exits on failure.
svc_pids=()
start_service() {
	local d=$1 tcti=${2:-}
	mkdir -p "$d"
	{
		cat <<CONF
[core_settings]
allow_root = true
log_level = "warn"
[listener]
listener_type = "DomainSocket"
timeout = 200
socket_path = "$d/parsec.sock"
socket_mode = 0o666
[authenticator]
auth_type = "UnixPeerCredentials"
[[key_manager]]
name = "on-disk-manager"
manager_type = "OnDisk"
store_path = "$d/mappings"
CONF
		if [ -n "$tcti" ]; then
			printf '[[provider]]\nprovider_type = "Tpm"\nkey_info_manager = "on-disk-manager"\ntcti = "%s"\nowner_hierarchy_auth = ""\n' "$tcti"
		fi
		printf '[[provider]]\nprovider_type = "MbedCrypto"\nkey_info_manager = "on-disk-manager"\nstore_path = "%s/keys"\n' "$d"
	} >"$d/config.toml"
	(cd "$d" && exec "$bin/parsec" -c "$d/config.toml") </dev/null >"$d/parsec.log" 2>&1 &
	svc_pid=$!
	svc_pids+=("$svc_pid:$d")
	for _ in $(seq 1 500); do
		PARSEC_SERVICE_ENDPOINT=unix:$d/parsec.sock "$bin/parsec-tool" ping >/dev/null 2>&1 && return 0
		kill -0 "$svc_pid" 2>/dev/null || break
		sleep 0.02
	done
	cat "$d/parsec.log"
	exit 1
}
start_service "$work/svc"
export PARSEC_SERVICE_ENDPOINT=unix:$work/svc/parsec.sock

passed=0
failed=0
n=0
# check NAME CMD...: runs CMD with its output in a log; shows the log's end
# on failure.
check() {
	local name=$1
	shift
	n=$((n + 1))
	if (cd "$work" && "$@") >"$work/log.$n" 2>&1; then
		passed=$((passed + 1))
		echo "ok   $name"
	else
		failed=$((failed + 1))
		echo "FAIL $name"
		tail -n 15 "$work/log.$n" | sed 's/^/     /'
	fi
}

p11() { pkcs11-tool --module "$M" "$@"; }
# out_has PATTERN CMD...: CMD succeeds and prints PATTERN (extended regexp).
out_has() {
	local pat=$1 out
	shift
	out=$("$@" 2>&1)
	local rc=$?
	printf '%s\n' "$out"
	[ $rc = 0 ] && grep -qE -- "$pat" <<<"$out"
}
tok="pkcs11:token=mbed-crypto-provider"
printf 'the message to sign\n' >"$work/msg"

# ---- pkcs11-tool -------------------------------------------------------------
check "pkcs11-tool --list-slots: one token per provider, labelled by name" \
	out_has "token label +: mbed-crypto-provider" p11 --list-slots
check "keypairgen EC P-256 (--id 01 --label ec256)" \
	out_has "EC_PARAMS: +06082a8648ce3d030107" p11 --keypairgen --key-type EC:prime256v1 --id 01 --label ec256
check "keypairgen EC P-384" out_has "ID: +02" p11 --keypairgen --key-type EC:secp384r1 --id 02 --label ec384
check "keypairgen EC P-521" out_has "label: +ec521" p11 --keypairgen --key-type EC:secp521r1 --id 03 --label ec521
check "keypairgen RSA 2048" out_has "label: +rsa2048" p11 --keypairgen --key-type rsa:2048 --id 10 --label rsa2048
# Before the PSS and decryption keys: pkcs11-tool 0.23 --test signs with
# RSA-PKCS on every RSA key, whatever CKA_ALLOWED_MECHANISMS says.
check "pkcs11-tool --test: No errors" out_has "^No errors" p11 --test
if [ "$quick" = 0 ]; then
	check "keypairgen RSA 4096" out_has "label: +rsa4096" p11 --keypairgen --key-type rsa:4096 --id 11 --label rsa4096
fi
check "keypairgen RSA 2048 for PSS" out_has "Allowed mechanisms: RSA-PKCS-PSS" \
	p11 --keypairgen --key-type rsa:2048 --id 12 --label rsapss --allowed-mechanisms RSA-PKCS-PSS,SHA256-RSA-PKCS-PSS
check "keypairgen RSA 2048 for decryption" out_has "Usage: +decrypt" \
	p11 --keypairgen --key-type rsa:2048 --id 13 --label rsadec --usage-decrypt
check "the key name carries the given CKA_ID" out_has '^\* ec256#id=01 ' "$bin/parsec-tool" list-keys

# pkcs11-tool 0.23 picks the key of --sign, --verify and --decrypt by --id
# only (--label is ignored there): id_of finds a key's id by its label.
id_of() {
	p11 --list-objects --type privkey 2>/dev/null | awk -v l="$1" '$1 == "label:" {found = ($2 == l)} found && $1 == "ID:" {print $2; exit}'
}
sign_verify() { # --id ID MECH [extra]
	local sel=("$1" "$2") mech=$3
	shift 3
	p11 --sign "${sel[@]}" -m "$mech" -i msg -o "sig.$mech" "$@" &&
		p11 --verify "${sel[@]}" -m "$mech" -i msg --signature-file "sig.$mech" "$@" | grep -q "Signature is valid"
}
check "sign+verify ECDSA-SHA256 by --id" sign_verify --id 01 ECDSA-SHA256
check "sign+verify ECDSA-SHA384 P-384" sign_verify --id 02 ECDSA-SHA384
check "sign+verify ECDSA-SHA512 P-521" sign_verify --id 03 ECDSA-SHA512
check "sign+verify ECDSA (digest given)" bash -c "openssl dgst -sha256 -binary msg >msg.sha256 &&
	pkcs11-tool --module '$M' --sign --id 01 -m ECDSA -i msg.sha256 -o sig.raw &&
	pkcs11-tool --module '$M' --verify --id 01 -m ECDSA -i msg.sha256 --signature-file sig.raw | grep -q 'Signature is valid'"
check "sign+verify SHA256-RSA-PKCS" sign_verify --id 10 SHA256-RSA-PKCS
check "sign+verify SHA384-RSA-PKCS" sign_verify --id 10 SHA384-RSA-PKCS
check "sign+verify SHA256-RSA-PKCS-PSS" sign_verify --id 12 SHA256-RSA-PKCS-PSS
check "sign+verify RSA-PKCS-PSS (digest given)" bash -c "openssl dgst -sha256 -binary msg >msg.sha256 &&
	pkcs11-tool --module '$M' --sign --id 12 -m RSA-PKCS-PSS --hash-algorithm SHA256 --mgf MGF1-SHA256 -i msg.sha256 -o sig.pss &&
	pkcs11-tool --module '$M' --verify --id 12 -m RSA-PKCS-PSS --hash-algorithm SHA256 --mgf MGF1-SHA256 -i msg.sha256 --signature-file sig.pss | grep -q 'Signature is valid'"
check "a wrong signature does not verify" bash -c "cp sig.ECDSA-SHA256 bad && printf '\\x01' | dd of=bad bs=1 seek=5 conv=notrunc 2>/dev/null &&
	pkcs11-tool --module '$M' --verify --id 01 -m ECDSA-SHA256 -i msg --signature-file bad 2>&1 | grep -q 'Invalid signature'"
check "openssl verifies an ECDSA signature of the module (public key read through the module)" bash -c "
	pkcs11-tool --module '$M' --read-object --type pubkey --id 01 -o pub01.der &&
	openssl pkey -pubin -inform DER -in pub01.der -out pub01.pem &&
	pkcs11-tool --module '$M' --sign --id 01 -m ECDSA-SHA256 --signature-format openssl -i msg -o sig.der &&
	openssl dgst -sha256 -verify pub01.pem -signature sig.der msg"
check "openssl verifies an RSA-PSS signature of the module" bash -c "
	pkcs11-tool --module '$M' --read-object --type pubkey --label rsapss -o pss.der &&
	openssl pkey -pubin -inform DER -in pss.der -out pss.pem &&
	openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 -verify pss.pem -signature sig.SHA256-RSA-PKCS-PSS msg"
check "decrypt RSA PKCS#1 v1.5 (encrypted by openssl)" bash -c "
	pkcs11-tool --module '$M' --read-object --type pubkey --label rsadec -o dec.der &&
	openssl pkey -pubin -inform DER -in dec.der -out dec.pem &&
	openssl pkeyutl -encrypt -pubin -inkey dec.pem -in msg -out ct &&
	pkcs11-tool --module '$M' --decrypt --id 13 -m RSA-PKCS -i ct -o pt && cmp pt msg"
check "keypairgen RSA 2048 for OAEP, decrypt RSA-PKCS-OAEP SHA-256" bash -c "
	pkcs11-tool --module '$M' --keypairgen --key-type rsa:2048 --id 14 --label rsaoaep --usage-decrypt --allowed-mechanisms RSA-PKCS-OAEP &&
	pkcs11-tool --module '$M' --read-object --type pubkey --label rsaoaep -o oaep.der &&
	openssl pkey -pubin -inform DER -in oaep.der -out oaep.pem &&
	openssl pkeyutl -encrypt -pubin -inkey oaep.pem -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 -in msg -out ct.oaep &&
	pkcs11-tool --module '$M' --decrypt --id 14 -m RSA-PKCS-OAEP --hash-algorithm SHA256 --mgf MGF1-SHA256 -i ct.oaep -o pt.oaep && cmp pt.oaep msg"
check "private keys are sensitive, public attributes readable" bash -c "
	pkcs11-tool --module '$M' --list-objects --type privkey --id 01 | grep -q 'sensitive, always sensitive, never extractable' &&
	pkcs11-tool --module '$M' --list-objects --type pubkey --id 10 | grep -q 'RSA 2048 bits'"
check "C_GenerateRandom" bash -c "pkcs11-tool --module '$M' --generate-random 64 -o rnd && [ \$(stat -c %s rnd) = 64 ]"
check "CKA_ID stable across module loads" bash -c "
	a=\$(pkcs11-tool --module '$M' --list-objects --type privkey | grep ID:); b=\$(pkcs11-tool --module '$M' --list-objects --type privkey | grep ID:);
	[ -n \"\$a\" ] && [ \"\$a\" = \"\$b\" ]"

# ---- p11tool (GnuTLS / p11-kit URIs) ---------------------------------------
check "p11tool --list-tokens" out_has "Label: mbed-crypto-provider" p11tool --provider "$M" --list-tokens
check "p11tool --list-all shows the keys with RFC 7512 URIs" \
	out_has "object=ec384;type=private" p11tool --provider "$M" --list-all "$tok"
check "p11tool --test-sign (P-256 by URI)" out_has "Verifying against public key in the token... ok" \
	p11tool --provider "$M" --test-sign "$tok;object=ec256;type=private"
check "p11tool --test-sign (RSA by URI with id)" out_has "Verifying against public key in the token... ok" \
	p11tool --provider "$M" --test-sign "$tok;object=rsa2048;type=private"

# ---- OpenSSL through the libp11 engine ---------------------------------------
export PKCS11_MODULE_PATH=$M
key="$tok;object=ec256;type=private"
check "openssl: CSR signed through the module, verified by openssl" bash -c "
	openssl req -new -engine pkcs11 -keyform engine -key '$key' -subj /CN=localhost -out req.csr &&
	openssl req -in req.csr -verify -noout &&
	openssl req -in req.csr -noout -pubkey | openssl pkey -pubin -outform DER | cmp - pub01.der"
check "openssl: CA issues the certificate" bash -c "
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -subj /CN=parsec-test-ca -days 1 -out ca.pem &&
	printf 'subjectAltName=DNS:localhost\n' >ext && openssl x509 -req -in req.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile ext -out srv.pem"
tls() {
	local port=$((20000 + RANDOM % 20000)) i
	rm -f s_server.log
	(timeout 30 openssl s_server -engine pkcs11 -keyform engine -key "$key" -cert srv.pem \
		-accept "127.0.0.1:$port" -naccept 1 -www "$@" </dev/null >s_server.log 2>&1 &)
	for i in $(seq 1 200); do
		grep -q ACCEPT s_server.log 2>/dev/null && break
		sleep 0.05
	done
	timeout 20 openssl s_client -connect "127.0.0.1:$port" -CAfile ca.pem -verify_return_error \
		-verify_hostname localhost "$@" </dev/null >s_client.log 2>&1
	cat s_server.log s_client.log
	grep -q "Verify return code: 0 (ok)" s_client.log && grep -qE "^(New|Reused), TLSv1" s_client.log
}
check "TLS 1.3: s_server with the key through the module, s_client verifies" tls -tls1_3
if [ "$quick" = 0 ]; then
	check "TLS 1.2: same" tls -tls1_2
fi

# ---- nginx: a pre-forking server (not in --quick) ----------------------------
# The master loads the key through the libp11 engine and the module; the
# worker processes (children of fork()) sign every handshake. nginx comes
# from Debian's archive, unpacked into a cache (no service is started).
nginx_bin() {
	local cache=${XDG_CACHE_HOME:-$HOME/.cache}/parsec-go/nginx
	if command -v nginx >/dev/null; then
		command -v nginx
		return 0
	fi
	if [ ! -x "$cache/usr/sbin/nginx" ]; then
		[ "$(id -u)" = 0 ] || return 1
		mkdir -p "$cache/dl" && (cd "$cache/dl" && apt_get download nginx >/dev/null) &&
			dpkg-deb -x "$cache"/dl/nginx_*.deb "$cache" || return 1
	fi
	echo "$cache/usr/sbin/nginx"
}
nginx_check() {
	local ng=$1 d=$work/nginx port=$((20000 + RANDOM % 20000)) i pids="" p master
	mkdir -p "$d"
	cat >"$d/nginx.conf" <<NGINX
user root;
worker_processes 2;
daemon off;
pid $d/nginx.pid;
error_log $d/error.log notice;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $d/tmp; proxy_temp_path $d/tmp; fastcgi_temp_path $d/tmp;
	uwsgi_temp_path $d/tmp; scgi_temp_path $d/tmp;
	ssl_session_cache off;
	ssl_session_tickets off;
	server {
		listen 127.0.0.1:$port ssl reuseport;
		server_name localhost;
		ssl_certificate $work/srv.pem;
		ssl_certificate_key "engine:pkcs11:$key";
		location / { return 200 "worker \$pid\n"; }
	}
}
NGINX
	# The libp11 engine, initialised from OpenSSL's configuration (nginx
	# loads it): ENGINE_load_private_key needs an initialised engine.
	cat >"$d/openssl.cnf" <<CNF
openssl_conf = openssl_init
[openssl_init]
engines = engine_section
[engine_section]
pkcs11 = pkcs11_section
[pkcs11_section]
engine_id = pkcs11
dynamic_path = $(ls /usr/lib/*/engines-3/pkcs11.so | head -n 1)
MODULE_PATH = $M
init = 1
CNF
	OPENSSL_CONF=$d/openssl.cnf "$ng" -e "$d/error.log" -p "$d" -c "$d/nginx.conf" &
	master=$!
	for i in $(seq 1 100); do
		[ "$(pgrep -P "$master" | wc -l)" -ge 2 ] && curl -s -o /dev/null -k "https://127.0.0.1:$port/" && break
		sleep 0.1
	done
	echo "master $master, workers $(pgrep -P "$master" | tr '\n' ' ')"
	local ok=1
	for i in $(seq 1 12); do
		if ! p=$(curl -sS --max-time 20 --cacert ca.pem --resolve "localhost:$port:127.0.0.1" "https://localhost:$port/"); then
			ok=0
			break
		fi
		pids="$pids ${p#worker }"
	done
	kill -TERM "$master" 2>/dev/null
	wait "$master" 2>/dev/null
	cat "$d/error.log"
	echo "handshakes served by workers:$pids"
	# Every handshake succeeded, in a worker (never the master).
	[ "$ok" = 1 ] && [ "$(wc -w <<<"$pids")" = 12 ] && ! grep -qw "$master" <<<"$pids"
}
if [ "$quick" = 0 ]; then
	if ng=$(nginx_bin); then
		check "nginx (2 workers, libp11 engine): 12 TLS handshakes signed in forked workers, verified by curl" \
			nginx_check "$ng"
	else
		echo "skip nginx: not installed (needs root to fetch Debian's nginx package)"
	fi
fi
unset PKCS11_MODULE_PATH

# ---- OpenSSL 3.5 with pkcs11-provider (the trixie root; not in --quick) ------
if [ "$quick" = 0 ]; then
	check "pkcs11-provider (OpenSSL 3.5): CSR signed through the module, verified by openssl" bash -c "
		export PKCS11_PROVIDER_MODULE='$M'
		'$root/scripts/rust-parsec.sh' openssl req -new -provider pkcs11 -provider default -key '$tok;object=ec384;type=private' \
			-subj /CN=provider-test -out prov.csr &&
		'$root/scripts/rust-parsec.sh' openssl req -in prov.csr -verify -noout"
fi

# ---- parsec-tool both ways ----------------------------------------------------
check "a key made by parsec-tool signs through the module" bash -c "
	'$bin/parsec-tool' create-ecc-key --key-name from-tool &&
	'$bin/parsec-tool' export-public-key --key-name from-tool >tool.pem &&
	id=\$(pkcs11-tool --module '$M' --list-objects --type privkey | awk '\$1 == \"label:\" {f = (\$2 == \"from-tool\")} f && \$1 == \"ID:\" {print \$2; exit}') &&
	pkcs11-tool --module '$M' --sign --id \$id -m ECDSA-SHA256 --signature-format openssl -i msg -o tool.sig &&
	openssl dgst -sha256 -verify tool.pem -signature tool.sig msg"
check "a key made by parsec-tool decrypts through the module" bash -c "
	'$bin/parsec-tool' create-rsa-key --key-name tool-rsa &&
	'$bin/parsec-tool' encrypt --key-name tool-rsa 'secret text' | base64 -d >tool.ct &&
	id=\$(pkcs11-tool --module '$M' --list-objects --type privkey | awk '\$1 == \"label:\" {f = (\$2 == \"tool-rsa\")} f && \$1 == \"ID:\" {print \$2; exit}') &&
	pkcs11-tool --module '$M' --decrypt --id \$id -m RSA-PKCS -i tool.ct -o tool.pt && [ \"\$(cat tool.pt)\" = 'secret text' ]"
check "a key made through the module signs with parsec-tool" bash -c "
	'$bin/parsec-tool' sign --key-name 'ec256#id=01' 'hello' | base64 -d >t.sig &&
	printf hello >hello && openssl dgst -sha256 -verify pub01.pem -signature t.sig hello"
check "a key made through the module decrypts with parsec-tool" bash -c "
	ct=\$(openssl pkeyutl -encrypt -pubin -inkey dec.pem -in msg | base64 -w0) &&
	[ \"\$('$bin/parsec-tool' decrypt --key-name 'rsadec#id=13' \"\$ct\")\" = \"\$(cat msg)\" ]"

# ---- the C ABI: errors, fork, threads ---------------------------------------
check "error codes, unsupported calls, buffer conventions" "$bin/p11check" "$M" errors ec256
check "fork: the child signs with inherited handles, re-initialises and signs; the parent carries on" \
	timeout 120 "$bin/p11check" "$M" fork ec256
check "fork while 4 threads sign: every child works (no inherited lock)" \
	timeout 300 "$bin/p11check" "$M" fork-threads ec256 4 10
check "threads: 8 threads sign and verify at once" timeout 120 "$bin/p11check" "$M" threads ec256 8

# ---- 32-bit and 64-bit ARM under qemu-user ---------------------------------------
# The module, its unit and robustness tests and p11check cross-built for
# armhf (CK_ULONG and size_t of 32 bits: the bignum and the attribute
# buffers) and arm64, run by qemu-user against the service above: the same
# C ABI checks on the boards' ABIs without booting a guest.
cross_archs=()
for a in arm64:aarch64-linux-gnu:qemu-aarch64-static armhf:arm-linux-gnueabihf:qemu-arm-static; do
	IFS=: read -r deb triplet q <<<"$a"
	if ! command -v "$triplet-gcc" >/dev/null || ! command -v "$q" >/dev/null; then
		if [ "$(id -u)" = 0 ]; then
			echo "installing the $deb cross compiler and qemu-user-static"
			apt_get install -y -qq --no-install-recommends "gcc-$triplet" libc6-dev-"$deb"-cross qemu-user-static >/dev/null || true
		fi
	fi
	if command -v "$triplet-gcc" >/dev/null && command -v "$q" >/dev/null; then
		cross_archs+=("$a")
	else
		echo "skip $deb: needs $triplet-gcc and $q (as root this script installs them)"
	fi
done
for a in "${cross_archs[@]}"; do
	IFS=: read -r deb triplet q <<<"$a"
	x=$work/cross-$deb
	module_sources "$x"
	# pkcs11.h is architecture-independent: the host's p11-kit copy serves.
	xcflags="-O2 -g -idirafter /usr/include"
	qrun=("$q" -L "/usr/$triplet")
	check "$deb: the module, unit and robustness tests cross-build" bash -c "
		make -s -C '$x' CC=$triplet-gcc CFLAGS='$xcflags' libparsec-pkcs11.so test/unit test/robust &&
		$triplet-gcc -O2 -Wall -idirafter /usr/include -o '$x/p11check' '$root/tools/parsec-pkcs11-module/testdata/p11check.c' -ldl -lpthread"
	check "$deb: unit and robustness tests under qemu-user" bash -c "
		cd '$x' && ${qrun[*]} ./test/unit && ${qrun[*]} ./test/robust 20000"
	check "$deb: error codes and buffer conventions through the C ABI" "${qrun[@]}" "$x/p11check" "$x/libparsec-pkcs11.so" errors ec256
	check "$deb: fork: the child signs with inherited handles and after C_Initialize" \
		timeout 300 "${qrun[@]}" "$x/p11check" "$x/libparsec-pkcs11.so" fork ec256
	check "$deb: 4 threads sign and verify at once" \
		timeout 300 "${qrun[@]}" "$x/p11check" "$x/libparsec-pkcs11.so" threads ec256 4
done

# ---- isolation ------------------------------------------------------------------
if [ "$(id -u)" = 0 ]; then
	as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups env HOME=/nonexistent "$@"; }
	check "a second uid sees the token but none of the first uid's objects" bash -c "
		out=\$(setpriv --reuid=65534 --regid=65534 --clear-groups pkcs11-tool --module '$M' --list-slots --list-objects 2>&1); echo \"\$out\";
		grep -q 'mbed-crypto-provider' <<<\"\$out\" && ! grep -q 'Object;' <<<\"\$out\""
	check "a second uid cannot use the first uid's key by label" bash -c "
		! setpriv --reuid=65534 --regid=65534 --clear-groups pkcs11-tool --module '$M' --sign --id 01 -m ECDSA-SHA256 -i msg -o /dev/null"
	check "the second uid's own key is invisible to the first" bash -c "
		setpriv --reuid=65534 --regid=65534 --clear-groups pkcs11-tool --module '$M' --keypairgen --key-type EC:prime256v1 --label nobody-key &&
		! pkcs11-tool --module '$M' --list-objects | grep -q nobody-key &&
		setpriv --reuid=65534 --regid=65534 --clear-groups pkcs11-tool --module '$M' --list-objects | grep -q nobody-key"
else
	echo "skip isolation: needs root to switch uid"
fi

# ---- the Rust service and the Rust parsec-tool -----------------------------
# Not in --quick: needs the cached trixie root (scripts/trixie-root.sh).
if [ "$quick" = 0 ]; then
	rd=$work/rust
	if out=$("$root/scripts/rust-parsec.sh" start --dir "$rd" --provider mbed-crypto 2>"$work/rust.log"); then
		rust_ep=$(sed -n 's/^PARSEC_SERVICE_ENDPOINT=//p' <<<"$out")
		rtool() { "$root/scripts/rust-parsec.sh" tool "$@"; }
		export -f rtool
		export root rust_ep M
		check "Rust Parsec 1.4.1: a module key signs with the Rust parsec-tool" bash -c "
			export PARSEC_SERVICE_ENDPOINT=\$rust_ep
			pkcs11-tool --module '$M' --keypairgen --key-type EC:prime256v1 --id 07 --label rk &&
			pkcs11-tool --module '$M' --read-object --type pubkey --id 07 -o rk.der &&
			openssl pkey -pubin -inform DER -in rk.der -out rk.pem &&
			rtool sign --key-name 'rk#id=07' hello | base64 -d >rk.sig &&
			printf hello | openssl dgst -sha256 -verify rk.pem -signature rk.sig"
		check "Rust Parsec 1.4.1: a Rust parsec-tool key signs through the module" bash -c "
			export PARSEC_SERVICE_ENDPOINT=\$rust_ep
			rtool create-ecc-key --key-name rtool && rtool export-public-key --key-name rtool >rtool.pem &&
			id=\$(pkcs11-tool --module '$M' --list-objects --type privkey | awk '\$1 == \"label:\" {f = (\$2 == \"rtool\")} f && \$1 == \"ID:\" {print \$2; exit}') &&
			pkcs11-tool --module '$M' --sign --id \$id -m ECDSA-SHA256 --signature-format openssl -i msg -o rtool.sig &&
			openssl dgst -sha256 -verify rtool.pem -signature rtool.sig msg"
		"$root/scripts/rust-parsec.sh" stop --dir "$rd" --purge >/dev/null 2>&1
	else
		echo "skip the Rust service: it did not start (see scripts/trixie-root.sh)"
		tail -5 "$work/rust.log"
	fi
fi

# ---- two providers: a TPM (swtpm) first, the software provider second -------
if [ "$quick" = 0 ]; then
	if out=$("$root/scripts/swtpm.sh" start --dir "$work/swtpm" 2>"$work/swtpm.log"); then
		tcti=$(sed -n 's/^SWTPM_TCTI=//p' <<<"$out")
		start_service "$work/svc2" "$tcti"
		ep2=unix:$work/svc2/parsec.sock
		check "two providers: slots in the service's order (tpm-provider, then mbed-crypto-provider)" bash -c "
			PARSEC_SERVICE_ENDPOINT=$ep2 pkcs11-tool --module '$M' --list-slots | tee slots2 &&
			[ \"\$(sed -n 's/^ *token label *: *//p' slots2 | tr '\\n' ' ')\" = 'tpm-provider mbed-crypto-provider ' ] &&
			grep -q '^Slot 0 (0x3)' slots2 && grep -q '^Slot 1 (0x1)' slots2"
		check "TPM token: keypairgen, sign, verify; the key is not on the software token" bash -c "
			export PARSEC_SERVICE_ENDPOINT=$ep2
			pkcs11-tool --module '$M' --slot 3 --keypairgen --key-type EC:prime256v1 --id 21 --label tpmkey &&
			pkcs11-tool --module '$M' --slot 3 --sign --id 21 -m ECDSA-SHA256 -i msg -o tpm.sig &&
			pkcs11-tool --module '$M' --slot 3 --verify --id 21 -m ECDSA-SHA256 -i msg --signature-file tpm.sig | grep -q 'Signature is valid' &&
			! pkcs11-tool --module '$M' --slot 1 --list-objects | grep -q tpmkey"
	else
		echo "skip the TPM provider: swtpm did not start"
		tail -5 "$work/swtpm.log"
	fi
fi

check "C_DestroyObject removes the Parsec key" bash -c "
	pkcs11-tool --module '$M' --delete-object --type privkey --label ec521 &&
	! '$bin/parsec-tool' list-keys 2>&1 | grep -q 'ec521'"
check "the service is still up" "$bin/parsec-tool" ping

# ---- benchmark --------------------------------------------------------------------
if [ "$bench" = 1 ]; then
	# Alternating short rounds, medians: the machine's load drifts, and
	# each round of one side sits next to a round of the other.
	rounds=9
	echo "benchmark: ECDSA P-256 signature of a 32-byte digest, $rounds alternating rounds of ${bench_s}s each"
	(cd "$root" && go test -c -o "$bin/bench.test" ./tools/parsec-pkcs11-module/benchref) || exit 1
	go_ns=()
	mod_ns=()
	for r in $(seq 1 $rounds); do
		g=$(PARSEC_PKCS11_BENCH_KEY='ec256#id=01' "$bin/bench.test" -test.run '^$' -test.bench ClientSignP256 \
			-test.benchtime "${bench_s}s" | awk '/^BenchmarkClientSignP256/ {print $3}')
		m=$("$bin/p11check" "$M" bench ec256 "$bench_s" | sed -n 's/.* \([0-9]*\) ns\/op$/\1/p')
		echo "  round $r: Go client SignHash $g ns/op, module C_SignInit+C_Sign $m ns/op"
		go_ns+=("$g")
		mod_ns+=("$m")
	done
	med() { printf '%s\n' "$@" | sort -n | sed -n "$(($# / 2 + 1))p"; }
	g=$(med "${go_ns[@]}")
	m=$(med "${mod_ns[@]}")
	awk -v g="$g" -v m="$m" 'BEGIN {
		printf "  median: Go client %.0f sign/s, module %.0f sign/s, module overhead %.1f%%\n", 1e9/g, 1e9/m, (m/g-1)*100 }'
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
