# The SoftHSM 2 token: made by the service user with the SOFTHSM2_CONF that
# /etc/default/parsec names; the daemon runs the co-server from next to
# itself as its child, as the service user, with that variable; a key made
# through provider 2 is two objects on the token; the token's files are
# closed to users outside parsec/softhsm, who cannot open the token.
. /qt/lib.sh
. /etc/default/parsec
[ -n "${SOFTHSM2_CONF:-}" ] || fail "/etc/default/parsec names no SOFTHSM2_CONF"
cat /run/softhsm-token.log
out=$(as parsec env SOFTHSM2_CONF="$SOFTHSM2_CONF" softhsm2-util --show-slots) || fail "softhsm2-util --show-slots as parsec failed: $out"
echo "$out" | grep -q 'Label:[[:space:]]*parsec-qemu' || fail "no token labelled parsec-qemu: $out"

cs=
for d in /proc/[0-9]*; do
	[ "$(readlink "$d/exe" 2>/dev/null)" = /usr/libexec/parsec/parsec-pkcs11 ] && cs=${d#/proc/}
done
[ -n "$cs" ] || fail "no parsec-pkcs11 co-server is running"
[ "$(awk '/^PPid:/{print $2}' "/proc/$cs/status")" = "$(service_pid)" ] || fail "co-server $cs is not the daemon's child"
[ "$(awk '/^Uid:/{print $2}' "/proc/$cs/status")" = 999 ] || fail "co-server does not run as parsec"
tr '\0' '\n' <"/proc/$cs/environ" | grep -qx "SOFTHSM2_CONF=$SOFTHSM2_CONF" || fail "co-server has no SOFTHSM2_CONF=$SOFTHSM2_CONF"
info "coserver-rss-kb=$(awk '/^VmRSS:/{print $2}' "/proc/$cs/status")"

dir=$(sed -n 's/^directories\.tokendir[[:space:]]*=[[:space:]]*//p' "$SOFTHSM2_CONF")
objects() { find "$dir" -name '*.object' | wc -l; }
n0=$(objects)
k=qt-token-$$
tool alice create-ecc-key -k "$k" || fail "create-ecc-key on provider 2 failed"
n1=$(objects)
[ "$n1" -eq $((n0 + 2)) ] || fail "the token has $n1 objects after creating a key pair, had $n0 (want 2 more)"
ls -lR "$dir"
bad=$(find "$dir" -perm -004 -o -perm -002 -o -perm -001)
[ -z "$bad" ] || fail "token files open to others: $bad"
# alice (not in softhsm) with the same configuration does not get the token.
out=$(as alice env SOFTHSM2_CONF="$SOFTHSM2_CONF" softhsm2-util --show-slots 2>&1)
echo "alice: $out"
echo "$out" | grep -q 'parsec-qemu' && fail "alice can open the service's token"
tool alice delete-key -k "$k" || fail "delete-key on provider 2 failed"
[ "$(objects)" -eq "$n0" ] || fail "the token still has $(objects) objects after delete-key, want $n0"
