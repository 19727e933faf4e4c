# A real OP-TEE (TF-A + OP-TEE OS under -M virt,secure=on): our tee
# package's kernel path queries the version, opens a session with OP-TEE's
# invoke-tests pseudo TA, invokes it, allocates shared memory, closes the
# session, and TS discovery skips the non-TS device.
. /qt/lib.sh
[ -c /dev/tee0 ] || fail "no /dev/tee0; dmesg: $(dmesg | grep -i -E 'optee|tee' | tail -n 5)"
dmesg | grep -i 'optee: revision' || true
qt-helper tee-check -dev /dev/tee0
