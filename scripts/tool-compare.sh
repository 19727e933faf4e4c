#!/usr/bin/env bash
# Usage: scripts/tool-compare.sh [--service rust|go|both] [--endpoint E]
#            [--go-tool PATH] [--rust-tool PATH] [--keep]
#
# Runs the same parsec-tool commands with the Rust parsec-tool 0.7.0 (from
# the trixie root, scripts/rust-parsec.sh) and with ours against the same
# service, and compares exit codes, stdout and stderr. Differences we keep
# on purpose are listed below (D1-D12); each comparison that relies on one
# names it. Anything else is a mismatch.
#
#   --service rust   start the Rust Parsec 1.4.1 (Mbed Crypto) in a temp dir
#   --service go     start our daemon (software provider) in a temp dir
#   --service both   both, one after the other (default)
#   --endpoint E     use a running service at E instead (PARSEC_SERVICE_ENDPOINT)
#   --go-tool PATH   our parsec-tool (default: built from ./tools/parsec-tool)
#   --rust-tool PATH the Rust parsec-tool (default: the trixie root's)
#   --keep           keep the work directory (outputs of every command)
#
# Prints one line per comparison, then "N same, N justified, N mismatched";
# exits 1 if anything mismatched.
#
# Justified differences:
#  D1 Error lines. Rust prints "Subcommand failed: <text> (<Rust Debug
#     chain, e.g. ParsecClientError(Service(PsaErrorDoesNotExist))>)". Ours
#     prints the same text, the status name alone and what to do, e.g.
#     "... (PsaErrorDoesNotExist); check the key name with 'parsec-tool
#     list-keys'". Compared: both fail with exit code 1, both print one
#     [ERROR parsec_tool] line (see D6), ours contains Rust's text before the
#     parenthesis and the innermost name of Rust's Debug chain (the status
#     or client error kind), with the I/O error details when Rust has them.
#  D2 list-opcodes order. Rust prints a HashSet, in a different order on
#     every run; ours is sorted by opcode. Compared sorted.
#  D3 Help text. The descriptions are our own words (the project does not
#     copy upstream prose). Compared: the USAGE line and the set of flags,
#     options and subcommands.
#  D4 RSA-PSS. Ours has create-rsa-key -r/--for-signing-pss and create-csr
#     for PSS keys, as newer upstream parsec-tool does; 0.7.0 has neither.
#     Not compared (create-rsa-key --help is compared without -r).
#  D5 Randomised output. ECDSA/PSS signatures, RSA ciphertexts and random
#     bytes differ on every run, so each tool's signature is verified with
#     openssl, ciphertexts are decrypted by the other tool, random bytes are
#     compared by format, CSRs by openssl's text with the signature removed.
#  D6 Tool-detected errors (wrong key type, ...). Rust prints two [ERROR]
#     lines (the reason from the subcommand's module, then "Subcommand
#     failed: <kind text> (ParsecToolError(<Kind>))"); ours prints one line,
#     "Subcommand failed: <reason> (<Kind>)". Compared: the reason and kind.
#  D7 list-keys order follows the key store (the Rust service's own order
#     is not stable either). Compared sorted.
#  D8 Unreachable service. Rust checks that the socket path exists before
#     connecting; for a path that does not exist or is not a socket both say
#     "the socket address provided in the URL is not valid", ours adds the
#     path and what to do (D1 rules).
#  D9 Version and author lines of --help: ours names parsec-go as author.
#  D10 create-csr signs once. The Rust tool (through rcgen 0.9) signs the
#     request twice and keeps one signature, so it logs "Hashing data..." and
#     "Signing data..." twice and sends two more requests. Compared with
#     repeated log lines folded.
#  D11 --version prints parsec-go's version and the wire protocol version,
#     "parsec-tool 0.1.0 (parsec-go; wire protocol 1.0; command line of
#     parsec-tool 0.7.0)", not 0.7.0. Compared for the exit code only.
#  D12 A missing key. Rust says "one of the resources ... was not found
#     (NotFound)" when the tool looked the key up, "asking for an item that
#     doesn't exist (PsaErrorDoesNotExist)" when the service did; ours says
#     'key "NAME" not found (PsaErrorDoesNotExist); list your keys ...' in
#     every subcommand.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)

