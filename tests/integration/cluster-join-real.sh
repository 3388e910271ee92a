#!/bin/bash
# A usernode cluster that others can join (issue "Many nodes, one cluster", its first part), with real
# Kubernetes (USERNODE_K8S_BIN) and Debian's etcd: two "hosts", network namespaces of this test's own joined by a
# veth pair (traffic never leaves them). On host A the test user runs `up` without --server and with
# --apiserver-address A: the API server is published there, its certificate valid for it, cluster-info names it;
# `join-command --token-file F` prints kubeadm's line with usernode up in front, the token in F (0600) and not on
# the line; on host B the same user (another runtime and home directory) runs that line and the node joins: both
# Nodes Ready, each with a pod CIDR of its own (A the cluster network's first /24, B the next, from A
# itself). Their pods reach each other over flannel's VXLAN (flanneld in each node, its UDP port
# published at the host's address): HTTP from a pod on each host to the other's, the server seeing the client pod's
# own address; 4 MiB through it (full-size segments: the MTU leaves room for the encapsulation); a ClusterIP Service
# whose endpoint is on B reached from A's pod, by its DNS name. B stops and comes back (its Node NotReady, then
# Ready with its pod CIDR, reached again); B's down --purge removes its Node and A's route to it; down --purge of
# both leaves no process.
. "${top_srcdir:-.}/tests/integration/lib.sh"
. "${top_srcdir:-.}/tests/integration/k8s-lib.sh"
set -o pipefail

k8s_node_require kube-apiserver
k8s_node_require flanneld "to run the pod network between hosts"
k8s_user_work cluster-join
cleanup() {
        two_hosts_down host
        rm -rf "$WORK"
}
trap cleanup EXIT
# A path narrower than the nodes' interfaces: the overlay's packets are fragmented on it, never dropped.
two_hosts j 251 1400
k8s_images
two_hosts_images pause busybox coredns
ign=$(on a "$USERNODE" check --engine kubelet --json 2>/dev/null | jq -r '[.checks[] | select(.status == "fail") | .id] | join(",")' || :)

# Host A: a cluster published where B reaches it.
t0=$(date +%s%N)
# A pod network that is not usernode's default: B, which names none, takes it from the cluster (kubeadm-config).
# The slirp4netns port driver keeps senders' addresses: each node's VXLAN port takes the cluster's nodes only.
on a "$USERNODE" up --engine kubelet --name hosta --apiserver-address "$IP_A" --cluster-cidr 10.77.0.0/16 --port-driver slirp4netns \
        ${ign:+--ignore "$ign"} --wait=180 --json \
        >"$WORK/a.json" 2>"$WORK/a.err" || fail "up on A: $(cat "$WORK/a.err"; tail -n 20 "$WORK/a/xdg/usernode/hosta/node.log")"
echo "cluster-join: host A's cluster: up -> Node Ready $(( ($(date +%s%N) - t0) / 1000000 )) ms"
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
on b "$USERNODE" "${line[@]:1}" --name hostb --port-driver slirp4netns ${ign:+--ignore "$ign"} --wait=180 >"$WORK/b.out" 2>"$WORK/b.err" ||
        fail "up on B: $(cat "$WORK/b.err"; tail -n 20 "$WORK/b/xdg/usernode/hostb/node.log")"

echo "cluster-join: host B joined: up -> its Node Ready $(( ($(date +%s%N) - t0) / 1000000 )) ms"
ready() { [ "$(kc get node "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]; }
retry 60 ready hosta || fail "hosta is not Ready: $(kc get nodes -o wide 2>&1)"
retry 60 ready hostb || fail "hostb is not Ready: $(kc get nodes -o wide 2>&1)"
cidr_a=$(kc get node hosta -o jsonpath='{.spec.podCIDR}') cidr_b=$(kc get node hostb -o jsonpath='{.spec.podCIDR}')
echo "cluster-join: hosta $cidr_a, hostb $cidr_b"
[ "$cidr_a" = 10.77.0.0/24 ] || fail "hosta's pod CIDR is $cidr_a, not the cluster network's first /24"
[ "$cidr_b" = 10.77.1.0/24 ] || fail "hostb's pod CIDR is '$cidr_b', not the next /24"
[ "$(cat "$WORK/b/home/.local/share/usernode/nodes/hostb/kubelet/cluster-pod-network")" = 10.77.0.0/16 ] ||
        fail "hostb did not take the cluster's pod network from it"
grep -q '"Network": "10.77.0.0/16"' "$WORK/b/xdg/usernode/hostb/flannel/net-conf.json" ||
        fail "hostb's flannel network is not the cluster's: $(cat "$WORK/b/xdg/usernode/hostb/flannel/net-conf.json")"

