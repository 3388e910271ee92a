# A real Kubernetes control plane for the tests and benchmarks that join it (sourced after lib.sh):
# Debian's etcd and upstream kube-apiserver, kube-controller-manager and kube-scheduler from
# $USERNODE_K8S_BIN, in a network namespace of the test's own that the host reaches through a veth
# pair; PKI, kubeconfigs, bootstrap token, cluster-info and kubelet-config made by the real kubeadm
# as `kubeadm init` makes them. No traffic leaves the machine.

K8S_BINARIES="kubelet kube-apiserver kube-controller-manager kube-scheduler kubeadm kubectl"

# k8s_require: skips unless USERNODE_K8S_BIN holds the upstream binaries and etcd is installed.
k8s_require() {
        [ -n "${USERNODE_K8S_BIN:-}" ] ||
                skip "USERNODE_K8S_BIN names no directory with the upstream Kubernetes binaries ($K8S_BINARIES)"
        for b in $K8S_BINARIES; do
                [ -x "$USERNODE_K8S_BIN/$b" ] || skip "no $b in USERNODE_K8S_BIN=$USERNODE_K8S_BIN"
        done
        command -v etcd >/dev/null || skip "etcd (Debian's etcd-server) is not installed"
        command -v openssl >/dev/null || skip "openssl is not installed"
        command -v ip >/dev/null || skip "iproute2 is not installed"
}

# k8s_node_require BINARY [WHY]: what a test that runs a node of the upstream binaries as the test user needs
# (root, the binaries, the host's node tools, the CNI plugins, the test user able to run USERNODE_K8S_BIN/BINARY),
# or it skips with the reason.
k8s_node_require() {
        [ "$(id -u)" -eq 0 ] || skip "needs root ${2:-to create the test user}"
        k8s_require
        for b in rootlesskit slirp4netns containerd ctr crun newuidmap jq; do
                command -v "$b" >/dev/null 2>&1 || skip "$b is not installed"
        done
        [ -x /usr/lib/cni/bridge ] || skip "containernetworking-plugins is not installed"
        ensure_test_user
        runuser -u "$TEST_USER" -- test -x "$USERNODE_K8S_BIN/$1" || skip "$TEST_USER cannot run $USERNODE_K8S_BIN/$1"
}

# k3s_node_require TOOL...: what a test that runs a real k3s node as the test user needs (root, USERNODE_K3S_BIN with
# k3s and its CNI plugins, the host's node tools and TOOLs, the test user able to run that k3s), or it skips with the
# reason. Sets K3S_CNI: the directory of k3s's CNI plugins (USERNODE_K3S_BIN or its cni-bin/).
k3s_node_require() {
        [ "$(id -u)" -eq 0 ] || skip "needs root to create the test user"
        [ -n "${USERNODE_K3S_BIN:-}" ] || skip "USERNODE_K3S_BIN names no directory with a real k3s (and its CNI plugins)"
        [ -x "$USERNODE_K3S_BIN/k3s" ] || skip "no k3s in USERNODE_K3S_BIN=$USERNODE_K3S_BIN"
        for b in rootlesskit slirp4netns newuidmap jq "$@"; do
                command -v "$b" >/dev/null 2>&1 || skip "$b is not installed"
        done
        ensure_test_user
        runuser -u "$TEST_USER" -- test -x "$USERNODE_K3S_BIN/k3s" || skip "$TEST_USER cannot run $USERNODE_K3S_BIN/k3s"
        K3S_CNI=$USERNODE_K3S_BIN
        [ -x "$K3S_CNI/host-local" ] || K3S_CNI=$USERNODE_K3S_BIN/cni-bin
        [ -x "$K3S_CNI/flannel" ] || skip "no k3s CNI plugins (flannel, host-local, ...) in $USERNODE_K3S_BIN or its cni-bin/"
}

# k8s_user_work NAME: WORK, a fresh directory /tmp/usernode-NAME.* that the test user can reach, with the
# user's xdg/ (0700) and home/, and img/ with the images a node imports (k8s_images). as_user runs a command
# as the test user there, the upstream binaries first on its PATH, nothing else of root's environment.
k8s_user_work() {
        WORK=$(mktemp -d "/tmp/usernode-$1.XXXXXX")
        chmod 0755 "$WORK"
        reachable_copy "$WORK"
        mkdir -p "$WORK/xdg" "$WORK/home" "$WORK/img"
        chown "$TEST_USER:" "$WORK/xdg" "$WORK/home"
        chmod 0700 "$WORK/xdg"
}
as_user() {
        runuser -u "$TEST_USER" -- env -i PATH="$USERNODE_K8S_BIN:/usr/sbin:/usr/bin:/sbin:/bin" HOME="$WORK/home" \
                XDG_RUNTIME_DIR="$WORK/xdg" USERNODE_TEMPLATE_DIR="${USERNODE_TEMPLATE_DIR:-}" "$@"
}

