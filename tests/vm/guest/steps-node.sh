# Scenario steps about the node alice runs: up, the kubelet it started, a container
# with a memory limit, down. MODE is "um" or "ci" (see steps-host.sh).
# shellcheck shell=bash

MEMORY_LIMIT=33554432

# node_field MODE N: field N (1 name, 2 state, 3 state_dir, 4 pids) of the node "up" started.
node_field() {
	[ -s "$WORK/$1.node" ] || fail "no node: the up step did not start one"
	cut -d' ' -f"$2" "$WORK/$1.node"
}

# Which way of acting as alice is the honest one: a unit of her user manager, or
# runuser from this root service with her manager's variables set by hand. (To reach
# her bus, systemd-run --machine opens a short PAM "login" session, so this runs only
# after um.delegation-live has shown that linger alone, with no session, is enough.)
step_um_as_alice() {
	local uid cg
	uid=$(alice_uid)
	echo "== systemd-run --machine=$ALICE@ --user"
	# shellcheck disable=SC2016 # expanded by alice's shell
	as_alice_um sh -c 'id -un; echo "XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR"; echo "DBUS_SESSION_BUS_ADDRESS=${DBUS_SESSION_BUS_ADDRESS-}"; cat /proc/self/cgroup' |
		tee "$WORK/as-alice.systemd-run"
	echo "== runuser -u $ALICE (XDG_RUNTIME_DIR and the bus set by hand)"
	runuser -u "$ALICE" -- env XDG_RUNTIME_DIR="/run/user/$uid" \
		DBUS_SESSION_BUS_ADDRESS="unix:path=/run/user/$uid/bus" \
		sh -c 'id -un; systemctl --user is-system-running; cat /proc/self/cgroup' |
		tee "$WORK/as-alice.runuser" || true
	cg=$(sed -n 's/^0:://p' "$WORK/as-alice.runuser")
	echo "runuser lands in $cg: reaches the user bus, but runs outside the delegated subtree $(user_cgroup), as no login would"
	grep -qx "$ALICE" "$WORK/as-alice.systemd-run" || fail "systemd-run did not run as $ALICE"
	grep -qx "XDG_RUNTIME_DIR=/run/user/$uid" "$WORK/as-alice.systemd-run" || fail "systemd-run: no XDG_RUNTIME_DIR"
	grep -q "^0::$(user_cgroup)/" "$WORK/as-alice.systemd-run" || fail "systemd-run ran outside $(user_cgroup)"
}

step_up() {
	local mode=$1 rc=0 name state state_dir pids pid cg root
	# --json prints the node's status object once it is ready: the ephemeral name is in it.
	as_alice "$mode" usernode up --engine kubelet --ephemeral --wait --json >"$WORK/$mode.status.json" || rc=$?
	cat "$WORK/$mode.status.json"
	[ "$rc" -eq 0 ] || fail "usernode up exited $rc"
	report node "$WORK/$mode.status.json" >"$WORK/$mode.node" || fail "status --json names no single node"
	read -r name state state_dir pids <"$WORK/$mode.node"
	case $state in
	running | ready) ;;
	*) fail "node $name is $state" ;;
	esac
	[ -d "$state_dir" ] || fail "state_dir $state_dir does not exist"
	[ "$pids" != - ] || fail "status lists no pids"
	root=$(delegated_root "$mode")
	# Where the node's cgroup is (or why it has none): the supervisor's first lines in node.log.
	grep -a '^usernode:' "$state_dir/node.log" || echo "node.log names no cgroup"
	ls -l "/sys/fs/cgroup$root"/cgroup.{procs,subtree_control} && cat "/sys/fs/cgroup$root/cgroup.subtree_control"
	for pid in ${pids//,/ }; do
		cg=$(sed -n 's/^0:://p' "/proc/$pid/cgroup") || fail "pid $pid from status is not running"
		echo "pid $pid: $cg $(tr '\0' ' ' <"/proc/$pid/cmdline")"
		case $cg in
		"$root"/*) ;;
		*) fail "pid $pid runs in $cg, outside $root" ;;
		esac
		# Through systemd-run, up must leave the node to a unit of its own, not to the
		# transient unit that ran "up" (it is gone by now).
		case $mode:$cg in
		um:*/run-u*.service*) fail "pid $pid stayed in the unit that ran up: $cg" ;;
		esac
	done
}

# The stand-in kubelet usernode started: as alice (host view), its record written,
# started with KubeletInUserNamespace=true on its command line or in its --config.
step_kubelet_recorded() {
	local pid root_dir=/var/lib/kubelet config='' arg prev='' settings
	pid=$(pgrep -n -u "$(alice_uid)" -x kubelet) || fail "no kubelet process of $ALICE"
	while IFS= read -r -d '' arg; do
		case $prev:$arg in
		*:--root-dir=*) root_dir=${arg#*=} ;;
		--root-dir:*) root_dir=$arg ;;
		*:--config=*) config=${arg#*=} ;;
		--config:*) config=$arg ;;
		esac
		prev=$arg
	done <"/proc/$pid/cmdline"
	# The kubelet's files are in its own mount namespace: read them through its root.
	cat "/proc/$pid/root$root_dir/standin-kubelet.record" || fail "no record in $root_dir"
	[ -z "$config" ] || cat "/proc/$pid/root$config" || fail "cannot read --config $config"
	# Captured whole: piped into grep -q, a match in the command line could end grep before
	# cat wrote the config, and the broken pipe would fail the step under pipefail.
	settings=$(
		tr '\0' '\n' <"/proc/$pid/cmdline"
		[ -z "$config" ] || cat "/proc/$pid/root$config"
	)
	grep -q 'KubeletInUserNamespace"\{0,1\}[=:] *true' <<<"$settings" ||
		fail "kubelet started without KubeletInUserNamespace=true"
}

