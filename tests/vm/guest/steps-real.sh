# Scenario steps with real Kubernetes (issue 15): the upstream binaries from the payload disk's
# k8s/ (payload.sh puts them there when the host has USERNODE_K8S_BIN), a control plane that root
# runs in a network namespace (tests/integration/k8s-lib.sh, as up-real.sh uses it), alice's node
# joining it with kubeadm's line as her user unit, and pods whose limits the kernel enforces in her
# delegated subtree. Lines of $WORK/real.report go to out.log after the steps.
# shellcheck shell=bash

REAL_BIN=$(cd "$GUEST_DIR/../.." && pwd)/k8s
REAL_SKIP=$(cd "$GUEST_DIR/../.." && pwd)/k8s.skip
REAL_NODE=vmreal
# The prefix of what the steps measure (TIMING keys, $WORK/TAG.up-started); steps-vanilla.sh changes both.
REAL_TAG=real
REAL_CP=$WORK/real-cp
REAL_TOKEN=/home/$ALICE/join-token
# What a pod with limits {memory: 64Mi, cpu: 200m} must get, and usernode's default podPidsLimit.
REAL_MEMORY_MAX=67108864
REAL_CPU_MAX="20000 100000"
REAL_PIDS_MAX=4096
# The user manager's own PATH, after the directory of the real binaries.
REAL_PATH=$REAL_BIN:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# Why the real part cannot run in this guest; nothing when it can.
real_unavailable() {
	if [ -s "$REAL_SKIP" ]; then
		cat "$REAL_SKIP"
	elif [ ! -x "$REAL_BIN/kubelet" ]; then
		echo "no Kubernetes binaries on the payload disk (k8s/)"
	fi
}

step_real_skip() { skip "$(real_unavailable)"; }

# The control plane's helpers and, once it runs, its names (K8S_NETNS, K8S_ADMIN, K8S_JOIN, …).
real_env() {
	export USERNODE_K8S_BIN=$REAL_BIN PATH=$REAL_BIN:$PATH
	# Software emulation, and a host shared with compilers: the servers take minutes, not seconds.
	export K8S_WAIT_FACTOR=6
	# shellcheck source=../../integration/k8s-lib.sh
	. "$GUEST_DIR/../k8s-lib.sh"
	if [ -s "$REAL_CP/env" ]; then
		# shellcheck source=/dev/null
		. "$REAL_CP/env"
	fi
	trap real_collect EXIT
}

kc() { k8s_kubectl "$@"; }

# kc_apply: kubectl apply of stdin, again (3 tries) when the API server let the request time out, as a
# control plane under TCG on a loaded host sometimes does ("Client.Timeout exceeded while awaiting headers").
kc_apply() {
	local f i
	f=$(mktemp "$WORK/apply.XXXXXX")
	cat >"$f"
	for i in 1 2 3; do
		if kc apply -f "$f"; then
			rm -f "$f"
			return 0
		fi
		echo "kubectl apply failed (try $i)"
		sleep 5
	done
	rm -f "$f"
	return 1
}

real_note() { echo "$*" >>"$WORK/real.report"; }

