# Upgrade in place from Rust Parsec: the image's /var/lib/parsec receives a
# state made on the host by the real Rust service 1.4.1 (SQLite key info
# manager at its default path, Mbed Crypto key files in the working
# directory), the config becomes Rust's default kind (SQLite manager, no
# store_path anywhere), and the init script starts our service, which runs
# parsec-takeover by itself. The Rust clients were uid 0 and uid 61003.
# Runs last: it leaves the previous config back in place.
. /qt/lib.sh
RS=/qt/rust-state
[ -x /usr/libexec/parsec/parsec-takeover ] || fail "parsec-takeover is not installed beside the daemon"
/etc/init.d/parsec stop || fail "init script stop failed"
cp /etc/parsec/config.toml /tmp/qt/config.before
state=/var/lib/parsec
mkdir -p $state/kim-mappings/sqlite
cp $RS/kim/sqlite-key-info-manager.sqlite3 $state/kim-mappings/sqlite/
cp $RS/*.psa_its $state/
chown -R parsec:parsec $state/kim-mappings $state/*.psa_its
chmod 0700 $state/kim-mappings $state/kim-mappings/sqlite
chmod 0600 $state/kim-mappings/sqlite/sqlite-key-info-manager.sqlite3
sum_before=$(cat $state/kim-mappings/sqlite/sqlite-key-info-manager.sqlite3 $state/*.psa_its | md5sum)
cat >/etc/parsec/config.toml <<'CFG'
[core_settings]
log_level = "info"
[listener]
listener_type = "DomainSocket"
timeout = 200
socket_path = "/run/parsec/parsec.sock"
[authenticator]
auth_type = "UnixPeerCredentials"
[[key_manager]]
name = "sqlite-manager"
manager_type = "SQLite"
[[provider]]
provider_type = "MbedCrypto"
key_info_manager = "sqlite-manager"
CFG
# The second Rust client's uid, as a member of parsec-clients.
grep -q '^rustclient:' /etc/passwd || {
	echo 'rustclient:x:61003:61003:Rust-era client:/tmp:/bin/sh' >>/etc/passwd
	echo 'rustclient:x:61003:' >>/etc/group
	sed -i 's/^\(parsec-clients:x:998:.*\)$/\1,rustclient/' /etc/group
}
/etc/init.d/parsec start || fail "init script start failed: $(tail -n 20 /var/log/parsec.log)"
grep -q 'Rust Parsec state carried over\|some Rust Parsec keys were not carried over' /var/log/parsec.log ||
	fail "the daemon did not run the takeover: $(tail -n 20 /var/log/parsec.log)"
[ -f $state/kim-mappings/sqlite/parsec-go/.rust-takeover ] || fail "no takeover marker"
n=0
while IFS="$(printf '\t')" read -r uid prov kind name; do
	[ "$prov" = 1 ] || continue
	case $uid in 0) user=root ;; 61003) user=rustclient ;; esac
	as $user parsec-tool -p 1 list-keys | grep -qF "$name" || fail "uid $uid does not list $name"
	f=$(printf '%s' "$name" | tr -c 'A-Za-z0-9.-' '_')
	as $user parsec-tool -p 1 export-public-key -k "$name" >/tmp/qt/pub.pem || fail "export $name failed"
	cmp -s /tmp/qt/pub.pem "$RS/pem/$f.pem" || fail "$name: public key differs from the one Rust exported"
	if [ "$kind" != rsa-enc ]; then
		sig=$(as $user parsec-tool -p 1 sign -k "$name" "$(cat $RS/message.txt)") || fail "sign with $name failed"
		echo "$sig" | base64 -d >/tmp/qt/sig
		openssl dgst -sha256 -verify "$RS/pem/$f.pem" -signature /tmp/qt/sig $RS/message.txt >/dev/null ||
			fail "$name: our signature does not verify under Rust's public key"
	fi
	n=$((n + 1))
done <$RS/keys.tsv
[ "$n" = 7 ] || fail "checked $n Mbed Crypto keys, want 7"
# The other uid sees none of them.
as alice parsec-tool -p 1 list-keys 2>&1 | grep -q 'mbed-' && fail "alice sees the Rust clients' keys"
[ "$(cat $state/kim-mappings/sqlite/sqlite-key-info-manager.sqlite3 $state/*.psa_its | md5sum)" = "$sum_before" ] ||
	fail "Rust's files changed"
info "takeover: 7 Rust Mbed Crypto keys of uids 0 and 61003 carried over, public keys equal, signatures verified"
/etc/init.d/parsec stop
cp /tmp/qt/config.before /etc/parsec/config.toml
/etc/init.d/parsec start || fail "restart with the previous config failed"
