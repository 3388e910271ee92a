#!/bin/bash
# A joined kubelet node with real Kubernetes (USERNODE_K8S_BIN, as tests/integration/up-real.sh), medians
# of 5 on this host: `up --wait` -> Node Ready in the API, and -> first pod Running (the pod applied
# once up returns; its images imported into the node's store in a warm-up round); `down`; the
# supervisor's and the whole node's RSS. Targets (DESIGN.md): Ready <= 2 s, pod Running <= 4 s.
# Run as root (the control plane's namespace, the test user):
#   USERNODE_K8S_BIN=/path/to/bin top_srcdir=. USERNODE=./usernode bash tests/bench/join.sh
set -euo pipefail
: "${USERNODE:=./usernode}" "${top_srcdir:=.}"
USERNODE=$(readlink -f "$USERNODE")
top_srcdir=$(readlink -f "$top_srcdir")
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/k8s-lib.sh"
k8s_require
ensure_test_user
ROUNDS=${ROUNDS:-5}

k8s_user_work bench-join
cleanup() {
        as_user "$USERNODE" down --name bench --purge >/dev/null 2>&1 || :
        k8s_control_plane_stop "$WORK/cp"
        rm -rf "$WORK"
}
trap cleanup EXIT
kc() { "$USERNODE_K8S_BIN/kubectl" --kubeconfig "$K8S_ADMIN" "$@"; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

k8s_images
k8s_control_plane_start "$WORK/cp"
kc create clusterrolebinding usernode-node-proxier --clusterrole=system:node-proxier --group=system:nodes >/dev/null
server=$(printf '%s\n' "$K8S_JOIN" | cut -d' ' -f3)
token=$(printf '%s\n' "$K8S_JOIN" | sed -n 's/.* --token \([^ ]*\).*/\1/p')
hash=$(printf '%s\n' "$K8S_JOIN" | sed -n 's/.* --discovery-token-ca-cert-hash \([^ ]*\).*/\1/p')
printf '%s\n' "$token" >"$WORK/home/token"
chown "$TEST_USER:" "$WORK/home/token"
chmod 0600 "$WORK/home/token"
failing=$(as_user "$USERNODE" check --engine kubelet --json | jq -r '[.checks[] | select(.status=="fail") | .id] | join(",")' || :)
ign=${failing:+--ignore=$failing}

pod() {
        kc apply -f - >/dev/null <<'EOF'
apiVersion: v1
kind: Pod
metadata: {name: bench}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - {name: c, image: docker.io/library/busybox:usernode, imagePullPolicy: Never, command: ["sleep", "3600"]}
EOF
}

readies=() pods=()
for round in $(seq 0 "$ROUNDS"); do
        t0=$(ms)
        as_user "$USERNODE" up --engine kubelet --name bench --server "$server" \
                --token-file "$WORK/home/token" --discovery-token-ca-cert-hash "$hash" $ign --wait=120 >/dev/null
        t1=$(ms)
        if [ "$round" -eq 0 ]; then
                for i in pause busybox; do
                        as_user "$USERNODE" exec --name bench -- ctr -n k8s.io images import "$WORK/img/$i.tar" >/dev/null
                done
        fi
        pod
        kc wait --for=condition=Ready pod/bench --timeout=120s >/dev/null
        t2=$(ms)
        [ -z "${BENCH_DEBUG:-}" ] || [ $((t1 - t0)) -lt 3000 ] || grep usernode-init "$WORK/xdg/usernode/bench/node.log" | tail -n 12
        if [ "$round" -gt 0 ]; then
                readies+=($((t1 - t0)))
                pods+=($((t2 - t0)))
        fi
        if [ "$round" -eq "$ROUNDS" ]; then
                sup=$(jq -r .pids.supervisor "$WORK/xdg/usernode/bench/status.json")
                rss=$(ps -u "$TEST_USER" -o rss= | awk '{ s += $1 } END { print s }')
                echo "supervisor: $(grep VmRSS "/proc/$sup/status" | tr -s ' \t' ' '); the whole node (every process of the user): $((rss / 1024)) MiB RSS"
        fi
        kc delete pod bench --wait=true >/dev/null
        as_user "$USERNODE" down --name bench >/dev/null
done
echo "rounds: $ROUNDS (after a warm-up that imported the images)"
echo "up -> Node Ready ms:       ${readies[*]}  median $(median "${readies[@]}")  (target 2000)"
echo "up -> first pod Running ms: ${pods[*]}  median $(median "${pods[@]}")  (target 4000)"