since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# The node's and the control plane's logs into the artifacts, after every step (they go with --purge):
# the node REAL_NODE's under artifacts/real/REAL_LOGS.
REAL_LOGS=node
real_collect() {
	local dir f
	{ set +x; } 2>/dev/null
	mkdir -p "$ARTIFACTS/real/$REAL_LOGS" "$ARTIFACTS/real/cp"
	cp "$REAL_CP"/*.log "$ARTIFACTS/real/cp/" 2>/dev/null || true
	for dir in "/run/user/$(alice_uid)/usernode/$REAL_NODE" "/home/$ALICE/.local/share/usernode/nodes/$REAL_NODE"; do
		[ -d "$dir" ] || continue
		find "$dir" -maxdepth 3 -type f \( -name '*.log' -o -name '*.toml' -o -name '*config*.json' \
			-o -name '*config*.yaml' \) -size -20M -print0 |
			while IFS= read -r -d '' f; do
				cp "$f" "$ARTIFACTS/real/$REAL_LOGS/$(printf '%s' "${f#"$dir"/}" | tr / _)"
			done
	done
}

# The admin's one command, and alice's manager running with every controller (linger, no login).
step_real_setup() {
	usernode setup --user "$ALICE"
	wait_until 60 systemctl -q is-active "user@$(alice_uid).service" ||
		fail "user@$(alice_uid).service is $(systemctl is-active "user@$(alice_uid).service")"
	wait_until 10 test -e "/sys/fs/cgroup$(user_cgroup)/cgroup.controllers" || fail "no cgroup $(user_cgroup)"
	[ "$(controllers_of "$(user_cgroup)")" = "$WANT_CONTROLLERS" ] ||
		fail "$(user_cgroup) has controllers '$(controllers_of "$(user_cgroup)")', want '$WANT_CONTROLLERS'"
}

# The names k8s_control_plane_start chose, for the steps after it.
real_save_env() {
	local v
	for v in K8S_NETNS K8S_VETH K8S_HOST_IP K8S_CP_IP K8S_ADMIN K8S_JOIN; do
		printf '%s=%q\n' "$v" "${!v-}"
	done >"$REAL_CP/env"
}

step_real_control_plane() {
	local started
	real_env
	mkdir -p "$REAL_CP"
	# Whatever happens, what real.cleanup needs to stop it.
	trap 'real_save_env; real_collect' EXIT
	kubelet --version
	etcd --version
	started=$(date +%s.%N)
	k8s_control_plane_start "$REAL_CP"
	real_note "TIMING real_control_plane_s=$(since "$started")"
	[ -n "${K8S_JOIN-}" ] || fail "kubeadm printed no join line"
}

# alice's node joins with kubeadm's line (the token in a 0600 file), from her session as her user
# unit, the real kubelet found on the PATH that up was given; up --wait returns when the Node is Ready.
step_real_up() {
	local server token hash started secs rc=0
	real_env
	[ -n "${K8S_JOIN-}" ] || fail "no control plane: real.control-plane did not start one"
	# kubeadm join HOST:6443 --token ID.SECRET --discovery-token-ca-cert-hash sha256:H
	server=$(awk '{ print $3 }' <<<"$K8S_JOIN")
	token=$(sed -n 's/.* --token \([^ ]*\).*/\1/p' <<<"$K8S_JOIN")
	hash=$(sed -n 's/.* --discovery-token-ca-cert-hash \([^ ]*\).*/\1/p' <<<"$K8S_JOIN")
	if [ -z "$server" ] || [ -z "$token" ] || [ -z "$hash" ]; then
		fail "cannot read kubeadm's join line: $K8S_JOIN"
	fi
	install -m 0600 -o "$ALICE" -g "$ALICE" /dev/null "$REAL_TOKEN"
	printf '%s\n' "$token" >"$REAL_TOKEN"

	started=$(date +%s.%N)
	echo "$started" >"$WORK/$REAL_TAG.up-started"
	as_alice um env PATH="$REAL_PATH" usernode up --engine kubelet --name "$REAL_NODE" --server "$server" \
		--token-file "$REAL_TOKEN" --discovery-token-ca-cert-hash "$hash" --wait=540 --json \
		>"$WORK/real.status.json" || rc=$?
	secs=$(since "$started")
	cat "$WORK/real.status.json"
	[ "$rc" -eq 0 ] || fail "usernode up exited $rc after ${secs}s"
	real_note "TIMING real_node_ready_s=$secs"

	real_node_ready_in_unit real
}

