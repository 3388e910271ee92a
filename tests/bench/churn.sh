#!/bin/bash
# Pod churn on a usernode cluster (real Kubernetes in USERNODE_K8S_BIN, Debian's etcd and containerd):
# PODS (300) pods created and deleted in batches of BATCH (50; at most the node's max-pods of 110 at once),
# each batch Running before it is deleted. Before and after (once the kubelet has had GRACE seconds to clean
# up, 75 s by default): what a pod leaves on the node if anything leaks — network namespaces under containerd's state,
# mounts in the node, veths, host-local IP allocations, pod directories of the kubelet, pod log directories,
# sandbox and container records of containerd, processes — and the init's and the supervisor's RSS. Prints
# pods per second and each count; exits 1 when a count grew.
#   USERNODE_K8S_BIN=/path/to/bin top_srcdir=. USERNODE=./usernode bash tests/bench/churn.sh
set -euo pipefail
: "${USERNODE:=./usernode}" "${top_srcdir:=.}" "${PODS:=300}" "${BATCH:=50}" "${GRACE:=75}"
USERNODE=$(readlink -f "$USERNODE")
top_srcdir=$(readlink -f "$top_srcdir")
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/k8s-lib.sh"
k8s_node_require kube-apiserver

k8s_user_work bench-churn
cleanup() {
        as_user "$USERNODE" down --name churn --purge >/dev/null 2>&1 || :
        rm -rf "$WORK"
}
trap cleanup EXIT
kubeconfig=$WORK/home/.kube/usernode-churn.yaml
kc() { "$USERNODE_K8S_BIN/kubectl" --kubeconfig "$kubeconfig" "$@"; }
in_node() { as_user "$USERNODE" exec --name churn -- "$@"; }
st() { as_user "$USERNODE" status --name churn --json; }
uid=$(id -u "$TEST_USER")

k8s_images
k8s_user_images pause busybox
failing=$(as_user "$USERNODE" check --engine kubelet --json | jq -r '[.checks[] | select(.status=="fail") | .id] | join(",")' || :)
as_user "$USERNODE" up --engine kubelet --name churn ${failing:+--ignore=$failing} --wait=180 >/dev/null
data=$WORK/home/.local/share/usernode/nodes/churn
runtime=$WORK/xdg/usernode/churn

rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
# counts: one "NAME N" line per thing a pod can leave behind.
counts() {
        local init sup
        init=$(st | jq -r .pids.init) sup=$(st | jq -r .pids.supervisor)
        echo "netns $(find "$runtime/containerd" -path '*netns*' -type f 2>/dev/null | wc -l)"
        echo "mounts $(wc -l <"/proc/$init/mountinfo")"
        echo "veths $(in_node ip -o link show type veth | wc -l)"
        echo "ip-allocations $(in_node sh -c 'ls /var/lib/cni/networks/*/ 2>/dev/null' | grep -cE '^[0-9]+\.' || :)"
        echo "kubelet-pod-dirs $(find "$data/kubelet/pods" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)"
        echo "pod-log-dirs $(find "$data/log/pods" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)"
        echo "sandboxes $(in_node ctr -n k8s.io containers ls -q | wc -l)"
        echo "processes $(ps -u "$uid" -o stat= | grep -vc '^Z')"
        echo "init-rss-kib $(rss "$init")"
        echo "supervisor-rss-kib $(rss "$sup")"
}
# A settled node: no pod of ours in the API, and the kubelet's garbage collection has had its time (it
# removes dead sandboxes and their log directories once a minute; 20 s after the last pod half were there).
settle() {
        kc wait --for=delete pod -l app=churn --timeout=300s >/dev/null 2>&1 || :
        sleep "$GRACE"
}

pod_yaml() {
        for i in $(seq "$1" "$2"); do
                printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: churn-%d, labels: {app: churn}}\nspec:\n' "$i"
                printf '  terminationGracePeriodSeconds: 0\n  containers:\n'
                printf '  - {name: c, image: docker.io/library/busybox:usernode, imagePullPolicy: Never, command: ["sleep", "3600"]}\n---\n'
        done
}

# A first pod and its deletion before the baseline: what the first pod ever sets up once is no leak.
pod_yaml 0 0 | kc apply -f - >/dev/null
kc wait --for=condition=Ready pod -l app=churn --timeout=120s >/dev/null
kc delete pod -l app=churn --wait=false >/dev/null
settle
counts >"$WORK/before"

t0=$(date +%s%N)
for ((first = 1; first <= PODS; first += BATCH)); do
        last=$((first + BATCH - 1 > PODS ? PODS : first + BATCH - 1))
        pod_yaml "$first" "$last" | kc apply -f - >/dev/null
        kc wait --for=condition=Ready pod -l app=churn --timeout=600s >/dev/null
        kc delete pod -l app=churn --wait=false >/dev/null
        kc wait --for=delete pod -l app=churn --timeout=600s >/dev/null
done
t1=$(date +%s%N)
echo "churn: $PODS pods in batches of $BATCH created, Running, deleted in $(( (t1 - t0) / 1000000 )) ms:" \
        "$(awk -v n="$PODS" -v ns=$((t1 - t0)) 'BEGIN { printf "%.2f", n / (ns / 1e9) }') pods/s"
settle
counts >"$WORK/after"
leaked=0
while read -r what before; do
        after=$(awk -v w="$what" '$1 == w { print $2 }' "$WORK/after")
        printf '%-20s before %8s  after %8s\n' "$what" "$before" "$after"
        case $what in
        *-rss-kib) ;;   # memory is reported, not judged: a heap settles in its own time
        *) [ "$after" -le "$before" ] || leaked=1 ;;
        esac
done <"$WORK/before"
[ "$leaked" = 0 ] || fail "something a pod made is left after $PODS pods"
echo "churn: nothing left"