service=both
endpoint=
go_tool=
rust_tool=
keep=0
while [ $# -gt 0 ]; do
	case $1 in
	--service | --endpoint | --go-tool | --rust-tool)
		[ $# -ge 2 ] || {
			echo "tool-compare: $1 needs a value" >&2
			exit 2
		}
		case $1 in
		--service) service=$2 ;;
		--endpoint) endpoint=$2 ;;
		--go-tool) go_tool=$2 ;;
		--rust-tool) rust_tool=$2 ;;
		esac
		shift 2
		;;
	--keep)
		keep=1
		shift
		;;
	-h | --help)
		sed -n '2,/^set -uo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "tool-compare: unknown option $1 (see --help)" >&2
		exit 2
		;;
	esac
done
case $service in
rust | go | both) ;;
*)
	echo "tool-compare: --service takes rust, go or both" >&2
	exit 2
	;;
esac

work=$(mktemp -d /tmp/tool-compare.XXXXXX)
services_started=()
cleanup() {
	for d in "${services_started[@]+"${services_started[@]}"}"; do
		stop_service "$d"
	done
	if [ "$keep" = 1 ]; then
		echo "tool-compare: outputs kept in $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

if [ -z "$go_tool" ]; then
	go_tool="$work/go-parsec-tool"
	(cd "$root" && CGO_ENABLED=0 go build -trimpath -o "$go_tool" ./tools/parsec-tool) || {
		echo "tool-compare: cannot build our parsec-tool" >&2
		exit 2
	}
fi
if [ -z "$rust_tool" ]; then
	"$here/rust-parsec.sh" install-wrapper "$work/rust-bin" >/dev/null || {
		echo "tool-compare: cannot set up the Rust parsec-tool (scripts/rust-parsec.sh install-wrapper)" >&2
		exit 2
	}
	rust_tool="$work/rust-bin/parsec-tool"
fi
openssl=$(command -v openssl) || {
	echo "tool-compare: openssl is needed" >&2
	exit 2
}

same=0
justified=0
mismatched=0

# ---- services -------------------------------------------------------------

start_rust() {
	local d=$1 out
	out=$("$here/rust-parsec.sh" start --dir "$d" --provider mbed-crypto 2>"$d.start.log") || {
		cat "$d.start.log" >&2
		return 1
	}
	sed -n 's/^PARSEC_SERVICE_ENDPOINT=//p' <<<"$out"
}

start_go() {
	local d=$1 i
	mkdir -p "$d"
	(cd "$root" && CGO_ENABLED=0 go build -o "$work/parsec" ./service/cmd/parsec) || return 1
	cat >"$d/config.toml" <<EOF
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
provider_type = "MbedCrypto"
key_info_manager = "on-disk-manager"
store_path = "$d/keys"
EOF
	(cd "$d" && exec setsid "$work/parsec" -c "$d/config.toml") </dev/null >"$d/parsec.log" 2>&1 &
	echo $! >"$d/parsec.pid"
	for ((i = 0; i < 2000; i++)); do
		if PARSEC_SERVICE_ENDPOINT="unix:$d/parsec.sock" RUST_LOG=off "$go_tool" ping >/dev/null 2>&1; then
			echo "unix:$d/parsec.sock"
			return 0
		fi
		kill -0 "$(cat "$d/parsec.pid")" 2>/dev/null || break
		sleep 0.01
	done
	cat "$d/parsec.log" >&2
	return 1
}

stop_service() {
	local kind=${1%%:*} d=${1#*:} pid
	case $kind in
	rust) "$here/rust-parsec.sh" stop --dir "$d" >/dev/null 2>&1 ;;
	go)
		pid=$(cat "$d/parsec.pid" 2>/dev/null) || return 0
		# Only our daemon on this config: the pid may have been reused.
		tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF "$d/config.toml" || return 0
		kill -TERM "$pid" 2>/dev/null
		for ((i = 0; i < 500; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.01
		done
		kill -KILL "$pid" 2>/dev/null
		;;
	esac
}

# ---- running and comparing ------------------------------------------------

# run_both NAME [VAR=VALUE...] -- ARGS...: runs both tools; in ARGS and
# values, @T@ becomes "rust" or "go" so that each tool can own its keys.
# Outputs land in $case_dir/{rust,go}.{out,err,rc}, with the tool's own
# name turned back into @T@.
run_both() {
	local name=$1 t envs=() args=() a
	shift
	while [ "$1" != -- ]; do
		envs+=("$1")
		shift
	done
	shift
	case_dir="$work/$svc/$name"
	mkdir -p "$case_dir"
	for t in rust go; do
		local bin=$rust_tool
		[ $t = go ] && bin=$go_tool
		args=()
		for a in "$@"; do args+=("${a//@T@/$t}"); done
		local e=() v
		for v in "${envs[@]}"; do e+=("${v//@T@/$t}"); done
		env -u RUST_LOG PARSEC_SERVICE_ENDPOINT="$ep" "${e[@]}" "$bin" "${args[@]}" \
			</dev/null >"$case_dir/$t.raw" 2>"$case_dir/$t.err.raw"
		echo $? >"$case_dir/$t.rc"
		sed "s/cmp-$t-/cmp-@T@-/g" "$case_dir/$t.raw" >"$case_dir/$t.out"
		sed "s/cmp-$t-/cmp-@T@-/g" "$case_dir/$t.err.raw" >"$case_dir/$t.err"
	done
}

report() {
	# report NAME VERDICT [NOTE]
	case $2 in
	same)
		same=$((same + 1))
		echo "SAME      $svc: $1"
		;;
	justified)
		justified=$((justified + 1))
		echo "JUSTIFIED $svc: $1 ($3)"
		;;
	*)
		mismatched=$((mismatched + 1))
		echo "MISMATCH  $svc: $1: $3"
		if [ -n "${case_dir:-}" ]; then
			for t in rust go; do
				echo "    --- $t: exit $(cat "$case_dir/$t.rc" 2>/dev/null)"
				sed 's/^/    out| /' "$case_dir/$t.out" 2>/dev/null | head -20
				sed 's/^/    err| /' "$case_dir/$t.err" 2>/dev/null | head -10
			done
		fi
		;;
	esac
}

