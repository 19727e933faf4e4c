#!/bin/sh
# parsec-cli-tests.sh: end-to-end checks of a Parsec service through
# parsec-tool, with openssl as the independent judge. Written for parsec-go;
# takes the same options as the script of this name in parsec-tool's
# repository, so callers (such as Yocto image tests) can use either.
#
# For every crypto provider the service lists (or only the one given with
# -N), it checks: random numbers; RSA PKCS#1 v1.5 and OAEP encryption, both
# as a parsec-tool round trip and from openssl to parsec-tool; ECDSA, RSA
# PKCS#1 v1.5 and RSA-PSS signatures verified by openssl; certificate
# signing requests verified and inspected by openssl; RSA key sizes.
#
# It works with parsec-go's parsec-tool and with the Rust one. RSA-PSS
# needs `create-rsa-key --for-signing-pss`, which Rust parsec-tool 0.7.0
# lacks: with such a tool the PSS checks are reported as skipped.
#
# Prints one PASS/FAIL line per check, then "N passed, N failed"; exits 1
# if any check failed (2 for bad usage or missing tools).

usage() {
	cat <<EOF
Usage: $0 [parameter]
  Parameters:
    -h:   Print help
    -d:   Debug output (commands and their output; RUST_LOG=trace)
    -N:   Test only the provider with N ID
    --no-oaep: Do not test RSA-OAEP(SHA256) encryption/decryption operations
    --no-v1.5: Do not test RSA-PKCS#1-v1.5 encryption/decryption operations
    --no-pss: Do not test RSA-PSS signatures and CSRs
    --rsa-key-size N: Perform all RSA operations with N-bit keys

  Environment variables used if defined:
    PARSEC_SERVICE_ENDPOINT - Parsec service API endpoint
                              default: unix:/run/parsec/parsec.sock
    PARSEC_TOOL             - full path to parsec-tool
                              default: "which parsec-tool"
    OPENSSL                 - full path to openssl
                              default: "which openssl"
EOF
}

DEBUG=
PROVIDER=
NO_OAEP=
NO_PKCS1_V15=
NO_PSS=
RSA_KEY_SIZE=
while [ $# -gt 0 ]; do
	case $1 in
	-[0-9]*) PROVIDER=${1#-} ;;
	-d) DEBUG=1 ;;
	--no-oaep) NO_OAEP=1 ;;
	--no-v1.5) NO_PKCS1_V15=1 ;;
	--no-pss) NO_PSS=1 ;;
	--rsa-key-size)
		if [ $# -lt 2 ]; then
			echo "$0: --rsa-key-size needs a number of bits" >&2
			exit 2
		fi
		shift
		RSA_KEY_SIZE=$1
		;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		usage >&2
		exit 2
		;;
	esac
	shift
done
case $PROVIDER in
*[!0-9]*)
	echo "$0: -N takes a numeric provider ID" >&2
	exit 2
	;;
esac
case $RSA_KEY_SIZE in
*[!0-9]*)
	echo "$0: --rsa-key-size takes a number of bits" >&2
	exit 2
	;;
esac

export PARSEC_SERVICE_ENDPOINT="${PARSEC_SERVICE_ENDPOINT:-unix:/run/parsec/parsec.sock}"
PARSEC_TOOL="${PARSEC_TOOL:-$(command -v parsec-tool)}"
OPENSSL="${OPENSSL:-$(command -v openssl)}"
if [ -z "$PARSEC_TOOL" ] || [ -z "$OPENSSL" ]; then
	echo "$0: cannot find parsec-tool or openssl; put them on PATH or set PARSEC_TOOL and OPENSSL" >&2
	exit 2
fi
if [ -n "$DEBUG" ]; then
	export RUST_LOG="${RUST_LOG:-trace}"
else
	export RUST_LOG="${RUST_LOG:-info}"
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/parsec-cli-tests.XXXXXX") || exit 2
PASSED=0
FAILED=0
SKIPPED=0
# Key names carry the PID so that runs sharing a service do not collide.
PREFIX="cli-test-$$"
# Keys created and not yet deleted, as "provider:name" words.
LIVE_KEYS=