# real_node_ready_in_unit TAG: the Node REAL_NODE is Ready, and $WORK/TAG.status.json (up --json) names it
# with pids, every one in alice's unit app.slice/usernode-REAL_NODE.service; "name state state_dir pids"
# go to $WORK/TAG.node (for step_down_purge).
real_node_ready_in_unit() {
	local tag=$1 name pids pid cg unit_cg
	[ "$(kc get node "$REAL_NODE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ] ||
		fail "up returned but the Node is not Ready: $(kc get node "$REAL_NODE" -o wide 2>&1)"
	kc get node "$REAL_NODE" -o wide
	report node "$WORK/$tag.status.json" >"$WORK/$tag.node" || fail "status --json names no single node"
	read -r name _ _ pids <"$WORK/$tag.node"
	[ "$name" = "$REAL_NODE" ] || fail "status --json names $name"
	[ "$pids" != - ] || fail "status lists no pids"
	# The admin's path: the node is alice's user unit, every process in its cgroup.
	unit_cg=$(user_cgroup)/app.slice/usernode-$REAL_NODE.service
	for pid in ${pids//,/ }; do
		cg=$(sed -n 's/^0:://p' "/proc/$pid/cgroup") || fail "pid $pid from status is not running"
		echo "pid $pid: $cg $(tr '\0' ' ' <"/proc/$pid/cmdline")"
		case $cg in
		"$unit_cg" | "$unit_cg"/*) ;;
		*) fail "pid $pid runs in $cg, outside $unit_cg" ;;
		esac
	done
}

# The features check computes reach the cluster as labels; here the host enforces limits.
step_real_node_labels() {
	local feature value bad=''
	real_env
	kc get node "$REAL_NODE" --show-labels
	for feature in limits.memory limits.cpu limits.pids; do
		value=$(kc get node "$REAL_NODE" -o "jsonpath={.metadata.labels.usernode\\.io/${feature//./\\.}}")
		[ "$value" = available ] || bad="$bad usernode.io/$feature=${value:-(none)}"
	done
	[ -z "$bad" ] || fail "labels:$bad"
	real_note "REAL $REAL_NODE: node labels usernode.io/limits.memory, limits.cpu, limits.pids = available"
}

# No registry: the pause image (built by payload.sh) and busybox (prepare) imported into the node.
step_real_images() {
	local tar
	real_env
	for tar in "$REAL_BIN/pause-oci.tar" "$HELPERS/busybox-oci.tar"; do
		as_alice um usernode exec --name "$REAL_NODE" -- ctr -n k8s.io images import "$tar" ||
			fail "could not import $tar into node $REAL_NODE"
	done
	as_alice um usernode exec --name "$REAL_NODE" -- ctr -n k8s.io images ls -q
}

# pod_yaml NAME RESTART LIMITS COMMAND_JSON [NODE]: on NODE when it is given.
pod_yaml() {
	cat <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $1
spec:
  ${5:+nodeName: $5}
  restartPolicy: $2
  terminationGracePeriodSeconds: 1
  containers:
  - name: $1
    image: docker.io/library/busybox:usernode-vm
    imagePullPolicy: Never
    command: $4
    resources:
      limits: $3
EOF
}

cg_value() { cat "/sys/fs/cgroup$1/$2" 2>/dev/null || echo '(none)'; }

# real_memory WHAT: the memory of REAL_NODE's unit now, as a MEMORY line of the report: its cgroup's memory.peak
# and memory.current, and the summed RSS of its processes.
real_memory() {
	local unit_cg rss=0 pid kb
	unit_cg=$(user_cgroup)/app.slice/usernode-$REAL_NODE.service
	while read -r pid; do
		kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) || continue
		rss=$((rss + ${kb:-0}))
	done < <(find "/sys/fs/cgroup$unit_cg" -name cgroup.procs -exec cat {} +)
	real_note "MEMORY $1: unit memory.peak $(($(cat "/sys/fs/cgroup$unit_cg/memory.peak") / 1048576)) MiB, memory.current $(($(cat "/sys/fs/cgroup$unit_cg/memory.current") / 1048576)) MiB, RSS of its processes $((rss / 1024)) MiB"
}

step_real_pod_limits() {
	local started secs cid uid pid cg pod_cg unit_cg mem cpu pids f
	local -a found
	real_env
	started=$(date +%s.%N)
	pod_yaml limits Always '{memory: 64Mi, cpu: 200m}' '["/bin/sleep", "86397"]' | kc_apply
	kc wait --for=condition=Ready pod/limits --timeout=360s ||
		fail "pod not Running: $(kc get pod limits -o wide 2>&1; kc get events --field-selector involvedObject.name=limits 2>&1 | tail -n 5)"
	secs=$(since "$started")
	real_note "TIMING ${REAL_TAG}_pod_running_s=$secs"
	real_note "TIMING ${REAL_TAG}_pod_running_after_up_s=$(since "$(cat "$WORK/$REAL_TAG.up-started")")"
	kc get pod limits -o wide

	cid=$(kc get pod limits -o jsonpath='{.status.containerStatuses[0].containerID}')
	cid=${cid#*://}
	uid=$(kc get pod limits -o jsonpath='{.metadata.uid}')
	if [ -z "$cid" ] || [ -z "$uid" ]; then
		fail "pod limits has no container ID or UID"
	fi
	unit_cg=$(user_cgroup)/app.slice/usernode-$REAL_NODE.service
	mapfile -t found < <(find "/sys/fs/cgroup$unit_cg" -type d -name "*$cid*")
	[ "${#found[@]}" -eq 1 ] || fail "${#found[@]} cgroups named after container $cid under $unit_cg: ${found[*]}"
	cg=${found[0]#/sys/fs/cgroup}
	pod_cg=${cg%/*}
	case $pod_cg in *"${uid//-/_}"* | *"$uid"*) ;; *) fail "the container's parent $pod_cg is not pod $uid's" ;; esac
	# The process the kubelet started is in it (the host's view).
	pid=$(pgrep -n -f '^/bin/sleep 86397$') || fail "no process of the pod"
	[ "$(sed -n 's/^0:://p' "/proc/$pid/cgroup")" = "$cg" ] ||
		fail "pid $pid runs in $(sed -n 's/^0:://p' "/proc/$pid/cgroup"), not $cg"
	mem=$(cg_value "$cg" memory.max)
	cpu=$(cg_value "$cg" cpu.max)
	pids=$(cg_value "$pod_cg" pids.max)
	echo "container $cid pid $pid (uid $(stat -c %u "/proc/$pid")) in $cg"
	for f in memory.max memory.swap.max cpu.max pids.max memory.oom.group; do
		echo "container $f: $(cg_value "$cg" "$f")"
		echo "pod $f: $(cg_value "$pod_cg" "$f")"
	done
	real_note "REAL $REAL_NODE: pod limits in $cg: memory.max=$mem cpu.max=\"$cpu\" memory.swap.max=$(cg_value "$cg" memory.swap.max); pod pids.max=$pids"
	[ "$mem" = "$REAL_MEMORY_MAX" ] || fail "memory.max of $cg is $mem, want $REAL_MEMORY_MAX"
	[ "$cpu" = "$REAL_CPU_MAX" ] || fail "cpu.max of $cg is '$cpu', want '$REAL_CPU_MAX'"
	[ "$pids" = "$REAL_PIDS_MAX" ] || fail "pids.max of the pod's cgroup $pod_cg is $pids, want $REAL_PIDS_MAX"
	# Enforced here: the node tells no pod that its limits are not (on cgroup v1 it would, see up-real.sh).
	told=$(kc get events --field-selector reason=LimitsNotEnforced -o name)
	[ -z "$told" ] || fail "a LimitsNotEnforced Event where limits are enforced: $told"
	kc delete pod limits --wait=false
}

# A pod that allocates past its 64Mi limit is OOM-killed by the kernel, and the API says so.
step_real_pod_oom() {
	local reason code
	real_env
	pod_yaml hog Never '{memory: 64Mi}' '["/bin/dd", "if=/dev/zero", "of=/dev/null", "bs=200M", "count=1"]' |
		kc_apply
	kc wait --for=jsonpath='{.status.phase}'=Failed pod/hog --timeout=240s ||
		fail "pod hog did not fail: $(kc get pod hog -o wide 2>&1)"
	kc get pod hog -o jsonpath='{.status.containerStatuses[0].state}'
	echo
	kc get events --field-selector involvedObject.name=hog || true
	reason=$(kc get pod hog -o jsonpath='{.status.containerStatuses[0].state.terminated.reason}')
	code=$(kc get pod hog -o jsonpath='{.status.containerStatuses[0].state.terminated.exitCode}')
	real_note "REAL pod hog (64Mi, dd bs=200M): terminated reason=$reason exitCode=$code"
	[ "$reason" = OOMKilled ] || fail "pod hog terminated with reason '$reason' (exit $code), want OOMKilled"
	[ "$code" = 137 ] || fail "pod hog exited $code, want 137"
	kc delete pod hog --wait=false
}

# down --purge as alice leaves nothing (step_down_purge's checks); the Node goes, or down says how.
step_real_down_purge() {
	real_env
	real_collect
	step_down_purge um real
	if kc get node "$REAL_NODE"; then
		grep -q "kubectl delete node $REAL_NODE" "$WORK/real.down" ||
			fail "the Node stays and down said nothing: $(cat "$WORK/real.down")"
		real_note "REAL down --purge left the Node and said: $(grep -m1 'kubectl delete node' "$WORK/real.down")"
	fi
}

# The control plane (if it still runs) stops and its network namespace goes.
real_control_plane_stop() {
	rm -f "$REAL_TOKEN"
	if [ -s "$REAL_CP/env" ]; then
		k8s_control_plane_stop "$REAL_CP"
		real_collect
		trap - EXIT
		rm -rf "$REAL_CP"
	fi
	if ip netns list | grep -F usernode-cp-; then
		fail "the control plane's network namespace is still there"
	fi
}

# Once the joined node is gone, its control plane goes too: the vanilla steps after it need the guest's
# CPUs and memory for a whole cluster of alice's.
step_real_control_plane_stop() {
	real_env
	real_control_plane_stop
}

# Whatever still runs of the control plane stops, and unsetup takes back what real.setup did.
step_real_cleanup() {
	real_env
	real_control_plane_stop
	usernode unsetup --user "$ALICE"
	[ ! -e "/var/lib/usernode/setup/$ALICE.manifest" ] || fail "/var/lib/usernode/setup/$ALICE.manifest is still there"
}