# error_matches: D1/D6/D8 rules on the [ERROR] lines of rust.err and go.err.
# Prints why not, returns 1, if ours does not carry Rust's information.
error_matches() {
	local r g text kinds k
	r=$(grep '^\[ERROR parsec_tool\] ' "$case_dir/rust.err" | tail -n 1)
	g=$(grep -c '^\[ERROR' "$case_dir/go.err")
	if [ "$g" != 1 ]; then
		echo "ours printed $g [ERROR] lines, want 1"
		return 1
	fi
	g=$(grep '^\[ERROR parsec_tool\] ' "$case_dir/go.err")
	if [ -z "$r" ] || [ -z "$g" ]; then
		echo "no [ERROR parsec_tool] line"
		return 1
	fi
	r=${r#\[ERROR parsec_tool\] }
	g=${g#\[ERROR parsec_tool\] }
	# D12: one not-found message naming the key.
	if [[ $r == *"(NotFound)"* || $r == *"PsaErrorDoesNotExist"* ]] &&
		[[ $g == 'Subcommand failed: key "'*'" not found (PsaErrorDoesNotExist); list your keys'* ]]; then
		return 0
	fi
	# Rust's text before " (Debug chain)".
	text=${r% (*}
	case $r in
	*"(ParsecToolError("*)
		# D6: the reason is the other [ERROR] line Rust printed.
		text=$(grep '^\[ERROR parsec_tool::' "$case_dir/rust.err" | head -n 1 | sed 's/^\[ERROR [^]]*\] //')
		;;
	esac
	# Rust shows the OS error as "Connection refused (os error 111)"; ours
	# says "(connection refused)" after its explanation.
	if [[ $text == *"Connection refused"* ]]; then
		text=${text%%Connection refused*}
		if [[ $g != *"connection refused"* ]]; then
			echo "ours does not say the connection was refused"
			return 1
		fi
	fi
	if [[ $g != *"$text"* ]]; then
		echo "ours lacks Rust's text \"$text\""
		return 1
	fi
	# The innermost name of Rust's Debug chain, e.g. PsaErrorDoesNotExist.
	kinds=$(grep -o '[A-Z][A-Za-z]*)' <<<"${r##* (}" | head -n 1 | tr -d ')')
	for k in $kinds; do
		case $k in
		Os | Ipc | Client | Service) continue ;;
		NotFound) k="NotFound" ;;
		esac
		if [[ $g != *"$k"* ]]; then
			echo "ours does not name $k"
			return 1
		fi
	done
	return 0
}

