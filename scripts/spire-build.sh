#!/bin/sh
# Usage: scripts/spire-build.sh
#
# Builds spire-server and spire-agent (github.com/spiffe/spire, SPIRE_VERSION,
# default v1.13.3) from the Go module proxy in a throw-away module, and caches
# the binaries under ${PARSEC_CACHE:-$HOME/.cache/parsec-go}/spire/VERSION.
# spire-server needs cgo (its SQLite datastore is mattn/go-sqlite3), so a C
# compiler is installed when missing; spire-agent is built static.
# SPIRE never enters our module or vendor/: it is a test fixture, like the
# trixie root. The last line on stdout is the directory holding both
# binaries. The first build takes several minutes on 2 cores; later runs reuse
# the cache.
set -eu
# shellcheck source=scripts/lib/apt.sh
. "$(dirname "$0")/lib/apt.sh"
version=${SPIRE_VERSION:-v1.13.3}
cache=${PARSEC_CACHE:-$HOME/.cache/parsec-go}/spire
out=$cache/$version
if [ -x "$out/spire-server" ] && [ -x "$out/spire-agent" ]; then
	echo "$out"
	exit 0
fi
mkdir -p "$cache"
# Two suites building at once would both spend minutes; the second waits.
exec 9>"$cache/.lock"
flock -w 1800 9 || { echo "spire-build: timed out waiting for $cache/.lock" >&2; exit 1; }
if [ -x "$out/spire-server" ] && [ -x "$out/spire-agent" ]; then
	echo "$out"
	exit 0
fi
if ! command -v gcc >/dev/null 2>&1; then
	[ "$(id -u)" = 0 ] || { echo "spire-build: spire-server needs gcc (cgo SQLite); install gcc" >&2; exit 1; }
	echo "spire-build: installing gcc for spire-server's SQLite datastore" >&2
	apt_get install -y -q gcc libc6-dev >&2 ||
		{ apt_get update -q >&2 && apt_get install -y -q gcc libc6-dev >&2; }
fi
tmp=$(mktemp -d "$cache/build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)
(
	cd "$tmp"
	# SPIRE's own go line may be newer than the local Go: let the go
	# command fetch the toolchain it names from the module proxy.
	export GOTOOLCHAIN=${GOTOOLCHAIN:-auto} GOFLAGS=-mod=mod
	go mod init spire-fixture >/dev/null 2>&1
	go get -tool "github.com/spiffe/spire/cmd/spire-server@$version" "github.com/spiffe/spire/cmd/spire-agent@$version" >&2
	mkdir -p bin
	CGO_ENABLED=0 go build -trimpath -ldflags=-s -o bin/ github.com/spiffe/spire/cmd/spire-agent >&2
	CGO_ENABLED=1 go build -trimpath -ldflags=-s -o bin/ github.com/spiffe/spire/cmd/spire-server >&2
)
mkdir -p "$out.new"
mv "$tmp/bin/spire-server" "$tmp/bin/spire-agent" "$out.new/"
rm -rf "$out"
mv "$out.new" "$out"
echo "spire-build: built SPIRE $version in $(($(date +%s) - start)) s" >&2
echo "$out"
