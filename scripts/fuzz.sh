#!/bin/sh
# Runs every Go fuzz target in the repository for a while each.
#
#   scripts/fuzz.sh [SECONDS]     default 10 s per target (the CI slice);
#                                 give more for a real campaign
#
# Findings are written by go test under the package's testdata/fuzz/ and
# make this script fail; commit them as regression inputs once fixed.
set -u
cd "$(dirname "$0")/.."
. scripts/lib/go.sh
ensure_go || exit 1
secs=${1:-10}
mini=$((secs / 5 > 0 ? secs / 5 : 1))
passed=0
failed=0
for entry in $(grep -rl --include='*_test.go' '^func Fuzz' . | grep -v '^./vendor/' | sort); do
	pkg=./$(dirname "${entry#./}")
	for target in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$entry"); do
		# Minimising each coverage-expanding input may take up to 60 s by
		# default, past a short -fuzztime: go test then stops with "context
		# deadline exceeded" although nothing failed. Keep it inside the slice.
		if go test -run '^$' -fuzz "^$target\$" -fuzztime "${secs}s" -fuzzminimizetime "${mini}s" "$pkg" >/tmp/fuzz.$$ 2>&1; then
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
