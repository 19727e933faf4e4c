# shellcheck shell=bash
# Host tools and guest parts from Debian bookworm, cached under $QT_CACHE.
#
# Guest-architecture packages are fetched through a private apt
# configuration (own sources copy, lists, cache and empty dpkg status, one
# architecture), so the host's apt setup and dpkg architectures stay as they
# are and one architecture's broken index cannot spoil another's.

# host_tools: install the host packages that are missing.
host_tools() {
	local want=() cmd pkg
	# command:package
	for cmd in "$QEMU:$QEMU_PKG" \
		swtpm:swtpm depmod:kmod modprobe:kmod cpio:cpio gzip:gzip dpkg-deb:dpkg; do
		pkg=${cmd#*:}
		command -v "${cmd%%:*}" >/dev/null 2>&1 || want+=("$pkg")
	done
	[ ${#want[@]} -eq 0 ] && return 0
	mapfile -t want < <(printf '%s\n' "${want[@]}" | sort -u)
	note "installing host packages: ${want[*]}"
	[ "$(id -u)" = 0 ] || die "need root to install ${want[*]} (or install them first)"
	# Other jobs on the machine may hold apt's locks: wait for them (apt_get
	# also retries an update that found the lists locked).
	# shellcheck source=scripts/lib/apt.sh
	. "$REPO/scripts/lib/apt.sh"
	APT_LOCK_WAIT=600 apt_get update -qq ||
		note "apt-get update reported errors; trying the install anyway"
	APT_LOCK_WAIT=600 apt_get install -y -qq \
		--no-install-recommends "${want[@]}" >"$QT_CACHE/apt-host.log" 2>&1 ||
		die "apt-get install ${want[*]} failed, see $QT_CACHE/apt-host.log"
}

# apt_x DEBARCH ARGS...: apt-get/apt-cache against the private configuration
# for one guest architecture.
apt_opts() {
	local d=$QT_CACHE/apt/$1
	printf '%s\n' \
		-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$d/etc" \
		-o "Dir::Etc::Preferences=/dev/null" -o "Dir::Etc::PreferencesParts=$d/prefs" \
		-o "Dir::State::Lists=$d/lists" -o "Dir::State::status=$d/status" \
		-o "Dir::Cache=$d/cache" -o "APT::Architecture=$1" -o "APT::Architectures::=$1" \
		-o "APT::Sandbox::User=root" -o "Acquire::Retries=3"
}

apt_private_update() {
	local a=$1 d=$QT_CACHE/apt/$1 f
	mkdir -p "$d/etc" "$d/prefs" "$d/lists/partial" "$d/cache/archives/partial"
	: >"$d/status"
	rm -f "$d/etc"/*
	# Keep the host's Debian mirrors but only the bookworm suites, so a host
	# that also lists trixie still gets bookworm parts.
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -e "$f" ] || continue
		awk 'BEGIN { RS = ""; ORS = "\n\n" }
			/debian/ {
				out = ""; n = split($0, l, "\n")
				for (i = 1; i <= n; i++) {
					if (l[i] ~ /^Suites:/) {
						m = split(l[i], w, /[ \t]+/); s = ""
						for (j = 2; j <= m; j++) if (w[j] ~ /^bookworm/) s = s " " w[j]
						if (s == "") { out = ""; break }
						l[i] = "Suites:" s
					}
					out = out l[i] "\n"
				}
				if (out != "") printf "%s\n", out
			}' "$f" >"$d/etc/${f##*/}"
	done
	if [ -s /etc/apt/sources.list ]; then
		grep -E '^deb [^#]*debian[^ ]* bookworm' /etc/apt/sources.list >"$d/etc/host.list" || true
	fi
	find "$d/etc" -type f -empty -delete
	compgen -G "$d/etc/*" >/dev/null ||
		die "no Debian apt sources found in /etc/apt to copy"
	mapfile -t o < <(apt_opts "$a")
	apt-get "${o[@]}" update -qq >"$d/update.log" 2>&1 ||
		note "apt update for $a reported errors (see $d/update.log)"
	touch "$d/updated"
}

# fetch_debs ARCHDIR DEBARCH PKG...: download PKG (resolved names) into
# ARCHDIR/debs. Refreshes the private index when it is older than a week or
# a download fails (the security archive moves kernel ABIs along).
fetch_debs() {
	local dir=$1 a=$2
	shift 2
	local d=$QT_CACHE/apt/$a o
	mkdir -p "$dir/debs"
	if [ ! -e "$d/updated" ] || [ -n "$(find "$d/updated" -mtime +7)" ]; then
		apt_private_update "$a"
	fi
	mapfile -t o < <(apt_opts "$a")
	if ! (cd "$dir/debs" && apt-get "${o[@]}" download "$@" >"$dir/download.log" 2>&1); then
		apt_private_update "$a"
		(cd "$dir/debs" && apt-get "${o[@]}" download "$@" >"$dir/download.log" 2>&1) ||
			die "apt-get download $* ($a) failed: $(tail -n 3 "$dir/download.log")"
	fi
}

# resolve_kernel DEBARCH META: the versioned image package the meta package
# points at (the ABI name changes with security updates).
resolve_kernel() {
	local o
	mapfile -t o < <(apt_opts "$1")
	apt-cache "${o[@]}" depends "$2" 2>/dev/null | awk '/Depends: linux-image-/{print $2; exit}'
}

# fetch_arch: download and unpack the kernel, busybox and openssl (with the
# libraries it needs) for $ARCH into $ADIR/root. Skipped when done before.
fetch_arch() {
	local stamp=$ADIR/fetched
	if [ -e "$stamp" ] && [ -d "$ADIR/root/boot" ]; then
		return 0
	fi
	note "fetching Debian $DEBARCH parts (kernel $KMETA, busybox-static, openssl)"
	local d=$QT_CACHE/apt/$DEBARCH kpkg
	if [ ! -e "$d/updated" ]; then apt_private_update "$DEBARCH"; fi
	kpkg=$(resolve_kernel "$DEBARCH" "$KMETA")
	if [ -z "$kpkg" ]; then
		apt_private_update "$DEBARCH"
		kpkg=$(resolve_kernel "$DEBARCH" "$KMETA")
	fi
	[ -n "$kpkg" ] || die "cannot resolve $KMETA for $DEBARCH (see $d/update.log)"
	rm -rf "$ADIR/debs" "$ADIR/root"
	fetch_debs "$ADIR" "$DEBARCH" "$kpkg" busybox-static openssl libssl3 libc6
	unpack_arch
	(cd "$ADIR/debs" && ls) >"$stamp"
}

# unpack_arch: the downloaded packages unpacked into $ADIR/root. Only the
# kernel image is needed at boot; the rest (140 MB of modules for arm64) is
# removed once the system archive is built and unpacked again when it has
# to be rebuilt.
unpack_arch() {
	rm -rf "$ADIR/root"
	mkdir -p "$ADIR/root"
	local f kv
	for f in "$ADIR"/debs/*.deb; do
		dpkg-deb -x "$f" "$ADIR/root"
	done
	kv=$(ls "$ADIR/root/lib/modules")
	# Debian ships no modules.dep in the package; depmod works cross-arch.
	depmod -b "$ADIR/root" "$kv"
}

prune_arch() {
	find "$ADIR/root" -mindepth 1 -maxdepth 1 ! -name boot -exec rm -rf {} +
}

# fetch_softhsm: Debian bookworm's SoftHSM 2 for the pkcs11 guest
# (softhsm2-util and libsofthsm2.so) with the library packages their
# Depends name, followed transitively, unpacked into $ADIR/softhsm/root.
# Cached apart from the base parts so that only pkcs11 boots carry it and
# the base cache stays valid. Non-library Depends (softhsm2-common's
# default config, ucf) are not needed: the test writes its own config.
fetch_softhsm() {
	local S=$ADIR/softhsm want=(softhsm2 libsofthsm2) have=() next f dep
	if [ -e "$S/fetched" ] && [ -d "$S/root" ]; then
		return 0
	fi
	note "fetching Debian $DEBARCH SoftHSM 2 (softhsm2, libsofthsm2 and their libraries)"
	rm -rf "$S"
	mkdir -p "$S"
	while [ ${#want[@]} -gt 0 ]; do
		fetch_debs "$S" "$DEBARCH" "${want[@]}"
		have+=("${want[@]}")
		next=()
		for f in "$S"/debs/*.deb; do
			# Depends: a, b (>= 1) | c, ...: first alternative, name only
			for dep in $(dpkg-deb -f "$f" Depends Pre-Depends | sed 's/^[A-Za-z-]*: //' |
				tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/:any//; s/[[:space:]]//g'); do
				case $dep in lib*) ;; *) continue ;; esac
				case " ${have[*]} ${next[*]} " in *" $dep "*) continue ;; esac
				next+=("$dep")
			done
		done
		want=("${next[@]}")
	done
	mkdir -p "$S/root"
	for f in "$S"/debs/*.deb; do
		dpkg-deb -x "$f" "$S/root"
	done
	(cd "$S/debs" && ls) >"$S/fetched"
}