# k8s_images: $WORK/img/busybox.tar (docker.io/library/busybox:usernode) and $WORK/img/pause.tar (usernode's
# sandbox image: the static pause of USERNODE_K8S_BIN, or busybox waiting), built here: no registry is reachable.
# With a coredns binary in USERNODE_K8S_BIN, $WORK/img/coredns.tar too (kubeadm's CoreDNS image name; the
# upstream image is that binary as its entrypoint, on a distroless base).
k8s_images() {
        if [ -x "$USERNODE_K8S_BIN/coredns" ]; then
                mkdir -p "$WORK/img/coredns/rootfs"
                cp "$USERNODE_K8S_BIN/coredns" "$WORK/img/coredns/rootfs/coredns"
                make_oci "$WORK/img/coredns.tar" "$WORK/img/coredns" "$WORK/img/coredns/rootfs" \
                        registry.k8s.io/coredns/coredns:v1.10.1 '[]' '["/coredns"]'
        fi
        make_busybox_oci "$WORK/img/busybox.tar" "$WORK/img/busybox"
        mkdir -p "$WORK/img/pause/rootfs"
        if [ -x "$USERNODE_K8S_BIN/pause" ]; then
                cp "$USERNODE_K8S_BIN/pause" "$WORK/img/pause/rootfs/pause"
                make_oci "$WORK/img/pause.tar" "$WORK/img/pause" "$WORK/img/pause/rootfs" registry.k8s.io/pause:3.9 '["/pause"]'
        else
                cp -a "$WORK/img/busybox/rootfs/." "$WORK/img/pause/rootfs/"
                make_oci "$WORK/img/pause.tar" "$WORK/img/pause" "$WORK/img/pause/rootfs" registry.k8s.io/pause:3.9 \
                        '["/bin/sh","-c","trap \"exit 0\" TERM INT; while :; do sleep 3600 & wait; done"]'
        fi
        chmod -R a+rX "$WORK/img"
}

# k8s_user_images NAME...: $WORK/img/NAME.tar into the test user's images directory (K8S_IMAGES, created),
# which every node imports as it starts.
k8s_user_images() {
        K8S_IMAGES=$WORK/home/.local/share/usernode/images
        install -d -o "$TEST_USER" -m 0700 "$WORK/home/.local" "$WORK/home/.local/share" \
                "$WORK/home/.local/share/usernode" "$K8S_IMAGES"
        for i in "$@"; do
                install -o "$TEST_USER" -m 0600 "$WORK/img/$i.tar" "$K8S_IMAGES/$i.tar"
        done
}

# retry SECONDS CMD...: runs CMD until it succeeds, at most SECONDS (a bounded wait for a server's
# readiness, checked by asking it; not a sleep standing in for an event).
retry() {
        limit=$1
        shift
        end=$(($(date +%s) + limit))
        until "$@" >/dev/null 2>&1; do
                [ "$(date +%s)" -lt "$end" ] || return 1
                sleep 0.1
        done
}

