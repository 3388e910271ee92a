#!/bin/bash
# A whole vanilla cluster from `usernode up --engine kubelet` without --server, with real Kubernetes
# (USERNODE_K8S_BIN: kubelet, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl) and Debian's
# etcd: the node brings its own control plane, its kubelet joins it through a bootstrap token and an
# approved CSR, the user's kubectl reaches the API server on 127.0.0.1 with ~/.kube/usernode-NAME.yaml,
# a pod runs; down then up keeps the cluster; with a coredns binary in USERNODE_K8S_BIN (its image
# put in the user's images directory between the two) the second start runs CoreDNS and a pod resolves kubernetes.default through it;
# down --purge leaves no process, file or kubeconfig.
. "${top_srcdir:-.}/tests/integration/lib.sh"
. "${top_srcdir:-.}/tests/integration/k8s-lib.sh"
set -o pipefail

k8s_node_require kube-apiserver

k8s_user_work cluster-real
cleanup() {
        for d in "$WORK"/xdg/usernode/*; do
                [ -d "$d" ] || continue
                as_user "$USERNODE" down --name "${d##*/}" --purge >/dev/null 2>&1 || :
        done
        rm -rf "$WORK"
}
trap cleanup EXIT

kubeconfig=$WORK/home/.kube/usernode-vanilla.yaml
kc() { as_user "$USERNODE_K8S_BIN/kubectl" --kubeconfig "$kubeconfig" "$@"; }

k8s_images
# The sandbox image and busybox wait in the user's images directory: every node imports them as it starts.
k8s_user_images pause busybox

# cgroup v1 here: the limits checks fail, the node runs without limits (its labels say so).
ign=$(as_user "$USERNODE" check --engine kubelet --json 2>/dev/null | jq -r '[.checks[] | select(.status == "fail") | .id] | join(",")' || :)
start=$(date +%s%N)
as_user "$USERNODE" up --engine kubelet --name vanilla ${ign:+--ignore "$ign"} --wait=180 --json \
        >"$WORK/up.json" 2>"$WORK/up.err" ||
        fail "up: $(cat "$WORK/up.err"; tail -n 20 "$WORK"/xdg/usernode/vanilla/node.log 2>/dev/null)"
echo "cluster: Node Ready $(( ($(date +%s%N) - start) / 1000000 )) ms after up started"
[ "$(jq -r .kubeconfig "$WORK/up.json")" = "$kubeconfig" ] || fail "up --json names no kubeconfig: $(cat "$WORK/up.json")"
[ "$(stat -c %a "$kubeconfig")" = 600 ] || fail "the kubeconfig is not 0600"
port=$(jq -r '.ports[] | select(.node_port == 6443) | .host_port' "$WORK/up.json")
[ "$(jq -r .apiserver "$WORK/up.json")" = "https://127.0.0.1:$port" ] || fail "up --json names no API server: $(cat "$WORK/up.json")"
[ "$(jq -r '.ports[] | select(.node_port == 6443) | .host_ip' "$WORK/up.json")" = 127.0.0.1 ] ||
        fail "the API server is not published on 127.0.0.1 only: $(jq -c .ports "$WORK/up.json")"
grep -q "server: https://127.0.0.1:$port\|\"server\": *\"https://127.0.0.1:$port\"" "$kubeconfig" ||
        fail "the kubeconfig does not point at 127.0.0.1:$port"

# The API agrees: the node Ready, and pods can be scheduled on it (up --wait returns then): no not-ready taint.
[ "$(kc get node vanilla -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ] ||
        fail "the Node is not Ready: $(kc get nodes -o wide 2>&1)"
taints=$(kc get node vanilla -o jsonpath='{.spec.taints[*].key}')
case " $taints " in *" node.kubernetes.io/not-ready "* | *" node.kubernetes.io/unreachable "*)
        fail "up --wait returned with the Node tainted: $taints" ;; esac
