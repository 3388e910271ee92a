#!/bin/bash
# A k3s cluster of two hosts with a real k3s (USERNODE_K3S_BIN, as for k3s-real.sh): two "hosts", network
# namespaces of this test's own joined by a veth pair (traffic never leaves them). On host A the test user runs
# `up --engine k3s --apiserver-address A`: k3s server, its API server published at A (its certificate names A),
# flannel's VXLAN port at A. On host B the same user (another runtime and home directory) joins it with the
# server's K10 token from a 0600 file: `k3s agent` inside usernode's namespaces, its VXLAN port published at B.
# Both Nodes Ready with the hosts' addresses; each one's flannel endpoint is its host's address (not the node's
# own slirp address, the same on both); a pod on each reaches the other's by its address; logs and exec reach the
# agent's pod; down --purge of both leaves no process.
. "${top_srcdir:-.}/tests/integration/lib.sh"
. "${top_srcdir:-.}/tests/integration/k8s-lib.sh"
set -o pipefail

k3s_node_require ip nsenter
k8s_user_work k3s-join
cleanup() {
        two_hosts_down host
        rm -rf "$WORK"
}
trap cleanup EXIT
# Each host's commands find k3s and its CNI plugins first.
HOSTS_PATH=$USERNODE_K3S_BIN:$K3S_CNI:/usr/sbin:/usr/bin:/sbin:/bin
two_hosts k 252
USERNODE_K8S_BIN=${USERNODE_K8S_BIN:-}
k8s_images
two_hosts_images pause busybox
ign=$(on a "$USERNODE" check --engine k3s --json 2>/dev/null | jq -r '[.checks[] | select(.status == "fail") | .id] | join(",")' || :)

# Host A: a k3s cluster published where B reaches it.
t0=$(date +%s%N)
on a "$USERNODE" up --engine k3s --name hosta --apiserver-address "$IP_A" ${ign:+--ignore "$ign"} --wait=300 --json \
        >"$WORK/a.json" 2>"$WORK/a.err" ||
        fail "up on A: $(cat "$WORK/a.err"; tail -n 20 "$WORK/a/xdg/usernode/hosta/node.log" "$WORK/a/xdg/usernode/hosta/k3s.log")"
echo "k3s-join: host A's k3s server: up -> Node Ready $(( ($(date +%s%N) - t0) / 1000000 )) ms"
port=$(jq -r '.ports[] | select(.node_port == 6443) | .host_port' "$WORK/a.json")
[ "$(jq -r '.ports[] | select(.node_port == 6443) | .host_ip' "$WORK/a.json")" = "$IP_A" ] ||
        fail "the API server is not published on $IP_A: $(jq -c .ports "$WORK/a.json")"
kubeconfig=$WORK/a/home/.kube/usernode-hosta.yaml
grep -q "server: https://$IP_A:$port$" "$kubeconfig" || fail "the kubeconfig does not point at $IP_A:$port"
kubectl=("$USERNODE_K3S_BIN/k3s" kubectl)
[ ! -e "$USERNODE_K3S_BIN/kubectl" ] || kubectl=("$USERNODE_K3S_BIN/kubectl")
kc() { ip netns exec "$A" "${kubectl[@]}" --kubeconfig "$kubeconfig" --request-timeout=10s "$@"; }
# Verified TLS to the published address: the serving certificate names it.
[ "$(kc get --raw /readyz)" = ok ] || fail "kubectl on A does not reach https://$IP_A:$port"

# Host B joins with the server's token, which pins its CA, from a file only the user reads.
# (server/node-token is a link to it by its path inside the node)
token=$WORK/a/home/.local/share/usernode/nodes/hosta/k3s/server/token
grep -q '^K10[0-9a-f]*::server:' "$token" || fail "no K10 token at $token"
install -o "$TEST_USER" -m 0600 "$token" "$WORK/b/home/k3s-token"
t0=$(date +%s%N)
on b "$USERNODE" up --engine k3s --name hostb --server "https://$IP_A:$port" --token-file "$WORK/b/home/k3s-token" \
        ${ign:+--ignore "$ign"} --wait=300 --json >"$WORK/b.json" 2>"$WORK/b.err" ||
        fail "up on B: $(cat "$WORK/b.err"; tail -n 20 "$WORK/b/xdg/usernode/hostb/node.log" "$WORK/b/xdg/usernode/hostb/k3s.log")"
