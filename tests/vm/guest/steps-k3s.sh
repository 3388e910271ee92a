# Scenario steps for a real k3s (issue 21): `usernode up --engine k3s` as alice's user unit, k3s from the
# payload disk's k3s/ (payload.sh puts it there when the host has USERNODE_K3S_BIN: k3s, its runc and shim, its CNI
# plugins in cni-bin/), in the cgroup v2 subtree setup delegated (k3s refuses to start without cpuset there).
# The Node named as asked is Ready, labelled; a pod's limits are in its cgroup, a pod over its memory is
# OOMKilled; the API server is published on 127.0.0.1 only; down --purge leaves nothing. Runs after the
# vanilla cluster is gone, in the same guest: the two starts and their memory are measured side by side
# (TIMING and REAL lines of $WORK/real.report).
# shellcheck shell=bash

K3S_BIN=$(cd "$GUEST_DIR/../.." && pwd)/k3s
K3S_SKIP=$(cd "$GUEST_DIR/../.." && pwd)/k3s.skip
K3S_NODE=vmk3s
K3S_KUBECONFIG=/home/$ALICE/.kube/usernode-$K3S_NODE.yaml
K3S_PATH=$K3S_BIN:$K3S_BIN/cni-bin:$REAL_PATH

# Why the k3s part cannot run in this guest; nothing when it can.
k3s_unavailable() {
	if [ -s "$K3S_SKIP" ]; then
		cat "$K3S_SKIP"
	elif [ ! -x "$K3S_BIN/k3s" ]; then
		echo "no k3s on the payload disk"
	fi
}

step_k3s_skip() { skip "$(k3s_unavailable)"; }

# The k3s part of a suite, after its vanilla cluster is gone (scenario.sh).
steps_k3s() {
	if [ -n "$(k3s_unavailable)" ]; then
		step k3s.real 10 step_k3s_skip
		return
	fi
	step k3s.up 900 step_k3s_up
	step k3s.ports 60 step_k3s_ports
	step k3s.node-labels 120 step_k3s_node_labels
	step k3s.pod-limits 600 step_k3s_pod_limits
	step k3s.pod-oom 300 step_k3s_pod_oom
	step k3s.down-purge 300 step_k3s_down_purge
}

# real_env, and the real.* helpers aimed at the k3s node: its name, the kubeconfig up wrote. kubectl is the payload's
# (1.28, outside the skew policy with k3s 1.21 but the same API for what the steps do; k3s 1.21's has no wait
# --for=jsonpath).
k3s_env() {
	real_env
	# shellcheck disable=SC2034 # read by real_collect and the real.* steps
	REAL_NODE=$K3S_NODE REAL_TAG=k3s REAL_LOGS=k3s
	kc() { "$REAL_BIN/kubectl" --kubeconfig "$K3S_KUBECONFIG" "$@"; }
}

# alice's k3s node, --wait for its Node Ready; "TIMING k3s_node_ready_s"; the images it imports wait in her
# images directory as for the vanilla node.
step_k3s_up() {
	local started secs rc=0 d stages
	k3s_env
	"$K3S_BIN/k3s" --version
	for d in .local .local/share .local/share/usernode .local/share/usernode/images; do
		[ -d "/home/$ALICE/$d" ] || install -d -o "$ALICE" -g "$ALICE" -m 0700 "/home/$ALICE/$d"
	done
	install -o "$ALICE" -g "$ALICE" -m 0600 "$REAL_BIN/pause-oci.tar" "$VANILLA_IMAGES/pause.tar"
	install -o "$ALICE" -g "$ALICE" -m 0600 "$HELPERS/busybox-oci.tar" "$VANILLA_IMAGES/busybox.tar"
	as_alice um env PATH="$K3S_PATH" usernode check --engine k3s --json >"$WORK/k3s.check.json" || true
	# k3s's version, its CNI plugins with flannel, cpuset delegated: check says the host can run it.
	[ "$(report check "$WORK/k3s.check.json" engine.k3s)" = pass ] ||
		fail "check's engine.k3s: $(report field "$WORK/k3s.check.json" engine.k3s detail)"
	real_note "REAL k3s: check: $(report field "$WORK/k3s.check.json" engine.k3s detail)"
	started=$(date +%s.%N)
	echo "$started" >"$WORK/k3s.up-started"
	as_alice um env PATH="$K3S_PATH" usernode up --engine k3s --name "$K3S_NODE" --wait=900 --json \
		>"$WORK/k3s.status.json" 2>"$WORK/k3s.up.err" || rc=$?
	secs=$(since "$started")
	cat "$WORK/k3s.status.json" "$WORK/k3s.up.err"
	[ "$rc" -eq 0 ] || fail "usernode up --engine k3s exited $rc after ${secs}s: $(tail -n 3 "$WORK/k3s.up.err" | paste -sd'|' -)"
	real_note "TIMING k3s_node_ready_s=$secs"
	stages=$(sed -n 's/^usernode: \([a-z-]*[a-z]\) \+\(ready \)\?after \([0-9]*\) ms$/\1 \3 ms/p' "$WORK/k3s.up.err" | paste -sd, -)
	real_note "REAL k3s: stages ready after: ${stages:-(none logged)}"
	[ "$(stat -c '%a %U' "$K3S_KUBECONFIG")" = "600 $ALICE" ] || fail "the kubeconfig is $(stat -c '%a %U' "$K3S_KUBECONFIG")"
	real_node_ready_in_unit k3s
	[ "$(kc get nodes -o name)" = "node/$K3S_NODE" ] || fail "Nodes: $(kc get nodes -o name | paste -sd' ' -)"
}

