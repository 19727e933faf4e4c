# shellcheck shell=bash
# SoftHSM 2 helpers for the PKCS#11 scripts (pkcs11-cli-tests.sh,
# bench-pkcs11.sh, client-go-e2e.sh).

# softhsm_lib prints the path of Debian's libsofthsm2.so (empty if none).
softhsm_lib() {
	local l
	for l in /usr/lib/softhsm/libsofthsm2.so /usr/lib/*-linux-gnu/softhsm/libsofthsm2.so; do
		[ -f "$l" ] && { echo "$l"; return 0; }
	done
	return 1
}

# softhsm_token DIR LABEL: a private SoftHSM configuration, DIR/softhsm2.conf
# (point SOFTHSM2_CONF at it), with one token initialised with user PIN
# 123456 and SO PIN 12345678.
softhsm_token() {
	mkdir -p "$1/tokens"
	printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$1" >"$1/softhsm2.conf"
	SOFTHSM2_CONF="$1/softhsm2.conf" softhsm2-util --init-token --free --label "$2" --pin 123456 --so-pin 12345678 >/dev/null
}
