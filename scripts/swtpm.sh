#!/usr/bin/env bash
# A private swtpm (TPM 2.0 emulator) for tests: loopback only, free ports,
# its own state directory. See usage() below.
set -euo pipefail
# shellcheck source=scripts/lib/apt.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/apt.sh"

usage() {
	cat <<'EOF'
Usage: swtpm.sh COMMAND [ARGS]

  install             installs swtpm and swtpm-tools from Debian if missing
                      (exit 3 if that is not possible).
  start [--dir D]     starts swtpm with state in D (a new temporary directory
                      if not given), the command port P and the control port
                      P+1 on 127.0.0.1 (a free pair is picked), and prints
                        SWTPM_DIR=D
                        SWTPM_HOST=127.0.0.1
                        SWTPM_PORT=P
                        SWTPM_CTRL_PORT=P+1
                        SWTPM_PID=N
                        SWTPM_TCTI=swtpm:host=127.0.0.1,port=P
                      D/swtpm.pid, D/swtpm.log and D/ports are kept there.
  stop --dir D [--purge]
                      SIGTERM (SIGKILL after 5 s); --purge removes D.
  kill --dir D        SIGKILL, as a crash would (state on disk is kept).
  restart --dir D     stop, then start again on the same ports and state.
  env --dir D         prints the SWTPM_* lines of the instance in D.
  run [--dir D] -- CMD [ARGS]
                      start, run CMD with SWTPM_* in its environment, then
                      stop and remove the state (also on failure or signal);
                      exits with CMD's status.

swtpm is started with --flags not-need-init,startup-clear, so the TPM is
usable at once, as the Rust Parsec TPM provider expects.
EOF
}

die() {
	echo "swtpm.sh: $*" >&2
	exit 1
}

install_swtpm() {
	if command -v swtpm >/dev/null && command -v swtpm_ioctl >/dev/null; then
		return 0
	fi
	if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
		echo "swtpm.sh: swtpm is missing and cannot be installed (need root and apt-get)" >&2
		exit 3
	fi
	# Bookworm's own packages only: never pull newer suites onto the host.
	if ! apt_get install -y --no-install-recommends swtpm swtpm-tools >&2; then
		apt_get update >&2 || true
		apt_get install -y --no-install-recommends swtpm swtpm-tools >&2 ||
			{ echo "swtpm.sh: apt-get install swtpm swtpm-tools failed" >&2; exit 3; }
	fi
	command -v swtpm >/dev/null || { echo "swtpm.sh: swtpm still missing after install" >&2; exit 3; }
}

# A port is free if nothing listens on it; the bind in start() is the real
# test, this only avoids most collisions.
port_in_use() {
	ss -Htan "( sport = :$1 )" 2>/dev/null | grep -q . && return 0
	return 1
}

pick_ports() {
	local p
	for _ in $(seq 1 200); do
		p=$((20000 + RANDOM % 40000))
		p=$((p - p % 2))
		if ! port_in_use "$p" && ! port_in_use $((p + 1)); then
			echo "$p"
			return 0
		fi
	done
	die "no free port pair found"
}