# compare NAME [STDOUT-RULE] [D-NOTE]: exit codes equal; stdout equal under
# RULE (exact|sorted|ignore); stderr: [INFO] lines equal, error lines by
# error_matches, clap "error:" text exact.
compare() {
	local name=$1 rule=${2:-exact} note=${3:-} why rr gr
	rr=$(cat "$case_dir/rust.rc")
	gr=$(cat "$case_dir/go.rc")
	if [ "$rr" != "$gr" ]; then
		report "$name" mismatch "exit code $rr (Rust) vs $gr (ours)"
		return
	fi
	case $rule in
	exact) cmp -s "$case_dir/rust.out" "$case_dir/go.out" || why="stdout differs" ;;
	sorted) cmp -s <(sort "$case_dir/rust.out") <(sort "$case_dir/go.out") || why="stdout differs (sorted)" ;;
	ignore) ;;
	esac
	if [ -z "${why:-}" ] && ! cmp -s <(grep -v '^\[ERROR' "$case_dir/rust.err") <(grep -v '^\[ERROR' "$case_dir/go.err"); then
		why="stderr differs"
	fi
	if [ -z "${why:-}" ] && grep -q '^\[ERROR' "$case_dir/rust.err" "$case_dir/go.err"; then
		if ! why=$(error_matches); then
			:
		else
			why=
			note=${note:-D1}
		fi
	fi
	if [ -n "${why:-}" ]; then
		report "$name" mismatch "$why"
	elif [ -n "$note" ]; then
		report "$name" justified "$note"
	else
		report "$name" same
	fi
}

# cmd NAME RULE NOTE -- ARGS...: run and compare in one go.
cmd() {
	local name=$1 rule=$2 note=$3
	shift 3
	run_both "$name" "$@"
	compare "$name" "$rule" "$note"
}

# help_shape FILE: USAGE line plus the sorted flag/option/subcommand names.
help_shape() {
	{
		sed -n '/^USAGE:/{n;p}' "$1"
		grep -oE '^ +(-[A-Za-z], )?--[A-Za-z0-9-]+|^    [a-z][a-z-]+ ' "$1" | sed 's/ *$//;s/^ *//' | sort
	}
}

compare_help() {
	local name=$1 drop=${2:-}
	if [ "$(cat "$case_dir/rust.rc")" != "$(cat "$case_dir/go.rc")" ]; then
		report "$name" mismatch "exit codes differ"
		return
	fi
	local f=out
	[ -s "$case_dir/rust.out" ] || f=err
	if cmp -s <(help_shape "$case_dir/rust.$f") <(help_shape "$case_dir/go.$f" | grep -v -- "${drop:-^\$^}"); then
		report "$name" justified "D3${drop:+, D4}"
	else
		report "$name" mismatch "help shape differs: $(diff <(help_shape "$case_dir/rust.$f") <(help_shape "$case_dir/go.$f" | grep -v -- "${drop:-^\$^}") | tr '\n' ' ')"
	fi
}

# ---- the comparisons ------------------------------------------------------

