#!/bin/bash
# One host, many nodes (issue "Many nodes, one cluster"), with real Kubernetes (USERNODE_K8S_BIN) and Debian's etcd:
# `usernode up --name NAME --workers 2 --wait` brings a 3-node cluster for the test user, the workers inside the
# node's user namespace on a bridge of its own (no port published for them, nothing leaves the user's namespaces).
# All three Nodes Ready when up returns, each with a pod CIDR of its own; status lists them; a web pod on each node
# reaches the others by pod IP both ways, the server seeing the client pod's own address; 4 MiB between nodes; a
# ClusterIP Service whose endpoint is on worker 1 reached from worker 2's pod, by its DNS name when CoreDNS can run;
# a worker that dies is started again (its Node Ready again, its pod CIDR the same); down and up of one worker (its
# Node NotReady at once, back with its CIDR), down --purge of one (its Node gone); down makes every Node NotReady
# and up brings the same three back; a second user's cluster with workers runs on the host at the same time, its
# nodes unreachable from the first user's pods; down --purge leaves no process or file.
. "${top_srcdir:-.}/tests/integration/lib.sh"
. "${top_srcdir:-.}/tests/integration/k8s-lib.sh"
set -o pipefail

k8s_node_require kube-apiserver
command -v iptables >/dev/null || skip "iptables is not installed"

k8s_user_work workers-real
SECOND_USER=usernode-test2
cleanup() {
        as_user "$USERNODE" down --name ci --purge >/dev/null 2>&1 || :
        as_second "$USERNODE" down --name other --purge >/dev/null 2>&1 || :
        rm -rf "$WORK"
}
trap cleanup EXIT
# live_processes USER: USER's processes that still run, one "PID ARGS" per line; the supervisor `up` detached ends as a
# zombie of the host's PID 1, which reaps it in its own time.
live_processes() { ps -u "$1" -o pid=,stat=,args= | awk '$2 !~ /^Z/'; }

kubeconfig=$WORK/home/.kube/usernode-ci.yaml
kc() { as_user "$USERNODE_K8S_BIN/kubectl" --kubeconfig "$kubeconfig" --request-timeout=10s "$@"; }

k8s_images
k8s_user_images pause busybox
[ ! -e "$WORK/img/coredns.tar" ] || k8s_user_images pause busybox coredns

ign=$(as_user "$USERNODE" check --engine kubelet --json 2>/dev/null | jq -r '[.checks[] | select(.status == "fail") | .id] | join(",")' || :)
t0=$(date +%s%N)
as_user "$USERNODE" up --engine kubelet --name ci --workers 2 ${ign:+--ignore "$ign"} --wait=300 --json \
        >"$WORK/up.json" 2>"$WORK/up.err" ||
        fail "up --workers 2: $(cat "$WORK/up.err"; tail -n 20 "$WORK"/xdg/usernode/ci/node.log; tail -n 20 "$WORK"/xdg/usernode/ci/workers/*/node.log)"
echo "workers: up -> 3 nodes Ready $(( ($(date +%s%N) - t0) / 1000000 )) ms"

# All three Ready when up returned, each with a /24 of its own, in order.
ready() { [ "$(kc get node "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]; }
i=0
for n in ci ci-worker1 ci-worker2; do
        ready "$n" || fail "$n is not Ready when up returned: $(kc get nodes -o wide 2>&1)"
        cidr=$(kc get node "$n" -o jsonpath='{.spec.podCIDR}')
        [ "$cidr" = "10.42.$i.0/24" ] || fail "$n's pod CIDR is '$cidr', not 10.42.$i.0/24"
        i=$((i + 1))
done
# No port of the host for them: the node publishes its API server only.
[ "$(jq '[.ports[]] | length' "$WORK/up.json")" = 1 ] || fail "ports published for the workers: $(jq -c .ports "$WORK/up.json")"
as_user "$USERNODE" status --name ci >"$WORK/status" || fail "status: $(cat "$WORK/status")"
for n in ci-worker1 ci-worker2; do
        grep -qE "^worker: *$n +Ready +10\.42\.[12]\.0/24" "$WORK/status" || fail "status does not list $n Ready: $(cat "$WORK/status")"
