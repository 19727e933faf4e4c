#!/usr/bin/env bash
# Side-by-side benchmark of our service and the Rust Parsec 1.4.1 service
# (from the cached trixie root), in the same run, on the same machine:
# throughput and latency of ping, random and ECDSA P-256 sign at 1 and 8
# clients, idle and peak RSS, and spawn-to-first-ping start-up. Figures are
# reported as ratios; nothing here passes or fails on a number.
#
#   scripts/bench.sh [--seconds N] [--startup-runs N] [--out FILE]
#                    [--rows all|base|keystore] [--keys N,N,...]
#
# --rows base: the request rows below; keystore: the key store rows (create
# rate at 1 and 8 clients, sign latency while 8 clients create, start-up,
# idle RSS and ListKeys at each --keys size, default 1000,10000; add 100000
# for the large store, a few minutes more), ours against Rust 1.4.1 with
# its OnDisk key info manager and idle_listener_sleep_duration = 1.
#
# Services compared (software/Mbed Crypto provider, UnixPeerCredentials):
#   go          our service, default build and config
#   rust        Rust Parsec, default config (idle_listener_sleep_duration 10 ms)
#   rust-tuned  Rust Parsec with idle_listener_sleep_duration = 1
# and, for start-up and idle memory only:
#   go-sw       our service built with the software provider only
#               (-tags parsec_no_tpm,parsec_no_trustedservice, what a Yocto
#               build without TPM and TS in PACKAGECONFIG ships)
#   floor       tools/parsec-load/floor, the smallest Go program that
#               answers Ping: what any Go service pays on this machine
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/go.sh
ensure_go

seconds=3
startup_runs=10
out=
rows=all
keys=1000,10000
while [ $# -gt 0 ]; do
	case $1 in
	--seconds) seconds=$2; shift 2 ;;
	--startup-runs) startup_runs=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--rows) rows=$2; shift 2 ;;
	--keys) keys=$2; shift 2 ;;
	*) echo "usage: $0 [--seconds N] [--startup-runs N] [--out FILE] [--rows all|base|keystore] [--keys N,N,...]" >&2; exit 2 ;;
	esac
done
case $rows in all | base | keystore) ;; *) echo "--rows: all, base or keystore" >&2; exit 2 ;; esac

work=$(mktemp -d /tmp/parsec-bench.XXXXXX)
trap 'for d in "$work/rust" "$work/ks-rust"; do [ -d "$d" ] && scripts/rust-parsec.sh stop --dir "$d" >/dev/null 2>&1; done; kill ${gopid:-} ${bgpid:-} 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/bin" "$work/go"
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$work/bin/parsec" ./service/cmd/parsec
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -tags parsec_no_tpm,parsec_no_trustedservice -o "$work/bin/parsec-sw" ./service/cmd/parsec
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$work/bin/floor" ./tools/parsec-load/floor
CGO_ENABLED=0 go build -trimpath -o "$work/bin/parsec-load" ./tools/parsec-load
load=$work/bin/parsec-load
root_ok=false
[ "$(id -u)" = 0 ] && root_ok=true

cat >"$work/go/config.toml" <<CFG
[core_settings]
allow_root = $root_ok
log_level = "error"
[listener]
listener_type = "DomainSocket"
timeout = 200
socket_path = "$work/go/parsec.sock"
[authenticator]
auth_type = "UnixPeerCredentials"
[[key_manager]]
name = "on-disk-manager"
manager_type = "OnDisk"
store_path = "$work/go/mappings"
[[provider]]
provider_type = "MbedCrypto"
key_info_manager = "on-disk-manager"
store_path = "$work/go/keys"
CFG

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
# cpu_ticks PID: the process's user + system CPU time, in clock ticks.
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }

declare -A R
measure() { # name socket pid
	local name=$1 sock=$2 pid=$3 op c line
	"$load" -endpoint "unix:$sock" -op ping -n 1 >/dev/null
	sleep 1
	R[$name,rss_idle]=$(rss_kb "$pid")
	# Warm-up, so that the first measured point does not pay for the
	# service's (or the page cache's) first requests.
	"$load" -endpoint "unix:$sock" -op ping -clients 2 -duration 1s >/dev/null
	for op in ping random sign; do
		for c in 1 8; do
			local t0
			t0=$(cpu_ticks "$pid")
			line=$("$load" -endpoint "unix:$sock" -op "$op" -clients "$c" -duration "${seconds}s")
			R[$name,$op,$c,cpu_us]=$(awk -v t="$(($(cpu_ticks "$pid") - t0))" -v hz="$(getconf CLK_TCK)" -v n="$(sed 's/.* requests=\([0-9]*\).*/\1/' <<<"$line")" 'BEGIN { if (n > 0) printf "%.0f", t * 1e6 / hz / n; else print "-" }')
			echo "  $name $line" >&2
			R[$name,$op,$c,rps]=$(sed 's/.* rps=\([0-9.]*\).*/\1/' <<<"$line")
			R[$name,$op,$c,p50]=$(sed 's/.* p50_ms=\([0-9.]*\).*/\1/' <<<"$line")
		done
	done
	R[$name,rss_peak]=$(hwm_kb "$pid")
}