# k8s_control_plane_start DIR: everything under DIR (root's). Sets K8S_CP_IP (the API server's address
# inside the namespace), K8S_HOST_IP (the host's end of the veth, the node's address), K8S_ADMIN
# (admin kubeconfig), K8S_JOIN (the line `kubeadm token create --print-join-command` printed), K8S_NETNS.
# K8S_WAIT_FACTOR (default 1) multiplies its waits for the servers: software-emulated guests are slow.
k8s_control_plane_start() {
        cp=$1
        mkdir -p "$cp"
        # A /24 of 10.200/16 that no host route covers.
        octet=$(( $$ % 200 + 20 ))
        K8S_NETNS=usernode-cp-$$
        K8S_HOST_IP=10.200.$octet.1
        K8S_CP_IP=10.200.$octet.2
        K8S_VETH=uncp$$
        ip netns add "$K8S_NETNS"
        ip link add "$K8S_VETH" type veth peer name eth0 netns "$K8S_NETNS"
        ip addr add "$K8S_HOST_IP/24" dev "$K8S_VETH"
        ip link set "$K8S_VETH" up
        ip -n "$K8S_NETNS" addr add "$K8S_CP_IP/24" dev eth0
        ip -n "$K8S_NETNS" link set eth0 up
        ip -n "$K8S_NETNS" link set lo up
        ip -n "$K8S_NETNS" route add default via "$K8S_HOST_IP"

        cat >"$cp/kubeadm.yaml" <<EOF
apiVersion: kubeadm.k8s.io/v1beta3
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: $K8S_CP_IP
  bindPort: 6443
nodeRegistration:
  name: control-plane
bootstrapTokens:
- token: $("$USERNODE_K8S_BIN/kubeadm" token generate)
  ttl: 1h
  groups: [system:bootstrappers:kubeadm:default-node-token]
  usages: [signing, authentication]
---
apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
kubernetesVersion: $("$USERNODE_K8S_BIN/kubelet" --version | sed 's/^Kubernetes //')
certificatesDir: $cp/pki
controlPlaneEndpoint: $K8S_CP_IP:6443
networking:
  serviceSubnet: 10.96.0.0/16
  podSubnet: 10.244.0.0/16
  dnsDomain: cluster.local
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: systemd
EOF
        kadm() { "$USERNODE_K8S_BIN/kubeadm" "$@" --config "$cp/kubeadm.yaml" >>"$cp/kubeadm.log" 2>&1; }
        kadm init phase certs all
        kadm init phase kubeconfig admin --kubeconfig-dir "$cp"
        kadm init phase kubeconfig controller-manager --kubeconfig-dir "$cp"
        kadm init phase kubeconfig scheduler --kubeconfig-dir "$cp"
        K8S_ADMIN=$cp/admin.conf
        pki=$cp/pki

        ns() { ip netns exec "$K8S_NETNS" "$@"; }
        # Daemons started as `ip netns exec` itself (it execs them): $! is then the daemon's PID to stop.
        ip netns exec "$K8S_NETNS" etcd --name cp --data-dir "$cp/etcd" --listen-client-urls http://127.0.0.1:2379 \
                --advertise-client-urls http://127.0.0.1:2379 --listen-peer-urls http://127.0.0.1:2380 \
                --initial-advertise-peer-urls http://127.0.0.1:2380 --initial-cluster cp=http://127.0.0.1:2380 \
                >"$cp/etcd.log" 2>&1 &
        echo $! >"$cp/etcd.pid"
        ip netns exec "$K8S_NETNS" "$USERNODE_K8S_BIN/kube-apiserver" --advertise-address="$K8S_CP_IP" --secure-port=6443 \
                --etcd-servers=http://127.0.0.1:2379 --service-cluster-ip-range=10.96.0.0/16 \
                --client-ca-file="$pki/ca.crt" --tls-cert-file="$pki/apiserver.crt" \
                --tls-private-key-file="$pki/apiserver.key" \
                --kubelet-client-certificate="$pki/apiserver-kubelet-client.crt" \
                --kubelet-client-key="$pki/apiserver-kubelet-client.key" \
                --kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname \
                --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
                --service-account-issuer=https://kubernetes.default.svc.cluster.local \
                --enable-bootstrap-token-auth --authorization-mode=Node,RBAC \
                --enable-admission-plugins=NodeRestriction --allow-privileged=true \
                --requestheader-client-ca-file="$pki/front-proxy-ca.crt" \
                --proxy-client-cert-file="$pki/front-proxy-client.crt" \
                --proxy-client-key-file="$pki/front-proxy-client.key" \
                --requestheader-allowed-names=front-proxy-client \
                --requestheader-extra-headers-prefix=X-Remote-Extra- --requestheader-group-headers=X-Remote-Group \
                --requestheader-username-headers=X-Remote-User >"$cp/apiserver.log" 2>&1 &
        echo $! >"$cp/apiserver.pid"
        retry $((90 * ${K8S_WAIT_FACTOR:-1})) ns "$USERNODE_K8S_BIN/kubectl" --kubeconfig "$K8S_ADMIN" get --raw /readyz ||
                { tail -20 "$cp/apiserver.log" >&2; fail "kube-apiserver not ready"; }
        ip netns exec "$K8S_NETNS" "$USERNODE_K8S_BIN/kube-controller-manager" --kubeconfig="$cp/controller-manager.conf" \
                --authentication-kubeconfig="$cp/controller-manager.conf" \
                --authorization-kubeconfig="$cp/controller-manager.conf" \
                --cluster-signing-cert-file="$pki/ca.crt" --cluster-signing-key-file="$pki/ca.key" \
                --root-ca-file="$pki/ca.crt" --service-account-private-key-file="$pki/sa.key" \
                --use-service-account-credentials --controllers='*,bootstrapsigner,tokencleaner' \
                --allocate-node-cidrs --cluster-cidr=10.244.0.0/16 --node-cidr-mask-size=24 \
                --service-cluster-ip-range=10.96.0.0/16 --leader-elect=false --bind-address=127.0.0.1 \
                >"$cp/controller-manager.log" 2>&1 &
        echo $! >"$cp/controller-manager.pid"
        ip netns exec "$K8S_NETNS" "$USERNODE_K8S_BIN/kube-scheduler" --kubeconfig="$cp/scheduler.conf" \
                --authentication-kubeconfig="$cp/scheduler.conf" --authorization-kubeconfig="$cp/scheduler.conf" \
                --leader-elect=false --bind-address=127.0.0.1 >"$cp/scheduler.log" 2>&1 &
        echo $! >"$cp/scheduler.pid"
        # What `kubeadm init` sets up for joining nodes: the token, cluster-info (signed by the
        # controller-manager's bootstrapsigner), its RBAC and the CSR auto-approval; kubeadm-config; the kubelet-config.
        kadm init phase bootstrap-token --kubeconfig "$K8S_ADMIN"
        # kubeadm-config (the ClusterConfiguration, its networks) and the Role that lets nodes and tokens read it.
        kadm init phase upload-config kubeadm --kubeconfig "$K8S_ADMIN"
        # `kubeadm init phase upload-config kubelet` also waits for the control plane's own Node (this one has
        # no kubelet): the same ConfigMap and Role from kubeadm's own rendering of the defaults, by hand.
        "$USERNODE_K8S_BIN/kubeadm" config print init-defaults --component-configs KubeletConfiguration \
                2>>"$cp/kubeadm.log" >"$cp/defaults.yaml"
        awk '/^---/ { n++; next } n == 2' "$cp/defaults.yaml" >"$cp/kubelet-config.yaml"
        k8s_kubectl -n kube-system create configmap kubelet-config --from-file=kubelet="$cp/kubelet-config.yaml" >/dev/null
        k8s_kubectl -n kube-system create role kubeadm:kubelet-config --verb=get --resource=configmaps \
                --resource-name=kubelet-config >/dev/null
        k8s_kubectl -n kube-system create rolebinding kubeadm:kubelet-config --role=kubeadm:kubelet-config \
                --group=system:nodes --group=system:bootstrappers:kubeadm:default-node-token >/dev/null
        K8S_JOIN=$("$USERNODE_K8S_BIN/kubeadm" token create --print-join-command --kubeconfig "$K8S_ADMIN" \
                --ttl 1h 2>>"$cp/kubeadm.log")
        # The bootstrapsigner signs cluster-info for the new token within a moment.
        k8s_token_id=$(printf '%s\n' "$K8S_JOIN" | sed -n 's/.*--token \([a-z0-9]\{6\}\)\..*/\1/p')
        retry $((30 * ${K8S_WAIT_FACTOR:-1})) k8s_cluster_info_signed "$k8s_token_id" || fail "cluster-info is not signed for the new token"
}

