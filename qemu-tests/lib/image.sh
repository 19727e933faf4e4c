# shellcheck shell=bash
# Image assembly. The guest boots from three (four) concatenated newc archives,
# which the kernel unpacks in order over one root:
#   sys.cpio.gz   busybox, kernel modules, openssl (cached per architecture)
#   app.cpio.gz   our binaries, the Yocto layer's init script, users (per run)
#   softhsm.cpio.gz  SoftHSM 2 with its libraries (cached; pkcs11 boots only)
#   test.cpio.gz  runner, test scripts, config for one provider (per boot)

cpio_of() { # DIR > archive
	(cd "$1" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1)
}

# busybox_applets: the applet list of the guest's busybox. Debian builds
# busybox-static with one configuration for every architecture, so the
# host-architecture build of the same package lists the same applets; that
# spares a user-mode emulator (qemu-user-static is 380 MB installed).
busybox_applets() {
	local hostarch d=$QT_CACHE/host-busybox
	hostarch=$(dpkg --print-architecture)
	if [ "$hostarch" = "$DEBARCH" ]; then
		"$ADIR/root/bin/busybox" --list
		return
	fi
	if [ ! -x "$d/root/bin/busybox" ]; then
		rm -rf "$d"
		fetch_debs "$d" "$hostarch" busybox-static
		mkdir -p "$d/root"
		dpkg-deb -x "$d"/debs/busybox-static_*.deb "$d/root"
	fi
	local want have
	want=$(dpkg-deb -f "$ADIR"/debs/busybox-static_*.deb Version)
	have=$(dpkg-deb -f "$d"/debs/busybox-static_*.deb Version)
	# binNMU suffixes (+bN) differ per architecture, the source does not
	[ "${want%+b*}" = "${have%+b*}" ] || note "busybox-static $have (host) vs $want ($DEBARCH): applet lists may differ"
	"$d/root/bin/busybox" --list
}