compare_all() {
	cmd version ignore D11 -- --version
	run_both help -- --help
	compare_help help
	run_both no-subcommand -- -t 5
	compare_help no-subcommand
	run_both help-create-rsa-key -- create-rsa-key --help
	compare_help help-create-rsa-key 'for-signing-pss'
	run_both help-sign -- help sign
	compare_help help-sign

	cmd ping exact "" -- ping
	cmd list-providers exact "" -- list-providers
	cmd list-authenticators exact "" -- list-authenticators
	cmd list-opcodes sorted D2 -- list-opcodes
	cmd list-opcodes-p0 sorted D2 -- list-opcodes -p 0
	cmd list-opcodes-p1 sorted D2 -- list-opcodes -p 1
	cmd global-p1-list-opcodes sorted D2 -- -p 1 list-opcodes
	cmd list-opcodes-p2 exact "" -- list-opcodes -p 2
	cmd list-opcodes-p7 exact "" -- list-opcodes -p 7
	cmd list-keys-empty exact "" -- list-keys
	cmd list-clients exact "" -- list-clients

	run_both generate-random -- generate-random -n 16
	if grep -Eqx '([0-9A-F]{2} ){16}' "$case_dir/rust.out" && grep -Eqx '([0-9A-F]{2} ){16}' "$case_dir/go.out"; then
		compare generate-random ignore D5
	else
		report generate-random mismatch "not 16 hex bytes"
	fi

	# Keys: each tool makes its own (cmp-rust-*, cmp-go-*).
	cmd create-ecc-key exact "" -- create-ecc-key -k cmp-@T@-ecc
	cmd create-rsa-key exact "" -- create-rsa-key --key-name=cmp-@T@-rsa
	cmd create-rsa-key-sign exact "" -- create-rsa-key -k cmp-@T@-rsa-sign -s
	cmd create-rsa-key-oaep exact "" -- create-rsa-key -kcmp-@T@-rsa-oaep --oaep --bits 1024
	cmd create-ecc-key-again exact "" -- create-ecc-key -k cmp-@T@-ecc
	run_both list-keys -- list-keys
	# Both tools list both tools' keys; make the names tool-neutral.
	sed -i 's/cmp-rust-/cmp-@T@-/;s/cmp-go-/cmp-@T@-/' "$case_dir"/*.out
	compare list-keys sorted D7

	local k
	for k in ecc rsa rsa-sign rsa-oaep; do
		# Same key, same bytes: each tool exports both tools' keys.
		cmd "export-public-key-$k" exact "" -- export-public-key -k "cmp-rust-$k"
	done
	cmd export-public-key-pkcs1 exact "" -- export-public-key -k cmp-rust-rsa --pkcs1
	cmd export-public-key-ecc-pkcs1 exact D6 -- export-public-key -k cmp-rust-ecc --pkcs1
	PARSEC_SERVICE_ENDPOINT="$ep" "$rust_tool" export-public-key -k cmp-rust-ecc >"$work/$svc/ecc.pem" 2>/dev/null
	PARSEC_SERVICE_ENDPOINT="$ep" "$rust_tool" export-public-key -k cmp-rust-rsa-sign >"$work/$svc/rsa-sign.pem" 2>/dev/null

	local msg="compare me"
	printf '%s' "$msg" >"$work/$svc/msg"
	for k in ecc rsa-sign; do
		run_both "sign-$k" -- sign -k "cmp-rust-$k" "$msg"
		local t bad=
		for t in rust go; do
			if ! base64 -d <"$case_dir/$t.out" >"$case_dir/$t.sig" 2>/dev/null ||
				! "$openssl" dgst -sha256 -verify "$work/$svc/$k.pem" -signature "$case_dir/$t.sig" "$work/$svc/msg" >/dev/null 2>&1; then
				bad="$bad $t"
			fi
		done
		if [ -n "$bad" ]; then
			report "sign-$k" mismatch "openssl rejects the signature of:$bad"
		elif [ "$k" = ecc ]; then
			compare "sign-$k" ignore D5
		else
			# RSA PKCS#1 v1.5 signatures are deterministic.
			compare "sign-$k" exact ""
		fi
	done

	for k in rsa rsa-oaep; do
		run_both "encrypt-$k" -- encrypt -k "cmp-rust-$k" "$msg"
		cp "$case_dir/rust.out" "$work/$svc/ct-rust" && cp "$case_dir/go.out" "$work/$svc/ct-go"
		compare "encrypt-$k" ignore D5
		# Each tool decrypts the other's ciphertext.
		local ctr ctg
		ctr=$(cat "$work/$svc/ct-rust")
		ctg=$(cat "$work/$svc/ct-go")
		case_dir="$work/$svc/decrypt-$k"
		mkdir -p "$case_dir"
		env -u RUST_LOG PARSEC_SERVICE_ENDPOINT="$ep" "$rust_tool" decrypt -k "cmp-rust-$k" "$ctg" >"$case_dir/rust.out" 2>"$case_dir/rust.err"
		echo $? >"$case_dir/rust.rc"
		env -u RUST_LOG PARSEC_SERVICE_ENDPOINT="$ep" "$go_tool" decrypt -k "cmp-rust-$k" "$ctr" >"$case_dir/go.out" 2>"$case_dir/go.err"
		echo $? >"$case_dir/go.rc"
		if [ "$(cat "$case_dir/go.out")" != "$msg" ]; then
			report "decrypt-$k" mismatch "the plaintext is not the message"
		else
			compare "decrypt-$k" exact ""
		fi
	done

	for k in ecc rsa-sign; do
		run_both "create-csr-$k" -- create-csr -k "cmp-rust-$k" --cn parsec-go.example --serialNumber EZ4U2CIXL --o Org --c GB --san localhost
		local t
		for t in rust go; do
			# Everything but the signature, which is random (D5).
			"$openssl" req -in "$case_dir/$t.out" -noout -text -verify 2>&1 |
				sed '/Signature Value:/,$d' >"$case_dir/$t.txt"
		done
		if ! grep -q "verify OK" "$case_dir/rust.txt" || ! grep -q "verify OK" "$case_dir/go.txt"; then
			report "create-csr-$k" mismatch "openssl does not verify a CSR"
		elif ! cmp -s "$case_dir/rust.txt" "$case_dir/go.txt"; then
			report "create-csr-$k" mismatch "openssl text differs: $(diff "$case_dir/rust.txt" "$case_dir/go.txt" | tr '\n' ' ')"
		else
			# D10: the Rust tool signs the request twice and logs both.
			for t in rust go; do
				awk '!seen[$0]++' "$case_dir/$t.err" >"$case_dir/$t.err.u" && mv "$case_dir/$t.err.u" "$case_dir/$t.err"
			done
			compare "create-csr-$k" ignore "D5, D10"
		fi
	done
	cmd create-csr-not-signing exact D6 -- create-csr -k cmp-rust-rsa
	cmd sign-not-signing exact D6 -- sign -k cmp-rust-rsa "$msg"
	cmd encrypt-not-encryption exact D6 -- encrypt -k cmp-rust-ecc "$msg"

	cmd delete-key-missing exact D12 -- delete-key -k cmp-missing
	cmd sign-missing exact D12 -- sign -k cmp-missing "$msg"
	cmd export-public-key-missing exact D12 -- export-public-key -k cmp-missing
	cmd provider-0-create exact "" -- -p 0 create-ecc-key -k cmp-@T@-x
	cmd provider-9 exact "" -- -p 9 ping
	cmd provider-2-create exact "" -- -p 2 create-ecc-key -k cmp-@T@-x

	for k in ecc rsa rsa-sign rsa-oaep; do
		cmd "delete-key-$k" exact "" -- delete-key -k "cmp-@T@-$k"
	done
	cmd list-keys-after exact "" -- list-keys
	cmd rust-log-error exact "" RUST_LOG=error -- list-keys

	# Command-line errors (clap's texts).
	cmd unknown-subcommand exact "" -- no-such-subcommand
	cmd missing-key-name exact "" -- create-ecc-key
	cmd missing-value exact "" -- create-ecc-key -k
	cmd repeated-option exact "" -- create-ecc-key -k a -k b
	cmd sign-missing-args exact "" -- sign
	cmd bad-number exact "" -- generate-random -n abc
	cmd big-number exact "" -- -p 300 ping
	cmd extra-argument exact "" -- ping extra
	cmd unknown-flag exact "" -- create-ecc-key -k x -s
	cmd unknown-help-topic exact "" -- help foo
}

compare_endpoints() {
	local d="$work/$svc/ep"
	mkdir -p "$d"
	: >"$d/not-a-socket"
	python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$d/stale.sock" 2>/dev/null
	local e
	for e in "unix:$d/none.sock" "unix:$d/not-a-socket" "$d/none.sock" "tcp://127.0.0.1:1"; do
		run_both "endpoint-$(basename "$e")" PARSEC_SERVICE_ENDPOINT="$e" -- ping
		compare "endpoint $e ping" exact D8
		run_both "endpoint-$(basename "$e")-auth" PARSEC_SERVICE_ENDPOINT="$e" -- list-keys
		compare "endpoint $e list-keys" exact D8
	done
	if [ -S "$d/stale.sock" ]; then
		run_both endpoint-stale PARSEC_SERVICE_ENDPOINT="unix:$d/stale.sock" -- ping
		compare "endpoint stale socket ping" exact D1
		run_both endpoint-stale-auth PARSEC_SERVICE_ENDPOINT="unix:$d/stale.sock" -- list-keys
		compare "endpoint stale socket list-keys" exact D1
	fi
}

run_against() {
	svc=$1
	mkdir -p "$work/$svc"
	# start_* run in a subshell ($(...)), so the service is recorded here,
	# before it starts, for cleanup to stop it whatever happens.
	case $svc in
	rust | go) services_started+=("$svc:$work/$svc/service") ;;
	esac
	case $svc in
	rust) ep=$(start_rust "$work/$svc/service") || {
		report "start the Rust service" mismatch "failed"
		return
	} ;;
	go) ep=$(start_go "$work/$svc/service") || {
		report "start our service" mismatch "failed"
		return
	} ;;
	endpoint) ep=$endpoint ;;
	esac
	echo "== $svc service at $ep"
	compare_all
	compare_endpoints
}

if [ -n "$endpoint" ]; then
	run_against endpoint
else
	case $service in
	rust | go) run_against "$service" ;;
	both)
		run_against rust
		run_against go
		;;
	esac
fi

echo
echo "$same same, $justified justified, $mismatched mismatched"
[ "$mismatched" = 0 ]
