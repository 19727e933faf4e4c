# The guest kernel sees swtpm through QEMU's TIS device, and the service
# user (group tss) can talk to the resource-managed device.
. /qt/lib.sh
[ "$QT_HAS_TPM" = 1 ] || skip "no TPM on $QT_ARCH"
[ -c /dev/tpmrm0 ] || fail "/dev/tpmrm0 missing; dmesg: $(dmesg | grep -i tpm | tail -n 3)"
ls -l /dev/tpmrm0
[ "$(stat -c %G /dev/tpmrm0)" = tss ] || fail "/dev/tpmrm0 is not group tss"
a=$(su -s /bin/sh parsec -c 'qt-helper tpm-random -n 16') || fail "TPM2_GetRandom as parsec failed: $a"
b=$(su -s /bin/sh parsec -c 'qt-helper tpm-random -n 16') || fail "second TPM2_GetRandom failed"
echo "random: $a $b"
[ ${#a} = 32 ] || fail "got ${#a} hex digits, want 32"
[ "$a" != "$b" ] || fail "two TPM random reads were equal"