cleanup() {
	for k in $LIVE_KEYS; do
		"$PARSEC_TOOL" -p "${k%%:*}" delete-key --key-name "${k#*:}" >/dev/null 2>&1
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

debug() {
	[ -z "$DEBUG" ] || echo "  + $*" >&2
}

pass() {
	PASSED=$((PASSED + 1))
	echo "PASS: $1"
}

fail() {
	FAILED=$((FAILED + 1))
	echo "FAIL: $1${2:+ ($2)}"
}

skip() {
	SKIPPED=$((SKIPPED + 1))
	echo "SKIP: $1${2:+ ($2)}"
}

# run OUT CMD...: runs CMD with stdout to OUT and stderr to OUT.err; in
# debug mode both are shown. Returns CMD's exit code.
run() {
	out=$1
	shift
	debug "$*"
	"$@" >"$out" 2>"$out.err"
	rc=$?
	if [ -n "$DEBUG" ]; then
		sed 's/^/    | /' "$out" "$out.err" >&2
	fi
	return $rc
}

# tool OUT ARGS...: parsec-tool for the provider under test.
tool() {
	out=$1
	shift
	run "$out" "$PARSEC_TOOL" -p "$PRV" "$@"
}

# why FILE: the last line the failed command printed on stderr.
why() {
	tail -n 1 "$1.err" 2>/dev/null | tr -d '\r'
}

# key_bits_arg prints the --bits argument for RSA keys, if any.
key_bits_arg() {
	if [ -n "$RSA_KEY_SIZE" ]; then
		echo "--bits $RSA_KEY_SIZE"
	fi
}

# new_key TYPE NAME [CREATE-ARGS...]: creates a key, checks that list-keys
# shows it and exports its public key to $WORK/NAME.pem. Returns non-zero
# (after recording a failure) if any step fails.
new_key() {
	type=$1
	name=$2
	shift 2
	if ! tool "$WORK/create" "create-$type-key" --key-name "$name" "$@"; then
		fail "create $type key $name ($*)" "$(why "$WORK/create")"
		return 1
	fi
	LIVE_KEYS="$LIVE_KEYS $PRV:$name"
	if ! tool "$WORK/list" list-keys || ! grep -q "^\* $name (" "$WORK/list"; then
		fail "list-keys shows $name" "$(why "$WORK/list")"
		return 1
	fi
	if ! tool "$WORK/$name.pem" export-public-key --key-name "$name" ||
		! run "$WORK/pubcheck" "$OPENSSL" pkey -pubin -in "$WORK/$name.pem" -noout; then
		fail "export-public-key $name gives a PEM key openssl reads" "$(why "$WORK/$name.pem")"
		return 1
	fi
	return 0
}

del_key() {
	if tool "$WORK/delete" delete-key --key-name "$1"; then
		rest=
		for k in $LIVE_KEYS; do
			[ "$k" = "$PRV:$1" ] || rest="$rest $k"
		done
		LIVE_KEYS=$rest
	else
		fail "delete-key $1" "$(why "$WORK/delete")"
	fi
}

test_random() {
	if ! tool "$WORK/ops" list-opcodes; then
		fail "list-opcodes" "$(why "$WORK/ops")"
		return
	fi
	if ! grep -q PsaGenerateRandom "$WORK/ops"; then
		skip "generate-random" "the provider does not list PsaGenerateRandom"
		return
	fi
	if ! tool "$WORK/rnd" generate-random --nbytes 10; then
		fail "generate-random --nbytes 10" "$(why "$WORK/rnd")"
	elif grep -Eq '^([0-9A-F]{2} ){10}$' "$WORK/rnd"; then
		pass "generate-random --nbytes 10 prints 10 hex bytes"
	else
		fail "generate-random --nbytes 10 prints 10 hex bytes" "got: $(cat "$WORK/rnd")"
	fi
}

# test_encryption LABEL CREATE-FLAG OPENSSL-OPTS...
test_encryption() {
	label=$1
	flag=$2
	shift 2
	key="$PREFIX-rsa-enc"
	# Unquoted on purpose: an empty flag or size must vanish.
	# shellcheck disable=SC2046,SC2086
	new_key rsa "$key" $flag $(key_bits_arg) || return

	msg="$(date) Parsec $label encryption test"
	if tool "$WORK/ct" encrypt --key-name "$key" "$msg" &&
		tool "$WORK/pt" decrypt --key-name "$key" "$(cat "$WORK/ct")"; then
		if [ "$(cat "$WORK/pt")" = "$msg" ]; then
			pass "RSA $label: parsec-tool encrypt then decrypt"
		else
			fail "RSA $label: parsec-tool encrypt then decrypt" "got \"$(cat "$WORK/pt")\""
		fi
	else
		fail "RSA $label: parsec-tool encrypt then decrypt" "$(why "$WORK/ct")$(why "$WORK/pt")"
	fi

	msg="$(date) Parsec $label decryption test"
	printf '%s' "$msg" >"$WORK/msg"
	if run "$WORK/oct" "$OPENSSL" pkeyutl -encrypt -pubin -inkey "$WORK/$key.pem" "$@" -in "$WORK/msg" -out "$WORK/ct.bin" &&
		run "$WORK/ct64" "$OPENSSL" base64 -A -in "$WORK/ct.bin" &&
		tool "$WORK/pt" decrypt --key-name "$key" "$(cat "$WORK/ct64")"; then
		if [ "$(cat "$WORK/pt")" = "$msg" ]; then
			pass "RSA $label: openssl encrypts, parsec-tool decrypts"
		else
			fail "RSA $label: openssl encrypts, parsec-tool decrypts" "got \"$(cat "$WORK/pt")\""
		fi
	else
		fail "RSA $label: openssl encrypts, parsec-tool decrypts" "$(why "$WORK/oct")$(why "$WORK/pt")"
	fi
	del_key "$key"
}

# test_signing LABEL TYPE [CREATE-FLAG] : VERIFY-OPTS...
test_signing() {
	label=$1
	type=$2
	shift 2
	flag=
	if [ "$1" != : ]; then
		flag=$1
		shift
	fi
	shift
	key="$PREFIX-sign"
	bits=
	[ "$type" = rsa ] && bits=$(key_bits_arg)
	# shellcheck disable=SC2086
	new_key "$type" "$key" $flag $bits || return

	msg="$(date) Parsec $label signature test"
	printf '%s' "$msg" >"$WORK/msg"
	if ! tool "$WORK/sig64" sign --key-name "$key" "$msg"; then
		fail "$label: parsec-tool sign" "$(why "$WORK/sig64")"
	elif ! run "$WORK/dec" "$OPENSSL" base64 -d -A -in "$WORK/sig64" -out "$WORK/sig.bin"; then
		fail "$label: the signature is base64" "$(cat "$WORK/sig64")"
	elif run "$WORK/ver" "$OPENSSL" dgst -sha256 -verify "$WORK/$key.pem" "$@" -signature "$WORK/sig.bin" "$WORK/msg"; then
		# A verifier that accepts anything would pass the line above: the
		# same signature must not match another message.
		printf '%s!' "$msg" >"$WORK/msg2"
		if run "$WORK/ver2" "$OPENSSL" dgst -sha256 -verify "$WORK/$key.pem" "$@" -signature "$WORK/sig.bin" "$WORK/msg2"; then
			fail "$label: openssl verifies the signature" "openssl also accepted it for another message"
		else
			pass "$label: openssl verifies the signature"
		fi
	else
		fail "$label: openssl verifies the signature" "$(cat "$WORK/ver" "$WORK/ver.err" | tr '\n' ' ')"
	fi
	del_key "$key"
}

# test_csr LABEL TYPE [CREATE-FLAG]
test_csr() {
	label=$1
	type=$2
	flag=$3
	key="$PREFIX-csr"
	cn="parsec-go.example"
	san="localhost"
	serial="EZ4U2CIXL"
	bits=
	[ "$type" = rsa ] && bits=$(key_bits_arg)
	# shellcheck disable=SC2086
	new_key "$type" "$key" $flag $bits || return

	if ! tool "$WORK/csr" create-csr --key-name "$key" --cn "$cn" --san "$san" --serialNumber "$serial"; then
		fail "$label CSR: parsec-tool create-csr" "$(why "$WORK/csr")"
	elif ! run "$WORK/csr.txt" "$OPENSSL" req -in "$WORK/csr" -noout -text -verify; then
		fail "$label CSR: openssl verifies its signature" "$(why "$WORK/csr.txt")"
	elif ! grep "Subject:" "$WORK/csr.txt" | grep -q "CN *= *$cn" ||
		! grep "Subject:" "$WORK/csr.txt" | grep -q "serialNumber *= *$serial"; then
		fail "$label CSR: the subject holds CN and serialNumber" "$(grep 'Subject:' "$WORK/csr.txt")"
	elif ! grep -q "DNS:$san" "$WORK/csr.txt"; then
		fail "$label CSR: it requests the subject alternative name" "no DNS:$san"
	elif ! run "$WORK/csr.pub" "$OPENSSL" req -in "$WORK/csr" -noout -pubkey ||
		! run "$WORK/csr.pubder" "$OPENSSL" pkey -pubin -in "$WORK/csr.pub" -outform DER ||
		! run "$WORK/key.pubder" "$OPENSSL" pkey -pubin -in "$WORK/$key.pem" -outform DER ||
		! cmp -s "$WORK/csr.pubder" "$WORK/key.pubder"; then
		fail "$label CSR: it carries the key's public key" "differs from export-public-key"
	else
		pass "$label CSR: verified by openssl, with subject, SAN and the key's public key"
	fi
	del_key "$key"
}

test_rsa_key_bits() {
	size=${RSA_KEY_SIZE:-${1:-2048}}
	key="$PREFIX-rsa-bits"
	if [ -n "$RSA_KEY_SIZE" ] || [ -n "$1" ]; then
		set -- --bits "$size"
	fi
	if ! tool "$WORK/create" create-rsa-key --key-name "$key" "$@"; then
		fail "create-rsa-key $* makes a $size-bit key" "$(why "$WORK/create")"
		return
	fi
	LIVE_KEYS="$LIVE_KEYS $PRV:$key"
	if tool "$WORK/$key.pem" export-public-key --key-name "$key" &&
		run "$WORK/rsa.txt" "$OPENSSL" rsa -pubin -in "$WORK/$key.pem" -noout -text &&
		grep -q "Public-Key: ($size bit)" "$WORK/rsa.txt"; then
		pass "create-rsa-key ${*:-(default size)} makes a $size-bit key"
	else
		fail "create-rsa-key ${*:-(default size)} makes a $size-bit key" "$(grep 'Public-Key' "$WORK/rsa.txt" 2>/dev/null)$(why "$WORK/$key.pem")"
	fi
	del_key "$key"
}

test_provider() {
	PRV=$1
	test_random
	if [ -z "$NO_PKCS1_V15" ]; then
		test_encryption "PKCS#1 v1.5" ""
	fi
	if [ -z "$NO_OAEP" ]; then
		test_encryption "OAEP" --oaep -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256
	fi
	test_signing "ECDSA P-256" ecc :
	test_signing "RSA PKCS#1 v1.5" rsa --for-signing :
	if [ -n "$NO_PSS" ]; then
		skip "RSA-PSS signature and CSR" "--no-pss"
	elif [ -z "$HAS_PSS" ]; then
		skip "RSA-PSS signature and CSR" "this parsec-tool has no create-rsa-key --for-signing-pss"
	else
		test_signing "RSA-PSS" rsa --for-signing-pss : -sigopt rsa_padding_mode:pss
	fi
	test_csr "RSA PKCS#1 v1.5" rsa --for-signing
	if [ -z "$NO_PSS" ] && [ -n "$HAS_PSS" ]; then
		test_csr "RSA-PSS" rsa --for-signing-pss
	fi
	test_csr "ECDSA P-256" ecc
	test_rsa_key_bits
	test_rsa_key_bits 1024
}

echo "parsec-tool: $PARSEC_TOOL ($("$PARSEC_TOOL" --version 2>/dev/null))"
echo "openssl: $OPENSSL ($("$OPENSSL" version 2>/dev/null))"
echo "service: $PARSEC_SERVICE_ENDPOINT"
if ! run "$WORK/ping" "$PARSEC_TOOL" ping; then
	echo "FAIL: ping ($(why "$WORK/ping"))"
	echo "0 passed, 1 failed"
	exit 1
fi
pass "ping: wire protocol $(cat "$WORK/ping")"

HAS_PSS=
if "$PARSEC_TOOL" create-rsa-key --help 2>/dev/null | grep -q -- --for-signing-pss; then
	HAS_PSS=1
fi

if ! run "$WORK/providers" "$PARSEC_TOOL" list-providers; then
	fail "list-providers" "$(why "$WORK/providers")"
fi
# "ID: 0x01 (Mbed Crypto provider)" lines; the core provider (0x00) has no
# crypto operations.
grep '^ID: 0x' "$WORK/providers" | grep -v '^ID: 0x00 ' >"$WORK/prv.lst"
tested=0
while IFS= read -r line; do
	id=$(echo "$line" | cut -d' ' -f2)
	id=$((id))
	if [ -n "$PROVIDER" ] && [ "$PROVIDER" -ne "$id" ]; then
		continue
	fi
	name=${line#*(}
	name=${name%)*}
	echo
	echo "Testing $name (ID $id)"
	test_provider "$id" </dev/null
	tested=$((tested + 1))
done <"$WORK/prv.lst"
if [ "$tested" = 0 ]; then
	fail "a crypto provider to test" "${PROVIDER:+provider $PROVIDER is }not listed by the service"
fi

echo
[ "$SKIPPED" = 0 ] || echo "$SKIPPED skipped"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
