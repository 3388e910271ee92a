#!/bin/bash
# A vanilla single-node cluster from `up --engine kubelet` without --server (real Kubernetes in
# USERNODE_K8S_BIN and Debian's etcd, as tests/integration/cluster-real.sh), medians of 5 fresh clusters
# on this host: up -> the API server's /readyz answers ok (kubectl through the admin's kubeconfig, polled
# every 50 ms), -> the Node Ready (`up --wait` returns), -> the first pod Running (applied when up returns;
# its images, the sandbox's and CoreDNS's when USERNODE_K8S_BIN has a coredns, wait in the user's images
# directory, which every node imports as it starts: that time is counted), and the peak RSS of every
# process of the cluster, CoreDNS included (the user's processes, sampled every 100 ms). Targets (issue "A whole vanilla cluster"):
# Node Ready <= 8 s, pod Running <= 10 s, the whole cluster <= 700 MiB.
#   USERNODE_K8S_BIN=/path/to/bin top_srcdir=. USERNODE=./usernode bash tests/bench/cluster.sh
set -euo pipefail
: "${USERNODE:=./usernode}" "${top_srcdir:=.}"
USERNODE=$(readlink -f "$USERNODE")
top_srcdir=$(readlink -f "$top_srcdir")
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/k8s-lib.sh"
k8s_require
ensure_test_user
ROUNDS=${ROUNDS:-5}

k8s_user_work bench-cluster
sampler=
cleanup() {
        [ -z "$sampler" ] || kill "$sampler" 2>/dev/null || :
        as_user "$USERNODE" down --name bench --purge >/dev/null 2>&1 || :
        rm -rf "$WORK"
}
trap cleanup EXIT
kubeconfig=$WORK/home/.kube/usernode-bench.yaml
# kubectl as root (it reads the user's kubeconfig): its own memory is not the cluster's.
kc() { "$USERNODE_K8S_BIN/kubectl" --kubeconfig "$kubeconfig" "$@"; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

k8s_images
k8s_user_images pause busybox $([ ! -f "$WORK/img/coredns.tar" ] || echo coredns)
images=$K8S_IMAGES
failing=$(as_user "$USERNODE" check --engine kubelet --json | jq -r '[.checks[] | select(.status=="fail") | .id] | join(",")' || :)
ign=${failing:+--ignore=$failing}

# readyz OK: the ms since $1 when it first answered, in $WORK/readyz.
poll_readyz() {
        local t0=$1
        until [ -f "$kubeconfig" ] && out=$(kc get --raw /readyz --request-timeout=1s 2>/dev/null) && [ "$out" = ok ]; do
                sleep 0.05
        done
        echo $(( $(ms) - t0 )) >"$WORK/readyz"
}
# The peak RSS (KiB) of the user's processes, in $WORK/peak, until killed.
sample_rss() {
        local peak=0 now
        while :; do
                # ps exits 1 while the user has no process yet.
                now=$({ ps -u "$TEST_USER" -o rss= || :; } | awk '{ s += $1 } END { print s + 0 }')
                [ "$now" -le "$peak" ] || { peak=$now; echo "$peak" >"$WORK/peak"; }
                sleep 0.1
        done
}

healthz=() readies=() pods=() peaks=()
for round in $(seq 1 "$ROUNDS"); do
        rm -f "$WORK/readyz" "$WORK/peak"
        sample_rss &
        sampler=$!
        t0=$(ms)
        poll_readyz "$t0" &
        poller=$!
        as_user "$USERNODE" up --engine kubelet --name bench $ign --wait=120 >/dev/null
        t1=$(ms)
        kc apply -f - >/dev/null <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: bench}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - {name: c, image: docker.io/library/busybox:usernode, imagePullPolicy: Never, command: ["sleep", "3600"]}
YAML
        kc wait --for=condition=Ready pod/bench --timeout=120s >/dev/null
        t2=$(ms)
        wait "$poller"
        if [ -f "$images/coredns.tar" ]; then
                kc -n kube-system wait --for=condition=Available deployment/coredns --timeout=120s >/dev/null
        fi
        kill "$sampler" 2>/dev/null || :
        wait "$sampler" 2>/dev/null || :
        sampler=
        healthz+=($(cat "$WORK/readyz"))
        readies+=($((t1 - t0)))
        pods+=($((t2 - t0)))
        peaks+=($(( $(cat "$WORK/peak") / 1024 )))
        as_user "$USERNODE" down --name bench --purge >/dev/null
done
echo "rounds: $ROUNDS fresh clusters, images imported at each start$([ -f "$images/coredns.tar" ] && echo ", CoreDNS running")"
echo "up -> API readyz ok ms:     ${healthz[*]}  median $(median "${healthz[@]}")"
echo "up -> Node Ready ms:        ${readies[*]}  median $(median "${readies[@]}")  (target 8000)"
echo "up -> first pod Running ms: ${pods[*]}  median $(median "${pods[@]}")  (target 10000)"
echo "peak RSS of the cluster MiB: ${peaks[*]}  median $(median "${peaks[@]}")  (target 700)"
