# The init script started the service at boot as user parsec, with the
# socket in /run/parsec, and it answered a ping within the bound.
. /qt/lib.sh
[ -x /etc/init.d/parsec ] || fail "no /etc/init.d/parsec in the image"
[ -x /usr/libexec/parsec/parsec ] || fail "no /usr/libexec/parsec/parsec in the image"
pid=$(service_pid) || fail "no pidfile /run/parsec.pid"
[ -d "/proc/$pid" ] || fail "pid $pid from the pidfile is not running"
[ "$(readlink "/proc/$pid/exe")" = /usr/libexec/parsec/parsec ] || fail "pid $pid runs $(readlink "/proc/$pid/exe")"
uid=$(awk '/^Uid:/{print $2}' /proc/"$pid"/status)
[ "$uid" = 999 ] || fail "service runs as uid $uid, want 999 (parsec)"
[ -S "$SOCK" ] || fail "no socket at $SOCK"
ls -ld /run/parsec "$SOCK"
r=$(cat /tmp/qt/ready-uptime 2>/dev/null) || fail "no ping answered within ${QT_READY_BOUND}s of boot: $(cat /tmp/qt/ready.log)"
echo "first answered ping at ${r}s after kernel start"
/etc/init.d/parsec status || fail "init script status says not running"
as alice qt-helper ping || fail "alice (parsec-clients) cannot ping"
as alice parsec-tool ping || fail "parsec-tool ping as alice failed"