done
as_user "$USERNODE" status --name ci --json >"$WORK/status.json" || fail "status --json"
[ "$(jq -r '[.workers[] | select(.ready) | .name] | join(",")' "$WORK/status.json")" = ci-worker1,ci-worker2 ] ||
        fail "status --json does not list the workers Ready: $(jq -c .workers "$WORK/status.json")"

# A web server on each node that answers with the address it sees the client at, and 4 MiB.
for n in ci ci-worker1 ci-worker2; do
        k8s_web_pod "web-$n" "$n" || fail "cannot create pod web-$n"
done
kc wait --for=condition=Ready pod/web-ci pod/web-ci-worker1 pod/web-ci-worker2 --timeout=180s >/dev/null ||
        fail "the web pods are not Ready: $(kc get pods -o wide 2>&1)"
declare -A ip
for n in ci ci-worker1 ci-worker2; do
        ip[$n]=$(kc get pod "web-$n" -o jsonpath='{.status.podIP}')
done
echo "workers: web pods at ${ip[ci]} ${ip[ci-worker1]} ${ip[ci-worker2]}"
for from in ci ci-worker1 ci-worker2; do
        for to in ci ci-worker1 ci-worker2; do
                [ "$from" != "$to" ] || continue
                seen=$(k8s_pod_get "web-$from" "http://${ip[$to]}:8080/cgi-bin/ip") || fail "web-$from does not reach web-$to at ${ip[$to]}"
                [ "$seen" = "${ip[$from]}" ] || fail "web-$from's request to web-$to arrived from $seen, not from ${ip[$from]}"
        done
        size=$(kc exec "web-$from" -- sh -c "timeout 20 wget -qO- http://${ip[ci-worker2]}:8080/4m | wc -c") ||
                fail "4 MiB to web-$from"
        [ "$size" -eq 4194304 ] || fail "web-$from got $size bytes of 4 MiB"
done
# The workers' kubelets serve with certificates of the cluster: logs of a worker's pod through a verified kubelet.
kc logs web-ci-worker1 >/dev/null || fail "kubectl logs of a worker's pod: $(kc logs web-ci-worker1 2>&1)"

# A Service whose only endpoint is on worker 1, from worker 2's pod; by name when the cluster has DNS.
kc expose pod web-ci-worker1 --name web1 --port 80 --target-port 8080 >/dev/null || fail "kubectl expose"
svc=$(kc get service web1 -o jsonpath='{.spec.clusterIP}')
retry 30 k8s_pod_get web-ci-worker2 "http://$svc/cgi-bin/ip" || fail "web-ci-worker2 does not reach Service $svc"
seen=$(k8s_pod_get web-ci-worker2 "http://$svc/cgi-bin/ip") || fail "Service $svc answered once only"
[ "$seen" = "${ip[ci-worker2]}" ] || fail "Service web1 saw web-ci-worker2 at $seen"
if [ -e "$WORK/img/coredns.tar" ]; then
        kc -n kube-system wait --for=condition=Available deployment/coredns --timeout=120s >/dev/null ||
                fail "CoreDNS is not available: $(kc get pods -A -o wide 2>&1)"
        retry 60 k8s_pod_get web-ci-worker2 http://web1.default.svc.cluster.local/cgi-bin/ip ||
                fail "web-ci-worker2 does not reach web1.default.svc.cluster.local: $(kc get pods -A -o wide 2>&1)"
fi

