# Scenario steps for a node that brings its own cluster: `usernode up --engine kubelet` without --server,
# the control plane's binaries and etcd on the PATH it is given (k8s/, as real.up has it; kube-proxy from
# k8s/vanilla/), run as alice's user unit like the joined node of steps-real.sh. The images it needs wait
# in her ~/.local/share/usernode/images/ (the node imports them as it starts): pause and busybox first;
# then, when the payload has it, CoreDNS, and the node starts again (down, up: the same cluster), now with
# its DNS — the order of tests/integration/cluster-real.sh. (Under TCG a first start that imports CoreDNS's
# 54 MB alongside the API server's first start overran usernode's fixed 90 s wait for the API server's
# /readyz.) Reuses real.setup's setup and the real.* helpers (kc, pod checks, log collection) aimed at this
# node; runs after the joined node and its control plane are gone. Lines of $WORK/real.report go to
# out.log after the steps.
# shellcheck shell=bash

VANILLA_NODE=vanilla
VANILLA_JOINED=$REAL_NODE
VANILLA_KUBECONFIG=/home/$ALICE/.kube/usernode-$VANILLA_NODE.yaml
VANILLA_IMAGES=/home/$ALICE/.local/share/usernode/images
# kube-proxy only on this node's PATH (the joined node's steps run without it).
VANILLA_PATH=$REAL_BIN/vanilla:$REAL_PATH
VANILLA_COREDNS=$REAL_BIN/coredns-oci.tar

# real_env, and the real.* helpers aimed at this node: its name, its kubeconfig (the admin's, that up
# wrote), its TIMING keys and $WORK files (vanilla.*), its logs under artifacts/real/vanilla.
vanilla_env() {
	real_env
	# shellcheck disable=SC2034 # read by real_collect
	REAL_NODE=$VANILLA_NODE REAL_TAG=vanilla REAL_LOGS=vanilla
	kc() { "$REAL_BIN/kubectl" --kubeconfig "$VANILLA_KUBECONFIG" "$@"; }
}

vanilla_state_dir() { echo "/run/user/$(alice_uid)/usernode/$VANILLA_NODE"; }

# The joined node is down (real.down-purge; if that failed, it goes now) and nothing of alice's runs;
# then the images the node imports as it starts, hers and 0600, in her images directory (CoreDNS's comes
# in vanilla.coredns-up).
step_vanilla_images() {
	local home=/home/$ALICE d left
	vanilla_env
	if [ -d "/run/user/$(alice_uid)/usernode/$VANILLA_JOINED" ] ||
		[ -d "$home/.local/share/usernode/nodes/$VANILLA_JOINED" ]; then
		echo "node $VANILLA_JOINED is still there: down --purge"
		as_alice um usernode down --name "$VANILLA_JOINED" --purge || true
	fi
	left=$(alice_processes_except "$(user_cgroup)/init.scope" "$(user_cgroup)/session.slice/dbus.service")
	[ -z "$left" ] || fail "processes of $ALICE run before the vanilla node: $left"

	for d in .local .local/share .local/share/usernode .local/share/usernode/images; do
		[ -d "$home/$d" ] || install -d -o "$ALICE" -g "$ALICE" -m 0700 "$home/$d"
	done
	install -o "$ALICE" -g "$ALICE" -m 0600 "$REAL_BIN/pause-oci.tar" "$VANILLA_IMAGES/pause.tar"
	install -o "$ALICE" -g "$ALICE" -m 0600 "$HELPERS/busybox-oci.tar" "$VANILLA_IMAGES/busybox.tar"
	[ -f "$VANILLA_COREDNS" ] || echo "no CoreDNS image on the payload disk: the node runs without cluster DNS"
	[ -x "$REAL_BIN/vanilla/kube-proxy" ] || echo "no kube-proxy on the payload disk: pods cannot reach Services"
	ls -la "$VANILLA_IMAGES"
}

