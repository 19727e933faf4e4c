# After the CLI suite has used TS keys: in host mode the service talks to
# the secure world through the virtio-serial port (it holds /dev/vport0p1
# open) and no emulator runs in the guest, so key material never enters
# guest memory.
. /qt/lib.sh
[ "$QT_TS_MODE" = host ] || skip "emulator runs in the guest (QT_TS_MODE=$QT_TS_MODE)"
pid=$(service_pid) || fail "no service pid"
held=
for f in /proc/"$pid"/fd/*; do
	[ "$(readlink "$f")" = /dev/vport0p1 ] && held=1
done
[ -n "$held" ] || fail "the service does not hold /dev/vport0p1 open: $(ls -l /proc/"$pid"/fd/ | sed -n 's/.*-> //p' | tr '\n' ' ')"
if ps | grep -v grep | grep -q parsec-tsemu; then
	fail "an emulator process runs in the guest"
fi
[ ! -e /usr/bin/parsec-tsemu ] || echo "note: the image carries parsec-tsemu (for QT_TS_MODE=guest) but it is not running"
