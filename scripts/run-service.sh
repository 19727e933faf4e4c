#!/bin/sh
# Builds and runs the Parsec service on its embedded default: the software
# provider, state in ./parsec-state of the repository, no root needed.
# Extra arguments go to the service. Stop it with Ctrl-C.
set -eu
cd "$(dirname "$0")/.."
. scripts/lib/go.sh
ensure_go
mkdir -p bin parsec-state
CGO_ENABLED=0 go build -trimpath -o bin/parsec ./service/cmd/parsec
config=conf/parsec/config.toml
if [ "$(id -u)" = 0 ]; then
	# The service refuses root unless told otherwise; a root shell (a CI
	# container, say) gets a copy that allows it, and a warning.
	echo "run-service: running as root; prefer an ordinary user" >&2
	sed 's/^allow_root = false/allow_root = true/' "$config" >parsec-state/config-root.toml
	config=parsec-state/config-root.toml
fi
echo "run-service: clients connect with: export PARSEC_SERVICE_ENDPOINT=unix:$PWD/parsec-state/parsec.sock" >&2
exec bin/parsec --config "$config" "$@"