# A worker whose init dies is started again: its Node Ready again, with the same pod CIDR, its pods reached.
wpid=$(pgrep -u "$TEST_USER" -f "__node-init --name ci-worker1 " | head -n 1)
[ -n "$wpid" ] || fail "no init of ci-worker1"
kill -9 "$wpid"
not_ready() { ! ready "$1"; }
retry 60 not_ready ci-worker1 || : # the kubelet that died said nothing: the controller-manager notices in its time
retry 120 ready ci-worker1 || fail "ci-worker1 is not Ready again: $(tail -n 20 "$WORK"/xdg/usernode/ci/node.log)"
[ "$(kc get node ci-worker1 -o jsonpath='{.spec.podCIDR}')" = 10.42.1.0/24 ] || fail "ci-worker1 changed its pod CIDR"
# Its pod came back with it (a new sandbox, an address of the same CIDR): reached again.
reach_worker1() {
        ip[ci-worker1]=$(kc get pod web-ci-worker1 -o jsonpath='{.status.podIP}') && [ -n "${ip[ci-worker1]}" ] &&
                [ "$(k8s_pod_get web-ci "http://${ip[ci-worker1]}:8080/cgi-bin/ip")" = "${ip[ci]}" ]
}
retry 120 reach_worker1 || fail "web-ci does not reach web-ci-worker1 after its node came back: $(kc get pods -o wide 2>&1)"

# down of one worker: its Node NotReady when down returns, its processes gone, the others' pods still answer; status
# says it is stopped; up brings it back with the same pod CIDR.
as_user "$USERNODE" down --name ci-worker2 >"$WORK/down-w2.out" 2>&1 || fail "down --name ci-worker2: $(cat "$WORK/down-w2.out")"
[ "$(kc get node ci-worker2 -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" != True ] ||
        fail "ci-worker2 is still Ready after its down"
! pgrep -u "$TEST_USER" -f "__node-init --name ci-worker2 " >/dev/null || fail "ci-worker2's init still runs after its down"
seen=$(k8s_pod_get web-ci "http://${ip[ci-worker1]}:8080/cgi-bin/ip") || fail "web-ci no longer reaches web-ci-worker1"
as_user "$USERNODE" status --name ci >"$WORK/status" || fail "status with a worker stopped: $(cat "$WORK/status")"
grep -qE "^worker: *ci-worker2 +stopped" "$WORK/status" || fail "status does not say ci-worker2 is stopped: $(cat "$WORK/status")"
as_user "$USERNODE" up --name ci-worker2 --wait=180 >"$WORK/up-w2.out" 2>&1 || fail "up --name ci-worker2: $(cat "$WORK/up-w2.out")"
ready ci-worker2 || fail "ci-worker2 is not Ready when up --name returned"
[ "$(kc get node ci-worker2 -o jsonpath='{.spec.podCIDR}')" = 10.42.2.0/24 ] || fail "ci-worker2 came back with another pod CIDR"
# down --purge of a worker: its Node deleted, its state gone; it stays away (a restart of the node included) until up.
as_user "$USERNODE" down --name ci-worker2 --purge >"$WORK/down-w2.out" 2>&1 ||
        fail "down --purge --name ci-worker2: $(cat "$WORK/down-w2.out")"
! kc get node ci-worker2 >/dev/null 2>&1 || fail "ci-worker2's Node is left after its down --purge"
[ ! -e "$WORK/home/.local/share/usernode/nodes/ci/workers/ci-worker2/containerd" ] || fail "ci-worker2's state is left"
as_user "$USERNODE" up --name ci-worker2 --wait=180 >"$WORK/up-w2.out" 2>&1 || fail "up --name ci-worker2 after purge: $(cat "$WORK/up-w2.out")"
ready ci-worker2 || fail "ci-worker2 is not Ready after its purge and up"
# Not a worker, not a node: the usual error.
! as_user "$USERNODE" down --name ci-worker9 >"$WORK/down-w9.out" 2>&1 || fail "down of a worker that does not exist succeeded"
grep -q "no node named 'ci-worker9'" "$WORK/down-w9.out" || fail "down --name ci-worker9: $(cat "$WORK/down-w9.out")"

# A second user's cluster with a worker, at the same time: its own bridge, its own nodes; the first user's pods do not
# reach its pods.
TEST_USER=$SECOND_USER ensure_test_user
install -d -o "$SECOND_USER" -m 0700 "$WORK/xdg2" "$WORK/home2" "$WORK/home2/.local" "$WORK/home2/.local/share" \
        "$WORK/home2/.local/share/usernode" "$WORK/home2/.local/share/usernode/images"
for i in pause busybox; do install -o "$SECOND_USER" -m 0600 "$WORK/img/$i.tar" "$WORK/home2/.local/share/usernode/images/"; done
as_second() {
        runuser -u "$SECOND_USER" -- env -i PATH="$USERNODE_K8S_BIN:/usr/sbin:/usr/bin:/sbin:/bin" HOME="$WORK/home2" \
                XDG_RUNTIME_DIR="$WORK/xdg2" "$@"
}
as_second "$USERNODE" up --engine kubelet --name other --workers 1 ${ign:+--ignore "$ign"} --wait=300 >"$WORK/up2.out" 2>&1 ||
        fail "the second user's up --workers 1: $(cat "$WORK/up2.out"; tail -n 20 "$WORK"/xdg2/usernode/other/node.log)"
kc2() { as_second "$USERNODE_K8S_BIN/kubectl" --kubeconfig "$WORK/home2/.kube/usernode-other.yaml" --request-timeout=10s "$@"; }
ready2() { [ "$(kc2 get node "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]; }
ready2 other-worker1 || fail "the second user's worker is not Ready: $(kc2 get nodes -o wide 2>&1)"
kc2 apply -f - >/dev/null <<EOF || fail "cannot create the second user's pod"
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  nodeName: other-worker1
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: docker.io/library/busybox:usernode
    imagePullPolicy: Never
    command: ["httpd", "-f", "-p", "8080", "-h", "/"]
    readinessProbe:
      tcpSocket: {port: 8080}
      periodSeconds: 1
EOF
kc2 wait --for=condition=Ready pod/web --timeout=180s >/dev/null || fail "the second user's pod is not Ready"
other=$(kc2 get pod web -o jsonpath='{.status.podIP}')
! kc exec web-ci-worker1 -- timeout 5 wget -qO- "http://$other:8080/" >/dev/null 2>&1 ||
        fail "the first user's pod reaches the second user's pod at $other"
as_second "$USERNODE" down --name other --purge >/dev/null || fail "the second user's down --purge"
left=$(live_processes "$SECOND_USER")
[ -z "$left" ] || fail "processes of $SECOND_USER left: $left"

# A worker that keeps dying is not started again (five deaths within 300 s, as for the node's daemons): the node says
# it is degraded and why; up --name starts it afresh.
worker_init() { pgrep -u "$TEST_USER" -f "^[^ ]*usernode __node-init --name ci-worker1 " | head -n 1; }
worker_running() { [ -n "$(worker_init)" ]; }
# With the death above, four more make five.
for i in 1 2 3 4; do
        retry 60 worker_running ||
                fail "ci-worker1 was not started again after death $i: $(grep -a 'worker ci-worker1' "$WORK/xdg/usernode/ci/node.log" | tail -n 5)"
        kill -9 "$(worker_init)"
        gone() { [ -z "$(worker_init)" ]; }
        retry 30 gone || fail "ci-worker1's init did not die"
done
# status exits 1 for a degraded node: its output taken whole first.
degraded() {
        local out
        out=$(as_user "$USERNODE" status --name ci --json || :)
        jq -e '.state == "degraded" and (.last_error | test("worker ci-worker1 keeps dying"))' <<<"$out"
}
retry 30 degraded || fail "the node does not say ci-worker1 keeps dying: $(as_user "$USERNODE" status --name ci 2>&1)"
as_user "$USERNODE" up --name ci-worker1 --wait=180 >"$WORK/up-w1.out" 2>&1 || fail "up --name ci-worker1 after it failed: $(cat "$WORK/up-w1.out")"
ready ci-worker1 || fail "ci-worker1 is not Ready after up --name"

# down: nothing of the cluster runs; up brings the same three back, and a fourth.
as_user "$USERNODE" down --name ci >/dev/null || fail "down"
left=$(live_processes "$TEST_USER")
[ -z "$left" ] || fail "processes left after down: $left"
# Up again with one worker more: the same nodes back, the new one with the next /24.
as_user "$USERNODE" up --engine kubelet --name ci --workers 3 ${ign:+--ignore "$ign"} --wait=300 >/dev/null 2>"$WORK/up.err" ||
        fail "up again: $(cat "$WORK/up.err")"
for n in ci ci-worker1 ci-worker2 ci-worker3; do
        ready "$n" || fail "$n is not Ready after up again"
done
[ "$(kc get node ci-worker2 -o jsonpath='{.spec.podCIDR}')" = 10.42.2.0/24 ] || fail "ci-worker2 changed its pod CIDR"
[ "$(kc get node ci-worker3 -o jsonpath='{.spec.podCIDR}')" = 10.42.3.0/24 ] || fail "ci-worker3 has no pod CIDR of its own"

as_user "$USERNODE" down --name ci --purge >/dev/null || fail "down --purge"
left=$(live_processes "$TEST_USER")
[ -z "$left" ] || fail "processes left: $left"
[ ! -e "$WORK/home/.local/share/usernode/nodes/ci" ] || fail "the node's data is left"
[ ! -e "$WORK/xdg/usernode/ci" ] || fail "the node's runtime directory is left"
echo "workers: ok"