k8s_cluster_info_signed() {
        out=$(k8s_kubectl -n kube-public get configmap cluster-info -o "jsonpath={.data.jws-kubeconfig-$1}")
        [ -n "$out" ]
}

# k8s_kubectl ARGS...: the admin's kubectl, from inside the control plane's namespace.
k8s_kubectl() {
        ip netns exec "$K8S_NETNS" "$USERNODE_K8S_BIN/kubectl" --kubeconfig "$K8S_ADMIN" "$@"
}

k8s_control_plane_stop() {
        cp=$1
        pids=
        for p in scheduler controller-manager apiserver etcd; do
                [ -f "$cp/$p.pid" ] && pids="$pids $(cat "$cp/$p.pid")"
        done
        [ -z "$pids" ] || kill $pids 2>/dev/null || :
        # kube-apiserver can linger after SIGTERM: 10 s, then SIGKILL; wait reaps them (our children).
        alive() { for p in $pids; do kill -0 "$p" 2>/dev/null && return 0; done; return 1; }
        gone() { ! alive; }
        retry 10 gone || :
        ! alive || kill -KILL $pids 2>/dev/null || :
        for p in $pids; do wait "$p" 2>/dev/null || :; done
        [ -n "${K8S_NETNS:-}" ] && ip netns del "$K8S_NETNS" 2>/dev/null || :
        [ -n "${K8S_VETH:-}" ] && ip link del "$K8S_VETH" 2>/dev/null || :
}

