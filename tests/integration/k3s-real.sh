#!/bin/bash
# The k3s engine with a real k3s (USERNODE_K3S_BIN: k3s v1.21.2+k3s1 as built from its source, k3s's CNI plugins
# there or in its cni-bin/, runc and containerd-shim-runc-v2 there or the host's): `up --engine k3s --name N --wait`
# returns with the Node named N Ready in the API, posted by this k3s, with usernode's labels; the API server is
# published on the host's 127.0.0.1 only and k3s's own port controller publishes nothing; a pod from the user's
# images directory runs and answers logs and exec; status shows the Node; k3s killed is started again and its
# Node comes back; down then up keeps the cluster; down
# --purge leaves no process, mount, file or port. On a cgroup v2 host (the guest's scenario) pod limits are
# checked too; here, cgroup v1, they are not enforced (the labels say so). The node runs in a network namespace of
# the test's own with loopback only: what k3s asks of registries goes nowhere.
. "${top_srcdir:-.}/tests/integration/lib.sh"
. "${top_srcdir:-.}/tests/integration/k8s-lib.sh"
set -o pipefail

k3s_node_require ss ip nsenter
cni=$K3S_CNI

k8s_user_work k3s-real
cleanup() {
        for d in "$WORK"/xdg/usernode/*; do
                [ -d "$d" ] || continue
                as_k3s "$USERNODE" down --name "${d##*/}" --purge >/dev/null 2>&1 || :
        done
        ip netns del "$NS" 2>/dev/null || :
        rm -rf "$WORK"
}
trap cleanup EXIT
# The node's host: a network namespace of the test's own with loopback only. k3s's packaged manifests (CoreDNS,
# local-path, metrics-server) ask a registry for their images: nothing of that leaves it.
NS=usernode-k3s-$$
ip netns add "$NS"
ip -n "$NS" link set lo up
# As the test user, with k3s and its CNI plugins first on PATH (k3s takes the directory of the first host-local).
as_k3s() {
        # nsenter, not ip netns exec: that mounts a /sys of its own, without the cgroup mounts the kubelet reads.
        nsenter --net="/run/netns/$NS" runuser -u "$TEST_USER" -- env -i PATH="$USERNODE_K3S_BIN:$cni:/usr/sbin:/usr/bin:/sbin:/bin" HOME="$WORK/home" \
                XDG_RUNTIME_DIR="$WORK/xdg" "$@"
}
node=k3n
kubeconfig=$WORK/home/.kube/usernode-$node.yaml
kc() { as_k3s "$USERNODE_K3S_BIN/k3s" kubectl --kubeconfig "$kubeconfig" "$@"; }
[ -e "$USERNODE_K3S_BIN/kubectl" ] && kc() { as_k3s "$USERNODE_K3S_BIN/kubectl" --kubeconfig "$kubeconfig" "$@"; }

# The pause and busybox images built here (the static pause of USERNODE_K8S_BIN when it has one).
USERNODE_K8S_BIN=${USERNODE_K8S_BIN:-}
k8s_images
k8s_user_images pause busybox

as_k3s "$USERNODE" check --engine k3s --json >"$WORK/check.json" || :
jq -e '.checks[] | select(.id == "engine.k3s") | .status == "pass" and (.detail | test("v1\\.21\\.[0-9]+\\+k3s[0-9]+; CNI plugins in .*flannel"))' \
        "$WORK/check.json" >/dev/null || fail "check's engine.k3s: $(jq -c '.checks[] | select(.id == "engine.k3s")' "$WORK/check.json")"
ign=$(jq -r '[.checks[] | select(.status == "fail") | .id] | join(",")' "$WORK/check.json")
start=$(date +%s%N)
as_k3s "$USERNODE" up --engine k3s --name "$node" ${ign:+--ignore "$ign"} --wait=300 --json >"$WORK/up.json" 2>"$WORK/up.err" ||
        fail "up: $(cat "$WORK/up.err"; tail -n 20 "$WORK/xdg/usernode/$node/node.log" "$WORK/xdg/usernode/$node/k3s.log" 2>/dev/null)"
