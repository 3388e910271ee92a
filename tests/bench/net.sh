#!/bin/sh
# iperf3 through the node's network, SECS (4) s per run: host -> node through a published port and
# node -> outside, for each usable driver with usernode's defaults (MTU 65520 for slirp4netns, the
# bridge's MTU for lxc-user-nic, builtin port driver) vs k3s's defaults (slirp4netns, MTU 1500,
# builtin port driver: rootlesskit run the way k3s runs it) vs host loopback.
# Traffic goes to loopback and to addresses inside namespaces this script makes, nowhere else:
# "outside" is an iperf3 server in a network namespace of its own, at 198.18.N.2 (RFC 2544's
# benchmarking range) behind a veth pair, never an address of the host.
# iperf3 in the node is Debian's binary run through `usernode exec` (host filesystem, node's
# namespaces). Run as root (the namespace and its veth need it); the nodes run as BENCH_USER, an
# ordinary user with a sub-ID range (default usernode-test, made as the integration tests make it):
#   sudo USERNODE=build/usernode sh tests/bench/net.sh
# lxc-user-nic is measured when usable (setup --fast-net: lxc-usernet entry, bridge usernode0 with DHCP).
set -eu
: "${USERNODE:=./usernode}" "${top_srcdir:=.}" "${SECS:=4}"
. "$top_srcdir/tests/integration/lib.sh"
USERNODE=$(readlink -f "$USERNODE")
top_srcdir=$(cd "$top_srcdir" && pwd)
for b in iperf3 ip jq rootlesskit slirp4netns nsenter setpriv; do
        command -v "$b" >/dev/null || skip "$b is not installed"
done
TEST_USER=${BENCH_USER:-$TEST_USER}
ensure_test_user

NS=usernode-bench-$$
# A /30 of RFC 2544's benchmarking range, per run so that two runs do not collide.
NET=198.18.$(($$ % 256))
OUTSIDE=$NET.2
WORK=$(mktemp -d "${TMPDIR:-/tmp}/usernode-bench-net.XXXXXX")
as_user=$WORK/as-user
rk_pid="" server_pid=""
cleanup() {
        [ -z "$rk_pid" ] || kill "$rk_pid" 2>/dev/null || true
        [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true
        for n in bench-slirp bench-lxc; do "$as_user" "$USERNODE" down --name "$n" --purge >/dev/null 2>&1 || true; done
        ip netns pids "$NS" 2>/dev/null | xargs -r kill 2>/dev/null || true
        ip netns del "$NS" 2>/dev/null || true
        rm -rf "$WORK"
}
trap cleanup EXIT
chmod 0755 "$WORK"
reachable_copy "$WORK"
mkdir -p "$WORK/xdg" "$WORK/home"
chown "$TEST_USER:" "$WORK/xdg" "$WORK/home"
chmod 0700 "$WORK/xdg"

# $as_user CMD...: CMD as the node's user, with the stand-in kubelet on PATH and this run's runtime
# dir. A script that execs, not a function: started in the background, $! is then CMD itself.
cat >"$as_user" <<EOF
#!/bin/sh
exec setpriv --reuid="$TEST_USER" --regid="$TEST_USER" --init-groups \\
        env -i PATH="$top_srcdir/tests/stand-ins:/usr/sbin:/usr/bin:/sbin:/bin" HOME="$WORK/home" \\
        XDG_RUNTIME_DIR="$WORK/xdg" USER="$TEST_USER" LOGNAME="$TEST_USER" "\$@"
EOF
chmod 0755 "$as_user"

# The outside: a namespace with one veth to the host. MTU 65520 like the nodes' own, so that the
# host's side of the path does not cap what is measured. Its default route leads back through the
# host, for nodes on a bridge (lxc-user-nic) when the host forwards.
ip netns add "$NS"
ip link add "ubh$$" mtu 65520 type veth peer name "ubn$$" mtu 65520
ip link set "ubn$$" netns "$NS"
ip addr add "$NET.1/30" dev "ubh$$"
ip link set "ubh$$" up
ip -n "$NS" addr add "$OUTSIDE/30" dev "ubn$$"
ip -n "$NS" link set lo up
ip -n "$NS" link set "ubn$$" up
ip -n "$NS" route add default via "$NET.1"

failing=$("$as_user" "$USERNODE" check --engine kubelet --json | jq -r '[.checks[] | select(.status=="fail") | .id] | join(",")')
ign=""; [ -z "$failing" ] || ign="--ignore=$failing"
P=$(( 30000 + $$ % 20000 ))

# gbps FILE: received Gbit/s from iperf3's JSON, "n/a" when the run produced none.
gbps() {
        v=$(jq -r '.end.sum_received.bits_per_second / 1e9 * 100 | floor / 100' "$1" 2>/dev/null) || v=""
        echo "${v:-n/a}"
}

# serve NAME CMD...: starts the iperf3 server CMD (it serves one client, -1, then exits) in the
# background and returns once it listens. iperf3 has no ready-fd but says "Server listening on
# PORT": that line is read through a FIFO (--forceflush, so no buffer holds it), and the rest of its
# output drained into $WORK/NAME.log so that it never blocks on a full pipe.
serve() {
        name=$1
        shift
        rm -f "$WORK/$name.fifo" "$WORK/$name.log"
        mkfifo "$WORK/$name.fifo"
        "$@" --forceflush >"$WORK/$name.fifo" 2>&1 &
        server_pid=$!
        exec 3<"$WORK/$name.fifo"
        listening=""
        while IFS= read -r line <&3; do
                printf '%s\n' "$line" >>"$WORK/$name.log"
                case $line in *"Server listening"*) listening=1 && break ;; esac
        done
        cat <&3 >>"$WORK/$name.log" &
        exec 3<&-
        [ -n "$listening" ] || fail "iperf3 server $name did not start: $(cat "$WORK/$name.log")"
}

