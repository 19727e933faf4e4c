#!/usr/bin/env bash
# Usage: scripts/upstream-cli-tests.sh [--script FILE] [--tool rust|PATH]
#            [--openssl root|host|PATH] [--endpoint unix:...]
#            [--start-rust mbed-crypto|tpm] [-- SCRIPT-ARGS...]
#
# For by-hand runs only. Runs a local copy of upstream parsec-tool's
# tests/parsec-cli-tests.sh (given by --script or $UPSTREAM_CLI_TESTS; this
# repository never contains it and nothing is downloaded) with the chosen
# parsec-tool and openssl first on PATH, and tallies its checks.
#
# The upstream script only sums failures into EXIT_CODE. To get a per-check
# result, a patched copy is made in a temp dir: every test_* function is
# renamed and wrapped by one that compares EXIT_CODE before and after the
# call. Failures between a provider's start and its first test_* call (the
# random-number step) are reported as "generate-random".
#
#   --tool rust      Debian trixie's Rust parsec-tool 0.7.0 (default)
#   --tool PATH      any parsec-tool binary, e.g. ours
#   --openssl root   trixie's openssl 3.5 from the same root (default)
#   --openssl host   the host's openssl
#   --endpoint E     PARSEC_SERVICE_ENDPOINT for the run (default: inherited)
#   --start-rust P   start a Rust parsec with provider P in a temp dir for the
#                    run and stop it afterwards (overrides --endpoint)
#
# Ends with "N passed, N failed"; exits 1 if any check failed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/trixie.sh
. "$here/lib/trixie.sh"

script=${UPSTREAM_CLI_TESTS:-}
tool=rust
openssl=root
endpoint=
start_rust=
while [ $# -gt 0 ]; do
	case $1 in
	--script | --tool | --openssl | --endpoint | --start-rust)
		[ $# -ge 2 ] || trixie_die "$1 needs a value"
		case $1 in
		--script) script=$2 ;;
		--tool) tool=$2 ;;
		--openssl) openssl=$2 ;;
		--endpoint) endpoint=$2 ;;
		--start-rust) start_rust=$2 ;;
		esac
		shift 2
		;;
	--)
		shift
		break
		;;
	-h | --help)
		sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	*) trixie_die "unknown option '$1' (see --help)" ;;
	esac
done
[ -n "$script" ] || trixie_die "give a copy of upstream tests/parsec-cli-tests.sh with --script FILE or \$UPSTREAM_CLI_TESTS"
[ -f "$script" ] || trixie_die "no such file: $script"

work=$(mktemp -d)
svc_dir=
cleanup() {
	if [ -n "$svc_dir" ]; then
		"$here/rust-parsec.sh" stop --dir "$svc_dir" --purge || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
bin="$work/bin"
mkdir -p "$bin"

need_root=0
[ "$tool" != rust ] || need_root=1
[ "$openssl" != root ] || need_root=1
[ -z "$start_rust" ] || need_root=1
if [ "$need_root" = 1 ]; then
	"$here/rust-parsec.sh" install-wrapper "$bin" >/dev/null
fi
case $tool in
rust) ;;
*)
	[ -x "$tool" ] || trixie_die "--tool: $tool is not an executable"
	ln -sf "$(cd "$(dirname "$tool")" && pwd -P)/$(basename "$tool")" "$bin/parsec-tool"
	;;
esac
case $openssl in
root) ;;
host)
	host_openssl=$(PATH=${PATH#"$bin:"} command -v openssl) || trixie_die "the host has no openssl"
	ln -sf "$host_openssl" "$bin/openssl"
	;;
*)
	[ -x "$openssl" ] || trixie_die "--openssl: $openssl is not an executable"
	ln -sf "$(cd "$(dirname "$openssl")" && pwd -P)/$(basename "$openssl")" "$bin/openssl"
	;;
esac

if [ -n "$start_rust" ]; then
	svc_dir="$work/svc"
	endpoint=$("$here/rust-parsec.sh" start --dir "$svc_dir" --provider "$start_rust" |
		sed -n 's/^PARSEC_SERVICE_ENDPOINT=//p')
fi
[ -z "$endpoint" ] || export PARSEC_SERVICE_ENDPOINT="$endpoint"

# Build the instrumented copy: rename each test_* definition, then define
# wrappers of the old names right after the shebang (functions are looked up
# when called, so the wrappers only need to exist before the main body runs).
names=$(sed -nE 's/^(test_[A-Za-z0-9_]+)[[:space:]]*\(\).*/\1/p' "$script")
[ -n "$names" ] || trixie_die "$script defines no test_* functions; is it parsec-cli-tests.sh?"
results="$work/results"
: >"$results"
patched="$work/parsec-cli-tests.sh"
{
	head -n 1 "$script"
	cat <<'EOF'
# --- added by parsec-go scripts/upstream-cli-tests.sh: per-check tally ---
__uct_pending=
__uct_mark=0
__uct_provider=
__uct_record() {
    # $1 label, $2 EXIT_CODE before the check
    if [ "${EXIT_CODE:-0}" -gt "$2" ]; then __uct_res=FAIL; else __uct_res=PASS; fi
    printf '%s\t%s\n' "$__uct_res" "$1 [provider $__uct_provider]" >>"$__UCT_RESULTS"
    echo "[upstream-cli-tests] $__uct_res: $1 [provider $__uct_provider]"
}
__uct_flush() {
    if [ -n "$__uct_pending" ]; then
        __uct_record "$__uct_pending" "$__uct_mark"
        __uct_pending=
    fi
}
EOF
	for n in $names; do
		if [ "$n" = test_crypto_provider ]; then
			cat <<'EOF'
test_crypto_provider() {
    __uct_provider=$1
    __uct_pending=generate-random
    __uct_mark=${EXIT_CODE:-0}
    __uct_orig_test_crypto_provider "$@"
    __uct_flush
}
EOF
		else
			cat <<EOF
$n() {
    __uct_flush
    __uct_before_$n=\${EXIT_CODE:-0}
    __uct_orig_$n "\$@"
    __uct_record "$n \$*" "\$__uct_before_$n"
}
EOF
		fi
	done
	echo '# --- end of added code ---'
	tail -n +2 "$script" | sed -E 's/^(test_[A-Za-z0-9_]+)([[:space:]]*\(\))/__uct_orig_\1\2/'
} >"$patched"

echo "upstream-cli-tests: $script with parsec-tool=$tool" \
	"openssl=$openssl endpoint=${PARSEC_SERVICE_ENDPOINT:-(script default)}"
unset PARSEC_TOOL OPENSSL
t0=$(date +%s%N)
set +e
# The shebang is /usr/bin/env sh; run it the same way (dash on Debian).
PATH="$bin:$PATH" __UCT_RESULTS="$results" sh "$patched" "$@"
rc=$?
set -e
t1=$(date +%s%N)

passed=$(grep -c '^PASS' "$results" || true)
failed=$(grep -c '^FAIL' "$results" || true)
echo
echo "upstream-cli-tests: script exit code $rc, wall $(((t1 - t0) / 1000000)) ms"
sed 's/\t/: /' "$results"
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
	# Something outside the wrapped checks failed (ping, list-providers).
	echo "FAIL: script exited $rc outside the per-check wrappers"
	failed=$((failed + 1))
fi
if [ $((passed + failed)) -eq 0 ]; then
	echo "FAIL: no check ran (no provider listed?)"
	failed=1
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