# vanilla_up KEY: up as alice, --wait for the Node Ready; "TIMING KEY=seconds"; up's --json in
# $WORK/vanilla.status.json, its start time in $WORK/vanilla.up-started; then vanilla_up_checks.
vanilla_up() {
	local key=$1 started secs rc=0 log seen=0 stages
	log=$(vanilla_state_dir)/node.log
	# node.log grows across starts: this start's lines are those after the ones already there.
	[ ! -f "$log" ] || seen=$(wc -l <"$log")
	started=$(date +%s.%N)
	echo "$started" >"$WORK/$REAL_TAG.up-started"
	as_alice um env PATH="$VANILLA_PATH" usernode up --engine kubelet --name "$VANILLA_NODE" --wait=600 --json \
		>"$WORK/vanilla.status.json" 2>"$WORK/vanilla.$key.err" || rc=$?
	secs=$(since "$started")
	cat "$WORK/vanilla.status.json" "$WORK/vanilla.$key.err"
	tail -n +$((seen + 1)) "$log" | grep -a 'usernode' >"$WORK/vanilla.$key.log" || true
	cat "$WORK/vanilla.$key.log"
	[ "$rc" -eq 0 ] || fail "usernode up exited $rc after ${secs}s: $(tail -n 3 "$WORK/vanilla.$key.log" | paste -sd'|' -)"
	real_note "TIMING $key=$secs"
	# What this start took, as up (its stages) and the node's init (node.log) say.
	stages=$(sed -n 's/^usernode: \([a-z-]*[a-z]\) \+\(ready \)\?after \([0-9]*\) ms$/\1 \3 ms/p' "$WORK/vanilla.$key.err" | paste -sd, -)
	real_note "REAL vanilla ($key): stages ready after: ${stages:-(none logged)}; $(grep -aom1 'the API server is ready after [0-9]* ms' "$WORK/vanilla.$key.log" || echo 'the API server: no line')"
	vanilla_up_checks
}

# What up --json says and the cluster shows: the admin's kubeconfig hers and 0600, pointing at the API
# server published on 127.0.0.1; the Node Ready, the node's processes in her unit; /readyz.
vanilla_up_checks() {
	local kubeconfig ip port

	kubeconfig=$(report nodekey "$WORK/vanilla.status.json" kubeconfig)
	[ "$kubeconfig" = "$VANILLA_KUBECONFIG" ] || fail "up --json names the kubeconfig '$kubeconfig', want $VANILLA_KUBECONFIG"
	[ "$(stat -c '%a %U' "$VANILLA_KUBECONFIG")" = "600 $ALICE" ] ||
		fail "the kubeconfig is $(stat -c '%a %U' "$VANILLA_KUBECONFIG"), want 600 $ALICE"
	read -r ip port < <(report port "$WORK/vanilla.status.json" 6443) || fail "up --json publishes no port 6443"
	[ "$ip" = 127.0.0.1 ] || fail "the API server is published on $ip, want 127.0.0.1"
	grep -q "https://127.0.0.1:$port" "$VANILLA_KUBECONFIG" || fail "the kubeconfig does not point at 127.0.0.1:$port"

	real_node_ready_in_unit vanilla
	[ "$(kc get --raw /readyz)" = ok ] || fail "the API server's /readyz is not ok"
	kc get pods -A -o wide
}

# up --wait returns when the Node is Ready: the whole cluster (etcd, the API server, the controller-manager,
# the scheduler, the kubelet joining it, kube-proxy) as alice's unit. No CoreDNS image yet: up says the
# cluster has no DNS.
step_vanilla_up() {
	local warnings
	vanilla_env
	vanilla_up vanilla_node_ready_s
	warnings=$(report warnings "$WORK/vanilla.status.json")
	echo "warnings: ${warnings:-(none)}"
	real_note "REAL vanilla: up's warnings without CoreDNS's image: ${warnings:-(none)}"
	grep -q 'no cluster DNS' \
		<<<"$warnings" || fail "up does not say the cluster has no DNS: ${warnings:-(no warnings)}"
}