# Each node tells the others where its VXLAN endpoint is through its own Node (flannel's annotations).
for h in a b; do
        ip=$IP_A
        [ $h = a ] || ip=$IP_B
        pub=$(kc get node "host$h" -o jsonpath='{.metadata.annotations.flannel\.alpha\.coreos\.com/public-ip}')
        [ "$pub" = "$ip" ] || fail "host$h's Node names '$pub' as its VXLAN address, not $ip"
        jq -e --arg ip "$ip" '.ports[] | select(.proto == "udp" and .host_port == 8472 and .node_port == 8472 and .host_ip == $ip)' \
                "$WORK/$h/xdg/usernode/host$h/status.json" >/dev/null ||
                fail "host$h publishes no 8472/udp on $ip: $(jq -c .ports "$WORK/$h/xdg/usernode/host$h/status.json")"
done

# A web server on each node that answers with the address it sees the client at, and 4 MiB.
for h in a b; do
        k8s_web_pod "web-$h" "host$h" || fail "cannot create pod web-$h"
done
kc wait --for=condition=Ready pod/web-a pod/web-b --timeout=120s >/dev/null ||
        fail "the web pods are not Ready: $(kc get pods -o wide 2>&1)"
pod_a=$(kc get pod web-a -o jsonpath='{.status.podIP}') pod_b=$(kc get pod web-b -o jsonpath='{.status.podIP}')
echo "cluster-join: web-a $pod_a on hosta, web-b $pod_b on hostb"
[ "${pod_a%.*}.0/24" = "$cidr_a" ] || fail "web-a's address $pod_a is not in hosta's $cidr_a"
[ "${pod_b%.*}.0/24" = "$cidr_b" ] || fail "web-b's address $pod_b is not in hostb's $cidr_b"
for pair in "a $pod_a $pod_b" "b $pod_b $pod_a"; do
        read -r from src dst <<<"$pair"
        seen=$(k8s_pod_get "web-$from" "http://$dst:8080/cgi-bin/ip") ||
                fail "web-$from ($src) does not reach $dst: $(tail -n 5 "$WORK/$from/xdg/usernode/host$from/flannel.log")"
        [ "$seen" = "$src" ] || fail "web-$from's request to $dst arrived from $seen, not from the pod's own $src"
        size=$(kc exec "web-$from" -- sh -c "timeout 20 wget -qO- http://$dst:8080/4m | wc -c") || fail "4 MiB from $dst to web-$from"
        [ "$size" -eq 4194304 ] || fail "web-$from got $size bytes of 4 MiB from $dst"
done

# A's VXLAN port takes B's packets (the cluster's node flannel knows) and drops those of any other sender: one from
# another address of B's link is counted by the rule that drops.
init_a=$(jq -r .pids.init "$WORK/a/xdg/usernode/hosta/status.json")
guard() { nsenter -t "$init_a" -U -n iptables -w "$1" USERNODE-VXLAN "${@:2}"; }
rules=$(guard -S) || fail "hosta has no VXLAN guard"
grep -qF -- "-A USERNODE-VXLAN -s $IP_B/32" <<<"$rules" || fail "hosta's VXLAN port does not take hostb: $rules"
grep -qF -- "-j DROP" <<<"$rules" || fail "hosta's VXLAN port takes anyone: $rules"
dropped() { guard -L -v -n -x | awk '$3 == "DROP" { print $1 }'; }
before=$(dropped)
IP_C=$HOSTS_NET.3
ip -n "$B" addr add "$IP_C/24" dev "uvp$$"
ip netns exec "$B" python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 0))
s.sendto(bytes(8) + bytes(42), (sys.argv[2], 8472))' "$IP_C" "$IP_A" || fail "cannot send from $IP_C"
more_dropped() { [ "$(dropped)" -gt "$before" ]; }
retry 10 more_dropped || fail "hosta did not drop VXLAN from $IP_C: $(guard -L -v -n -x)"

# The nodes' kubelets serve with certificates of the cluster, their requests approved by A: kubectl logs reaches B's
# pod through a kubelet the API server verifies. A request by B for what is not B's (A's address) is denied.
kc logs web-b >/dev/null || fail "kubectl logs of B's pod: $(kc logs web-b 2>&1)"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$WORK/forged.key" \
        -subj "/O=system:nodes/CN=system:node:hostb" -addext "subjectAltName=DNS:hostb,IP:$IP_A" -out "$WORK/forged.csr" 2>/dev/null ||
        fail "openssl req"
kb() {
        ip netns exec "$B" "$USERNODE_K8S_BIN/kubectl" --request-timeout=10s \
                --kubeconfig "$WORK/b/home/.local/share/usernode/nodes/hostb/kubelet/kubeconfig.yaml" "$@"
}
kb create -f - >/dev/null <<EOF || fail "hostb cannot ask for a certificate"
apiVersion: certificates.k8s.io/v1
kind: CertificateSigningRequest
metadata: {name: forged-$$}
spec:
  request: $(base64 -w0 "$WORK/forged.csr")
  signerName: kubernetes.io/kubelet-serving
  usages: [digital signature, server auth]
