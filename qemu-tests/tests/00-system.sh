# The image booted the way a device does: busybox init ran rcS, which
# mounted the runtime filesystems and loaded the listed modules, and openssl
# (dynamically linked, from Debian) runs for the CLI checks.
. /qt/lib.sh
grep -q ' /run tmpfs' /proc/mounts || fail "/run is not a tmpfs: rcS did not run"
while read -r m; do
	grep -q "^$m " /proc/modules ||
		grep -q "/$m.ko" "/lib/modules/$(uname -r)/modules.builtin" ||
		fail "module $m is not loaded"
done </etc/modules
v=$(openssl version) || fail "openssl does not run"
echo "$v"
info "openssl=$(echo "$v" | cut -d' ' -f2)"
