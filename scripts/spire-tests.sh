#!/bin/sh
# Usage: scripts/spire-tests.sh [--short] [FUZZ_EXECS]
#
# The JwtSvid authenticator's suite, all with -tags parsec_jwtsvid:
#   1. vet of the tagged code (daemon side, client package, parsec-tool) and
#      its unit tests (crafted tokens: expired, not-yet-valid, wrong
#      audience, wrong trust domain, alg none, forged, ...; bundle rotation;
#      Workload API down; the SPIFFE client package);
#   2. the end-to-end test against a real SPIRE server and agent
#      (service/auth/spiretest): isolation by SPIFFE ID, two IDs in one uid,
#      UnixPeerCredentials and JwtSvid clients at once, admin list/delete,
#      a replayed token, the agent stopped and restarted, the Workload API
#      down when the service starts;
#   3. the PKCS#11 module with JWT-SVIDs from a SPIRE server and agent
#      (scripts/pkcs11-module-spire-tests.sh);
#   4. the token fuzz target (FUZZ_EXECS executions, default 20000).
# --short (the CI slice, from scripts/test.sh) skips 4; scripts/fuzz.sh
# already runs the target.
#
# SPIRE (spire-server, spire-agent) is built from the Go module proxy by
# scripts/spire-build.sh and cached; the first build takes minutes. The
# end-to-end test needs root (workloads run as uids 1001-1004).
set -u
cd "$(dirname "$0")/.."
. scripts/lib/go.sh
ensure_go || exit 1
short=0
if [ "${1:-}" = --short ]; then
	short=1
	shift
fi
execs=${1:-20000}
export CGO_ENABLED=0
tags="-tags parsec_jwtsvid"
pkgs="./service/auth/... ./service/config ./client/... ./tools/parsec-tool"
# The client's and parsec-tool's own tests run in the unit suite; with the
# tag only the SPIFFE packages' tests differ.
tested="./service/auth/... ./client/spiffe"
passed=0
failed=0
step() {
	name=$1
	shift
	echo "--- $name"
	if "$@"; then
		passed=$((passed + 1))
		echo "PASS $name"
	else
		failed=$((failed + 1))
		echo "FAIL $name"
	fi
}

# shellcheck disable=SC2086
step "vet (tagged)" go vet $tags $pkgs
# shellcheck disable=SC2086
step "unit tests (tagged)" go test $tags -count=1 $tested

start=$(date +%s)
if spire=$(scripts/spire-build.sh | tail -1); then
	echo "SPIRE ready in $(($(date +%s) - start)) s: $spire"
	# shellcheck disable=SC2086
	step "SPIRE end-to-end" env PARSEC_SPIRE_DIR="$spire" timeout 900 go test $tags -count=1 -v -run TestSPIRE ./service/auth/spiretest
else
	failed=$((failed + 1))
	echo "FAIL building SPIRE"
fi

# The PKCS#11 module (plain C) authenticating with JWT-SVIDs from a SPIRE
# server and agent of its own (scripts/pkcs11-module-spire-tests.sh).
if [ -n "${spire:-}" ] && [ -x "$spire/spire-agent" ]; then
	step "PKCS#11 module with JWT-SVIDs from SPIRE" timeout 600 scripts/pkcs11-module-spire-tests.sh "$spire"
fi

if [ $short = 0 ]; then
	case $execs in *[!0-9]*) ;; *) execs=${execs}x ;; esac
	# shellcheck disable=SC2086
	step "fuzz FuzzJwtSvidToken" go test $tags -run '^$' -fuzz '^FuzzJwtSvidToken$' -fuzztime "$execs" -fuzzminimizetime 100x ./service/auth
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
