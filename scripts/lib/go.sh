# shellcheck shell=sh
# ensure_go puts a Go toolchain >= 1.22 on PATH. On a machine without one
# (a fresh Debian bookworm has Go 1.19), it installs golang-1.23 from
# bookworm-backports, Debian's own build.

go_ok() {
	command -v go >/dev/null 2>&1 || return 1
	v=$(go env GOVERSION 2>/dev/null | sed 's/^go//')
	major=${v%%.*}
	rest=${v#*.}
	minor=${rest%%.*}
	[ "${major:-0}" -gt 1 ] || { [ "${major:-0}" -eq 1 ] && [ "${minor:-0}" -ge 22 ]; }
}

ensure_go() {
	for d in /usr/local/go/bin /usr/lib/go-1.23/bin; do
		if ! go_ok && [ -x "$d/go" ]; then
			PATH="$d:$PATH"
			export PATH
		fi
	done
	go_ok && return 0
	echo "installing Go 1.23 from bookworm-backports" >&2
	if [ "$(id -u)" != 0 ]; then
		echo "need root (or sudo) to install Go; install Go >= 1.22 and retry" >&2
		return 1
	fi
	echo "deb http://deb.debian.org/debian bookworm-backports main" >/etc/apt/sources.list.d/parsec-go-backports.list
	# Callers run from the repository root (pkcs11-module-tests.sh sources
	# lib/apt.sh itself).
	# shellcheck source=scripts/lib/apt.sh
	command -v apt_get >/dev/null 2>&1 || . scripts/lib/apt.sh
	apt_get update -qq
	apt_get install -y -qq -t bookworm-backports golang-1.23-go >/dev/null
	PATH="/usr/lib/go-1.23/bin:$PATH"
	export PATH
	go_ok
}
