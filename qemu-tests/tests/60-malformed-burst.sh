# A burst of malformed requests from an unprivileged client leaves the same
# service process answering.
. /qt/lib.sh
pid=$(service_pid)
as carol qt-helper burst -n 300 -workers 8 || fail "burst reported failures"
{ [ "$(service_pid)" = "$pid" ] && [ -d "/proc/$pid" ]; } || fail "service process changed or died"
as alice parsec-tool ping || fail "parsec-tool ping after the burst failed"