# The start's steps with their times, in the order they came (the Node may be Ready before the API server is):
# up --json's, and status --json's alike.
steps=$(jq -r '[.stages[].name] | sort | join(",")' "$WORK/up.json")
[ "$steps" = "api-ready,apiserver-ready,containerd,engine,namespace,network,node-ready,pods-schedulable" ] ||
        fail "up --json's stages: $(jq -c .stages "$WORK/up.json")"
jq -e '[.stages[].ms] | . == sort and .[0] >= 0' "$WORK/up.json" >/dev/null || fail "stage times out of order: $(jq -c .stages "$WORK/up.json")"
jq -e '[.stages[].name] | (index("namespace") < index("containerd")) and (index("pods-schedulable") > index("node-ready"))
        and (index("pods-schedulable") > index("apiserver-ready")) and (.[-1] == "api-ready")' "$WORK/up.json" >/dev/null ||
        fail "stages out of order: $(jq -c .stages "$WORK/up.json")"
echo "cluster: stages $(jq -r '[.stages[] | "\(.name) \(.ms)"] | join(", ")' "$WORK/up.json") (ms)"
# Its pod CIDR, as the node IPAM controller would have set it: the cluster network's first /24 (room for workers and
# nodes that join later).
cidr_set() { [ "$(kc get node vanilla -o jsonpath='{.spec.podCIDR}')" = 10.42.0.0/24 ]; }
retry 30 cidr_set || fail "the Node has no pod CIDR: $(kc get node vanilla -o jsonpath='{.spec}')"
# Other nodes can join with kubeadm's line: a bootstrap token, and cluster-info signed for it.
signed() { out=$(kc -n kube-public get configmap cluster-info -o jsonpath='{.data}') && grep -q jws-kubeconfig- <<<"$out"; }
retry 30 signed || fail "cluster-info is not signed for a bootstrap token: $(kc -n kube-public get configmap cluster-info -o yaml 2>&1)"
kc -n kube-system get secrets -o name | grep -q '^secret/bootstrap-token-' || fail "no bootstrap token"
[ "$(kc get --raw /readyz)" = ok ] || fail "readyz"
# The controller-manager and the scheduler serve no port (serving one costs each two RSA keys at every start); the API
# server keeps Go's default GOGC, the other daemons 50 (init/main.c).
kcm=$(pgrep -u "$TEST_USER" -x kube-controller) && sched=$(pgrep -u "$TEST_USER" -x kube-scheduler) &&
        apiserver=$(pgrep -u "$TEST_USER" -x kube-apiserver) || fail "no controller-manager, scheduler or API server of the node"
# LISTEN sockets on 10257 (0x2831) or 10259 (0x2833) in the node's network namespace.
tables=("/proc/$kcm/net/tcp")
[ ! -e "/proc/$kcm/net/tcp6" ] || tables+=("/proc/$kcm/net/tcp6")
listening=$(awk '$4 == "0A" && $2 ~ /:283[13]$/' "${tables[@]}") || fail "cannot read the node's sockets"
[ -z "$listening" ] || fail "the controller-manager or the scheduler serves a port: $listening"
gogc() { tr '\0' '\n' <"/proc/$1/environ" | sed -n 's/^GOGC=//p'; }
[ "$(gogc "$apiserver")/$(gogc "$kcm")/$(gogc "$sched")" = 100/50/50 ] ||
        fail "GOGC of the API server, controller-manager, scheduler: $(gogc "$apiserver")/$(gogc "$kcm")/$(gogc "$sched")"
as_user "$USERNODE" status --name vanilla >"$WORK/status" || fail "status: $(cat "$WORK/status")"
grep -q '^node: *Ready' "$WORK/status" || fail "status does not show the Node Ready: $(cat "$WORK/status")"
grep -q '^started: .* pods-schedulable [0-9.]* s, api-ready [0-9.]* s$' "$WORK/status" ||
        fail "status does not show the start's steps: $(cat "$WORK/status")"