echo "k3s: up --wait returned $(( ($(date +%s%N) - start) / 1000000 )) ms after it started"
echo "k3s: stages $(jq -r '[.stages[] | "\(.name) \(.ms)"] | join(", ")' "$WORK/up.json") (ms)"
[ "$(jq -r .state "$WORK/up.json")" = running ] || fail "not running: $(cat "$WORK/up.json")"
[ "$(jq -r .kubeconfig "$WORK/up.json")" = "$kubeconfig" ] || fail "up --json names no kubeconfig: $(cat "$WORK/up.json")"
[ "$(stat -c %a "$kubeconfig")" = 600 ] || fail "the kubeconfig is not 0600"
port=$(jq -r '.ports[] | select(.node_port == 6443) | .host_port' "$WORK/up.json")
[ "$(jq -r '[.ports[] | select(.node_port == 6443) | .host_ip] | join(",")' "$WORK/up.json")" = 127.0.0.1 ] ||
        fail "the API server is not published on 127.0.0.1 only: $(jq -c .ports "$WORK/up.json")"
grep -q "^    server: https://127.0.0.1:$port$" "$kubeconfig" || fail "the kubeconfig does not point at 127.0.0.1:$port"
for s in namespace network engine apiserver-ready node-ready pods-schedulable api-ready; do
        jq -e --arg s "$s" '[.stages[].name] | index($s) != null' "$WORK/up.json" >/dev/null ||
                fail "no stage $s: $(jq -c .stages "$WORK/up.json")"
done
# k3s would have made ~/.kube/k3s.yaml, replacing whatever was there: its home is its data's.
[ ! -e "$WORK/home/.kube/k3s.yaml" ] && [ ! -L "$WORK/home/.kube/k3s.yaml" ] || fail "k3s wrote ~/.kube/k3s.yaml"

# Every TCP port of the node's on the host is on 127.0.0.1: the API server, nothing of k3s's port controller.
uid=$(id -u "$TEST_USER")
ip netns exec "$NS" ss -Htlne >"$WORK/listen"
awk -v uid="uid:$uid" '$0 ~ uid && $4 !~ /^127\.0\.0\.1:/' "$WORK/listen" >"$WORK/open"
[ ! -s "$WORK/open" ] || fail "the node listens beyond the host's loopback: $(cat "$WORK/open")"
grep -q "127.0.0.1:$port .*$uid" "$WORK/listen" || grep -q "127.0.0.1:$port .*uid:$uid" "$WORK/listen" ||
        fail "nothing of the node's listens on 127.0.0.1:$port: $(cat "$WORK/listen")"
! grep -q "Bound parent port" "$WORK/xdg/usernode/$node/k3s.log" || fail "k3s's port controller published a port"

# The API agrees: the Node named as asked, Ready, untainted, labelled.
[ "$(kc get node "$node" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ] ||
        fail "the Node $node is not Ready: $(kc get nodes -o wide 2>&1)"
[ "$(kc get nodes -o name)" = "node/$node" ] || fail "other Nodes: $(kc get nodes -o name)"
taints=$(kc get node "$node" -o jsonpath='{.spec.taints[*].key}')
case " $taints " in *" node.kubernetes.io/not-ready "*) fail "up --wait returned with the Node tainted: $taints" ;; esac
[ -n "$(kc get node "$node" -o jsonpath='{.metadata.labels.usernode\.io/pods}')" ] ||
        fail "no usernode.io/ labels: $(kc get node "$node" -o jsonpath='{.metadata.labels}')"
as_k3s "$USERNODE" status --name "$node" >"$WORK/status" || fail "status: $(cat "$WORK/status")"
grep -q '^node: *Ready' "$WORK/status" || fail "status does not show the Node Ready: $(cat "$WORK/status")"
grep -q '^daemon: *k3s *running' "$WORK/status" || fail "status does not show k3s running: $(cat "$WORK/status")"

kc apply -f - >/dev/null <<'YAML'
apiVersion: v1
kind: Pod
metadata:
  name: hello