step_container_memory_max() {
	local mode=$1 name pid cg root max
	name=$(node_field "$mode" 1)
	as_alice "$mode" usernode exec --name "$name" -- "$HELPERS/node-ctr.sh" start "$MEMORY_LIMIT" ||
		fail "could not start a container in node $name"
	wait_until 30 pgrep -f '^/bin/busybox sleep 86399$' || fail "no container process"
	pid=$(pgrep -n -f '^/bin/busybox sleep 86399$')
	cg=$(sed -n 's/^0:://p' "/proc/$pid/cgroup")
	echo "$cg" >"$WORK/$mode.container-cgroup"
	root=$(delegated_root "$mode")
	echo "container pid $pid uid $(stat -c %u "/proc/$pid") in $cg"
	case $cg in
	"$root"/*) ;;
	*) fail "container cgroup $cg is outside the delegated subtree $root" ;;
	esac
	max=$(cat "/sys/fs/cgroup$cg/memory.max")
	[ "$max" = "$MEMORY_LIMIT" ] || fail "memory.max of $cg is $max, want $MEMORY_LIMIT"
}

oom_kills() { awk '$1 == "oom_kill" { print $2 }' "/sys/fs/cgroup$1/memory.events"; }

step_container_oom_kill() {
	local mode=$1 name cg before after out
	name=$(node_field "$mode" 1)
	cg=$(cat "$WORK/$mode.container-cgroup") || fail "no container from the step before"
	before=$(oom_kills "$cg")
	out=$(as_alice "$mode" usernode exec --name "$name" -- "$HELPERS/node-ctr.sh" hog) || true
	echo "$out"
	after=$(oom_kills "$cg")
	cat "/sys/fs/cgroup$cg/memory.events"
	as_alice "$mode" usernode exec --name "$name" -- "$HELPERS/node-ctr.sh" stop ||
		echo "could not delete the container"
	[ "$after" -gt "$before" ] || fail "no OOM kill in $cg (oom_kill $before -> $after)"
	grep -qx 'hog exit status 137' <<<"$out" || fail "the hog was not SIGKILLed: ${out##*$'\n'}"
}

# step_down_purge MODE [TAG]: the node of $WORK/TAG.node (TAG defaults to MODE); down's output
# goes to $WORK/TAG.down.
step_down_purge() {
	local mode=$1 tag=${2:-$1} name state_dir pids pid start count left keep nodes
	[ -s "$WORK/$tag.node" ] || fail "no node: the up step did not start one"
	read -r name _ state_dir pids <"$WORK/$tag.node"
	as_alice "$mode" usernode down --name "$name" --purge 2>&1 | tee "$WORK/$tag.down"
	for pid in ${pids//,/ }; do
		wait_until 10 sh -c "! kill -0 $pid 2>/dev/null" || fail "pid $pid still runs"
	done
	[ ! -e "$state_dir" ] || fail "state_dir $state_dir is still there: $(ls -A "$state_dir")"
	if as_alice "$mode" usernode status --name "$name" --json >"$WORK/$tag.status-after.json"; then
		nodes=$(report nodes "$WORK/$tag.status-after.json")
		! grep -qxF "$name" <<<"$nodes" || fail "status still lists $name"
	fi
	# Nothing of alice's runs but her manager (um) or the CI job's shell (ci).
	if [ "$mode" = um ]; then
		# The manager itself and the session bus it starts for systemd-run --user.
		keep="$(user_cgroup)/init.scope $(user_cgroup)/session.slice/dbus.service"
	else
		keep=$(cat "$WORK/ci.cgroup")/job
	fi
	# shellcheck disable=SC2086 # keep is a list of cgroups
	left=$(alice_processes_except $keep)
	[ -z "$left" ] || fail "processes left: $left"
	# No cgroup, mount or file left behind, including files owned by sub-IDs.
	left=$(find "/sys/fs/cgroup$(delegated_root "$mode")" -mindepth 1 -type d \( -name "*$name*" -o -name '*usernode*' \))
	[ -z "$left" ] || fail "cgroups left: $left"
	left=$(grep -F -e "$name" -e "$state_dir" /proc/self/mountinfo || true)
	[ -z "$left" ] || fail "mounts left: $left"
	read -r start count < <(alice_subuids)
	left=$(find "/home/$ALICE" /tmp /var/tmp "/run/user/$(alice_uid)" /dev/shm -xdev \
		\( -uid +$((start - 1)) -uid -$((start + count)) \) -o -name "*$name*" 2>/dev/null || true)
	[ -z "$left" ] || fail "files left: $(sed -n 1,20p <<<"$left")"
	[ "$mode" = um ] || ci_job_stop
}
