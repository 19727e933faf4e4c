#!/bin/sh
# The Yocto layer's checks, from a clean Debian bookworm machine (root):
# installs what they need from apt, then runs
#   1. check_layer.py     static checks of conf/, recipes-*/, meta-parsec/,
#                         lib/oeqa, go.mod and vendor/
#   2. tests/test_checker.py  the checker fails on broken copies of the layer
#   3. stage_install.py   the recipes' unpack/compile/install into staging
#                         roots (several arches, releases, PACKAGECONFIGs;
#                         the daemon links only the providers chosen)
#   4. Go 1.22 build      scarthgap's Go builds both programs (and the
#                         PKCS#11 module when a C compiler is there)
#   5. check_kas.py       kas/*.yml against Debian kas's schema
#   6. init-tests         sysvinit script and systemd units with the daemon
# Exits non-zero if anything failed; the last line is "N passed, N failed".
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PY=/usr/bin/python3
LOG=$(mktemp -d /tmp/yocto-check.XXXXXX)
trap 'rm -rf "$LOG"' EXIT
GO122=${YOCTO_CHECK_GO122:-go1.22.12}

passed=0
failed=0

START=$(date +%s)
note() { echo "== [$(($(date +%s) - START))s] $*"; }

# --- dependencies -----------------------------------------------------------
missing=""
command -v busybox >/dev/null 2>&1 || missing="$missing busybox"
command -v shellcheck >/dev/null 2>&1 || missing="$missing shellcheck"
command -v systemd-analyze >/dev/null 2>&1 || missing="$missing systemd"
command -v systemd-socket-activate >/dev/null 2>&1 || missing="$missing systemd"
command -v setpriv >/dev/null 2>&1 || missing="$missing util-linux"
command -v file >/dev/null 2>&1 || missing="$missing file"
command -v useradd >/dev/null 2>&1 || missing="$missing passwd"
[ -x "$PY" ] || missing="$missing python3"
"$PY" -c 'import kas, yaml, jsonschema' >/dev/null 2>&1 || missing="$missing kas python3-yaml python3-jsonschema"
if [ -n "$missing" ]; then
	note "installing:$missing"
	# shellcheck source=scripts/lib/apt.sh
	. "$ROOT/scripts/lib/apt.sh"
	# shellcheck disable=SC2086
	if ! apt_get install -y -qq $missing >"$LOG/apt" 2>&1; then
		apt_get update -qq >>"$LOG/apt" 2>&1
		# shellcheck disable=SC2086
		apt_get install -y -qq $missing >>"$LOG/apt" 2>&1 ||
			{ tail -20 "$LOG/apt"; echo "FAIL: apt-get install$missing"; failed=$((failed + 1)); }
	fi
fi

# --- helpers ----------------------------------------------------------------
# Run a step that prints PASS:/FAIL:/SKIP: lines; count them. A step that
# exits non-zero without a FAIL line counts as one failure.
step() {
	name=$1
	shift
	note "$name"
	"$@" >"$LOG/out" 2>&1
	rc=$?
	cat "$LOG/out"
	p=$(grep -c '^PASS:' "$LOG/out")
	f=$(grep -c '^FAIL:' "$LOG/out")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL: $name exited with $rc"
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
}

# unittest: one count per test.
unit() {
	name=$1
	shift
	note "$name"
	"$@" >"$LOG/out" 2>&1
	rc=$?
	cat "$LOG/out"
	p=$(grep -c ' \.\.\. ok$' "$LOG/out")
	f=$(grep -Ec ' \.\.\. (FAIL|ERROR)$' "$LOG/out")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
}

stage() { "$PY" "$HERE/stage_install.py" "$@"; }
SERVICE=$ROOT/recipes-security/parsec-service/parsec-service_0.1.0.bb
TOOL=$ROOT/recipes-security/parsec-tool/parsec-tool_0.1.0.bb
P11MODULE=$ROOT/recipes-security/parsec-pkcs11-module/parsec-pkcs11-module_0.1.0.bb

step "static layer checks" "$PY" "$HERE/check_layer.py"
unit "checker fails on broken layers" "$PY" "$HERE/tests/test_checker.py" -v
step "staging: parsec-service amd64, wrynose, systemd+sysvinit+tpm2 (MBED-CRYPTO TPM)" \
	stage "$SERVICE" --create-host-accounts --run-version \
	--expect "$HERE/expected/parsec-service.tree"
step "staging: parsec-service arm64, scarthgap, usrmerge systemd (MBED-CRYPTO only)" \
	stage "$SERVICE" --arch arm64 --release scarthgap --distro-features "systemd usrmerge" \
	--expect "$HERE/expected/parsec-service.tree"