# CoreDNS's image in the images directory, the node down and up again: the same cluster (the Node as it
# was), now importing CoreDNS as it starts, and up no longer says the cluster has no DNS.
step_vanilla_coredns_up() {
	local warnings
	vanilla_env
	[ -f "$VANILLA_COREDNS" ] || skip "no coredns in USERNODE_K8S_BIN on the host: the cluster runs without DNS"
	"$REAL_BIN/coredns" -version || true
	install -o "$ALICE" -g "$ALICE" -m 0600 "$VANILLA_COREDNS" "$VANILLA_IMAGES/coredns.tar"
	ls -la "$VANILLA_IMAGES"
	as_alice um usernode down --name "$VANILLA_NODE" || fail "usernode down (no --purge) failed"
	vanilla_up vanilla_restart_ready_s
	warnings=$(report warnings "$WORK/vanilla.status.json")
	echo "warnings: ${warnings:-(none)}"
	real_note "REAL vanilla: up's warnings with CoreDNS's image: ${warnings:-(none)}"
	! grep -q 'no cluster DNS' <<<"$warnings" || fail "CoreDNS's image is in the images directory, but up says: $warnings"
}

# The node's labels say what the host enforces: here (cgroup v2, delegated) memory, cpu and pids limits.
step_vanilla_node_labels() {
	vanilla_env
	step_real_node_labels
}

# A pod with limits runs, its container's cgroup has them (real.pod-limits' checks).
step_vanilla_pod_limits() {
	vanilla_env
	step_real_pod_limits
	# Measured as the k3s node is (steps-k3s.sh), side by side.
	real_memory "vanilla cluster with a pod"
}

resolver_phase() { kc get pod resolver -o jsonpath='{.status.phase}' 2>/dev/null || true; }

# CoreDNS runs (its image was imported as the node started) and a pod resolves the cluster's names through
# it; status no longer says the cluster has no DNS.
step_vanilla_dns() {
	local started svc_ip dns_ip phase out warnings deadline
	vanilla_env
	[ -f "$VANILLA_COREDNS" ] || skip "no coredns in USERNODE_K8S_BIN on the host: the cluster runs without DNS"
	kc -n kube-system wait --for=condition=Available deployment/coredns --timeout=480s ||
		fail "CoreDNS is not Available: $(kc -n kube-system get pods -l k8s-app=kube-dns -o wide 2>&1 | tail -n 3 | paste -sd'|' -)"
	real_note "TIMING vanilla_coredns_available_after_restart_s=$(since "$(cat "$WORK/$REAL_TAG.up-started")")"
	kc -n kube-system get deployment,pods,services -o wide
	svc_ip=$(kc get service kubernetes -o jsonpath='{.spec.clusterIP}')
	dns_ip=$(kc -n kube-system get service kube-dns -o jsonpath='{.spec.clusterIP}')
	if [ -z "$svc_ip" ] || [ -z "$dns_ip" ]; then
		fail "no Service IP: kubernetes '$svc_ip', kube-dns '$dns_ip'"
	fi

	started=$(date +%s.%N)
	# A few tries: kube-proxy programs the Service's rules on its own time, under TCG seconds late.
	# shellcheck disable=SC2016 # expanded by the pod's shell
	pod_yaml resolver Never '{memory: 32Mi}' \
		'["/bin/sh", "-c", "cat /etc/resolv.conf; for i in 1 2 3 4 5 6 7 8 9 10; do nslookup kubernetes.default.svc.cluster.local && exit 0; echo try $i failed; sleep 6; done; exit 1"]' |
		kc_apply
	deadline=$((SECONDS + 300))
	phase=$(resolver_phase)
	until [ "$phase" = Succeeded ] || [ "$phase" = Failed ] || [ "$SECONDS" -ge "$deadline" ]; do
		sleep 3
		phase=$(resolver_phase)
	done
	out=$(kc logs resolver 2>&1 || true)
	echo "$out"
	[ "$phase" = Succeeded ] ||
		fail "pod resolver is '$phase': $(kc get pod resolver -o wide 2>&1 | tail -n 1); $(tail -n 4 <<<"$out" | paste -sd'|' -)"
	real_note "TIMING vanilla_dns_resolved_s=$(since "$started")"
	grep -q "^nameserver $dns_ip\$" <<<"$out" || fail "the pod's resolver is not the cluster DNS $dns_ip: $out"
	grep -Eq "^Address:[[:space:]]+${svc_ip//./\\.}\$" <<<"$out" ||
		fail "kubernetes.default.svc.cluster.local did not resolve to the kubernetes Service $svc_ip: $out"
	real_note "REAL vanilla: CoreDNS Available; a pod resolved kubernetes.default.svc.cluster.local through $dns_ip to $svc_ip ($(grep -c 'failed$' <<<"$out") failed tries first)"
	kc delete pod resolver --wait=false

	as_alice um usernode status --name "$VANILLA_NODE" --json >"$WORK/vanilla.status-dns.json" ||
		fail "usernode status failed: $(cat "$WORK/vanilla.status-dns.json")"
	cat "$WORK/vanilla.status-dns.json"
	warnings=$(report warnings "$WORK/vanilla.status-dns.json")
	! grep -q 'no cluster DNS' <<<"$warnings" || fail "status still says: $warnings"
	real_note "REAL vanilla: status warnings with CoreDNS running: ${warnings:-(none)}"
}

