#!/usr/bin/env bash
# Usage: scripts/trixie-root.sh [DIR]
#
# Creates, or reuses when already complete, a Debian trixie root holding the
# Rust Parsec service (parsec-service 1.4.1), parsec-tool 0.7.0 and openssl,
# for interop tests and benchmarks on a bookworm host whose libc must not be
# upgraded. Default DIR: ${PARSEC_CACHE:-$HOME/.cache/parsec-go}/trixie-root.
# Extra packages: TRIXIE_EXTRA_PACKAGES="pkg ..."; mirror: TRIXIE_MIRROR.
#
# The root is complete when DIR/.parsec-go-root.stamp matches the current
# package list; otherwise it is rebuilt aside and swapped in. Progress goes to
# stderr; the last line on stdout is the root's path.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib/trixie.sh
case $0 in */*) . "${0%/*}/lib/trixie.sh" ;; *) . lib/trixie.sh ;; esac

dir=${1:-$(trixie_default_dir)}
case $dir in
/*) ;;
*) dir="$PWD/$dir" ;;
esac
dir=${dir%/}
if [ -z "$dir" ] || [ "$dir" = / ]; then
	trixie_die "refusing to use / as the root"
fi

if trixie_root_complete "$dir"; then
	echo "$dir"
	exit 0
fi

mkdir -p "$(dirname "$dir")"
# Two callers building at once would race on the swap; the second waits and
# then finds the root complete.
exec 9>"$dir.lock"
flock -w 1200 9 || trixie_die "timed out waiting for $dir.lock"
if trixie_root_complete "$dir"; then
	echo "$dir"
	exit 0
fi

if [ -e "$dir" ] && [ ! -f "$dir/$TRIXIE_STAMP" ] && [ -n "$(ls -A "$dir")" ]; then
	trixie_die "$dir exists, is not empty and is not a root made by this script; remove it or pick another DIR"
fi

if ! command -v mmdebstrap >/dev/null 2>&1; then
	[ "$(id -u)" = 0 ] || trixie_die "mmdebstrap is missing; install it (apt-get install mmdebstrap)"
	echo "trixie-root: installing mmdebstrap" >&2
	# shellcheck source-path=SCRIPTDIR source=lib/apt.sh
	case $0 in */*) . "${0%/*}/lib/apt.sh" ;; *) . lib/apt.sh ;; esac
	if ! apt_get install -y -q mmdebstrap >&2; then
		apt_get update -q >&2
		apt_get install -y -q mmdebstrap >&2
	fi
fi

trixie_stamp_text
packages=$TRIXIE_PACKAGES
# Under the lock no other build is running, so any DIR.new.* is a leftover of
# an interrupted one.
for old in "$dir".new.*; do
	[ ! -e "$old" ] || trixie_safe_rm "$old"
done
new="$dir.new.$$"
trap 'trixie_safe_rm "$new"' EXIT
echo "trixie-root: building $dir with: $packages" >&2
start=$(date +%s)
# Docs, man pages and translations are never used here; skipping them keeps
# the root at about 130 MB.
mmdebstrap \
	--variant="$TRIXIE_VARIANT" \
	--include="${packages// /,}" \
	--dpkgopt='path-exclude=/usr/share/man/*' \
	--dpkgopt='path-exclude=/usr/share/doc/*' \
	--dpkgopt='path-exclude=/usr/share/locale/*' \
	"$TRIXIE_SUITE" "$new" "$TRIXIE_MIRROR" </dev/null >&2 &
mm=$!
# On a signal, let mmdebstrap undo its mounts before the EXIT trap removes
# the half-built root.
trap 'kill -TERM "$mm" 2>/dev/null; wait "$mm"; exit 143' TERM INT HUP
if ! wait "$mm"; then
	trixie_die "mmdebstrap failed"
fi
trap - TERM INT HUP

# Prove the root can run its binaries through its own loader before using it.
trixie_find_ldso "$new" || trixie_die "the new root has no dynamic loader"
"$TRIXIE_LDSO" --library-path "${TRIXIE_LDSO%/*}" "$new/usr/bin/parsec-tool" --version >&2 ||
	trixie_die "the new root cannot run parsec-tool"

printf '%s\n' "$TRIXIE_STAMP_TEXT" >"$new/$TRIXIE_STAMP"
trixie_safe_rm "$dir"
mv "$new" "$dir"
trap - EXIT
echo "trixie-root: built in $(($(date +%s) - start)) s ($(du -sh "$dir" | cut -f1))" >&2
echo "$dir"
