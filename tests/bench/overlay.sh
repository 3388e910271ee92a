#!/bin/bash
# The pod network between hosts (issue "Many nodes, one cluster"), with real Kubernetes and flanneld
# (USERNODE_K8S_BIN): two "hosts", network namespaces of this script's own joined by a veth pair (MTU 1500, as a
# host's Ethernet; no traffic leaves them); a usernode cluster on A (--apiserver-address), a node on B joined
# with join-command's line, as tests/integration/cluster-join-real.sh does. Medians of ROUNDS (5) runs of SECS
# (4) seconds each: TCP throughput (iperf3) and round-trip time (ping) from a pod on A to a pod on B (across the
# overlay), to a pod on A (the same node), and from host A to host B (their own veth path).
#   USERNODE_K8S_BIN=/path/to/bin top_srcdir=. USERNODE=./usernode bash tests/bench/overlay.sh
set -euo pipefail
: "${USERNODE:=./usernode}" "${top_srcdir:=.}" "${ROUNDS:=5}" "${SECS:=4}"
USERNODE=$(readlink -f "$USERNODE")
top_srcdir=$(readlink -f "$top_srcdir")
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/k8s-lib.sh"
. "$top_srcdir/tests/bench/pod-net-lib.sh"
k8s_node_require kube-apiserver
k8s_node_require flanneld "to run the pod network between hosts"
for b in iperf3 ldd; do command -v "$b" >/dev/null || skip "$b is not installed"; done

k8s_user_work overlay
srv=""
cleanup() {
        [ -z "$srv" ] || kill "$srv" 2>/dev/null || :
        two_hosts_down bench
        rm -rf "$WORK"
}
trap cleanup EXIT
two_hosts o 252

bench_iperf3_image
two_hosts_images pause iperf3 coredns

ign=$(on a "$USERNODE" check --engine kubelet --json 2>/dev/null | jq -r '[.checks[] | select(.status == "fail") | .id] | join(",")' || :)
on a "$USERNODE" up --engine kubelet --name bencha --apiserver-address "$IP_A" ${ign:+--ignore "$ign"} --wait=180 >/dev/null
on a "$USERNODE" join-command --name bencha --token-file "$WORK/b/home/token" >"$WORK/line"
read -r -a line <"$WORK/line"
on b "$USERNODE" "${line[@]:1}" --name benchb ${ign:+--ignore "$ign"} --wait=180 >/dev/null
kc() { ip netns exec "$A" "$USERNODE_K8S_BIN/kubectl" --kubeconfig "$WORK/a/home/.kube/usernode-bencha.yaml" "$@"; }

bench_iperf3_pods bencha benchb
ip netns exec "$B" iperf3 -s >/dev/null 2>&1 &
srv=$!

echo "overlay bench: $ROUNDS rounds of $SECS s; medians"
bench_paths "cli $far pod-to-pod-across-hosts(overlay)" "cli $near pod-to-pod-same-node" "host $IP_B host-to-host-veth"