# down --purge as alice leaves nothing (step_down_purge's checks: processes, cgroups, mounts, files named
# after the node), not the admin's kubeconfig, not the node's data; the cluster went with the node, so down
# has no Node of its own to leave.
step_vanilla_down_purge() {
	local data_dir
	vanilla_env
	real_collect
	if [ ! -s "$WORK/vanilla.node" ]; then
		as_alice um usernode down --name "$VANILLA_NODE" --purge || true
		rm -rf "$VANILLA_IMAGES"
		fail "no node from vanilla.up to check (down --purge was run anyway)"
	fi
	data_dir=$(report nodekey "$WORK/vanilla.status.json" data_dir)
	step_down_purge um vanilla
	! grep -q 'could not remove itself\|kubectl delete node' "$WORK/vanilla.down" ||
		fail "down --purge tried to leave the cluster it took along: $(cat "$WORK/vanilla.down")"
	[ ! -e "$VANILLA_KUBECONFIG" ] || fail "down --purge left $VANILLA_KUBECONFIG"
	[ -z "$data_dir" ] || [ ! -e "$data_dir" ] || fail "down --purge left the data dir $data_dir"
	[ ! -e "/home/$ALICE/.local/share/usernode/nodes/$VANILLA_NODE" ] || fail "down --purge left the node's data"
	# The images are alice's, not the node's: they stay; the scenario takes them back.
	rm -rf "$VANILLA_IMAGES"
}

# vanilla_net_state WORKER: the addresses, routes and neighbours in the node's network namespace and the worker's.
vanilla_net_state() {
	local node worker
	# The inits themselves, not rootlesskit, whose command line names the node's init too.
	node=$(pgrep -u "$ALICE" -f "^[^ ]*usernode __node-init --name $VANILLA_NODE " | head -n 1)
	worker=$(pgrep -u "$ALICE" -f "^[^ ]*usernode __node-init --name $1 " | head -n 1)
	for p in "$node" "$worker"; do
		[ -n "$p" ] || continue
		echo "== pid $p"
		nsenter -t "$p" -U -n ip -br addr
		nsenter -t "$p" -U -n ip route
		nsenter -t "$p" -U -n ip neigh
		nsenter -t "$p" -U -n iptables -w -S
	done 2>&1 | tee "$ARTIFACTS/real/workers-net.txt" | tail -n 40 | paste -sd'|' -
}

# vanilla_reach POD IP: POD fetches IP:8080/hostname, at most 30 tries a second apart.
vanilla_reach() {
	local i
	for i in $(seq 30); do
		kc exec "$1" -- wget -qO /dev/null "http://$2:8080/hostname" && return 0
		echo "try $i: $1 does not reach $2 yet"
		sleep 1
	done
	return 1
}