startup() { # name cmdline socket
	local line
	line=$("$load" -startup "$2" -endpoint "unix:$3" -runs "$startup_runs")
	echo "  $1 $line" >&2
	R[$1,startup]=$(sed 's/.* p50_ms=\([0-9.]*\).*/\1/' <<<"$line")
}

echo "benchmark: ${seconds}s per point; building the trixie root if needed" >&2
scripts/trixie-root.sh >/dev/null

if [ "$rows" != keystore ]; then
echo "== go" >&2
"$work/bin/parsec" -c "$work/go/config.toml" &
gopid=$!
for _ in $(seq 200); do [ -S "$work/go/parsec.sock" ] && break; sleep 0.05; done
measure go "$work/go/parsec.sock" "$gopid"
kill "$gopid"; wait "$gopid" 2>/dev/null || true; gopid=
startup go "$work/bin/parsec -c $work/go/config.toml" "$work/go/parsec.sock"

# Start-up and idle memory of the software-only build and of the floor.
idle_only() { # name command...
	local name=$1 pid
	shift
	rm -f "$work/go/parsec.sock"
	"$@" &
	pid=$!
	for _ in $(seq 200); do [ -S "$work/go/parsec.sock" ] && break; sleep 0.05; done
	"$load" -endpoint "unix:$work/go/parsec.sock" -op ping -n 1 >/dev/null
	sleep 1
	R[$name,rss_idle]=$(rss_kb "$pid")
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	startup "$name" "$*" "$work/go/parsec.sock"
}
echo "== go-sw, floor" >&2
idle_only go-sw "$work/bin/parsec-sw" -c "$work/go/config.toml"
idle_only floor "$work/bin/floor" "$work/go/parsec.sock"

for variant in rust rust-tuned; do
	echo "== $variant" >&2
	args=(start --dir "$work/rust" --provider mbed-crypto --log-level error)
	[ "$variant" = rust-tuned ] && args+=(--idle-sleep 1)
	eval "$(scripts/rust-parsec.sh "${args[@]}" | grep '^PARSEC_')"
	measure "$variant" "$work/rust/parsec.sock" "$PARSEC_PID"
	scripts/rust-parsec.sh stop --dir "$work/rust" >/dev/null
	startup "$variant" "$(scripts/rust-parsec.sh argv parsec | tr '\n' ' ') -c $work/rust/config.toml" "$work/rust/parsec.sock"
	rm -rf "$work/rust"
done

fi

