#!/bin/bash
# The entry of "make check-vm": image (cached) -> payload -> boot -> result.
#
#   check-vm.sh BUILD       BUILD: a DESTDIR tree (make install DESTDIR=…) or a usernode_*.deb
#   check-vm.sh --smoke     the harness's own test instead of the scenario
#
# Exit status: 0 passed, 1 a step failed, 77 skipped (the reason on stderr),
# 99 the harness itself failed or the guest overran its time limit.
# Results stay in $USERNODE_VM_OUT (default: a new /tmp/usernode-vm.*): out.log,
# artifacts/steps/*.log, serial.log, timings. USERNODE_VM_TIMEOUT bounds the boot
# (default 1500 s for the scenario, 3900 s with its real Kubernetes part, 600 s for
# --smoke). USERNODE_K8S_BIN: the upstream Kubernetes binaries for that part (payload.sh).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

skip() {
	echo "SKIP: check-vm: $*" >&2
	exit 77
}

[ $# -eq 1 ] || vm_die "usage: check-vm.sh BUILD|--smoke" 2
build=$1
if [ "$build" = --smoke ]; then
	limit=${USERNODE_VM_TIMEOUT:-600}
else
	[ -e "$build" ] || vm_die "$build: no such build" 2
	build=$(readlink -f "$build")
fi

missing=$(vm_missing_tools)
[ -z "$missing" ] || skip "missing ${missing//$'\n'/ } (apt-get install qemu-system-x86 mmdebstrap e2fsprogs zstd)"
[ "$(id -u)" -eq 0 ] || skip "needs root (mmdebstrap, and ext4 images with root-owned files)"
# Captured first: "qemu ... | grep -q" fails under pipefail when grep stops reading early (SIGPIPE).
accels=$(qemu-system-x86_64 -accel help 2>/dev/null || true)
if ! grep -qx tcg <<<"$accels" &&
	! { grep -qwE 'vmx|svm' /proc/cpuinfo && [ -w /dev/kvm ]; }; then
	skip "this QEMU has no TCG and the CPU offers no KVM (no vmx/svm)"
fi
if [ ! -e "$VM_CACHE/images/$(vm_image_key)/complete" ] && [ -z "$(vm_apt_sources)" ]; then
	skip "no cached guest image and no $VM_SUITE source in the host's apt configuration"
fi

out=${USERNODE_VM_OUT:-$(mktemp -d /tmp/usernode-vm.XXXXXX)}
mkdir -p "$out"
vm_log "results in $out"

started=$(vm_now)
image=$("$VM_DIR/image.sh") || exit 99
image_s=$(vm_elapsed "$started")

"$VM_DIR/payload.sh" "$out/payload" "$build"
if [ -d "$out/payload/k8s" ]; then
	# A control plane and a real kubelet in the guest: more time, and memory for them.
	limit=${USERNODE_VM_TIMEOUT:-3900}
	export USERNODE_VM_MEM=${USERNODE_VM_MEM:-3072}
elif [ "$build" != --smoke ]; then
	limit=${USERNODE_VM_TIMEOUT:-1500}
fi

rc=0
"$VM_DIR/boot.sh" "$image" "$out/payload" "$out" "$limit" || rc=$?
{
	echo "image_s=$image_s"
	# What the guest measured itself ("TIMING key=seconds" lines of out.log).
	sed -n 's/^TIMING \([a-z_]*=[0-9.]*\)$/\1/p' "$out/out.log" 2>/dev/null || true
	echo "total_s=$(vm_elapsed "$started")"
} >>"$out/timings"
vm_log "timings: $(paste -sd' ' "$out/timings")"

case $rc in
0) exit 0 ;;
1) exit 1 ;;
124) vm_log "the guest overran ${limit}s"; exit 99 ;;
*) vm_log "the run failed (status $rc); see $out"; exit 99 ;;
esac