[ "$(as_user "$USERNODE" status --name vanilla --json | jq -c .stages)" = "$(jq -c .stages "$WORK/up.json")" ] ||
        fail "status --json's stages are not up --json's"
# A join line for it, its token in a file named relative to the working directory; published on 127.0.0.1, only
# this host's nodes can use it, and join-command says so.
# shellcheck disable=SC2016 # expanded by the user's shell
as_user sh -c 'cd "$HOME" && exec "$1" join-command --name vanilla --token-file join-token' _ "$USERNODE" \
        >"$WORK/line" 2>"$WORK/line.err" || fail "join-command: $(cat "$WORK/line.err")"
grep -qE "^usernode up --engine kubelet --server 127.0.0.1:$port --token-file join-token --discovery-token-ca-cert-hash sha256:[0-9a-f]{64}\$" \
        "$WORK/line" || fail "join-command: $(cat "$WORK/line")"
grep -q "only nodes of this host reach it" "$WORK/line.err" || fail "join-command does not warn of 127.0.0.1: $(cat "$WORK/line.err")"
[ "$(stat -c '%a %U' "$WORK/home/join-token")" = "600 $TEST_USER" ] || fail "the token file is not the user's 0600"
kc -n kube-system get secret "bootstrap-token-$(cut -d. -f1 "$WORK/home/join-token")" >/dev/null ||
        fail "join-command's token is no bootstrap token of the cluster"
# A fresh node's image store has no CoreDNS: no cluster DNS, and status says so.
grep -q "^warning: *no cluster DNS: CoreDNS's image registry.k8s.io/coredns/coredns:v1.10.1 is not in the node's image store" \
        "$WORK/status" || fail "status does not say the cluster has no DNS: $(cat "$WORK/status")"
! kc -n kube-system get deployment coredns >/dev/null 2>&1 || fail "CoreDNS deployed without its image"
# The token is gone from the node's disk once the kubelet has its certificate.
! compgen -G "$WORK/home/.local/share/usernode/nodes/vanilla/kubelet/bootstrap-kubeconfig.json" >/dev/null ||
        fail "the bootstrap kubeconfig (the token) is still on disk"

kc apply -f - >/dev/null <<'YAML'
apiVersion: v1
kind: Pod
metadata:
  name: hello
spec:
  containers:
  - name: hello
    image: docker.io/library/busybox:usernode
    imagePullPolicy: Never
    command: ["/bin/sh", "-c", "echo hello from a vanilla cluster; exec sleep 600"]
YAML
kc wait --for=condition=Ready pod/hello --timeout=120s >/dev/null || fail "pod not Running: $(kc describe pod hello)"
echo "cluster: first pod Running $(( ($(date +%s%N) - start) / 1000000 )) ms after up started"
case $(kc get pod hello -o jsonpath='{.status.podIP}') in 10.42.*) ;; *) fail "the pod's address is not in the cluster network: $(kc get pod hello -o wide)" ;; esac
# logs and exec through a kubelet the API server verifies: the node issued its serving certificate from the
# cluster's CA before the kubelet started, so the kubelet asked for none.
[ "$(kc logs hello)" = "hello from a vanilla cluster" ] || fail "kubectl logs: $(kc logs hello 2>&1)"
[ "$(kc exec hello -- echo exec works)" = "exec works" ] || fail "kubectl exec"
pki=$WORK/home/.local/share/usernode/nodes/vanilla
openssl verify -CAfile "$pki/pki/ca.crt" "$pki/kubelet/pki/kubelet-server-current.pem" >/dev/null ||
        fail "the kubelet's serving certificate is not the cluster's"
