#!/bin/bash
# The kubelet engine with real Kubernetes (USERNODE_K8S_BIN: kubelet, kube-apiserver,
# kube-controller-manager, kube-scheduler, kubeadm, kubectl; kube-proxy and a static pause binary when
# there): a control plane in a network namespace of the test's own, set up by kubeadm (tests/integration/
# k8s-lib.sh); `up` with kubeadm's join line; the Node Ready with its labels, address and pod CIDR; images
# imported locally; a pod Running, its logs, exec and port-forward from the control plane's side, a
# Service through kube-proxy; no secret in any command line; a restart that keeps the node's certificate
# and pod logs; `down --purge` leaving no process, file or port, and telling how to remove the Node.
. "${top_srcdir:-.}/tests/integration/lib.sh"
. "${top_srcdir:-.}/tests/integration/k8s-lib.sh"
set -o pipefail

k8s_node_require kubelet "for the control plane's network namespace and the test user"

k8s_user_work up-real
pf_pid= thief=
cleanup() {
        [ -z "$pf_pid" ] || kill "$pf_pid" 2>/dev/null || :
        [ -z "$thief" ] || kill "$thief" 2>/dev/null || :
        for d in "$WORK"/xdg/usernode/*; do
                [ -d "$d" ] || continue
                as_user "$USERNODE" down --name "${d##*/}" --purge >/dev/null 2>&1 || :
        done
        k8s_control_plane_stop "$WORK/cp"
        rm -rf "$WORK"
}
trap cleanup EXIT

kc() { "$USERNODE_K8S_BIN/kubectl" --kubeconfig "$K8S_ADMIN" "$@"; }

# Images, built here: no registry is reachable. The sandbox image is usernode's default.
k8s_images

k8s_control_plane_start "$WORK/cp"
# The admin's one step for kube-proxy on usernode's nodes (README, usernode(8)).
kc create clusterrolebinding usernode-node-proxier --clusterrole=system:node-proxier --group=system:nodes >/dev/null

# kubeadm's join line, one word changed, the token moved to a file.
set -- $K8S_JOIN
[ "$1 $2" = "kubeadm join" ] || fail "kubeadm printed no join line: $K8S_JOIN"
server=$3
token=$(printf '%s\n' "$K8S_JOIN" | sed -n 's/.* --token \([^ ]*\).*/\1/p')
hash=$(printf '%s\n' "$K8S_JOIN" | sed -n 's/.* --discovery-token-ca-cert-hash \([^ ]*\).*/\1/p')
[ -n "$token" ] && [ -n "$hash" ] || fail "cannot read kubeadm's join line: $K8S_JOIN"
printf '%s\n' "$token" >"$WORK/home/token"
printf '%s\n' "${token#*.}" >"$WORK/secret"
chown "$TEST_USER:" "$WORK/home/token"
chmod 0600 "$WORK/home/token"
ign='cgroup.*'

start=$(date +%s%N)
as_user "$USERNODE" up --engine kubelet --name real1 --server "$server" --token-file "$WORK/home/token" \
        --discovery-token-ca-cert-hash "$hash" --ignore "$ign" --wait=120 --json >"$WORK/up.json" 2>"$WORK/up.err" ||
        fail "up: $(cat "$WORK/up.err"; tail -n 20 "$WORK/xdg/usernode/real1/kubelet.log" 2>/dev/null)"
echo "up: Node Ready $(( ($(date +%s%N) - start) / 1000000 )) ms after up started"
[ "$(jq -r .state "$WORK/up.json")" = running ] || fail "up --json: $(cat "$WORK/up.json")"
data=$WORK/home/.local/share/usernode/nodes/real1
runtime=$WORK/xdg/usernode/real1

# The API agrees: Ready, at the host's address on the route to the API server, its own pod CIDR, labels.
[ "$(kc get node real1 -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ] ||
        fail "up returned but the Node is not Ready: $(kc get node real1 -o yaml)"
[ "$(kc get node real1 -o jsonpath='{.status.addresses[?(@.type=="InternalIP")].address}')" = "$K8S_HOST_IP" ] ||
        fail "the Node's InternalIP is not the host's address: $(kc get node real1 -o jsonpath='{.status.addresses}')"
case $(kc get node real1 -o jsonpath='{.spec.podCIDR}') in 10.244.*.0/24) ;; *) fail "no pod CIDR from the cluster" ;; esac
# The cluster's pod network as kubeadm-config says (podSubnet), read at the join: the node's pod network to the
# others and kube-proxy's clusterCIDR are it, not the node's own default.
[ "$(cat "$data/kubelet/cluster-pod-network")" = 10.244.0.0/16 ] ||
        fail "the node did not keep the cluster's pod network: $(cat "$data/kubelet/cluster-pod-network" 2>&1)"
grep -q 'clusterCIDR: "10.244.0.0/16"' "$data/kube-proxy/config.yaml" ||
        fail "kube-proxy's clusterCIDR is not the cluster's pod network: $(grep clusterCIDR "$data/kube-proxy/config.yaml")"
