#!/bin/sh
# Runs every Go fuzz target in the repository for a while each.
#
#   scripts/fuzz.sh [N]           N executions per target (default 20000,
#                                 the CI slice); give more for a campaign
#   scripts/fuzz.sh 10m           or a duration per target
#
# The slice counts executions rather than time: with a short -fuzztime
# duration, go test sometimes ends with "context deadline exceeded" when
# the deadline meets a worker mid-call, although nothing failed.
#
# Findings are written by go test under the package's testdata/fuzz/ and
# make this script fail; commit them as regression inputs once fixed.
set -u
cd "$(dirname "$0")/.."
. scripts/lib/go.sh
ensure_go || exit 1
budget=${1:-20000}
case $budget in *[!0-9]*) ;; *) budget=${budget}x ;; esac
passed=0
failed=0
for entry in $(grep -rl --include='*_test.go' '^func Fuzz' . | grep -v '^./vendor/' | sort); do
	pkg=./$(dirname "${entry#./}")
	for target in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$entry"); do
		# Minimising a coverage-expanding input is bounded too (60 s by
		# default), so that the slice stays short.
		# The tag adds the JwtSvid token target (it only adds code).
		if go test -tags parsec_jwtsvid -run '^$' -fuzz "^$target\$" -fuzztime "$budget" -fuzzminimizetime 100x "$pkg" >/tmp/fuzz.$$ 2>&1; then
			passed=$((passed + 1))
			echo "PASS $pkg $target"
		else
			failed=$((failed + 1))
			echo "FAIL $pkg $target"
			tail -20 /tmp/fuzz.$$ | sed 's/^/     /'
		fi
	done
done
rm -f /tmp/fuzz.$$
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
