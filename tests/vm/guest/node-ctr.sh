#!/bin/bash
# Runs inside a node (through "usernode exec"), or against any containerd given by
# CONTAINERD_ADDRESS: one busybox container with a memory limit, and a process in it
# that needs more than the limit.
#
#   node-ctr.sh start LIMIT_BYTES   import the image, start the container (sleeps)
#   node-ctr.sh hog                 allocate 64 MiB in it; prints "hog exit status N"
#   node-ctr.sh stop                kill and delete the container
set -euo pipefail

id=usernode-vm-oom
image=docker.io/library/busybox:usernode-vm
archive=/usr/local/lib/usernode-vm/busybox-oci.tar

socket() {
	local s
	for s in "${CONTAINERD_ADDRESS-}" "${XDG_RUNTIME_DIR:+$XDG_RUNTIME_DIR/containerd/containerd.sock}" \
		/run/containerd/containerd.sock /run/user/*/containerd/containerd.sock; do
		[ -S "$s" ] && { echo "$s"; return 0; }
	done
	echo "node-ctr: no containerd socket (CONTAINERD_ADDRESS, XDG_RUNTIME_DIR, /run)" >&2
	return 1
}
address=$(socket)
echo "node-ctr: containerd at $address" >&2
ctr() { command ctr --address "$address" --namespace usernode-vm "$@"; }

# The snapshotter: CONTAINERD_SNAPSHOTTER, else the first one this containerd loaded.
snapshotter() {
	local s
	if [ -n "${CONTAINERD_SNAPSHOTTER-}" ]; then
		echo "$CONTAINERD_SNAPSHOTTER"
		return
	fi
	for s in overlayfs fuse-overlayfs native; do
		if ctr plugins ls | awk -v s="$s" '$1 == "io.containerd.snapshotter.v1" && $2 == s && $NF == "ok" { f = 1 } END { exit !f }'; then
			echo "$s"
			return
		fi
	done
	echo overlayfs
}

case ${1-} in
start)
	snap=$(snapshotter)
	images=$(ctr images ls -q)
	grep -qxF "$image" <<<"$images" || ctr images import --snapshotter "$snap" "$archive"
	ctr run -d --snapshotter "$snap" --memory-limit "$2" "$image" "$id" /bin/busybox sleep 86399
	# ctr has no swap limit: with swap on, a cgroup past memory.max swaps instead of being OOM-killed.
	# No swap for the container, as kubelet does for pods (NoSwap), from the cgroup tree this side sees.
	swap=/sys/fs/cgroup/usernode-vm/$id/memory.swap.max
	if [ -w "$swap" ]; then
		echo 0 >"$swap"
	else
		echo "node-ctr: no $swap to write" >&2
	fi
	ctr task ls
	;;
hog)
	rc=0
	ctr task exec --exec-id "hog-$$" "$id" /bin/busybox dd if=/dev/zero of=/dev/null bs=64M count=1 || rc=$?
	echo "hog exit status $rc"
	;;
stop)
	ctr task kill -s SIGKILL "$id" 2>/dev/null || true
	for _ in $(seq 50); do
		ctr task rm -f "$id" 2>/dev/null && break
		sleep 0.1
	done
	ctr containers rm "$id"
	;;
*)
	sed -n '2,/^set /p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
	exit 2
	;;
esac
