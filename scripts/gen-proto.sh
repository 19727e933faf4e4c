#!/bin/sh
# Regenerates wire/pb from wire/proto and ts/pb from ts/proto. Needs protoc (Debian: protobuf-compiler);
# protoc-gen-go is installed from the module proxy at the version go.mod pins,
# so the generated code always matches the vendored runtime.
set -eu
cd "$(dirname "$0")/.."
if ! command -v protoc >/dev/null 2>&1; then
	apt-get install -y protobuf-compiler >/dev/null
fi
ver=$(go list -m -f '{{.Version}}' google.golang.org/protobuf)
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
GOFLAGS=-mod=mod GOBIN="$bin" go install "google.golang.org/protobuf/cmd/protoc-gen-go@$ver"
rm -f wire/pb/*.pb.go
mkdir -p wire/pb
PATH="$bin:$PATH" protoc -I wire/proto \
	--go_out=wire/pb --go_opt=paths=source_relative \
	wire/proto/*.proto
# Trusted Services crypto protobuf encoding (ts/proto -> ts/pb).
rm -f ts/pb/*.pb.go
mkdir -p ts/pb
PATH="$bin:$PATH" protoc -I ts/proto \
	--go_out=ts/pb --go_opt=paths=source_relative \
	ts/proto/*.proto
echo "generated: $(ls wire/pb ts/pb)"