# The API server on the guest's 127.0.0.1 only; nothing of the node listens elsewhere; k3s's port controller
# bound nothing.
step_k3s_ports() {
	local ip port open
	k3s_env
	read -r ip port < <(report port "$WORK/k3s.status.json" 6443) || fail "up --json publishes no port 6443"
	[ "$ip" = 127.0.0.1 ] || fail "the API server is published on $ip, want 127.0.0.1"
	grep -q "server: https://127.0.0.1:$port$" "$K3S_KUBECONFIG" || fail "the kubeconfig does not point at 127.0.0.1:$port"
	ss -Htlne
	open=$(ss -Htlne | awk -v uid="uid:$(alice_uid)" '$0 ~ uid && $4 !~ /^127\.0\.0\.1:/')
	[ -z "$open" ] || fail "the node listens beyond loopback: $open"
	! grep -q "Bound parent port" "/run/user/$(alice_uid)/usernode/$K3S_NODE/k3s.log" ||
		fail "k3s's port controller bound a port"
	real_note "REAL k3s: the API server on 127.0.0.1:$port only; k3s's port controller bound nothing"
}

step_k3s_node_labels() { k3s_env; step_real_node_labels; }

step_k3s_pod_limits() {
	k3s_env
	step_real_pod_limits
	# With a pod running, as the vanilla node was measured: the two ways to a cluster side by side.
	real_memory "k3s node with a pod"
}

# A pod that allocates past its 64Mi limit is killed by the kernel's OOM killer inside the node's cgroup: exit 137,
# and the node's unit's memory.events (hierarchical) counts one more oom_kill. k3s v1.21's containerd reports the
# container's reason as "Error", not "OOMKilled" (seen in three runs, with dd at once and after 5 s: no TaskOOM
# event from its shim); the API's reason is noted, not asserted.
step_k3s_pod_oom() {
	local unit_cg before after reason code
	k3s_env
	unit_cg=$(user_cgroup)/app.slice/usernode-$K3S_NODE.service
	before=$(awk '$1 == "oom_kill" { print $2 }' "/sys/fs/cgroup$unit_cg/memory.events")
	pod_yaml hog Never '{memory: 64Mi}' '["/bin/dd", "if=/dev/zero", "of=/dev/null", "bs=200M", "count=1"]' | kc_apply
	kc wait --for=jsonpath='{.status.phase}'=Failed pod/hog --timeout=240s ||
		fail "pod hog did not fail: $(kc get pod hog -o wide 2>&1)"
	reason=$(kc get pod hog -o jsonpath='{.status.containerStatuses[0].state.terminated.reason}')
	code=$(kc get pod hog -o jsonpath='{.status.containerStatuses[0].state.terminated.exitCode}')
	after=$(awk '$1 == "oom_kill" { print $2 }' "/sys/fs/cgroup$unit_cg/memory.events")
	real_note "REAL k3s pod hog (64Mi, dd bs=200M): exit $code, reason $reason; oom_kill in the node's cgroup $before -> $after"
	[ "$code" = 137 ] || fail "pod hog exited $code, want 137"
	[ "$after" -gt "$before" ] || fail "no OOM kill counted in $unit_cg/memory.events ($before -> $after)"
	kc delete pod hog --wait=false
}

step_k3s_down_purge() {
	k3s_env
	real_collect
	cp "/run/user/$(alice_uid)/usernode/$K3S_NODE/k3s.log" "$ARTIFACTS/real/k3s/" 2>/dev/null || true
	step_down_purge um k3s
	[ ! -e "$K3S_KUBECONFIG" ] || fail "down --purge left $K3S_KUBECONFIG"
	[ ! -e "/home/$ALICE/.local/share/usernode/nodes/$K3S_NODE" ] || fail "down --purge left the node's data"
	[ ! -e "/home/$ALICE/.kube/k3s.yaml" ] || fail "k3s wrote ~/.kube/k3s.yaml"
	rm -rf "$VANILLA_IMAGES"
}