EOF
denied() { [ "$(kc get csr "forged-$$" -o jsonpath='{.status.conditions[0].type}')" = Denied ]; }
retry 30 denied || fail "hostb's request for $IP_A is not denied: $(kc get csr "forged-$$" -o yaml)"
msg=$(kc get csr "forged-$$" -o jsonpath='{.status.conditions[0].message}')
case $msg in *"IP address $IP_A is not among Node hostb's addresses"*) ;; *) fail "denied as: $msg" ;; esac

# A Service whose only endpoint is on B, from A's pod, by its name (cluster DNS, wherever CoreDNS runs).
kc expose pod web-b --name web-b --port 80 --target-port 8080 >/dev/null || fail "kubectl expose"
svc=$(kc get service web-b -o jsonpath='{.spec.clusterIP}')
# kube-proxy on A follows the new Service through its watch: a bounded wait for it.
retry 30 k8s_pod_get web-a "http://$svc/cgi-bin/ip" || fail "web-a does not reach Service $svc on B"
seen=$(k8s_pod_get web-a "http://$svc/cgi-bin/ip") || fail "web-a reached Service $svc on B once only"
[ "$seen" = "$pod_a" ] || fail "Service web-b saw web-a at $seen, not $pod_a"
if [ -e "$WORK/img/coredns.tar" ]; then
        kc -n kube-system wait --for=condition=Available deployment/coredns --timeout=120s >/dev/null ||
                fail "CoreDNS is not available: $(kc get pods -A -o wide 2>&1)"
        # kube-proxy follows CoreDNS's endpoint through its watch: a bounded wait for the name to answer.
        retry 60 k8s_pod_get web-a http://web-b.default.svc.cluster.local/cgi-bin/ip ||
                fail "web-a does not reach web-b.default.svc.cluster.local: $(kc get pods -A -o wide 2>&1)"
        seen=$(k8s_pod_get web-a http://web-b.default.svc.cluster.local/cgi-bin/ip) || fail "web-b by name answered once only"
        [ "$seen" = "$pod_a" ] || fail "web-b by name saw $seen"
fi

# B stops and comes back: its Node NotReady at once, then Ready with the same pod CIDR, and A's pod reaches B's again
# (its VXLAN endpoint is a new device: A's flanneld follows B's Node).
on b "$USERNODE" down --name hostb >/dev/null || fail "down on B"
[ "$(kc get node hostb -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" != True ] ||
        fail "hostb is still Ready after down"
on b "$USERNODE" "${line[@]:1}" --name hostb --port-driver slirp4netns ${ign:+--ignore "$ign"} --wait=180 >"$WORK/b.out" 2>"$WORK/b.err" ||
        fail "up again on B: $(cat "$WORK/b.err"; tail -n 20 "$WORK/b/xdg/usernode/hostb/node.log")"
[ "$(kc get node hostb -o jsonpath='{.spec.podCIDR}')" = "$cidr_b" ] || fail "hostb came back with another pod CIDR"
reach_b() {
        local ip
        ip=$(kc get pod web-b -o jsonpath='{.status.podIP}') && [ -n "$ip" ] &&
                [ "$(k8s_pod_get web-a "http://$ip:8080/cgi-bin/ip")" = "$pod_a" ]
}
retry 120 reach_b || fail "web-a does not reach web-b after hostb came back: $(kc get pods -o wide 2>&1)"

# B leaves for good: its Node goes, and with it A's route to its pods and its place in A's VXLAN guard.
[ -n "$(nsenter -t "$init_a" -U -n ip route show "$cidr_b")" ] || fail "hosta has no route to $cidr_b"
on b "$USERNODE" down --name hostb --purge >"$WORK/down.out" 2>&1 || fail "down --purge on B: $(cat "$WORK/down.out")"
! kc get node hostb >/dev/null 2>&1 || fail "hostb's Node is left after down --purge: $(cat "$WORK/down.out")"
route_gone() { [ -z "$(nsenter -t "$init_a" -U -n ip route show "$cidr_b")" ]; }
retry 30 route_gone || fail "hosta still routes $cidr_b to the node that left"
guard_gone() { rules=$(guard -S) && ! grep -qF -- "-s $IP_B/32" <<<"$rules"; }
retry 30 guard_gone || fail "hosta's VXLAN port still takes the node that left: $(guard -S; nsenter -t "$init_a" -U -n bridge fdb show dev flannel.1; grep -a 'VXLAN\|forwarding' "$WORK/a/xdg/usernode/hosta/node.log" | tail -5)"
on a "$USERNODE" down --name hosta --purge >/dev/null || fail "down --purge on A"
left=$(ps -u "$TEST_USER" -o stat=,pid= | awk '$1 !~ /^Z/ { print $2 }' | while read -r p; do
        grep -qzF "XDG_RUNTIME_DIR=$WORK/" "/proc/$p/environ" 2>/dev/null && echo "$p"; done || :)
[ -z "$left" ] || fail "processes left: $left"
echo "cluster-join-real: ok"
