#!/bin/bash
# One host, many nodes (issue "Many nodes, one cluster"), with real Kubernetes (USERNODE_K8S_BIN): medians of ROUNDS
# (5) fresh clusters of the test user, alternating a 1-node cluster (`up`) and a 3-node one (`up --workers 2`), each
# `up --wait` until every Node is Ready: the time, and what the user's processes hold once it returned (the sum of
# their RSS, and of their PSS, which counts the pages the nodes share — the same binaries — once): what each extra
# node adds is half the difference. Then, in one 3-node cluster, TCP throughput (iperf3, SECS seconds) and ping's
# round trip from a pod on the node to a pod on a worker (two nodes of one host, over the workers' bridge), to a pod
# on the same node, and between two network namespaces of this script's own joined by a veth pair (the host's own
# veth path).
#   USERNODE_K8S_BIN=/path/to/bin top_srcdir=. USERNODE=./usernode bash tests/bench/workers.sh
set -euo pipefail
: "${USERNODE:=./usernode}" "${top_srcdir:=.}" "${ROUNDS:=5}" "${SECS:=4}"
USERNODE=$(readlink -f "$USERNODE")
top_srcdir=$(readlink -f "$top_srcdir")
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/k8s-lib.sh"
. "$top_srcdir/tests/bench/pod-net-lib.sh"
k8s_node_require kube-apiserver
for b in iperf3 ldd iptables; do command -v "$b" >/dev/null || skip "$b is not installed"; done

k8s_user_work workers-bench
N=$(( $$ % 250 + 2 ))
A=usernode-wa-$$ B=usernode-wb-$$ IP_A=10.253.$N.1 IP_B=10.253.$N.2
srv=""
cleanup() {
        [ -z "$srv" ] || kill "$srv" 2>/dev/null || :
        as_user "$USERNODE" down --name bench --purge >/dev/null 2>&1 || :
        ip netns del "$A" 2>/dev/null || :
        ip netns del "$B" 2>/dev/null || :
        rm -rf "$WORK"
}
trap cleanup EXIT
ms() { echo $(( $(date +%s%N) / 1000000 )); }
kc() { as_user "$USERNODE_K8S_BIN/kubectl" --kubeconfig "$WORK/home/.kube/usernode-bench.yaml" --request-timeout=20s "$@"; }

bench_iperf3_image
k8s_user_images pause iperf3
[ ! -e "$WORK/img/coredns.tar" ] || k8s_user_images pause iperf3 coredns
ign=$(as_user "$USERNODE" check --engine kubelet --json 2>/dev/null | jq -r '[.checks[] | select(.status == "fail") | .id] | join(",")' || :)

# memory: "RSS PSS" (MiB) of the test user's processes now.
memory() {
        local rss=0 pss=0 pid v
        for pid in $(pgrep -u "$TEST_USER"); do
                v=$(awk '/^Rss:/ { r = $2 } /^Pss:/ { p = $2 } END { print r + 0, p + 0 }' "/proc/$pid/smaps_rollup" 2>/dev/null) || continue
                rss=$((rss + ${v% *})) pss=$((pss + ${v#* }))
        done
        echo "$((rss / 1024)) $((pss / 1024))"
}

declare -A ready rss pss
for round in $(seq 1 "$ROUNDS"); do
        for w in 0 2; do
                t0=$(ms)
                as_user "$USERNODE" up --engine kubelet --name bench --workers "$w" ${ign:+--ignore "$ign"} --wait=300 >/dev/null
                ready[$w]+="$(( $(ms) - t0 )) "
                read -r r p < <(memory)
                rss[$w]+="$r " pss[$w]+="$p "
                as_user "$USERNODE" down --name bench --purge >/dev/null
        done
done
echo "workers bench: $ROUNDS rounds, fresh clusters, images imported at each start; medians"
for w in 0 2; do
        # shellcheck disable=SC2086 # the lists
        printf '%d node(s): up -> all Ready %6s ms, RSS %5s MiB, PSS %5s MiB   (runs: %s)\n' $((w + 1)) \
                "$(median ${ready[$w]})" "$(median ${rss[$w]})" "$(median ${pss[$w]})" "${ready[$w]% }"
done
# shellcheck disable=SC2086
echo "each extra node: RSS +$(( ($(median ${rss[2]} | cut -d. -f1) - $(median ${rss[0]} | cut -d. -f1)) / 2 )) MiB, PSS +$(( ($(median ${pss[2]} | cut -d. -f1) - $(median ${pss[0]} | cut -d. -f1)) / 2 )) MiB"

# Pod to pod: a 3-node cluster, an iperf3 server on a worker and on the node, a client on the node.
as_user "$USERNODE" up --engine kubelet --name bench --workers 2 ${ign:+--ignore "$ign"} --wait=300 >/dev/null
bench_iperf3_pods bench bench-worker1
veth_hosts "$A" "$B" "$IP_A/24" "$IP_B/24"
ip netns exec "$B" iperf3 -s >/dev/null 2>&1 &
srv=$!

bench_paths "cli $far pod-to-pod-two-nodes-one-host" "cli $near pod-to-pod-same-node" "host $IP_B host-veth"
