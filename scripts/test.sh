#!/bin/sh
# The project's test command: what CI runs (.ci/run) and what a newcomer
# runs on a fresh Debian machine. It installs what the suites need.
#
#   scripts/test.sh            every suite CI runs
#   scripts/test.sh --quick    static checks and Go tests only, offline
#                              (vendor/, no module proxy)
#   scripts/test.sh SUITE...   the named suites (see the list below)
#
# Each suite prints its own results; the last line counts the suites:
# "N passed, N failed". Exit status is non-zero if any suite failed.
set -u
cd "$(dirname "$0")/.."
. scripts/lib/go.sh
ensure_go || exit 1
export CGO_ENABLED=0

# interop runs before unit: it builds the cached trixie root that the TPM
# provider's end-to-end test needs for its Rust parsec-tool half.
suites_all="static interop takeover pkcs11 unit ts pkcs11module spire fuzz yocto arm64 qemu"
suites_quick="static unit"

passed=0
failed=0
failed_names=""
flaky=""

run_suite() {
	name=$1
	shift
	echo "=== suite $name"
	start=$(date +%s)
	if "$@"; then
		passed=$((passed + 1))
		echo "=== suite $name: PASS ($(($(date +%s) - start)) s)"
	else
		failed=$((failed + 1))
		failed_names="$failed_names $name"
		echo "=== suite $name: FAIL ($(($(date +%s) - start)) s)"
	fi
}

# static: formatting, vet (its stdversion check keeps us on Go 1.22's
# standard library), the go line, vendor/ in sync with go.mod.
suite_static() {
	ok=0
	unformatted=$(gofmt -l $(git ls-files '*.go' | grep -v '^vendor/'))
	if [ -n "$unformatted" ]; then
		echo "gofmt needed:"; echo "$unformatted"; ok=1
	fi
	go vet ./... || ok=1
	goline=$(sed -n 's/^go \([0-9.]*\)$/\1/p' go.mod)
	if [ "$goline" != "1.22" ]; then
		echo "go.mod go line is '$goline'; it must stay 1.22 (Yocto scarthgap)"; ok=1
	fi
	# Every package resolves from vendor/ alone: no proxy, an empty module
	# cache (what --quick and the Yocto build rely on).
	nomods=$(mktemp -d)
	if ! out=$(GOFLAGS=-mod=vendor GOPROXY=off GOMODCACHE=$nomods go list -deps -test ./... 2>&1 >/dev/null); then
		echo "$out"; echo "vendor/ does not hold every module the build needs: run 'go mod vendor'"; ok=1
	fi
	rm -rf "$nomods"
	# The files under vendor/ against the modules: those come from the
	# module cache, or the proxy when online.
	tmp=$(mktemp -d)
	cp -r go.mod go.sum vendor "$tmp/" 2>/dev/null
	if out=$(GOFLAGS= go mod vendor -o "$tmp/vendor.new" 2>&1); then
		if ! diff -r "$tmp/vendor" "$tmp/vendor.new" >/dev/null 2>&1; then
			echo "vendor/ is out of sync with go.mod: run 'go mod vendor'"; ok=1
		fi
	elif [ -n "$quick" ]; then
		echo "static: vendor/ file check skipped: offline and the modules are not in the module cache ($(echo "$out" | tail -n 1)); CI runs it"
	else
		echo "$out"; ok=1
	fi
	rm -rf "$tmp"
	return $ok
}

# unit: every Go test, end-to-end ones included (they build and start the
# real daemon on a temporary socket). A package that fails is run once
# more on its own: if it passes then, the suite passes, and the failure is
# reported as flaky at the end of the run (the part of the log CI keeps),
# with the tests that failed, so that it gets fixed rather than lost.
suite_unit() {
	log=$(mktemp)
	{ go test -count=1 ./...; echo $? >"$log.rc"; } 2>&1 | tee "$log"
	rc=$(cat "$log.rc")
	failed_pkgs=$(sed -n 's/^FAIL[[:space:]]\{1,\}\([^[:space:]]\{1,\}\).*/\1/p' "$log" | grep -v '^FAIL$' | sort -u)
	if [ "$rc" = 0 ] || [ -z "$failed_pkgs" ]; then
		rm -f "$log" "$log.rc"
		return "$rc"
	fi
	failed_tests=$(grep -- '--- FAIL:' "$log" | sed 's/ (.*//; s/^[[:space:]]*--- FAIL: //' | sort -u | tr '\n' ' ')
	rm -f "$log" "$log.rc"
	echo "unit: re-running what failed: $failed_pkgs"
	# shellcheck disable=SC2086 # one argument per package
	go test -count=1 $failed_pkgs || return 1
	flaky="$flaky
unit: failed once, passed when re-run: $(echo "$failed_pkgs" | tr '\n' ' ')(tests: $failed_tests)"
	return 0
}