# k8s_web_pod POD NODE: (through the test's kc) a pod on NODE whose httpd on port 8080 answers /cgi-bin/ip with the
# address it sees the client at, and /4m with 4 MiB; Ready once it listens.
k8s_web_pod() {
        kc apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $1
  labels: {app: $1}
spec:
  nodeName: $2
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: docker.io/library/busybox:usernode
    imagePullPolicy: Never
    command: ["/bin/sh", "-c", "mkdir -p /tmp/www/cgi-bin && printf '#!/bin/sh\\\\necho Content-Type: text/plain\\\\necho\\\\necho \$REMOTE_ADDR\\\\n' >/tmp/www/cgi-bin/ip && chmod +x /tmp/www/cgi-bin/ip && dd if=/dev/zero of=/tmp/www/4m bs=1M count=4 2>/dev/null && exec httpd -f -p 8080 -h /tmp/www"]
    readinessProbe:
      tcpSocket: {port: 8080}
      periodSeconds: 1
EOF
}

# k8s_pod_get POD URL: what POD fetches from URL (busybox's wget -T crashes: a timeout around it instead); httpd gives
# the client's address as an IPv4-mapped IPv6 one, "[::ffff:10.42.0.3]": printed as the IPv4 address.
k8s_pod_get() {
        local body
        body=$(kc exec "$1" -- timeout 10 wget -qO- "$2") || return 1
        body=${body#[::ffff:}
        echo "${body%]}"
}

# two_hosts PREFIX SUBNET [MTU]: two "hosts" for the tests and benchmarks between hosts, after k8s_user_work: network
# namespaces A and B of this script's own (usernode-PREFIXa-PID, ...) joined by a veth pair ([MTU]), with IP_A and
# IP_B in HOSTS_NET.0/24 (10.SUBNET.N; a third host may take another address of it; no traffic leaves them); each
# host a runtime and a home directory of the test user's under WORK/a and WORK/b. `on` runs commands there,
# HOSTS_PATH first on their PATH (USERNODE_K8S_BIN's binaries unless set before); two_hosts_down removes what they
# ran and the namespaces.
two_hosts() {
        local h
        HOSTS_NET=10.$2.$(( $$ % 250 + 2 ))
        A=usernode-${1}a-$$ B=usernode-${1}b-$$ IP_A=$HOSTS_NET.1 IP_B=$HOSTS_NET.2
        : "${HOSTS_PATH:=$USERNODE_K8S_BIN:/usr/sbin:/usr/bin:/sbin:/bin}"
        veth_hosts "$A" "$B" "$IP_A/24" "$IP_B/24" ${3:+"$3"}
        for h in a b; do
                mkdir -p "$WORK/$h/xdg" "$WORK/$h/home"
                chown -R "$TEST_USER:" "$WORK/$h"
                chmod 0700 "$WORK/$h/xdg"
        done
}
# on a|b CMD...: CMD as the test user on host A or B.
on() {
        local ns=$A
        [ "$1" = a ] || ns=$B
        # nsenter, not ip netns exec: that mounts a /sys of its own, without the cgroup mounts the kubelet reads.
        nsenter --net="/run/netns/$ns" runuser -u "$TEST_USER" -- env -i PATH="$HOSTS_PATH" \
                HOME="$WORK/$1/home" XDG_RUNTIME_DIR="$WORK/$1/xdg" "${@:2}"
}
# two_hosts_images IMAGE...: the archives WORK/img/IMAGE.tar there are, in both hosts' images directories (0600).
two_hosts_images() {
        local h i
        for h in a b; do
                install -d -o "$TEST_USER" -m 0700 "$WORK/$h/home/.local" "$WORK/$h/home/.local/share" \
                        "$WORK/$h/home/.local/share/usernode" "$WORK/$h/home/.local/share/usernode/images"
                for i in "$@"; do
                        [ ! -e "$WORK/img/$i.tar" ] ||
                                install -o "$TEST_USER" -m 0600 "$WORK/img/$i.tar" "$WORK/$h/home/.local/share/usernode/images/$i.tar"
                done
        done
}
# two_hosts_down STEM: the nodes STEMb and STEMa down and purged, the namespaces gone (for cleanup traps; A unset:
# two_hosts did not run yet).
two_hosts_down() {
        local h
        [ -n "${A:-}" ] || return 0
        for h in b a; do
                on "$h" "$USERNODE" down --name "$1$h" --purge >/dev/null 2>&1 || :
        done
        ip netns del "$A" 2>/dev/null || :
        ip netns del "$B" 2>/dev/null || :
}