[ "$(stat -c %a "$pki/kubelet/pki/kubelet-server-current.pem")" = 600 ] || fail "the kubelet's serving key is not 0600"
asked=$(kc get csr -o jsonpath='{range .items[?(@.spec.signerName=="kubernetes.io/kubelet-serving")]}{.spec.username}{"\n"}{end}')
[ -z "$asked" ] || fail "the kubelet asked for a serving certificate it had: '$asked'"
# Without cluster DNS the pod resolves as the node does, not through an address nobody answers.
dns_ip=$(kc get service kubernetes -o jsonpath='{.spec.clusterIP}' | sed 's/\.1$/.10/')
resolv=$(kc exec hello -- cat /etc/resolv.conf)
! grep -q "nameserver $dns_ip" <<<"$resolv" || fail "the pod's resolver is the cluster DNS that does not run: $resolv"
if [ -f "$WORK/img/coredns.tar" ]; then
        k8s_user_images coredns
else
        echo "cluster-real: no coredns in $USERNODE_K8S_BIN: the cluster DNS part is not run"
fi

# down then up: the same cluster (its etcd, its CA), the pod still there.
as_user "$USERNODE" down --name vanilla >/dev/null || fail "down"
as_user "$USERNODE" up --engine kubelet --name vanilla ${ign:+--ignore "$ign"} --wait=180 >/dev/null 2>"$WORK/up2.err" ||
        fail "up again: $(cat "$WORK/up2.err")"
kc get pod hello >/dev/null 2>&1 || fail "the cluster lost its pod across down/up"
if [ -f "$WORK/img/coredns.tar" ]; then
        # Its image in the store now: CoreDNS runs, pods resolve the cluster's names through it.
        as_user "$USERNODE" status --name vanilla >"$WORK/status" || fail "status: $(cat "$WORK/status")"
        ! grep -q "^warning: *no cluster DNS" "$WORK/status" || fail "status still says no cluster DNS: $(cat "$WORK/status")"
        kc -n kube-system wait --for=condition=Available deployment/coredns --timeout=120s >/dev/null ||
                fail "CoreDNS not available: $(kc -n kube-system describe pods -l k8s-app=kube-dns 2>&1 | tail -n 30)"
        [ "$(kc -n kube-system get service kube-dns -o jsonpath='{.spec.clusterIP}')" = "$dns_ip" ] ||
                fail "kube-dns is not at $dns_ip"
        kc apply -f - >/dev/null <<'YAML'
apiVersion: v1
kind: Pod
metadata:
  name: resolver
spec:
  restartPolicy: Never
  containers:
  - name: resolver
    image: docker.io/library/busybox:usernode
    imagePullPolicy: Never
    command: ["/bin/sh", "-c", "cat /etc/resolv.conf; nslookup kubernetes.default.svc.cluster.local"]
YAML
        done_ok() { [ "$(kc get pod resolver -o jsonpath='{.status.phase}')" = Succeeded ]; }
        retry 120 done_ok || fail "the cluster's name did not resolve: $(kc logs resolver 2>&1)"
        out=$(kc logs resolver)
        grep -q "nameserver $dns_ip" <<<"$out" || fail "the pod's resolver is not the cluster DNS: $out"
        grep -q "Address:.*${dns_ip%.10}.1\b" <<<"$out" || fail "kubernetes.default did not resolve to its Service: $out"
        echo "cluster-real: CoreDNS answers the cluster's names"
fi

as_user "$USERNODE" down --name vanilla --purge >"$WORK/down.out" 2>&1 || fail "down --purge: $(cat "$WORK/down.out")"
! grep -q "could not remove itself" "$WORK/down.out" || fail "down --purge tried to leave the cluster it took along: $(cat "$WORK/down.out")"
[ ! -e "$kubeconfig" ] || fail "down --purge left the kubeconfig"
! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || fail "the API server's port $port still answers after down --purge"
! compgen -G "$WORK/home/.local/share/usernode/nodes/vanilla" >/dev/null || fail "down --purge left the node's data"
! pgrep -u "$TEST_USER" -f '^(etcd|kube-apiserver|kube-controller-manager|kube-scheduler|kubelet) ' >/dev/null ||
        fail "processes left: $(pgrep -a -u "$TEST_USER")"
echo "cluster-real: ok"
