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