# The same cluster with a worker on this host (up --workers 1) under alice's unit: both Nodes Ready when up
# returns; the worker in a cgroup of its own inside the unit's, its pod's limit there; a pod on each node
# reaches the other's by its address.
step_vanilla_workers() {
	local worker=$VANILLA_NODE-worker1 started secs n ip_a ip_b unit_cg cid cg label mem
	local -a found
	vanilla_env
	as_alice um usernode down --name "$VANILLA_NODE" || fail "usernode down (no --purge) failed"
	started=$(date +%s.%N)
	as_alice um env PATH="$VANILLA_PATH" usernode up --engine kubelet --name "$VANILLA_NODE" --workers 1 --wait=900 \
		--json >"$WORK/vanilla.workers.json" 2>"$WORK/vanilla.workers.err" ||
		fail "up --workers 1: $(tail -n 5 "$WORK/vanilla.workers.err" | paste -sd'|' -)"
	secs=$(since "$started")
	real_note "TIMING vanilla_workers_ready_s=$secs"
	for n in "$VANILLA_NODE" "$worker"; do
		[ "$(kc get node "$n" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ] ||
			fail "up --workers returned but $n is not Ready: $(kc get nodes -o wide 2>&1 | paste -sd'|' -)"
	done
	kc get nodes -o wide
	pod_yaml web-a Never '{memory: 64Mi}' '["httpd", "-f", "-p", "8080", "-h", "/etc"]' "$VANILLA_NODE" | kc_apply ||
		fail "cannot create pod web-a"
	pod_yaml web-b Never '{memory: 64Mi}' '["httpd", "-f", "-p", "8080", "-h", "/etc"]' "$worker" | kc_apply ||
		fail "cannot create pod web-b"
	kc wait --for=condition=Ready pod/web-a pod/web-b --timeout=600s ||
		fail "the web pods are not Ready: $(kc get pods -o wide 2>&1 | paste -sd'|' -)"
	kc get pods -o wide
	ip_a=$(kc get pod web-a -o jsonpath='{.status.podIP}') ip_b=$(kc get pod web-b -o jsonpath='{.status.podIP}')
	# A few tries: Ready comes when the container started, httpd listens a moment later (under TCG, seconds).
	vanilla_reach web-a "$ip_b" || fail "web-a ($ip_a) does not reach web-b ($ip_b): $(vanilla_net_state "$worker")"
	vanilla_reach web-b "$ip_a" || fail "web-b ($ip_b) does not reach web-a ($ip_a): $(vanilla_net_state "$worker")"
	# The worker's pod: its container's cgroup below the worker's, inside alice's unit, with its limit.
	unit_cg=$(user_cgroup)/app.slice/usernode-$VANILLA_NODE.service
	cid=$(kc get pod web-b -o jsonpath='{.status.containerStatuses[0].containerID}')
	cid=${cid#*://}
	mapfile -t found < <(find "/sys/fs/cgroup$unit_cg" -type d -name "*$cid*")
	[ "${#found[@]}" -eq 1 ] || fail "${#found[@]} cgroups named after container $cid under $unit_cg: ${found[*]}"
	cg=${found[0]#/sys/fs/cgroup}
	case $cg in "$unit_cg/$worker/"*) ;; *) fail "the worker's container runs in $cg, not below $unit_cg/$worker" ;; esac
	# Its limit where its cgroup passes the memory controller on; where not, its Node must say so (never a limit
	# claimed and not enforced).
	label=$(kc get node "$worker" -o jsonpath='{.metadata.labels.usernode\.io/limits\.memory}')
	mem=$(cg_value "$cg" memory.max)
	if [ "$mem" = 67108864 ]; then
		[ "$label" = available ] || fail "the worker enforces memory.max but its Node says limits.memory=$label"
	else
		[ "$label" = unavailable ] || fail "memory.max of $cg is $mem, want 67108864, and the worker's Node says limits.memory=$label"
	fi
	real_note "REAL vanilla: up --workers 1 -> 2 Nodes Ready in ${secs}s; pods $ip_a and $ip_b reach each other; the worker's container in $cg, memory.max=$mem, its Node's limits.memory=$label"
	kc delete pod web-a web-b --wait=false
}
