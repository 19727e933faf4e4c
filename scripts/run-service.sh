#!/bin/sh
# Builds the Parsec service and parsec-tool into bin/ and runs the service on
# its embedded default: the software provider, state in ./parsec-state of the
# repository, no root needed. Extra arguments go to the service. Stop it
# with Ctrl-C. The first build compiles every dependency (from vendor/, no
# download); later ones take seconds.
set -eu
cd "$(dirname "$0")/.."
. scripts/lib/go.sh
ensure_go
mkdir -p bin parsec-state
# The service refuses state directories others can write (a umask of 002
# would make this one group-writable).
chmod go-w parsec-state
echo "run-service: building bin/parsec and bin/parsec-tool (the first build takes a while)" >&2
CGO_ENABLED=0 go build -mod=vendor -trimpath -o bin/parsec ./service/cmd/parsec
CGO_ENABLED=0 go build -mod=vendor -trimpath -o bin/parsec-tool ./tools/parsec-tool
config=conf/parsec/config.toml
if [ "$(id -u)" = 0 ]; then
	# The service refuses root unless told otherwise; a root shell (a CI
	# container, say) gets a copy that allows it, and a warning.
	echo "run-service: running as root; prefer an ordinary user" >&2
	sed 's/^allow_root = false/allow_root = true/' "$config" >parsec-state/config-root.toml
	config=parsec-state/config-root.toml
fi
echo "run-service: in another shell, to use parsec-tool with this service:" >&2
echo "    export PATH=\"$PWD/bin:\$PATH\" PARSEC_SERVICE_ENDPOINT=unix:$PWD/parsec-state/parsec.sock" >&2
echo "    parsec-tool ping" >&2
exec bin/parsec --config "$config" "$@"
