#!/bin/bash
# The harness's own test, run in the guest instead of the scenario: no usernode
# needed. Proves the image (systemd, cgroup2, linger and delegation without a login),
# the ways of acting as alice, the stand-in kubelet, and the container helper the
# scenario uses (against a root containerd here, not a node).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/guest/step.sh"
. "$here/guest/host.sh"
. "$here/guest/prepare.sh"
. "$here/guest/steps-host.sh"
. "$here/guest/steps-node.sh"
DROPIN=/etc/systemd/system/user@.service.d/50-usernode-delegate.conf

smoke_system_running() {
	local state
	state=$(systemctl is-system-running --wait) || true
	systemctl --failed --no-pager
	[ "$state" = running ] || fail "system is $state"
}

smoke_cgroup2() {
	local fs
	fs=$(stat -fc %T /sys/fs/cgroup)
	cat /sys/fs/cgroup/cgroup.controllers
	[ "$fs" = cgroup2fs ] || fail "/sys/fs/cgroup is $fs"
}

# By hand, what usernode setup will do: the Delegate drop-in and linger.
smoke_delegate_linger() {
	snapshot_host "$WORK/smoke.host-before"
	mkdir -p "${DROPIN%/*}"
	printf '[Service]\nDelegate=cpu cpuset io memory pids\n' >"$DROPIN"
	systemctl daemon-reload
	loginctl enable-linger "$ALICE"
	step_um_delegation
}

smoke_exit_status() {
	local rc=0
	as_alice_um sh -c 'exit 7' || rc=$?
	[ "$rc" -eq 7 ] || fail "systemd-run --wait gave $rc for exit 7"
}

smoke_ci_job() {
	local out
	step_ci_job_delegation
	# shellcheck disable=SC2016 # expanded by alice's shell
	out=$(as_alice_ci sh -c 'echo "uid=$(id -u) xdg=${XDG_RUNTIME_DIR-} bus=${DBUS_SESSION_BUS_ADDRESS-}"; cat /proc/self/cgroup')
	echo "$out"
	grep -qx "uid=$(alice_uid) xdg= bus=" <<<"$out" || fail "the CI job has a user session environment"
	grep -qx "0::$(cat "$WORK/ci.cgroup")/job" <<<"$out" || fail "the CI job runs outside its job cgroup"
	ci_job_stop
}

smoke_kubelet_standin() {
	local uid
	uid=$(alice_uid)
	systemd-run --machine="$ALICE@" --user --unit=standin-kubelet --collect -- \
		kubelet --root-dir="/home/$ALICE/kubelet" --feature-gates=KubeletInUserNamespace=true
	wait_until 20 test -e "/home/$ALICE/kubelet/standin-kubelet.record" || fail "no record"
	# shellcheck disable=SC2016 # expanded by sh
	wait_until 20 sh -c '[ "$(busybox wget -qO- http://127.0.0.1:10248/healthz)" = ok ]' ||
		fail "no healthz on 127.0.0.1:10248"
	step_kubelet_recorded
	systemctl --machine="$ALICE@" --user stop standin-kubelet.service
	[ "$(tail -n 1 "/home/$ALICE/kubelet/standin-kubelet.record")" = 'signal TERM' ] ||
		fail "the stand-in did not record SIGTERM"
	! pgrep -u "$uid" -x kubelet || fail "the stand-in outlived SIGTERM"
}

# node-ctr.sh against a root containerd: the image imports, the container gets its
# memory.max, the 64 MiB hog is OOM-killed.
smoke_root_container() {
	local dir=/run/smoke-containerd pid cg before after out
	mkdir -p "$dir"
	printf 'version = 2\nroot = "/var/lib/smoke-containerd"\nstate = "%s/state"\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n[grpc]\n  address = "%s/containerd.sock"\n' \
		"$dir" "$dir" >"$dir/config.toml"
	containerd --config "$dir/config.toml" >"$ARTIFACTS/smoke-containerd.log" 2>&1 &
	export CONTAINERD_ADDRESS=$dir/containerd.sock
	wait_until 30 test -S "$CONTAINERD_ADDRESS" || fail "containerd did not start"
	"$HELPERS/node-ctr.sh" start 33554432
	pid=$(pgrep -n -f '^/bin/busybox sleep 86399$') || fail "no container process"
	cg=$(sed -n 's/^0:://p' "/proc/$pid/cgroup")
	echo "container in $cg: memory.max $(cat "/sys/fs/cgroup$cg/memory.max")"
	[ "$(cat "/sys/fs/cgroup$cg/memory.max")" = 33554432 ] || fail "memory.max is not the limit"
	before=$(oom_kills "$cg")
	out=$("$HELPERS/node-ctr.sh" hog)
	echo "$out"
	after=$(oom_kills "$cg")
	"$HELPERS/node-ctr.sh" stop
	kill %1
	wait || true
	[ "$after" -gt "$before" ] || fail "no OOM kill (oom_kill $before -> $after)"
	grep -qx 'hog exit status 137' <<<"$out" || fail "the hog was not SIGKILLed"
}

smoke_undo_restores() {
	rm -f "$DROPIN"
	rmdir "${DROPIN%/*}"
	systemctl daemon-reload
	loginctl disable-linger "$ALICE"
	wait_until 60 sh -c "! systemctl -q is-active user@$(alice_uid).service" ||
		fail "user@$(alice_uid).service still runs without linger"
	snapshot_host "$WORK/smoke.host-after"
	diff -u "$WORK/smoke.host-before" "$WORK/smoke.host-after" || fail "files differ after undoing (diff above)"
}

step_dispatch "$@"
step system-running 180 smoke_system_running
step cgroup2 10 smoke_cgroup2
step prepare 120 prepare_guest
step delegate-linger 90 smoke_delegate_linger
step as-alice 60 step_um_as_alice
step exit-status 60 smoke_exit_status
step ci-job 60 smoke_ci_job
step kubelet-stand-in 90 smoke_kubelet_standin
step root-container-oom 180 smoke_root_container
step undo-restores 90 smoke_undo_restores
step_summary
