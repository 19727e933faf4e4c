#!/bin/sh
# Regenerates the protobuf Go code:
#   wire/proto/*.proto -> wire/pb, internal/ts/proto/*.proto -> internal/ts/pb, and the
#   generator's own test schema, with tools/protoc-gen-go-parsec, whose
#   output needs only protowire at run time;
#   the same files -> <package>/internal/refpb with the standard
#   protoc-gen-go: the reference the differential tests compare against,
#   imported by tests only.
# Needs protoc (Debian: protobuf-compiler). protoc-gen-go is installed from
# the module proxy at the version go.mod pins, so that the reference matches
# the vendored runtime.
set -eu
cd "$(dirname "$0")/.."
if ! command -v protoc >/dev/null 2>&1; then
	# shellcheck source=scripts/lib/apt.sh
	. scripts/lib/apt.sh
	apt_get install -y protobuf-compiler >/dev/null
fi
module=$(go list -m)
ver=$(go list -m -f '{{.Version}}' google.golang.org/protobuf)
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
GOFLAGS=-mod=mod GOBIN="$bin" go install "google.golang.org/protobuf/cmd/protoc-gen-go@$ver"
go build -o "$bin/protoc-gen-go-parsec" ./tools/protoc-gen-go-parsec

# gen SRC OUT: SRC/*.proto -> OUT (ours) and OUT/internal/refpb (reference).
gen() {
	src=$1 out=$2 ref=$2/internal/refpb
	rm -f "$out"/*.pb.go "$out"/messages.pb_test.go "$ref"/*.pb.go
	mkdir -p "$out" "$ref"
	PATH="$bin:$PATH" protoc -I "$src" \
		--go-parsec_out="$out" --go-parsec_opt=paths=source_relative,test_table=true \
		"$src"/*.proto
	# The reference: the same files in another Go package.
	opts=paths=source_relative
	for f in "$src"/*.proto; do
		opts="$opts,M$(basename "$f")=$module/$ref;refpb"
	done
	PATH="$bin:$PATH" protoc -I "$src" --go_out="$ref" --go_opt="$opts" "$src"/*.proto
	echo "generated: $(cd "$out" && ls *.pb.go *.pb_test.go internal/refpb/*.pb.go | tr '\n' ' ')"
}
gen wire/proto wire/pb
# Trusted Services crypto protobuf encoding.
gen internal/ts/proto internal/ts/pb
gen tools/protoc-gen-go-parsec/internal/kindspb tools/protoc-gen-go-parsec/internal/kindspb