suite_interop() {
	[ -x scripts/interop.sh ] || { echo "scripts/interop.sh not present yet"; return 0; }
	scripts/interop.sh
}

# takeover: upgrade in place from the Rust service 1.4.1 (SQLite key info
# manager, Mbed Crypto and TPM keys of two uids, rollback, kill -9 during
# the takeover); scripts/takeover-tests.sh without --quick adds OnDisk.
suite_takeover() {
	scripts/takeover-tests.sh --quick
}

# ts: the CLI suite through our service with only the Trusted Services
# provider, the emulated secure world in its own process, both encodings.
suite_ts() {
	scripts/ts-cli-tests.sh --encoding packed-c --transport unix &&
		scripts/ts-cli-tests.sh --encoding protobuf --transport unix-inline
}

# pkcs11: the CLI suite against provider 2 (daemon + cgo co-server) and the
# Rust service on SoftHSM 2 tokens, --no-oaep only (scripts/pkcs11-cli-tests.sh
# without --quick for both variants). It runs before unit because it installs
# softhsm2 and a C compiler, which the PKCS#11 Go tests then use.
suite_pkcs11() {
	scripts/pkcs11-cli-tests.sh --quick
}

# pkcs11module: libparsec-pkcs11.so with pkcs11-tool, p11tool and OpenSSL
# against our service (scripts/pkcs11-module-tests.sh; --quick skips RSA
# 4096, TLS 1.2 and the Rust service; it includes the fork checks and the
# module's unit tests). The module is plain C (make), no cgo.
suite_pkcs11module() {
	scripts/pkcs11-module-tests.sh --quick
}

# spire: the JwtSvid authenticator with its build tag, against a real SPIRE
# server and agent (built once by scripts/spire-build.sh and cached).
suite_spire() {
	scripts/spire-tests.sh --short
}

# fuzz: a short slice of every fuzz target (scripts/fuzz.sh N|DURATION for more).
suite_fuzz() {
	scripts/fuzz.sh 20000
}

suite_yocto() {
	[ -x scripts/yocto-check/run-all.sh ] || { echo "scripts/yocto-check/run-all.sh not present yet"; return 0; }
	scripts/yocto-check/run-all.sh
}

suite_arm64() {
	[ -x scripts/arm64-tests.sh ] || { echo "scripts/arm64-tests.sh not present yet"; return 0; }
	scripts/arm64-tests.sh
}

# qemu: arm64 with every provider; the x86-64 (TPM) and armv7 (software,
# its only provider) tiers as a short slice, one boot each. x86-64 runs
# under TCG like the others: KVM where the host offers it may be nested and
# broken (on the project's machine the guest stops with "KVM internal
# error ... emulation failure" and only the timeout ends it).
suite_qemu() {
	[ -x qemu-tests/run ] || { echo "qemu-tests/run not present yet"; return 0; }
	ok=0
	qemu-tests/run --arch arm64 --provider all || ok=1
	QT_NO_KVM=1 qemu-tests/run --arch x86-64 --provider tpm || ok=1
	qemu-tests/run --arch armv7 --provider software || ok=1
	return $ok
}

quick=
case "${1:-}" in
"") suites=$suites_all ;;
--quick)
	suites=$suites_quick
	quick=1
	# Offline: every module from vendor/, the installed toolchain, no
	# proxy (a test that needs the network fails instead of downloading).
	export GOFLAGS=-mod=vendor GOPROXY=off GOTOOLCHAIN=local
	;;
*) suites=$* ;;
esac
for s in $suites; do
	run_suite "$s" "suite_$s"
done
[ -z "$flaky" ] || echo "FLAKY (passed on a re-run; fix them):$flaky"
[ -z "$failed_names" ] || echo "failed suites:$failed_names"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
