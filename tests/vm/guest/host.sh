# Guest-side helpers: the test user, how to act as her, cgroups, host snapshots.
# shellcheck shell=bash disable=SC2034 # used by the scripts that source this

GUEST_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HELPERS=/usr/local/lib/usernode-vm
ALICE=alice
WANT_CONTROLLERS="cpu cpuset io memory pids"
CI_UNIT=usernode-vm-ci-job.service

report() { python3 "$GUEST_DIR/report.py" "$@"; }
alice_uid() { id -u "$ALICE"; }
user_cgroup() { echo "/user.slice/user-$(alice_uid).slice/user@$(alice_uid).service"; }

# The controllers of a cgroup (path below /sys/fs/cgroup), sorted, space-separated.
controllers_of() {
	tr ' ' '\n' <"/sys/fs/cgroup$1/cgroup.controllers" | sed '/^$/d' | sort | paste -sd' ' -
}

# alice's sub-UID range as "START COUNT".
alice_subuids() { awk -F: -v u="$ALICE" '$1 == u { print $2, $3; exit }' /etc/subuid; }

# As alice inside her user manager, the way a login would have her: a transient
# unit of user@UID.service, with the manager's environment (XDG_RUNTIME_DIR, bus).
as_alice_um() {
	systemd-run --machine="$ALICE@" --user --wait --pipe --quiet --collect \
		--working-directory="/home/$ALICE" -- "$@"
}

# As alice the way a CI job runs: started by a system service (the runner), no user
# manager, no user bus, no XDG_RUNTIME_DIR, in the job's delegated cgroup.
as_alice_ci() {
	local job
	job=/sys/fs/cgroup$(cat "$WORK/ci.cgroup")/job
	(cd "/home/$ALICE" && exec bash -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' \
		_ "$job" setpriv --reuid="$ALICE" --regid="$ALICE" --init-groups --reset-env -- "$@")
}

as_alice() {
	local mode=$1
	shift
	case $mode in
	um) as_alice_um "$@" ;;
	ci) as_alice_ci "$@" ;;
	*) fail "unknown mode $mode" ;;
	esac
}

# The root of the cgroup subtree delegated to alice in a mode.
delegated_root() {
	case $1 in
	um) user_cgroup ;;
	ci) cat "$WORK/ci.cgroup" ;;
	esac
}

# A CI runner's job: a system service running as alice with the controllers
# delegated, its processes moved into a leaf ("job") so the unit's cgroup itself
# stays free for usernode to enable controllers in (what systemd 254 calls
# DelegateSubgroup=; systemd 252 has no such setting).
ci_job_start() {
	local cg pid
	systemd-run --unit="$CI_UNIT" --property=User="$ALICE" \
		--property=Delegate="$WANT_CONTROLLERS" --property=Type=exec --collect -- /bin/sleep infinity
	cg=$(systemctl show -P ControlGroup "$CI_UNIT")
	pid=$(systemctl show -P MainPID "$CI_UNIT")
	if [ -z "$cg" ] || [ "$pid" -le 0 ]; then
		fail "$CI_UNIT did not start"
	fi
	mkdir "/sys/fs/cgroup$cg/job"
	chown -R "$ALICE:$ALICE" "/sys/fs/cgroup$cg/job"
	echo "$pid" >"/sys/fs/cgroup$cg/job/cgroup.procs"
	echo "$cg" >"$WORK/ci.cgroup"
}

ci_job_stop() { systemctl stop "$CI_UNIT" 2>/dev/null || true; }

# Everything under /etc (type, mode, owner, link target, content hash) and the
# linger flags, sorted: what unsetup must give back unchanged.
snapshot_host() {
	{
		find /etc -xdev -printf '%y %m %U:%G %p -> %l\n'
		find /etc -xdev -type f -print0 | xargs -0 sha256sum
		find /var/lib/systemd/linger -type f -printf 'linger %f\n' 2>/dev/null || true
	} | LC_ALL=C sort >"$1"
}

# is_one_of WORD LIST...: WORD is one of LIST (no "printf | grep -q": under pipefail grep's early
# exit can fail the writer with SIGPIPE).
is_one_of() {
	local word=$1 item
	shift
	for item; do
		[ "$item" != "$word" ] || return 0
	done
	return 1
}

# Processes of alice or of her sub-UIDs, as "PID UID CGROUP COMMAND", except those in
# the cgroups given (the user manager's own, the CI job's shell).
alice_processes_except() {
	local start count uid pid cg
	read -r start count < <(alice_subuids)
	uid=$(alice_uid)
	ps -e -o pid=,uid= | while read -r pid puid; do
		if [ "$puid" -eq "$uid" ] || { [ "$puid" -ge "$start" ] && [ "$puid" -lt $((start + count)) ]; }; then
			cg=$(sed -n 's/^0:://p' "/proc/$pid/cgroup" 2>/dev/null) || continue
			[ -n "$cg" ] || continue
			if ! is_one_of "$cg" "$@"; then
				printf '%s %s %s %s\n' "$pid" "$puid" "$cg" "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"
			fi
		fi
	done
}
