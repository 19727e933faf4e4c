#!/usr/bin/env bash
# Interoperability with the real Parsec 1.x tools, both directions:
#
#  1. the Rust parsec-tool 0.7.0 (Debian trixie, from the cached trixie
#     root) drives every one of its subcommands against OUR service, and
#     openssl checks what comes back;
#  2. our tools/parsec-cli-tests/parsec-cli-tests.sh runs with the Rust
#     parsec-tool against our service, and with OUR parsec-tool against the
#     Rust service 1.4.1 (when the script exists);
#  3. scripts/tool-compare.sh compares the two tools' output (when it exists).
#
# Prints PASS/FAIL per check and a final "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/apt.sh
. scripts/lib/go.sh
ensure_go || exit 1

work=$(mktemp -d /tmp/parsec-interop.XXXXXX)
chmod 755 "$work"
gopid=
cleanup() {
	[ -n "$gopid" ] && kill "$gopid" 2>/dev/null && wait "$gopid" 2>/dev/null
	scripts/rust-parsec.sh stop --dir "$work/rust" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT

passed=0
failed=0
check() { # name command...
	local name=$1
	shift
	if out=$("$@" 2>&1); then
		passed=$((passed + 1))
		echo "PASS $name"
	else
		failed=$((failed + 1))
		echo "FAIL $name"
		printf '%s\n' "$out" | tail -5 | sed 's/^/     /'
	fi
}

command -v openssl >/dev/null || apt_get install -y -qq openssl >/dev/null
scripts/trixie-root.sh >/dev/null || { echo "FAIL trixie root"; echo "0 passed, 1 failed"; exit 1; }
mkdir -p "$work/bin" "$work/go" "$work/rustbin"
CGO_ENABLED=0 go build -trimpath -o "$work/bin/parsec" ./service/cmd/parsec || exit 1
if [ -d tools/parsec-tool ]; then
	CGO_ENABLED=0 go build -trimpath -o "$work/bin/parsec-tool" ./tools/parsec-tool || exit 1
fi
scripts/rust-parsec.sh install-wrapper "$work/rustbin" >/dev/null

cat >"$work/go/config.toml" <<CFG
[core_settings]
allow_root = true
log_level = "warn"
[listener]
listener_type = "DomainSocket"
timeout = 200
socket_path = "$work/go/parsec.sock"
[authenticator]
auth_type = "UnixPeerCredentials"
admins = [ { name = "$(id -u)" } ]
[[key_manager]]
name = "on-disk-manager"
manager_type = "OnDisk"
store_path = "$work/go/mappings"
[[provider]]
provider_type = "MbedCrypto"
key_info_manager = "on-disk-manager"
store_path = "$work/go/keys"
CFG
"$work/bin/parsec" -c "$work/go/config.toml" 2>"$work/go/log" &
gopid=$!
for _ in $(seq 200); do [ -S "$work/go/parsec.sock" ] && break; sleep 0.05; done

export PARSEC_SERVICE_ENDPOINT="unix:$work/go/parsec.sock"
export RUST_LOG=error
rt=$work/rustbin/parsec-tool
t=$work/t
mkdir -p "$t"

echo "== Rust parsec-tool 0.7.0 against parsec-go"
check "ping prints 1.0" bash -c "[ \"\$('$rt' ping)\" = 1.0 ]"
check "list-providers shows Mbed Crypto then Core" bash -c "'$rt' list-providers >$t/lp && grep -n '^ID:' $t/lp | tr '\\n' ' ' | grep -q '^1:ID: 0x01 (Mbed Crypto provider) 7:ID: 0x00 (Core provider) \$'"
check "list-authenticators shows Unix Peer Credentials" bash -c "'$rt' list-authenticators | grep -q 'ID: 0x03 (Unix Peer Credentials authentication)'"
check "list-opcodes -p 0" bash -c "'$rt' list-opcodes -p 0 | grep -q ListKeys"
check "list-opcodes -p 1 lists Mbed Crypto's 16 opcodes" bash -c "'$rt' list-opcodes -p 1 >$t/lo && [ \$(wc -l <$t/lo) = 16 ] && grep -q PsaSignHash $t/lo && grep -q CanDoCrypto $t/lo"
check "generate-random -n 32" bash -c "'$rt' generate-random -n 32 | grep -Eq '^[0-9a-f ]|^[A-Za-z0-9+/=]'"
check "create-ecc-key" "$rt" create-ecc-key -k ecc
check "create-rsa-key (encryption, PKCS#1 v1.5)" "$rt" create-rsa-key -k rsa-enc
check "create-rsa-key --oaep" "$rt" create-rsa-key -k rsa-oaep -o
check "create-rsa-key --for-signing" "$rt" create-rsa-key -k rsa-sig -s
check "create-rsa-key -b 1024" "$rt" create-rsa-key -k rsa-1024 -b 1024
check "list-keys shows the keys" bash -c "'$rt' list-keys >$t/lk && grep -q ecc $t/lk && grep -q rsa-oaep $t/lk"
check "export-public-key (ECC) is a valid PEM key" bash -c "'$rt' export-public-key -k ecc >$t/ecc.pem && openssl pkey -pubin -in $t/ecc.pem -noout"
check "export-public-key --pkcs1 (RSA)" bash -c "'$rt' export-public-key -k rsa-enc --pkcs1 >$t/rsa1.pem && openssl rsa -RSAPublicKey_in -in $t/rsa1.pem -noout"
check "RSA 1024 has 1024 bits" bash -c "'$rt' export-public-key -k rsa-1024 >$t/r1024.pem && openssl pkey -pubin -in $t/r1024.pem -noout -text | grep -q '1024 bit'"
check "ECDSA signature verifies with openssl" bash -c "'$rt' sign -k ecc 'hello parsec' | base64 -d >$t/ecc.sig && printf 'hello parsec' | openssl dgst -sha256 -verify $t/ecc.pem -signature $t/ecc.sig"
check "RSA PKCS#1 signature verifies with openssl" bash -c "'$rt' export-public-key -k rsa-sig >$t/rs.pem && '$rt' sign -k rsa-sig 'hello parsec' | base64 -d >$t/rs.sig && printf 'hello parsec' | openssl dgst -sha256 -verify $t/rs.pem -signature $t/rs.sig"
[ -x "$work/bin/parsec-tool" ] && check "our parsec-tool creates an RSA-PSS key (0.7.0 has no -r)" bash -c "'$work/bin/parsec-tool' create-rsa-key -k rsa-pss -r" && check "RSA-PSS signature verifies with openssl" bash -c "'$rt' export-public-key -k rsa-pss >$t/rp.pem && '$rt' sign -k rsa-pss 'hello parsec' | base64 -d >$t/rp.sig && printf 'hello parsec' | openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:-2 -verify $t/rp.pem -signature $t/rp.sig"
check "encrypt/decrypt round trip (PKCS#1 v1.5)" bash -c "c=\$('$rt' encrypt -k rsa-enc 'secret text') && [ \"\$('$rt' decrypt -k rsa-enc \"\$c\")\" = 'secret text' ]"
check "encrypt/decrypt round trip (OAEP)" bash -c "c=\$('$rt' encrypt -k rsa-oaep 'secret text') && [ \"\$('$rt' decrypt -k rsa-oaep \"\$c\")\" = 'secret text' ]"
check "openssl encrypts, service decrypts (PKCS#1 v1.5)" bash -c "'$rt' export-public-key -k rsa-enc >$t/re.pem && printf 'from openssl' | openssl pkeyutl -encrypt -pubin -inkey $t/re.pem | base64 -w0 >$t/c1 && [ \"\$('$rt' decrypt -k rsa-enc \"\$(cat $t/c1)\")\" = 'from openssl' ]"
check "openssl encrypts, service decrypts (OAEP SHA-256)" bash -c "'$rt' export-public-key -k rsa-oaep >$t/ro.pem && printf 'from openssl' | openssl pkeyutl -encrypt -pubin -inkey $t/ro.pem -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 | base64 -w0 >$t/c2 && [ \"\$('$rt' decrypt -k rsa-oaep \"\$(cat $t/c2)\")\" = 'from openssl' ]"
check "encrypt prints a base64 2048-bit RSA ciphertext" bash -c "'$rt' encrypt -k rsa-enc abc | base64 -d | wc -c | grep -qx 256"
check "create-csr (ECC) verifies with openssl" bash -c "'$rt' create-csr -k ecc --cn parsec.test --san parsec.test --serialNumber 42 >$t/ecc.csr && openssl req -in $t/ecc.csr -verify -noout -subject | grep -q parsec.test"
check "create-csr (RSA) verifies with openssl" bash -c "'$rt' create-csr -k rsa-sig --cn rsa.test >$t/rsa.csr && openssl req -in $t/rsa.csr -verify -noout"
check "list-clients (admin) lists this uid" bash -c "'$rt' list-clients | grep -qw $(id -u)"
check "delete-key" "$rt" delete-key -k rsa-1024
check "deleting a missing key fails with PsaErrorDoesNotExist" bash -c "! '$rt' delete-key -k rsa-1024 >$t/dk 2>&1 && grep -q PsaErrorDoesNotExist $t/dk"
check "creating a duplicate key fails with PsaErrorAlreadyExists" bash -c "! '$rt' create-ecc-key -k ecc >$t/dup 2>&1 && grep -q PsaErrorAlreadyExists $t/dup"
check "delete-client removes every key of the client" bash -c "'$rt' delete-client -c $(id -u) && [ -z \"\$('$rt' list-keys 2>/dev/null | grep -E 'ecc|rsa')\" ]"
check "service still up, no panic in its log" bash -c "'$rt' ping >/dev/null && ! grep -qi panic $work/go/log"

cli=tools/parsec-cli-tests/parsec-cli-tests.sh
if [ -x "$cli" ]; then
	echo "== our parsec-cli-tests.sh with the Rust parsec-tool against parsec-go"
	check "parsec-cli-tests.sh (Rust tool, our service)" env PATH="$work/rustbin:$PATH" "$cli"
	if [ -x "$work/bin/parsec-tool" ]; then
		echo "== our parsec-cli-tests.sh with our parsec-tool against the Rust service 1.4.1"
		eval "$(scripts/rust-parsec.sh start --dir "$work/rust" --provider mbed-crypto --log-level error | grep '^PARSEC_')"
		check "parsec-cli-tests.sh (our tool, Rust service)" env PATH="$work/bin:$PATH" PARSEC_SERVICE_ENDPOINT="$PARSEC_SERVICE_ENDPOINT" "$cli"
		scripts/rust-parsec.sh stop --dir "$work/rust" >/dev/null
		echo "== our parsec-cli-tests.sh with our parsec-tool against parsec-go"
		check "parsec-cli-tests.sh (our tool, our service)" env PATH="$work/bin:$PATH" PARSEC_SERVICE_ENDPOINT="unix:$work/go/parsec.sock" "$cli"
	fi
else
	echo "(tools/parsec-cli-tests/parsec-cli-tests.sh not present yet)"
fi
if [ -x scripts/tool-compare.sh ]; then
	echo "== tool output comparison"
	check "scripts/tool-compare.sh" scripts/tool-compare.sh
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
