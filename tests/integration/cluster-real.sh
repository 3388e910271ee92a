#!/bin/bash
# A whole vanilla cluster from `usernode up --engine kubelet` without --server, with real Kubernetes
# (USERNODE_K8S_BIN: kubelet, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl) and Debian's
# etcd: the node brings its own control plane, its kubelet joins it through a bootstrap token and an
# approved CSR, the user's kubectl reaches the API server on 127.0.0.1 with ~/.kube/usernode-NAME.yaml,
# a pod runs; down then up keeps the cluster; down --purge leaves no process, file or kubeconfig.
. "${top_srcdir:-.}/tests/integration/lib.sh"
. "${top_srcdir:-.}/tests/integration/k8s-lib.sh"
set -o pipefail

[ "$(id -u)" -eq 0 ] || skip "needs root to create the test user"
k8s_require
for b in rootlesskit slirp4netns containerd ctr crun newuidmap jq; do
        command -v "$b" >/dev/null 2>&1 || skip "$b is not installed"
done
[ -x /usr/lib/cni/bridge ] || skip "containernetworking-plugins is not installed"
ensure_test_user
runuser -u "$TEST_USER" -- test -x "$USERNODE_K8S_BIN/kube-apiserver" ||
        skip "$TEST_USER cannot run $USERNODE_K8S_BIN/kube-apiserver"

k8s_user_work cluster-real
cleanup() {
        for d in "$WORK"/xdg/usernode/*; do
                [ -d "$d" ] || continue
                as_user "$USERNODE" down --name "${d##*/}" --purge >/dev/null 2>&1 || :
        done
        rm -rf "$WORK"
}
trap cleanup EXIT

kubeconfig=$WORK/home/.kube/usernode-vanilla.yaml
kc() { as_user "$USERNODE_K8S_BIN/kubectl" --kubeconfig "$kubeconfig" "$@"; }

k8s_images

# cgroup v1 here: the limits checks fail, the node runs without limits (its labels say so).
ign=$(as_user "$USERNODE" check --engine kubelet --json 2>/dev/null | jq -r '[.checks[] | select(.status == "fail") | .id] | join(",")' || :)
start=$(date +%s%N)
as_user "$USERNODE" up --engine kubelet --name vanilla ${ign:+--ignore "$ign"} --wait=180 --json \
        >"$WORK/up.json" 2>"$WORK/up.err" ||
        fail "up: $(cat "$WORK/up.err"; tail -n 20 "$WORK"/xdg/usernode/vanilla/node.log 2>/dev/null)"
echo "cluster: Node Ready $(( ($(date +%s%N) - start) / 1000000 )) ms after up started"
[ "$(jq -r .kubeconfig "$WORK/up.json")" = "$kubeconfig" ] || fail "up --json names no kubeconfig: $(cat "$WORK/up.json")"
[ "$(stat -c %a "$kubeconfig")" = 600 ] || fail "the kubeconfig is not 0600"
port=$(jq -r '.ports[] | select(.node_port == 6443) | .host_port' "$WORK/up.json")
[ "$(jq -r '.ports[] | select(.node_port == 6443) | .host_ip' "$WORK/up.json")" = 127.0.0.1 ] ||
        fail "the API server is not published on 127.0.0.1 only: $(jq -c .ports "$WORK/up.json")"
grep -q "server: https://127.0.0.1:$port\|\"server\": *\"https://127.0.0.1:$port\"" "$kubeconfig" ||
        fail "the kubeconfig does not point at 127.0.0.1:$port"

# The API agrees: the node Ready.
[ "$(kc get node vanilla -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ] ||
        fail "the Node is not Ready: $(kc get nodes -o wide 2>&1)"
# Other nodes can join with kubeadm's line: a bootstrap token, and cluster-info signed for it.
signed() { out=$(kc -n kube-public get configmap cluster-info -o jsonpath='{.data}') && grep -q jws-kubeconfig- <<<"$out"; }
retry 30 signed || fail "cluster-info is not signed for a bootstrap token: $(kc -n kube-public get configmap cluster-info -o yaml 2>&1)"
kc -n kube-system get secrets -o name | grep -q '^secret/bootstrap-token-' || fail "no bootstrap token"
[ "$(kc get --raw /readyz)" = ok ] || fail "readyz"
as_user "$USERNODE" status --name vanilla >"$WORK/status" || fail "status: $(cat "$WORK/status")"
grep -q '^node: *Ready' "$WORK/status" || fail "status does not show the Node Ready: $(cat "$WORK/status")"
# The token is gone from the node's disk once the kubelet has its certificate.
! compgen -G "$WORK/home/.local/share/usernode/nodes/vanilla/kubelet/bootstrap-kubeconfig.json" >/dev/null ||
        fail "the bootstrap kubeconfig (the token) is still on disk"

for i in pause busybox; do
        as_user "$USERNODE" exec --name vanilla -- ctr -n k8s.io images import "$WORK/img/$i.tar" >/dev/null ||
                fail "import of $i"
done
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
    command: ["/bin/sh", "-c", "echo hello from a vanilla cluster; exec sleep 600"]
YAML
kc wait --for=condition=Ready pod/hello --timeout=120s >/dev/null || fail "pod not Running: $(kc describe pod hello)"
echo "cluster: first pod Running $(( ($(date +%s%N) - start) / 1000000 )) ms after up started"
case $(kc get pod hello -o jsonpath='{.status.podIP}') in 10.42.*) ;; *) fail "the pod's address is not in the cluster network: $(kc get pod hello -o wide)" ;; esac
[ "$(kc logs hello)" = "hello from a vanilla cluster" ] || fail "kubectl logs: $(kc logs hello 2>&1)"
[ "$(kc exec hello -- echo exec works)" = "exec works" ] || fail "kubectl exec"

# down then up: the same cluster (its etcd, its CA), the pod still there.
as_user "$USERNODE" down --name vanilla >/dev/null || fail "down"
as_user "$USERNODE" up --engine kubelet --name vanilla ${ign:+--ignore "$ign"} --wait=180 >/dev/null 2>"$WORK/up2.err" ||
        fail "up again: $(cat "$WORK/up2.err")"
kc get pod hello >/dev/null 2>&1 || fail "the cluster lost its pod across down/up"

as_user "$USERNODE" down --name vanilla --purge >"$WORK/down.out" 2>&1 || fail "down --purge: $(cat "$WORK/down.out")"
! grep -q "could not remove itself" "$WORK/down.out" || fail "down --purge tried to leave the cluster it took along: $(cat "$WORK/down.out")"
[ ! -e "$kubeconfig" ] || fail "down --purge left the kubeconfig"
! compgen -G "$WORK/home/.local/share/usernode/nodes/vanilla" >/dev/null || fail "down --purge left the node's data"
! pgrep -u "$TEST_USER" -f '^(etcd|kube-apiserver|kube-controller-manager|kube-scheduler|kubelet) ' >/dev/null ||
        fail "processes left: $(pgrep -a -u "$TEST_USER")"
echo "cluster-real: ok"
