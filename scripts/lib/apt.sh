# shellcheck shell=sh
# apt_get ARGS...: apt-get for the scripts' own install steps (as root on a
# fresh CI machine), never interactive. Another apt may be running at the
# same time (unattended-upgrades, a second suite installing its packages), so
# it waits for apt's locks instead of failing at once with "Could not get
# lock /var/lib/dpkg/lock-frontend": DPkg::Lock::Timeout makes install wait
# for the dpkg lock, and since apt-get update does not honour it for the lock
# on its lists (apt 2.6), a run that failed on a lock is tried again, for up
# to APT_LOCK_WAIT seconds (default 300) in all.
apt_get() {
	apt_waited=0
	while :; do
		# stderr is kept to see whether a lock was the reason; stdout goes
		# where the caller sent it.
		if { apt_err=$(DEBIAN_FRONTEND=noninteractive apt-get -o "DPkg::Lock::Timeout=${APT_LOCK_WAIT:-300}" "$@" </dev/null 2>&1 >&3); } 3>&1; then
			[ -z "$apt_err" ] || printf '%s\n' "$apt_err" >&2
			return 0
		fi
		case $apt_err in
		*"Could not get lock"*)
			if [ "$apt_waited" -lt "${APT_LOCK_WAIT:-300}" ]; then
				sleep 5
				apt_waited=$((apt_waited + 5))
				continue
			fi
			;;
		esac
		printf '%s\n' "$apt_err" >&2
		return 1
	done
}
