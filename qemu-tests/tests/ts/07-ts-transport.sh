# The TS provider's way to the emulated secure world: a virtio-serial port
# named ts0 the service user can open (host mode), or the in-guest
# emulator's socket (guest mode).
. /qt/lib.sh
case $QT_TS_MODE in
host)
	name=$(cat /sys/class/virtio-ports/vport0p1/name 2>/dev/null) || fail "no virtio port vport0p1: $(ls /sys/class/virtio-ports 2>&1)"
	[ "$name" = ts0 ] || fail "vport0p1 is named '$name', want ts0"
	ls -l /dev/vport0p1
	[ "$(stat -c %G /dev/vport0p1)" = teeclnt ] || fail "/dev/vport0p1 is not group teeclnt"
	;;
guest)
	[ -S /run/parsec-tsemu/tsemu.sock ] || fail "in-guest emulator socket missing: $(cat /var/log/parsec-tsemu.log)"
	;;
esac
grep -q 'emulator_socket' /etc/parsec/config.toml || fail "config has no emulator_socket"
