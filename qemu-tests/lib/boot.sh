# shellcheck shell=bash
# Variables set here are read by image.sh and run; commas in QEMU options
# are QEMU's, not array separators.
# shellcheck disable=SC2034,SC2054
# Booting one guest: swtpm and the emulated secure world on private sockets
# in the run directory, QEMU under a hard timeout, results read from the
# serial console as they arrive.

PIDS=() # every host process we start; the EXIT trap kills what is left

start_bg() { # start_bg LOG CMD...: start CMD in the background, remember it
	local log=$1
	shift
	"$@" >"$log" 2>&1 </dev/null 9>&- &
	BG_PID=$!
	PIDS+=("$BG_PID")
}

stop_pid() {
	local p=$1 i
	kill -0 "$p" 2>/dev/null || { wait "$p" 2>/dev/null || true; return 0; }
	kill -TERM "$p" 2>/dev/null || true
	for i in 1 2 3 4 5 6 7 8 9 10; do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
	return 0
}

cleanup_procs() {
	local p
	for p in "${PIDS[@]}"; do stop_pid "$p"; done
	PIDS=()
}

wait_socket() { # wait_socket PATH PID: until PATH is a socket or PID died
	for _ in $(seq 100); do
		[ -S "$1" ] && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# swtpm_start DIR: a fresh TPM (new state directory every boot) behind a
# control socket only we can reach; QEMU connects to it as the TPM backend.
swtpm_start() {
	local d=$1
	rm -rf "$d/state"
	mkdir -p "$d/state"
	chmod 0700 "$d"
	start_bg "$d/swtpm.log" swtpm socket --tpm2 --tpmstate dir="$d/state" \
		--ctrl type=unixio,path="$d/swtpm.sock" --log level=1
	SWTPM_PID=$BG_PID
	wait_socket "$d/swtpm.sock" "$SWTPM_PID" || {
		cat "$d/swtpm.log" >&2
		return 1
	}
}

# boot PROVIDER [prepared]: boot one guest and report its tests. With
# "prepared", the caller has built $RUN/<name>/initrd.gz and put the whole
# QEMU machine and boot arguments in QEMU_ARGS_OVERRIDE (the TEE tier).
boot() {
	local p=$1 mode=${2:-} d=$RUN/$1 t0 qpid rc=0 line
	mkdir -p "$d"
	local args
	if [ "$mode" = prepared ]; then
		args=("${QEMU_ARGS_OVERRIDE[@]}")
	else
		test_cpio "$p" "$d/test.cpio.gz"
		local parts=("$ADIR/sys.cpio.gz" "$RUN/app.cpio.gz")
		[ "$p" = pkcs11 ] && parts+=("$ADIR/softhsm.cpio.gz")
		cat "${parts[@]}" "$d/test.cpio.gz" >"$d/initrd.gz"
		# shellcheck disable=SC2206 # QEMU_MACHINE is a list of options
		args=(-nodefaults -no-reboot -display none -m "$QEMU_MEM" -smp "$QEMU_SMP"
			$QEMU_MACHINE -kernel "$KERNEL" -initrd "$d/initrd.gz"
			-append "console=$CONSOLE panic=-1 quiet loglevel=3"
			-chardev "file,id=con,path=$d/console.log" -serial chardev:con
			-monitor none)
		if [ -n "$TPMDEV" ]; then
			swtpm_start "$d/tpm" || { fail_boot "$p" "swtpm did not start"; return; }
			args+=(-chardev "socket,id=chrtpm,path=$d/tpm/swtpm.sock"
				-tpmdev emulator,id=tpm0,chardev=chrtpm -device "$TPMDEV,tpmdev=tpm0")
		fi
		if [ "$p" = ts ] && [ "${TS_MODE:-}" = host ]; then
			ts_host_start "$d" || { fail_boot "$p" "the emulated secure world did not start"; return; }
			args+=(-device "$VSERIAL" -chardev "socket,id=ts,path=$d/ts/tsemu.sock"
				-device virtserialport,chardev=ts,name=ts0)
		fi
	fi
	: >"$d/console.log"
	t0=$(date +%s.%N)
	start_bg "$d/qemu.log" timeout -k 5 "$QT_BOOT_TIMEOUT" "$QEMU" "${args[@]}"
	qpid=$BG_PID
	# Report results as the guest prints them. The guest powers off right
	# after QT:END; a power-off that sticks is cut short rather than left to
	# the boot timeout.
	local seen_end=0 ready="" end_by=0 st partial="" plan="" name
	local -A got=()
	SERVICELOG=()
	while true; do
		if IFS= read -r -t 1 line; then
			line=$partial$line
			partial=
		else
			st=$?
			# A timeout can land in the middle of a line: read keeps what it
			# had, and the rest of the line comes with the next read.
			partial+=$line
			[ "$st" -gt 128 ] || break # end of output (QEMU is gone)
			if [ "$end_by" -gt 0 ] && [ "$SECONDS" -ge "$end_by" ]; then
				kill "$qpid" 2>/dev/null || true
				end_by=0
			fi
			continue
		fi
		line=${line%$'\r'}
		case $line in
		QT:PLAN\ *) plan=${line#QT:PLAN } ;;
		QT:RESULT\ *)
			read -r _ name _ <<<"${line#QT:RESULT }"
			got[$name]=1
			report_result "$p" "${line#QT:RESULT }"
			;;
		QT:LOG\ *) LOGS+=("${line#QT:LOG }") ;;
		QT:INFO\ ready-uptime=*)
			ready=${line#QT:INFO ready-uptime=}
			READY_TIMES+=("$ARCH/$p ${ready}s")
			;;
		QT:INFO\ *) [ -z "$QT_VERBOSE" ] || echo "  info: ${line#QT:INFO }" ;;
		QT:SERVICELOG\ *) SERVICELOG+=("${line#QT:SERVICELOG }") ;;
		QT:END*)
			seen_end=1
			end_by=$((SECONDS + 20))
			;;
		esac
	done < <(tail -n +1 -s 0.2 -F --pid="$qpid" "$d/console.log" 2>/dev/null | grep -a --line-buffered '^QT:')
	wait "$qpid" 2>/dev/null || rc=$?
	local wall
	wall=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
	[ -n "${SWTPM_PID:-}" ] && stop_pid "$SWTPM_PID"
	SWTPM_PID=
	ts_host_stop
	# Every test the runner announced must have reported: a verdict lost on
	# the way must not pass for a success.
	for name in $plan; do
		[ -n "${got[$name]:-}" ] && continue
		FAILED=$((FAILED + 1))
		printf 'FAIL  %-28s %s\n' "$ARCH/$p/$name" "no result came back from the guest"
	done
	if [ ${#SERVICELOG[@]} -gt 0 ]; then
		echo "---- end of /var/log/parsec.log in the $ARCH/$p guest ----"
		printf '      %s\n' "${SERVICELOG[@]}"
	fi
	if [ "$seen_end" != 1 ]; then
		if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
			fail_boot "$p" "guest killed after ${QT_BOOT_TIMEOUT}s timeout"
		else
			fail_boot "$p" "guest stopped before finishing (qemu exit $rc: $(tail -n 2 "$d/qemu.log" | tr '\n' ' '))"
		fi
		echo "---- last 40 console lines ($d/console.log) ----"
		tail -n 40 "$d/console.log" | tr -d '\r'
		echo "----"
	fi
	note "$ARCH/$p: guest ran ${wall}s wall${ready:+, boot-to-ready ${ready}s}"
}

report_result() { # report_result PROVIDER "PASS|FAIL|SKIP name detail..."
	local p=$1 verdict name rest
	read -r verdict name rest <<<"$2"
	case $verdict in
	PASS)
		PASSED=$((PASSED + 1))
		printf 'PASS  %-28s %s\n' "$ARCH/$p/$name" "$rest"
		;;
	SKIP)
		SKIPPED=$((SKIPPED + 1))
		printf 'SKIP  %-28s %s\n' "$ARCH/$p/$name" "$rest"
		;;
	*)
		FAILED=$((FAILED + 1))
		printf 'FAIL  %-28s %s\n' "$ARCH/$p/$name" "$rest"
		# The runner prints the failing test's log tail right before the verdict.
		local l
		for l in "${LOGS[@]}"; do
			[ "${l%%|*}" = "$name" ] && printf '      | %s\n' "${l#*| }"
		done
		;;
	esac
	LOGS=()
}

