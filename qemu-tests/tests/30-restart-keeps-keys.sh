# Keys created before a restart through the init script are there after it,
# with the same public key, and still sign.
. /qt/lib.sh
k=qt-restart-$$
tool alice create-ecc-key -k "$k" || fail "create-ecc-key failed"
tool alice export-public-key -k "$k" >/tmp/qt/before.pem || fail "export before restart failed"
old=$(service_pid)
/etc/init.d/parsec restart || fail "init script restart failed"
new=$(service_pid)
{ [ -n "$new" ] && [ "$new" != "$old" ]; } || fail "restart did not replace the process ($old -> $new)"
tool alice list-keys | grep -q "$k" || fail "key $k gone after restart: $(tool alice list-keys 2>&1)"
tool alice export-public-key -k "$k" >/tmp/qt/after.pem || fail "export after restart failed"
cmp /tmp/qt/before.pem /tmp/qt/after.pem || fail "public key changed across restart"
sig=$(tool alice sign -k "$k" "restart check") || fail "signing after restart failed"
if command -v openssl >/dev/null; then
	printf '%s' "restart check" >/tmp/qt/msg
	echo "$sig" | base64 -d >/tmp/qt/sig || fail "signature is not base64: $sig"
	openssl dgst -sha256 -verify /tmp/qt/after.pem -signature /tmp/qt/sig /tmp/qt/msg ||
		fail "openssl does not verify the signature made after restart"
fi
tool alice delete-key -k "$k" || fail "delete-key failed"
