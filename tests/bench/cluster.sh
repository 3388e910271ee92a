#!/bin/bash
# A vanilla single-node cluster from `up --engine kubelet` without --server (real Kubernetes in USERNODE_K8S_BIN and
# Debian's etcd, as tests/integration/cluster-real.sh), medians of ROUNDS (5) fresh clusters on this host:
#   - up -> the API server's /readyz answers ok (curl with the admin's credentials, polled every 50 ms),
#   - up -> the Node Ready (its Ready condition True, watched with curl from when the API server answers),
#   - up -> `up --wait` returns (pods can be scheduled: the Node Ready, its not-ready taint lifted, the default
#     ServiceAccount there),
#   - up -> the first pod Running (applied when up returns; its images, the sandbox's and CoreDNS's when
#     USERNODE_K8S_BIN has a coredns, wait in the user's images directory, which every node imports as it starts:
#     that time is counted),
#   - the peak RSS of every process of the cluster, CoreDNS and the pod included (the user's processes, sampled
#     every 100 ms, until the pod and CoreDNS run),
#   - when `up --wait` returns, each component's CPU-seconds (its own, and what the children it has reaped used: the init's
#     are the tools it ran) and RSS, with the part of it that is pages of files mapped (binaries, libraries).
# With USERNODE_BASE naming another build's usernode (today's, to compare with), the rounds alternate the two
# builds, each a fresh cluster, and each line has both.
# Targets (issue "Faster and leaner"): Node Ready <= 5 s, pod Running <= 6.5 s, the whole cluster <= 560 MiB.
#   USERNODE_K8S_BIN=/path/to/bin [USERNODE_BASE=/old/usernode] top_srcdir=. USERNODE=./usernode bash tests/bench/cluster.sh
set -euo pipefail
: "${USERNODE:=./usernode}" "${top_srcdir:=.}" "${ROUNDS:=5}"
USERNODE=$(readlink -f "$USERNODE")
top_srcdir=$(readlink -f "$top_srcdir")
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/k8s-lib.sh"
k8s_require
ensure_test_user
builds=(new)
declare -A binary=([new]=$USERNODE)
if [ -n "${USERNODE_BASE:-}" ]; then
        builds=(base new)
        binary[base]=$(readlink -f "$USERNODE_BASE")
fi

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

