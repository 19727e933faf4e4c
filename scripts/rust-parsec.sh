#!/usr/bin/env bash
# Runs the real Rust Parsec service 1.4.1 and parsec-tool 0.7.0 (Debian
# trixie) from the root made by scripts/trixie-root.sh, without touching the
# host's libc. See usage() below and scripts/README.md.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib/trixie.sh
case $0 in */*) . "${0%/*}/lib/trixie.sh" ;; *) . lib/trixie.sh ;; esac

usage() {
	cat <<'EOF'
Usage: rust-parsec.sh [--root R] COMMAND [ARGS]

  start --dir D --provider mbed-crypto|tpm|pkcs11 [--tcti T] [--idle-sleep MS]
        [--log-level L] [--threads N] [--wait SECONDS] [--kim sqlite|ondisk]
        Writes D/config.toml and starts the Rust parsec with CWD = D (Mbed
        Crypto keeps its key files there). Waits until a ping answers, then
        prints PARSEC_SERVICE_ENDPOINT=unix:D/parsec.sock and PARSEC_PID=N.
        TPM default TCTI: swtpm:host=127.0.0.1,port=2321.
        pkcs11: the root's SoftHSM 2 module on the token SOFTHSM2_CONF names
        (inherited), user PIN --pin P (default 123456).
        --kim: the key info manager, SQLite (default, D/kim.sqlite3) or
        OnDisk (D/mappings).
  stop --dir D [--purge]
        SIGTERM, wait (SIGKILL after 10 s), remove socket and pid file;
        --purge also removes D.
  tool ARGS...        runs the Rust parsec-tool (env, stdio, exit code passed).
  openssl ARGS...     runs the root's openssl (3.5).
  install-wrapper DIR writes DIR/parsec-tool, DIR/openssl and DIR/parsec
                      (/bin/sh scripts with fixed paths; prints DIR/parsec-tool).
  argv PROGRAM        prints, one per line, the argv that runs the root's
                      parsec-tool, parsec or openssl with no shell in between
                      (append your arguments; for benchmarks: one spawn less).
  env --dir D         prints PARSEC_SERVICE_ENDPOINT=... of the instance in D.
  pid --dir D         prints the service PID (exit 1 if not running).
  rss --dir D         prints the service's VmRSS in kB.
  hwm --dir D         prints the service's VmHWM (peak RSS) in kB.
  root                prints the trixie root path (building it if needed).

--root R or $TRIXIE_ROOT picks the root; default: the cached one.
EOF
}

die() { trixie_die "$@"; }

abs_dir() {
	mkdir -p "$1"
	(cd "$1" && pwd -P)
}

# A PID is ours if it is alive (not a zombie) and runs parsec with D's config.
# Checking the command line guards against a recycled PID.
service_pid() {
	local d=$1 pid state
	[ -f "$d/parsec.pid" ] || return 1
	pid=$(cat "$d/parsec.pid")
	[ -r "/proc/$pid/stat" ] || return 1
	state=$(sed 's/^.*) //' "/proc/$pid/stat" | cut -d' ' -f1)
	[ "$state" != Z ] || return 1
	tr '\0' '\n' <"/proc/$pid/cmdline" | grep -qxF "$d/config.toml" || return 1
	echo "$pid"
}

proc_status_kb() {
	local field=$1 pid
	pid=$(service_pid "$dir") || die "no Rust parsec running in $dir"
	awk -v f="$field:" '$1 == f { print $2 }' "/proc/$pid/status"
}

write_config() {
	local d=$1
	{
		echo '# Written by parsec-go scripts/rust-parsec.sh'
		echo '[core_settings]'
		# The harness runs as root in CI; the service refuses uid 0 without this.
		echo 'allow_root = true'
		echo "log_level = \"$log_level\""
		echo 'log_timestamp = true'
		echo 'log_error_details = true'
		[ -z "$idle_sleep" ] || echo "idle_listener_sleep_duration = $idle_sleep"
		[ -z "$threads" ] || echo "thread_pool_size = $threads"
		echo
		echo '[listener]'
		echo 'listener_type = "DomainSocket"'
		echo 'timeout = 200'
		echo "socket_path = \"$d/parsec.sock\""
		echo
		echo '[authenticator]'
		echo 'auth_type = "UnixPeerCredentials"'
		echo
		echo '[[key_manager]]'
		echo 'name = "sqlite-manager"'
		if [ "$kim" = ondisk ]; then
			# The name stays: providers refer to it below.
			echo 'manager_type = "OnDisk"'
			echo "store_path = \"$d/mappings\""
		else
			echo 'manager_type = "SQLite"'
			# sqlite_db_path, not store_path: the latter is silently ignored by
			# the SQLite manager (the packaged example gets this wrong).
			echo "sqlite_db_path = \"$d/kim.sqlite3\""
		fi
		echo
		echo '[[provider]]'
		case $provider in
		mbed-crypto)
			echo 'provider_type = "MbedCrypto"'
			;;
		tpm)
			echo 'provider_type = "Tpm"'
			echo "tcti = \"$tcti\""
			echo 'owner_hierarchy_auth = ""'
			;;
		pkcs11)
			echo 'provider_type = "Pkcs11"'
			echo "library_path = \"$TRIXIE_ROOT/usr/lib/softhsm/libsofthsm2.so\""
			echo "user_pin = \"$pin\""
			;;
		esac
		echo 'key_info_manager = "sqlite-manager"'
	} >"$d/config.toml"
}

cmd_start() {
	local pid t0 t1 sock deadline
	[ -n "$dir" ] || die "start needs --dir D"
	case $provider in
	mbed-crypto | tpm | pkcs11) ;;
	'') die "start needs --provider mbed-crypto|tpm|pkcs11" ;;
	*) die "unknown provider '$provider' (mbed-crypto, tpm or pkcs11)" ;;
	esac
	case $idle_sleep$threads in *[!0-9]*) die "--idle-sleep and --threads take integers" ;; esac
	case $kim in sqlite | ondisk) ;; *) die "--kim takes sqlite or ondisk" ;; esac
	dir=$(abs_dir "$dir")
	sock="$dir/parsec.sock"
	# sun_path holds 108 bytes including the NUL.
	[ ${#sock} -le 107 ] || die "socket path too long for AF_UNIX: $sock"
	if pid=$(service_pid "$dir"); then
		die "a Rust parsec is already running in $dir (pid $pid)"
	fi
	trixie_resolve
	write_config "$dir"
	rm -f "$sock" "$dir/parsec.pid"
	t0=$(date +%s%N)
	# exec keeps the subshell's PID, so $! is the service itself (the loader
	# maps parsec into the same process). setsid keeps a terminal's Ctrl-C or
	# SIGHUP (which parsec treats as reload) away from it.
	(
		cd "$dir"
		exec setsid "$TRIXIE_LDSO" --library-path "$TRIXIE_LIBPATH" --argv0 parsec \
			"$TRIXIE_ROOT/usr/bin/parsec" -c "$dir/config.toml"
	) </dev/null >>"$dir/parsec.log" 2>&1 &
	pid=$!
	echo "$pid" >"$dir/parsec.pid"
	deadline=$(($(date +%s) + wait_s))
	while :; do
		if ! service_pid "$dir" >/dev/null; then
			tail -n 20 "$dir/parsec.log" >&2 || true
			rm -f "$dir/parsec.pid"
			die "the Rust parsec exited during start-up (log: $dir/parsec.log)"
		fi
		if [ -S "$sock" ] && PARSEC_SERVICE_ENDPOINT="unix:$sock" RUST_LOG=off \
			"$TRIXIE_LDSO" --library-path "$TRIXIE_LIBPATH" --argv0 parsec-tool \
			"$TRIXIE_ROOT/usr/bin/parsec-tool" ping >/dev/null 2>&1; then
			break
		fi
		if [ "$(date +%s)" -ge "$deadline" ]; then
			kill -TERM "$pid" 2>/dev/null || true
			tail -n 20 "$dir/parsec.log" >&2 || true
			die "the Rust parsec did not answer a ping within $wait_s s (log: $dir/parsec.log)"
		fi
		sleep 0.005
	done
	t1=$(date +%s%N)
	echo "rust-parsec: parsec ($provider) pid $pid answered ping after $(((t1 - t0) / 1000000)) ms; log $dir/parsec.log" >&2
	echo "PARSEC_SERVICE_ENDPOINT=unix:$sock"
	echo "PARSEC_PID=$pid"
}

cmd_stop() {
	local pid i
	[ -n "$dir" ] || die "stop needs --dir D"
	[ -d "$dir" ] || die "no such directory: $dir"
	dir=$(abs_dir "$dir")
	if pid=$(service_pid "$dir"); then
		kill -TERM "$pid" 2>/dev/null || true
		# Polls /proc because the service is usually not our child to wait for.
		for ((i = 0; i < 1000; i++)); do
			service_pid "$dir" >/dev/null || break
			sleep 0.01
		done
		if service_pid "$dir" >/dev/null; then
			echo "rust-parsec: pid $pid ignored SIGTERM for 10 s, sending SIGKILL" >&2
			kill -KILL "$pid" 2>/dev/null || true
		fi
	else
		echo "rust-parsec: no Rust parsec running in $dir" >&2
	fi
	rm -f "$dir/parsec.sock" "$dir/parsec.pid"
	if [ "$purge" = 1 ]; then
		rm -rf "$dir"
	fi
}

root_opt=
dir=
provider=
tcti=swtpm:host=127.0.0.1,port=2321
pin=123456
idle_sleep=
threads=
log_level=info
wait_s=30
purge=0
kim=sqlite

while [ $# -gt 0 ]; do
	case $1 in
	--root)
		root_opt=$2
		shift 2
		;;
	-h | --help)
		usage
		exit 0
		;;
	*) break ;;
	esac
done
[ -z "$root_opt" ] || TRIXIE_ROOT=$root_opt
[ $# -gt 0 ] || {
	usage >&2
	exit 2
}
cmd=$1
shift

case $cmd in
tool)
	trixie_resolve
	trixie_exec parsec-tool /usr/bin/parsec-tool "$@"
	;;
openssl)
	trixie_resolve
	trixie_exec openssl /usr/bin/openssl "$@"
	;;
install-wrapper)
	[ $# -eq 1 ] || die "usage: install-wrapper DIR"
	trixie_resolve
	mkdir -p "$1"
	trixie_write_wrapper "$1/parsec-tool" parsec-tool /usr/bin/parsec-tool
	trixie_write_wrapper "$1/openssl" openssl /usr/bin/openssl
	trixie_write_wrapper "$1/parsec" parsec /usr/bin/parsec
	echo "$(cd "$1" && pwd -P)/parsec-tool"
	exit 0
	;;
argv)
	[ $# -eq 1 ] || die "usage: argv parsec-tool|parsec|openssl"
	case $1 in
	parsec-tool | parsec | openssl) ;;
	*) die "argv: unknown program '$1' (parsec-tool, parsec or openssl)" ;;
	esac
	trixie_resolve
	printf '%s\n' "$TRIXIE_LDSO" --library-path "$TRIXIE_LIBPATH" --argv0 "$1" "$TRIXIE_ROOT/usr/bin/$1"
	exit 0
	;;
root)
	trixie_resolve
	echo "$TRIXIE_ROOT"
	exit 0
	;;
esac

while [ $# -gt 0 ]; do
	case $1 in
	--dir) dir=${2%/} ;;
	--provider) provider=$2 ;;
	--tcti) tcti=$2 ;;
	--pin) pin=$2 ;;
	--idle-sleep) idle_sleep=$2 ;;
	--threads) threads=$2 ;;
	--log-level) log_level=$2 ;;
	--wait) wait_s=$2 ;;
	--kim) kim=$2 ;;
	--purge)
		purge=1
		shift
		continue
		;;
	*) die "unknown option '$1' for $cmd" ;;
	esac
	[ $# -ge 2 ] || die "$1 needs a value"
	shift 2
done

case $cmd in
start) cmd_start ;;
stop) cmd_stop ;;
env | pid | rss | hwm)
	[ -n "$dir" ] || die "$cmd needs --dir D"
	[ -d "$dir" ] || die "no such directory: $dir"
	dir=$(abs_dir "$dir")
	case $cmd in
	env)
		service_pid "$dir" >/dev/null || die "no Rust parsec running in $dir"
		echo "PARSEC_SERVICE_ENDPOINT=unix:$dir/parsec.sock"
		;;
	pid) service_pid "$dir" || die "no Rust parsec running in $dir" ;;
	rss) proc_status_kb VmRSS ;;
	hwm) proc_status_kb VmHWM ;;
	esac
	;;
*)
	usage >&2
	exit 2
	;;
esac
