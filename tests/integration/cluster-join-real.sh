#!/bin/bash
# A usernode cluster that others can join (issue "Many nodes, one cluster", its first part), with real
# Kubernetes (USERNODE_K8S_BIN) and Debian's etcd: two "hosts", network namespaces of this test's own joined by a
# veth pair (traffic never leaves them). On host A the test user runs `up` without --server and with
# --apiserver-address A: the API server is published there, its certificate valid for it, cluster-info names it;
# `join-command --token-file F` prints kubeadm's line with usernode up in front, the token in F (0600) and not on
# the line; on host B the same user (another runtime and home directory) runs that line and the node joins: both
# Nodes Ready, each with a pod CIDR of its own (A the cluster network's first /24, B another, from the
# controller-manager). down --purge of both leaves no process.
. "${top_srcdir:-.}/tests/integration/lib.sh"
. "${top_srcdir:-.}/tests/integration/k8s-lib.sh"
set -o pipefail

k8s_node_require kube-apiserver
k8s_user_work cluster-join
N=$(( $$ % 250 + 2 ))
A=usernode-ja-$$ B=usernode-jb-$$ IP_A=10.251.$N.1 IP_B=10.251.$N.2
cleanup() {
        for h in b a; do
                on "$h" "$USERNODE" down --name "host$h" --purge >/dev/null 2>&1 || :
        done
        ip netns del "$A" 2>/dev/null || :
        ip netns del "$B" 2>/dev/null || :
        rm -rf "$WORK"
}
trap cleanup EXIT
veth_hosts "$A" "$B" "$IP_A/24" "$IP_B/24"

# on a|b CMD...: CMD as the test user on host A or B, with a runtime and a home directory of that host's.
for h in a b; do
        mkdir -p "$WORK/$h/xdg" "$WORK/$h/home"
        chown -R "$TEST_USER:" "$WORK/$h"
        chmod 0700 "$WORK/$h/xdg"
done
on() {
        local ns=$A
        [ "$1" = a ] || ns=$B
        # nsenter, not ip netns exec: that mounts a /sys of its own, without the cgroup mounts the kubelet reads.
        nsenter --net="/run/netns/$ns" runuser -u "$TEST_USER" -- env -i PATH="$USERNODE_K8S_BIN:/usr/sbin:/usr/bin:/sbin:/bin" \
                HOME="$WORK/$1/home" XDG_RUNTIME_DIR="$WORK/$1/xdg" "${@:2}"
}
k8s_images
for h in a b; do
        install -d -o "$TEST_USER" -m 0700 "$WORK/$h/home/.local" "$WORK/$h/home/.local/share" \
                "$WORK/$h/home/.local/share/usernode" "$WORK/$h/home/.local/share/usernode/images"
        install -o "$TEST_USER" -m 0600 "$WORK/img/pause.tar" "$WORK/$h/home/.local/share/usernode/images/pause.tar"
done
ign=$(on a "$USERNODE" check --engine kubelet --json 2>/dev/null | jq -r '[.checks[] | select(.status == "fail") | .id] | join(",")' || :)

# Host A: a cluster published where B reaches it.
t0=$(date +%s%N)
on a "$USERNODE" up --engine kubelet --name hosta --apiserver-address "$IP_A" ${ign:+--ignore "$ign"} --wait=180 --json \
        >"$WORK/a.json" 2>"$WORK/a.err" || fail "up on A: $(cat "$WORK/a.err"; tail -n 20 "$WORK/a/xdg/usernode/hosta/node.log")"
echo "cluster-join: host A's cluster (node IPAM on): up -> Node Ready $(( ($(date +%s%N) - t0) / 1000000 )) ms"
port=$(jq -r '.ports[] | select(.node_port == 6443) | .host_port' "$WORK/a.json")
[ "$(jq -r '.ports[] | select(.node_port == 6443) | .host_ip' "$WORK/a.json")" = "$IP_A" ] ||
        fail "the API server is not published on $IP_A: $(jq -c .ports "$WORK/a.json")"
