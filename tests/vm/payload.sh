#!/bin/bash
# Assembles a payload directory for boot.sh: the guest scripts, the stand-ins, and
# either the usernode build under test or, with --smoke, the harness's own test.
#
#   payload.sh OUT_DIR BUILD      BUILD: a usernode_*.deb, or a DESTDIR tree
#   payload.sh OUT_DIR --smoke
#
# With a BUILD and USERNODE_K8S_BIN naming a directory of upstream Kubernetes binaries,
# the scenario's real part gets them in k8s/ (with the host's etcd and a pause image
# built here); without, k8s.skip says why the guest skips that part. With them and
# USERNODE_K3S_BIN naming a real k3s, its k3s part gets that in k3s/ (k3s.skip otherwise).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ $# -eq 2 ] || vm_die "usage: payload.sh OUT_DIR BUILD|--smoke" 2
out=$1 build=$2
rm -rf "$out"
mkdir -p "$out/vm/guest" "$out/stand-ins"
cp "$VM_DIR"/scenario.sh "$VM_DIR"/smoke.sh "$VM_DIR"/guest-run.sh "$out/vm/"
cp "$VM_DIR"/guest/* "$out/vm/guest/"
cp "$VM_DIR"/../stand-ins/* "$out/stand-ins/"
cp "$VM_DIR"/../integration/k8s-lib.sh "$out/vm/"

# What the guest's control plane and node need (pause goes into an image). Optional, for the node that
# brings its own cluster (steps-vanilla.sh): kube-proxy (Services, the cluster DNS among them), in
# k8s/vanilla/ so that only that node's PATH has it, and coredns (its image, and the binary itself).
K8S_PAYLOAD="kubelet kube-apiserver kube-controller-manager kube-scheduler kubeadm kubectl pause"

# no_k8s REASON: the guest skips the real part and says why.
no_k8s() {
	printf '%s\n' "$1" >"$out/k8s.skip"
	vm_log "real Kubernetes part skipped: $1"
}

# Stages k8s/, or says why not (no_k8s).
add_k8s() {
	local b etcd w
	if [ -z "${USERNODE_K8S_BIN-}" ]; then
		no_k8s "USERNODE_K8S_BIN was not set on the host (a directory with the upstream ${K8S_PAYLOAD// /, })"
		return 0
	fi
	for b in $K8S_PAYLOAD; do
		[ -x "$USERNODE_K8S_BIN/$b" ] || { no_k8s "no $b in USERNODE_K8S_BIN=$USERNODE_K8S_BIN"; return 0; }
	done
	# Copied, not installed in the image: Debian's etcd is a Go binary needing only libc.
	etcd=$(command -v etcd) || { no_k8s "the host has no etcd to copy into the guest (apt-get install etcd-server)"; return 0; }
	mkdir "$out/k8s"
	for b in $K8S_PAYLOAD; do
		[ "$b" = pause ] || cp "$USERNODE_K8S_BIN/$b" "$out/k8s/$b"
	done
	cp "$etcd" "$out/k8s/etcd"
	# The sandbox image, registry-free, made as tests/integration/up-real.sh makes it.
	w=$(mktemp -d)
	mkdir "$w/rootfs"
	cp "$USERNODE_K8S_BIN/pause" "$w/rootfs/pause"
	# shellcheck disable=SC2016 # expanded by that bash
	bash -c '. "$1" && make_oci "$2" "$3" "$3/rootfs" registry.k8s.io/pause:3.9 "[\"/pause\"]"' \
		_ "$VM_DIR/../integration/lib.sh" "$out/k8s/pause-oci.tar" "$w"
	if [ -x "$USERNODE_K8S_BIN/kube-proxy" ]; then
		mkdir "$out/k8s/vanilla"
		cp "$USERNODE_K8S_BIN/kube-proxy" "$out/k8s/vanilla/kube-proxy"
	fi
	# CoreDNS as kubeadm names its image (the upstream one is the binary as its entrypoint, on a distroless
	# base), made as tests/integration/k8s-lib.sh (k8s_images) makes it.
	if [ -x "$USERNODE_K8S_BIN/coredns" ]; then
		cp "$USERNODE_K8S_BIN/coredns" "$out/k8s/coredns"
		mkdir "$w/coredns"
		cp "$USERNODE_K8S_BIN/coredns" "$w/coredns/coredns"
		# shellcheck disable=SC2016 # expanded by that bash
		bash -c '. "$1" && make_oci "$2" "$3" "$3/coredns" registry.k8s.io/coredns/coredns:v1.10.1 "[]" "[\"/coredns\"]"' \
			_ "$VM_DIR/../integration/lib.sh" "$out/k8s/coredns-oci.tar" "$w"
	fi
	rm -rf "$w"
	chmod -R a+rX "$out/k8s"
	vm_log "real Kubernetes part: $(du -sh "$out/k8s" | cut -f1) of binaries from $USERNODE_K8S_BIN"
}

# no_k3s REASON: the guest skips the k3s part and says why.
no_k3s() {
	printf '%s\n' "$1" >"$out/k3s.skip"
	vm_log "real k3s part skipped: $1"
}

# Stages k3s/ from USERNODE_K3S_BIN (k3s, its runc and containerd-shim-runc-v2 when there, its CNI plugins
# from the directory itself or its cni-bin/), or says why not (no_k3s).
add_k3s() {
	local cni b
	if [ -z "${USERNODE_K3S_BIN-}" ]; then
		no_k3s "USERNODE_K3S_BIN was not set on the host (a directory with a real k3s and its CNI plugins)"
		return 0
	fi
	[ -x "$USERNODE_K3S_BIN/k3s" ] || { no_k3s "no k3s in USERNODE_K3S_BIN=$USERNODE_K3S_BIN"; return 0; }
	cni=$USERNODE_K3S_BIN
	[ -x "$cni/flannel" ] || cni=$USERNODE_K3S_BIN/cni-bin
	[ -x "$cni/flannel" ] || { no_k3s "no k3s CNI plugins (flannel, host-local, ...) in USERNODE_K3S_BIN"; return 0; }
	mkdir -p "$out/k3s/cni-bin"
	cp "$USERNODE_K3S_BIN/k3s" "$out/k3s/k3s"
	for b in runc containerd-shim-runc-v2; do
		[ ! -x "$USERNODE_K3S_BIN/$b" ] || cp "$USERNODE_K3S_BIN/$b" "$out/k3s/$b"
	done
	cp -a "$cni"/. "$out/k3s/cni-bin/"
	# kubectl: the multi-call k3s takes its argv[0] (its kubectl subcommand is the packaged binary's only).
	ln -s k3s "$out/k3s/kubectl"
	chmod -R a+rX "$out/k3s"
	vm_log "real k3s part: $(du -sh "$out/k3s" | cut -f1) from $USERNODE_K3S_BIN"
}

case $build in
--smoke)
	entry=smoke.sh
	;;
*.deb)
	[ -f "$build" ] || vm_die "$build: no such package" 2
	base=${build##*/}
	cp "$build" "$out/usernode_${base#usernode_}"
	entry=guest-run.sh
	;;
*)
	[ -d "$build" ] || vm_die "$build: neither a .deb nor a DESTDIR tree" 2
	mkdir "$out/root"
	tar -C "$build" -cf - . | tar -C "$out/root" -xf -
	entry=guest-run.sh
	;;
esac
[ "$entry" != guest-run.sh ] || add_k8s
[ "$entry" != guest-run.sh ] || [ ! -d "$out/k8s" ] || add_k3s
# shellcheck disable=SC2016 # expanded in the guest
printf '#!/bin/bash\ncd "$(dirname "$0")" && exec bash vm/%s\n' "$entry" >"$out/run.sh"
chmod 0755 "$out/run.sh"