label=$(kc get node real1 -o jsonpath='{.metadata.labels.usernode\.io/limits\.memory}')
want=$(as_user "$USERNODE" check --engine kubelet --json 2>/dev/null | jq -r '.features[] | select(.id == "limits.memory") | .status' || :)
[ -n "$label" ] && [ "$label" = "$want" ] || fail "label usernode.io/limits.memory is '$label', check says '$want'"
[ "$(kc get csr -o name | wc -l)" = 1 ] || fail "expected one CSR: $(kc get csr)"
as_user "$USERNODE" status --name real1 >"$WORK/status" || fail "status: $(cat "$WORK/status")"
grep -q '^node: *Ready' "$WORK/status" || fail "status does not show the Node Ready: $(cat "$WORK/status")"
[ "$(as_user "$USERNODE" status --name real1 --json | jq -r .node.ready)" = true ] || fail "status --json: no .node.ready"

# The token: gone from the disk once the kubelet has its certificate, never in a command line,
# environment or file of the node.
[ ! -e "$data/kubelet/bootstrap-kubeconfig.json" ] || fail "the bootstrap kubeconfig (the token) is still on disk"
for f in /proc/[0-9]*/cmdline /proc/[0-9]*/environ; do
        ! grep -qaF -f "$WORK/secret" "$f" 2>/dev/null || fail "the token's secret is in $f"
done
leak=$(grep -rlaF -f "$WORK/secret" "$runtime" "$data" 2>/dev/null || :)
[ -z "$leak" ] || fail "the token's secret is in $leak"

# A pod from images imported into the node.
for i in pause busybox; do
        as_user "$USERNODE" exec --name real1 -- ctr -n k8s.io images import "$WORK/img/$i.tar" >/dev/null ||
                fail "import of $i"
done
kc apply -f - >/dev/null <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web}
spec:
  containers:
  - name: web
    image: docker.io/library/busybox:usernode
    imagePullPolicy: Never
    command: ["/bin/sh", "-c", "echo web started; exec httpd -f -p 8080 -h /www"]
EOF
kc wait --for=condition=Ready pod/web --timeout=120s >/dev/null ||
        fail "pod not Running: $(kc describe pod web; tail -n 20 "$runtime/kubelet.log")"
echo "up: first pod Running $(( ($(date +%s%N) - start) / 1000000 )) ms after up started"

# From the control plane's side: logs, exec, port-forward (API server -> the node's published kubelet).
[ "$(kc logs web)" = "web started" ] || fail "kubectl logs: $(kc logs web 2>&1)"
[ "$(kc exec web -- echo exec works)" = "exec works" ] || fail "kubectl exec"
port=$(( 30000 + $$ % 20000 ))
kc port-forward pod/web "$port:8080" >"$WORK/pf.log" 2>&1 &
pf_pid=$!
retry 30 grep -q Forwarding "$WORK/pf.log" || fail "port-forward: $(cat "$WORK/pf.log")"
got=$(curl -s "http://127.0.0.1:$port/") || fail "port-forward: no answer"
[ "$got" = "hello from a container behind the CNI bridge" ] || fail "port-forward: '$got'"
kill "$pf_pid"
wait "$pf_pid" 2>/dev/null || :
pf_pid=

# A Service through the kube-proxy the node runs (its rules in place first: without them the packet
# would leave through the node's default route).
if [ -x "$USERNODE_K8S_BIN/kube-proxy" ]; then
        kc expose pod web --port 80 --target-port 8080 --name websvc >/dev/null
        svc=$(kc get service websvc -o jsonpath='{.spec.clusterIP}')
        rules() { as_user "$USERNODE" exec --name real1 -- iptables -t nat -S KUBE-SERVICES 2>/dev/null; }
        has_rule() { out=$(rules) && grep -q -- "-d $svc/32" <<<"$out"; }
        retry 30 has_rule || fail "kube-proxy programmed no rule for $svc: $(tail -n 5 "$runtime/kube-proxy.log")"
        got=$(kc exec web -- wget -qO- "http://$svc/") || fail "Service $svc not reachable from the pod"
        [ "$got" = "hello from a container behind the CNI bridge" ] || fail "Service: '$got'"
        out=$(kc exec web -- sh -c "printf 'GET /livez HTTP/1.0\r\n\r\n' | nc 10.96.0.1 443") || :
        case $out in *"HTTP request to an HTTPS server"*) ;; *) fail "kubernetes.default not reached: $out" ;; esac
fi

# Limits the host cannot enforce (this cgroup v1 host: the label says unavailable): a pod that sets one
# is told so by an Event from the node; a pod without limits is not.
kc apply -f - >/dev/null <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: limited
spec:
  containers:
  - name: limited
    image: docker.io/library/busybox:usernode
    imagePullPolicy: Never
    command: ["/bin/sh", "-c", "exec sleep 600"]
    resources:
      limits: {memory: 64Mi}