# The admin's credentials from the kubeconfig (JSON), as files for curl in $WORK/creds: the pollers below ask with
# curl, not kubectl, whose start every 50 ms would take a core of the two from the cluster they time.
creds() {
        local d=$WORK/creds
        until [ -s "$kubeconfig" ]; do sleep 0.02; done
        # The admin's key: readable by root only (WORK is reachable by the test user).
        mkdir -m 0700 "$d"
        jq -r '.clusters[0].cluster."certificate-authority-data"' "$kubeconfig" | base64 -d >"$d/ca.crt"
        jq -r '.users[0].user."client-certificate-data"' "$kubeconfig" | base64 -d >"$d/admin.crt"
        jq -r '.users[0].user."client-key-data"' "$kubeconfig" | base64 -d >"$d/admin.key"
        jq -r '.clusters[0].cluster.server' "$kubeconfig" >"$d/server"
}
api() { curl -s --cacert "$WORK/creds/ca.crt" --cert "$WORK/creds/admin.crt" --key "$WORK/creds/admin.key" "$@"; }
# The ms since $1 when /readyz first answered ok, in $WORK/readyz (polled every 50 ms).
poll_readyz() {
        local t0=$1 server
        server=$(cat "$WORK/creds/server")
        until [ "$(api --max-time 1 "$server/readyz" 2>/dev/null)" = ok ]; do sleep 0.05; done
        echo $(( $(ms) - t0 )) >"$WORK/readyz"
}
# The ms since $1 when the Node first said Ready, in $WORK/nodeready: watched from when the API server answers.
poll_nodeready() {
        local t0=$1 server ready
        server=$(cat "$WORK/creds/server")
        while [ ! -f "$WORK/nodeready" ]; do
                while read -r ready; do
                        if [ "$ready" = True ]; then
                                echo $(( $(ms) - t0 )) >"$WORK/nodeready"
                                break
                        fi
                done < <(exec curl -sN --max-time 300 --cacert "$WORK/creds/ca.crt" --cert "$WORK/creds/admin.crt" --key "$WORK/creds/admin.key" \
                                "$server/api/v1/nodes?watch=1&fieldSelector=metadata.name%3Dbench" 2>/dev/null |
                         jq --unbuffered -r '.object.status.conditions[]? | select(.type == "Ready") | .status' 2>/dev/null)
                [ -f "$WORK/nodeready" ] || sleep 0.05
        done
}
# Both, once up has written the kubeconfig.
poll_ready() {
        creds
        poll_nodeready "$1" &
        poll_readyz "$1"
        wait
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
# Each component of the user's processes now: "NAME CPU-ms RSS-KiB FILE-KiB" lines, summed over its processes.
# CPU is utime+stime+cutime+cstime: a process's own and its reaped children's (the init's tools, ctr's imports).
# FILE is the part of the RSS that is pages of files the process maps (its binary's, its libraries'), which the
# kernel can drop and read again; the rest is the process's own memory.
components() {
        local hz pid
        hz=$(getconf CLK_TCK)
        for pid in $(pgrep -u "$TEST_USER"); do
                # comm may hold spaces: the fields after its closing parenthesis.
                { read -r stat <"/proc/$pid/stat" && mem=$(awk '/^VmRSS:/ { r = $2 } /^RssFile:/ { f = $2 } END { print r + 0, f + 0 }' "/proc/$pid/status"); } 2>/dev/null || continue
                comm=${stat#*(} comm=${comm%)*}
                set -- ${stat##*) }
                echo "$comm $(( (${12} + ${13} + ${14} + ${15}) * 1000 / hz )) $mem"
        done | awk '{
                n = $1
                if (n ~ /^kube-controller/) n = "kube-controller-manager"
                else if (n ~ /^containerd-shim/) n = "containerd-shim"
                else if (n ~ /^usernode/) n = "usernode"
                else if (n == "pause" || n == "sleep" || n == "coredns") n = "pods"
                cpu[n] += $2; rss[n] += $3; file[n] += $4
        } END { for (n in cpu) print n, cpu[n], rss[n], file[n] }'
}

declare -A healthz readies waits pods peaks cpu rss file
for round in $(seq 1 "$ROUNDS"); do
        for b in "${builds[@]}"; do
                rm -rf "$WORK/readyz" "$WORK/nodeready" "$WORK/peak" "$WORK/creds"
                sample_rss &
                sampler=$!
                t0=$(ms)
                poll_ready "$t0" &
                poller=$!
                as_user "${binary[$b]}" up --engine kubelet --name bench $ign --wait=120 >/dev/null
                t1=$(ms)
                while read -r name c r f; do
                        cpu[$b.$name]+="$c " rss[$b.$name]+="$r " file[$b.$name]+="$f "
                done < <(components)
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
                healthz[$b]+="$(cat "$WORK/readyz") "
                readies[$b]+="$(cat "$WORK/nodeready") "
                waits[$b]+="$((t1 - t0)) "
                pods[$b]+="$((t2 - t0)) "
                peaks[$b]+="$(( $(cat "$WORK/peak") / 1024 )) "
                as_user "${binary[$b]}" down --name bench --purge >/dev/null
        done
done

echo "rounds: $ROUNDS fresh clusters per build$([ ${#builds[@]} = 1 ] || echo ", alternating"), images imported at each start$([ -f "$images/coredns.tar" ] && echo ", CoreDNS running")"
[ ${#builds[@]} = 1 ] || echo "base: ${binary[base]}"
line() { # LABEL ARRAY TARGET
        local -n a=$2
        local b out=""
        for b in "${builds[@]}"; do
                # shellcheck disable=SC2086 # the lists
                out+=$(printf '  %s %6s (%s)' "$b" "$(median ${a[$b]})" "${a[$b]% }")
        done
        printf '%-30s%s%s\n' "$1" "$out" "${3:+  target $3}"
}
line "up -> API readyz ok ms" healthz
line "up -> Node Ready ms" readies 5000
line "up -> up --wait returns ms" waits
line "up -> first pod Running ms" pods 6500
line "peak RSS of the cluster MiB" peaks 560
echo "when up --wait returns, medians: component  CPU-ms  RSS-MiB (of it file pages)$([ ${#builds[@]} = 1 ] || echo "   (base, then new)")"
for name in $(printf '%s\n' "${!cpu[@]}" | sed 's/^[^.]*\.//' | sort -u); do
        out=""
        for b in "${builds[@]}"; do
                # shellcheck disable=SC2086
                c=$(median ${cpu[$b.$name]:-0}) r=$(median ${rss[$b.$name]:-0}) f=$(median ${file[$b.$name]:-0})
                out+=$(printf '  %7s %6s (%4s)' "$c" "$(( ${r%.*} / 1024 ))" "$(( ${f%.*} / 1024 ))")
        done
        printf '  %-26s%s\n' "$name" "$out"
done
for b in "${builds[@]}"; do
        # The sums per round, then their medians.
        sums=()
        for i in $(seq 1 "$ROUNDS"); do
                s=0 m=0 fm=0
                for k in "${!cpu[@]}"; do
                        [ "${k%%.*}" = "$b" ] || continue
                        # shellcheck disable=SC2206
                        cs=(${cpu[$k]}) rs=(${rss[$k]}) fs=(${file[$k]})
                        s=$((s + ${cs[i - 1]:-0})) m=$((m + ${rs[i - 1]:-0})) fm=$((fm + ${fs[i - 1]:-0}))
                done
                sums+=("$s $((m / 1024)) $((fm / 1024))")
        done
        printf '  %-26s  %7s %6s (%4s)   (%s)\n' "total $b" "$(median $(printf '%s\n' "${sums[@]}" | cut -d' ' -f1))" \
                "$(median $(printf '%s\n' "${sums[@]}" | cut -d' ' -f2))" \
                "$(median $(printf '%s\n' "${sums[@]}" | cut -d' ' -f3))" "$(IFS=,; echo "${sums[*]}")"
done