fail_boot() {
	FAILED=$((FAILED + 1))
	printf 'FAIL  %-28s %s\n' "$ARCH/$1/boot" "$2"
}

# ---- emulated secure world (TS provider) ----------------------------------
# The emulator (tools/parsec-tsemu) runs on the host and listens on a private
# Unix socket; QEMU connects a virtio-serial port to it, which the guest sees
# as /dev/vport0p1 (named ts0). The provider speaks the emulator's framed
# stream protocol over that port with buffers inline, so key material stays
# in the host process, as it would in a secure partition. With
# QT_TS_MODE=guest the emulator runs inside the guest instead (started by an
# S10 init script, Unix socket with memfd shared memory).

TS_PID=

# ts_setup: decide how the guest reaches the emulated secure world. Sets
# TS_MODE and TS_CONFIG_EXTRA, or TS_SETUP_ERROR.
ts_setup() {
	TS_MODE=${QT_TS_MODE:-host} TS_CONFIG_EXTRA=
	if ! has_built parsec-tsemu; then
		TS_SETUP_ERROR="tools/parsec-tsemu did not build for $ARCH: no TS tests"
		return 1
	fi
	case $TS_MODE in
	host)
		if [ ! -x "$ADIR/bin/parsec-tsemu.host" ]; then
			TS_SETUP_ERROR="the host build of tools/parsec-tsemu failed: no TS tests"
			return 1
		fi
		TS_CONFIG_EXTRA='emulator_socket = "serial:/dev/vport0p1"'
		;;
	guest) TS_CONFIG_EXTRA='emulator_socket = "/run/parsec-tsemu/tsemu.sock"' ;;
	*)
		TS_SETUP_ERROR="QT_TS_MODE=$TS_MODE: want host or guest"
		return 1
		;;
	esac
}

ts_host_start() {
	local d=$1/ts
	mkdir -p "$d"
	chmod 0700 "$d"
	start_bg "$d/tsemu.log" "$ADIR/bin/parsec-tsemu.host" -listen "$d/tsemu.sock"
	TS_PID=$BG_PID
	wait_socket "$d/tsemu.sock" "$TS_PID" || {
		cat "$d/tsemu.log" >&2
		return 1
	}
}

ts_host_stop() {
	[ -n "${TS_PID:-}" ] && stop_pid "$TS_PID"
	TS_PID=
	return 0
}
