# shellcheck shell=bash
# shellcheck disable=SC2034,SC2054 # QEMU_ARGS_OVERRIDE is read by boot; commas are QEMU's
# Optional tier --tee optee: a real secure world. TF-A for QEMU's virt board
# is not packaged by Debian, so it is built (about 5 s) from Debian's own
# trixie source package with bookworm's cross compiler; OP-TEE OS for QEMU
# comes from trixie's optee-os package. QEMU runs -M virt,secure=on with
# GICv3 (OP-TEE's qemu_armv8a build expects it), TF-A starts OP-TEE as BL32
# and our kernel as BL33. The guest then drives /dev/tee0 through our tee
# package's kernel path (version, session open/invoke/close).

tee_host_tools() {
	local want=() c
	for c in aarch64-linux-gnu-gcc:gcc-aarch64-linux-gnu gcc:gcc make:make dtc:device-tree-compiler \
		/usr/include/openssl/sha.h:libssl-dev; do
		case ${c%%:*} in
		/*) [ -e "${c%%:*}" ] || want+=("${c#*:}") ;;
		*) command -v "${c%%:*}" >/dev/null 2>&1 || want+=("${c#*:}") ;;
		esac
	done
	[ ${#want[@]} -eq 0 ] && return 0
	note "installing host packages for the OP-TEE tier: ${want[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
		--no-install-recommends "${want[@]}" >"$QT_CACHE/apt-tee.log" 2>&1 ||
		die "apt-get install ${want[*]} failed, see $QT_CACHE/apt-tee.log"
}

# A private trixie configuration (binary arm64 + sources), made from the
# host's bookworm main mirror entry; nothing from trixie is installed.
trixie_apt_opts() {
	local d=$QT_CACHE/apt/trixie-arm64
	printf '%s\n' \
		-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$d/etc" \
		-o "Dir::Etc::Preferences=/dev/null" -o "Dir::Etc::PreferencesParts=$d/prefs" \
		-o "Dir::State::Lists=$d/lists" -o "Dir::State::status=$d/status" \
		-o "Dir::Cache=$d/cache" -o "APT::Architecture=arm64" -o "APT::Architectures::=arm64" \
		-o "APT::Sandbox::User=root" -o "Acquire::Retries=3"
}

trixie_apt_update() {
	local d=$QT_CACHE/apt/trixie-arm64 uri f o
	mkdir -p "$d/etc" "$d/prefs" "$d/lists/partial" "$d/cache/archives/partial"
	: >"$d/status"
	uri=
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -e "$f" ] || continue
		uri=$(awk 'BEGIN { RS = "" } /Suites:[^\n]*bookworm( |\n|$)/ && !/security/ {
			if (match($0, /URIs:[ \t]*[^ \t\n]+/)) { s = substr($0, RSTART, RLENGTH); sub(/URIs:[ \t]*/, "", s); print s; exit } }' "$f")
		[ -n "$uri" ] && break
	done
	if [ -z "$uri" ] && [ -e /etc/apt/sources.list ]; then
		uri=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list)
	fi
	[ -n "$uri" ] || die "no bookworm mirror in /etc/apt to derive a trixie source from"
	f=/usr/share/keyrings/debian-archive-keyring.gpg
	printf 'Types: deb deb-src\nURIs: %s\nSuites: trixie\nComponents: main\nSigned-By: %s\n' "$uri" "$f" >"$d/etc/trixie.sources"
	mapfile -t o < <(trixie_apt_opts)
	apt-get "${o[@]}" update -qq >"$d/update.log" 2>&1 || die "trixie apt update failed (see $d/update.log)"
	touch "$d/updated"
}

