# Guest preparation shared by scenario.sh and smoke.sh; sourced.
# shellcheck shell=bash

# The test user, the kubelet/k3s stand-ins on PATH, the in-node container helper
# and a registry-free busybox image, all where alice can read them.
prepare_guest() {
	local standins
	standins=$(cd "$GUEST_DIR/../../stand-ins" && pwd)
	id "$ALICE" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$ALICE"
	[ "$(alice_uid)" -eq 1000 ] || fail "$ALICE has UID $(alice_uid), the scenario expects 1000"
	grep "^$ALICE:" /etc/subuid /etc/subgid
	# A node with swap, so that limits.swap can be available (Kubernetes' NodeSwap).
	if ! grep -q '^/swapfile ' /proc/swaps; then
		dd if=/dev/zero of=/swapfile bs=1M count=128 status=none
		chmod 0600 /swapfile
		mkswap -q /swapfile >/dev/null
		swapon /swapfile
	fi

	install -d -m 0755 "$HELPERS" /usr/local/lib/usernode-stand-ins
	install -m 0644 "$standins/standin-lib.sh" /usr/local/lib/usernode-stand-ins/
	install -m 0755 "$standins/kubelet" "$standins/k3s" /usr/local/lib/usernode-stand-ins/
	ln -sf /usr/local/lib/usernode-stand-ins/kubelet /usr/local/bin/kubelet
	ln -sf /usr/local/lib/usernode-stand-ins/k3s /usr/local/bin/k3s
	kubelet --version

	install -m 0755 "$GUEST_DIR/node-ctr.sh" "$HELPERS/node-ctr.sh"
	bash "$GUEST_DIR/oci-busybox.sh" "$HELPERS/busybox-oci.tar"
	chmod 0644 "$HELPERS/busybox-oci.tar"
	tar -tvf "$HELPERS/busybox-oci.tar"
}
