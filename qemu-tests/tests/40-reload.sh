# SIGHUP through "init script reload" re-reads the configuration in place:
# same process, the changed body size limit applies, and a provider added to
# the file comes up (what the oeqa test expects of a sysvinit image: it
# lists providers right after the reload, so the new config must be in
# force when the init script returns).
. /qt/lib.sh
pid=$(service_pid)
as alice qt-helper ping -pad 2000 || fail "a 2000-byte ping body was refused before the reload"
cp /qt/reload.toml /etc/parsec/config.toml
/etc/init.d/parsec reload || fail "init script reload failed"
[ "$(service_pid)" = "$pid" ] || fail "reload replaced the process ($pid -> $(service_pid))"

# late CHECK-COMMAND: if the check fails right after the reload, tell
# "applied late" from "never applied" before failing.
late() {
	i=0
	while [ $i -lt 20 ]; do
		sleep 0.5
		i=$((i + 1))
		if "$@" >/dev/null 2>&1; then
			fail "the new config applied only about $((i / 2)).$((i % 2 * 5))s after 'parsec reload' returned"
		fi
	done
	fail "the new config was not applied within 10s of the reload"
}
limited() {
	out=$(as alice qt-helper ping -pad 2000 2>&1)
	case $out in *BodySizeExceedsLimit*) return 0 ;; esac
	return 1
}
if ! limited; then
	echo "2000-byte body right after reload: $(as alice qt-helper ping -pad 2000 2>&1)"
	late limited
fi
if [ -n "$QT_RELOAD_EXTRA_ID" ]; then
	has_extra() { as alice parsec-tool list-providers 2>/dev/null | grep -q "ID: 0x0$QT_RELOAD_EXTRA_ID"; }
	if ! has_extra; then
		as alice parsec-tool list-providers
		echo "provider $QT_RELOAD_EXTRA_ID added to the config is not listed right after reload"
		late has_extra
	fi
fi
as alice qt-helper ping || fail "no ping after reload"
