# shellcheck shell=bash
# Shared helpers for running Debian trixie binaries (the Rust Parsec service
# 1.4.1 and parsec-tool 0.7.0) from a private root on a bookworm host.
#
# Installing those packages on the host would drag libc6, systemd and openssl
# up to trixie, so they live in a root made by mmdebstrap. We run them through
# the root's own dynamic loader with --library-path pointing into the root: the
# process then uses only trixie's libc and libraries, yet sees the host's file
# system, uid and network. That avoids chroot and bind mounts entirely, so a
# socket path means the same thing to host programs and to the root's programs.
#
# Sourced by scripts/trixie-root.sh, scripts/rust-parsec.sh,
# scripts/upstream-cli-tests.sh, scripts/takeover-tests.sh and
# scripts/make-rust-fixtures.sh. Bash only.

TRIXIE_SUITE=trixie
TRIXIE_VARIANT=apt
TRIXIE_MIRROR=${TRIXIE_MIRROR:-http://deb.debian.org/debian}
# The TCTI modules are named explicitly so the TPM provider can load them
# whatever apt decides about Recommends. softhsm2 lets the Rust PKCS#11
# provider run beside ours; pkcs11-provider is OpenSSL 3's PKCS#11 bridge for
# the PKCS#11 module tests; sqlite3 inspects Rust's key info database.
TRIXIE_BASE_PACKAGES="parsec-service parsec-tool openssl libtss2-tcti-swtpm0t64 libtss2-tcti-device0t64 libtss2-tcti-mssim0t64 softhsm2 pkcs11-provider sqlite3"
TRIXIE_STAMP=.parsec-go-root.stamp

trixie_die() {
	echo "${0##*/}: $*" >&2
	exit 1
}

trixie_default_dir() {
	echo "${PARSEC_CACHE:-${HOME:-/root}/.cache/parsec-go}/trixie-root"
}

# Sets TRIXIE_PACKAGES to the sorted, de-duplicated package list, so the
# stamp does not change when the same set is spelled in another order. Pure
# bash: `rust-parsec.sh tool` runs this on every call and process spawns are
# the expensive part on a loaded 2-core machine.
trixie_packages() {
	local -a in out
	local p q i
	# shellcheck disable=SC2206
	in=($TRIXIE_BASE_PACKAGES ${TRIXIE_EXTRA_PACKAGES:-})
	out=()
	for p in "${in[@]}"; do
		for q in "${out[@]}"; do
			[ "$p" != "$q" ] || continue 2
		done
		i=${#out[@]}
		while [ "$i" -gt 0 ] && [[ ${out[i - 1]} > $p ]]; do
			out[i]=${out[i - 1]}
			i=$((i - 1))
		done
		out[i]=$p
	done
	TRIXIE_PACKAGES="${out[*]}"
}

# Sets TRIXIE_STAMP_TEXT: everything that changes the root's contents; a
# different text forces a rebuild.
trixie_stamp_text() {
	trixie_packages
	TRIXIE_STAMP_TEXT="format=1
suite=$TRIXIE_SUITE
variant=$TRIXIE_VARIANT
packages=$TRIXIE_PACKAGES"
}

trixie_root_complete() {
	local dir=$1 have=
	[ -f "$dir/$TRIXIE_STAMP" ] || return 1
	IFS= read -r -d '' have <"$dir/$TRIXIE_STAMP" || true
	trixie_stamp_text
	[ "${have%$'\n'}" = "$TRIXIE_STAMP_TEXT" ]
}

# Sets TRIXIE_LDSO to the root's dynamic loader; the directory holding it is
# the root's multiarch library directory.
trixie_find_ldso() {
	local root=$1 f
	for f in "$root"/usr/lib/*-linux-gnu*/ld-linux*.so.*; do
		if [ -f "$f" ]; then
			TRIXIE_LDSO=$f
			return 0
		fi
	done
	return 1
}

# Resolves the root to use: $TRIXIE_ROOT if set, else the default cache dir,
# building it with trixie-root.sh when it is missing or stale. Sets
# TRIXIE_ROOT, TRIXIE_LDSO, TRIXIE_LIBDIR and TRIXIE_LIBPATH.
trixie_resolve() {
	local here=${BASH_SOURCE[0]%/*}/..
	if [ -z "${TRIXIE_ROOT:-}" ]; then
		TRIXIE_ROOT=${PARSEC_CACHE:-${HOME:-/root}/.cache/parsec-go}/trixie-root
		if ! trixie_root_complete "$TRIXIE_ROOT"; then
			TRIXIE_ROOT=$("$here/trixie-root.sh" "$TRIXIE_ROOT" | tail -n 1) ||
				trixie_die "could not build the trixie root"
		fi
	fi
	if [ ! -x "$TRIXIE_ROOT/usr/bin/parsec-tool" ] || [ ! -x "$TRIXIE_ROOT/usr/bin/parsec" ]; then
		trixie_die "$TRIXIE_ROOT is not a trixie root with parsec-service and parsec-tool (run scripts/trixie-root.sh)"
	fi
	trixie_find_ldso "$TRIXIE_ROOT" || trixie_die "no dynamic loader under $TRIXIE_ROOT/usr/lib"
	TRIXIE_LIBDIR=${TRIXIE_LDSO%/*}
	TRIXIE_LIBPATH="$TRIXIE_LIBDIR:$TRIXIE_ROOT/usr/lib"
	export TRIXIE_ROOT
}

# trixie_exec ARGV0 /usr/bin/PROGRAM ARGS... : replaces the shell with the
# root's PROGRAM. OpenSSL's compiled-in paths (/usr/lib/ssl, ossl-modules)
# would otherwise point at the host's bookworm files.
trixie_exec() {
	local argv0=$1 prog=$2
	shift 2
	unset LD_LIBRARY_PATH LD_PRELOAD
	export OPENSSL_CONF="$TRIXIE_ROOT/etc/ssl/openssl.cnf"
	export OPENSSL_MODULES="$TRIXIE_LIBDIR/ossl-modules"
	export OPENSSL_ENGINES="$TRIXIE_LIBDIR/engines-3"
	exec "$TRIXIE_LDSO" --library-path "$TRIXIE_LIBPATH" --argv0 "$argv0" "$TRIXIE_ROOT$prog" "$@"
}

# trixie_run PROGRAM ARGS...: the root's /usr/bin/PROGRAM as a child process
# (trixie_exec replaces the shell). After trixie_resolve.
trixie_run() {
	local p=$1
	shift
	"$TRIXIE_LDSO" --library-path "$TRIXIE_LIBPATH" --argv0 "$p" "$TRIXIE_ROOT/usr/bin/$p" "$@"
}

# trixie_as_uid UID CMD...: CMD as UID (root runs it as is), the client
# identity UnixPeerCredentials sees. The trixie root lives under /root
# (0700), so the client keeps only CAP_DAC_READ_SEARCH, to reach the loader.
trixie_as_uid() {
	local u=$1
	shift
	if [ "$u" = 0 ]; then
		"$@"
	else
		setpriv --reuid="$u" --regid="$u" --clear-groups \
			--inh-caps=+dac_read_search --ambient-caps=+dac_read_search "$@"
	fi
}

# trixie_tool_as UID SOCKET PROVIDER ARGS...: the root's parsec-tool as UID
# against the service at SOCKET, with provider id PROVIDER.
trixie_tool_as() {
	local u=$1 sock=$2 p=$3
	shift 3
	trixie_as_uid "$u" env PARSEC_SERVICE_ENDPOINT="unix:$sock" RUST_LOG=off \
		"$TRIXIE_LDSO" --library-path "$TRIXIE_LIBPATH" --argv0 parsec-tool \
		"$TRIXIE_ROOT/usr/bin/parsec-tool" -p "$p" "$@"
}

# Mount points at or under $1, deepest first (mountinfo field 5).
trixie_mounts_under() {
	awk -v d="$1" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r
}

# Removes a root (or a half-built one). mmdebstrap mounts /dev, /proc and /sys
# inside the root while it builds; if it was killed, those mounts may remain,
# and a plain rm -rf would then delete the host's device nodes. So unmount
# what is left, refuse if anything is still mounted, and never cross file
# systems.
trixie_safe_rm() {
	local d=$1 m
	[ -e "$d" ] || return 0
	d=$(cd "$d" && pwd -P)
	while IFS= read -r m; do
		umount -l "$m" 2>/dev/null || true
	done < <(trixie_mounts_under "$d")
	if [ -n "$(trixie_mounts_under "$d")" ]; then
		trixie_die "file systems are still mounted under $d; not removing it"
	fi
	rm -rf --one-file-system "$d"
}

# Single-quotes a string for /bin/sh.
trixie_sq() {
	printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"
}

# trixie_write_wrapper FILE ARGV0 /usr/bin/PROGRAM : writes a /bin/sh script
# that execs the root's PROGRAM with fixed paths (no lookup at run time, so
# its overhead is one sh start).
trixie_write_wrapper() {
	local file=$1 argv0=$2 prog=$3 libdir=$TRIXIE_LIBDIR
	{
		echo '#!/bin/sh'
		echo "# Generated by parsec-go scripts/rust-parsec.sh: runs Debian trixie's $prog"
		echo "# from $TRIXIE_ROOT with the root's own loader and libraries."
		echo 'unset LD_LIBRARY_PATH LD_PRELOAD'
		echo "OPENSSL_CONF=$(trixie_sq "$TRIXIE_ROOT/etc/ssl/openssl.cnf")"
		echo "OPENSSL_MODULES=$(trixie_sq "$libdir/ossl-modules")"
		echo "OPENSSL_ENGINES=$(trixie_sq "$libdir/engines-3")"
		echo 'export OPENSSL_CONF OPENSSL_MODULES OPENSSL_ENGINES'
		echo "exec $(trixie_sq "$TRIXIE_LDSO") --library-path $(trixie_sq "$TRIXIE_LIBPATH") --argv0 $(trixie_sq "$argv0") $(trixie_sq "$TRIXIE_ROOT$prog") \"\$@\""
	} >"$file.tmp.$$"
	chmod 755 "$file.tmp.$$"
	mv -f "$file.tmp.$$" "$file"
}
