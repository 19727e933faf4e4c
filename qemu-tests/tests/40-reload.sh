# SIGHUP through "init script reload" re-reads the configuration in place:
# same process, the changed body size limit applies, and a provider added to
# the file comes up (what the oeqa test expects of a sysvinit image).
. /qt/lib.sh
pid=$(service_pid)
as alice qt-helper ping -pad 2000 || fail "a 2000-byte ping body was refused before the reload"
cp /qt/reload.toml /etc/parsec/config.toml
/etc/init.d/parsec reload || fail "init script reload failed"
[ "$(service_pid)" = "$pid" ] || fail "reload replaced the process ($pid -> $(service_pid))"
out=$(as alice qt-helper ping -pad 2000 2>&1) && fail "body_len_limit = 1024 not applied after reload: $out"
echo "$out" | grep -q BodySizeExceedsLimit || fail "2000-byte body after reload: $out"
if [ -n "$QT_RELOAD_EXTRA_ID" ]; then
	ids=$(as alice parsec-tool list-providers) || fail "list-providers failed"
	echo "$ids"
	echo "$ids" | grep -q "ID: 0x0$QT_RELOAD_EXTRA_ID" ||
		fail "provider $QT_RELOAD_EXTRA_ID added to the config did not come up on reload"
fi
as alice qt-helper ping || fail "no ping after reload"