# tee_firmware: flash.bin (TF-A BL1 + FIP with BL2, BL31, OP-TEE as BL32),
# cached by the versions it was built from.
tee_firmware() {
	local T=$QT_CACHE/optee o
	mkdir -p "$T"
	if [ -e "$T/flash.bin" ] && [ -e "$T/built" ]; then
		return 0
	fi
	tee_host_tools
	note "building TF-A (PLAT=qemu, SPD=opteed) from Debian's trixie source with trixie's OP-TEE OS"
	[ -e "$QT_CACHE/apt/trixie-arm64/updated" ] || trixie_apt_update
	mapfile -t o < <(trixie_apt_opts)
	rm -rf "$T/src" "$T/optee" "$T/debs"
	mkdir -p "$T/src" "$T/optee" "$T/debs"
	(cd "$T/debs" && apt-get "${o[@]}" download optee-os >"$T/download.log" 2>&1) ||
		die "apt-get download optee-os (trixie) failed: $(tail -n 3 "$T/download.log")"
	dpkg-deb -x "$T"/debs/optee-os_*.deb "$T/optee"
	(cd "$T/src" && apt-get "${o[@]}" source --download-only arm-trusted-firmware >"$T/source.log" 2>&1) ||
		die "apt-get source arm-trusted-firmware (trixie) failed: $(tail -n 3 "$T/source.log")"
	(cd "$T/src" && tar xf ./*.orig.tar.*)
	local src O B
	src=$(ls -d "$T"/src/arm-trusted-firmware-*/ | head -n 1)
	O=$T/optee/usr/lib/optee/vexpress-qemu_armv8a
	[ -e "$O/tee-pager_v2.bin" ] || die "optee-os has no vexpress-qemu_armv8a images"
	# GICv3 on both sides: TF-A's QEMU default is GICv2, OP-TEE's is v3, and
	# the mismatch hangs silently after BL31.
	make -s -C "$src" -j"$(nproc)" CROSS_COMPILE=aarch64-linux-gnu- PLAT=qemu DEBUG=0 \
		QEMU_USE_GIC_DRIVER=QEMU_GICV3 SPD=opteed BL32_RAM_LOCATION=tdram \
		BL32="$O/tee-header_v2.bin" BL32_EXTRA1="$O/tee-pager_v2.bin" BL32_EXTRA2="$O/tee-pageable_v2.bin" \
		ARM_LINUX_KERNEL_AS_BL33=1 PRELOADED_BL33_BASE=0x60000000 all fip >"$T/build.log" 2>&1 ||
		die "TF-A build failed: $(tail -n 5 "$T/build.log")"
	B=$src/build/qemu/release
	rm -f "$T/flash.bin"
	dd if="$B/bl1.bin" of="$T/flash.bin" bs=4096 conv=notrunc status=none
	dd if="$B/fip.bin" of="$T/flash.bin" seek=64 bs=4096 conv=notrunc status=none
	(cd "$T/debs" && ls; ls "$T/src"/*.dsc) >"$T/built"
	rm -rf "$src"
}

# tee_tier optee: boot the guest on the secure-world firmware and run the
# TEE tests (qemu-tests/tests/tee/*.sh).
tee_tier() {
	local what=$1 p=tee-$1 d=$RUN/tee-$1
	if [ "$what" != optee ]; then
		fail_boot "$p" "unknown --tee $what (only optee)"
		return
	fi
	if [ "$ARCH" != arm64 ]; then
		SKIPPED=$((SKIPPED + 1))
		printf 'SKIP  %-28s %s\n' "$ARCH/$p" "the OP-TEE tier is arm64 only"
		return
	fi
	tee_firmware
	mkdir -p "$d"
	# The TEE tests ride in their own test archive; the service runs with
	# the software provider so the image boots as it does everywhere else.
	TEST_SET="tee" test_cpio software "$d/test.cpio.gz"
	cat "$ADIR/sys.cpio.gz" "$RUN/app.cpio.gz" "$d/test.cpio.gz" >"$d/initrd.gz"
	local q=(-nodefaults -no-reboot -display none -m 1024 -smp "$QEMU_SMP"
		-M virt,secure=on,gic-version=3 -cpu cortex-a57 -bios "$QT_CACHE/optee/flash.bin" -monitor none)
	# QEMU hands firmware neither -append nor -initrd: take the device tree
	# it generates and add the /chosen entries Linux needs.
	"$QEMU" "${q[@]}" -M virt,secure=on,gic-version=3,dumpdtb="$d/gen.dtb" >"$d/dumpdtb.log" 2>&1 ||
		{ fail_boot "$p" "QEMU could not dump the device tree: $(tail -n 2 "$d/dumpdtb.log")"; return; }
	local end
	end=$(printf '0x%x' $((0x48000000 + $(stat -c %s "$d/initrd.gz"))))
	dtc -q -I dtb -O dts "$d/gen.dtb" |
		sed "0,/\tchosen {/s//\tchosen {\n\t\tbootargs = \"console=ttyAMA0 panic=-1 quiet loglevel=3\";\n\t\tlinux,initrd-start = <0x00 0x48000000>;\n\t\tlinux,initrd-end = <0x00 $end>;/" |
		dtc -q -I dts -O dtb -o "$d/boot.dtb"
	QEMU_ARGS_OVERRIDE=("${q[@]}" -dtb "$d/boot.dtb"
		-chardev "file,id=con,path=$d/console.log" -serial chardev:con
		-serial "file:$d/secure-world.log"
		-device "loader,file=$KERNEL,addr=0x60000000,force-raw=on"
		-device "loader,file=$d/initrd.gz,addr=0x48000000,force-raw=on")
	boot "$p" prepared
	QEMU_ARGS_OVERRIDE=()
}
