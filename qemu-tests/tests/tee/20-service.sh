# The service still boots and answers on the secure-world firmware.
. /qt/lib.sh
r=$(cat /tmp/qt/ready-uptime 2>/dev/null) || fail "no ping answered within ${QT_READY_BOUND}s of boot: $(cat /tmp/qt/ready.log)"
echo "ready at ${r}s"
as alice qt-helper ping
