#!/bin/bash
# rootlesskit's port drivers side by side (issue "Debian 13 and a clone anywhere"): iperf3 through the port a
# node publishes, from the host's loopback and from a client on another "host", with the source address the
# node's server sees, and node -> outside; for slirp4netns with the builtin and the slirp4netns port drivers
# and, where rootlesskit is 2.0 or later, pasta with its own forwarding (implicit), with the addresses the
# host then listens on. One run each of SECS (4) seconds.
# Everything runs inside two network namespaces this script makes: "host" (where rootlesskit runs, as
# BENCH_USER) and "client", joined by a veth pair on 198.18.N.0/30 (RFC 2544's benchmarking range): no
# traffic leaves them. Debian 12's rootlesskit (1.1) has no pasta; to measure Debian 13's binaries on such a
# machine, BENCH_ROOT names a Debian 13 tree (mmdebstrap trixie with rootlesskit, passt, slirp4netns, iperf3,
# iproute2 and BENCH_USER with sub-ID ranges in its /etc): it becomes the root of the host's mount namespace.
#   sudo [BENCH_ROOT=/srv/trixie] [BENCH_USER=usernode-test] bash tests/bench/port-drivers.sh
set -euo pipefail
: "${top_srcdir:=.}" "${SECS:=4}" "${BENCH_ROOT:=}"
. "$top_srcdir/tests/integration/lib.sh"
[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces)"
for b in ip iperf3 jq unshare setpriv nsenter; do command -v "$b" >/dev/null || skip "$b is not installed"; done
if [ -z "$BENCH_ROOT" ]; then
        TEST_USER=${BENCH_USER:-$TEST_USER}
        ensure_test_user
        user=$TEST_USER
else
        user=${BENCH_USER:?BENCH_ROOT needs BENCH_USER, a user of that tree with sub-ID ranges}
        for d in proc dev sys; do mountpoint -q "$BENCH_ROOT/$d" || mount --rbind "/$d" "$BENCH_ROOT/$d"; done
fi

N=$(($$ % 256))
H=usernode-pd-host-$$ C=usernode-pd-client-$$
work=$(mktemp -d)
chmod 0755 "$work"
rk=""
cleanup() {
        [ -z "$rk" ] || kill "$rk" 2>/dev/null || :
        pkill -u "$user" -x iperf3 2>/dev/null || :
        ip netns pids "$H" 2>/dev/null | xargs -r kill 2>/dev/null || :
        ip netns pids "$C" 2>/dev/null | xargs -r kill 2>/dev/null || :
        ip netns del "$H" 2>/dev/null || :
        ip netns del "$C" 2>/dev/null || :
        rm -rf "$work"
}
trap cleanup EXIT
veth_hosts "$H" "$C" "198.18.$N.1/30" "198.18.$N.2/30" 65520

# on_host CMD...: CMD in the host namespace, in BENCH_ROOT when given (pivot_root, not chroot: a chrooted
# process may not make user namespaces); as_user: the same as BENCH_USER with a clean environment.
on_host() {
        if [ -z "$BENCH_ROOT" ]; then
                ip netns exec "$H" "$@"
                return
        fi
        # shellcheck disable=SC2016 # expanded by that bash
        ip netns exec "$H" unshare -m --propagation private bash -c '
                r=$1 && shift && mount --rbind "$r" "$r" && cd "$r" && mkdir -p .usernode-old &&
                pivot_root . .usernode-old && cd / && /.usernode-old/usr/bin/umount -l /.usernode-old &&
                exec "$@"' _ "$BENCH_ROOT" "$@"
}
as_user() {
        on_host setpriv --reuid="$user" --regid="$user" --init-groups env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
                HOME=/tmp "$@"
}
rkdir=/tmp/usernode-pd-$$
if [ -n "$BENCH_ROOT" ]; then out_dir=$BENCH_ROOT$rkdir; else out_dir=$rkdir; fi
gbps() { jq -r '.end.sum_received.bits_per_second / 1e9 * 100 | floor / 100' "$1" 2>/dev/null || echo n/a; }
rk_version=$(on_host rootlesskit --version 2>/dev/null | awk '{ print $NF }')
echo "rootlesskit $rk_version${BENCH_ROOT:+ (from $BENCH_ROOT)}, $SECS s per run"

# listening PORT: the host namespace has a listener on PORT (pasta publishes a node's port once it sees it).
listening() { [ -n "$(ip netns exec "$H" ss -Htln "sport = :$1")" ]; }