# unserve: the server of the last run is done with its one client, or (the client could not reach
# it) stopped.
unserve() {
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
}

# measure LABEL IN_NODE HOST_PORT: IN_NODE is the command prefix that runs a command in the node;
# HOST_PORT is published to node port 5201.
measure() {
        label=$1 in_node=$2 hp=$3
        serve in $in_node iperf3 -s -1 -p 5201
        iperf3 -c 127.0.0.1 -p "$hp" -t "$SECS" -J >"$WORK/in.json" || true
        unserve
        serve out ip netns exec "$NS" iperf3 -s -1 -B "$OUTSIDE" -p 5202
        $in_node iperf3 -c "$OUTSIDE" -p 5202 -t "$SECS" -J >"$WORK/out.json" || true
        unserve
        printf '%-40s host->node %6s Gbps   node->outside %6s Gbps\n' "$label" "$(gbps "$WORK/in.json")" \
                "$(gbps "$WORK/out.json")"
}

serve lo iperf3 -s -1 -B 127.0.0.1 -p "$P"
iperf3 -c 127.0.0.1 -p "$P" -t "$SECS" -J >"$WORK/lo.json" || true
unserve
printf '%-40s %6s Gbps\n' "host loopback" "$(gbps "$WORK/lo.json")"

# usernode's defaults with slirp4netns.
"$as_user" "$USERNODE" up --engine kubelet --name bench-slirp --net slirp4netns --wait=60 \
        --publish "127.0.0.1:$((P + 2)):5201" $ign >/dev/null
measure "usernode slirp4netns (MTU 65520, builtin)" "$as_user $USERNODE exec --name bench-slirp --" "$((P + 2))"
"$as_user" "$USERNODE" down --name bench-slirp --purge

# k3s's defaults: its rootlesskit with slirp4netns, MTU 1500, builtin port driver. rootlesskit has
# no ready-fd; it writes child_pid once the child's network and the published ports are up (its
# parent.go), so that file is what is waited for, with a deadline.
"$as_user" rootlesskit --net=slirp4netns --mtu=1500 --port-driver=builtin --disable-host-loopback --copy-up=/etc \
        --state-dir="$WORK/home/rk" -p "127.0.0.1:$((P + 3)):5201/tcp" sleep 600 >"$WORK/rk.log" 2>&1 &
rk_pid=$!
deadline=$(($(date +%s) + 30))
until [ -s "$WORK/home/rk/child_pid" ]; do
        kill -0 "$rk_pid" 2>/dev/null || fail "rootlesskit exited: $(cat "$WORK/rk.log")"
        [ "$(date +%s)" -lt "$deadline" ] || fail "rootlesskit wrote no child_pid in 30 s: $(cat "$WORK/rk.log")"
        sleep 0.1
done
measure "k3s defaults (slirp4netns MTU 1500)" \
        "$as_user nsenter -t $(cat "$WORK/home/rk/child_pid") -U -n --preserve-credentials" "$((P + 3))"
kill "$rk_pid"; wait "$rk_pid" 2>/dev/null || true; rk_pid=""

# lxc-user-nic, when usable.
if "$as_user" "$USERNODE" up --engine kubelet --name bench-lxc --net lxc-user-nic --dry-run $ign >/dev/null 2>"$WORK/lxc.err"; then
        "$as_user" "$USERNODE" up --engine kubelet --name bench-lxc --net lxc-user-nic --wait=60 \
                --publish "127.0.0.1:$((P + 4)):5201" $ign >/dev/null
        if [ "$(cat /proc/sys/net/ipv4/ip_forward)" = 1 ]; then
                measure "usernode lxc-user-nic (veth, builtin)" "$as_user $USERNODE exec --name bench-lxc --" "$((P + 4))"
        else
                echo "usernode lxc-user-nic: node->outside not measured: the host does not forward (net.ipv4.ip_forward=0)"
        fi
        # A veth node is reachable at its own address too (inside its own namespace, which this
        # script made): no port forwarder in the path.
        nip=$("$as_user" "$USERNODE" exec --name bench-lxc -- ip -4 -o addr show eth0 | sed -n 's/.* inet \([0-9.]*\)\/.*/\1/p')
        serve direct "$as_user" "$USERNODE" exec --name bench-lxc -- iperf3 -s -1 -B "$nip" -p 5202
        iperf3 -c "$nip" -p 5202 -t "$SECS" -J >"$WORK/direct.json" || true
        unserve
        printf '%-40s host->node %6s Gbps\n' "usernode lxc-user-nic (node's address)" "$(gbps "$WORK/direct.json")"
        "$as_user" "$USERNODE" down --name bench-lxc --purge
else
        echo "lxc-user-nic: not measured: $(cat "$WORK/lxc.err")"
fi
echo "pasta: $("$as_user" "$USERNODE" up --engine kubelet --name bench-p --net pasta --dry-run $ign 2>&1 >/dev/null || true)"
echo "targets: node->outside >= 3x k3s default; host->node >= 50% of loopback; lxc-user-nic >= 75% of loopback both ways"
