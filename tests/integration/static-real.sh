#!/bin/bash
# A kubelet without a cluster (USERNODE_K8S_BIN's real kubelet alone on PATH, no --server): it runs the
# static pods whose manifests the user writes into the node's manifests/ directory, the way kubeadm's
# control plane and the kubelet's own node tests run it; the pod's images come from the user's images
# directory, its log lands with the node's logs, and down --purge leaves nothing.
. "${top_srcdir:-.}/tests/integration/lib.sh"
. "${top_srcdir:-.}/tests/integration/k8s-lib.sh"
set -o pipefail

k8s_node_require kubelet

k8s_user_work static-real
cleanup() {
        as_user "$USERNODE" down --name static --purge >/dev/null 2>&1 || :
        rm -rf "$WORK"
}
trap cleanup EXIT
k8s_images
k8s_user_images pause busybox
# The kubelet alone: with the control plane's binaries on PATH the node would bring a cluster.
mkdir -p "$WORK/bin"
ln -s "$USERNODE_K8S_BIN/kubelet" "$WORK/bin/kubelet"
USERNODE_K8S_BIN=$WORK/bin

ign=$(as_user "$USERNODE" check --engine kubelet --json 2>/dev/null | jq -r '[.checks[] | select(.status == "fail") | .id] | join(",")' || :)
as_user "$USERNODE" up --engine kubelet --name static ${ign:+--ignore "$ign"} --wait=120 --json >"$WORK/up.json" 2>"$WORK/up.err" ||
        fail "up: $(cat "$WORK/up.err"; tail -n 20 "$WORK"/xdg/usernode/static/node.log 2>/dev/null)"
[ "$(jq -r .kubeconfig "$WORK/up.json")" = null ] || fail "a node without a cluster names a kubeconfig: $(cat "$WORK/up.json")"
[ "$(jq -r .apiserver "$WORK/up.json")" = null ] || fail "a node without a cluster names an API server"

data=$WORK/home/.local/share/usernode/nodes/static
[ -d "$data/manifests" ] || fail "no manifests directory in $data"
as_user sh -c "cat >'$data/manifests/hello.yaml'" <<'YAML'
apiVersion: v1
kind: Pod
metadata:
  name: hello
  namespace: default
spec:
  containers:
  - name: hello
    image: docker.io/library/busybox:usernode
    imagePullPolicy: Never
    command: ["/bin/sh", "-c", "echo hello from a static pod; exec sleep 600"]
YAML
# The kubelet runs it and its output lands in the node's pod logs (/var/log/pods in the node).
said() { grep -qs "hello from a static pod" "$data"/log/pods/default_hello-static_*/hello/0.log; }
retry 120 said || fail "the static pod did not run: $(tail -n 20 "$WORK/xdg/usernode/static/kubelet.log")"
as_user "$USERNODE" exec --name static -- ctr -n k8s.io tasks ls >"$WORK/tasks" || fail "ctr tasks ls"
[ "$(grep -c RUNNING "$WORK/tasks")" -ge 2 ] || fail "the pod's sandbox and container are not running: $(cat "$WORK/tasks")"

# Its API answers nobody: there is no cluster to authenticate a caller.
code=$(as_user "$USERNODE" exec --name static -- curl -sk -o /dev/null -w '%{http_code}' https://127.0.0.1:10250/pods || :)
[ "$code" = 401 ] || fail "the kubelet's API answered an anonymous caller with $code"
as_user "$USERNODE" down --name static --purge >/dev/null 2>&1 || fail "down --purge"
[ ! -e "$data" ] || fail "down --purge left $data"
! pgrep -u "$TEST_USER" -f '^(kubelet|containerd|sleep) ' >/dev/null || fail "processes left: $(pgrep -a -u "$TEST_USER")"
echo "static-real: ok"
