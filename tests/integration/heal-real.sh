#!/bin/bash
# A node that heals, with real Kubernetes (USERNODE_K8S_BIN) and Debian's etcd and containerd: a usernode
# cluster with a ConfigMap and a 2-replica Deployment; each daemon in turn (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kubelet, kube-proxy when present, containerd) killed with
# SIGKILL: within 30 s it runs again (status: one restart), the API answers, the ConfigMap is there and both
# replicas are Ready. Then the API server stopped (SIGSTOP) for 20 s and continued: within 30 s all is well
# again. Then every process of the node killed at once and `up` again:
# the objects and both replicas are back. down --purge leaves nothing. HEAL_TIMINGS=FILE appends
# "DAEMON SECONDS" (death -> healthy) lines for tests/bench/heal.sh.
. "${top_srcdir:-.}/tests/integration/lib.sh"
. "${top_srcdir:-.}/tests/integration/k8s-lib.sh"
set -o pipefail

k8s_node_require kube-apiserver

k8s_user_work heal-real
cleanup() {
        as_user "$USERNODE" down --name heal --purge >/dev/null 2>&1 || :
        rm -rf "$WORK"
}
trap cleanup EXIT
kubeconfig=$WORK/home/.kube/usernode-heal.yaml
kc() { as_user "$USERNODE_K8S_BIN/kubectl" --kubeconfig "$kubeconfig" --request-timeout=5s "$@"; }
st() { as_user "$USERNODE" status --name heal --json 2>/dev/null; }
uid=$(id -u "$TEST_USER")

k8s_images
k8s_user_images pause busybox
ign=$(as_user "$USERNODE" check --engine kubelet --json 2>/dev/null | jq -r '[.checks[] | select(.status == "fail") | .id] | join(",")' || :)
up() {
        as_user "$USERNODE" up --engine kubelet --name heal ${ign:+--ignore "$ign"} --wait=180 >"$WORK/up.out" 2>&1 ||
                fail "up: $(cat "$WORK/up.out"; tail -n 20 "$WORK"/xdg/usernode/heal/node.log 2>/dev/null)"
}
up

kc create configmap survivor --from-literal=word=kept >/dev/null
kc apply -f - >/dev/null <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: pair
spec:
  replicas: 2
  selector:
    matchLabels: {app: pair}
  template:
    metadata:
      labels: {app: pair}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: sleeper
        image: docker.io/library/busybox:usernode
        imagePullPolicy: Never
        command: ["/bin/sh", "-c", "exec sleep 3600"]
YAML

# healthy: the API answers, the ConfigMap is there, both replicas Ready.
healthy() {
        [ "$(kc get --raw /readyz 2>/dev/null)" = ok ] &&
                [ "$(kc get configmap survivor -o jsonpath='{.data.word}' 2>/dev/null)" = kept ] &&
                [ "$(kc get deployment pair -o jsonpath='{.status.readyReplicas}' 2>/dev/null)" = 2 ]
}
retry 120 healthy || fail "the cluster is not healthy to begin with: $(kc get pods -o wide 2>&1)"

# node_pid COMM: the one process of this node with that name (comm, 15 characters at most).
node_pid() {
        for p in $(pgrep -u "$uid" -x "$1"); do
                grep -qzF "$WORK/" "/proc/$p/cmdline" "/proc/$p/environ" 2>/dev/null && echo "$p"
        done | head -n 1
}
restarts() { st | jq -r --arg d "$1" '.daemons[] | select(.name == $d) | .restarts'; }
runs_again() { [ "$(st | jq -r --arg d "$1" '.daemons[] | select(.name == $d) | .state')" = running ] &&
               [ "$(restarts "$1")" -ge "$2" ]; }

for daemon in etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy containerd; do
        comm=${daemon:0:15}
        before=$(restarts "$daemon")
        if [ -z "$before" ]; then
                [ "$daemon" = kube-proxy ] && { echo "heal: no kube-proxy in USERNODE_K8S_BIN: not killed"; continue; }
                fail "status does not watch $daemon: $(st | jq -c .daemons)"
        fi
        pid=$(node_pid "$comm")
        [ -n "$pid" ] || fail "no $daemon process of the node"
        t0=$(date +%s%N)
        kill -9 "$pid"
        retry 30 runs_again "$daemon" $((before + 1)) || fail "$daemon was not started again within 30 s: $(st | jq -c .daemons)"
        retry 30 healthy || fail "after $daemon's death the cluster is not healthy within 30 s: $(kc get pods -o wide 2>&1)"
        ms=$(( ($(date +%s%N) - t0) / 1000000 ))
        echo "heal: $daemon killed: healthy again after $ms ms, restarts $(restarts "$daemon")"
        [ -z "${HEAL_TIMINGS:-}" ] || echo "$daemon $ms" >>"$HEAL_TIMINGS"
done
[ "$(st | jq -r .state)" = running ] || fail "the node is not running: $(st)"

# The API server stalled for 20 s, past the 10 s in which a leader-electing controller-manager or scheduler
# renews its lease (in a kubeadm cluster they exit then, and would be started again): usernode's one-node
# cluster runs them without leader election, so they ride it out; the cluster is healthy again within 30 s.
pid=$(node_pid kube-apiserver)
cm=$(restarts kube-controller-manager) sched=$(restarts kube-scheduler)
kill -STOP "$pid"
# The stall itself is the fault injected (20 s, past the renew deadline), not a wait for something.
sleep 20
kill -CONT "$pid"
retry 30 healthy || fail "after the API server's stall the cluster is not healthy within 30 s"
echo "heal: after the API server's 20 s stall: healthy; controller-manager restarts $cm -> $(restarts kube-controller-manager), scheduler $sched -> $(restarts kube-scheduler)"

# Every process of the node at once, then up: nothing lost.
kill -9 $(ps -u "$uid" -o pid= | while read -r p; do grep -qzF "XDG_RUNTIME_DIR=$WORK/xdg" "/proc/$p/environ" 2>/dev/null && echo "$p"; done) 2>/dev/null || :
t0=$(date +%s%N)
up
retry 120 healthy || fail "after a kill of the whole node and up, the cluster is not healthy: $(kc get pods -o wide 2>&1)"
echo "heal: the whole node killed, up again: ConfigMap and both replicas back after $(( ($(date +%s%N) - t0) / 1000000 )) ms"

as_user "$USERNODE" down --name heal --purge >/dev/null || fail "down --purge"
[ ! -e "$WORK/xdg/usernode/heal" ] || fail "down --purge left the node's runtime directory"
echo "heal-real: ok"