# Key store rows: one service at a time on a fresh store, filled by the
# load tool itself; the same steps for ours and for Rust.
declare -A K
ks_up() { # name: start it, its pid in ks_pid
	case $1 in
	go)
		rm -f "$work/ks-go/parsec.sock"
		"$work/bin/parsec" -c "$work/ks-go/config.toml" &
		gopid=$!
		ks_pid=$gopid
		for _ in $(seq 1200); do [ -S "$work/ks-go/parsec.sock" ] && break; sleep 0.05; done
		;;
	rust)
		eval "$(scripts/rust-parsec.sh start --dir "$work/ks-rust" --provider mbed-crypto --kim ondisk --idle-sleep 1 --log-level error --wait 600 | grep '^PARSEC_')"
		ks_pid=$PARSEC_PID
		;;
	esac
}
ks_down() { # name pid
	case $1 in
	go) kill "$2"; wait "$2" 2>/dev/null || true; gopid= ;;
	rust) scripts/rust-parsec.sh stop --dir "$work/ks-rust" >/dev/null ;;
	esac
}
ks_field() { sed "s/.* $1=\([0-9.]*\).*/\1/" <<<"$2"; }
keystore() { # name
	local name=$1 sock pid line have=0 n runs cmd dir
	sock=$work/ks-$name/parsec.sock
	ks_up "$name"
	pid=$ks_pid
	"$load" -endpoint "unix:$sock" -op ping -n 1 >/dev/null
	sleep 1
	K[$name,rss0]=$(rss_kb "$pid")
	for n in ${keys//,/ }; do
		if [ "$have" -lt "$n" ]; then
			line=$("$load" -endpoint "unix:$sock" -op create -clients 8 -n "$((n - have))")
			have=$((have + $(ks_field requests "$line")))
		fi
		echo "  $name: $have keys" >&2
		line=$("$load" -endpoint "unix:$sock" -op list -clients 1 -n 3)
		K[$name,list,$n]=$(ks_field p50_ms "$line")
		ks_down "$name" "$pid"
		runs=$startup_runs
		[ "$n" -lt 50000 ] || runs=3
		dir=$work/ks-$name
		if [ "$name" = go ]; then
			cmd="$work/bin/parsec -c $dir/config.toml"
		else
			cmd="$(scripts/rust-parsec.sh argv parsec | tr '\n' ' ') -c $dir/config.toml"
		fi
		line=$("$load" -startup "$cmd" -startup-dir "$dir" -endpoint "unix:$sock" -runs "$runs")
		echo "  $name start-up at $have keys: $line" >&2
		K[$name,startup,$n]="$(ks_field p50_ms "$line") / $(ks_field min_ms "$line")"
		ks_up "$name"
		pid=$ks_pid
		"$load" -endpoint "unix:$sock" -op ping -n 1 >/dev/null
		sleep 1
		K[$name,rss,$n]=$(rss_kb "$pid")
		K[$name,have,$n]=$have
	done
	# Creation rates and signing under creation, on the filled store.
	for c in 1 8; do
		line=$("$load" -endpoint "unix:$sock" -op create -clients "$c" -duration "${seconds}s")
		echo "  $name $line" >&2
		K[$name,create,$c]=$(ks_field rps "$line")
		have=$((have + $(ks_field requests "$line")))
	done
	# Signing while 8 clients create keys.
	"$load" -endpoint "unix:$sock" -op create -clients 8 -duration "$((seconds + 1))s" >"$work/bg.out" &
	bgpid=$!
	sleep 0.5
	line=$("$load" -endpoint "unix:$sock" -op sign -clients 1 -duration "${seconds}s")
	wait "$bgpid" || true
	bgpid=
	echo "  $name sign during creation: $line; creation: $(cat "$work/bg.out")" >&2
	K[$name,signc,p50]=$(ks_field p50_ms "$line")
	K[$name,signc,p99]=$(ks_field p99_ms "$line")
	have=$((have + $(ks_field requests "$(cat "$work/bg.out")")))
	K[$name,peak]=$(hwm_kb "$pid")
	K[$name,rates_at]=$have
	ks_down "$name" "$pid"
}
keystore_table() {
	local n last
	for n in ${keys//,/ }; do last=$n; done
	echo
	echo "| key store metric | parsec-go | Rust 1.4.1 (OnDisk, idle 1 ms) | go / Rust |"
	echo "|---|---:|---:|---:|"
	for c in 1 8; do
		echo "| create ECC P-256 keys, $c client(s), keys/s | ${K[go,create,$c]} | ${K[rust,create,$c]} | $(ratio2 "${K[go,create,$c]}" "${K[rust,create,$c]}")x |"
	done
	echo "| sign p50 while 8 clients create, ms | ${K[go,signc,p50]} | ${K[rust,signc,p50]} | $(ratio2 "${K[go,signc,p50]}" "${K[rust,signc,p50]}")x |"
	echo "| sign p99 while 8 clients create, ms | ${K[go,signc,p99]} | ${K[rust,signc,p99]} | $(ratio2 "${K[go,signc,p99]}" "${K[rust,signc,p99]}")x |"
	echo "| peak RSS through the creation rows (from ${K[go,have,$last]} / ${K[rust,have,$last]} keys), kB | ${K[go,peak]} | ${K[rust,peak]} | $(ratio2 "${K[go,peak]}" "${K[rust,peak]}")x |"
	echo "| idle RSS, empty store, kB | ${K[go,rss0]} | ${K[rust,rss0]} | $(ratio2 "${K[go,rss0]}" "${K[rust,rss0]}")x |"
	for n in ${keys//,/ }; do
		echo "| start-up to first ping at $n keys (p50 / min; go ${K[go,have,$n]}, Rust ${K[rust,have,$n]} keys), ms | ${K[go,startup,$n]} | ${K[rust,startup,$n]} | $(ratio2 "${K[go,startup,$n]% /*}" "${K[rust,startup,$n]% /*}")x / $(ratio2 "${K[go,startup,$n]#* / }" "${K[rust,startup,$n]#* / }")x |"
		echo "| idle RSS at $n keys, kB | ${K[go,rss,$n]} | ${K[rust,rss,$n]} | $(ratio2 "${K[go,rss,$n]}" "${K[rust,rss,$n]}")x |"
		echo "| ListKeys at $n keys (p50), ms | ${K[go,list,$n]} | ${K[rust,list,$n]} | $(ratio2 "${K[go,list,$n]}" "${K[rust,list,$n]}")x |"
	done
	local g r
	g=$(awk -v a="${K[go,rss,$last]}" -v b="${K[go,rss0]}" -v n="${K[go,have,$last]}" 'BEGIN { printf "%.0f", (a - b) * 1024 / n }')
	r=$(awk -v a="${K[rust,rss,$last]}" -v b="${K[rust,rss0]}" -v n="${K[rust,have,$last]}" 'BEGIN { printf "%.0f", (a - b) * 1024 / n }')
	echo "| idle RSS per stored key (at $last keys), bytes | $g | $r | $(ratio2 "$g" "$r")x |"
}
if [ "$rows" != base ]; then
	mkdir -p "$work/ks-go" "$work/ks-rust"
	sed -e "s#$work/go/#$work/ks-go/#g" -e 's#^manager_type = "OnDisk"#&\nmax_keys_per_client = 0#' "$work/go/config.toml" >"$work/ks-go/config.toml"
	echo "== key store: go" >&2
	keystore go
	echo "== key store: rust (OnDisk)" >&2
	keystore rust
fi
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "-" }'; }
ratio2() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
{
[ "$rows" = keystore ] || {
	echo "| metric | parsec-go | Rust 1.4.1 (default) | Rust 1.4.1 (idle 1 ms) | go / tuned Rust |"
	echo "|---|---:|---:|---:|---:|"
	for op in ping random sign; do
		for c in 1 8; do
			echo "| $op, $c client(s), req/s | ${R[go,$op,$c,rps]} | ${R[rust,$op,$c,rps]} | ${R[rust-tuned,$op,$c,rps]} | $(ratio "${R[go,$op,$c,rps]}" "${R[rust-tuned,$op,$c,rps]}")x |"
		done
	done
	for op in ping random sign; do
		echo "| $op p50 at 1 client, ms | ${R[go,$op,1,p50]} | ${R[rust,$op,1,p50]} | ${R[rust-tuned,$op,1,p50]} | $(ratio "${R[go,$op,1,p50]}" "${R[rust-tuned,$op,1,p50]}")x |"
	done
	echo "| service CPU per ECDSA sign at 8 clients, µs | ${R[go,sign,8,cpu_us]} | ${R[rust,sign,8,cpu_us]} | ${R[rust-tuned,sign,8,cpu_us]} | $(ratio "${R[go,sign,8,cpu_us]}" "${R[rust-tuned,sign,8,cpu_us]}")x |"
	echo "| idle RSS, kB | ${R[go,rss_idle]} | ${R[rust,rss_idle]} | ${R[rust-tuned,rss_idle]} | $(ratio "${R[go,rss_idle]}" "${R[rust-tuned,rss_idle]}")x |"
	echo "| peak RSS under load, kB | ${R[go,rss_peak]} | ${R[rust,rss_peak]} | ${R[rust-tuned,rss_peak]} | $(ratio "${R[go,rss_peak]}" "${R[rust-tuned,rss_peak]}")x |"
	echo "| start-up to first ping (p50), ms | ${R[go,startup]} | ${R[rust,startup]} | ${R[rust-tuned,startup]} | $(ratio "${R[go,startup]}" "${R[rust-tuned,startup]}")x |"
	echo
	echo "| metric | parsec-go | parsec-go, software-only build | floor (smallest Go Ping responder) |"
	echo "|---|---:|---:|---:|"
	echo "| binary size, kB | $(($(stat -c %s "$work/bin/parsec") / 1024)) | $(($(stat -c %s "$work/bin/parsec-sw") / 1024)) | $(($(stat -c %s "$work/bin/floor") / 1024)) |"
	echo "| idle RSS, kB | ${R[go,rss_idle]} | ${R[go-sw,rss_idle]} | ${R[floor,rss_idle]} |"
	echo "| start-up to first ping (p50), ms | ${R[go,startup]} | ${R[go-sw,startup]} | ${R[floor,startup]} |"
}
[ "$rows" = base ] || keystore_table
} | tee ${out:+"$out"}
