#!/bin/sh
# iperf3 through the node's network, 4 s per run: host -> node through a published port and
# node -> host, for each usable driver with usernode's defaults (MTU 65520 for slirp4netns, the
# bridge's MTU for lxc-user-nic, builtin port driver) vs k3s's defaults (slirp4netns, MTU 1500,
# builtin port driver: rootlesskit run the way k3s runs it) vs host loopback.
# iperf3 in the node is Debian's binary run through `usernode exec` (host filesystem, node's
# namespaces). Run as an ordinary user with a sub-ID range:
#   USERNODE=build/usernode sh tests/bench/net.sh
# lxc-user-nic is measured when usable (setup --fast-net: lxc-usernet entry, bridge usernode0 with DHCP).
set -eu
: "${USERNODE:=./usernode}" "${top_srcdir:=.}" "${SECS:=4}"
export PATH="$top_srcdir/tests/stand-ins:$PATH"
command -v iperf3 >/dev/null || { echo "iperf3 is not installed"; exit 77; }
failing=$("$USERNODE" check --engine kubelet --json | jq -r '[.checks[] | select(.status=="fail") | .id] | join(",")')
ign=""; [ -z "$failing" ] || ign="--ignore=$failing"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/usernode-bench-net.XXXXXX")
rk_pid=""
cleanup() {
        [ -z "$rk_pid" ] || kill "$rk_pid" 2>/dev/null || true
        for n in bench-slirp bench-lxc; do "$USERNODE" down --name "$n" --purge >/dev/null 2>&1 || true; done
        rm -rf "$WORK"
}
trap cleanup EXIT
# The host's address the node reaches (not loopback: the node's loopback is its own).
HOST_IP=$(ip -4 route get 192.0.2.250 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p')
[ -n "$HOST_IP" ] || HOST_IP=$(hostname -I | cut -d' ' -f1)
P=$(( 30000 + $$ % 20000 ))
gbps() { jq -r '.end.sum_received.bits_per_second / 1e9 * 100 | floor / 100' "$1"; }

# $1 label, $2 command prefix to run in the node, $3 host port published to node port 5201,
# $4 host address seen from the node.
measure() {
        label=$1 in_node=$2 hp=$3 hip=$4
        $in_node iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
        sleep 0.3
        iperf3 -c 127.0.0.1 -p "$hp" -t "$SECS" -J >"$WORK/in.json" || true
        wait $! 2>/dev/null || true
        iperf3 -s -1 -B "$hip" -p "$((P + 1))" >/dev/null 2>&1 &
        sleep 0.3
        $in_node iperf3 -c "$hip" -p "$((P + 1))" -t "$SECS" -J >"$WORK/out.json" || true
        wait $! 2>/dev/null || true
        printf '%-40s host->node %6s Gbps   node->host %6s Gbps\n' "$label" "$(gbps "$WORK/in.json")" \
                "$(gbps "$WORK/out.json")"
}

iperf3 -s -1 -p "$P" >/dev/null 2>&1 &
sleep 0.3
iperf3 -c 127.0.0.1 -p "$P" -t "$SECS" -J >"$WORK/lo.json"
wait
printf '%-40s %6s Gbps\n' "host loopback" "$(gbps "$WORK/lo.json")"

# usernode's defaults with slirp4netns.
"$USERNODE" up --engine kubelet --name bench-slirp --net slirp4netns --wait=60 --publish "127.0.0.1:$((P + 2)):5201" \
        $ign >/dev/null
measure "usernode slirp4netns (MTU 65520, builtin)" "$USERNODE exec --name bench-slirp --" "$((P + 2))" "$HOST_IP"
"$USERNODE" down --name bench-slirp --purge

# k3s's defaults: its rootlesskit with slirp4netns, MTU 1500, builtin port driver.
rootlesskit --net=slirp4netns --mtu=1500 --port-driver=builtin --disable-host-loopback --copy-up=/etc \
        --state-dir="$WORK/rk" -p "127.0.0.1:$((P + 3)):5201/tcp" sleep 600 >"$WORK/rk.log" 2>&1 &
rk_pid=$!
for i in $(seq 50); do [ -s "$WORK/rk/child_pid" ] && break; sleep 0.1; done
measure "k3s defaults (slirp4netns MTU 1500)" \
        "nsenter -t $(cat "$WORK/rk/child_pid") -U -n --preserve-credentials" "$((P + 3))" "$HOST_IP"
kill "$rk_pid"; wait "$rk_pid" 2>/dev/null || true; rk_pid=""

# lxc-user-nic, when usable.
if "$USERNODE" up --engine kubelet --name bench-lxc --net lxc-user-nic --dry-run $ign >/dev/null 2>"$WORK/lxc.err"; then
        "$USERNODE" up --engine kubelet --name bench-lxc --net lxc-user-nic --wait=60 \
                --publish "127.0.0.1:$((P + 4)):5201" $ign >/dev/null
        gw=$("$USERNODE" exec --name bench-lxc -- ip -4 route show default | sed -n 's/^default via \([0-9.]*\).*/\1/p')
        measure "usernode lxc-user-nic (veth, builtin)" "$USERNODE exec --name bench-lxc --" "$((P + 4))" "$gw"
        # A veth node is reachable at its own address too: no port forwarder in the path.
        nip=$("$USERNODE" exec --name bench-lxc -- ip -4 -o addr show eth0 | sed -n 's/.* inet \([0-9.]*\)\/.*/\1/p')
        "$USERNODE" exec --name bench-lxc -- iperf3 -s -1 -B "$nip" -p 5202 >/dev/null 2>&1 &
        sleep 0.3
        iperf3 -c "$nip" -p 5202 -t "$SECS" -J >"$WORK/direct.json" || true
        wait $! 2>/dev/null || true
        printf '%-40s host->node %6s Gbps\n' "usernode lxc-user-nic (node's address)" "$(gbps "$WORK/direct.json")"
        "$USERNODE" down --name bench-lxc --purge
else
        echo "lxc-user-nic: not measured: $(cat "$WORK/lxc.err")"
fi
echo "pasta: $("$USERNODE" up --engine kubelet --name bench-p --net pasta --dry-run $ign 2>&1 >/dev/null || true)"
echo "targets: node->host >= 3x k3s default; host->node >= 50% of loopback; lxc-user-nic >= 75% of loopback both ways"