echo "k3s-join: host B's k3s agent: up -> Node Ready $(( ($(date +%s%N) - t0) / 1000000 )) ms"
! grep -rqF "$(cut -d: -f1 "$token")" "$WORK/b/xdg/usernode/hostb/" 2>/dev/null || fail "the token is in B's state or logs"

ready() { [ "$(kc get node "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]; }
for h in a b; do
        ip=$IP_A
        [ $h = a ] || ip=$IP_B
        ready "host$h" || fail "host$h is not Ready: $(kc get nodes -o wide 2>&1)"
        # The agent's kubelet is reached at its host's address (its port published there); the server's own at its
        # address in its namespace, where its API server is.
        [ $h = a ] || [ "$(kc get node "host$h" -o jsonpath='{.status.addresses[?(@.type=="InternalIP")].address}')" = "$ip" ] ||
                fail "host$h's InternalIP is not $ip: $(kc get nodes -o wide)"
        # Each node's VXLAN endpoint, for the others, is its host's address (where its UDP port is published).
        pub=$(kc get node "host$h" -o jsonpath='{.metadata.annotations.flannel\.alpha\.coreos\.com/public-ip}')
        [ "$pub" = "$ip" ] || fail "host$h's Node names '$pub' as its VXLAN address, not $ip"
        jq -e --arg ip "$ip" '.ports[] | select(.proto == "udp" and .host_port == 8472 and .node_port == 8472 and .host_ip == $ip)' \
                "$WORK/$h/xdg/usernode/host$h/status.json" >/dev/null ||
                fail "host$h publishes no 8472/udp on $ip: $(jq -c .ports "$WORK/$h/xdg/usernode/host$h/status.json")"
done
kc get nodes -o wide
for h in a b; do
        ! grep -q "k3s starts again" "$WORK/$h/xdg/usernode/host$h/node.log" ||
                echo "k3s-join: on host $h flannel took its lease before the annotation: k3s was started again"
done

# A web server on each node; each reaches the other's by its pod address, across the hosts.
for h in a b; do
        kc apply -f - >/dev/null <<YAML || fail "cannot create pod web-$h"
apiVersion: v1
kind: Pod
metadata:
  name: web-$h
spec:
  nodeName: host$h
  containers:
  - name: web
    image: docker.io/library/busybox:usernode
    imagePullPolicy: Never
    command: ["httpd", "-f", "-p", "8080", "-h", "/etc"]
YAML
done
kc wait --for=condition=Ready pod/web-a pod/web-b --timeout=180s >/dev/null ||
        fail "the web pods are not Ready: $(kc get pods -o wide 2>&1)"
ip_a=$(kc get pod web-a -o jsonpath='{.status.podIP}') ip_b=$(kc get pod web-b -o jsonpath='{.status.podIP}')
echo "k3s-join: web-a $ip_a on hosta, web-b $ip_b on hostb"
[ "${ip_a%.*}" != "${ip_b%.*}" ] || fail "both pods in one pod CIDR: $ip_a $ip_b"
# reach POD IP: POD fetches IP:8080/hostname, a few tries (httpd listens a moment after Ready). (Debian's static
# busybox wget crashes with -T: the bound is timeout's.)
reach() { timeout 20 ip netns exec "$A" "${kubectl[@]}" --kubeconfig "$kubeconfig" exec "$1" -- wget -qO- "http://$2:8080/hostname"; }
retry 30 reach web-a "$ip_b" || fail "web-a ($ip_a) does not reach web-b ($ip_b) on the other host"
retry 30 reach web-b "$ip_a" || fail "web-b ($ip_b) does not reach web-a ($ip_a) on the other host"
# The agent's kubelet is reached from the server: exec and logs of the pod on B.
[ "$(kc exec web-b -- echo exec works)" = "exec works" ] || fail "kubectl exec into the pod on host B"
kc logs web-b >/dev/null || fail "kubectl logs of the pod on host B"
echo "k3s-join: pods on the two hosts reach each other"

for h in b a; do
        on "$h" "$USERNODE" down --name "host$h" --purge >/dev/null || fail "down --purge on $h"
done
left=$(ps -u "$TEST_USER" -o stat=,pid=,comm= | awk '$1 !~ /^Z/' || :)
[ -z "$left" ] || fail "processes left: $left"
echo "k3s-join-real: ok"
