# Shared by the runner and the tests in the guest.
# shellcheck shell=sh
export PATH=/usr/bin:/bin:/usr/sbin:/sbin
. /qt/env
SOCK=/run/parsec/parsec.sock
export PARSEC_SERVICE_ENDPOINT=unix:$SOCK

uptime_s() { cut -d' ' -f1 /proc/uptime; }
# info: a line for the host, whatever stdout is redirected to.
info() { echo "QT:INFO $*" >/dev/console; }
fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }

# quote ARGS: one shell word per argument, for su -c.
quote() {
	for a in "$@"; do
		printf "'%s' " "$(printf '%s' "$a" | sed "s/'/'\\\\''/g")"
	done
}
# as USER CMD...: run CMD as USER (supplementary groups from /etc/group).
as() {
	u=$1
	shift
	su -s /bin/sh "$u" -c "$(quote "$@")"
}
# tool USER ARGS...: parsec-tool for the provider under test, as USER.
tool() {
	u=$1
	shift
	as "$u" parsec-tool -p "$QT_PROVIDER_ID" "$@"
}
service_pid() { cat /run/parsec.pid 2>/dev/null; }