# sys_cpio: the cached system part. Rebuilt when the fetched packages or
# this file change.
sys_cpio() {
	local out=$ADIR/sys.cpio.gz key
	key=$( (cat "$ADIR/fetched"; echo "$MODULES"; cat "$QT_DIR/lib/image.sh") | sha256sum | cut -c1-16)
	if [ -e "$out" ] && [ "$(cat "$ADIR/sys.key" 2>/dev/null)" = "$key" ]; then
		return 0
	fi
	note "assembling the $ARCH system archive"
	[ -d "$ADIR/root/lib/modules" ] || unpack_arch
	local R=$ADIR/sys.root src=$ADIR/root kv a f rel m
	rm -rf "$R"
	mkdir -p "$R"/{bin,dev,proc,sys,run,tmp,root,etc/ssl,usr/bin,usr/sbin,usr/lib/ssl,var/lib,var/log}
	ln -s bin "$R/sbin"
	chmod 0700 "$R/root"
	cp "$src/bin/busybox" "$R/bin/busybox"
	# Applet links made here, not in the guest: `busybox --install` would
	# point them at /proc/self/exe, which resolves to whatever program execs
	# them.
	for a in $(busybox_applets); do
		[ "$a" = busybox ] || ln -s busybox "$R/bin/$a"
	done
	[ -e "$R/bin/init" ] || die "busybox for $ARCH has no init applet"

	kv=$(ls "$src/lib/modules")
	mkdir -p "$R/lib/modules/$kv"
	: >"$R/etc/modules"
	for m in $MODULES; do
		local deps
		deps=$(modprobe -d "$src" -S "$kv" --show-depends "$m" 2>&1) || die "module $m: $deps"
		for f in $(awk '/^insmod/{print $2}' <<<"$deps"); do
			rel=${f#"$src/lib/modules/$kv/"}
			mkdir -p "$R/lib/modules/$kv/$(dirname "$rel")"
			cp "$f" "$R/lib/modules/$kv/$rel"
		done
		echo "$m" >>"$R/etc/modules"
	done
	cp "$src/lib/modules/$kv"/modules.{order,builtin,builtin.modinfo} "$R/lib/modules/$kv/"
	depmod -b "$R" "$kv"

	# openssl and exactly the libraries it links (checked in the guest by
	# running it): the dynamic loader at its PT_INTERP path, libc, libssl,
	# libcrypto.
	cp "$src/usr/bin/openssl" "$R/usr/bin/"
	cp "$src/etc/ssl/openssl.cnf" "$R/etc/ssl/"
	ln -s /etc/ssl/openssl.cnf "$R/usr/lib/ssl/openssl.cnf"
	for f in "$LDSO" "lib/$TRIPLET/libc.so.6" "usr/lib/$TRIPLET/libssl.so.3" "usr/lib/$TRIPLET/libcrypto.so.3"; do
		[ -e "$src/$f" ] || die "openssl part $f missing in $src"
		mkdir -p "$R/$(dirname "$f")"
		cp -L "$src/$f" "$R/$f"
	done
	cpio_of "$R" >"$out.tmp"
	mv "$out.tmp" "$out"
	echo "$key" >"$ADIR/sys.key"
	rm -rf "$R"
	prune_arch
}

# softhsm_cpio: the cached SoftHSM 2 part, a fourth archive that only
# pkcs11 boots add: softhsm2-util, libsofthsm2.so where Debian puts it, and
# every shared library they need that the system archive lacks, found by
# following their DT_NEEDED entries (readelf works on any architecture).
softhsm_cpio() {
	local S=$ADIR/softhsm out=$ADIR/softhsm.cpio.gz key
	key=$( (cat "$S/fetched"; sed -n '/^softhsm_cpio()/,/^}/p' "$QT_DIR/lib/image.sh") | sha256sum | cut -c1-16)
	if [ -e "$out" ] && [ "$(cat "$ADIR/softhsm.key" 2>/dev/null)" = "$key" ]; then
		return 0
	fi
	note "assembling the $ARCH SoftHSM 2 archive"
	local R=$S/cpio.root src=$S/root f lib dir found todo=() seen=" libc.so.6 libssl.so.3 libcrypto.so.3 "
	rm -rf "$R"
	mkdir -p "$R/usr/bin"
	command -v readelf >/dev/null || die "readelf (binutils) is needed to assemble the SoftHSM 2 archive"
	cp "$src/usr/bin/softhsm2-util" "$R/usr/bin/"
	# The module where Debian puts it (softhsm2-util's default) and the
	# link /usr/lib/softhsm/libsofthsm2.so that configs name.
	f=usr/lib/$TRIPLET/softhsm/libsofthsm2.so
	if [ ! -f "$src/$f" ] || [ ! -L "$src/usr/lib/softhsm/libsofthsm2.so" ]; then
		die "no $f or usr/lib/softhsm/libsofthsm2.so in the $DEBARCH libsofthsm2 package"
	fi
	mkdir -p "$R/${f%/*}" "$R/usr/lib/softhsm"
	cp "$src/$f" "$R/$f"
	cp -P "$src/usr/lib/softhsm/libsofthsm2.so" "$R/usr/lib/softhsm/"
	todo=("$R/usr/bin/softhsm2-util" "$R/$f")
	while [ ${#todo[@]} -gt 0 ]; do
		f=${todo[0]}
		todo=("${todo[@]:1}")
		for lib in $(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
			case $seen in *" $lib "*) continue ;; esac
			seen="$seen$lib "
			found=
			for dir in "lib/$TRIPLET" "usr/lib/$TRIPLET"; do
				[ -e "$src/$dir/$lib" ] || continue
				mkdir -p "$R/$dir"
				cp -L "$src/$dir/$lib" "$R/$dir/$lib"
				todo+=("$R/$dir/$lib")
				found=1
				break
			done
			[ -n "$found" ] || die "$lib (needed by ${f#"$R"}) is in none of the fetched SoftHSM 2 packages"
		done
	done
	cpio_of "$R" >"$out.tmp"
	mv "$out.tmp" "$out"
	echo "$key" >"$ADIR/softhsm.key"
	rm -rf "$R"
}

# cgo_cc: the C cross compiler for the co-server (cgo), installed with its
# C library headers when missing, as the OP-TEE tier installs its own.
cgo_cc() {
	local cc=$TRIPLET-gcc pkgs
	if [ "$(dpkg --print-architecture)" = "$DEBARCH" ]; then
		cc=gcc pkgs="gcc libc6-dev"
	else
		pkgs="gcc-$TRIPLET libc6-dev-$DEBARCH-cross"
	fi
	if ! command -v "$cc" >/dev/null 2>&1 || ! echo '#include <stdlib.h>' | "$cc" -E - >/dev/null 2>&1; then
		note "installing host packages for the PKCS#11 co-server (cgo): $pkgs"
		[ "$(id -u)" = 0 ] || die "need root to install $pkgs (or install them first)"
		# shellcheck disable=SC2086 # a list of packages
		DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
			--no-install-recommends $pkgs >"$QT_CACHE/apt-cgo.log" 2>&1 ||
			die "apt-get install $pkgs failed, see $QT_CACHE/apt-cgo.log"
	fi
	echo "$cc"
}

# go_build: our binaries for the guest (and the emulator for the host).
# Plain flags (no -trimpath), so the compiled packages are shared with the
# other suites' builds in the Go cache.
# Missing packages are reported, not fatal: the tests that need them fail
# with that reason.
go_build() {
	local out=$ADIR/bin name pkg
	mkdir -p "$out"
	rm -f "$out"/*
	BUILT=()
	for name in parsec:./service/cmd/parsec parsec-takeover:./service/cmd/parsec-takeover \
		parsec-tool:./tools/parsec-tool \
		qt-helper:./qemu-tests/helper parsec-tsemu:./tools/parsec-tsemu; do
		pkg=${name#*:}
		name=${name%%:*}
		if ! compgen -G "$REPO/$pkg/*.go" >/dev/null; then
			note "not building $name: $pkg does not exist (yet)"
			continue
		fi
		if (cd "$REPO" && CGO_ENABLED=0 GOOS=linux GOARCH=$GOARCH_ GOARM=$GOARM_ \
			go build -ldflags='-s -w' -o "$out/$name" "$pkg") >"$out/$name.log" 2>&1; then
			BUILT+=("$name")
		else
			note "building $name for $ARCH failed:"
			sed 's/^/    /' "$out/$name.log" | head -n 20 >&2
		fi
	done
	# The PKCS#11 co-server is the one cgo program: built only for pkcs11
	# boots, against the guest's glibc (Debian's loader and libc are in the
	# system archive for openssl already).
	if [ -n "${WANT_COSERVER:-}" ]; then
		local cc
		cc=$(cgo_cc)
		if (cd "$REPO" && CGO_ENABLED=1 CC=$cc GOOS=linux GOARCH=$GOARCH_ GOARM=$GOARM_ \
			go build -ldflags='-s -w' -o "$out/parsec-pkcs11" ./service/cmd/parsec-pkcs11) >"$out/parsec-pkcs11.log" 2>&1; then
			BUILT+=(parsec-pkcs11)
		else
			note "building parsec-pkcs11 (cgo, $cc) for $ARCH failed:"
			sed 's/^/    /' "$out/parsec-pkcs11.log" | head -n 20 >&2
		fi
	fi
	if has_built parsec-tsemu; then
		(cd "$REPO" && CGO_ENABLED=0 go build -o "$out/parsec-tsemu.host" ./tools/parsec-tsemu) \
			>"$out/parsec-tsemu.host.log" 2>&1 || note "building the host parsec-tsemu failed"
	fi
}

has_built() { local b; for b in "${BUILT[@]}"; do [ "$b" = "$1" ] && return 0; done; return 1; }

# app_cpio: the project part: binaries where the Yocto recipes install them,
# the layer's sysvinit script linked into runlevel 5, users and groups.
app_cpio() {
	local R=$RUN/app.root out=$RUN/app.cpio.gz
	rm -rf "$R"
	mkdir -p "$R"
	cp -a "$QT_DIR/guest/." "$R/"
	mkdir -p "$R"/{usr/bin,usr/libexec/parsec,etc/parsec,etc/rc5.d,etc/rc0.d,etc/default,var/lib/parsec,home}
	local init=$REPO/recipes-security/parsec-service/files/parsec.init
	if [ -e "$init" ]; then
		install -m 0755 "$init" "$R/etc/init.d/parsec"
		ln -s ../init.d/parsec "$R/etc/rc5.d/S20parsec"
		ln -s ../init.d/parsec "$R/etc/rc0.d/K20parsec"
	else
		note "no $init: the service will not be started at boot"
	fi
	has_built parsec && install -m 0700 "$ADIR/bin/parsec" "$R/usr/libexec/parsec/parsec"
	# Next to the daemon, where the recipe installs it and the daemon looks first.
	has_built parsec-pkcs11 && install -m 0700 "$ADIR/bin/parsec-pkcs11" "$R/usr/libexec/parsec/parsec-pkcs11"
	has_built parsec-takeover && install -m 0700 "$ADIR/bin/parsec-takeover" "$R/usr/libexec/parsec/parsec-takeover"
	has_built parsec-tool && install -m 0755 "$ADIR/bin/parsec-tool" "$R/usr/bin/parsec-tool"
	has_built qt-helper && install -m 0755 "$ADIR/bin/qt-helper" "$R/usr/bin/qt-helper"
	has_built parsec-tsemu && install -m 0755 "$ADIR/bin/parsec-tsemu" "$R/usr/bin/parsec-tsemu"
	local cli=$REPO/tools/parsec-cli-tests/parsec-cli-tests.sh
	[ -e "$cli" ] && install -m 0755 "$cli" "$R/usr/bin/parsec-cli-tests.sh"
	# Ownership and modes as the parsec-service recipe installs them.
	chown -R 999:999 "$R/usr/libexec/parsec" "$R/etc/parsec" "$R/var/lib/parsec"
	chmod 0700 "$R/usr/libexec/parsec" "$R/etc/parsec" "$R/var/lib/parsec"
	local u
	for u in alice:1000 bob:1001 carol:1002; do
		mkdir -p "$R/home/${u%%:*}"
		chown "${u#*:}:${u#*:}" "$R/home/${u%%:*}"
	done
	cpio_of "$R" >"$out"
	rm -rf "$R"
}

# config_for PROVIDER [EXTRA-PROVIDER...]: a config.toml assembled the way
# the parsec-service recipe does (core part + one part per provider), from
# the layer's own fragments.
config_for() {
	local frag=$REPO/recipes-security/parsec-service/files/config p f core kim
	if [ -e "$frag/parsec-core.toml" ]; then
		core=$(cat "$frag/parsec-core.toml")
	else
		core=$(builtin_core_config)
	fi
	# A provider table written here uses the core part's (last) key manager.
	kim=$(sed -n 's/^name = "\(.*\)"/\1/p' <<<"$core" | tail -n 1)
	{
		printf '%s\n' "$core"
		for p in "$@"; do
			f=$frag/provider-$(provider_fragment "$p").toml
			echo
			if [ -e "$f" ]; then cat "$f"; else builtin_provider_config "$p" "$kim"; fi
			if [ "$p" = ts ]; then ts_config_extra; fi
		done
	} | sed -e 's|@PARSEC_STATEDIR@|/var/lib/parsec|g' -e 's|@PARSEC_TPM_TCTI@|device:/dev/tpmrm0|g'
}

provider_fragment() {
	case $1 in software) echo MBED-CRYPTO ;; tpm) echo TPM ;; ts) echo TS ;; pkcs11) echo PKCS11 ;; esac
}

builtin_core_config() {
	cat <<'EOF'
[core_settings]
log_level = "info"

[listener]
listener_type = "DomainSocket"
timeout = 200
socket_path = "/run/parsec/parsec.sock"

[authenticator]
auth_type = "UnixPeerCredentials"

[[key_manager]]
name = "on-disk-manager"
manager_type = "OnDisk"
store_path = "/var/lib/parsec/mappings"
EOF
}

# builtin_provider_config PROVIDER KIM: the provider's table where the layer
# has no fragment for it. The layer generates no Pkcs11 table (a token and
# its PIN are the device's), so pkcs11 always comes from here: the token
# that tests/pkcs11/softhsm-token.init makes, the only one in its token
# directory, so neither slot_number nor serial_number is needed.
builtin_provider_config() {
	local kim=$2
	case $1 in
	pkcs11) printf '[[provider]]\nname = "pkcs11-provider"\nprovider_type = "Pkcs11"\nkey_info_manager = "%s"\nlibrary_path = "/usr/lib/softhsm/libsofthsm2.so"\nuser_pin = "%s"\n' "$kim" "$QT_SOFTHSM_PIN" ;;
	software) printf '[[provider]]\nprovider_type = "MbedCrypto"\nkey_info_manager = "%s"\nstore_path = "/var/lib/parsec/mbed-crypto"\n' "$kim" ;;
	tpm) printf '[[provider]]\nprovider_type = "Tpm"\nkey_info_manager = "%s"\ntcti = "device:/dev/tpmrm0"\nowner_hierarchy_auth = ""\n' "$kim" ;;
	ts) printf '[[provider]]\nprovider_type = "TrustedService"\nkey_info_manager = "%s"\n' "$kim" ;;
	esac
}

# Extra keys that point the TS provider at the emulated secure world; set by
# ts_setup in boot.sh.
ts_config_extra() { [ -n "${TS_CONFIG_EXTRA:-}" ] && printf '%s\n' "$TS_CONFIG_EXTRA"; return 0; }

# test_cpio PROVIDER OUT: runner, tests and the provider's configurations.
test_cpio() {
	local p=$1 out=$2 R=$RUN/test-$1.root extra
	rm -rf "$R"
	mkdir -p "$R/qt/tests" "$R/etc/parsec"
	cp "$QT_DIR/tests/runner" "$QT_DIR/tests/lib.sh" "$R/qt/"
	if [ "${TEST_SET:-}" = tee ]; then
		cp "$QT_DIR"/tests/tee/[0-9]*.sh "$R/qt/tests/"
	else
		# Common tests, plus the provider's own (tests/<provider>/).
		cp "$QT_DIR"/tests/[0-9]*.sh "$R/qt/tests/"
		if compgen -G "$QT_DIR/tests/$p/[0-9]*.sh" >/dev/null; then
			cp "$QT_DIR/tests/$p"/[0-9]*.sh "$R/qt/tests/"
		fi
	fi
	config_for "$p" >"$R/etc/parsec/config.toml"
	if [ "$p" = software ]; then
		# A Rust Parsec 1.4.1 state made on the host by the real Rust
		# service (the committed fixture of scripts/make-rust-fixtures.sh),
		# for tests/software/90-takeover.sh.
		local fx=$REPO/service/takeover/testdata/rust-1.4.1/sqlite
		mkdir -p "$R/qt/rust-state"
		cp -a "$fx/kim" "$fx"/*.psa_its "$fx/pem" "$fx/keys.tsv" "$fx/message.txt" "$fx/sig" "$R/qt/rust-state/"
	fi
	# The reload test switches to this: one more provider where the image
	# has one (the oeqa contract: SIGHUP brings up newly added providers),
	# and a smaller body limit, which every provider can be checked against.
	extra=
	case $p in
	software) [ -n "$TPMDEV" ] && extra=tpm ;;
	*) extra=software ;;
	esac
	{
		config_for "$p" $extra | sed '/^\[core_settings\]/a body_len_limit = 1024'
	} >"$R/qt/reload.toml"
	if [ "$p" = pkcs11 ]; then
		# The TPM device and the malformed-request burst do not depend on
		# the provider and run in the other boots; this boot's time goes
		# to the token.
		rm -f "$R"/qt/tests/05-tpm-device.sh "$R"/qt/tests/60-malformed-burst.sh
		# SoftHSM's configuration, named by SOFTHSM2_CONF in the init
		# script's defaults file (so the daemon and the co-server it
		# starts have it), and an S10 script that initialises the token
		# as the service user before parsec starts (S20).
		mkdir -p "$R/etc/init.d" "$R/etc/rc5.d" "$R/etc/default" "$R/etc/softhsm"
		printf 'directories.tokendir = /var/lib/softhsm/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' >"$R/etc/softhsm/parsec-softhsm2.conf"
		printf '# SoftHSM 2 token for the Pkcs11 provider (qemu-tests)\nexport SOFTHSM2_CONF=/etc/softhsm/parsec-softhsm2.conf\n' >"$R/etc/default/parsec"
		install -m 0755 "$QT_DIR/tests/pkcs11/softhsm-token.init" "$R/etc/init.d/softhsm-token"
		ln -s ../init.d/softhsm-token "$R/etc/rc5.d/S10softhsm-token"
	fi
	if [ "$p" = ts ] && [ "${TS_MODE:-}" = guest ]; then
		# The emulator as a boot service of its own, before parsec (S20).
		mkdir -p "$R/etc/init.d" "$R/etc/rc5.d"
		install -m 0755 "$QT_DIR/tests/ts-guest/parsec-tsemu.init" "$R/etc/init.d/parsec-tsemu"
		ln -s ../init.d/parsec-tsemu "$R/etc/rc5.d/S10parsec-tsemu"
	fi
	chown 999:999 "$R/etc/parsec" "$R/etc/parsec/config.toml"
	chmod 0700 "$R/etc/parsec"
	chmod 0400 "$R/etc/parsec/config.toml"
	cat >"$R/qt/env" <<EOF
QT_ARCH=$ARCH
QT_PROVIDER=$p
QT_PROVIDER_ID=$(provider_id "$p")
QT_RELOAD_EXTRA=$extra
QT_RELOAD_EXTRA_ID=$([ -n "$extra" ] && provider_id "$extra")
QT_HAS_TPM=$([ -n "$TPMDEV" ] && echo 1 || echo 0)
QT_TEST_TIMEOUT=$QT_TEST_TIMEOUT
QT_READY_BOUND=$QT_READY_BOUND
QT_TS_MODE=${TS_MODE:-}
QT_CLI_ARGS="$([ "$p" = pkcs11 ] && echo "$QT_PKCS11_CLI_ARGS")"
QT_SOFTHSM_PIN=$QT_SOFTHSM_PIN
EOF
	cpio_of "$R" >"$out"
	rm -rf "$R"
}

provider_id() { case $1 in software) echo 1 ;; pkcs11) echo 2 ;; tpm) echo 3 ;; ts) echo 4 ;; esac; }
