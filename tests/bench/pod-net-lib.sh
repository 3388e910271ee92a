# What the pod network benchmarks share (sourced after tests/integration/k8s-lib.sh, with WORK, kc, SECS and A, the
# client's network namespace, set): an image with iperf3, one iperf3 run's throughput, ping's round trip, a median.

median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# bench_iperf3_image: k8s_images, and $WORK/img/iperf3.tar (docker.io/library/iperf3:usernode): Debian's iperf3 with
# the libraries it links, and busybox (sh, ping).
bench_iperf3_image() {
        local r l
        k8s_images
        r=$WORK/img/iperf3/rootfs
        mkdir -p "$r"
        cp -a "$WORK/img/busybox/rootfs/." "$r/"
        cp "$(command -v iperf3)" "$r/bin/iperf3"
        mkdir -p -m 1777 "$r/tmp"       # iperf3 keeps each stream's buffer in a file there
        for l in $(ldd "$(command -v iperf3)" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
                mkdir -p "$r$(dirname "$l")"
                cp -L "$l" "$r$l"
        done
        make_oci "$WORK/img/iperf3.tar" "$WORK/img/iperf3" "$r" docker.io/library/iperf3:usernode '["/bin/sh"]'
        chmod -R a+rX "$WORK/img"
}

# gbit FROM DST: one iperf3 run's throughput (Gbit/s) from FROM (a pod, or "host" A) to DST; rtt the same for ping's
# average (ms) of 20 round trips.
gbit() {
        local out
        if [ "$1" = host ]; then
                out=$(ip netns exec "$A" iperf3 -c "$2" -t "$SECS" -J) || :
        else
                out=$(kc exec "$1" -- iperf3 -c "$2" -t "$SECS" -J) || :
        fi
        jq -e '.end.sum_received.bits_per_second' <<<"$out" >/dev/null ||
                fail "iperf3 from $1 to $2: $(jq -r '.error // empty' <<<"$out" 2>/dev/null || printf '%s' "$out")"
        jq -r '.end.sum_received.bits_per_second / 1e9 * 100 | round / 100' <<<"$out"
}
rtt() {
        if [ "$1" = host ]; then
                ip netns exec "$A" busybox ping -c 20 -i 0.05 -q "$2"
        else
                kc exec "$1" -- ping -c 20 -i 0.05 -q "$2"
        fi | sed -n 's|.* = [0-9.]*/\([0-9.]*\)/.*|\1|p'
}

# bench_iperf3_pods NEAR_NODE FAR_NODE: pods cli and near on NEAR_NODE, far on FAR_NODE, each an iperf3 server;
# once Ready, their addresses in near and far.
bench_iperf3_pods() {
        local p name node
        for p in "cli $1" "near $1" "far $2"; do
                read -r name node <<<"$p"
                kc apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata: {name: $name}
spec:
  nodeName: $node
  terminationGracePeriodSeconds: 1
  containers:
  - name: iperf3
    image: docker.io/library/iperf3:usernode
    imagePullPolicy: Never
    command: ["/bin/iperf3", "-s"]
EOF
        done
        kc wait --for=condition=Ready pod/cli pod/near pod/far --timeout=180s >/dev/null
        near=$(kc get pod near -o jsonpath='{.status.podIP}') far=$(kc get pod far -o jsonpath='{.status.podIP}')
}

# bench_paths "FROM DST LABEL"...: medians of ROUNDS runs of gbit and rtt for each path, one table line each; an
# iperf3 server in namespace B (IP_B) is asked first until it answers (its start is not waited on otherwise).
bench_paths() {
        local p from dst what t l
        retry 10 ip netns exec "$A" iperf3 -c "$IP_B" -t 1
        printf '%-44s %12s %10s\n' path "TCP Gbit/s" "RTT ms"
        for p in "$@"; do
                read -r from dst what <<<"$p"
                t=() l=()
                for _ in $(seq "$ROUNDS"); do
                        t+=("$(gbit "$from" "$dst")")
                        l+=("$(rtt "$from" "$dst")")
                done
                printf '%-44s %12s %10s   (runs: %s)\n' "$what" "$(median "${t[@]}")" "$(median "${l[@]}")" "${t[*]}"
        done
}