# run LABEL NET PORT_DRIVER HOST_PORT [PUBLISH]: a rootlesskit with an iperf3 server in its namespace.
run() {
        label=$1 net=$2 pd=$3 hp=$4 publish=${5:-}
        rm -rf "$out_dir" && mkdir -p "$out_dir" && chmod 0777 "$out_dir"
        # shellcheck disable=SC2086 # publish is one option or none
        as_user rootlesskit --net="$net" --port-driver="$pd" --mtu=65520 --disable-host-loopback --copy-up=/etc \
                --state-dir="$rkdir/state" $publish sleep 600 >"$work/rk.log" 2>&1 &
        rk=$!
        # rootlesskit writes child_pid once the child's network and its ports are up (no ready-fd).
        deadline=$(($(date +%s) + 30))
        until [ -s "$out_dir/state/child_pid" ]; do
                kill -0 "$rk" 2>/dev/null || { echo "$label: rootlesskit exited: $(cat "$work/rk.log")"; rk=""; return 0; }
                [ "$(date +%s)" -lt "$deadline" ] || fail "$label: no child_pid in 30 s"
                sleep 0.1
        done
        child=$(cat "$out_dir/state/child_pid")
        as_user nsenter -t "$child" -U -n --preserve-credentials iperf3 -s -p 5201 --forceflush >"$work/srv.log" 2>&1 &
        srv=$!
        deadline=$(($(date +%s) + 30))
        until listening "$hp"; do
                [ "$(date +%s)" -lt "$deadline" ] || fail "$label: nothing listens on the host's $hp after 30 s"
                sleep 0.1
        done
        for from in loopback client; do
                if [ "$from" = loopback ]; then
                        on_host iperf3 -c 127.0.0.1 -p "$hp" -t "$SECS" -J >"$work/in.json" 2>&1 || :
                else
                        ip netns exec "$C" iperf3 -c "198.18.$N.1" -p "$hp" -t "$SECS" -J >"$work/in.json" 2>&1 || :
                fi
                seen=$(sed -n 's/.*Accepted connection from \([^,]*\),.*/\1/p' "$work/srv.log" | tail -n 1)
                printf '%-28s from %-8s %6s Gbps, the node sees %s\n' "$label" "$from" "$(gbps "$work/in.json")" "$seen"
        done
        printf '%-28s host listens on %s\n' "$label" "$(ip netns exec "$H" ss -Htln "sport = :$hp" | awk '{ print $4 }' | paste -sd' ')"
        ip netns exec "$C" iperf3 -s -1 -B "198.18.$N.2" -p 5202 >/dev/null 2>&1 &
        out=$!
        until [ -n "$(ip netns exec "$C" ss -Htln 'sport = :5202')" ]; do sleep 0.05; done
        as_user nsenter -t "$child" -U -n --preserve-credentials iperf3 -c "198.18.$N.2" -p 5202 -t "$SECS" -J \
                >"$work/out.json" 2>&1 || :
        printf '%-28s node -> outside %6s Gbps\n' "$label" "$(gbps "$work/out.json")"
        kill "$srv" "$out" "$rk" 2>/dev/null || :
        wait "$srv" "$out" "$rk" 2>/dev/null || :
        rk=""
}

run "slirp4netns + builtin" slirp4netns builtin 15201 "-p 0.0.0.0:15201:5201/tcp"
run "slirp4netns + slirp4netns" slirp4netns slirp4netns 15202 "-p 0.0.0.0:15202:5201/tcp"
if [ "${rk_version%%.*}" -ge 2 ] 2>/dev/null && on_host sh -c 'command -v pasta' >/dev/null; then
        run "pasta + implicit" pasta implicit 5201
else
        echo "pasta + implicit: not measured: rootlesskit $rk_version has no --net=pasta (2.0 and later; BENCH_ROOT=a Debian 13 tree)"
fi
ip netns exec "$C" iperf3 -s -1 -B "198.18.$N.2" -p 5203 >/dev/null 2>&1 &
until [ -n "$(ip netns exec "$C" ss -Htln 'sport = :5203')" ]; do sleep 0.05; done
ip netns exec "$H" iperf3 -c "198.18.$N.2" -p 5203 -t "$SECS" -J >"$work/veth.json" 2>&1 || :
printf '%-28s %6s Gbps\n' "the hosts' own veth" "$(gbps "$work/veth.json")"