EOF
told() {
        out=$(kc get events --field-selector reason=LimitsNotEnforced,involvedObject.name="$1" -o jsonpath='{.items[*].message}') &&
                [ -n "$out" ] && printf '%s\n' "$out"
}
if [ "$label" = unavailable ]; then
        retry 30 told limited || fail "no LimitsNotEnforced Event for a pod with a memory limit: $(kc get events)"
        msg=$(told limited)
        case $msg in *"node real1 cannot enforce memory limits"*) ;; *) fail "the Event says '$msg'" ;; esac
        [ "$(kc get events --field-selector reason=LimitsNotEnforced -o name | wc -l)" = 1 ] ||
                fail "not exactly one Event: $(kc get events --field-selector reason=LimitsNotEnforced)"
        echo "up: a pod with a memory limit was told: $msg"
fi
kc delete pod limited --wait=false >/dev/null

# Pod logs live with the node's data.
pod_logs() { compgen -G "$data/log/pods/default_web_*" >/dev/null; }
pod_logs || fail "no pod logs under $data/log/pods"

# down then up again: the same certificate (no new CSR), no token needed, the pod logs kept.
as_user "$USERNODE" down --name real1 >/dev/null || fail "down"

# While the node is down nobody answers for it: its Node names no address, so another user who binds the kubelet's
# port gets nothing from the API server (kubeadm's does not verify the kubelet's serving certificate).
[ -z "$(kc get node real1 -o jsonpath='{.status.addresses}')" ] ||
        fail "the down node still names addresses: $(kc get node real1 -o jsonpath='{.status.addresses}')"
kport=$(jq -r --arg ip "$K8S_HOST_IP" '.ports[] | select(.host_ip == $ip and .proto == "tcp") | .host_port' "$WORK/up.json")
[ -n "$kport" ] || fail "up --json names no kubelet port on $K8S_HOST_IP: $(jq -c .ports "$WORK/up.json")"
setpriv --reuid=nobody --regid=nogroup --clear-groups /usr/bin/python3 -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(8)
print("listening", flush=True)
while True:
    c, _ = s.accept()
    print("connection", flush=True)
    c.close()' "$K8S_HOST_IP" "$kport" >"$WORK/stolen" 2>&1 &
thief=$!
retry 10 grep -q listening "$WORK/stolen" || fail "the other user's listener did not start: $(cat "$WORK/stolen")"
! kc logs web --request-timeout=10s >"$WORK/stolen-logs" 2>&1 || fail "kubectl logs answered for a down node: $(cat "$WORK/stolen-logs")"
! kc exec web --request-timeout=10s -- true >/dev/null 2>&1 || fail "kubectl exec answered for a down node"
kill "$thief"
wait "$thief" 2>/dev/null || :
thief=
! grep -q connection "$WORK/stolen" || fail "the API server connected to another user's listener on $K8S_HOST_IP:$kport"
as_user "$USERNODE" up --engine kubelet --name real1 --server "$server" --ignore "$ign" --wait=120 \
        >/dev/null 2>"$WORK/up2.err" || fail "up again: $(cat "$WORK/up2.err")"
[ "$(kc get csr -o name | wc -l)" = 1 ] || fail "the restart made a new CSR: $(kc get csr)"
pod_logs || fail "pod logs lost across down/up"
retry 30 kc logs web --request-timeout=10s || fail "kubectl logs after up again: $(kc logs web 2>&1)"

# down --purge: nothing left; the Node goes, or the admin is told how.
as_user "$USERNODE" down --name real1 --purge >"$WORK/down.out" 2>&1 || fail "down --purge: $(cat "$WORK/down.out")"
if kc get node real1 >/dev/null 2>&1; then
        grep -q "kubectl delete node real1" "$WORK/down.out" || fail "the Node stays and down said nothing: $(cat "$WORK/down.out")"
        kc delete node real1 >/dev/null
fi
[ ! -e "$data" ] && [ ! -e "$runtime" ] || fail "down --purge left files"
# Zombies do not count: this machine's PID 1 reaps the supervisors it inherits slowly.
left=$(ps -u "$TEST_USER" -o stat=,pid=,args= | awk '$1 !~ /^Z/' || :)
[ -z "$left" ] || fail "down --purge left processes: $left"
listening=$(ss -Htln "src $K8S_HOST_IP")
[ -z "$listening" ] || fail "a port is still published: $listening"

# The line kubeadm prints works as it is, one word changed (the token on the command line, warned).
join=$(printf '%s\n' "$K8S_JOIN" | sed 's/^kubeadm join /--server /')
# shellcheck disable=SC2086 # the join line's words
as_user "$USERNODE" up --engine kubelet --name real2 $join --ignore "$ign" --wait=120 >/dev/null 2>"$WORK/up3.err" ||
        fail "kubeadm's own line: $(cat "$WORK/up3.err")"
grep -q "warning: --token" "$WORK/up3.err" || fail "no warning for --token"
as_user "$USERNODE" down --name real2 --purge >/dev/null 2>&1 || fail "down real2"
kc delete node real2 >/dev/null 2>&1 || :
echo "up-real: ok"