[ "$(jq -r .apiserver "$WORK/a.json")" = "https://$IP_A:$port" ] || fail "status names no API server at $IP_A"
kubeconfig=$WORK/a/home/.kube/usernode-hosta.yaml
kc() { ip netns exec "$A" "$USERNODE_K8S_BIN/kubectl" --kubeconfig "$kubeconfig" --request-timeout=10s "$@"; }
# Verified TLS to the published address: the serving certificate names it.
[ "$(kc get --raw /readyz)" = ok ] || fail "kubectl on A does not reach https://$IP_A:$port"
kc -n kube-public get configmap cluster-info -o jsonpath='{.data.kubeconfig}' | grep -q "server: https://$IP_A:$port\|\"server\": *\"https://$IP_A:$port\"" ||
        fail "cluster-info does not name https://$IP_A:$port: $(kc -n kube-public get configmap cluster-info -o yaml)"

# The line, its token in a file only the user reads.
on a "$USERNODE" join-command --name hosta --token-file "$WORK/b/home/token" --ttl 600 >"$WORK/line" 2>"$WORK/line.err" ||
        fail "join-command: $(cat "$WORK/line.err")"
cat "$WORK/line"
[ "$(stat -c %a "$WORK/b/home/token")" = 600 ] || fail "the token file is not 0600"
grep -qE '^[a-z0-9]{6}\.[a-z0-9]{16}$' "$WORK/b/home/token" || fail "the token file holds no token"
! grep -qF "$(cat "$WORK/b/home/token")" "$WORK/line" || fail "the token is on the line"
grep -qE "^usernode up --engine kubelet --server $IP_A:$port --token-file $WORK/b/home/token --discovery-token-ca-cert-hash sha256:[0-9a-f]{64}\$" \
        "$WORK/line" || fail "not kubeadm's line: $(cat "$WORK/line")"

# Host B runs the line as it is printed.
read -r -a line <"$WORK/line"
t0=$(date +%s%N)
on b "$USERNODE" "${line[@]:1}" --name hostb ${ign:+--ignore "$ign"} --wait=180 >"$WORK/b.out" 2>"$WORK/b.err" ||
        fail "up on B: $(cat "$WORK/b.err"; tail -n 20 "$WORK/b/xdg/usernode/hostb/node.log")"

echo "cluster-join: host B joined: up -> its Node Ready $(( ($(date +%s%N) - t0) / 1000000 )) ms"
ready() { [ "$(kc get node "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]; }
retry 60 ready hosta || fail "hosta is not Ready: $(kc get nodes -o wide 2>&1)"
retry 60 ready hostb || fail "hostb is not Ready: $(kc get nodes -o wide 2>&1)"
cidr_a=$(kc get node hosta -o jsonpath='{.spec.podCIDR}') cidr_b=$(kc get node hostb -o jsonpath='{.spec.podCIDR}')
echo "cluster-join: hosta $cidr_a, hostb $cidr_b"
[ "$cidr_a" = 10.42.0.0/24 ] || fail "hosta's pod CIDR is $cidr_a, not the cluster network's first /24"
case $cidr_b in 10.42.*.0/24) [ "$cidr_b" != "$cidr_a" ] || fail "both nodes have $cidr_a" ;; *) fail "hostb's pod CIDR is '$cidr_b'" ;; esac

for h in b a; do
        on "$h" "$USERNODE" down --name "host$h" --purge >/dev/null || fail "down --purge on $h"
done
left=$(ps -u "$TEST_USER" -o stat=,pid= | awk '$1 !~ /^Z/ { print $2 }' | while read -r p; do
        grep -qzF "XDG_RUNTIME_DIR=$WORK/" "/proc/$p/environ" 2>/dev/null && echo "$p"; done || :)
[ -z "$left" ] || fail "processes left: $left"
echo "cluster-join-real: ok"