# The PID in D/swtpm.pid is ours if it is alive and runs swtpm on D's state.
swtpm_pid() {
	local d=$1 pid
	[ -f "$d/swtpm.pid" ] || return 1
	pid=$(cat "$d/swtpm.pid" 2>/dev/null) || return 1
	[ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
	tr '\0' '\n' <"/proc/$pid/cmdline" | grep -qF "dir=$d/state" || return 1
	echo "$pid"
}

print_env() {
	local d=$1 port pid
	port=$(cat "$d/ports")
	pid=$(swtpm_pid "$d") || die "no swtpm running in $d"
	echo "SWTPM_DIR=$d"
	echo "SWTPM_HOST=127.0.0.1"
	echo "SWTPM_PORT=$port"
	echo "SWTPM_CTRL_PORT=$((port + 1))"
	echo "SWTPM_PID=$pid"
	echo "SWTPM_TCTI=swtpm:host=127.0.0.1,port=$port"
}

# Wait until the command port accepts connections (swtpm --daemon returns
# before that in some versions).
wait_listening() {
	local port=$1
	for _ in $(seq 1 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			return 0
		fi
		sleep 0.05
	done
	return 1
}

launch() {
	local d=$1 port=$2
	rm -f "$d/swtpm.pid"
	swtpm socket --tpm2 \
		--server "type=tcp,port=$port,bindaddr=127.0.0.1" \
		--ctrl "type=tcp,port=$((port + 1)),bindaddr=127.0.0.1" \
		--flags not-need-init,startup-clear \
		--tpmstate "dir=$d/state" \
		--pid "file=$d/swtpm.pid" \
		--log "file=$d/swtpm.log" \
		--daemon
}

start() {
	local d=${1:-} port tries
	install_swtpm
	if [ -z "$d" ]; then
		d=$(mktemp -d "${TMPDIR:-/tmp}/swtpm.XXXXXX")
	fi
	mkdir -p "$d/state"
	d=$(cd "$d" && pwd -P)
	chmod 700 "$d"
	if swtpm_pid "$d" >/dev/null; then
		die "swtpm already running in $d"
	fi
	for tries in 1 2 3 4 5; do
		if [ -f "$d/ports" ] && [ "$tries" = 1 ]; then
			port=$(cat "$d/ports")
		else
			port=$(pick_ports)
		fi
		if launch "$d" "$port" 2>>"$d/swtpm.log" && wait_listening "$port"; then
			echo "$port" >"$d/ports"
			print_env "$d"
			return 0
		fi
		if pid=$(swtpm_pid "$d"); then
			kill "$pid" 2>/dev/null || true
		fi
	done
	die "swtpm did not start; see $d/swtpm.log"
}

stop() {
	local d=$1 purge=$2 pid tries=100
	if pid=$(swtpm_pid "$d"); then
		kill -TERM "$pid" 2>/dev/null || true
		# swtpm takes about 1.4 s to exit on SIGTERM; SIGKILL after 5 s.
		while [ "$tries" -gt 0 ] && kill -0 "$pid" 2>/dev/null; do
			tries=$((tries - 1))
			sleep 0.05
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$d/swtpm.pid"
	if [ "$purge" = 1 ]; then
		rm -rf "$d"
	fi
}

restart() {
	local d=$1 port
	[ -f "$d/ports" ] || die "$d has no swtpm instance"
	port=$(cat "$d/ports")
	stop "$d" 0
	# The old process may hold the port for a moment after exit.
	local tries=100
	while [ "$tries" -gt 0 ] && { port_in_use "$port" || port_in_use $((port + 1)); }; do
		tries=$((tries - 1))
		sleep 0.05
	done
	launch "$d" "$port" 2>>"$d/swtpm.log" || die "swtpm did not restart; see $d/swtpm.log"
	wait_listening "$port" || die "swtpm did not listen after restart; see $d/swtpm.log"
	print_env "$d"
}

cmd=${1:-}
[ -n "$cmd" ] || { usage >&2; exit 2; }
shift
dir=
purge=0
while [ $# -gt 0 ]; do
	case $1 in
	--dir) dir=$2; shift 2 ;;
	--purge) purge=1; shift ;;
	--) shift; break ;;
	-h | --help) usage; exit 0 ;;
	*) [ "$cmd" = run ] && break; die "unknown argument $1" ;;
	esac
done
if [ -n "$dir" ] && [ -d "$dir" ]; then
	dir=$(cd "$dir" && pwd -P)
fi

case $cmd in
install) install_swtpm ;;
start) start "$dir" ;;
stop)
	[ -n "$dir" ] || die "stop needs --dir"
	stop "$dir" "$purge"
	;;
kill)
	[ -n "$dir" ] || die "kill needs --dir"
	if pid=$(swtpm_pid "$dir"); then
		kill -KILL "$pid"
		while kill -0 "$pid" 2>/dev/null; do sleep 0.02; done
	fi
	rm -f "$dir/swtpm.pid"
	;;
restart)
	[ -n "$dir" ] || die "restart needs --dir"
	restart "$dir"
	;;
env)
	[ -n "$dir" ] || die "env needs --dir"
	print_env "$dir"
	;;
run)
	[ $# -gt 0 ] || die "run needs a command"
	out=$(start "$dir")
	rundir=$(echo "$out" | sed -n 's/^SWTPM_DIR=//p')
	trap 'stop "$rundir" 1' EXIT
	trap 'exit 130' INT TERM
	while IFS= read -r line; do export "${line?}"; done <<<"$out"
	set +e
	"$@"
	status=$?
	set -e
	exit "$status"
	;;
-h | --help | help) usage ;;
*) usage >&2; exit 2 ;;
esac