spec:
  containers:
  - name: hello
    image: docker.io/library/busybox:usernode
    imagePullPolicy: Never
    command: ["/bin/sh", "-c", "echo hello from k3s; exec sleep 600"]
    resources:
      limits: {memory: 64Mi, cpu: 250m}
YAML
kc wait --for=condition=Ready pod/hello --timeout=180s >/dev/null || fail "pod not Running: $(kc describe pod hello)"
echo "k3s: first pod Running $(( ($(date +%s%N) - start) / 1000000 )) ms after up started"
[ "$(kc logs hello)" = "hello from k3s" ] || fail "kubectl logs: $(kc logs hello 2>&1)"
[ "$(kc exec hello -- echo exec works)" = "exec works" ] || fail "kubectl exec"
case $(kc get pod hello -o jsonpath='{.status.podIP}') in 10.42.*) ;; *) fail "the pod's address: $(kc get pod hello -o wide)" ;; esac

# k3s dies: the init starts it again (as any daemon of a node that was ready), its kubelet posts the Node Ready
# again, status counts the restart.
kpid=$(as_k3s "$USERNODE" status --name "$node" --json | jq -r .pids.engine)
[ "$kpid" -gt 1 ] 2>/dev/null || fail "status names no k3s pid: $kpid"
killed=$(date -u +%Y-%m-%dT%H:%M:%SZ)
kill -9 "$kpid"
restarted() {
        as_k3s "$USERNODE" status --name "$node" --json >"$WORK/heal.json" || return 1
        jq -e '.daemons[] | select(.name == "k3s" and .state == "running" and .restarts >= 1)' "$WORK/heal.json" >/dev/null
}
retry 120 restarted || fail "k3s was not started again: $(cat "$WORK/heal.json"; tail -n 5 "$WORK/xdg/usernode/$node/node.log")"
# (ISO 8601 in UTC compares as text)
posted() {
        beat=$(kc get node "$node" -o jsonpath='{.status.conditions[?(@.type=="Ready")].lastHeartbeatTime}') &&
                [ "$(kc get node "$node" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ] &&
                [ "$(printf '%s\n%s\n' "$killed" "$beat" | sort | tail -n 1)" = "$beat" ] && [ "$beat" != "$killed" ]
}
retry 180 posted || fail "the restarted k3s did not post its Node Ready: $(kc get node "$node" -o wide 2>&1;
        grep -v 'level=info\|^I[0-9]' "$WORK/xdg/usernode/$node/k3s.log" | tail -n 30)"
kc wait --for=condition=Ready pod/hello --timeout=180s >/dev/null || fail "the pod is not Ready after k3s's restart"
echo "k3s: k3s killed, started again, its Node Ready again"

# down then up: the same cluster, the pod still there.
as_k3s "$USERNODE" down --name "$node" >/dev/null || fail "down"
as_k3s "$USERNODE" up --engine k3s --name "$node" ${ign:+--ignore "$ign"} --wait=300 >/dev/null 2>"$WORK/up2.err" ||
        fail "up again: $(cat "$WORK/up2.err")"
kc get pod hello >/dev/null 2>&1 || fail "the cluster lost its pod across down/up"

as_k3s "$USERNODE" down --name "$node" --purge >/dev/null || fail "down --purge"
# (zombies are no processes: reaping them is PID 1's, which here may be slow)
ps -u "$TEST_USER" -o stat=,pid=,comm= | awk '$1 !~ /^Z/' >"$WORK/ps" || :
[ ! -s "$WORK/ps" ] || fail "processes left: $(cat "$WORK/ps")"
! grep -q "$WORK" /proc/self/mountinfo || fail "mounts left: $(grep "$WORK" /proc/self/mountinfo)"
[ ! -e "$WORK/xdg/usernode/$node" ] || fail "state left"
[ ! -e "$WORK/home/.local/share/usernode/nodes/$node" ] || fail "data left"
[ ! -e "$kubeconfig" ] || fail "kubeconfig left"
ip netns exec "$NS" ss -Htln | grep -q "127.0.0.1:$port " && fail "port $port still open"
echo "k3s-real: ok"