step "staging: parsec-service arm (GOARM=7), sysvinit, TS+SWTPM" \
	stage "$SERVICE" --arch arm --distro-features sysvinit \
	--packageconfig "MBED-CRYPTO TPM TS SWTPM" --expect "$HERE/expected/parsec-service.tree"
step "staging: parsec-service amd64, systemd, PKCS11 (the cgo co-server beside the daemon)" \
	stage "$SERVICE" --distro-features systemd --packageconfig "MBED-CRYPTO PKCS11" \
	--expect "$HERE/expected/parsec-service-pkcs11.tree"
step "staging: parsec-tool amd64" \
	stage "$TOOL" --expect "$HERE/expected/parsec-tool.tree"
step "staging: parsec-tool arm64, scarthgap" \
	stage "$TOOL" --arch arm64 --release scarthgap --expect "$HERE/expected/parsec-tool.tree"
# The PKCS#11 module is plain C (make, p11-kit's pkcs11.h from
# libp11-kit-dev): staged with the host's compiler, then cross-compiled for
# arm64 and arm with the Debian cross compilers when they are installed.
if echo '#include <p11-kit-1/p11-kit/pkcs11.h>' | cc -x c -fsyntax-only - 2>/dev/null; then
	step "staging: parsec-pkcs11-module amd64 (C, make)" \
		stage "$P11MODULE" --expect "$HERE/expected/parsec-pkcs11-module.tree"
	step "staging: parsec-pkcs11-module amd64, scarthgap" \
		stage "$P11MODULE" --release scarthgap --expect "$HERE/expected/parsec-pkcs11-module.tree"
	p11cross() { # CC ELF-MACHINE
		inc=$(mktemp -d) || return 1
		# Only pkcs11.h from the host: the cross compiler keeps its own libc headers.
		ln -s /usr/include/p11-kit-1 "$inc/p11-kit-1"
		if out=$(make -s -C "$ROOT/tools/parsec-pkcs11-module" -f Makefile CC="$1" CPPFLAGS="-I$inc" \
			LIB="$inc/libparsec-pkcs11.so" "$inc/libparsec-pkcs11.so" 2>&1) &&
			readelf -h "$inc/libparsec-pkcs11.so" | grep -q "Machine: *$2"; then
			echo "PASS: libparsec-pkcs11.so cross-compiles with $1 ($2)"
		else
			echo "FAIL: libparsec-pkcs11.so with $1: $out"
		fi
		rm -rf "$inc"
	}
	for cross in aarch64-linux-gnu-gcc:AArch64 arm-linux-gnueabihf-gcc:ARM; do
		if command -v "${cross%:*}" >/dev/null; then
			step "cross: parsec-pkcs11-module with ${cross%:*}" p11cross "${cross%:*}" "${cross#*:}"
		else
			note "skip cross-compiling parsec-pkcs11-module: no ${cross%:*}"
		fi
	done
else
	note "skip staging parsec-pkcs11-module: no C compiler or libp11-kit-dev"
fi

go122() {
	cd "$ROOT" || return 1
	for pkg in ./service/cmd/parsec ./tools/parsec-tool; do
		if out=$(GOTOOLCHAIN=$GO122 GOFLAGS=-mod=vendor CGO_ENABLED=0 go build -trimpath -o /dev/null "$pkg" 2>&1); then
			echo "PASS: $pkg builds with $GO122 (scarthgap's Go)"
		else
			echo "FAIL: $pkg with $GO122: $out"
		fi
	done
	# The recipe's software-only build (PACKAGECONFIG without TPM and TS).
	tags=parsec_no_tpm,parsec_no_trustedservice,parsec_no_pkcs11
	if out=$(GOTOOLCHAIN=$GO122 GOFLAGS=-mod=vendor CGO_ENABLED=0 go build -trimpath -tags $tags -o /dev/null ./service/cmd/parsec 2>&1); then
		echo "PASS: ./service/cmd/parsec -tags $tags builds with $GO122"
	else
		echo "FAIL: ./service/cmd/parsec -tags $tags with $GO122: $out"
	fi
	# The PKCS#11 co-server, the one cgo program (PACKAGECONFIG PKCS11).
	if ! command -v cc >/dev/null; then
		echo "SKIP: ./service/cmd/parsec-pkcs11 needs a C compiler"
	elif out=$(GOTOOLCHAIN=$GO122 GOFLAGS=-mod=vendor CGO_ENABLED=1 go build -trimpath -o /dev/null ./service/cmd/parsec-pkcs11 2>&1); then
		echo "PASS: ./service/cmd/parsec-pkcs11 (cgo) builds with $GO122"
	else
		echo "FAIL: ./service/cmd/parsec-pkcs11 with $GO122: $out"
	fi
}
step "Go 1.22 build" go122

step "kas files" "$PY" "$HERE/check_kas.py" "$ROOT"
step "init integration against the daemon" "$PY" "$ROOT/scripts/init-tests/test_init.py"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
